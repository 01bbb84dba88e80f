//! Operator signals in Prometheus text format at `GET /metrics`: requests by route and status,
//! model calls by model and outcome with their latency and tokens, store latency, backend calls
//! in flight, and turns refused by the visitor limits.

pub mod instrumented;

use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{header, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub model: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub model: &'static str,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub op: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteLabels, Counter>,
    pub request_seconds: Histograms<RouteLabel>,
    pub turns: Family<OutcomeLabels, Counter>,
    pub model_seconds: Histograms<ModelLabels>,
    pub tokens: Family<TokenLabels, Counter>,
    pub store_seconds: Histograms<StoreLabels>,
    pub store_messages_read: Counter,
    pub in_flight: Family<ModelLabels, Gauge>,
    pub load: Gauge,
    pub refused: Family<LimitLabels, Counter>,
    pub model_retries: Family<ModelLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: &'static str,
}

/// 1 ms to ~65 s: store calls sit at the bottom, model calls at the top.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("hybrid_chat");
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let request_seconds: Histograms<RouteLabel> = Family::new_with_constructor(latency_buckets);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by route",
            request_seconds.clone(),
        );
        let turns = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "turns",
            "Model calls made for a turn, by model and outcome (ok or an error kind)",
            turns.clone(),
        );
        let model_seconds: Histograms<ModelLabels> = Family::new_with_constructor(latency_buckets);
        registry.register(
            "model_latency_seconds",
            "Model call latency, successful or not",
            model_seconds.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "model_tokens",
            "Tokens reported by the models, by kind: prompt, completion (the answer) and thinking (Gemini's; billed as output with the completion)",
            tokens.clone(),
        );
        let store_seconds: Histograms<StoreLabels> = Family::new_with_constructor(latency_buckets);
        registry.register(
            "store_latency_seconds",
            "Chat store call latency, by operation and outcome",
            store_seconds.clone(),
        );
        let store_messages_read = Counter::default();
        registry.register(
            "store_messages_read",
            "Messages read from the chat store, and sessions a title search read (Firestore documents, which are billed; SQLite rows)",
            store_messages_read.clone(),
        );
        let in_flight = Family::<ModelLabels, Gauge>::default();
        registry.register(
            "model_in_flight",
            "Model calls in flight (including those waiting for a slot)",
            in_flight.clone(),
        );
        let load = Gauge::default();
        registry.register(
            "load_in_flight",
            "What this replica is working on: HTTP requests being answered plus model calls in flight (a turn outlives its request). The HPA scales on its average (deploy/chat-deploy.yaml)",
            load.clone(),
        );
        let refused = Family::<LimitLabels, Counter>::default();
        registry.register(
            "turns_refused",
            "Turns refused by a visitor limit before reaching a model",
            refused.clone(),
        );
        let model_retries = Family::<ModelLabels, Counter>::default();
        registry.register(
            "model_retries",
            "Model calls sent a second time after a transient failure (429, 503, Vertex INTERNAL)",
            model_retries.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            request_seconds,
            turns,
            model_seconds,
            tokens,
            store_seconds,
            store_messages_read,
            in_flight,
            load,
            refused,
            model_retries,
        })
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// One unit of a gauge, held until dropped: however the work ends, including a dropped request.
pub struct Held(Gauge);

impl Held {
    pub fn enter(gauge: &Gauge) -> Held {
        gauge.inc();
        Held(gauge.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `GET /metrics`.
pub async fn export(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

/// Counts every request by its route template, never by its raw path, so the label set stays
/// bounded whatever URLs visitors try.
pub async fn track(
    State(metrics): State<Arc<Metrics>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let route = route_label(&req);
    let started = Instant::now();
    let _load = Held::enter(&metrics.load);
    let response = next.run(req).await;
    metrics
        .request_seconds
        .get_or_create(&RouteLabel { route })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RouteLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

fn route_label(req: &Request<Body>) -> &'static str {
    let path = req.uri().path();
    match req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some("/api/{*server_fn}") => app::chat::api::server_fn_paths()
            .into_iter()
            .find(|p| *p == path)
            .unwrap_or("/api/unknown"),
        Some("/") => "/",
        Some("/c/{id}") => "/c",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/healthz/store") => "/healthz/store",
        Some("/metrics") => "/metrics",
        Some("/export/{file}") => "/export",
        Some(_) => "other",
        None if path.starts_with("/pkg/") => "/pkg",
        None => "static",
    }
}
