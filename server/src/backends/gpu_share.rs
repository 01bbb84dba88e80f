//! The share of a GPU each request held: a request's cost on a GPU-priced model is its wall time
//! divided by the requests in flight beside it, moment by moment (`app::cost`). Measured, not
//! assumed: the meter integrates 1 / (requests in flight) over time, and a request's share is
//! how much that integral grew while it ran.
//!
//! It counts this replica's requests. Other replicas' requests to the same vLLM are not seen, so
//! with several replicas busy at once a share reads high (an upper bound); one replica, or one
//! busy at a time, reads true.

use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct GpuShare {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    in_flight: u32,
    /// When `served` was last brought up to date.
    at: Option<Instant>,
    /// ∫ 1 / in_flight dt over the time with requests in flight, in seconds.
    served: f64,
}

impl State {
    fn advance(&mut self, now: Instant) {
        if let Some(at) = self.at {
            if self.in_flight > 0 {
                self.served += now.duration_since(at).as_secs_f64() / f64::from(self.in_flight);
            }
        }
        self.at = Some(now);
    }
}

/// One request on the GPU: its share so far is [`Held::share_ms`]; dropping it leaves.
pub struct Held {
    meter: Arc<GpuShare>,
    start: f64,
}

impl GpuShare {
    pub fn enter(self: &Arc<Self>) -> Held {
        self.enter_at(Instant::now())
    }

    fn enter_at(self: &Arc<Self>, now: Instant) -> Held {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.advance(now);
        s.in_flight += 1;
        Held {
            meter: self.clone(),
            start: s.served,
        }
    }
}

impl Held {
    /// The GPU time this request has held, in ms.
    pub fn share_ms(&self) -> u64 {
        self.share_ms_at(Instant::now())
    }

    fn share_ms_at(&self, now: Instant) -> u64 {
        let mut s = self.meter.state.lock().unwrap_or_else(|p| p.into_inner());
        s.advance(now);
        ((s.served - self.start) * 1000.0).round() as u64
    }

    #[cfg(test)]
    fn leave_at(self, now: Instant) -> u64 {
        let ms = self.share_ms_at(now);
        {
            let mut s = self.meter.state.lock().unwrap_or_else(|p| p.into_inner());
            s.advance(now);
            s.in_flight -= 1;
        }
        std::mem::forget(self);
        ms
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut s = self.meter.state.lock().unwrap_or_else(|p| p.into_inner());
        s.advance(Instant::now());
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_request_alone_holds_its_wall_time_and_shared_ones_split_it() {
        let meter = Arc::new(GpuShare::default());
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // A alone for 1 s, then B joins for 2 s (each holds half), then A leaves and B is
        // alone for 1 s: A held 1 + 1 = 2 s, B 1 + 1 = 2 s, over 4 s of wall time.
        let a = meter.enter_at(at(0));
        let b = meter.enter_at(at(1_000));
        assert_eq!(a.leave_at(at(3_000)), 2_000);
        assert_eq!(b.leave_at(at(4_000)), 2_000);
        // Eight at once for 8 s: a second each.
        let eight: Vec<Held> = (0..8).map(|_| meter.enter_at(at(10_000))).collect();
        let shares: Vec<u64> = eight.into_iter().map(|h| h.leave_at(at(18_000))).collect();
        assert_eq!(shares, vec![1_000; 8]);
    }
}
