//! The rules read from the image's configuration and history: the user, the entrypoint's form, secret
//! variables (environment, `ENV`/`ARG` entries, build arguments a `RUN` recorded) and the added size.
//!
//! Variables and history entries are judged only where the learner wrote them (above the base image): a base
//! such as `python:3.12-slim` sets `GPG_KEY` to its release key's fingerprint, which is neither the learner's
//! doing nor a secret.

use super::report::Finding;
use super::secrets::{literal_value, patterns_in, secret_name};
use super::{ImageCheck, ImageFacts, Rule};

/// Programs that run the real command as a child and pass signals on, so a shell under them is no harm.
const INITS: &[&str] = &[
    "tini",
    "tini-static",
    "dumb-init",
    "docker-init",
    "catatonit",
    "s6-svscan",
];
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "busybox"];

/// The findings of one rule that the configuration and history decide.
pub(super) fn judge(rule: Rule, check: &ImageCheck, facts: &ImageFacts) -> Vec<Finding> {
    match rule {
        Rule::NonRootUser => user(facts).into_iter().collect(),
        Rule::ExecForm => exec_form(facts).into_iter().collect(),
        Rule::NoSecrets => secret_variables(facts),
        Rule::AddedSize => added_size(facts, check.max_added_bytes)
            .into_iter()
            .collect(),
        Rule::NoBuildTools => Vec::new(),
    }
}

fn user(facts: &ImageFacts) -> Option<Finding> {
    let user = facts.user.trim();
    let uid = user.split(':').next().unwrap_or("");
    let why = if uid.is_empty() {
        "no `USER`, so the service runs as root; set a non-zero numeric uid (`USER 10001`)"
            .to_string()
    } else if let Ok(n) = uid.parse::<u32>() {
        if n != 0 {
            return None;
        }
        "uid 0 is root; set a non-zero numeric uid (`USER 10001`)".to_string()
    } else {
        format!(
            "`{uid}` is a name, which a platform cannot verify as non-root; use its numeric uid (`USER 10001`)"
        )
    };
    Some(Finding::new(Rule::NonRootUser, "Config.User", why))
}

fn exec_form(facts: &ImageFacts) -> Option<Finding> {
    let (field, command) = match (&facts.entrypoint, &facts.cmd) {
        (Some(e), _) if !e.is_empty() => ("Config.Entrypoint", e),
        (_, Some(c)) if !c.is_empty() => ("Config.Cmd", c),
        _ => {
            return Some(Finding::new(
                Rule::ExecForm,
                "Config.Entrypoint",
                "the image has no entrypoint or command",
            ))
        }
    };
    let program = command[0].rsplit('/').next().unwrap_or("");
    if INITS.contains(&program) {
        return None;
    }
    let shell_form = SHELLS.contains(&program) && command.get(1).is_some_and(|a| a == "-c");
    // `sh -c "exec /app"` replaces the shell with the service, which then receives SIGTERM itself.
    let execs = command
        .get(2)
        .is_some_and(|c| c.trim_start().starts_with("exec "));
    (shell_form && !execs).then(|| {
        Finding::new(
            Rule::ExecForm,
            field,
            format!(
                "shell form (`{} -c …`): the shell, not your service, receives SIGTERM; write it as a JSON \
                 array (`ENTRYPOINT [\"/app\"]`)",
                command[0]
            ),
        )
    })
}

fn secret_variables(facts: &ImageFacts) -> Vec<Finding> {
    let inherited = facts.base.as_ref().map(|b| b.env.as_slice()).unwrap_or(&[]);
    let mut found: Vec<Finding> = facts
        .env
        .iter()
        .filter(|kv| !inherited.contains(*kv))
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, v)| secret_name(k) && literal_value(v))
        .map(|(k, _)| literal_env(k))
        .collect();
    for (i, entry) in facts.learner_history() {
        found.extend(history_entry(i, &entry.created_by));
    }
    found
}

fn literal_env(name: &str) -> Finding {
    Finding::new(
        Rule::NoSecrets,
        format!("ENV {name}"),
        "a secret-looking variable with a literal value baked into the image; pass it at run time or as a \
         `_FILE` path",
    )
}

/// Secrets an entry of the history shows: `ENV`/`ARG` with literal secret values, the build arguments a
/// `RUN` recorded (`|2 A=b C=d /bin/sh -c …`), and key patterns anywhere in it.
fn history_entry(index: usize, created_by: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    let subject = format!("history entry {}", index + 1);
    let nop = created_by
        .split_once("#(nop)")
        .map(|(_, rest)| rest.trim_start());
    if let Some(rest) = nop.and_then(|r| r.strip_prefix("ENV ")) {
        for (k, v) in pairs(rest) {
            if secret_name(k) && literal_value(v) {
                found.push(literal_env(k));
            }
        }
    }
    if let Some(rest) = nop.and_then(|r| r.strip_prefix("ARG ")) {
        for (k, v) in pairs(rest) {
            if secret_name(k) && literal_value(v) {
                found.push(Finding::new(
                    Rule::NoSecrets,
                    format!("ARG {k}"),
                    "a secret-looking build argument with a literal default, kept in the image history",
                ));
            }
        }
    }
    if let Some(rest) = created_by.strip_prefix('|') {
        let mut words = rest.split_whitespace();
        let count: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        for word in words.take(count) {
            if let Some((k, v)) = word.split_once('=') {
                if secret_name(k) && literal_value(v) {
                    found.push(Finding::new(
                        Rule::NoSecrets,
                        format!("ARG {k}"),
                        format!(
                            "a secret-looking build argument whose value the {subject} (a `RUN`) records; use a \
                             secret mount"
                        ),
                    ));
                }
            }
        }
    }
    for (what, _) in patterns_in(created_by.as_bytes()) {
        found.push(Finding::new(
            Rule::NoSecrets,
            subject.clone(),
            format!("{what} in a build instruction"),
        ));
    }
    found
}

/// `A=b C=d` (or the legacy `A b`) as name–value pairs.
fn pairs(text: &str) -> Vec<(&str, &str)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.first().is_some_and(|w| !w.contains('=')) {
        return words
            .split_first()
            .map(|(k, rest)| (*k, rest.first().copied().unwrap_or("")))
            .into_iter()
            .collect();
    }
    words.iter().filter_map(|w| w.split_once('=')).collect()
}

fn added_size(facts: &ImageFacts, cap: Option<u64>) -> Option<Finding> {
    let cap = cap?;
    let base = facts.base.as_ref().map_or(0, |b| b.size);
    let added = facts.size.saturating_sub(base);
    if added <= cap {
        return None;
    }
    let skip = facts.base.as_ref().map_or(0, |b| b.history);
    let largest = facts
        .history
        .iter()
        .skip(skip)
        .max_by_key(|h| h.size)
        .map(|h| {
            format!(
                "; the largest step: `{}` ({})",
                short(&h.created_by),
                mb(h.size)
            )
        })
        .unwrap_or_default();
    Some(Finding::new(
        Rule::AddedSize,
        "image size",
        format!(
            "the layers you added weigh {}, more than this lab allows{largest}",
            mb(added)
        ),
    ))
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// A history entry as a learner recognises it: without the builder's `/bin/sh -c #(nop)` prefix, cut short.
fn short(created_by: &str) -> String {
    let s = created_by
        .split_once("#(nop)")
        .map_or(created_by, |(_, r)| r)
        .trim();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BaseImage, HistoryEntry};
    use super::*;

    fn facts() -> ImageFacts {
        ImageFacts {
            user: "10001:10001".into(),
            entrypoint: Some(vec!["/app".into()]),
            ..Default::default()
        }
    }

    fn rules(f: &ImageFacts, rule: Rule) -> Vec<Finding> {
        let check = ImageCheck {
            rules: vec![rule],
            max_added_bytes: Some(10_000_000),
        };
        judge(rule, &check, f)
    }

    #[test]
    fn a_numeric_non_zero_user_passes_and_root_or_names_fail() {
        assert!(rules(&facts(), Rule::NonRootUser).is_empty());
        for user in ["", "0", "0:0", "root", "app", "app:app"] {
            let f = ImageFacts {
                user: user.into(),
                ..facts()
            };
            assert_eq!(rules(&f, Rule::NonRootUser).len(), 1, "{user:?}");
        }
    }

    #[test]
    fn shell_form_fails_unless_an_init_runs_it() {
        assert!(rules(&facts(), Rule::ExecForm).is_empty());
        let shell = ImageFacts {
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into(), "/app".into()]),
            ..facts()
        };
        assert_eq!(
            rules(&shell, Rule::ExecForm)[0].subject,
            "Config.Entrypoint"
        );
        let cmd_shell = ImageFacts {
            entrypoint: None,
            cmd: Some(vec!["/bin/sh".into(), "-c".into(), "node x.js".into()]),
            ..facts()
        };
        assert_eq!(rules(&cmd_shell, Rule::ExecForm)[0].subject, "Config.Cmd");
        let tini = ImageFacts {
            entrypoint: Some(vec!["/sbin/tini".into(), "--".into()]),
            cmd: Some(vec!["/bin/sh".into(), "-c".into(), "node x.js".into()]),
            ..facts()
        };
        assert!(rules(&tini, Rule::ExecForm).is_empty());
        let execs = ImageFacts {
            entrypoint: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                "exec /app --port 8080".into(),
            ]),
            ..facts()
        };
        assert!(rules(&execs, Rule::ExecForm).is_empty());
        let script = ImageFacts {
            entrypoint: Some(vec!["/entrypoint.sh".into()]),
            ..facts()
        };
        assert!(rules(&script, Rule::ExecForm).is_empty());
    }

    #[test]
    fn secret_variables_fail_but_references_and_the_bases_own_pass() {
        let base = BaseImage {
            name: "python:3.12-slim".into(),
            history: 1,
            env: vec!["GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305".into()],
            ..Default::default()
        };
        let f = ImageFacts {
            env: vec![
                "GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305".into(),
                "TOKEN_URL=https://auth.example/token".into(),
                "PASSWORD_FILE=/run/secrets/x".into(),
                "DB_PASSWORD=/run/secrets/db".into(),
            ],
            history: vec![
                HistoryEntry {
                    created_by:
                        "/bin/sh -c #(nop)  ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305"
                            .into(),
                    ..Default::default()
                },
                HistoryEntry {
                    created_by: "/bin/sh -c #(nop)  ENV TOKEN_URL=https://auth.example/token"
                        .into(),
                    ..Default::default()
                },
            ],
            base: Some(base),
            ..facts()
        };
        assert_eq!(rules(&f, Rule::NoSecrets), Vec::new());
        let leaky = ImageFacts {
            env: vec!["API_TOKEN=abc123".into()],
            history: vec![
                HistoryEntry {
                    created_by: "/bin/sh -c #(nop)  ARG DB_PASSWORD=hunter2".into(),
                    ..Default::default()
                },
                HistoryEntry {
                    created_by: "|2 DB_PASSWORD=hunter2 MODE=x /bin/sh -c make".into(),
                    ..Default::default()
                },
            ],
            ..facts()
        };
        let subjects: Vec<String> = rules(&leaky, Rule::NoSecrets)
            .into_iter()
            .map(|f| f.subject)
            .collect();
        assert_eq!(
            subjects,
            ["ENV API_TOKEN", "ARG DB_PASSWORD", "ARG DB_PASSWORD"]
        );
    }

    #[test]
    fn the_added_size_counts_only_what_is_above_the_base() {
        let base = BaseImage {
            size: 120_000_000,
            history: 1,
            ..Default::default()
        };
        let f = ImageFacts {
            size: 125_000_000,
            base: Some(base),
            history: vec![
                HistoryEntry {
                    created_by: "base".into(),
                    size: 120_000_000,
                    ..Default::default()
                },
                HistoryEntry {
                    created_by: "/bin/sh -c #(nop) COPY file:abc in /app".into(),
                    size: 5_000_000,
                    ..Default::default()
                },
            ],
            ..facts()
        };
        assert!(rules(&f, Rule::AddedSize).is_empty());
        let scratch = ImageFacts { base: None, ..f };
        let over = rules(&scratch, Rule::AddedSize);
        assert!(over[0].what.contains("125.0 MB"), "{over:?}");
        assert!(
            !over[0].what.contains("10.0"),
            "the cap stays hidden: {over:?}"
        );
    }
}
