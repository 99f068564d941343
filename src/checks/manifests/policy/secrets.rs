//! Secrets by reference only: a literal value for an environment variable whose name looks like a secret, a
//! ConfigMap key that looks like one, or a Secret shipped with values, all put a secret into the manifests
//! (and so into the image and the repository). Values come from `secretKeyRef` / `secretRef` instead.

use super::pod::Template;
use crate::checks::manifests::{Finding, Manifests};

/// Words that make a name look secret, compared with the name's words (split on `_`, `-`, `.`), so
/// `JWT_SECRET` and `db-password` match while `KEYCLOAK_URL` and `PORT` do not.
const SECRET_WORDS: [&str; 12] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
    "private",
    "dsn",
    "auth",
];

/// Whether a variable or key name looks like it holds a secret.
pub(super) fn looks_secret(name: &str) -> bool {
    name.split(['_', '-', '.'])
        .any(|w| SECRET_WORDS.iter().any(|s| w.eq_ignore_ascii_case(s)))
}

pub fn by_reference(m: &Manifests, pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        for slot in t.all_containers() {
            for e in slot.container.env.iter().flatten() {
                let literal = e.value.as_deref().is_some_and(|v| !v.is_empty());
                if literal && looks_secret(&e.name) {
                    found.push(Finding::new(
                        &t.object,
                        format!("{}.env[{}].value", slot.path, e.name),
                        "is a literal value for a name that looks secret; use valueFrom.secretKeyRef",
                    ));
                }
            }
        }
    }
    for c in m.config_maps() {
        let object = format!("ConfigMap/{}", c.metadata.name.as_deref().unwrap_or(""));
        for (key, value) in c.data.iter().flatten() {
            if looks_secret(key) && !value.is_empty() {
                found.push(Finding::new(
                    &object,
                    format!("data.{key}"),
                    "holds a value for a name that looks secret; a ConfigMap is for non-secret settings",
                ));
            }
        }
    }
    for s in m.secrets() {
        let object = format!("Secret/{}", s.metadata.name.as_deref().unwrap_or(""));
        let data = s
            .data
            .iter()
            .flatten()
            .filter(|(_, v)| !v.0.is_empty())
            .map(|(k, _)| ("data", k));
        let text = s
            .string_data
            .iter()
            .flatten()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| ("stringData", k));
        for (field, key) in data.chain(text) {
            found.push(Finding::new(
                &object,
                format!("{field}.{key}"),
                "ships a value; create the Secret outside the manifests and reference it",
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_secret_by_their_words() {
        for name in [
            "JWT_SECRET",
            "db-password",
            "API_KEY",
            "github.token",
            "AUTH_TOKEN",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["PORT", "KEYCLOAK_URL", "APP_VERSION", "DATA_DIR", "MONKEY"] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
