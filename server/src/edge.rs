//! What every request passes on its way in and out, whatever route it takes: cross-site
//! requests that would change state are refused, redirects stay on this origin and carry error
//! codes rather than text, pages with chats are never cached, and HTTPS visitors get HSTS.

use crate::config::AllowedHosts;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Two years, as hstspreload.org asks; no `includeSubDomains`: other hosts of the operator's
/// domain are not ours to decide for.
const HSTS: &str = "max-age=63072000";

use app::session::forwarded_https as https;

/// `scheme://host` as the browser addressed us (the load balancer sets X-Forwarded-Proto).
fn own_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if https(headers) { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// Why a state-changing request is refused, if it is: a browser says where it came from in
/// `Sec-Fetch-Site` (cross-site or same-site) and `Origin`. A request with neither is not from
/// a browser's cross-site form or fetch (curl, tests, old browsers on a same-origin form), and
/// the owner cookie is `SameSite=Lax` besides.
fn cross_site(headers: &HeaderMap) -> Option<&'static str> {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return Some("cross-site request");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = own_origin(headers);
        if own.as_deref() != origin.to_str().ok() {
            return Some("foreign origin");
        }
    }
    None
}

/// Refuses (403) every state-changing request that comes from another site, before any handler
/// runs: no cookie is set, nothing is stored, no model is called.
pub async fn refuse_cross_site(req: Request<Body>, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        if let Some(why) = cross_site(req.headers()) {
            tracing::warn!(why, "refused a cross-site request");
            return (
                StatusCode::FORBIDDEN,
                [(header::CACHE_CONTROL, "no-store")],
                "This request came from another website and was refused.",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Answers only the host names the operator allowed (`ALLOWED_HOSTS`; see
/// [`AllowedHosts`]). The probes are exempt: the kubelet and the load balancer's health checks
/// address the pod by its IP, and the probes show and change nothing. A request that names no
/// host at all (HTTP/1.0, in-process tests) cannot come from a browser, which always does.
pub async fn known_host(
    State(hosts): State<Arc<AllowedHosts>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz" | "/healthz/store");
    // HTTP/2 names the host in the URI's authority, HTTP/1.1 in the Host header.
    let host = req.uri().authority().map(|a| a.as_str()).or_else(|| {
        req.headers()
            .get(header::HOST)
            .map(|h| h.to_str().unwrap_or("?"))
    });
    let Some(host) = host else {
        return next.run(req).await;
    };
    if probe || hosts.allow(host) {
        return next.run(req).await;
    }
    tracing::warn!(
        host,
        "refused a request for a host name not in ALLOWED_HOSTS"
    );
    (
        StatusCode::MISDIRECTED_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        "This server does not answer for that host name (ALLOWED_HOSTS).",
    )
        .into_response()
}

/// After a plain form post leptos_axum redirects to the request's `Referer`, which another site
/// controls. Keep the redirect to a path on this origin, and turn leptos's error payload
/// (`__err`, which can carry text) into a code the page looks up in its own table.
pub async fn confine_redirects(req: Request<Body>, next: Next) -> Response {
    let origin = own_origin(req.headers());
    let mut response = next.run(req).await;
    if response.status().is_redirection() {
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| confined(l, origin.as_deref()));
        if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

/// `location` as a path (with its query) on this origin; anything else becomes `/`.
pub fn confined(location: &str, own_origin: Option<&str>) -> String {
    let local = match own_origin.and_then(|o| location.strip_prefix(o)) {
        Some("") => "/",
        Some(rest) => rest,
        None => location,
    };
    // A path, not `//host` (protocol-relative) or `/\host` (which browsers treat alike).
    let is_path = local.starts_with('/') && !local.starts_with("//") && !local.starts_with("/\\");
    if !is_path {
        return "/".into();
    }
    let (path, query) = local.split_once('?').unwrap_or((local, ""));
    let mut kept: Vec<String> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        match key {
            "__err" => {
                let value = pair.split_once('=').map_or("", |(_, v)| v);
                if let Some(code) = app::error_codes::code_from_leptos_param(value) {
                    kept.push(format!("{}={code}", app::error_codes::PARAM));
                }
            }
            // leptos's own bookkeeping, and any error a crafted Referer brought along.
            "__path" => {}
            k if k == app::error_codes::PARAM => {}
            _ => kept.push(pair.to_string()),
        }
    }
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// Pages, server-function answers and exports hold someone's chats: never stored by a shared
/// cache, nor kept on disk for the next person at the same computer.
pub async fn private_pages(req: Request<Body>, next: Next) -> Response {
    let mut response = next.run(req).await;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// HSTS on every response to an HTTPS visitor (static files too).
pub async fn hsts(req: Request<Body>, next: Next) -> Response {
    let https = https(req.headers());
    let mut response = next.run(req).await;
    if https {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_origin() {
        let own = Some("http://chat.example");
        assert_eq!(confined("http://chat.example/", own), "/");
        assert_eq!(confined("http://chat.example", own), "/");
        assert_eq!(confined("http://chat.example/c/ab?x=1", own), "/c/ab?x=1");
        assert_eq!(confined("/c/ab", own), "/c/ab");
        for foreign in [
            "https://evil.example/",
            "http://chat.example.evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(confined(foreign, own), "/", "{foreign}");
        }
        assert_eq!(confined("https://evil.example/", None), "/");
    }

    #[test]
    fn error_payloads_become_codes_and_crafted_codes_are_dropped() {
        use base64::Engine;
        let e = app::errors::ChatError::NotSaved;
        let payload =
            base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&e).expect("json"));
        let own = Some("http://h");
        assert_eq!(
            confined(&format!("http://h/?__path=/api/send&__err={payload}"), own),
            "/?err=not_saved"
        );
        assert_eq!(confined("http://h/?err=input.empty&a=1", own), "/?a=1");
        assert_eq!(confined("http://h/?__err=garbage", own), "/");
    }

    #[test]
    fn cross_site_is_told_by_fetch_metadata_or_origin() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("chat.example"));
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_str(v).expect("value"));
            }
            h
        };
        assert_eq!(cross_site(&headers(&[])), None);
        assert_eq!(
            cross_site(&headers(&[("sec-fetch-site", "same-origin")])),
            None
        );
        assert_eq!(
            cross_site(&headers(&[("origin", "http://chat.example")])),
            None
        );
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])).is_some());
        assert!(cross_site(&headers(&[("origin", "http://localhost:9")])).is_some());
        assert!(cross_site(&headers(&[("origin", "null")])).is_some());
        // Behind the load balancer the visitor's origin is https.
        assert!(cross_site(&headers(&[("origin", "https://chat.example")])).is_some());
        assert_eq!(
            cross_site(&headers(&[
                ("origin", "https://chat.example"),
                ("x-forwarded-proto", "https")
            ])),
            None
        );
    }
}
