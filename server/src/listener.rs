//! The accept loop, and the deadlines slow clients meet.
//!
//! axum's `serve` gives hyper no timer, so hyper's header-read timeout never runs: a client that
//! sends its headers a byte at a time holds a connection and its task for as long as it likes,
//! and a few thousand of them exhaust the pod. Here hyper reads headers under a deadline, and
//! [`body_within`] gives the whole body one; graceful shutdown works as with axum's `serve`.
//! A post with files is not read here but streamed to its handler, under a deadline of its own.
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
        .header_read_timeout(header_read)
        // hyper reads up to 400 KB a connection ahead by default; an upload under way then
        // holds that much, however slowly it is taken in. 64 KB still takes any header here.
        .max_buf_size(64 * 1024);
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

/// How long a request's body may take to arrive, in all: a form, and a post with files.
#[derive(Clone, Copy, Debug)]
pub struct BodyDeadlines {
    pub form: Duration,
    pub upload: Duration,
}

/// Reads the request body within its deadline in all, before any handler sees it. tower-http's
/// body timeout restarts with every frame, so a body sent a byte every few seconds would pass;
/// every body here is a small form, read whole by its handler anyway. A post with files is the
/// exception: read here, every waiting upload would sit in memory whole, so it reaches its
/// handler as it arrives, and fails with [`TooSlow`] once its deadline passes.
pub async fn body_within(
    State(deadlines): State<BodyDeadlines>,
    req: Request<Body>,
    next: Next,
) -> Response {
    if crate::attachments::form::takes_files(&req) {
        let req = req.map(|body| Body::new(Upload::new(body, deadlines.upload)));
        return next.run(req).await;
    }
    let deadline = deadlines.form;
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(deadline, axum::body::to_bytes(body, usize::MAX)).await {
        Ok(Ok(bytes)) => bytes,
        // The body limit's error (RequestBodyLimitLayer wraps the body) or a broken connection.
        Ok(Err(error)) => {
            return if caused_by::<http_body_util::LengthLimitError>(&error) {
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

/// Whether `error`, or an error it wraps, is an `E`.
pub fn caused_by<E: std::error::Error + 'static>(
    error: &(dyn std::error::Error + 'static),
) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(|e| e.is::<E>())
}

/// A streamed body's deadline passed before its end came.
#[derive(Debug, thiserror::Error)]
#[error("the request's body came too slowly")]
pub struct TooSlow;

/// A post with files as its handler reads it: failing with [`TooSlow`] once `deadline` has
/// passed since it was wrapped, and at most [`UPLOAD_PACE`] bytes a poll. multer reads all a
/// body has ready before it parses any, so from a fast sender it would hold a whole upload.
struct Upload {
    inner: Body,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// Bytes given since the reader last saw `Pending`.
    given: usize,
}

/// The most bytes an upload hands over before it lets its reader work on them.
const UPLOAD_PACE: usize = 64 * 1024;

impl Upload {
    fn new(inner: Body, deadline: Duration) -> Self {
        Upload {
            inner,
            timer: Box::pin(tokio::time::sleep(deadline)),
            given: 0,
        }
    }
}

impl http_body::Body for Upload {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if self.timer.as_mut().poll(cx).is_ready() {
            tracing::info!("refused a post with files whose body came too slowly");
            return Poll::Ready(Some(Err(axum::Error::new(TooSlow))));
        }
        if self.given >= UPLOAD_PACE {
            self.given = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let frame = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        match &frame {
            Poll::Ready(Some(Ok(f))) => {
                self.given += f.data_ref().map_or(0, |d| d.len());
            }
            Poll::Pending => self.given = 0,
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn refuse(status: StatusCode, words: &'static str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], words).into_response()
}
