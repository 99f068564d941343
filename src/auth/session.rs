//! Session tokens: random, sent to the browser in a signed HTTP-only cookie, stored only as a SHA-256 hash.

use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "gauntlet_session";

/// How long a session lasts without signing in again: 14 days.
pub const TTL_MS: i64 = 14 * 24 * 60 * 60 * 1000;

/// A fresh session token (256 bits).
pub fn new_token() -> String {
    super::random_token(32)
}

/// What the database keeps of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
