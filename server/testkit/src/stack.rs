//! The usual test set-up in one value: a temp dir, a model stand-in and the server binary on a
//! SQLite file in that dir, pointed at the stand-in.

use crate::{standin, Server, StandIn, TempDir};

/// Fields drop in order: the server stops before its stand-in and its files go.
pub struct Stack {
    pub server: Server,
    pub model: StandIn,
    pub dir: TempDir,
}

impl Stack {
    /// `extra_env` overrides the test defaults (see [`crate::env::app_env`]).
    pub async fn start(extra_env: &[(&str, &str)]) -> Stack {
        Stack::start_on(standin::start(0).await, extra_env).await
    }

    /// [`Stack::start`] with a stand-in set up beforehand (faults, IAP keys, latency).
    pub async fn start_on(model: StandIn, extra_env: &[(&str, &str)]) -> Stack {
        let dir = crate::tempdir();
        let server = Server::start(dir.path(), &model.url(), extra_env).await;
        Stack { server, model, dir }
    }

    /// The parts, in the order they must be declared to drop as the struct does: bind them as
    /// `let (_dir, model, server) = …`, so the server stops first and its files go last.
    pub fn into_parts(self) -> (TempDir, StandIn, Server) {
        let Stack { server, model, dir } = self;
        (dir, model, server)
    }
}
