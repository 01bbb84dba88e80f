//! The fault and bad-input suite: every request either works and is stored once, or reaches its
//! sender as a clear error and keeps no reply (a turn a model failed is kept marked failed; one
//! refused before it was accepted is not stored at all). A turn accepted but not answered when
//! the server is killed is reported failed on the next load; when it is stopped (SIGTERM), it
//! is finished and stored whole. Prints tried / handled / lost per scenario and
//! fails if anything was lost or unhandled. (`harness = false`: one run, one table.)

use std::collections::{HashMap, HashSet};
use std::time::Duration;
use testkit::standin::{self, Behaviour, Fault, StandIn};
use testkit::Emulator;
use testkit::{
    count_all_messages, stored_messages, turn_rows, whole_turns, Reply, Server, Visitor,
};

#[path = "faults/bad_input.rs"]
mod bad_input;
#[path = "faults/bursts.rs"]
mod bursts;
#[path = "faults/outages.rs"]
mod outages;

use bad_input::bad_input;
use bursts::{concurrent_with_faults, killed_mid_burst};
use outages::{store_outage, terminated_with_abandoned_turns};

/// One scenario's tally. `problems` names every request that was not handled.
#[derive(Default)]
struct Tally {
    tried: usize,
    handled: usize,
    lost: usize,
    problems: Vec<String>,
}

impl Tally {
    /// An acknowledged turn must be found exactly once: none is a loss, more is a problem.
    fn found(&mut self, text: &str, copies: usize) {
        self.tried += 1;
        match copies {
            1 => self.handled += 1,
            0 => self.lost += 1,
            n => self.problems.push(format!("{text} found {n} times")),
        }
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.tried += 1;
        if ok {
            self.handled += 1;
        } else {
            self.problems.push(what());
        }
    }
}

/// The words the page shows for a failed call: its JSON body read back as a `ChatError`, the
/// way the browser bundle reads it. `None` if the body is anything else (a stack trace, HTML).
fn words(reply: &Reply) -> Option<String> {
    if !(400..600).contains(&reply.status) {
        return None;
    }
    serde_json::from_str::<app::errors::ChatError>(&reply.body)
        .ok()
        .map(|e| e.to_string())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results = runtime.block_on(async {
        let standin = standin::start(0).await;
        vec![
            ("bad input", bad_input(&standin).await),
            (
                "200 sends / 50 sessions, model fails 20 %",
                concurrent_with_faults(&standin).await,
            ),
            (
                "server SIGKILLed mid-burst, restarted",
                killed_mid_burst(&standin).await,
            ),
            (
                "SIGTERM with abandoned turns still at the model",
                terminated_with_abandoned_turns(&standin).await,
            ),
            (
                "store stalls mid-run (emulator stopped, resumed)",
                store_outage(&standin).await,
            ),
        ]
    });

    println!("\nfault and bad-input suite\n");
    println!(
        "{:52} {:>6} {:>8} {:>5}",
        "scenario", "tried", "handled", "lost"
    );
    let mut failed = false;
    for (name, t) in &results {
        println!("{name:52} {:>6} {:>8} {:>5}", t.tried, t.handled, t.lost);
        for p in &t.problems {
            println!("    ! {p}");
        }
        failed |= !t.problems.is_empty() || t.lost > 0 || t.tried == 0;
    }
    let total = |f: fn(&Tally) -> usize| results.iter().map(|(_, t)| f(t)).sum::<usize>();
    println!(
        "{:52} {:>6} {:>8} {:>5}",
        "total",
        total(|t| t.tried),
        total(|t| t.handled),
        total(|t| t.lost)
    );
    if failed {
        eprintln!("\nfault suite FAILED");
        std::process::exit(1);
    }
}

async fn sqlite_server(dir: &std::path::Path, standin: &StandIn) -> Server {
    standin.set("gemma", Behaviour::default());
    Server::start(dir, &standin.url(), &[]).await
}

fn short(body: &str) -> String {
    body.chars().take(160).collect()
}
