//! The server's configuration: one typed struct, read once at start from environment variables,
//! with defaults that work on a laptop. Each section has its reader in a module of its own;
//! `variables.tsv` lists every variable (name, default, meaning) for `--help`, the README and
//! CI's deploy check.

mod access;
mod blobs;
mod connections;
mod env;
mod models;
mod operations;
mod prices;
mod store;
mod variables;

pub use access::{ClientIpSource, IapConfig, LimitsConfig, Operators};
pub use blobs::{BlobConfig, FilesConfig};
pub use connections::{AllowedHosts, ReadTimeouts, LOOPBACK_HOSTS};
pub use env::{ConfigError, Secret};
pub use models::{VertexConfig, VllmApi, VllmConfig};
pub use operations::{LogFormat, SHUTDOWN_MARGIN};
pub use store::{OwnerKeySource, StoreConfig};
pub use variables::{help, variables, Variable};

use env::Env;
use leptos::config::LeptosOptions;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address and site root, from Leptos's own `LEPTOS_*` variables.
    pub leptos: LeptosOptions,
    pub store: StoreConfig,
    /// Where attachments' bytes are kept, and what visitors may store.
    pub blobs: BlobConfig,
    pub files: FilesConfig,
    pub vllm: VllmConfig,
    pub vertex: VertexConfig,
    /// Instructions sent ahead of every conversation, to both models.
    pub system_prompt: Option<String>,
    /// How much of a chat each turn sends to the models.
    pub history: app::prompt::HistoryWindow,
    /// How long a Gemma reply may be pending before the page offers "Ask Gemini instead".
    pub offer_gemini_after: Duration,
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
    /// The key that signs owner cookies, and the one before it (its cookies still accepted).
    pub owner_key: OwnerKeySource,
    pub owner_key_previous: Option<app::session::OwnerKey>,
    /// The key that derives signed-in people's owner ids; `None`: the owner-cookie key.
    pub identity_key: Option<app::session::OwnerKey>,
    /// Where a visitor's address comes from, for the limits.
    pub client_ip: ClientIpSource,
    /// The `Host` names answered (DNS rebinding), and how long a client may take to send.
    pub allowed_hosts: AllowedHosts,
    pub read_timeouts: ReadTimeouts,
    /// Identity-Aware Proxy; `None` leaves sessions owned by the browser.
    pub iap: Option<IapConfig>,
    /// Who sees everyone's figures on the Models page.
    pub operators: Operators,
    pub limits: LimitsConfig,
    /// Page loads, searches and exports per visitor per minute, in each replica.
    pub reads_per_minute: Option<u32>,
    /// What each model's replies are costed at.
    pub prices: app::cost::Prices,
    /// Each model's most spend a UTC day, everyone's turns together (nano-dollars; Gemma, then
    /// Gemini).
    pub daily_ceilings: [Option<u64>; 2],
}

/// What a turn's deadline adds to the model timeouts: the store writes before and after (each
/// bounded by the store's own 10 s request timeout), and clock skew between replicas.
const TURN_STORE_MARGIN: Duration = Duration::from_secs(30);

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
        let mut leptos = leptos::config::get_configuration(None)
            .map_err(|e| ConfigError::new("LEPTOS_*", "", &e.to_string()))?
            .leptos_options;
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
        let env = Env::new(&lookup);
        let store = store::read(&env)?;
        let (vllm, vertex) = models::read(&env)?;
        let (shutdown_drain, shutdown_grace) = operations::shutdown(&env, vllm.request_timeout)?;
        let iap = access::iap(&env)?;
        Ok(Config {
            leptos,
            owner_key: store::owner_key(&env, &store)?,
            owner_key_previous: store::previous_owner_key(&env)?,
            identity_key: store::identity_key(&env)?,
            blobs: blobs::read(&env, &store)?,
            files: blobs::files(&env)?,
            store,
            vllm,
            vertex,
            system_prompt: env.var("SYSTEM_PROMPT"),
            history: models::history(&env)?,
            offer_gemini_after: env.secs("OFFER_GEMINI_AFTER_SECS", 15.0)?,
            log_format: operations::log_format(&env)?,
            shutdown_drain,
            shutdown_grace,
            metrics_addr: operations::metrics_addr(&env)?,
            operators: access::operators(&env, iap.is_some())?,
            iap,
            client_ip: access::client_ip(&env)?,
            allowed_hosts: connections::allowed_hosts(&env)?,
            read_timeouts: connections::read_timeouts(&env)?,
            limits: access::limits(&env)?,
            reads_per_minute: env
                .optional_count("READS_PER_MINUTE")?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            prices: prices::read(&env)?,
            daily_ceilings: prices::ceilings(&env)?,
        })
    }
}

#[cfg(test)]
mod tests;
