//! The app in-process: the router `server::build` makes (the one `run` serves) on a real SQLite
//! file and a model stand-in of its own, driven with `tower::ServiceExt::oneshot`. No server
//! process, so a request costs microseconds; what needs a process (restarts, signals, logs, a
//! store that goes away) uses [`crate::Server`].

use crate::env::{app_env, overlay};
use crate::form::SendForm;
use crate::standin::{self, StandIn};
use app::errors::ChatError;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use leptos::config::LeptosOptions;
use server::config::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use tower::ServiceExt;

pub struct Harness {
    pub router: Router,
    pub model: StandIn,
    /// The SQLite file the app stores into.
    pub db: PathBuf,
    _dir: crate::TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The server function's typed error, as the page decodes it.
    pub fn error(&self) -> ChatError {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("a ChatError in {:?}: {e}", self.body))
    }
}

/// The app on a fresh SQLite file and its own model stand-in; `extra` adds or overrides
/// variables (`{standin}` in a value is the stand-in's URL).
pub async fn harness(extra: &[(&str, &str)]) -> Harness {
    harness_on(standin::start(0).await, extra).await
}

/// [`harness`] on a stand-in set up beforehand (IAP's keys must be published before the app
/// starts, as Google's are).
pub async fn harness_on(model: StandIn, extra: &[(&str, &str)]) -> Harness {
    let dir = crate::tempdir();
    let url = model.url();
    let env = overlay(app_env(dir.path(), &url, None), extra, &url);
    let lookup = |k: &str| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    let leptos = LeptosOptions::builder()
        .output_name("hybrid-chat")
        .site_root(dir.path().join("site").display().to_string())
        .build();
    let config = Config::from_lookup(leptos, lookup).expect("config");
    let app = server::build(&config).await.expect("the app builds");
    // The peer address a real listener would give (the limits key on it).
    let router = app
        .router
        .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    Harness {
        router,
        model,
        db: dir.path().join("chat.sqlite3"),
        _dir: dir,
    }
}

impl Harness {
    pub async fn call(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
        self.get_with(path, &headers).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.call(request.body(Body::empty()).expect("request"))
            .await
    }

    /// A server-function call as the hydrated page makes it, with extra headers.
    pub async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        body: String,
        headers: &[(&str, &str)],
    ) -> Answer {
        // With its length, as a browser sends it: the body limit answers from it.
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, body.len());
        // JSON back, as the hydrated page asks, unless the caller says otherwise (a form post
        // without JavaScript accepts HTML and is redirected).
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            request = request.header(header::ACCEPT, "application/json");
        }
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.call(request.body(Body::from(body)).expect("request"))
            .await
    }

    /// A new visitor: the owner cookie a first page load issues (`name=value`).
    pub async fn visitor(&self) -> String {
        let page = self.get("/", None).await;
        let set = page.header(header::SET_COOKIE);
        set.split(';').next().expect("a cookie").to_string()
    }

    /// Posts the composer's form as the page's script does.
    pub async fn send(&self, cookie: &str, form: &SendForm) -> Answer {
        self.post("/api/send", Some(cookie), form.encode(), &[])
            .await
    }
}
