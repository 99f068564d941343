//! Signing in and registering: the rules, apart from HTTP.

use super::ratelimit::{Decision, LoginLimiter};
use super::{invite, password, session, AuthError};
use crate::domain::{DisplayName, Email, NewPassword};
use crate::store::{Invite, JoinError, NewLearner, Store, StoreError};

/// The one message for an unknown email and a wrong password, so the form does not reveal who has an account.
pub const BAD_CREDENTIALS: &str = "The email or password is not right.";

/// How a sign-in attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in: the new session's token goes into the cookie.
    SignedIn {
        token: String,
    },
    Refused,
    /// The password was right but an admin has deactivated the account (said only to whoever knows the
    /// password, so it reveals nothing to a guesser).
    Deactivated,
    Limited {
        retry_after_secs: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Checks a password under the rate limits and opens a session when it is right.
pub async fn sign_in(
    store: &Store,
    limiter: &LoginLimiter,
    email: &str,
    password: &str,
    client: &str,
) -> Result<LoginOutcome, LoginError> {
    // An unparseable email still counts against the address, and is refused like any wrong password.
    let account = Email::parse(email).map(|e| e.as_str().to_string());
    let key = account
        .clone()
        .unwrap_or_else(|_| email.trim().to_lowercase());
    // Counted as a failure from here on, until the password proves right.
    if let Decision::Limited { retry_after_secs } = limiter.begin_sign_in(&key, client) {
        return Ok(LoginOutcome::Limited { retry_after_secs });
    }
    let user = match &account {
        Ok(e) => {
            store
                .user_by_email(&Email::parse(e).map_err(|_| StoreError::NotFound)?)
                .await?
        }
        Err(_) => None,
    };
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match (ok, user) {
        (true, Some(user)) if user.deactivated_at.is_some() => {
            limiter.sign_in_succeeded(&key, client);
            Ok(LoginOutcome::Deactivated)
        }
        (true, Some(user)) => {
            limiter.sign_in_succeeded(&key, client);
            let token = session::new_token();
            store
                .create_session(&session::hash_token(&token), user.id, session::TTL_MS)
                .await?;
            Ok(LoginOutcome::SignedIn { token })
        }
        _ => Ok(LoginOutcome::Refused),
    }
}

/// What a visitor typed on the registration form.
pub struct Registration<'a> {
    pub invite_code: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub password_again: &'a str,
}

/// Why a registration was refused: one message per problem, for the form.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Too many wrong invite codes or new accounts from this address.
    #[error("too many registrations; retry in {retry_after_secs} s")]
    Limited { retry_after_secs: u64 },
}

/// Creates a learner in the cohort the invite code opens and signs them in; returns the session token. Wrong
/// invite codes and created accounts count against the client's address.
pub async fn register(
    store: &Store,
    limiter: &LoginLimiter,
    form: &Registration<'_>,
    client: &str,
) -> Result<String, RegisterError> {
    if let Decision::Limited { retry_after_secs } = limiter.check_registration(client) {
        return Err(RegisterError::Limited { retry_after_secs });
    }
    let mut problems = Vec::new();
    let code = invite::normalise(form.invite_code);
    match store.invite(&code).await? {
        Invite::Open(_) => {}
        Invite::Unknown => {
            limiter.invite_failed(client);
            problems.push(Invite::Unknown.message().to_string());
        }
        closed => problems.push(closed.message().to_string()),
    }
    let email = Email::parse(form.email)
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    let name = DisplayName::parse(form.display_name)
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    let pw = NewPassword::parse(form.password)
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    if form.password != form.password_again {
        problems.push("The two passwords are not the same.".to_string());
    }
    let (Some(email), Some(name), Some(pw), true) = (email, name, pw, problems.is_empty()) else {
        return Err(RegisterError::Invalid(problems));
    };
    let hash = password::hash(&pw).await?;
    let learner = NewLearner {
        email: &email,
        name: &name,
        password_hash: &hash,
    };
    // The code is checked again as the account is created: it may have filled up or closed meanwhile.
    let user_id = match store.join_by_invite(&code, &learner).await {
        Ok(id) => id,
        Err(JoinError::Refused(why)) => {
            return Err(RegisterError::Invalid(vec![why.message().to_string()]))
        }
        Err(JoinError::Store(StoreError::Conflict)) => {
            return Err(RegisterError::Invalid(vec![
                "An account with this email already exists: sign in instead.".to_string(),
            ]))
        }
        Err(JoinError::Store(e)) => return Err(e.into()),
    };
    limiter.registered(client);
    let token = session::new_token();
    store
        .create_session(&session::hash_token(&token), user_id, session::TTL_MS)
        .await?;
    Ok(token)
}
