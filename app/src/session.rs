//! The chat session cookie: a random, unguessable id, HttpOnly and SameSite=Lax.
//!
//! Ids are 256 random bits, hex-encoded. Anything else in the cookie (forged, truncated,
//! garbage) is ignored and the visitor simply gets a fresh session.

use crate::params::{Settings, SETTINGS_COOKIE};
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::HeaderValue;
use std::fmt;

pub const SESSION_COOKIE: &str = "hc_session";
/// The browser's owner id: every session it creates belongs to it.
pub const OWNER_COOKIE: &str = "hc_owner";
const ID_BYTES: usize = 32;
const ONE_YEAR_SECS: u32 = 365 * 24 * 3600;

/// Lower-case hex, the form every id here takes.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn generate() -> SessionId {
        let mut bytes = [0u8; ID_BYTES];
        // The OS RNG failing means the machine is unusable; there is no safe fallback id.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("operating system random number generator failed");
        SessionId(to_hex(&bytes))
    }

    /// Accepts only what [`SessionId::generate`] produces.
    pub fn parse(s: &str) -> Option<SessionId> {
        let well_formed = s.len() == ID_BYTES * 2
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| SessionId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never print a whole session id: it is a bearer credential.
impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", &self.0[..8])
    }
}

/// Who owns sessions: a signed-in user, or else the browser (a random id in its own HttpOnly
/// cookie). Same format and checks as [`SessionId`], never interchangeable with it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OwnerId(String);

impl OwnerId {
    pub fn generate() -> OwnerId {
        OwnerId(SessionId::generate().0)
    }

    pub fn parse(s: &str) -> Option<OwnerId> {
        SessionId::parse(s).map(|id| OwnerId(id.0))
    }

    /// An owner named by a 256-bit digest (of a signed-in person's subject).
    pub fn from_digest(digest: &[u8; ID_BYTES]) -> OwnerId {
        OwnerId(to_hex(digest))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnerId({}…)", &self.0[..8])
    }
}

/// A person signed in through Identity-Aware Proxy, put in the request's extensions by the
/// server once their IAP token checks out.
#[derive(Clone, Debug)]
pub struct VerifiedUser {
    /// Derived from IAP's stable subject, so the same person owns the same sessions in any
    /// browser.
    pub owner: OwnerId,
    pub email: String,
}

/// The address the request came from (the load balancer's, behind a proxy that hides it).
#[derive(Clone, Copy, Debug)]
pub struct PeerIp(pub std::net::IpAddr);

/// Whom per-visitor limits count against: the signed-in user; else the browser, if it sent its
/// owner cookie; else its address, so dropping cookies does not reset a limit.
pub fn visitor_key(parts: &Parts) -> String {
    if let Some(user) = parts.extensions.get::<VerifiedUser>() {
        return format!("user:{}", user.owner.as_str());
    }
    if let Some(owner) = cookie(parts, OWNER_COOKIE).and_then(OwnerId::parse) {
        return format!("browser:{}", owner.as_str());
    }
    match parts.extensions.get::<PeerIp>() {
        Some(PeerIp(ip)) => format!("ip:{ip}"),
        None => "ip:unknown".into(),
    }
}

/// Who owns the visitor's sessions: the signed-in user if there is one, else the browser.
pub fn owner_from(parts: &Parts) -> Option<OwnerId> {
    if let Some(user) = parts.extensions.get::<VerifiedUser>() {
        return Some(user.owner.clone());
    }
    cookie(parts, OWNER_COOKIE).and_then(OwnerId::parse)
}

pub fn owner_cookie(id: &OwnerId, secure: bool) -> (http::HeaderName, HeaderValue) {
    (
        SET_COOKIE,
        set_cookie(OWNER_COOKIE, id.as_str(), ONE_YEAR_SECS, true, secure),
    )
}

/// The value of the first cookie called `name`, across every Cookie header.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

pub fn session_from(parts: &Parts) -> Option<SessionId> {
    cookie(parts, SESSION_COOKIE).and_then(SessionId::parse)
}

pub fn settings_from(parts: &Parts) -> Settings {
    cookie(parts, SETTINGS_COOKIE)
        .and_then(Settings::from_cookie_value)
        .unwrap_or_default()
}

/// Whether the visitor reached us over HTTPS, directly or through the load balancer.
pub fn is_https(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, max_age: u32, http_only: bool, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Lax");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    // Names and values here are ASCII we generated or validated.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn session_cookie(id: &SessionId, secure: bool) -> (http::HeaderName, HeaderValue) {
    (
        SET_COOKIE,
        set_cookie(SESSION_COOKIE, id.as_str(), ONE_YEAR_SECS, true, secure),
    )
}

pub fn clear_session_cookie(secure: bool) -> (http::HeaderName, HeaderValue) {
    (SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, true, secure))
}

/// The settings cookie is readable by the page's script, which updates it when a slider moves.
pub fn settings_cookie(settings: &Settings, secure: bool) -> (http::HeaderName, HeaderValue) {
    (
        SET_COOKIE,
        set_cookie(
            SETTINGS_COOKIE,
            &settings.to_cookie_value(),
            ONE_YEAR_SECS,
            false,
            secure,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn generated_ids_are_unique_and_parse() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.as_str().len(), 64);
        assert!(
            !format!("{a:?}").contains(&a.as_str()[8..]),
            "Debug must not leak the id"
        );
    }

    #[test]
    fn forged_and_garbage_ids_are_rejected() {
        for bad in [
            "",
            "abc",
            &"g".repeat(64),
            &"A".repeat(64),
            &"a".repeat(65),
            "../../etc/passwd",
        ] {
            assert_eq!(SessionId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_cookies_across_headers_and_ignores_junk() {
        let id = SessionId::generate();
        let p = parts(&[
            ("cookie", "a=1; junk; =x"),
            (
                "cookie",
                &format!("other=2; {SESSION_COOKIE}={}", id.as_str()),
            ),
        ]);
        assert_eq!(session_from(&p), Some(id));
        assert_eq!(session_from(&parts(&[("cookie", "hc_session=zzz")])), None);
        assert_eq!(session_from(&parts(&[])), None);
    }

    #[test]
    fn cookie_flags() {
        let id = SessionId::generate();
        let (_, v) = session_cookie(&id, true);
        let v = v.to_str().expect("ascii");
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Secure"));
        let (_, v) = session_cookie(&id, false);
        assert!(!v.to_str().expect("ascii").contains("Secure"));
        assert!(is_https(&parts(&[("x-forwarded-proto", "https")])));
        assert!(!is_https(&parts(&[])));
    }
}
