//! Passwords, hashed with argon2id (default parameters) on the blocking pool: a hash takes tens of milliseconds
//! of CPU and must not stall the async workers.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::AuthError;
use crate::domain::NewPassword;

/// Hashes a new password into a PHC string.
pub async fn hash(password: &NewPassword) -> Result<String, AuthError> {
    let pw = password.expose().to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Hash(e.to_string()))
    })
    .await?
}

/// Whether `password` matches `stored`. With `stored = None` (no such account) a dummy hash is checked all the
/// same, so an unknown email takes as long to refuse as a wrong password.
pub async fn verify(password: &str, stored: Option<String>) -> Result<bool, AuthError> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return Ok(false);
        };
        let ok = Argon2::default()
            .verify_password(pw.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await?
}

/// An argon2id hash of a random string nobody knows, with the default parameters, for timing equality.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Cq4+g4tDNmp1lOqXbZ4+bQ3w1x1GfnvaAaqUUFx0bS4";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let pw = NewPassword::parse("correct horse battery").unwrap();
        let h = hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse battery", Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("anything at all", None).await.unwrap());
    }
}
