//! Passwords after sign-up: a person changing their own (the current one required), an admin issuing a
//! one-time reset code, and a code redeemed for a new password. The rules, apart from HTTP, shared by the web
//! pages and the command line.

use super::{password, session, AuthError};
use crate::domain::NewPassword;
use crate::store::{Actor, Redeemed, Store, StoreError};

/// How long a reset code works: a day, time enough to pass it on by hand.
pub const RESET_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Why a password was not changed: what the form says, or what went wrong inside.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Something the person can fix; the message says what.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// The new password twice, parsed; the message names what is wrong.
fn new_password(new: &str, again: &str) -> Result<NewPassword, PasswordError> {
    let pw = NewPassword::parse(new).map_err(|e| PasswordError::Invalid(e.to_string()))?;
    if new != again {
        return Err(PasswordError::Invalid(
            "The two new passwords are not the same.".to_string(),
        ));
    }
    Ok(pw)
}

/// Changes the signed-in person's password when `current` is right; every other session of theirs ends, the one
/// asking (`session_hash`) stays.
pub async fn change_own(
    store: &Store,
    user_id: i64,
    session_hash: &str,
    current: &str,
    new: &str,
    again: &str,
) -> Result<(), PasswordError> {
    let user = store
        .user_by_id(user_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !password::verify(current, Some(user.password_hash.clone())).await? {
        return Err(PasswordError::Invalid(
            "Your current password is not right.".to_string(),
        ));
    }
    let pw = new_password(new, again)?;
    let hash = password::hash(&pw).await?;
    store
        .set_password(
            &Actor::user(user.id, &user.email),
            user.id,
            &hash,
            Some(session_hash),
        )
        .await?;
    Ok(())
}

/// A fresh reset code for `user_id`, stored hashed; the code itself is returned to be shown once.
pub async fn issue_reset(store: &Store, actor: &Actor, user_id: i64) -> Result<String, StoreError> {
    let code = super::random_token(18);
    store
        .issue_password_reset(actor, user_id, &session::hash_token(&code), RESET_TTL_MS)
        .await?;
    Ok(code)
}

/// Sets a new password with a reset code; `Invalid` with one message for an unknown, used or expired code.
pub async fn redeem_reset(
    store: &Store,
    code: &str,
    new: &str,
    again: &str,
) -> Result<i64, PasswordError> {
    let invalid = || {
        PasswordError::Invalid(
            "This reset code is not valid: it may have been used already or expired. Ask an administrator for a new one."
                .to_string(),
        )
    };
    let pw = new_password(new, again)?;
    let code_hash = session::hash_token(code.trim());
    if !store.password_reset_usable(&code_hash).await? {
        return Err(invalid());
    }
    let hash = password::hash(&pw).await?;
    match store.redeem_password_reset(&code_hash, &hash).await? {
        Redeemed::Done { user_id } => Ok(user_id),
        Redeemed::Invalid => Err(invalid()),
    }
}
