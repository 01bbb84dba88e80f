//! The real `hybrid-chat` binary as a process: started, waited for, read, stopped and killed.

use crate::env::{app_env, overlay};
use crate::{free_port, http, write_service_account_key};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The release `hybrid-chat` binary. `HYBRID_CHAT_BIN` names it; otherwise it is beside the
/// running executable's directory or in it: a test in `target/release/deps`, an example in
/// `target/release/examples`, the `stack` binary in `target/release` itself.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("HYBRID_CHAT_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("own path");
    let dir = exe.parent().expect("an executable has a directory");
    [dir, dir.parent().unwrap_or(dir)]
        .iter()
        .map(|d| d.join("hybrid-chat"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no hybrid-chat binary near {}: build it first",
                exe.display()
            )
        })
}

pub struct Server {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
}

impl Server {
    /// Starts the server with both models pointing at the stand-in at `standin_url` (Gemini
    /// with a generated service-account key) and a SQLite file in `dir`. `extra_env` overrides.
    ///
    /// The port is picked free, then bound by the server: something else may take it in between
    /// (another server, or an outgoing connection's ephemeral port). A server that cannot bind
    /// exits saying so, and is started again on another port; one that answers `/healthz` is
    /// taken as ours only while its process is still running.
    pub async fn start(dir: &Path, standin_url: &str, extra_env: &[(&str, &str)]) -> Server {
        for _ in 0..5 {
            let mut server = Server::spawn(dir, standin_url, extra_env);
            if server.wait_until_live().await {
                return server;
            }
            let log = server.log();
            assert!(
                log.contains("cannot listen on") || log.contains("Address already in use"),
                "hybrid-chat exited before it was live: {log}"
            );
            let _ = server.child.wait();
        }
        panic!("hybrid-chat found no free port in 5 tries");
    }

    /// Like [`Server::start`], without waiting for it to listen.
    pub fn spawn(dir: &Path, standin_url: &str, extra_env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let key = write_service_account_key(dir, standin_url);
        let mut env = app_env(dir, standin_url, Some(&key));
        env.extend([
            ("LEPTOS_SITE_ADDR".into(), format!("127.0.0.1:{port}")),
            ("LOG_FORMAT".into(), "text".into()),
            ("RUST_LOG".into(), "warn".into()),
        ]);
        let mut cmd = Command::new(server_binary());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(overlay(env, extra_env, standin_url))
            .stdin(Stdio::null());
        // Logs go to a file beside the database, for the tests that read them (and for humans).
        let log = std::fs::File::create(dir.join("server.log")).expect("log file");
        cmd.stdout(log.try_clone().expect("log file")).stderr(log);
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

    /// `true` once it answers `/healthz` while its process runs; `false` if the process exited
    /// first (the caller reads why in its log).
    async fn wait_until_live(&mut self) -> bool {
        let client = http().build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.url)).send().await {
                if r.status().is_success() {
                    // Answered by ours only if ours still runs (one that lost the port exits).
                    match self.child.try_wait() {
                        Ok(None) => return true,
                        _ => return false,
                    }
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
