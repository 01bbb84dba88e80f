//! Turns running in tasks of their own, which outlive the request that started them: counted,
//! so a graceful shutdown can wait for them, and stoppable, so Stop cancels the model call
//! (dropping the backend request, which vLLM takes as an abort).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct TurnTasks(Arc<Inner>);

#[derive(Default)]
struct Inner {
    running: AtomicUsize,
    /// Each running turn's stop signal, by `chat/turn`.
    stops: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Inner {
    fn stops(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.stops.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(chat: &str, turn: &str) -> String {
    format!("{chat}/{turn}")
}

impl TurnTasks {
    /// Counts turn `turn` of `chat` as running until the returned guard is dropped (the task
    /// ends, or panics), and gives it a stop signal.
    pub fn start(&self, chat: &str, turn: &str) -> RunningTurn {
        self.0.running.fetch_add(1, Ordering::SeqCst);
        let key = key(chat, turn);
        let stop = Arc::new(Notify::new());
        self.0.stops().insert(key.clone(), stop.clone());
        RunningTurn {
            tasks: self.0.clone(),
            key,
            stop,
        }
    }

    pub fn running(&self) -> usize {
        self.0.running.load(Ordering::SeqCst)
    }

    /// Tells turn `turn` of `chat` to stop, if it runs in this process; whether it does.
    pub fn stop(&self, chat: &str, turn: &str) -> bool {
        match self.0.stops().get(&key(chat, turn)) {
            // `notify_one` keeps the signal for a task not yet waiting on it.
            Some(stop) => {
                stop.notify_one();
                true
            }
            None => false,
        }
    }
}

pub struct RunningTurn {
    tasks: Arc<Inner>,
    key: String,
    stop: Arc<Notify>,
}

impl RunningTurn {
    /// Resolves when the turn is told to stop.
    pub async fn stopped(&self) {
        self.stop.notified().await
    }
}

impl Drop for RunningTurn {
    fn drop(&mut self) {
        self.tasks.stops().remove(&self.key);
        self.tasks.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn a_stop_reaches_its_turn_only_and_ends_with_it() {
        let tasks = TurnTasks::default();
        let a = tasks.start("chat", "turn-a");
        let b = tasks.start("chat", "turn-b");
        assert_eq!(tasks.running(), 2);
        assert!(tasks.stop("chat", "turn-a"));
        // Signalled before anyone waited: still received.
        assert!(a.stopped().now_or_never().is_some(), "turn-a stopped");
        assert!(
            b.stopped().now_or_never().is_none(),
            "turn-b was not told to stop"
        );
        assert!(!tasks.stop("other", "turn-b"), "the key includes the chat");
        drop(a);
        assert_eq!(tasks.running(), 1);
        assert!(!tasks.stop("chat", "turn-a"), "gone once its task ended");
        drop(b);
        assert_eq!(tasks.running(), 0);
    }
}
