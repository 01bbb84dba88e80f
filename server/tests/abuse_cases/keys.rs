//! A rotated cookie key: the operator's new key must not cost anyone their chats, and a cookie
//! signed by a key the server never had must get nobody's.

use super::stores::{Kind, Stand};
use super::Case;
use testkit::{Emulator, Visitor};

const OLD: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const FORGER: &str = "3333333333333333333333333333333333333333333333333333333333333333";

pub async fn rotated(kind: Kind, emulator: &Emulator) -> Case {
    let mut stand = Stand::start(kind, emulator, "keys", &[("OWNER_KEY", OLD)]).await;
    let mut case = Case::new(format!("a rotated key ({})", kind.label()));
    let mut me = Visitor::new(&stand.server);
    let sent = me.send("before the rotation", "gemma").await;
    case.require(sent.status == 200, || {
        format!("first turn: {}", sent.status)
    });
    let chat = me.session();
    let old_cookie = me.owner.clone().unwrap_or_default();
    let owner = old_cookie
        .trim_start_matches("hc_owner=")
        .split('.')
        .next()
        .unwrap_or("")
        .to_string();

    stand
        .restart(&[("OWNER_KEY", NEW), ("OWNER_KEY_PREVIOUS", OLD)])
        .await;
    me.base = stand.server.url.clone();
    let page = me.get(&format!("/c/{chat}")).await;
    case.ordinary(page.body.contains("before the rotation"), || {
        "the chat was lost at the rotation".into()
    });
    let new_cookie = me.owner.clone().unwrap_or_default();
    case.ordinary(
        new_cookie != old_cookie && new_cookie.contains(&owner),
        || "the cookie was not signed again for the same owner".into(),
    );

    // The previous key retired: the re-signed cookie still works.
    stand.restart(&[("OWNER_KEY", NEW)]).await;
    me.base = stand.server.url.clone();
    let page = me.get(&format!("/c/{chat}")).await;
    case.ordinary(page.body.contains("before the rotation"), || {
        "the chat was lost once the old key was retired".into()
    });

    // A cookie for the same owner signed with a key the server never had, and the old one now
    // retired: neither reaches the chat.
    let forged = {
        let key = app::session::OwnerKey::from_hex(FORGER).expect("key");
        let id = app::session::OwnerId::parse(&owner).expect("owner id");
        format!("hc_owner={}", key.sign(&id))
    };
    for cookie in [forged, old_cookie] {
        let mut mallory = Visitor::new(&stand.server);
        mallory.owner = Some(cookie);
        let export = mallory.get(&format!("/export/{chat}.json")).await;
        case.attempt(export.status == 404, || {
            format!(
                "a cookie the server does not vouch for read the chat: {}",
                export.status
            )
        });
    }
    case.cost = "no chat lost; foreign and retired keys reach nothing".into();
    case
}
