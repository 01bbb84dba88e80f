//! hybrid-chat's server: reads its config, opens the store, starts the model backends and serves
//! the Leptos app until SIGTERM or Ctrl-C.

pub mod backends;
pub mod config;
pub mod export;
pub mod health;
pub mod metrics;
pub mod routes;
pub mod store;
pub mod telemetry;

use app::services::{ChatStore, Services};
use config::Config;
use metrics::instrumented::{MeteredModel, MeteredStore};
use metrics::Metrics;
use std::sync::Arc;
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
    let store = MeteredStore::wrap(open_store(&config.store).await?, metrics.clone());
    let models = backends::start(&config)?
        .into_iter()
        .map(|model| MeteredModel::wrap(model, metrics.clone()))
        .collect();
    let services = Services { store, models };

    let addr = config.leptos.site_addr;
    let app = routes::router(config.leptos.clone(), services, metrics);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    tracing::info!(%addr, vllm = %config.vllm.base_url, vertex = %config.vertex.base_url, "hybrid-chat listening");

    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
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

async fn open_store(config: &config::StoreConfig) -> Result<Arc<dyn ChatStore>, StartError> {
    match config {
        config::StoreConfig::Sqlite { path } => {
            let store = store::sqlite::SqliteStore::open(path)?;
            tracing::info!(path = %path.display(), "embedded SQLite store open");
            Ok(Arc::new(store))
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
            Ok(Arc::new(store))
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
