//! Reading variables: one lookup, blank counted as unset, and one parser per kind of value, each
//! naming the variable when it refuses one.

use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

impl ConfigError {
    pub(super) fn new(var: &'static str, value: impl Into<String>, reason: &str) -> Self {
        ConfigError {
            var,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// A secret that never appears in `Debug` output or logs.
#[derive(Clone, PartialEq)]
pub struct Secret(pub(super) String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The environment as the config sees it: any lookup (the process's, or a test's map).
pub(super) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Env { lookup }
    }

    /// The value, or `None` when unset or blank.
    pub fn var(&self, key: &'static str) -> Option<String> {
        (self.lookup)(key).filter(|v| !v.trim().is_empty())
    }

    /// The value as set, blank included (where blank is a mistake worth naming).
    pub fn raw(&self, key: &'static str) -> Option<String> {
        (self.lookup)(key)
    }

    pub fn text(&self, key: &'static str, default: &str) -> String {
        self.var(key).unwrap_or_else(|| default.into())
    }

    /// One of a closed set of words.
    pub fn one_of<T: Copy>(
        &self,
        key: &'static str,
        choices: &[(&str, T)],
        default: T,
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.var(key) else {
            return Ok(default);
        };
        choices
            .iter()
            .find(|(word, _)| *word == raw)
            .map(|&(_, value)| value)
            .ok_or_else(|| {
                let words: Vec<String> = choices.iter().map(|(w, _)| format!("`{w}`")).collect();
                ConfigError::new(key, raw, &format!("expected {}", words.join(" or ")))
            })
    }

    pub fn secs(&self, key: &'static str, default: f64) -> Result<Duration, ConfigError> {
        let Some(raw) = self.var(key) else {
            return Ok(Duration::from_secs_f64(default));
        };
        match raw.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
            _ => Err(ConfigError::new(
                key,
                raw,
                "expected a number of seconds between 0 and 86400",
            )),
        }
    }

    pub fn count(&self, key: &'static str, default: usize) -> Result<usize, ConfigError> {
        let Some(raw) = self.var(key) else {
            return Ok(default);
        };
        match raw.trim().parse::<usize>() {
            Ok(v) if (1..=100_000).contains(&v) => Ok(v),
            _ => Err(ConfigError::new(
                key,
                raw,
                "expected a whole number between 1 and 100000",
            )),
        }
    }

    /// An amount of US dollars, zero or more (a price: zero for a model that costs nothing).
    pub fn usd(&self, key: &'static str, default: f64) -> Result<f64, ConfigError> {
        let Some(raw) = self.var(key) else {
            return Ok(default);
        };
        match raw.trim().trim_start_matches('$').parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=1_000_000.0).contains(&v) => Ok(v),
            _ => Err(ConfigError::new(
                key,
                raw,
                "expected an amount of US dollars, such as 0.30",
            )),
        }
    }

    /// A positive whole number, or `None` when unset or `0` (the limit is off).
    pub fn optional_count(&self, key: &'static str) -> Result<Option<usize>, ConfigError> {
        let Some(raw) = self.var(key) else {
            return Ok(None);
        };
        match raw.trim().parse::<usize>() {
            Ok(0) => Ok(None),
            Ok(v) if v <= 1_000_000_000 => Ok(Some(v)),
            _ => Err(ConfigError::new(
                key,
                raw,
                "expected a whole number (0 turns the limit off)",
            )),
        }
    }

    /// An http(s) base URL without its trailing slash, if set.
    pub fn base_url(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        self.var(key)
            .map(|raw| parse_base_url(key, &raw))
            .transpose()
    }

    /// [`Env::base_url`] for what must not travel in clear (Google's keys and APIs, which carry
    /// the server's credentials or vouch for who is signed in): `http://` only to this machine
    /// (a stand-in, an emulator, a local proxy).
    pub fn secure_url(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(url) = self.base_url(key)? else {
            return Ok(None);
        };
        match url.strip_prefix("http://") {
            Some(rest) if !loopback(rest) => Err(ConfigError::new(
                key,
                url,
                "expected https:// (http:// only to a loopback address such as 127.0.0.1 or localhost)",
            )),
            _ => Ok(Some(url)),
        }
    }
}

/// Whether a URL's authority (after the scheme) names this machine.
fn loopback(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.strip_prefix('[') {
        // [::1]:8080
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn parse_base_url(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| ConfigError::new(var, raw, "expected an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(ConfigError::new(
            var,
            raw,
            "expected a host after the scheme",
        ));
    }
    Ok(url.to_string())
}
