//! How a probe that acts as a signed-in user gets its token: through the service's own login (the way any API
//! client does, and the only way for APIs whose secret the grader cannot know), or minted with the run's
//! secret.

use super::inputs::token_for;
use super::session::{ProbeError, Session};
use super::weak_key::signed_in;
use super::{Login, TokenSpec};

/// Who the probe acts as.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// `login.username` logs in; the token is at this JSON pointer of the answer.
    Login(Login, String),
    /// A token minted with the run's secret.
    Minted(TokenSpec),
}

/// The bearer token of the signed-in user.
pub(super) async fn token(s: &mut Session<'_>, who: &SignIn) -> Result<String, ProbeError> {
    match who {
        SignIn::Login(login, pointer) => {
            signed_in(s, login, &login.username, &login.password_env, pointer).await
        }
        SignIn::Minted(spec) => token_for(s, Some(spec))?
            .ok_or_else(|| ProbeError::Broken("no token fields".to_string())),
    }
}
