//! Identity-Aware Proxy. With `IAP_AUDIENCE` set, every request except the probes and
//! `/metrics` (which kubelet and Prometheus reach inside the cluster, without IAP) must carry
//! a valid `x-goog-iap-jwt-assertion`: ES256, issued by `https://cloud.google.com/iap` for this
//! backend's audience, not expired, signed by one of IAP's published keys. Anything else gets a
//! 401 page and never reaches the app. The load balancer already enforces IAP; checking here
//! too means a request that reaches the pod some other way is not trusted.

use app::session::{OwnerId, VerifiedUser};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
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
}

struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    /// Last successful fetch.
    fetched: Option<Instant>,
    /// Last attempt, successful or not: what the refresh throttle counts from.
    attempted: Option<Instant>,
}

pub struct IapVerifier {
    audience: String,
    jwks_url: String,
    client: reqwest::Client,
    cache: RwLock<KeyCache>,
    refreshing: tokio::sync::Mutex<()>,
}

impl IapVerifier {
    pub fn new(audience: String, jwks_url: String, client: reqwest::Client) -> IapVerifier {
        IapVerifier {
            audience,
            jwks_url,
            client,
            cache: RwLock::new(KeyCache {
                keys: HashMap::new(),
                fetched: None,
                attempted: None,
            }),
            refreshing: tokio::sync::Mutex::new(()),
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
        Ok(VerifiedUser {
            owner: owner_for(&claims.sub),
            email: claims.email,
        })
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, IapError> {
        if let Some(key) = self.cached(kid, KEYS_MAX_AGE) {
            return Ok(key);
        }
        let _one_at_a_time = self.refreshing.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(key) = self.cached(kid, KEYS_MAX_AGE) {
            return Ok(key);
        }
        let recently = self
            .read_cache()
            .attempted
            .is_some_and(|t| t.elapsed() < MIN_REFRESH_INTERVAL);
        let refreshed = if recently {
            Ok(())
        } else {
            self.refresh().await
        };
        // If Google's key list is unreachable, the keys already known keep signed-in people
        // working; only a key never seen is refused.
        match (self.cached(kid, Duration::MAX), refreshed) {
            (Some(key), _) => Ok(key),
            (None, Err(e)) => Err(e),
            (None, Ok(())) => Err(IapError::UnknownKey(kid.to_string())),
        }
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, KeyCache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, kid: &str, max_age: Duration) -> Option<DecodingKey> {
        let cache = self.read_cache();
        let fresh = cache.fetched.is_some_and(|t| t.elapsed() < max_age);
        fresh.then(|| cache.keys.get(kid).cloned()).flatten()
    }

    async fn refresh(&self) -> Result<(), IapError> {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .attempted = Some(Instant::now());
        let keys = async {
            let set: JwkSet = self
                .client
                .get(&self.jwks_url)
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

/// IAP's subject (`accounts.google.com:1234…`) is stable for a person; hashing it gives an
/// owner id of the usual form without storing the raw subject.
pub fn owner_for(subject: &str) -> OwnerId {
    OwnerId::from_digest(&Sha256::digest(format!("iap:{subject}").as_bytes()).into())
}

/// The middleware: admits a request with a valid assertion, recording who it is.
pub async fn require(
    State(verifier): State<Arc<IapVerifier>>,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics") {
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
        Err(e) => {
            tracing::warn!(error = %e, "request refused: no valid IAP identity");
            unauthorized()
        }
    }
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

    #[test]
    fn one_subject_one_owner() {
        let a = owner_for("accounts.google.com:111");
        assert_eq!(a, owner_for("accounts.google.com:111"));
        assert_ne!(a, owner_for("accounts.google.com:222"));
        assert_eq!(a.as_str().len(), 64);
    }

    #[tokio::test]
    async fn garbage_and_unsigned_tokens_are_refused_before_any_key_lookup() {
        // An unreachable key URL: none of these may need it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let v = IapVerifier::new(
            "/projects/1/global/backendServices/2".into(),
            "http://127.0.0.1:9/keys".into(),
            reqwest::Client::new(),
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
