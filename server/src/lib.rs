//! hybrid-chat's server: reads its config, opens the store, starts the model backends and serves
//! the Leptos app until SIGTERM or Ctrl-C.

pub mod attachments;
pub mod backends;
pub mod blobs;
pub mod ceilings;
pub mod config;
pub mod edge;
pub mod export;
pub mod health;
pub mod iap;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod models_page;
pub mod owner_key;
pub mod read_limits;
pub mod routes;
pub mod store;
pub mod telemetry;

use app::services::{ChatStore, Services, TurnLimits};
use config::Config;
use iap::IapVerifier;
use limits::{Limiter, UsageCounters};
use metrics::instrumented::{MeteredModel, MeteredStore};
use metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::sqlite::OpenError),
    #[error("cannot connect to Firestore: {0}")]
    Firestore(String),
    #[error("{0}")]
    Blobs(String),
    #[error("cannot keep arriving files in {0} (UPLOAD_SPOOL_DIR): {1}")]
    Spool(std::path::PathBuf, std::io::Error),
    #[error("cannot build the HTTP client for the model backends: {0}")]
    Backends(#[from] reqwest::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("cannot use the owner-cookie key at {path}: {source}")]
    OwnerKey {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Everything the server serves, built from its config: the router (with `/metrics` on it
/// unless `METRICS_ADDR` gives them a listener of their own) and what shutdown needs. Tests
/// drive the same router in-process.
pub struct App {
    pub router: axum::Router,
    /// `/metrics` for its own listener, when `METRICS_ADDR` is set.
    pub metrics_router: Option<axum::Router>,
    pub tasks: app::services::TurnTasks,
    pub draining: health::Draining,
}

/// Opens the store, starts the model backends and builds the router.
pub async fn build(config: &Config) -> Result<App, StartError> {
    let _ = any_spawner::Executor::init_tokio();
    // reqwest and gcp_auth both use rustls; pick its ring provider once for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();

    // The highlighter's grammars load in the background (tens of milliseconds), not in the
    // first page that shows code, and not before the server is ready.
    tokio::task::spawn_blocking(app::markdown::warm_up);
    let metrics = Metrics::new();
    let (store, counters, files) = open_store(&config.store).await?;
    let store = MeteredStore::wrap(store, metrics.clone());
    let blobs = blobs::open(&config.blobs)
        .await
        .map_err(StartError::Blobs)?;
    let models = backends::start(config, &metrics)?
        .into_iter()
        .map(|model| MeteredModel::wrap(model, metrics.clone()))
        .collect();
    let owner_key = match &config.owner_key {
        config::OwnerKeySource::Given(key) => key.clone(),
        config::OwnerKeySource::File(path) => {
            owner_key::load_or_create(path).map_err(|source| StartError::OwnerKey {
                path: path.clone(),
                source,
            })?
        }
    };
    // Signed-in people's ids come from the identity key, which rotating OWNER_KEY leaves alone
    // once it is set (unset, the owner-cookie key, as before there were two).
    let identity_key = config
        .identity_key
        .clone()
        .unwrap_or_else(|| owner_key.clone());
    let owner_key = owner_key.with_previous(config.owner_key_previous.as_ref());
    let limits = (!config.limits.is_off()).then(|| {
        tracing::info!(limits = ?config.limits, "per-visitor limits on");
        Arc::new(Limiter::new(
            counters,
            config.limits,
            metrics.clone(),
            owner_key.clone(),
        )) as Arc<dyn TurnLimits>
    });
    let tasks = app::services::TurnTasks::default();
    let ceilings = ceilings::DailyCeilings::configured(store.clone(), config.daily_ceilings);
    let services = Services {
        store,
        blobs,
        files,
        file_room: app::services::FileRoom::new(
            config.files.model_room_bytes,
            config.files.model_room_wait,
        ),
        models,
        limits,
        ceilings,
        labelled: Default::default(),
        owner_key: owner_key.clone(),
        tasks: tasks.clone(),
        history: config.history,
        turn_deadline: config.turn_deadline(),
        offer_gemini_after: config.offer_gemini_after,
        system_prompt: config.system_prompt.clone(),
        thinking: config.vertex.thinking,
        prices: config.prices,
    };
    let iap = match &config.iap {
        Some(iap) => {
            tracing::info!(audience = %iap.audience, "Identity-Aware Proxy required");
            Some(IapVerifier::start(
                iap.audience.clone(),
                iap.jwks_url.clone(),
                backends::transport::client(Duration::from_secs(5), Duration::from_secs(10))?,
                identity_key,
            ))
        }
        None => None,
    };

    let spool = attachments::spool::Spool::open(&config.files.spool_dir, config.files.spool_bytes)
        .map_err(|e| StartError::Spool(config.files.spool_dir.clone(), e))?;
    attachments::sweep::sweep_in_background(
        services.clone(),
        config.files.sweep_every,
        config.files.unsent_for,
    );
    let draining = health::Draining::default();
    let (metrics_route, metrics_router) = match config.metrics_addr {
        Some(_) => (
            routes::MetricsRoute::Elsewhere,
            Some(routes::metrics_router(metrics.clone())),
        ),
        None => (routes::MetricsRoute::Here, None),
    };
    let router = routes::router(
        config.leptos.clone(),
        services,
        metrics,
        metrics_route,
        draining.clone(),
        routes::Access {
            client_ip: config.client_ip,
            iap,
            operators: config.operators.clone(),
            hosts: config.allowed_hosts.clone(),
            body_read: listener::BodyDeadlines {
                form: config.read_timeouts.body,
                upload: config.read_timeouts.upload,
            },
            reads_per_minute: config.reads_per_minute,
            file_quota: config.files.bytes_per_day,
            spool: Arc::new(spool),
        },
    );
    Ok(App {
        router,
        metrics_router,
        tasks,
        draining,
    })
}

pub async fn run(config: Config) -> Result<(), StartError> {
    let App {
        router: app,
        metrics_router,
        tasks,
        draining,
    } = build(&config).await?;
    let addr = config.leptos.site_addr;
    let listener = bind(addr).await?;
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    tracing::info!(%addr, metrics = ?config.metrics_addr, vllm = %config.vllm.base_url, vertex = %config.vertex.base_url, "hybrid-chat listening");

    // One signal, three phases. Drain: readiness answers 503 while every request is still
    // served, so load balancers stop routing here before anything is refused. Close: the
    // listeners stop accepting and requests in flight finish. Give up: after the grace period.
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let drain = config.shutdown_drain;
    tokio::spawn(async move {
        shutdown_signal().await;
        draining.start();
        tracing::info!(
            ?drain,
            "shutting down: readiness off, still serving while load balancers catch up"
        );
        tokio::time::sleep(drain).await;
        tracing::info!("shutting down: listener closed, finishing requests in flight");
        let _ = closing_tx.send(true);
    });

    if let (Some(listener), Some(metrics_app)) = (metrics_listener, metrics_router) {
        let closed = until_closed(closing.clone());
        tokio::spawn(std::future::IntoFuture::into_future(
            axum::serve(listener, metrics_app).with_graceful_shutdown(closed),
        ));
    }
    let server = listener::serve(
        listener,
        app,
        config.read_timeouts.headers,
        until_closed(closing.clone()),
    );
    let grace = config.shutdown_grace;
    tokio::select! {
        result = async {
            server.await;
            // Connections are closed; turns whose visitor left still finish and are stored.
            while tasks.running() > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(())
        } => result.map_err(StartError::Serve),
        _ = async {
            until_closed(closing).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(?grace, turns = tasks.running(), "grace period over; exiting with turns still running");
            Ok(())
        }
    }
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Resolves once the shutdown sequence has closed the listeners.
async fn until_closed(mut closing: tokio::sync::watch::Receiver<bool>) {
    let _ = closing.wait_for(|closed| *closed).await;
}

/// The chat store, and the same store as the home of the limit counters.
type Stores = (
    Arc<dyn ChatStore>,
    Arc<dyn UsageCounters>,
    Arc<dyn app::services::FileRecords>,
);

async fn open_store(config: &config::StoreConfig) -> Result<Stores, StartError> {
    match config {
        config::StoreConfig::Sqlite { path } => {
            let store = Arc::new(store::sqlite::SqliteStore::open(path)?);
            tracing::info!(path = %path.display(), "embedded SQLite store open");
            // This process is the file's only user: turns still pending lost their task when
            // the last one stopped (SIGKILL, a crash). Firestore, shared by replicas, relies on
            // the turn deadline instead.
            match store.fail_interrupted_turns().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    turns = n,
                    "turns interrupted by the last shutdown marked failed"
                ),
                Err(e) => tracing::error!(error = ?e, "could not mark interrupted turns"),
            }
            Ok((store.clone(), store.clone(), store))
        }
        config::StoreConfig::Firestore {
            project,
            database,
            connect_wait,
            delete_sweep,
        } => {
            let project = match project {
                Some(p) => p.clone(),
                // On GKE the metadata server knows the project.
                None => {
                    let provider = gcp_auth::provider().await.map_err(|e| {
                        StartError::Firestore(format!("no project: set GOOGLE_CLOUD_PROJECT ({e})"))
                    })?;
                    provider
                        .project_id()
                        .await
                        .map(|p| p.to_string())
                        .map_err(|e| {
                            StartError::Firestore(format!(
                                "no project: set GOOGLE_CLOUD_PROJECT ({e})"
                            ))
                        })?
                }
            };
            let store =
                store::firestore::FirestoreStore::connect(&project, database, *connect_wait)
                    .await
                    .map_err(|e| StartError::Firestore(e.to_string()))?;
            tracing::info!(%project, %database, "Firestore store connected");
            let store = Arc::new(store);
            store.clone().sweep_in_background(*delete_sweep);
            Ok((store.clone(), store.clone(), store))
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
