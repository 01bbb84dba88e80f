//! The accept loop, and the deadlines slow clients meet.
//!
//! axum's `serve` gives hyper no timer, so hyper's header-read timeout never runs: a client that
//! sends its headers a byte at a time holds a connection and its task for as long as it likes,
//! and a few thousand of them exhaust the pod. Here hyper reads headers under a deadline, and
//! [`body_within`] gives the whole body one; graceful shutdown works as with axum's `serve`.
//! The same timer closes a kept-alive connection left idle that long (behind Google's load
//! balancer the `iap` deployment sets it past the balancer's own 600 s reuse).

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serves `router` on `listener` until `closed` resolves, then waits for the open connections
/// to finish their requests. Each request carries its peer's address as [`ConnectInfo`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read: Duration,
    closed: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read);
    let mut closed = std::pin::pin!(closed);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut closed => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Reads the request body within `deadline` in all, before any handler sees it. tower-http's
/// body timeout restarts with every frame, so a body sent a byte every few seconds would pass;
/// every body here is a small form, read whole by its handler anyway.
pub async fn body_within(
    State(deadline): State<Duration>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(deadline, axum::body::to_bytes(body, usize::MAX)).await {
        Ok(Ok(bytes)) => bytes,
        // The body limit's error (RequestBodyLimitLayer wraps the body) or a broken connection.
        Ok(Err(error)) => {
            let too_large =
                std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| {
                    e.source()
                })
                .any(|e| e.is::<http_body_util::LengthLimitError>());
            return if too_large {
                refuse(StatusCode::PAYLOAD_TOO_LARGE, "This request is too large.")
            } else {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "The request's body could not be read.",
                )
            };
        }
        Err(_) => {
            tracing::info!(?deadline, "refused a request whose body came too slowly");
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "The request's body came too slowly and was refused.",
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn refuse(status: StatusCode, words: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], words).into_response()
}
