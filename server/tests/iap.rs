//! Identity-Aware Proxy mode: only requests with a valid IAP assertion reach the app, and each
//! signed-in person's chats follow them across browsers. Keys are generated for the run and
//! published by the stand-in's JWKS endpoint, as IAP publishes its own.

mod support;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::model_standin::{self, StandIn};
use support::{Server, Visitor};

const AUDIENCE: &str = "/projects/123456/global/backendServices/987654";
const ISSUER: &str = "https://cloud.google.com/iap";

/// A P-256 key pair made with openssl: PKCS#8 DER for signing, and its public point as a JWK.
struct Key {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn openssl(args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run openssl");
    if let Some(input) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write to openssl");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("openssl output");
    assert!(out.status.success(), "openssl {args:?} failed");
    out.stdout
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

impl Key {
    fn generate(kid: &str) -> Key {
        let pem = openssl(
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
            None,
        );
        let pkcs8 = openssl(
            &["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"],
            Some(&pem),
        );
        let spki = openssl(&["pkey", "-pubout", "-outform", "DER"], Some(&pem));
        // An uncompressed P-256 point ends the SubjectPublicKeyInfo: 0x04, X (32), Y (32).
        let point = &spki[spki.len() - 65..];
        assert_eq!(point[0], 4);
        Key {
            kid: kid.into(),
            pkcs8,
            jwk: json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                "x": b64url(&point[1..33]), "y": b64url(&point[33..]),
            }),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).expect("sign")
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn claims(email: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": format!("accounts.google.com:{}", email.len() * 1000 + email.as_bytes()[0] as usize),
        "email": email,
        "iat": now(),
        "exp": now() + 600,
    })
}

struct Setup {
    _dir: tempfile::TempDir,
    standin: StandIn,
    server: Server,
    key: Key,
}

async fn iap_server() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let standin = model_standin::start(0).await;
    let key = Key::generate("iap-key-1");
    standin.set_jwks(json!({ "keys": [key.jwk.clone()] }));
    let jwks = format!("{}/iap/jwk", standin.url());
    let server = Server::start(
        dir.path(),
        &standin.url(),
        &[("IAP_AUDIENCE", AUDIENCE), ("IAP_JWKS_URL", &jwks)],
    )
    .await;
    Setup {
        _dir: dir,
        standin,
        server,
        key,
    }
}

fn as_user(server: &Server, token: Option<String>) -> Visitor {
    let mut v = Visitor::new(server);
    v.assertion = token;
    v
}

/// A refused request: the 401 page, nothing of the app, and no turn stored.
async fn assert_refused(setup: &Setup, token: Option<String>) {
    let mut v = as_user(&setup.server, token);
    let page = v.get("/").await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("Sign-in required"));
    assert!(!page.body.contains("composer"), "no part of the app");
    let send = v.send("let me in", "gemma").await;
    assert_eq!(send.status, 401);
    assert_eq!(support::count_all_messages(&setup.server.sqlite_path()), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_token_is_admitted() {
    let s = iap_server().await;
    let mut alice = as_user(&s.server, Some(s.key.sign(&claims("alice@example.com"))));
    let page = alice.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("composer"));
    assert_eq!(alice.send("hello", "gemma").await.status, 200);
    assert!(
        alice.owner.is_none(),
        "a signed-in user needs no owner cookie"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_fetched_once_and_cached() {
    let s = iap_server().await;
    let token = s.key.sign(&claims("alice@example.com"));
    for _ in 0..5 {
        assert_eq!(
            as_user(&s.server, Some(token.clone()))
                .get("/")
                .await
                .status,
            200
        );
    }
    // Tokens naming an unknown key may trigger one refresh, not one per request.
    let stranger = Key::generate("not-published");
    for _ in 0..5 {
        let t = stranger.sign(&claims("mallory@example.com"));
        assert_eq!(as_user(&s.server, Some(t)).get("/").await.status, 401);
    }
    assert_eq!(
        s.standin.jwks_fetches(),
        1,
        "one fetch served all ten requests"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_gets_401() {
    assert_refused(&iap_server().await, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_audience_gets_401() {
    let s = iap_server().await;
    let mut c = claims("alice@example.com");
    c["aud"] = json!("/projects/123456/global/backendServices/111");
    assert_refused(&s, Some(s.key.sign(&c))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_issuer_gets_401() {
    let s = iap_server().await;
    let mut c = claims("alice@example.com");
    c["iss"] = json!("https://accounts.google.com");
    assert_refused(&s, Some(s.key.sign(&c))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_gets_401() {
    let s = iap_server().await;
    let mut c = claims("alice@example.com");
    c["iat"] = json!(now() - 7200);
    c["exp"] = json!(now() - 3600);
    assert_refused(&s, Some(s.key.sign(&c))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_issued_in_the_future_gets_401() {
    // Google's FUTURE_ISSUE test case: `iat` an hour ahead, otherwise valid.
    let s = iap_server().await;
    let mut c = claims("alice@example.com");
    c["iat"] = json!(now() + 3600);
    c["exp"] = json!(now() + 7200);
    assert_refused(&s, Some(s.key.sign(&c))).await;
}

/// The same store served without IAP: a cookie crafted from a signed-in person's subject (not
/// a secret) names nobody, because their owner id is keyed and cookies must be signed.
#[tokio::test(flavor = "multi_thread")]
async fn a_crafted_cookie_cannot_claim_a_signed_in_persons_chats() {
    use sha2::{Digest, Sha256};
    let s = iap_server().await;
    let mut alice = as_user(&s.server, Some(s.key.sign(&claims("alice@example.com"))));
    assert_eq!(alice.send("alice's notes", "gemma").await.status, 200);
    let chat = alice.session();
    let dir = s.server.dir.clone();
    let url = s.standin.url();
    drop(s.server);

    let open = Server::start(&dir, &url, &[]).await;
    let subject = format!(
        "accounts.google.com:{}",
        "alice@example.com".len() * 1000 + 97
    );
    let unkeyed = app::session::to_hex(&Sha256::digest(format!("iap:{subject}").as_bytes()));
    for cookie in [
        format!("hc_owner={unkeyed}"),
        format!("hc_owner={unkeyed}.{}", "a".repeat(32)),
    ] {
        let mut mallory = Visitor::new(&open);
        mallory.owner = Some(cookie);
        let page = mallory.get("/").await;
        assert!(!page.body.contains("alice"), "not listed");
        assert_eq!(mallory.get(&format!("/c/{chat}")).await.status, 404);
        assert_eq!(mallory.get(&format!("/export/{chat}.md")).await.status, 404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_signature_gets_401() {
    let s = iap_server().await;
    // Same key id, different key: the signature does not verify with the published key.
    let impostor = Key::generate("iap-key-1");
    assert_refused(&s, Some(impostor.sign(&claims("alice@example.com")))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_id_gets_401() {
    let s = iap_server().await;
    let stranger = Key::generate("not-published");
    assert_refused(&s, Some(stranger.sign(&claims("alice@example.com")))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn alg_none_gets_401() {
    let s = iap_server().await;
    let header = b64url(br#"{"alg":"none","typ":"JWT","kid":"iap-key-1"}"#);
    let body = b64url(claims("alice@example.com").to_string().as_bytes());
    assert_refused(&s, Some(format!("{header}.{body}."))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_garbage_header_gets_401() {
    let s = iap_server().await;
    assert_refused(&s, Some("garbage.!!!.###".into())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_and_metrics_need_no_identity() {
    let s = iap_server().await;
    let mut v = Visitor::new(&s.server);
    assert_eq!(v.get("/healthz").await.status, 200);
    assert_eq!(v.get("/readyz").await.status, 200);
    assert_eq!(v.get("/healthz/store").await.status, 200);
    assert_eq!(v.get("/metrics").await.status, 200);
}

/// The `iap` deployment sets IAP_REQUIRED: without an audience (or with a blank one) the server
/// refuses to start, naming the variable, instead of serving without the check.
#[tokio::test(flavor = "multi_thread")]
async fn iap_required_without_an_audience_refuses_to_start() {
    for env in [
        &[("IAP_REQUIRED", "true")][..],
        &[("IAP_REQUIRED", "true"), ("IAP_AUDIENCE", " ")][..],
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::spawn(dir.path(), "http://127.0.0.1:9", env);
        let log_dir = server.dir.clone();
        let status = server
            .exit_status(Duration::from_secs(10))
            .expect("the server must exit, not serve");
        assert_eq!(status.code(), Some(2), "{env:?}");
        let log = std::fs::read_to_string(log_dir.join("server.log")).unwrap_or_default();
        assert!(log.contains("IAP_AUDIENCE"), "{env:?}: {log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_user_sees_their_own_chats_from_any_browser_and_never_anothers() {
    let s = iap_server().await;
    let alice_token = s.key.sign(&claims("alice@example.com"));
    let mut alice_laptop = as_user(&s.server, Some(alice_token.clone()));
    assert_eq!(
        alice_laptop.send("alice's plans", "gemma").await.status,
        200
    );
    let alice_chat = alice_laptop.session();

    // Her phone: no cookies at all, same identity. The chat is listed and opens.
    let mut alice_phone = as_user(&s.server, Some(alice_token));
    let page = alice_phone.get("/").await;
    assert!(page.body.contains("alice&#x27;s plans") || page.body.contains("alice's plans"));
    let opened = alice_phone
        .call("/api/open_session", &[("id", &alice_chat)])
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert!(opened.body.contains("alice's plans"));

    // Bob, even knowing Alice's chat's address, sees and opens nothing of hers.
    let mut bob = as_user(&s.server, Some(s.key.sign(&claims("bob@example.com"))));
    let page = bob.get(&format!("/c/{alice_chat}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("alice"), "nothing of Alice's chat");
    let opened = bob.call("/api/open_session", &[("id", &alice_chat)]).await;
    assert_eq!(opened.status, 404);
    assert_eq!(
        bob.get(&format!("/export/{alice_chat}.md")).await.status,
        404
    );
    bob.chat = Some(alice_chat.clone());
    assert_eq!(bob.send("into alice's chat", "gemma").await.status, 404);
    bob.chat = None;
    assert_eq!(bob.send("bob's turn", "gemma").await.status, 200);
    assert_ne!(bob.session(), alice_chat, "Bob got a chat of his own");
    let rows = support::stored_messages(&s.server.sqlite_path(), &alice_chat);
    assert_eq!(rows.len(), 2, "Alice's chat is untouched");
}
