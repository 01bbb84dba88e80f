//! Test harness: runs the real `hybrid-chat` binary against a stand-in model and a temp SQLite
//! file, and talks to it over HTTP like a browser would ([`Server`], [`Visitor`]); or the same
//! app in-process, for tests that need no process ([`in_process`]).

#![allow(dead_code)]

pub mod firestore_emulator;
pub mod iap_keys;
pub mod in_process;
pub mod model_standin;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// An RSA key made for this test run (PKCS#8 PEM), as in a service-account key file.
fn test_private_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("run openssl to generate a test key");
        assert!(out.status.success(), "openssl genpkey failed");
        String::from_utf8(out.stdout).expect("PEM is ASCII")
    })
}

/// Writes a service-account key whose `token_uri` is the stand-in's OAuth endpoint; gcp_auth
/// signs a JWT with it and exchanges it there, exactly as it would with Google.
/// `OWNER_KEY` for servers on Firestore, which must be given one (every replica shares it).
pub const OWNER_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// The owner cookie the server in `dir` (its SQLite file there) would issue to `owner`: signed
/// with the key it keeps beside the database (made here first if the server has not started).
/// An `extra_env` value that removes the variable instead of setting it.
pub const UNSET: &str = "\0unset";

pub fn owner_cookie(dir: &Path, owner: &app::session::OwnerId) -> String {
    let key = server::owner_key::load_or_create(&dir.join("owner.key")).expect("owner key");
    format!("hc_owner={}", key.sign(owner))
}

pub fn write_service_account_key(dir: &Path, standin_url: &str) -> PathBuf {
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "standin-project",
        "private_key_id": "test-key-1",
        "private_key": test_private_key(),
        "client_email": "hybrid-chat@standin-project.iam.gserviceaccount.com",
        "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": format!("{standin_url}/token"),
    });
    std::fs::create_dir_all(dir).expect("key dir");
    let path = dir.join("service-account.json");
    std::fs::write(&path, key.to_string()).expect("write key");
    path
}

/// reqwest is built without a default TLS provider; pick ring, as the server does.
pub fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The release `hybrid-chat` binary: cargo names it for tests; an example (the benchmark) finds
/// it beside its own directory, `target/release/examples/..`.
pub fn server_binary() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_hybrid-chat") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("own path");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("run from target/release/examples");
    release.join("hybrid-chat")
}

pub struct Server {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
}

impl Server {
    /// Starts the server with both models pointing at the stand-in at `standin_url` (Gemini
    /// with a generated service-account key) and a SQLite file in `dir`. `extra_env` overrides.
    pub async fn start(dir: &Path, standin_url: &str, extra_env: &[(&str, &str)]) -> Server {
        let server = Server::spawn(dir, standin_url, extra_env);
        server.wait_until_live().await;
        server
    }

    /// Like [`Server::start`], without waiting for it to listen.
    pub fn spawn(dir: &Path, standin_url: &str, extra_env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let key = write_service_account_key(dir, standin_url);
        let mut cmd = Command::new(server_binary());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", dir.join("site"))
            .env("LEPTOS_OUTPUT_NAME", "hybrid-chat")
            .env("SQLITE_PATH", dir.join("chat.sqlite3"))
            .env("CHAT_STORE", "sqlite")
            .env("VLLM_BASE_URL", standin_url)
            .env("VERTEX_BASE_URL", standin_url)
            .env("GOOGLE_APPLICATION_CREDENTIALS", &key)
            .env("MODEL_TIMEOUT_SECS", "3")
            .env("MODEL_PROBE_INTERVAL_SECS", "0.5")
            .env("LOG_FORMAT", "text")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        // Logs go to a file beside the database, for the tests that read them (and for humans).
        let log = std::fs::File::create(dir.join("server.log")).expect("log file");
        cmd.stdout(log.try_clone().expect("log file")).stderr(log);
        for (k, v) in extra_env {
            if *v == UNSET {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let child = cmd.spawn().expect("spawn hybrid-chat");
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a crash or an OOM kill would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn wait_until_live(&self) {
        let client = http().build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/healthz", self.url)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("hybrid-chat did not become live at {}", self.url);
    }

    /// Waits until the background credential search has made Gemini available.
    pub async fn wait_for_gemini(&self) {
        let client = http().build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/", self.url)).send().await {
                let page = r.text().await.unwrap_or_default();
                if page.contains(r#"<option value="gemini">"#) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("Gemini never became available");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.join("chat.sqlite3")
    }

    /// Waits for the process to exit on its own (a refused start, say), killing it after `within`.
    pub fn exit_status(mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
    }

    /// Stops the server gracefully (SIGTERM) and returns its exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.terminate();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("hybrid-chat ignored SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser tab that keeps only the cookies we tell it to, so tests can forge them.
pub struct Visitor {
    pub client: reqwest::Client,
    pub base: String,
    /// The chat this tab shows (its address is `/c/{id}`); `None`: a new chat. Sends go to it,
    /// and the first send of a new chat sets it, as the page does.
    pub chat: Option<String>,
    /// The Cookie header this browser sends (`hc_owner=…`, signed by the server), or whatever a
    /// test forges.
    pub owner: Option<String>,
    /// Sent as `x-goog-iap-jwt-assertion`, as IAP would.
    pub assertion: Option<String>,
    /// Sent as `x-forwarded-for`, as a load balancer would.
    pub forwarded_for: Option<String>,
}

pub struct Reply {
    pub status: u16,
    pub body: String,
    pub set_cookies: Vec<String>,
    pub location: Option<String>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The value of `name` in this response's Set-Cookie headers.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find_map(|c| {
            let first = c.split(';').next()?;
            let (k, v) = first.split_once('=')?;
            (k.trim() == name).then(|| v.to_string())
        })
    }
}

impl Visitor {
    pub fn new(server: &Server) -> Visitor {
        Visitor {
            client: http()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: server.url.clone(),
            chat: None,
            owner: None,
            assertion: None,
            forwarded_for: None,
        }
    }

    /// Another tab of the same browser on the same chat: same cookies, its own connection.
    pub fn twin(&self) -> Visitor {
        Visitor {
            client: self.client.clone(),
            base: self.base.clone(),
            chat: self.chat.clone(),
            owner: self.owner.clone(),
            assertion: self.assertion.clone(),
            forwarded_for: self.forwarded_for.clone(),
        }
    }

    /// A browser loads the page before it posts anything: that is where it gets its owner.
    async fn visit_first(&mut self) -> Result<(), reqwest::Error> {
        if self.owner.is_none() && self.assertion.is_none() {
            let req = self.identify(self.client.get(format!("{}/", self.base)));
            let response = req.send().await?;
            self.finish(response).await;
        }
        Ok(())
    }

    /// Posts a raw body with the given content type (for malformed requests). `Err` if the
    /// server closed the connection before answering (as it may for an oversized body).
    pub async fn post_raw(
        &mut self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Reply, reqwest::Error> {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(body);
        let response = self.identify(req).send().await?;
        Ok(self.finish(response).await)
    }

    fn adopt_cookies(&mut self, reply: &Reply) {
        for name in ["hc_owner", "__Host-hc_owner"] {
            if let Some(v) = reply.cookie(name) {
                self.owner = (!v.is_empty()).then(|| format!("{name}={v}"));
            }
        }
    }

    /// The chat this tab shows.
    pub fn session(&self) -> String {
        self.chat.clone().expect("the tab shows a chat")
    }

    /// The cookies and IAP assertion this browser sends with every request.
    fn identify(&self, mut req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        if let Some(a) = &self.assertion {
            req = req.header("x-goog-iap-jwt-assertion", a);
        }
        if let Some(f) = &self.forwarded_for {
            req = req.header("x-forwarded-for", f);
        }
        req
    }

    fn cookie_header(&self) -> Option<String> {
        self.owner.clone()
    }

    async fn finish(&mut self, response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok().map(String::from));
        let body = response.text().await.unwrap_or_default();
        let reply = Reply {
            status,
            body,
            set_cookies,
            location,
        };
        self.adopt_cookies(&reply);
        // The page moves to a chat's address after its first message (JSON reply), or is
        // redirected there (a form post without JavaScript).
        if let Some(id) = reply
            .location
            .as_deref()
            .and_then(|l| l.strip_prefix("/c/"))
        {
            self.chat = Some(id.split('?').next().unwrap_or(id).to_string());
        } else if reply.status == 200 {
            if let Some(id) = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["session"]["id"].as_str().map(String::from))
            {
                self.chat = Some(id);
            }
        }
        reply
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = self.identify(self.client.get(format!("{}{path}", self.base)));
        let response = req.send().await.expect("GET");
        self.finish(response).await
    }

    /// Loads a page the way a browser without JavaScript ends up seeing it: a chat whose turn is
    /// pending refreshes itself, so this loads it again until no turn is pending (10 s at most).
    pub async fn get_settled(&mut self, path: &str) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = self.get(path).await;
            let refreshing = page.body.contains(r#"http-equiv="refresh""#);
            if !refreshing || Instant::now() > deadline {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls a server function the way the hydrated page does (JSON reply, no redirect).
    pub async fn call(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post(path, form, "application/json").await
    }

    /// [`Visitor::call`], for a request that may be given up on (a client timeout).
    pub async fn try_call(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        self.try_post(path, form, "application/json").await
    }

    /// Posts a form the way a browser without JavaScript does.
    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post(path, form, "text/html,application/xhtml+xml")
            .await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)], accept: &str) -> Reply {
        self.try_post(path, form, accept).await.expect("POST")
    }

    /// `Err` when the server is gone (killed, restarting) instead of a panic.
    async fn try_post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        accept: &str,
    ) -> Result<Reply, reqwest::Error> {
        self.visit_first().await?;
        // A send goes to the tab's chat, as the page's form does.
        let chat = self.chat.clone().unwrap_or_default();
        let mut form = form.to_vec();
        if matches!(path, "/api/send" | "/api/compare") && !form.iter().any(|(k, _)| *k == "chat") {
            form.push(("chat", chat.as_str()));
        }
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let here = self
            .chat
            .as_deref()
            .map_or("/".to_string(), |c| format!("/c/{c}"));
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", accept)
            .header("referer", format!("{}{here}", self.base))
            .body(body);
        let req = self.identify(req);
        let response = req.send().await?;
        Ok(self.finish(response).await)
    }

    /// Sends a message with the default sliders.
    pub async fn send(&mut self, text: &str, model: &str) -> Reply {
        self.try_send(text, model).await.expect("POST")
    }

    /// [`Visitor::send`], for a server that may be gone.
    pub async fn try_send(&mut self, text: &str, model: &str) -> Result<Reply, reqwest::Error> {
        let form = [
            ("message", text),
            ("model", model),
            ("temperature", "0.9"),
            ("top_p", "0.95"),
            ("max_tokens", "1024"),
        ];
        self.try_post("/api/send", &form, "application/json").await
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Counts the rows of each table for a session, straight from the SQLite file.
/// The conversation a chat holds: its answered turns' messages (seq, role, text, model). A turn
/// that failed or is pending is not part of it; [`turn_rows`] shows those too.
pub fn stored_messages(db: &Path, session: &str) -> Vec<(i64, String, String, String)> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT seq, role, text, model FROM messages WHERE session_id = ?1 AND status = 'complete' ORDER BY seq")
        .expect("prepare");
    stmt.query_map([session], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// Every row of a chat, whatever its turn's status: (seq, role, text, status, error code).
pub fn turn_rows(db: &Path, session: &str) -> Vec<(i64, String, String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT seq, role, text, status, error FROM messages WHERE session_id = ?1 ORDER BY seq")
        .expect("prepare");
    stmt.query_map([session], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// Whether a chat's rows are whole turns: gap-free, every answered user message followed by
/// its reply (or replies), every failed or pending one by none.
pub fn whole_turns(rows: &[(i64, String, String, String, Option<String>)]) -> bool {
    rows.iter().enumerate().all(|(i, r)| {
        let next_is_reply = rows.get(i + 1).is_some_and(|n| n.1 == "model");
        r.0 == i as i64
            && match (r.1.as_str(), r.3.as_str()) {
                ("user", "complete") => next_is_reply,
                ("user", _) => !next_is_reply,
                ("model", s) => s == "complete" && i > 0,
                _ => false,
            }
    })
}

pub fn count_all_messages(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .expect("count")
}

/// The HTTP status a failed server function must answer with, by the error's JSON (the
/// API contract, written out here independently of the server's mapping).
pub fn status_for(error: &serde_json::Value) -> u16 {
    let text = error.to_string();
    let has = |k: &str| text.contains(&format!("\"{k}\""));
    if has("Input") || has("Transport") {
        400
    } else if has("NoSuchChat") {
        404
    } else if has("NoOwner") {
        403
    } else if has("NotSaved") || has("Store") || has("Busy") || has("NotConfigured") {
        503
    } else if has("TimedOut") {
        504
    } else if has("Rejected") || has("Blocked") || has("OutOfTokens") {
        422
    } else {
        502
    }
}

/// The value of one sample in `/metrics` text (name with its labels, exactly), or 0 if absent.
pub fn metric(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
