//! The server's configuration: one typed struct, read once at start from environment variables,
//! with defaults that work on a laptop. Every variable is documented in the README.

pub use crate::limits::LimitsConfig;
use leptos::config::LeptosOptions;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    /// One JSON object per line, for Cloud Logging on GKE.
    Json,
}

/// A secret that never appears in `Debug` output or logs.
#[derive(Clone, PartialEq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which of vLLM's two HTTP APIs the Gemma deployment serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VllmApi {
    /// `vllm serve` (image `vllm/vllm-openai`): `POST /v1/chat/completions`; vLLM applies
    /// Gemma's chat template.
    Chat,
    /// The codelab's model-garden container (`vllm.entrypoints.api_server`): `POST /generate`
    /// with a raw prompt, which we build with Gemma's template.
    Generate,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VllmConfig {
    pub api: VllmApi,
    /// Base URL of the vLLM (or any OpenAI-compatible) server, without `/v1`.
    pub base_url: String,
    /// The served model name sent in each request.
    pub model: String,
    pub api_key: Option<Secret>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Most requests sent to the backend at once; more wait briefly, then get "busy".
    pub max_in_flight: usize,
    pub probe_interval: Duration,
}

/// Gemini through Vertex AI's REST `generateContent`.
#[derive(Clone, Debug, PartialEq)]
pub struct VertexConfig {
    /// `None`: ask the credentials (gcp_auth) for their project.
    pub project: Option<String>,
    pub location: String,
    pub model: String,
    /// `https://aiplatform.googleapis.com` for `global`, `https://{loc}-aiplatform…` otherwise.
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
}

/// Where chat sessions are kept.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreConfig {
    /// The embedded store: a SQLite file.
    Sqlite { path: PathBuf },
    /// Firestore; the project is `GOOGLE_CLOUD_PROJECT` or, on GKE, the metadata server's.
    Firestore {
        project: Option<String>,
        database: String,
        /// How long start-up keeps retrying a database that is not reachable yet.
        connect_wait: Duration,
    },
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address and site root, from Leptos's own `LEPTOS_*` variables.
    pub leptos: LeptosOptions,
    pub store: StoreConfig,
    pub vllm: VllmConfig,
    pub vertex: VertexConfig,
    /// Instructions sent ahead of every conversation, to both models.
    pub system_prompt: Option<String>,
    pub log_format: LogFormat,
    /// After SIGTERM: how long `/readyz` answers 503 while the server still accepts requests,
    /// so load balancers stop routing here before the listener closes.
    pub shutdown_drain: Duration,
    /// Then, the longest a graceful shutdown waits for requests in flight. Defaults to the model
    /// timeout plus a margin, so a turn that started just before SIGTERM can still finish.
    pub shutdown_grace: Duration,
    /// Where `/metrics` is served: `None` on the main listener (a laptop), or its own address,
    /// which no public Service exposes (GKE).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The key that signs owner cookies.
    pub owner_key: OwnerKeySource,
    /// Where a visitor's address comes from, for the limits.
    pub client_ip: ClientIpSource,
    /// Identity-Aware Proxy; `None` leaves sessions owned by the browser.
    pub iap: Option<IapConfig>,
    pub limits: LimitsConfig,
}

/// Where the owner-cookie key comes from. Every replica must use the same one.
#[derive(Clone, Debug)]
pub enum OwnerKeySource {
    /// `OWNER_KEY` (on GKE, from a Kubernetes Secret).
    Given(app::session::OwnerKey),
    /// A laptop: read from this file, or generated into it on first start.
    File(PathBuf),
}

/// Where a visitor's address comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIpSource {
    /// The connection's peer: direct, or the public LoadBalancer with
    /// `externalTrafficPolicy: Local` (deploy/public-lb.yaml), which keeps client addresses.
    Peer,
    /// Google's external Application Load Balancer (the IAP Gateway) connects from its own
    /// addresses and appends `<client>, <load balancer>` to `X-Forwarded-For`: the client is
    /// the second entry from the right. Anything a client wrote further left is ignored.
    GoogleLoadBalancer,
}

/// One environment variable the server reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// As the README shows it (Markdown).
    pub default: &'static str,
    /// `config` (this module), or the library that reads it itself: `leptos`, `tracing`,
    /// `gcp_auth`.
    pub read_by: &'static str,
    pub meaning: &'static str,
}

/// Every variable the server reads, from `config_variables.tsv`: the one list that `--help`
/// prints, the README's table repeats (a test keeps them equal) and CI's deploy check reads.
pub fn variables() -> Vec<Variable> {
    include_str!("config_variables.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cells = l.splitn(4, '\t');
            Some(Variable {
                name: cells.next()?,
                default: cells.next()?,
                read_by: cells.next()?,
                meaning: cells.next()?,
            })
        })
        .collect()
}

/// `hybrid-chat --help`: what the binary is and every variable it reads.
pub fn help() -> String {
    let plain = |s: &str| s.replace('`', "");
    let mut out = String::from(
        "hybrid-chat: one chat, two models (Gemma on vLLM, Gemini on Vertex AI).\n\n\
         Configured only by environment variables; each works unset on a laptop:\n\n",
    );
    for v in variables() {
        out.push_str(&format!(
            "  {}\n      default: {}\n      {}\n",
            v.name,
            plain(v.default),
            plain(v.meaning)
        ));
    }
    out
}

/// What a graceful shutdown adds to the model timeout: the store write after the reply.
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(5);
/// What a turn's deadline adds to the model timeouts: the store writes before and after (each
/// bounded by the store's own 10 s request timeout), and clock skew between replicas.
const TURN_STORE_MARGIN: Duration = Duration::from_secs(30);

/// Set `IAP_AUDIENCE` to require IAP's signed header on every request.
#[derive(Clone, Debug, PartialEq)]
pub struct IapConfig {
    /// `/projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID` (or the Gateway's).
    pub audience: String,
    pub jwks_url: String,
}

impl Config {
    /// The longest a turn can take: the slower backend's connect and request timeouts (both
    /// models run at once when comparing), plus the store writes. Past it, a turn still pending
    /// has lost its task and is shown as failed.
    pub fn turn_deadline(&self) -> Duration {
        let vllm = self.vllm.connect_timeout + self.vllm.request_timeout;
        let vertex = self.vertex.connect_timeout + self.vertex.request_timeout;
        vllm.max(vertex) + TURN_STORE_MARGIN
    }

    /// Reads the process environment. Leptos options come from `LEPTOS_SITE_ADDR`,
    /// `LEPTOS_SITE_ROOT` and friends (cargo-leptos sets them in development).
    pub fn from_env() -> Result<Config, ConfigError> {
        let leptos = leptos::config::get_configuration(None)
            .map_err(|e| ConfigError {
                var: "LEPTOS_*",
                value: String::new(),
                reason: e.to_string(),
            })?
            .leptos_options;
        let mut leptos = leptos;
        // A plain `cargo build` does not bake in cargo-leptos's output name; the bundle is ours.
        if leptos.output_name.is_empty() {
            leptos.output_name = "hybrid-chat".into();
        }
        Config::from_lookup(leptos, |key| std::env::var(key).ok())
    }

    /// Builds the config from any variable lookup, so tests need not touch the process env.
    pub fn from_lookup(
        leptos: LeptosOptions,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let var = |key: &'static str| lookup(key).filter(|v| !v.trim().is_empty());

        let sqlite_path = var("SQLITE_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("data/hybrid-chat.sqlite3"));
        let project = var("GOOGLE_CLOUD_PROJECT");
        // A Google Cloud project (or the emulator) means Firestore; nothing means the laptop.
        let use_firestore = match var("CHAT_STORE").as_deref() {
            None => project.is_some() || var("FIRESTORE_EMULATOR_HOST").is_some(),
            Some("firestore") => true,
            Some("sqlite") => false,
            Some(other) => {
                return Err(ConfigError {
                    var: "CHAT_STORE",
                    value: other.into(),
                    reason: "expected `sqlite` or `firestore`".into(),
                })
            }
        };
        let store = if use_firestore {
            StoreConfig::Firestore {
                project: project.clone(),
                database: var("FIRESTORE_DATABASE").unwrap_or_else(|| "chat-app-db".into()),
                connect_wait: secs(&var, "FIRESTORE_CONNECT_WAIT_SECS", 30.0)?,
            }
        } else {
            StoreConfig::Sqlite { path: sqlite_path }
        };

        let base_url = var("VLLM_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8000".into());
        let base_url = parse_base_url("VLLM_BASE_URL", &base_url)?;

        let api = match var("VLLM_API").as_deref() {
            None | Some("chat") => VllmApi::Chat,
            Some("generate") => VllmApi::Generate,
            Some(other) => {
                return Err(ConfigError {
                    var: "VLLM_API",
                    value: other.into(),
                    reason: "expected `chat` or `generate`".into(),
                })
            }
        };
        let connect_timeout = secs(&var, "MODEL_CONNECT_TIMEOUT_SECS", 5.0)?;
        let request_timeout = secs(&var, "MODEL_TIMEOUT_SECS", 120.0)?;
        let max_in_flight = count(&var, "MODEL_MAX_IN_FLIGHT", 64)?;

        let vllm = VllmConfig {
            api,
            base_url,
            model: var("VLLM_MODEL").unwrap_or_else(|| "google/gemma-3-12b-it".into()),
            api_key: var("VLLM_API_KEY").map(Secret),
            connect_timeout,
            request_timeout,
            max_in_flight,
            probe_interval: secs(&var, "MODEL_PROBE_INTERVAL_SECS", 15.0)?,
        };

        let location = var("VERTEX_LOCATION").unwrap_or_else(|| "global".into());
        if location.is_empty()
            || !location
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ConfigError {
                var: "VERTEX_LOCATION",
                value: location,
                reason: "expected a location such as `global` or `us-central1`".into(),
            });
        }
        let default_host = if location == "global" {
            "https://aiplatform.googleapis.com".to_string()
        } else {
            format!("https://{location}-aiplatform.googleapis.com")
        };
        let vertex = VertexConfig {
            project,
            base_url: match var("VERTEX_BASE_URL") {
                Some(url) => parse_base_url("VERTEX_BASE_URL", &url)?,
                None => default_host,
            },
            location,
            model: var("VERTEX_MODEL").unwrap_or_else(|| "gemini-2.5-flash".into()),
            connect_timeout,
            request_timeout,
            max_in_flight,
        };

        let log_format = match var("LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            // On Kubernetes, default to JSON for Cloud Logging.
            None if lookup("KUBERNETES_SERVICE_HOST").is_some() => LogFormat::Json,
            None => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError {
                    var: "LOG_FORMAT",
                    value: other.into(),
                    reason: "expected `text` or `json`".into(),
                })
            }
        };

        let owner_key =
            match var("OWNER_KEY") {
                Some(raw) => OwnerKeySource::Given(
                    app::session::OwnerKey::from_hex(&raw).ok_or_else(|| ConfigError {
                        var: "OWNER_KEY",
                        value: "(hidden)".into(),
                        reason: "expected 64 hex digits (openssl rand -hex 32)".into(),
                    })?,
                ),
                None if matches!(store, StoreConfig::Firestore { .. }) => {
                    return Err(ConfigError {
                        var: "OWNER_KEY",
                        value: String::new(),
                        reason: "required with Firestore: every replica must sign owner cookies \
                             with the same key (a Kubernetes Secret; openssl rand -hex 32)"
                            .into(),
                    })
                }
                None => OwnerKeySource::File(match &store {
                    StoreConfig::Sqlite { path } => path
                        .parent()
                        .map(|dir| dir.join("owner.key"))
                        .unwrap_or_else(|| PathBuf::from("owner.key")),
                    StoreConfig::Firestore { .. } => PathBuf::from("owner.key"),
                }),
            };
        let client_ip = match var("CLIENT_IP_SOURCE").as_deref() {
            None | Some("peer") => ClientIpSource::Peer,
            Some("google-load-balancer") => ClientIpSource::GoogleLoadBalancer,
            Some(other) => {
                return Err(ConfigError {
                    var: "CLIENT_IP_SOURCE",
                    value: other.into(),
                    reason: "expected `peer` or `google-load-balancer`".into(),
                })
            }
        };
        Ok(Config {
            leptos,
            store,
            vllm,
            vertex,
            system_prompt: var("SYSTEM_PROMPT"),
            log_format,
            shutdown_drain: match var("SHUTDOWN_DRAIN_SECS") {
                Some(raw) if raw.trim() == "0" => Duration::ZERO,
                Some(_) => secs(&var, "SHUTDOWN_DRAIN_SECS", 0.0)?,
                None => Duration::ZERO,
            },
            shutdown_grace: secs(
                &var,
                "SHUTDOWN_GRACE_SECS",
                (request_timeout + SHUTDOWN_MARGIN).as_secs_f64(),
            )?,
            metrics_addr: match var("METRICS_ADDR") {
                None => None,
                Some(raw) => Some(raw.trim().parse().map_err(|_| ConfigError {
                    var: "METRICS_ADDR",
                    value: raw.clone(),
                    reason: "expected an address such as `0.0.0.0:9090`".into(),
                })?),
            },
            iap: iap_config(&lookup, &var)?,
            owner_key,
            client_ip,
            limits: LimitsConfig {
                turns: match optional_count(&var, "TURNS_PER_WINDOW")? {
                    Some(n) => Some((
                        u32::try_from(n).unwrap_or(u32::MAX),
                        secs(&var, "TURN_WINDOW_SECS", 60.0)?,
                    )),
                    None => None,
                },
                tokens_per_day: optional_count(&var, "TOKENS_PER_DAY")?.map(|n| n as u64),
                new_owners_per_hour: optional_count(&var, "NEW_OWNERS_PER_HOUR")?
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                address_multiplier: u32::try_from(count(&var, "ADDRESS_LIMIT_MULTIPLIER", 4)?)
                    .unwrap_or(u32::MAX),
            },
        })
    }
}

/// `IAP_AUDIENCE` turns IAP on. Set but blank is a mistake (an empty ConfigMap value, say), not
/// "off"; and `IAP_REQUIRED=true` (the `iap` deployment) refuses to start without an audience,
/// so a missing value can never leave the app open behind a misconfigured proxy.
fn iap_config(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<IapConfig>, ConfigError> {
    let required = match var("IAP_REQUIRED").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ConfigError {
                var: "IAP_REQUIRED",
                value: other.into(),
                reason: "expected `true` or `false`".into(),
            })
        }
    };
    let audience = match lookup("IAP_AUDIENCE") {
        Some(raw) if raw.trim().is_empty() => {
            return Err(ConfigError {
                var: "IAP_AUDIENCE",
                value: raw,
                reason: "set but blank; unset it to run without IAP, or give the backend \
                         service's audience (deploy/iap-audience.sh)"
                    .into(),
            })
        }
        Some(raw) => raw.trim().to_string(),
        None if required => {
            return Err(ConfigError {
                var: "IAP_AUDIENCE",
                value: String::new(),
                reason: "IAP_REQUIRED=true needs the backend service's audience \
                         (run deploy/iap-audience.sh)"
                    .into(),
            })
        }
        None => return Ok(None),
    };
    if !audience.starts_with("/projects/") {
        return Err(ConfigError {
            var: "IAP_AUDIENCE",
            value: audience,
            reason: "expected /projects/NUMBER/global/backendServices/ID".into(),
        });
    }
    Ok(Some(IapConfig {
        audience,
        jwks_url: match var("IAP_JWKS_URL") {
            Some(url) => parse_base_url("IAP_JWKS_URL", &url)?,
            None => crate::iap::GOOGLE_JWKS_URL.into(),
        },
    }))
}

fn parse_base_url(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim().trim_end_matches('/');
    let err = |reason: &str| ConfigError {
        var,
        value: raw.into(),
        reason: reason.into(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| err("expected an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(err("expected a host after the scheme"));
    }
    Ok(url.to_string())
}

fn secs(
    var: &impl Fn(&'static str) -> Option<String>,
    key: &'static str,
    default: f64,
) -> Result<Duration, ConfigError> {
    let Some(raw) = var(key) else {
        return Ok(Duration::from_secs_f64(default));
    };
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err(ConfigError {
            var: key,
            value: raw,
            reason: "expected a number of seconds between 0 and 86400".into(),
        }),
    }
}

fn count(
    var: &impl Fn(&'static str) -> Option<String>,
    key: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    let Some(raw) = var(key) else {
        return Ok(default);
    };
    match raw.trim().parse::<usize>() {
        Ok(v) if (1..=100_000).contains(&v) => Ok(v),
        _ => Err(ConfigError {
            var: key,
            value: raw,
            reason: "expected a whole number between 1 and 100000".into(),
        }),
    }
}

/// A positive whole number, or `None` when unset or `0` (the limit is off).
fn optional_count(
    var: &impl Fn(&'static str) -> Option<String>,
    key: &'static str,
) -> Result<Option<usize>, ConfigError> {
    let Some(raw) = var(key) else {
        return Ok(None);
    };
    match raw.trim().parse::<usize>() {
        Ok(0) => Ok(None),
        Ok(v) if v <= 1_000_000_000 => Ok(Some(v)),
        _ => Err(ConfigError {
            var: key,
            value: raw,
            reason: "expected a whole number (0 turns the limit off)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    /// The list is the reader: every variable `from_lookup` asks for is listed, and every one
    /// listed as read here is asked for in some configuration.
    #[test]
    fn the_variable_list_is_exactly_what_the_config_reads() {
        let listed: std::collections::BTreeSet<&str> = variables()
            .iter()
            .filter(|v| v.read_by == "config")
            .map(|v| v.name)
            .collect();
        let everything: std::collections::BTreeSet<&str> =
            variables().iter().map(|v| v.name).collect();
        let key = "ab".repeat(32);
        let scenarios: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![
                ("CHAT_STORE", "firestore"),
                ("GOOGLE_CLOUD_PROJECT", "p"),
                ("OWNER_KEY", &key),
                ("IAP_AUDIENCE", "/projects/1/global/backendServices/2"),
                ("IAP_REQUIRED", "true"),
                ("METRICS_ADDR", "0.0.0.0:9090"),
                ("CLIENT_IP_SOURCE", "google-lb"),
            ],
            vec![
                ("IAP_AUDIENCE", "/projects/1/global/backendServices/2"),
                ("TURNS_PER_WINDOW", "5"),
            ],
        ];
        let mut asked = std::collections::BTreeSet::new();
        for env in scenarios {
            let seen = std::cell::RefCell::new(Vec::new());
            let leptos = LeptosOptions::builder().output_name("hybrid-chat").build();
            let _ = Config::from_lookup(leptos, |key| {
                seen.borrow_mut().push(key.to_string());
                env.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            });
            asked.extend(seen.into_inner());
        }
        let unlisted: Vec<&String> = asked
            .iter()
            .filter(|k| !everything.contains(k.as_str()))
            .collect();
        assert!(unlisted.is_empty(), "read but not listed: {unlisted:?}");
        let never_read: Vec<&&str> = listed.iter().filter(|k| !asked.contains(**k)).collect();
        assert!(
            never_read.is_empty(),
            "listed but never read: {never_read:?}"
        );
    }

    /// The README's table of variables is the list, row for row.
    #[test]
    fn the_readme_table_is_the_variable_list() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md");
        let rows: Vec<String> = readme
            .lines()
            .filter(|l| l.starts_with("| `") && l.split('|').count() == 5)
            .filter(|l| l[3..].starts_with(|c: char| c.is_ascii_uppercase()))
            .map(str::to_string)
            .collect();
        let expected: Vec<String> = variables()
            .iter()
            .map(|v| format!("| `{}` | {} | {} |", v.name, v.default, v.meaning))
            .collect();
        assert_eq!(rows, expected);
        assert!(help().contains("OWNER_KEY"));
    }

    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
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
    fn shutdown_grace_covers_the_model_timeout_unless_set() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.shutdown_grace, Duration::from_secs(125));
        assert_eq!(c.shutdown_drain, Duration::ZERO);
        let c = config(&[("MODEL_TIMEOUT_SECS", "30")]).expect("valid");
        assert_eq!(c.shutdown_grace, Duration::from_secs(35));
        let c =
            config(&[("SHUTDOWN_GRACE_SECS", "7"), ("SHUTDOWN_DRAIN_SECS", "3")]).expect("valid");
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
        let c = config(&[("IAP_REQUIRED", "true"), ("IAP_AUDIENCE", audience)]).expect("valid");
        assert_eq!(c.iap.map(|i| i.audience).as_deref(), Some(audience));
        assert_eq!(
            config(&[("IAP_REQUIRED", "false")]).expect("valid").iap,
            None
        );
    }
}
