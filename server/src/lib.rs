//! hybrid-chat's server: reads its config, opens the store, starts the model backends and serves
//! the Leptos app until SIGTERM or Ctrl-C.

pub mod backends;
pub mod config;
pub mod health;
pub mod routes;
pub mod store;
pub mod telemetry;

use app::services::Services;
use config::Config;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::sqlite::OpenError),
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

    let store = store::sqlite::SqliteStore::open(&config.sqlite_path)?;
    tracing::info!(path = %config.sqlite_path.display(), "embedded SQLite store open");
    let models = backends::start(&config)?;
    let services = Services {
        store: Arc::new(store),
        models,
    };

    let addr = config.leptos.site_addr;
    let app = routes::router(config.leptos.clone(), services);
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
