//! Google's Firestore emulator, started by the tests on a random port. Fails loudly if the jar
//! is missing: a store test never silently skips.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const JAR: &str =
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar";

pub struct Emulator {
    child: Child,
    pub host: String,
}

impl Emulator {
    /// The variables that put a test server's chats in this emulator, in `project`.
    pub fn server_env(&self, project: &str) -> Vec<(&'static str, String)> {
        vec![
            ("CHAT_STORE", "firestore".into()),
            ("FIRESTORE_EMULATOR_HOST", self.host.clone()),
            ("GOOGLE_CLOUD_PROJECT", project.into()),
            ("FIRESTORE_DATABASE", "chat-app-db".into()),
            ("OWNER_KEY", crate::OWNER_KEY.into()),
        ]
    }

    /// Starts on a free port. The port is picked, then bound by Java: something else may take
    /// it in between (after a burst of connections, a port in TIME_WAIT that Java will not
    /// reuse), and an emulator that cannot bind exits: it is started again on another port.
    pub async fn start() -> Emulator {
        for _ in 0..5 {
            if let Some(emulator) = Emulator::try_start_on(crate::free_port()).await {
                return emulator;
            }
        }
        panic!("the Firestore emulator exited on start 5 times (no port it could bind?)");
    }

    /// Starts on a given port, e.g. the one a stopped emulator had, to bring a database "back".
    pub async fn start_on(port: u16) -> Emulator {
        Emulator::try_start_on(port)
            .await
            .unwrap_or_else(|| panic!("the Firestore emulator exited on start (port {port})"))
    }

    /// The emulator once it answers, or `None` if it exited first.
    async fn try_start_on(port: u16) -> Option<Emulator> {
        assert!(
            Path::new(JAR).is_file(),
            "the Firestore emulator is missing ({JAR}); install the google-cloud-cli-firestore-emulator package"
        );
        // Started as java directly: killing `gcloud emulators firestore start` leaves its Java
        // child holding the port.
        let child = Command::new("java")
            .args([
                "-Duser.language=en",
                "-Xmx512m",
                "-cp",
                JAR,
                "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
                "start",
                "--host=127.0.0.1",
                &format!("--port={port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Firestore emulator (java)");
        let mut emulator = Emulator {
            child,
            host: format!("127.0.0.1:{port}"),
        };
        let client = crate::http().build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = emulator.child.try_wait() {
                return None;
            }
            if let Ok(r) = client
                .get(format!("http://{}/", emulator.host))
                .send()
                .await
            {
                // Ours only while our process runs (one that lost the port exits).
                if r.status().is_success() {
                    return matches!(emulator.child.try_wait(), Ok(None)).then_some(emulator);
                }
            }
            assert!(
                Instant::now() < deadline,
                "the Firestore emulator did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Freezes the emulator (SIGSTOP): connections stay open and nothing answers, as when a
    /// database stalls. Its data survives, unlike a restart of this in-memory emulator.
    pub fn pause(&self) {
        signal(self.child.id(), "-STOP");
    }

    /// Lets a paused emulator run again (SIGCONT).
    pub fn resume(&self) {
        signal(self.child.id(), "-CONT");
    }

    pub fn port(&self) -> u16 {
        self.host
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Every document of a collection (or a subcollection path such as `sessions/ID/messages`):
    /// its id and its fields as the REST API gives them (`{"value": {"integerValue": "3"}}`).
    /// Read as the emulator's owner, past any rules.
    pub async fn documents(
        &self,
        project: &str,
        database: &str,
        collection: &str,
    ) -> Vec<(String, serde_json::Value)> {
        let client = crate::http().build().expect("client");
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let url = format!(
                "http://{}/v1/projects/{project}/databases/{database}/documents/{collection}\
                 ?pageSize=300&pageToken={page_token}",
                self.host
            );
            let page: serde_json::Value = client
                .get(url)
                .bearer_auth("owner")
                .send()
                .await
                .expect("list documents")
                .json()
                .await
                .expect("a JSON page");
            for doc in page["documents"].as_array().into_iter().flatten() {
                let name = doc["name"].as_str().unwrap_or_default();
                let id = name.rsplit('/').next().unwrap_or_default().to_string();
                out.push((id, doc["fields"].clone()));
            }
            match page["nextPageToken"].as_str() {
                Some(token) if !token.is_empty() => page_token = token.to_string(),
                _ => return out,
            }
        }
    }

    /// Deletes every document of a database.
    pub async fn wipe(&self, project: &str, database: &str) {
        let url = format!(
            "http://{}/emulator/v1/projects/{project}/databases/{database}/documents",
            self.host
        );
        let r = crate::http()
            .build()
            .expect("client")
            .delete(url)
            .send()
            .await
            .expect("wipe");
        assert!(r.status().is_success(), "wipe failed: {}", r.status());
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} {pid} failed");
}
