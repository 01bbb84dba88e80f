//! The period the Models page covers, from its address.

use axum::http::request::Parts;

/// The most days any period reads figures per day for.
pub const MAX_DAYS: i64 = 366;

/// The period the page covers: `?period=today|7d|30d|all` (30 days when absent or unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Today,
    Week,
    Month,
    All,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Today, Period::Week, Period::Month, Period::All];

    pub fn parse(parts: &Parts) -> Period {
        let query = parts.uri.query().unwrap_or("");
        let asked = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("period="))
            .unwrap_or("");
        Period::ALL
            .into_iter()
            .find(|p| p.param() == asked)
            .unwrap_or(Period::Month)
    }

    pub fn param(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::Week => "7d",
            Period::Month => "30d",
            Period::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Today => "Today",
            Period::Week => "7 days",
            Period::Month => "30 days",
            Period::All => "All time",
        }
    }

    /// The first UTC day the period covers (all time: the first day kept per day).
    pub fn since_day(self, today: i64) -> i64 {
        match self {
            Period::Today => today,
            Period::Week => today - 6,
            Period::Month => today - 29,
            // The days kept per day are read for a year at most (a day's document per owner
            // on Firestore): all time's table comes from the all-time figures instead.
            Period::All => today - MAX_DAYS + 1,
        }
    }
}
