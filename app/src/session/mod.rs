//! Who owns which chats, and the ids that name them.
//!
//! A chat is named by its address, `/c/{id}`: 256 random bits, hex-encoded, checked against the
//! owner on every request. The owner is a signed-in person (Identity-Aware Proxy) or else the
//! browser, which the server issues an owner id in a cookie signed with its [`OwnerKey`]:
//! issued on a page load (never on a POST), renewed on every page load, and worth nothing
//! unless the signature checks out. Anything else in a cookie (forged, truncated, unsigned,
//! garbage) is no owner at all.

use crate::params::{Settings, SETTINGS_COOKIE};
use hmac::{Hmac, KeyInit, Mac};
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::HeaderValue;
use sha2::Sha256;
use std::fmt;

/// The browser's signed owner id, over plain HTTP (a laptop, the codelab's LoadBalancer).
pub const OWNER_COOKIE: &str = "hc_owner";
/// The same over HTTPS: the `__Host-` prefix makes the browser refuse it unless it is Secure,
/// for this host only and for every path, so no sibling domain can plant one.
pub const OWNER_COOKIE_HTTPS: &str = "__Host-hc_owner";
const ID_BYTES: usize = 32;
/// Bytes of the HMAC kept in the cookie: 128 bits is beyond guessing.
const TAG_BYTES: usize = 16;
const ONE_YEAR_SECS: u32 = 365 * 24 * 3600;
/// Chromium caps a cookie's lifetime at 400 days; renewed on every page load, so an owner lasts
/// as long as the browser keeps coming back.
const OWNER_MAX_AGE_SECS: u32 = 400 * 24 * 3600;

/// Lower-case hex, the form every id here takes.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from lower- or upper-case hex; `None` unless every pair is hex.
fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnerId({}…)", &self.0[..8])
    }
}

/// A server secret (HMAC-SHA256): `OWNER_KEY`, which signs owner cookies, or `IDENTITY_KEY`,
/// which derives signed-in people's owner ids. An owner-cookie key may carry the key it
/// replaced (`OWNER_KEY_PREVIOUS`), whose cookies are still accepted.
#[derive(Clone)]
pub struct OwnerKey {
    key: [u8; ID_BYTES],
    previous: Option<[u8; ID_BYTES]>,
}

/// HMAC over `domain` and `data`: the domain keeps a cookie tag from ever equalling a person's
/// id, or the other way round.
fn mac_with(key: &[u8; ID_BYTES], domain: &str, data: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length; 32 bytes cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC key");
    mac.update(domain.as_bytes());
    mac.update(b"\0");
    mac.update(data.as_bytes());
    mac
}

impl OwnerKey {
    pub fn new(bytes: [u8; ID_BYTES]) -> OwnerKey {
        OwnerKey {
            key: bytes,
            previous: None,
        }
    }

    pub fn generate() -> OwnerKey {
        let mut bytes = [0u8; ID_BYTES];
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("operating system random number generator failed");
        OwnerKey::new(bytes)
    }

    /// 64 hex digits, as `OWNER_KEY` holds it.
    pub fn from_hex(s: &str) -> Option<OwnerKey> {
        from_hex(s.trim())?.try_into().ok().map(OwnerKey::new)
    }

    pub fn to_hex(&self) -> String {
        to_hex(&self.key)
    }

    /// This key, still accepting cookies `previous` signed (a rotation: they are signed again
    /// with this key at the next page load).
    pub fn with_previous(self, previous: Option<&OwnerKey>) -> OwnerKey {
        OwnerKey {
            previous: previous.map(|p| p.key),
            ..self
        }
    }

    fn mac(&self, domain: &str, data: &str) -> Hmac<Sha256> {
        mac_with(&self.key, domain, data)
    }

    /// The owner cookie's value: the id and its tag.
    pub fn sign(&self, owner: &OwnerId) -> String {
        let tag = self
            .mac("owner-cookie", owner.as_str())
            .finalize()
            .into_bytes();
        format!("{}.{}", owner.as_str(), to_hex(&tag[..TAG_BYTES]))
    }

    /// The owner a cookie names, if this server signed it with its key or the one before
    /// (compared in constant time).
    pub fn verify(&self, value: &str) -> Option<OwnerId> {
        let (id, tag) = value.split_once('.')?;
        let owner = OwnerId::parse(id)?;
        let tag = from_hex(tag).filter(|t| t.len() == TAG_BYTES)?;
        std::iter::once(&self.key)
            .chain(self.previous.as_ref())
            .any(|key| {
                mac_with(key, "owner-cookie", owner.as_str())
                    .verify_truncated_left(&tag)
                    .is_ok()
            })
            .then_some(owner)
    }

    /// A signed-in person's owner id: keyed, so knowing their (not secret) subject does not
    /// give it away, and no browser cookie can name it.
    pub fn person(&self, subject: &str) -> OwnerId {
        OwnerId(to_hex(&self.mac("person", subject).finalize().into_bytes()))
    }

    /// The chat a new chat's first turn creates: derived from the owner and the turn id, so a
    /// retry of that first send finds the chat it made instead of starting a second one. Keyed,
    /// so nobody can work out another person's chat ids.
    /// A keyed hash of `data` for `purpose` (32 hex digits): stable under this key, and not
    /// undone by hashing every candidate without it.
    pub fn keyed_hash(&self, purpose: &str, data: &str) -> String {
        to_hex(&self.mac(purpose, data).finalize().into_bytes()[..16])
    }

    pub fn chat_for_turn(&self, owner: &OwnerId, turn: &crate::conversation::TurnId) -> SessionId {
        let data = format!("{}/{}", owner.as_str(), turn.as_str());
        SessionId(to_hex(
            &self.mac("first-turn", &data).finalize().into_bytes(),
        ))
    }
}

impl fmt::Debug for OwnerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerKey(***)")
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

/// The visitor's address as the server determined it (the connection's, or the one the load
/// balancer reports, per configuration).
#[derive(Clone, Copy, Debug)]
pub struct PeerIp(pub std::net::IpAddr);

/// The address key limits count against: an IPv4 address, or an IPv6 /64 (one subscriber's
/// network: a client there can pick any of 2^64 addresses).
pub fn address_key(parts: &Parts) -> String {
    match parts.extensions.get::<PeerIp>() {
        Some(PeerIp(std::net::IpAddr::V4(ip))) => format!("ip:{ip}"),
        Some(PeerIp(std::net::IpAddr::V6(ip))) => match ip.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = ip.segments();
                format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "ip:unknown".into(),
    }
}

/// Whom per-visitor limits count against; a turn must pass each. A signed-in person is a known
/// identity and counts alone: colleagues behind one office NAT do not spend each other's
/// allowance, and one of them cannot lock the rest out. An anonymous browser counts as its
/// (signed) owner and its address, so neither new cookies nor a new address resets a limit.
pub fn visitor_keys(parts: &Parts, key: &OwnerKey) -> Vec<String> {
    if let Some(user) = parts.extensions.get::<VerifiedUser>() {
        return vec![format!("user:{}", user.owner.as_str())];
    }
    let mut keys = Vec::with_capacity(2);
    if let Some(owner) = owner_from(parts, key) {
        keys.push(format!("browser:{}", owner.as_str()));
    }
    keys.push(address_key(parts));
    keys
}

/// Who owns the visitor's chats: the signed-in person if there is one, else the browser whose
/// owner cookie this server signed. A forged or unsigned cookie is no owner.
pub fn owner_from(parts: &Parts, key: &OwnerKey) -> Option<OwnerId> {
    if let Some(user) = parts.extensions.get::<VerifiedUser>() {
        return Some(user.owner.clone());
    }
    let name = if is_https(parts) {
        OWNER_COOKIE_HTTPS
    } else {
        OWNER_COOKIE
    };
    cookie(parts, name).and_then(|v| key.verify(v))
}

/// Sets (or renews) the browser's signed owner cookie.
pub fn owner_cookie(id: &OwnerId, key: &OwnerKey, secure: bool) -> (http::HeaderName, HeaderValue) {
    let name = if secure {
        OWNER_COOKIE_HTTPS
    } else {
        OWNER_COOKIE
    };
    (
        SET_COOKIE,
        set_cookie(name, &key.sign(id), OWNER_MAX_AGE_SECS, true, secure),
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

pub fn settings_from(parts: &Parts) -> Settings {
    cookie(parts, SETTINGS_COOKIE)
        .and_then(Settings::from_cookie_value)
        .unwrap_or_default()
}

/// Whether the visitor reached us over HTTPS, directly or through the load balancer.
pub fn is_https(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https") || forwarded_https(&parts.headers)
}

/// Whether the load balancer says the visitor used HTTPS (`X-Forwarded-Proto`).
pub fn forwarded_https(headers: &http::HeaderMap) -> bool {
    headers
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
mod tests;
