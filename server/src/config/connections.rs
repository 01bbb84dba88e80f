//! What the listener accepts: the `Host` names it answers, and how long a client may take to
//! send its request.

use super::env::{ConfigError, Env};
use std::time::Duration;

/// The host names the server answers (`ALLOWED_HOSTS`).
///
/// A web page can point a name it owns at 127.0.0.1 (DNS rebinding) and drive a laptop's server,
/// which holds the developer's Gemini credentials, with the browser's same-origin blessing; the
/// request then says `Host: attacker.example`. Answering only known names defeats it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedHosts {
    /// Any name: a deployment reached by its bare address (the public LoadBalancer).
    Any,
    /// These names, lower case, without a port.
    Names(Vec<String>),
}

pub const LOOPBACK_HOSTS: &str = "localhost,127.0.0.1,[::1]";

impl AllowedHosts {
    /// Whether a `Host` header (`name`, `name:port`, `[v6]:port`) names this server.
    pub fn allow(&self, host: &str) -> bool {
        match self {
            AllowedHosts::Any => true,
            AllowedHosts::Names(names) => {
                let name = host_name(host);
                names.iter().any(|n| n.eq_ignore_ascii_case(name))
            }
        }
    }
}

/// The name in a `Host` value, without its port.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        // [v6] or [v6]:port
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// `ALLOWED_HOSTS`: `*`, or names separated by commas. The `iap` deployment
/// (`IAP_REQUIRED=true`) serves one domain, so it must name it.
pub(super) fn allowed_hosts(env: &Env) -> Result<AllowedHosts, ConfigError> {
    let required = env.var("IAP_REQUIRED").is_some_and(|v| v.trim() == "true");
    let raw =
        match env.var("ALLOWED_HOSTS") {
            Some(raw) => raw,
            None if required => return Err(ConfigError::new(
                "ALLOWED_HOSTS",
                "",
                "IAP_REQUIRED=true needs the app's domain (run deploy/iap-audience.sh with DOMAIN)",
            )),
            None => LOOPBACK_HOSTS.to_string(),
        };
    if raw.trim() == "*" {
        return Ok(AllowedHosts::Any);
    }
    let names: Vec<String> = raw
        .split(',')
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    let valid = |n: &String| {
        n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
            && host_name(n) == n
    };
    if names.is_empty() || !names.iter().all(valid) {
        return Err(ConfigError::new(
            "ALLOWED_HOSTS",
            raw,
            "expected * or host names (no scheme or port) separated by commas",
        ));
    }
    Ok(AllowedHosts::Names(names))
}

/// How long a client may take: its request headers, then its whole body (a post with files
/// has longer, since it may be 20 MB from a phone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadTimeouts {
    pub headers: Duration,
    pub body: Duration,
    pub upload: Duration,
}

pub(super) fn read_timeouts(env: &Env) -> Result<ReadTimeouts, ConfigError> {
    Ok(ReadTimeouts {
        headers: env.secs("HEADER_READ_TIMEOUT_SECS", 10.0)?,
        body: env.secs("BODY_READ_TIMEOUT_SECS", 30.0)?,
        upload: env.secs("UPLOAD_READ_TIMEOUT_SECS", 120.0)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(value: Option<&str>) -> Result<AllowedHosts, ConfigError> {
        let lookup = |k: &str| {
            (k == "ALLOWED_HOSTS")
                .then(|| value.map(String::from))
                .flatten()
        };
        allowed_hosts(&Env::new(&lookup))
    }

    #[test]
    fn loopback_names_are_the_default_with_any_port() {
        let allowed = hosts(None).expect("default");
        for host in [
            "localhost:3000",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]:3000",
            "LOCALHOST",
        ] {
            assert!(allowed.allow(host), "{host}");
        }
        for host in [
            "attacker.example",
            "attacker.example:3000",
            "127.0.0.2",
            "localhost.evil",
        ] {
            assert!(!allowed.allow(host), "{host}");
        }
    }

    #[test]
    fn names_and_star_are_read_and_junk_refused() {
        let allowed = hosts(Some("chat.example.com, 10.0.0.5")).expect("names");
        assert!(allowed.allow("chat.example.com"));
        assert!(allowed.allow("10.0.0.5:80"));
        assert!(!allowed.allow("localhost"));
        assert_eq!(hosts(Some("*")).expect("any"), AllowedHosts::Any);
        for junk in [
            "https://chat.example.com",
            "chat.example.com:443",
            "a/b",
            " , ",
        ] {
            assert!(hosts(Some(junk)).is_err(), "{junk}");
        }
    }

    #[test]
    fn the_iap_deployment_must_name_its_domain() {
        let lookup = |k: &str| (k == "IAP_REQUIRED").then(|| "true".to_string());
        let error = allowed_hosts(&Env::new(&lookup)).expect_err("required");
        assert!(error.to_string().contains("ALLOWED_HOSTS"), "{error}");
    }
}
