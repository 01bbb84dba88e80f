//! Keys and tokens as Identity-Aware Proxy makes them: a P-256 key pair per run (its public half
//! published by the stand-in's JWKS endpoint) and ES256-signed assertions.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

pub const AUDIENCE: &str = "/projects/123456/global/backendServices/987654";
pub const ISSUER: &str = "https://cloud.google.com/iap";

/// A P-256 key pair made with openssl: PKCS#8 DER for signing, and its public point as a JWK.
pub struct Key {
    pub kid: String,
    pkcs8: Vec<u8>,
    /// The public key as IAP publishes it.
    pub jwk: Value,
}

fn openssl(args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run openssl");
    if let Some(input) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write to openssl");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("openssl output");
    assert!(out.status.success(), "openssl {args:?} failed");
    out.stdout
}

pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

impl Key {
    pub fn generate(kid: &str) -> Key {
        let pem = openssl(
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
            None,
        );
        let pkcs8 = openssl(
            &["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"],
            Some(&pem),
        );
        let spki = openssl(&["pkey", "-pubout", "-outform", "DER"], Some(&pem));
        // An uncompressed P-256 point ends the SubjectPublicKeyInfo: 0x04, X (32), Y (32).
        let point = &spki[spki.len() - 65..];
        assert_eq!(point[0], 4);
        Key {
            kid: kid.into(),
            pkcs8,
            jwk: json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                "x": b64url(&point[1..33]), "y": b64url(&point[33..]),
            }),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).expect("sign")
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Claims IAP would sign for this person, valid for ten minutes.
pub fn claims(email: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": format!("accounts.google.com:{}", email.len() * 1000 + email.as_bytes()[0] as usize),
        "email": email,
        "iat": now(),
        "exp": now() + 600,
    })
}
