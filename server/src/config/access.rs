//! Who may use the app and how much: Identity-Aware Proxy, where a visitor's address comes from,
//! and the per-visitor limits.

use super::env::{ConfigError, Env};
pub use crate::limits::LimitsConfig;

/// Set `IAP_AUDIENCE` to require IAP's signed header on every request.
#[derive(Clone, Debug, PartialEq)]
pub struct IapConfig {
    /// `/projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID` (or the Gateway's).
    pub audience: String,
    pub jwks_url: String,
}

/// Where a visitor's address comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIpSource {
    /// The connection's peer: direct, or the public LoadBalancer with
    /// `externalTrafficPolicy: Local` (deploy/public-lb.yaml), which keeps client addresses.
    Peer,
    /// Google's external Application Load Balancer (the IAP Gateway) connects from its own
    /// addresses and appends `<client>, <load balancer>` to `X-Forwarded-For`: the client is
    /// the second entry from the right. Anything a client wrote further left is ignored.
    GoogleLoadBalancer,
}

pub(super) fn client_ip(env: &Env) -> Result<ClientIpSource, ConfigError> {
    env.one_of(
        "CLIENT_IP_SOURCE",
        &[
            ("peer", ClientIpSource::Peer),
            ("google-load-balancer", ClientIpSource::GoogleLoadBalancer),
        ],
        ClientIpSource::Peer,
    )
}

/// `IAP_AUDIENCE` turns IAP on. Set but blank is a mistake (an empty ConfigMap value, say), not
/// "off"; and `IAP_REQUIRED=true` (the `iap` deployment) refuses to start without an audience,
/// so a missing value can never leave the app open behind a misconfigured proxy.
pub(super) fn iap(env: &Env) -> Result<Option<IapConfig>, ConfigError> {
    let required = env.one_of("IAP_REQUIRED", &[("true", true), ("false", false)], false)?;
    let audience = match env.raw("IAP_AUDIENCE") {
        Some(raw) if raw.trim().is_empty() => {
            return Err(ConfigError::new(
                "IAP_AUDIENCE",
                raw,
                "set but blank; unset it to run without IAP, or give the backend service's \
                 audience (deploy/iap-audience.sh)",
            ))
        }
        Some(raw) => raw.trim().to_string(),
        None if required => {
            return Err(ConfigError::new(
                "IAP_AUDIENCE",
                "",
                "IAP_REQUIRED=true needs the backend service's audience \
                 (run deploy/iap-audience.sh)",
            ))
        }
        None => return Ok(None),
    };
    if !audience.starts_with("/projects/") {
        return Err(ConfigError::new(
            "IAP_AUDIENCE",
            audience,
            "expected /projects/NUMBER/global/backendServices/ID",
        ));
    }
    Ok(Some(IapConfig {
        audience,
        jwks_url: env
            .secure_url("IAP_JWKS_URL")?
            .unwrap_or_else(|| crate::iap::GOOGLE_JWKS_URL.into()),
    }))
}

/// Who sees everyone's figures on the Models page (everyone sees their own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Operators {
    /// Nobody: each person sees only their own chats' figures.
    #[default]
    Nobody,
    /// Anyone who can open the app (a laptop, or a deployment whose every user is on the team).
    Everyone,
    /// These people, by the email IAP verified (lower case).
    Emails(Vec<String>),
}

impl Operators {
    /// Whether `email` is on the list by name: who may open anyone's attached files. Never
    /// with `*` (anyone who can open the app): figures are shared there, files stay private.
    pub fn name(&self, email: Option<&str>) -> bool {
        matches!(self, Operators::Emails(_)) && self.include(email)
    }

    /// Whether a visitor signed in as `email` (none without IAP) is an operator.
    pub fn include(&self, email: Option<&str>) -> bool {
        match self {
            Operators::Nobody => false,
            Operators::Everyone => true,
            Operators::Emails(list) => {
                email.is_some_and(|e| list.iter().any(|o| o.eq_ignore_ascii_case(e)))
            }
        }
    }
}

/// `OPERATORS`: `*`, or IAP emails separated by commas. An email list without IAP would name
/// nobody anyone can prove to be, so it is refused.
pub(super) fn operators(env: &Env, iap: bool) -> Result<Operators, ConfigError> {
    let Some(raw) = env.var("OPERATORS") else {
        return Ok(Operators::Nobody);
    };
    if raw.trim() == "*" {
        return Ok(Operators::Everyone);
    }
    let emails: Vec<String> = raw
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    if emails.iter().any(|e| !e.contains('@')) {
        return Err(ConfigError::new(
            "OPERATORS",
            raw,
            "expected * or emails separated by commas",
        ));
    }
    if !iap {
        return Err(ConfigError::new(
            "OPERATORS",
            raw,
            "emails need IAP (IAP_AUDIENCE) to verify who is asking; use * without IAP",
        ));
    }
    Ok(Operators::Emails(emails))
}

pub(super) fn limits(env: &Env) -> Result<LimitsConfig, ConfigError> {
    let small = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(LimitsConfig {
        turns: match env.optional_count("TURNS_PER_WINDOW")? {
            Some(n) => Some((small(n), env.secs("TURN_WINDOW_SECS", 60.0)?)),
            None => None,
        },
        tokens_per_day: env.optional_count("TOKENS_PER_DAY")?.map(|n| n as u64),
        new_owners_per_hour: env.optional_count("NEW_OWNERS_PER_HOUR")?.map(small),
        chats_per_hour: env.optional_count("CHATS_PER_HOUR")?.map(small),
        address_multiplier: small(env.count("ADDRESS_LIMIT_MULTIPLIER", 4)?),
    })
}
