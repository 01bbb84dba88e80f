//! hybrid-chat's server: reads its config, opens the store, starts the model backends and serves
//! the Leptos app until SIGTERM or Ctrl-C.

pub mod backends;
pub mod config;
pub mod export;
pub mod health;
pub mod iap;
pub mod limits;
pub mod metrics;
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
    #[error("cannot build the HTTP client for the model backends: {0}")]
    Backends(#[from] reqwest::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

pub async fn run(config: Config) -> Result<(), StartError> {
    let _ = any_spawner::Executor::init_tokio();
    // reqwest and gcp_auth both use rustls; pick its ring provider once for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let metrics = Metrics::new();
    let (store, counters) = open_store(&config.store).await?;
    let store = MeteredStore::wrap(store, metrics.clone());
    let models = backends::start(&config)?
        .into_iter()
        .map(|model| MeteredModel::wrap(model, metrics.clone()))
        .collect();
    let limits = (!config.limits.is_off()).then(|| {
        tracing::info!(limits = ?config.limits, "per-visitor limits on");
        Arc::new(Limiter::new(counters, config.limits, metrics.clone())) as Arc<dyn TurnLimits>
    });
    let services = Services {
        store,
        models,
        limits,
    };
    let iap = match &config.iap {
        Some(iap) => {
            tracing::info!(audience = %iap.audience, "Identity-Aware Proxy required");
            Some(Arc::new(IapVerifier::new(
                iap.audience.clone(),
                iap.jwks_url.clone(),
                backends::transport::client(Duration::from_secs(5), Duration::from_secs(10))?,
            )))
        }
        None => None,
    };

    let addr = config.leptos.site_addr;
    let app = routes::router(config.leptos.clone(), services, metrics, iap);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    tracing::info!(%addr, vllm = %config.vllm.base_url, vertex = %config.vertex.base_url, "hybrid-chat listening");

    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stopping_tx.send(true);
    });
    let grace = config.shutdown_grace;
    tokio::select! {
        result = std::future::IntoFuture::into_future(server) => result.map_err(StartError::Serve),
        _ = async {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(?grace, "grace period over; exiting with requests still open");
            Ok(())
        }
    }
}

/// The chat store, and the same store as the home of the limit counters.
type Stores = (Arc<dyn ChatStore>, Arc<dyn UsageCounters>);

async fn open_store(config: &config::StoreConfig) -> Result<Stores, StartError> {
    match config {
        config::StoreConfig::Sqlite { path } => {
            let store = Arc::new(store::sqlite::SqliteStore::open(path)?);
            tracing::info!(path = %path.display(), "embedded SQLite store open");
            Ok((store.clone(), store))
        }
        config::StoreConfig::Firestore {
            project,
            database,
            connect_wait,
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
            Ok((store.clone(), store))
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
