//! Personal API tokens, for the CLI. They are bearer secrets like session tokens (and stored the same way, as a
//! SHA-256 hash) with a recognisable prefix, so a token pasted somewhere it should not be is easy to spot.

/// The prefix every API token starts with.
pub const PREFIX: &str = "gnt_";

/// A fresh token: the prefix and 256 random bits.
pub fn new_api_token() -> String {
    format!("{PREFIX}{}", super::random_token(32))
}
