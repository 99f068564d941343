//! HS256 tokens minted with the run's secret, and the forgeries a correct verifier must refuse.
//!
//! Signing is HMAC-SHA-256 (and SHA-384 for the wrong-algorithm forgery) over base64url JSON, written here
//! rather than taken from a JWT crate: a forger must produce exactly the broken tokens a library refuses to make.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Sha256, Sha384};

use super::TokenSpec;

/// Attacks on token verification, each of which must be answered 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forgery {
    AlgNone,
    WrongKey,
    OtherAlg,
    Expired,
    NotYetValid,
    NoExpiry,
    Tampered,
    WrongAudience,
    WrongIssuer,
}

impl Forgery {
    pub const ALL: [Forgery; 9] = [
        Forgery::AlgNone,
        Forgery::WrongKey,
        Forgery::OtherAlg,
        Forgery::Expired,
        Forgery::NotYetValid,
        Forgery::NoExpiry,
        Forgery::Tampered,
        Forgery::WrongAudience,
        Forgery::WrongIssuer,
    ];

    /// Whether the forgery tests something `spec` asks of the service: a wrong `aud` or `iss` only when the
    /// check names the audience or issuer the service must insist on.
    pub fn applies(self, spec: &TokenSpec) -> bool {
        match self {
            Forgery::WrongAudience => spec.audience.is_some(),
            Forgery::WrongIssuer => spec.issuer.is_some(),
            _ => true,
        }
    }

    /// What got through, in the learner's terms: the class of attack, never the token.
    pub fn accepted(self) -> &'static str {
        match self {
            Forgery::AlgNone => "an unsigned token (algorithm \"none\") was accepted",
            Forgery::WrongKey => "a token signed with a different key was accepted",
            Forgery::OtherAlg => "a token using an algorithm other than HS256 was accepted",
            Forgery::Expired => "an expired token was accepted",
            Forgery::NotYetValid => {
                "a token that is not valid yet (nbf in the future) was accepted"
            }
            Forgery::NoExpiry => "a token without an expiry was accepted",
            Forgery::Tampered => "a token whose claims were changed after signing was accepted",
            Forgery::WrongAudience => "a token for a different audience was accepted",
            Forgery::WrongIssuer => "a token from a different issuer was accepted",
        }
    }
}

/// Seconds since the epoch; tokens are judged by the service's clock, so they must use real time.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The claims of a valid token for `spec`, with a random `jti` from the probe's seeded generator.
pub(super) fn claims(spec: &TokenSpec, rng: &mut impl Rng) -> Value {
    let iat = now();
    let ttl = i64::try_from(spec.ttl_secs).unwrap_or(3600);
    let mut c = json!({
        "sub": spec.subject,
        "iat": iat,
        "exp": iat + ttl,
        "jti": format!("{:016x}", rng.gen::<u64>()),
    });
    if let Some(iss) = &spec.issuer {
        c["iss"] = json!(iss);
    }
    if let Some(aud) = &spec.audience {
        c["aud"] = json!(aud);
    }
    c[spec.role_claim.as_str()] = json!(spec.role);
    c
}

/// A correctly signed HS256 token for `spec`.
pub(super) fn valid(spec: &TokenSpec, secret: &str, rng: &mut impl Rng) -> String {
    sign("HS256", secret.as_bytes(), &claims(spec, rng))
}

/// The token of one forgery; only `WrongKey` differs per seed beyond the `jti`.
pub(super) fn forge(f: Forgery, spec: &TokenSpec, secret: &str, rng: &mut impl Rng) -> String {
    let mut c = claims(spec, rng);
    let key = secret.as_bytes();
    let t = now();
    match f {
        Forgery::AlgNone => format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&c)
        ),
        Forgery::WrongKey => {
            let other: [u8; 32] = rng.gen();
            sign("HS256", &other, &c)
        }
        Forgery::OtherAlg => sign("HS384", key, &c),
        Forgery::Expired => {
            c["iat"] = json!(t - 7200);
            c["exp"] = json!(t - 3600);
            sign("HS256", key, &c)
        }
        Forgery::NotYetValid => {
            c["nbf"] = json!(t + 3600);
            c["exp"] = json!(t + 7200);
            sign("HS256", key, &c)
        }
        Forgery::NoExpiry => {
            if let Some(o) = c.as_object_mut() {
                o.remove("exp");
            }
            sign("HS256", key, &c)
        }
        Forgery::Tampered => {
            let signed = sign("HS256", key, &c);
            let raised = if spec.role == "admin" {
                "root"
            } else {
                "admin"
            };
            c[spec.role_claim.as_str()] = json!(raised);
            c["sub"] = json!(format!("{}-other", spec.subject));
            let mut parts = signed.split('.');
            let header = parts.next().unwrap_or_default();
            let signature = parts.nth(1).unwrap_or_default();
            format!("{header}.{}.{signature}", b64(&c))
        }
        Forgery::WrongAudience => {
            c["aud"] = json!(format!(
                "{}-other",
                spec.audience.as_deref().unwrap_or("api")
            ));
            sign("HS256", key, &c)
        }
        Forgery::WrongIssuer => {
            c["iss"] = json!(format!(
                "{}-other",
                spec.issuer.as_deref().unwrap_or("issuer")
            ));
            sign("HS256", key, &c)
        }
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// `header.payload.signature` with HMAC under `alg` (HS256 or HS384).
fn sign(alg: &str, key: &[u8], claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(&json!({"alg": alg, "typ": "JWT"})),
        b64(claims)
    );
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; an empty signature would only make the
    // token be refused, never accepted.
    let mac = if alg == "HS384" {
        Hmac::<Sha384>::new_from_slice(key)
            .map(|mut m| {
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default()
    } else {
        Hmac::<Sha256>::new_from_slice(key)
            .map(|mut m| {
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default()
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn spec() -> TokenSpec {
        TokenSpec {
            secret_env: "S".into(),
            issuer: Some("iss".into()),
            audience: Some("aud".into()),
            subject: "alice".into(),
            role_claim: "role".into(),
            role: "user".into(),
            ttl_secs: 600,
        }
    }

    #[test]
    fn a_token_has_three_base64url_parts_and_an_hs256_header() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let token = valid(&spec(), "secret", &mut rng);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD.decode(parts[0]).expect("base64url header");
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn without_issuer_and_audience_tokens_carry_neither_and_their_forgeries_are_skipped() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let bare = TokenSpec {
            issuer: None,
            audience: None,
            ..spec()
        };
        let c = claims(&bare, &mut rng);
        assert!(c.get("iss").is_none() && c.get("aud").is_none(), "{c}");
        assert_eq!(c["sub"], "alice");
        let c = claims(&spec(), &mut rng);
        assert_eq!(
            (c["iss"].as_str(), c["aud"].as_str()),
            (Some("iss"), Some("aud"))
        );
        assert!(!Forgery::WrongAudience.applies(&bare) && !Forgery::WrongIssuer.applies(&bare));
        assert!(Forgery::WrongAudience.applies(&spec()) && Forgery::AlgNone.applies(&bare));
    }

    #[test]
    fn every_forgery_differs_from_the_valid_token() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let ok = valid(&spec(), "secret", &mut rng);
        for f in Forgery::ALL {
            assert_ne!(forge(f, &spec(), "secret", &mut rng), ok, "{f:?}");
        }
    }
}
