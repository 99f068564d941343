//! Per-run secrets (a lab's `secrets = ["JWT_SECRET"]`), keyed by the server as well as the run's seed.
//!
//! The seed is no secret: the service gets it as `GAUNTLET_SEED`, checks may send it, and the API shows it. A
//! secret computed from the seed alone could be computed by the learner, and a service could then accept tokens
//! it should refuse. So each secret is an HMAC-SHA256, under a key only the server holds, of the seed and the
//! variable's name: the same server re-grading with the same seed gets the same secrets, anyone else gets
//! nothing from the seed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key per-run secrets are derived under. Its `Debug` hides it.
#[derive(Clone)]
pub struct RunSecrets {
    key: [u8; 32],
}

impl RunSecrets {
    /// The server's key, derived from its signing key (`DATA_DIR/secret.key`) with its own label, so the cookie
    /// key is never used as is for another purpose.
    pub fn from_server_key(master: &[u8]) -> RunSecrets {
        RunSecrets {
            key: hmac(master, b"gauntlet run secrets v1"),
        }
    }

    /// A key of this process only, for graders that have no server key: secrets are then stable within one
    /// process and unknowable outside it.
    pub fn ephemeral() -> RunSecrets {
        RunSecrets {
            key: rand::random(),
        }
    }

    /// The value of the secret `name` for the run seeded with `seed`.
    pub fn derive(&self, seed: u64, name: &str) -> String {
        let mut message = seed.to_be_bytes().to_vec();
        message.extend_from_slice(name.as_bytes());
        hex::encode(hmac(&self.key, &message))
    }
}

impl std::fmt::Debug for RunSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunSecrets(***)")
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; the fallback only satisfies the type.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_and_seed_give_the_same_secret() {
        let a = RunSecrets::from_server_key(&[7; 64]);
        let b = RunSecrets::from_server_key(&[7; 64]);
        assert_eq!(a.derive(42, "JWT_SECRET"), b.derive(42, "JWT_SECRET"));
        assert_eq!(a.derive(42, "JWT_SECRET").len(), 64);
    }

    #[test]
    fn another_key_seed_or_name_gives_another_secret() {
        let a = RunSecrets::from_server_key(&[7; 64]);
        let b = RunSecrets::from_server_key(&[8; 64]);
        assert_ne!(a.derive(42, "JWT_SECRET"), b.derive(42, "JWT_SECRET"));
        assert_ne!(a.derive(42, "JWT_SECRET"), a.derive(43, "JWT_SECRET"));
        assert_ne!(a.derive(42, "JWT_SECRET"), a.derive(42, "API_KEY"));
    }

    #[test]
    fn the_secret_is_not_the_seed_only_derivation_of_before() {
        use sha2::Digest;
        let old = hex::encode(Sha256::digest(b"gauntlet run secret 42 JWT_SECRET"));
        let secrets = RunSecrets::from_server_key(&[7; 64]);
        assert_ne!(secrets.derive(42, "JWT_SECRET"), old);
        assert!(!format!("{secrets:?}").contains('7'));
    }
}
