//! Floods of page loads without a cookie: each would mint an owner and write a counter.

use super::stores::{Kind, Stand};
use super::Case;
use testkit::{Emulator, Visitor};

const LIMIT: usize = 5;
const FLOOD: usize = 60;

pub async fn cookieless_gets(kind: Kind, emulator: &Emulator) -> Case {
    let limit = LIMIT.to_string();
    let stand = Stand::start(
        kind,
        emulator,
        "owners",
        &[("NEW_OWNERS_PER_HOUR", limit.as_str())],
    )
    .await;
    let mut case = Case::new(format!("cookieless GET flood ({})", kind.label()));
    // An ordinary visitor from the same address, with the cookie its first load gave it.
    let mut ordinary = Visitor::new(&stand.server);
    let first = ordinary.get("/").await;
    case.ordinary(first.status == 200, || {
        format!("first load: {}", first.status)
    });
    let mut admitted = 1;
    for i in 0..FLOOD {
        let page = Visitor::new(&stand.server).get("/").await;
        // Refused, the page still loads, saying why, and issues no owner.
        if page.cookie("hc_owner").is_some() {
            admitted += 1;
        } else {
            case.attempt(
                page.body
                    .contains("Too many new visitors from your network"),
                || format!("load {i}: {} without a cookie or the reason", page.status),
            );
        }
        if i % 10 == 0 {
            let again = ordinary.get("/").await;
            case.ordinary(
                again.status == 200 && again.cookie("hc_owner").is_some(),
                || format!("reload: {}", again.status),
            );
        }
    }
    case.tried = FLOOD;
    case.require(admitted == LIMIT, || {
        format!("{admitted} owners admitted, limit {LIMIT}")
    });
    let counters = stand.counters("owners-").await;
    let written: i64 = counters.iter().map(|(_, v)| v).sum();
    case.require(written == LIMIT as i64, || {
        format!("counters hold {written} (one write per admitted owner, none past the limit)")
    });
    case.require(
        counters
            .iter()
            .all(|(key, _)| key.rsplit('-').next().is_some_and(|s| s.len() == 1)),
        || format!("counter keys not sharded: {counters:?}"),
    );
    case.cost = format!(
        "{written} counter writes in {} docs for {} loads; refused loads only read",
        counters.len(),
        FLOOD + 1
    );
    case
}
