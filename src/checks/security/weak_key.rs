//! The `jwt_weak_key` probe: a token the service issued itself (through its login) is checked against a short
//! dictionary of the secrets tutorials, templates and defaults use. Finding the key means anyone can forge any
//! token offline, whatever the verifier checks; the other probes cannot see it, since they sign with the run's
//! secret and never look at what the service signs with.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::limits::login_req;
use super::session::{ProbeError, Session};
use super::Login;

/// Common HS256 secrets: framework and tutorial defaults, placeholders, the usual passwords.
const DICTIONARY: &[&str] = &[
    "secret",
    "Secret",
    "SECRET",
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "password",
    "Password",
    "passw0rd",
    "123456",
    "12345678",
    "1234567890",
    "qwerty",
    "your-256-bit-secret",
    "your_jwt_secret",
    "your-secret-key",
    "key",
    "jwt",
    "jwt_secret",
    "jwt-secret",
    "jwtsecret",
    "JWT_SECRET",
    "secretkey",
    "secret-key",
    "secret_key",
    "mysecret",
    "my-secret",
    "mysecretkey",
    "supersecret",
    "super-secret",
    "s3cr3t",
    "shhhhh",
    "keyboard cat",
    "test",
    "dev",
    "admin",
    "default",
    "",
];

/// The dictionary entry a `header.payload.signature` HS256 token was signed with, if any.
pub(super) fn guessed_key(token: &str) -> Option<&'static str> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let input = format!("{header}.{payload}");
    DICTIONARY.iter().copied().find(|key| {
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).is_ok_and(|mut m| {
            m.update(input.as_bytes());
            m.verify_slice(&signature).is_ok()
        })
    })
}

/// The `alg` of a token's header, when it has a readable one.
fn alg(token: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let v: Value = serde_json::from_slice(&header).ok()?;
    v.get("alg")?.as_str().map(str::to_string)
}

/// Logs `username` in (password from `password_env`) and returns the token at `pointer` of the answer.
pub(super) async fn signed_in(
    s: &mut Session<'_>,
    login: &Login,
    username: &str,
    password_env: &str,
    pointer: &str,
) -> Result<String, ProbeError> {
    let password = s.env_value(password_env)?;
    let a = s
        .send(
            &format!("{username} logs in"),
            login_req(login, username, &password),
        )
        .await?;
    let json: Option<Value> = serde_json::from_slice(&a.body).ok();
    let token = json
        .as_ref()
        .and_then(|j| j.pointer(pointer))
        .and_then(Value::as_str)
        .filter(|_| a.success());
    token.map(str::to_string).ok_or_else(|| {
        ProbeError::Failed(format!(
            "logging in with correct credentials did not answer 2xx with a token (status {})",
            a.status
        ))
    })
}

pub(super) async fn weak_key(
    s: &mut Session<'_>,
    login: &Login,
    pointer: &str,
) -> Result<(), ProbeError> {
    let token = signed_in(s, login, &login.username, &login.password_env, pointer).await?;
    let token = token.as_str();
    match alg(token).as_deref() {
        Some("HS256") => {}
        other => {
            s.note(&format!(
                "(the token's algorithm is {other:?}, not HS256: no dictionary applies)"
            ));
            return Ok(());
        }
    }
    s.note(&format!("trying {} common secrets", DICTIONARY.len()));
    match guessed_key(token) {
        Some(key) => {
            s.note(&format!("the token verifies with the secret {key:?}"));
            Err(ProbeError::Failed(
                "the service signs its tokens with a common, guessable secret: anyone can forge a token"
                    .to_string(),
            ))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"alice"}"#)
        );
        let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
        m.update(input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
        format!("{input}.{sig}")
    }

    #[test]
    fn a_dictionary_key_is_found_and_a_random_one_is_not() {
        assert_eq!(
            guessed_key(&signed("your-256-bit-secret")),
            Some("your-256-bit-secret")
        );
        assert_eq!(guessed_key(&signed("secret")), Some("secret"));
        assert_eq!(
            guessed_key(&signed("k9f2Qx7LmP0aZ3vB8nR1tY6wE4uI5oS")),
            None
        );
        assert_eq!(guessed_key("not-a-token"), None);
        assert_eq!(alg(&signed("x")).as_deref(), Some("HS256"));
    }
}
