//! The token budget against turns that never finish: sent and stopped at once, over and over,
//! each holding the GPU until the Stop.

use super::stores::{Kind, Stand};
use super::Case;
use std::time::{Duration, Instant};
use testkit::form::SendForm;
use testkit::standin::{Behaviour, Fault};
use testkit::{Emulator, Visitor};

pub async fn stop_spam(kind: Kind, emulator: &Emulator) -> Case {
    // Each Gemma turn reserves about 1,000 (history) + 1,024 (Max tokens) tokens.
    let stand = Stand::start(
        kind,
        emulator,
        "stops",
        &[("TOKENS_PER_DAY", "6000"), ("HISTORY_TOKENS", "1000")],
    )
    .await;
    let mut case = Case::new(format!("Stop-spam against the budget ({})", kind.label()));
    let mut me = Visitor::new(&stand.server);
    let opened = me.send("an answered opening", "gemma").await;
    case.require(opened.status == 200, || {
        format!("opening: {}", opened.status)
    });
    let chat = me.session();
    stand.model.set("gemma", Behaviour::fault(Fault::Hang));
    let mut stopped = 0;
    let refusal = loop {
        let calls = stand.model.requests("gemma").len();
        let turn = format!("stop-spam-{stopped:014}");
        let mut tab = me.twin();
        let form = SendForm::new(&format!("stop me {stopped}")).set("turn", &turn);
        let send = tokio::spawn(async move { tab.send_form(&form).await });
        // Stopped as soon as the model has it (or the send is refused first).
        let asked = Instant::now();
        while stand.model.requests("gemma").len() == calls
            && !send.is_finished()
            && asked.elapsed() < Duration::from_secs(5)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if send.is_finished() {
            break send.await.ok();
        }
        me.call("/api/stop_turn", &[("chat", &chat), ("turn", &turn)])
            .await;
        let _ = send.await;
        stopped += 1;
        if stopped == 12 {
            break None;
        }
    };
    stand.model.set("gemma", Behaviour::default());
    let refused = refusal
        .as_ref()
        .is_some_and(|r| r.status == 429 && r.body.contains("OverBudget"));
    case.tried = stopped + 1;
    case.refused = usize::from(refused);
    case.require(refused, || {
        format!(
            "{stopped} stopped turns and still not refused: {:?}",
            refusal.map(|r| r.status)
        )
    });
    let charged: i64 = stand.counters("tokens-").await.iter().map(|(_, v)| v).sum();
    // The browser and the address are each charged.
    case.cost = format!(
        "refused after {stopped} stops; {} tokens charged to the visitor",
        charged / 2
    );
    // Another browser at the same address still has its own budget (the address has four).
    let mut other = Visitor::new(&stand.server);
    let turn = other.send("another visitor's turn", "gemma").await;
    case.ordinary(turn.status == 200, || {
        format!("another visitor: {}", turn.status)
    });
    case
}
