//! The config as a whole: defaults, each section read and normalised, and bad values named.

use super::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    // Firestore needs somewhere shared for attachments; these tests are about other things.
    let mut map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.entry("ATTACHMENTS_DIR".into())
        .or_insert_with(|| "/shared/attachments".into());
    Config::from_lookup(
        LeptosOptions::builder().output_name("hybrid-chat").build(),
        move |k| map.get(k).cloned(),
    )
}

#[test]
fn defaults_work_locally() {
    let c = config(&[]).expect("defaults");
    assert_eq!(c.vllm.base_url, "http://127.0.0.1:8000");
    assert_eq!(c.vllm.model, "google/gemma-3-12b-it");
    assert_eq!(c.vllm.request_timeout, Duration::from_secs(120));
    assert_eq!(
        c.store,
        StoreConfig::Sqlite {
            path: PathBuf::from("data/hybrid-chat.sqlite3")
        }
    );
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.vllm.api_key, None);
    assert_eq!(c.vllm.api, VllmApi::Chat);
    assert_eq!(c.vertex.location, "global");
    assert_eq!(c.vertex.model, "gemini-2.5-flash");
    assert_eq!(c.vertex.base_url, "https://aiplatform.googleapis.com");
    assert_eq!(c.vertex.project, None);
    assert_eq!(c.system_prompt, None);
}

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn a_project_or_the_emulator_selects_firestore() {
    for vars in [
        &[("GOOGLE_CLOUD_PROJECT", "p1"), ("OWNER_KEY", KEY)][..],
        &[
            ("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080"),
            ("OWNER_KEY", KEY),
        ][..],
        &[("CHAT_STORE", "firestore"), ("OWNER_KEY", KEY)][..],
    ] {
        match config(vars).expect("valid").store {
            StoreConfig::Firestore { database, .. } => assert_eq!(database, "chat-app-db"),
            other => panic!("{vars:?}: {other:?}"),
        }
    }
    let c = config(&[("GOOGLE_CLOUD_PROJECT", "p1"), ("CHAT_STORE", "sqlite")]).expect("valid");
    assert!(matches!(c.store, StoreConfig::Sqlite { .. }));
    let c = config(&[
        ("CHAT_STORE", "firestore"),
        ("FIRESTORE_DATABASE", "other-db"),
        ("OWNER_KEY", KEY),
    ])
    .expect("valid");
    assert!(
        matches!(c.store, StoreConfig::Firestore { ref database, .. } if database == "other-db")
    );
}

#[test]
fn regional_vertex_locations_get_their_own_host() {
    let c = config(&[
        ("VERTEX_LOCATION", "us-central1"),
        ("GOOGLE_CLOUD_PROJECT", "p1"),
        ("OWNER_KEY", KEY),
    ])
    .expect("valid");
    assert_eq!(
        c.vertex.base_url,
        "https://us-central1-aiplatform.googleapis.com"
    );
    assert_eq!(c.vertex.project.as_deref(), Some("p1"));
    let c = config(&[
        ("VERTEX_BASE_URL", "http://127.0.0.1:9/"),
        ("VLLM_API", "generate"),
    ])
    .expect("valid");
    assert_eq!(c.vertex.base_url, "http://127.0.0.1:9");
    assert_eq!(c.vllm.api, VllmApi::Generate);
}

#[test]
fn values_are_read_and_normalised() {
    let c = config(&[
        ("VLLM_BASE_URL", "http://gemma-service:8000/"),
        ("MODEL_TIMEOUT_SECS", "2.5"),
        ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
        ("VLLM_API_KEY", "sk-123"),
    ])
    .expect("valid");
    assert_eq!(c.vllm.base_url, "http://gemma-service:8000");
    assert_eq!(c.vllm.request_timeout, Duration::from_millis(2500));
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(
        !format!("{c:?}").contains("sk-123"),
        "secrets stay out of Debug"
    );
}

#[test]
fn bad_values_name_the_variable() {
    for (key, value) in [
        ("VLLM_BASE_URL", "gemma-service:8000"),
        ("VLLM_BASE_URL", "http://"),
        ("MODEL_TIMEOUT_SECS", "soon"),
        ("MODEL_TIMEOUT_SECS", "-1"),
        ("MODEL_CONNECT_TIMEOUT_SECS", "0"),
        ("MODEL_MAX_IN_FLIGHT", "0"),
        ("LOG_FORMAT", "xml"),
        ("VLLM_API", "completions"),
        ("VERTEX_LOCATION", "US Central"),
        ("VERTEX_BASE_URL", "aiplatform.googleapis.com"),
        ("CHAT_STORE", "postgres"),
        ("SHUTDOWN_DRAIN_SECS", "-2"),
        ("METRICS_ADDR", "localhost"),
        ("IAP_REQUIRED", "yes"),
        ("IAP_AUDIENCE", "   "),
        ("IAP_AUDIENCE", "my-backend"),
    ] {
        let err = config(&[(key, value)]).expect_err(key);
        assert_eq!(err.var, key);
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn google_urls_travel_in_clear_only_to_this_machine() {
    for url in [
        "http://aiplatform.example.com",
        "http://10.0.0.7:8080",
        "http://localhost.example.com",
    ] {
        let err = config(&[("VERTEX_BASE_URL", url)]).expect_err(url);
        assert_eq!(err.var, "VERTEX_BASE_URL");
        assert!(err.to_string().contains("https://"), "{err}");
        let iap = [
            ("IAP_AUDIENCE", "/projects/1/global/backendServices/2"),
            ("IAP_JWKS_URL", url),
        ];
        assert_eq!(config(&iap).expect_err(url).var, "IAP_JWKS_URL");
    }
    for url in [
        "https://aiplatform.example.com",
        "http://127.0.0.1:9",
        "http://localhost:8080/v1",
        "http://[::1]:8080",
    ] {
        let c = config(&[("VERTEX_BASE_URL", url), ("IAP_JWKS_URL", url)]).expect(url);
        assert_eq!(c.vertex.base_url, url.trim_end_matches('/'));
    }
    // vLLM is inside the cluster, on plain HTTP: allowed.
    let c = config(&[("VLLM_BASE_URL", "http://gemma-service:8000")]).expect("in-cluster");
    assert_eq!(c.vllm.base_url, "http://gemma-service:8000");
}

#[test]
fn shutdown_grace_covers_the_model_timeout_unless_set() {
    let c = config(&[]).expect("defaults");
    assert_eq!(c.shutdown_grace, Duration::from_secs(125));
    assert_eq!(c.shutdown_drain, Duration::ZERO);
    let c = config(&[("MODEL_TIMEOUT_SECS", "30")]).expect("valid");
    assert_eq!(c.shutdown_grace, Duration::from_secs(35));
    let c = config(&[("SHUTDOWN_GRACE_SECS", "7"), ("SHUTDOWN_DRAIN_SECS", "3")]).expect("valid");
    assert_eq!(c.shutdown_grace, Duration::from_secs(7));
    assert_eq!(c.shutdown_drain, Duration::from_secs(3));
    let c = config(&[("SHUTDOWN_DRAIN_SECS", "0")]).expect("valid");
    assert_eq!(c.shutdown_drain, Duration::ZERO);
}

#[test]
fn the_owner_key_is_a_secret_on_firestore_and_a_file_on_a_laptop() {
    let err = config(&[("CHAT_STORE", "firestore")]).expect_err("no key");
    assert_eq!(err.var, "OWNER_KEY");
    let err = config(&[("OWNER_KEY", "short")]).expect_err("bad key");
    assert!(
        !err.to_string().contains("short"),
        "the key is never echoed: {err}"
    );
    match config(&[]).expect("defaults").owner_key {
        OwnerKeySource::File(path) => assert_eq!(path, PathBuf::from("data/owner.key")),
        other => panic!("{other:?}"),
    }
    let c = config(&[("OWNER_KEY", KEY)]).expect("valid");
    assert!(matches!(c.owner_key, OwnerKeySource::Given(_)));
    assert!(
        !format!("{c:?}").contains("aabbcc"),
        "the key stays out of Debug"
    );
}

#[test]
fn the_client_address_comes_from_the_peer_unless_told() {
    assert_eq!(
        config(&[]).expect("defaults").client_ip,
        ClientIpSource::Peer
    );
    let c = config(&[("CLIENT_IP_SOURCE", "google-load-balancer")]).expect("valid");
    assert_eq!(c.client_ip, ClientIpSource::GoogleLoadBalancer);
    assert!(config(&[("CLIENT_IP_SOURCE", "x-forwarded-for")]).is_err());
}

#[test]
fn metrics_get_their_own_address_only_when_asked() {
    assert_eq!(config(&[]).expect("defaults").metrics_addr, None);
    let c = config(&[("METRICS_ADDR", "0.0.0.0:9090")]).expect("valid");
    assert_eq!(c.metrics_addr, Some("0.0.0.0:9090".parse().expect("addr")));
}

#[test]
fn iap_required_refuses_to_start_without_an_audience() {
    let err = config(&[("IAP_REQUIRED", "true")]).expect_err("no audience");
    assert_eq!(err.var, "IAP_AUDIENCE");
    assert!(err.to_string().contains("IAP_REQUIRED"), "{err}");
    let audience = "/projects/1/global/backendServices/2";
    let with_audience = [("IAP_REQUIRED", "true"), ("IAP_AUDIENCE", audience)];
    let err = config(&with_audience).expect_err("no domain");
    assert_eq!(err.var, "ALLOWED_HOSTS");
    let c = config(&[
        ("IAP_REQUIRED", "true"),
        ("IAP_AUDIENCE", audience),
        ("ALLOWED_HOSTS", "chat.example.com"),
    ])
    .expect("valid");
    assert_eq!(c.iap.map(|i| i.audience).as_deref(), Some(audience));
    assert_eq!(
        config(&[("IAP_REQUIRED", "false")]).expect("valid").iap,
        None
    );
}

#[test]
fn operators_are_everyone_or_emails_iap_vouches_for() {
    assert_eq!(config(&[]).expect("default").operators, Operators::Nobody);
    let everyone = config(&[("OPERATORS", " * ")]).expect("*").operators;
    assert!(everyone.include(None));
    let iap = [
        ("IAP_AUDIENCE", "/projects/1/global/backendServices/2"),
        ("OPERATORS", "Ops@Example.com, sre@example.com"),
    ];
    let emails = config(&iap).expect("emails").operators;
    assert!(emails.include(Some("ops@example.com")) && emails.include(Some("SRE@example.com")));
    assert!(!emails.include(Some("someone@example.com")) && !emails.include(None));
    // Emails without IAP name nobody anyone can prove to be; a name without @ is a typo.
    let e = config(&[("OPERATORS", "ops@example.com")]).expect_err("no IAP");
    assert!(e.to_string().contains("OPERATORS"), "{e}");
    assert!(config(&[iap[0], ("OPERATORS", "ops")]).is_err());
}
