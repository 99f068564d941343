//! Who is asking and what they may do: password hashing, sessions, CSRF tokens, invite codes and login rate
//! limits. The web layer calls these; none of them knows about HTTP beyond cookie values.

pub mod account;
pub mod csrf;
pub mod invite;
pub mod login;
pub mod password;
pub mod ratelimit;
pub mod session;
pub mod tokens;

/// What can go wrong in authentication itself (as opposed to a refused login, which is not an error).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Random bytes, URL-safe base64 encoded: the form every token and code takes.
pub(crate) fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
