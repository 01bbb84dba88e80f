//! Identity-Aware Proxy. With `IAP_AUDIENCE` set, every request except the probes and
//! `/metrics` (which kubelet and Prometheus reach inside the cluster, without IAP) must carry
//! a valid `x-goog-iap-jwt-assertion`: ES256, issued by `https://cloud.google.com/iap` for this
//! backend's audience, not expired, signed by one of IAP's published keys. Anything else gets a
//! 401 page and never reaches the app. The load balancer already enforces IAP; checking here
//! too means a request that reaches the pod some other way is not trusted.

use app::session::{OwnerKey, VerifiedUser};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;

pub const HEADER: &str = "x-goog-iap-jwt-assertion";
pub const ISSUER: &str = "https://cloud.google.com/iap";
pub const GOOGLE_JWKS_URL: &str = "https://www.gstatic.com/iap/verify/public_key-jwk";

/// IAP rotates its keys slowly; a day-old set is still good, and a token with an unknown key
/// id triggers a refresh at once.
const KEYS_MAX_AGE: Duration = Duration::from_secs(6 * 3600);
/// A flood of tokens naming unknown keys must not become a flood of requests to Google.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Error, PartialEq)]
pub enum IapError {
    #[error("no IAP assertion header")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("algorithm {0:?} is not ES256")]
    WrongAlgorithm(Algorithm),
    #[error("no IAP key with id {0:?}")]
    UnknownKey(String),
    #[error("token rejected: {0}")]
    Rejected(String),
    #[error("cannot fetch IAP's keys: {0}")]
    Keys(String),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: String,
    iat: u64,
}

/// How far in the future `iat` may be: clock skew between Google and this pod.
const IAT_LEEWAY_SECS: u64 = 60;
/// How long a request with an unknown key id waits for the refresh it asked for.
const UNKNOWN_KEY_WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    /// Last successful fetch.
    fetched: Option<Instant>,
    /// Last attempt, successful or not: what the refresh throttle counts from.
    attempted: Option<Instant>,
}

/// Checks IAP's signed header. Known keys are served from memory without waiting on anything;
/// one background task fetches the key list (at start, when it is old, and when a token names
/// a key id not in it, throttled), so an outage of the key list never stalls a request.
pub struct IapVerifier {
    audience: String,
    /// Derives signed-in people's owner ids (`IDENTITY_KEY`, else `OWNER_KEY`).
    identity_key: OwnerKey,
    cache: RwLock<KeyCache>,
    /// Asks the background task for a refresh.
    wanted: tokio::sync::Notify,
    /// Counts finished refresh attempts, so a waiting request knows one has happened.
    attempts: tokio::sync::watch::Sender<u64>,
}

impl IapVerifier {
    /// Builds the verifier and starts its key-refresh task.
    pub fn start(
        audience: String,
        jwks_url: String,
        client: reqwest::Client,
        identity_key: OwnerKey,
    ) -> Arc<IapVerifier> {
        let verifier = Arc::new(IapVerifier::new(audience, identity_key));
        let task = Arc::downgrade(&verifier);
        tokio::spawn(async move {
            loop {
                let Some(v) = task.upgrade() else { return };
                let last_attempt = v.read_cache().attempted;
                if last_attempt.is_some() {
                    // Wait to be asked, or until the keys grow old.
                    let _ = tokio::time::timeout(KEYS_MAX_AGE, v.wanted.notified()).await;
                }
                // A flood of unknown key ids is one fetch per interval, failed attempts included.
                if let Some(t) = last_attempt {
                    if let Some(rest) = MIN_REFRESH_INTERVAL.checked_sub(t.elapsed()) {
                        tokio::time::sleep(rest).await;
                    }
                }
                let _ = v.refresh(&client, &jwks_url).await;
                v.attempts.send_modify(|n| *n += 1);
            }
        });
        verifier
    }

    fn new(audience: String, identity_key: OwnerKey) -> IapVerifier {
        IapVerifier {
            audience,
            identity_key,
            cache: RwLock::new(KeyCache::default()),
            wanted: tokio::sync::Notify::new(),
            attempts: tokio::sync::watch::channel(0).0,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedUser, IapError> {
        let header = decode_header(token).map_err(|e| IapError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::ES256 {
            return Err(IapError::WrongAlgorithm(header.alg));
        }
        let kid = header
            .kid
            .ok_or_else(|| IapError::Malformed("no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
        let claims = decode::<Claims>(token, &key, &validation)
            .map_err(|e| IapError::Rejected(e.to_string()))?
            .claims;
        // jsonwebtoken checks `exp` but not `iat`; Google's test cases include a token issued
        // in the future (FUTURE_ISSUE), which must be refused.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        if claims.iat > now + IAT_LEEWAY_SECS {
            return Err(IapError::Rejected("issued in the future".into()));
        }
        Ok(VerifiedUser {
            owner: self.identity_key.person(&claims.sub),
            email: claims.email,
        })
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, IapError> {
        // Known keys are served as they are, even old ones while the list is unreachable; an
        // old list only asks the background task for a fresh one.
        let (known, stale) = {
            let cache = self.read_cache();
            (
                cache.keys.get(kid).cloned(),
                cache.fetched.is_none_or(|t| t.elapsed() >= KEYS_MAX_AGE),
            )
        };
        if stale {
            self.wanted.notify_one();
        }
        if let Some(key) = known {
            return Ok(key);
        }
        // A key id never seen: ask for a refresh and wait (bounded) for it, unless one was
        // tried moments ago (then the answer stands until the throttle allows another).
        let (recently, never_fetched) = {
            let cache = self.read_cache();
            (
                cache
                    .attempted
                    .is_some_and(|t| t.elapsed() < MIN_REFRESH_INTERVAL),
                cache.fetched.is_none(),
            )
        };
        if !recently || never_fetched {
            let mut attempts = self.attempts.subscribe();
            let seen = *attempts.borrow_and_update();
            self.wanted.notify_one();
            let _ = tokio::time::timeout(UNKNOWN_KEY_WAIT, attempts.wait_for(|n| *n > seen)).await;
        }
        let cache = self.read_cache();
        match cache.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            // No usable key at all: nobody can be checked, which is an outage, not a refusal.
            None if cache.keys.is_empty() => Err(IapError::Keys("no IAP keys available".into())),
            None => Err(IapError::UnknownKey(kid.to_string())),
        }
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, KeyCache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    async fn refresh(&self, client: &reqwest::Client, url: &str) -> Result<(), IapError> {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .attempted = Some(Instant::now());
        let keys = async {
            let set: JwkSet = client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok::<_, reqwest::Error>(set)
        }
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not fetch IAP's keys");
            IapError::Keys(e.to_string())
        })?;
        let keys: HashMap<String, DecodingKey> = keys
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        tracing::info!(keys = keys.len(), "IAP keys fetched");
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.keys = keys;
        cache.fetched = Some(Instant::now());
        Ok(())
    }
}

/// The middleware: admits a request with a valid assertion, recording who it is.
pub async fn require(
    State(verifier): State<Arc<IapVerifier>>,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    if matches!(
        req.uri().path(),
        "/healthz" | "/readyz" | "/healthz/store" | "/metrics"
    ) {
        return next.run(req).await;
    }
    let token = req.headers().get(HEADER).and_then(|v| v.to_str().ok());
    let verified = match token {
        None => Err(IapError::Missing),
        Some(token) => verifier.verify(token).await,
    };
    match verified {
        Ok(user) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        Err(e @ IapError::Keys(_)) => {
            tracing::error!(error = %e, "cannot check IAP identities: no keys");
            unavailable()
        }
        Err(e) => {
            tracing::warn!(error = %e, "request refused: no valid IAP identity");
            unauthorized()
        }
    }
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::RETRY_AFTER, "30"),
        ],
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Try again shortly</title></head>\
         <body><h1>Try again shortly</h1><p>Sign-ins cannot be checked right now. Please try again \
         in a minute.</p></body></html>",
    )
        .into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in required</title></head>\
         <body><h1>Sign-in required</h1><p>This chat is only for people signed in through the \
         organisation's Identity-Aware Proxy. Open it through its usual address to sign in.</p></body></html>",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn garbage_and_unsigned_tokens_are_refused_before_any_key_lookup() {
        // An unreachable key URL: none of these may need it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let v = IapVerifier::new(
            "/projects/1/global/backendServices/2".into(),
            OwnerKey::generate(),
        );
        assert!(matches!(
            v.verify("not a token").await,
            Err(IapError::Malformed(_))
        ));
        // {"alg":"none","typ":"JWT"} . {"sub":"x"} . (no signature)
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
        assert!(matches!(v.verify(none).await, Err(IapError::Malformed(_))));
        // {"alg":"HS256","typ":"JWT","kid":"k"}: a shared-secret token must not be accepted.
        let hs = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(
            v.verify(hs).await.err(),
            Some(IapError::WrongAlgorithm(Algorithm::HS256))
        );
    }
}
