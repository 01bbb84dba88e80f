//! The HTTP surface: the page, the server functions, probes and static files, with the layers
//! every response passes through.

use crate::config::{AllowedHosts, ClientIpSource, Operators};
use crate::health::{self, Health};
use crate::iap::{self, IapVerifier};
use crate::metrics::{self, Metrics};
use crate::models_page::{self, ModelsPage};
use crate::read_limits::{self, ReadLimiter};
use crate::{attachments, edge, export, listener};
use app::services::Services;
use app::session::PeerIp;
use app::shell::shell;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{middleware, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted: a maximal message, URL-encoded, fits with room to spare.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Where `/metrics` is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MetricsRoute {
    /// On this router (a laptop, the tests).
    Here,
    /// On its own listener ([`metrics_router`]), so the public entry cannot reach it.
    Elsewhere,
}

/// Who may come in, and who sees what.
pub struct Access {
    /// Where a visitor's address comes from.
    pub client_ip: ClientIpSource,
    /// Identity-Aware Proxy's check on every request, when it is required.
    pub iap: Option<Arc<IapVerifier>>,
    /// Who sees everyone's figures on `/models`.
    pub operators: Operators,
    /// The host names answered.
    pub hosts: AllowedHosts,
    /// How long a request's body may take to arrive, in all.
    pub body_read: listener::BodyDeadlines,
    /// Page loads, searches and exports per visitor per minute, if limited.
    pub reads_per_minute: Option<u32>,
    /// The most bytes of files a visitor may store in a day.
    pub file_quota: u64,
    /// Where files wait while their post arrives.
    pub spool: Arc<attachments::spool::Spool>,
}

pub fn router(
    options: LeptosOptions,
    services: Services,
    metrics: Arc<Metrics>,
    metrics_route: MetricsRoute,
    draining: health::Draining,
    access: Access,
) -> Router {
    let Access {
        client_ip,
        iap,
        operators,
        hosts,
        body_read,
        reads_per_minute,
        file_quota,
        spool,
    } = access;
    let intake = attachments::form::Intake {
        services: services.clone(),
        quota: file_quota,
        spool,
    };
    let health = Health {
        store: services.store.clone(),
        draining,
    };
    let context = {
        let services = services.clone();
        move || provide_context(services.clone())
    };

    // The page waits for its data (SsrMode::Async), so the HTML holds the whole conversation:
    // it reads without JavaScript and hydrates without a second fetch.
    let page = leptos_axum::render_app_async_with_context(context.clone(), {
        let options = options.clone();
        move || shell(options.clone())
    });

    let server_fns = {
        let intake = intake.clone();
        move |req: Request<Body>| {
            let context = context.clone();
            let intake = intake.clone();
            async move {
                // A message with files: stored first, then sent as the form it would be without.
                let req = if attachments::form::is_multipart_send(&req) {
                    match attachments::form::take_files(&intake, req).await {
                        Ok(req) => req,
                        Err(refused) => return refused,
                    }
                } else {
                    req
                };
                leptos_axum::handle_server_fns_with_context(context, req)
                    .await
                    .into_response()
            }
        }
    };

    // deploy/precompress.sh writes .br and .gz beside the bundle at build time; files without
    // them are compressed per response by the layer below.
    let static_files = ServeDir::new(&*options.site_root)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip();

    // Everything that shows or changes someone's chats.
    let router = Router::new()
        .route("/", get(page.clone()))
        .route("/c/{id}", get(page))
        .route(
            attachments::form::ATTACH,
            post(attachments::form::attach).with_state(intake),
        )
        .route(
            "/api/{*server_fn}",
            get(server_fns.clone()).post(server_fns),
        )
        .route("/export/{file}", get(export::export))
        .route(
            "/attachments/{id}",
            get(attachments::serve::serve).with_state((services.clone(), operators.clone())),
        )
        .route("/source/{chat}/{seq}", get(export::source))
        .route(
            "/models",
            get(models_page::page).with_state(ModelsPage {
                services: services.clone(),
                operators: operators.clone(),
            }),
        )
        .route(
            "/models.csv",
            get(models_page::ledger_csv).with_state(ModelsPage {
                services: services.clone(),
                operators,
            }),
        )
        .layer(middleware::from_fn(edge::private_pages))
        .route("/healthz", get(health::live))
        .fallback_service(static_files)
        .with_state(services)
        .route("/readyz", get(health::ready).with_state(health.clone()))
        .route("/healthz/store", get(health::store).with_state(health));
    let router = match metrics_route {
        MetricsRoute::Here => router.merge(metrics_router(metrics.clone())),
        MetricsRoute::Elsewhere => router,
    };
    let router = match reads_per_minute {
        Some(n) => router.layer(middleware::from_fn_with_state(
            Arc::new(ReadLimiter::new(n, metrics.clone())),
            read_limits::limit,
        )),
        None => router,
    };
    let router = router
        .layer(middleware::from_fn_with_state(client_ip, peer_ip))
        .layer(middleware::from_fn_with_state(
            body_read,
            listener::body_within,
        ))
        .layer(middleware::from_fn(edge::refuse_cross_site))
        .layer(middleware::from_fn_with_state(
            Arc::new(hosts),
            edge::known_host,
        ));
    // Inside the metrics layer, so refused requests are counted too (as 401s).
    let router = match iap {
        Some(verifier) => router.layer(middleware::from_fn_with_state(verifier, iap::require)),
        None => router,
    };
    router
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn(edge::confine_redirects))
        .layer(middleware::from_fn(edge::hsts))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Same-origin form posts need the Referer: leptos_axum redirects a no-JS post back to it.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        // The precompressed bundle varies by Accept-Encoding too, which ServeDir does not say;
        // a shared cache must not hand brotli to a browser that did not ask for it.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// `/metrics` alone, for its own listener (`METRICS_ADDR`) or to merge into the main router.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(metrics::export).with_state(metrics))
}

/// Hands the visitor's address to the server functions (the limits count against it): the
/// connection's, or the one Google's load balancer appended to `X-Forwarded-For`.
async fn peer_ip(
    State(source): State<ClientIpSource>,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let ip = match source {
        ClientIpSource::Peer => peer,
        ClientIpSource::GoogleLoadBalancer => forwarded_client(req.headers()).or(peer),
    };
    if let Some(ip) = ip {
        req.extensions_mut().insert(PeerIp(ip));
    }
    next.run(req).await
}

/// Google's load balancer appends `<client>, <load balancer>` to whatever `X-Forwarded-For` the
/// client sent, so the client is the second entry from the right; entries further left are the
/// client's own words.
fn forwarded_client(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    let all: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let client = all.len().checked_sub(2).map(|i| all[i])?;
    client.parse().ok()
}

/// The span every log line of a request sits in: a request id (the caller's `x-request-id`, or a
/// fresh one) and, behind Google's load balancer, the trace id for Cloud Logging. Only the path
/// is logged, never the query or the body.
fn request_span(req: &Request<Body>) -> tracing::Span {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let request_id = header("x-request-id")
        .filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(String::from)
        .unwrap_or_else(|| app::session::SessionId::generate().as_str()[..16].to_string());
    // X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1
    let trace_id = header("x-cloud-trace-context")
        .and_then(|v| v.split('/').next())
        .filter(|t| !t.is_empty() && t.len() <= 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(String::from);
    match trace_id {
        Some(trace_id) => {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), %request_id, %trace_id)
        }
        None => {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), %request_id)
        }
    }
}

/// Refuses a body larger than its route takes (413): [`MAX_REQUEST_BYTES`], or a message's
/// files for a multipart send or attach. Counted as it streams too, so a chunked body cannot pass.
async fn limit_body(req: Request<Body>, next: Next) -> Response {
    let max = if attachments::form::takes_files(&req) {
        attachments::form::MAX_BODY_BYTES as usize
    } else {
        MAX_REQUEST_BYTES
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return (http::StatusCode::PAYLOAD_TOO_LARGE, "Request too large.").into_response();
    }
    next.run(req.map(|b| Body::new(http_body_util::Limited::new(b, max))))
        .await
}
