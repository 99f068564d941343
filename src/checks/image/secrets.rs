//! What counts as a secret in an image: key patterns in text, credential files by name, `.env` files with
//! values, and variables whose names look secret with a literal value.
//!
//! The value rule, so that references pass: a variable is secret-looking when the last word of its name is
//! `PASSWORD`, `PASSWD`, `SECRET`, `TOKEN`, `KEY`, `APIKEY`, `CREDENTIALS` or `PASSPHRASE` (so
//! `PASSWORD_FILE` and `TOKEN_URL` are not: their last words say they hold a path or an address), and its
//! value is literal unless it is empty, a path (`/run/secrets/x`), a `$` reference, or a URL without a
//! password in it.

use std::sync::LazyLock;

use regex::bytes::{Regex, RegexSet};

/// Key patterns searched in text files and history entries: (pattern, what it is).
const PATTERNS: &[(&str, &str)] = &[
    (
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
        "a private key",
    ),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "an AWS access key id"),
    (r"\bgh[pousr]_[A-Za-z0-9]{36}\b", "a GitHub token"),
    (r"\bgithub_pat_[A-Za-z0-9_]{22,}", "a GitHub token"),
    (r"\bxox[abposr]-[A-Za-z0-9-]{10,}", "a Slack token"),
    (r"\b[sr]k_live_[A-Za-z0-9]{16,}", "a Stripe live key"),
    (r"\bAIza[0-9A-Za-z_-]{35}", "a Google API key"),
];

/// The last words of a variable name that mark it as holding a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "APIKEY",
    "CREDENTIALS",
    "PASSPHRASE",
];

/// `.env` variants meant to be committed as templates; they fail only with a secret-looking literal.
const ENV_TEMPLATES: &[&str] = &["example", "sample", "template", "dist", "defaults"];

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
}

/// Compiled once; the patterns are constants, so an error here is caught by the unit tests, and is reported
/// as a platform fault rather than a panic if it ever happens.
static COMPILED: LazyLock<Result<Compiled, regex::Error>> = LazyLock::new(|| {
    let set = RegexSet::new(PATTERNS.iter().map(|(p, _)| p))?;
    let each = PATTERNS
        .iter()
        .map(|(p, _)| Regex::new(p))
        .collect::<Result<_, _>>()?;
    Ok(Compiled { set, each })
});

/// Whether the patterns compiled (they are constants; see [`COMPILED`]).
pub(super) fn ready() -> Result<(), String> {
    COMPILED.as_ref().map(|_| ()).map_err(|e| e.to_string())
}

/// Every key pattern found in `text`: what it is and the 1-based line it starts on.
pub(super) fn patterns_in(text: &[u8]) -> Vec<(&'static str, usize)> {
    let Ok(c) = COMPILED.as_ref() else {
        return Vec::new();
    };
    c.set
        .matches(text)
        .into_iter()
        .filter_map(|i| {
            let at = c.each[i].find(text)?.start();
            let line = 1 + text[..at].iter().filter(|b| **b == b'\n').count();
            Some((PATTERNS[i].1, line))
        })
        .collect()
}

/// Whether a variable named `name` looks like it holds a secret.
pub(super) fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let last = upper
        .rsplit(['_', '-', '.'])
        .next()
        .unwrap_or(upper.as_str());
    SECRET_WORDS.contains(&last)
        || ["PASSWORD", "SECRET", "TOKEN", "APIKEY"]
            .iter()
            .any(|w| last.ends_with(w))
}

/// Whether `value` is written into the image literally, rather than a reference to where the secret lives.
pub(super) fn literal_value(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']);
    if v.is_empty() || v.starts_with('$') || v.starts_with('/') || v.starts_with("./") {
        return false;
    }
    match url::Url::parse(v) {
        Ok(u) if v.contains("://") => u.password().is_some(),
        _ => true,
    }
}

/// What makes a file a secret by its name and content (`head`: its first bytes, `None` for a binary or a
/// link), or `None`.
pub(super) fn secret_file(path: &str, head: Option<&[u8]>) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let text = head.map(String::from_utf8_lossy);
    let text = text.as_deref().unwrap_or("");
    if name == ".env" || name.starts_with(".env.") {
        return env_file(name, text);
    }
    let has = |needle: &str| text.to_ascii_lowercase().contains(needle);
    let found = if path.ends_with(".aws/credentials") {
        Some("an AWS credentials file")
    } else if path.ends_with(".docker/config.json") && has("\"auths\"") && has("\"auth\"") {
        Some("a Docker registry login")
    } else if (name == ".netrc" || name == "_netrc") && has("password") {
        Some("a .netrc with a password")
    } else if name == ".npmrc" && (has("_authtoken") || has("_auth=") || has("_password")) {
        Some("an .npmrc with a registry token")
    } else if name == ".pypirc" && has("password") {
        Some("a .pypirc with a password")
    } else if name == ".git-credentials" && !text.trim().is_empty() {
        Some("a git credentials file")
    } else if name == "application_default_credentials.json" {
        Some("Google Cloud credentials")
    } else if ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"].contains(&name) {
        Some("an SSH private key")
    } else {
        None
    };
    found.map(str::to_string)
}

/// A `.env` file is a secret when it sets a value; a template (`.env.example`) only when it sets a
/// secret-looking name to a literal value.
fn env_file(name: &str, text: &str) -> Option<String> {
    let suffix = name.strip_prefix(".env.").unwrap_or("");
    let template = ENV_TEMPLATES.contains(&suffix);
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            (!line.starts_with('#')).then(|| line.split_once('='))?
        })
        .find(|(k, v)| {
            let k = k.trim();
            let set = !v.trim().trim_matches(['"', '\'']).is_empty();
            if template {
                secret_name(k) && literal_value(v)
            } else {
                set
            }
        })
        .map(|(k, _)| format!("an environment file setting `{}`", k.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_compile_and_find_keys_with_their_lines() {
        ready().expect("constant patterns compile");
        let key = format!("x\n-----BEGIN {}PRIVATE KEY-----\nMII", "RSA ");
        assert_eq!(patterns_in(key.as_bytes()), [("a private key", 2)]);
        let aws = format!("id = AKIA{}", "ABCDEFGHIJKLMNOP");
        assert_eq!(patterns_in(aws.as_bytes()), [("an AWS access key id", 1)]);
        let gh = format!("ghp_{}", "a".repeat(36));
        assert_eq!(patterns_in(gh.as_bytes()), [("a GitHub token", 1)]);
        assert!(patterns_in(b"AKIA-short and BEGIN PUBLIC KEY").is_empty());
    }

    #[test]
    fn secret_names_end_in_a_secret_word() {
        for name in [
            "DB_PASSWORD",
            "API_TOKEN",
            "JWT_SECRET",
            "aws_secret_access_key",
            "GITHUBTOKEN",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in [
            "PASSWORD_FILE",
            "TOKEN_URL",
            "KEYCLOAK_REALM",
            "MONKEY",
            "PWD",
            "PATH",
        ] {
            assert!(!secret_name(name), "{name}");
        }
    }

    #[test]
    fn references_are_not_literal_values() {
        assert!(!literal_value(""));
        assert!(!literal_value("/run/secrets/db"));
        assert!(!literal_value("${DB_PASSWORD}"));
        assert!(!literal_value("https://auth.example/token"));
        assert!(literal_value("hunter2"));
        assert!(literal_value("postgres://app:hunter2@db/notes"));
    }

    #[test]
    fn env_templates_with_empty_values_pass_and_real_env_files_fail() {
        let template = "# copy to .env\nDB_PASSWORD=\nAPI_TOKEN=\nPORT=8080\n";
        assert_eq!(
            secret_file("app/.env.example", Some(template.as_bytes())),
            None
        );
        let filled = "DB_PASSWORD=hunter2\n";
        assert!(secret_file("app/.env.example", Some(filled.as_bytes())).is_some());
        assert!(secret_file("app/.env", Some(b"PORT=8080\n")).is_some());
        assert_eq!(secret_file("app/.env", Some(b"# nothing\n")), None);
    }

    #[test]
    fn credential_files_are_named_by_path_and_content() {
        assert!(secret_file("root/.aws/credentials", Some(b"[default]")).is_some());
        let docker = br#"{"auths":{"r.example":{"auth":"eDp5"}}}"#;
        assert!(secret_file("root/.docker/config.json", Some(docker)).is_some());
        assert_eq!(
            secret_file("root/.docker/config.json", Some(br#"{"credsStore":"x"}"#)),
            None
        );
        assert!(secret_file("home/a/.npmrc", Some(b"//r/:_authToken=abc")).is_some());
        assert_eq!(
            secret_file("home/a/.npmrc", Some(b"registry=https://r/")),
            None
        );
    }
}
