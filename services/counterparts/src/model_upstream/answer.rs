//! The model's deterministic answers, so that checks can predict them: the same messages always give the same
//! content, and `usage` follows one documented rule.
//!
//! - **Tokens**: a text's tokens are its whitespace-separated words (at least 1 for a non-empty prompt).
//!   `prompt_tokens` is the sum over every message's `content`; `completion_tokens` counts the answer's content.
//! - **Triage content**: a JSON object `{"category","priority","summary"}` valid under the w12 contract, derived
//!   from the last `user` message: `category` by keywords (`bug` for crash/error/bug/broken/fail/exception,
//!   `feature` for feature/add/support/would like, `question` for a `?`, else `other`), `priority` 1 + the FNV-1a
//!   digest of all messages modulo 4, `summary` its first 12 words (at most 120 characters).
//! - **Embeddings**: 8 numbers in [-1, 1] per input, from the FNV-1a digest of the input and the dimension.

use serde::Deserialize;

/// One message of a chat request, as far as the model reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub role: String,
    /// Text content only; a message without it counts as empty.
    #[serde(default)]
    pub content: Option<String>,
}

/// The words of `text`, the token rule.
pub fn tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// `prompt_tokens` of a chat request.
pub fn prompt_tokens(messages: &[Message]) -> u64 {
    messages
        .iter()
        .map(|m| tokens(m.content.as_deref().unwrap_or("")))
        .sum()
}

/// FNV-1a over bytes: stable across processes and builds, unlike the std hasher.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The digest of a whole conversation (roles and contents), the ledger's `prompt_digest`.
pub fn digest(messages: &[Message]) -> u64 {
    let joined: String = messages
        .iter()
        .map(|m| {
            format!(
                "{}\u{1f}{}\u{1e}",
                m.role,
                m.content.as_deref().unwrap_or("")
            )
        })
        .collect();
    fnv1a(joined.as_bytes())
}

/// The triage JSON the model answers for `messages`.
pub fn triage(messages: &[Message]) -> String {
    let text = messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .and_then(|m| m.content.as_deref())
        .unwrap_or("");
    let lower = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let category = if has(&["crash", "error", "bug", "broken", "fail", "exception"]) {
        "bug"
    } else if has(&["feature", "add ", "support", "would like"]) {
        "feature"
    } else if lower.contains('?') {
        "question"
    } else {
        "other"
    };
    let priority = 1 + digest(messages) % 4;
    let mut summary: String = text
        .split_whitespace()
        .take(12)
        .collect::<Vec<_>>()
        .join(" ");
    if summary.chars().count() > 120 {
        summary = summary
            .chars()
            .take(120)
            .collect::<String>()
            .trim_end()
            .to_string();
    }
    if summary.is_empty() {
        summary = "empty message".to_string();
    }
    serde_json::json!({"category": category, "priority": priority, "summary": summary}).to_string()
}

/// The same content made invalid under the contract (a priority out of range, an extra field), for the
/// `invalid_content` fault.
pub fn invalid_triage(messages: &[Message]) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&triage(messages)).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("priority".into(), serde_json::json!(9));
        o.insert("confidence".into(), serde_json::json!("high"));
    }
    v.to_string()
}

/// The embedding of one input.
pub fn embedding(input: &str) -> Vec<f64> {
    (0..8u8)
        .map(|d| {
            let h = fnv1a(format!("{d}:{input}").as_bytes());
            ((h % 2001) as f64 - 1000.0) / 1000.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Vec<Message> {
        vec![
            Message {
                role: "system".into(),
                content: Some("You triage support messages.".into()),
            },
            Message {
                role: "user".into(),
                content: Some(text.into()),
            },
        ]
    }

    #[test]
    fn the_same_messages_give_the_same_content() {
        let m = user("The export crashes after the latest update");
        assert_eq!(triage(&m), triage(&m));
        let v: serde_json::Value = serde_json::from_str(&triage(&m)).unwrap();
        assert_eq!(v["category"], "bug");
        assert_eq!(v["summary"], "The export crashes after the latest update");
        let p = v["priority"].as_u64().unwrap();
        assert!((1..=4).contains(&p));
    }

    #[test]
    fn categories_follow_the_keywords() {
        let cat = |t: &str| {
            serde_json::from_str::<serde_json::Value>(&triage(&user(t))).unwrap()["category"]
                .clone()
        };
        assert_eq!(cat("Please add dark mode"), "feature");
        assert_eq!(cat("How do I reset my password?"), "question");
        assert_eq!(cat("Thanks for the help"), "other");
    }

    #[test]
    fn tokens_are_words() {
        assert_eq!(tokens("  two\twords \n"), 2);
        assert_eq!(prompt_tokens(&user("a b c")), 4 + 3);
    }

    #[test]
    fn a_long_message_gives_a_short_summary() {
        let long = "word ".repeat(500);
        let v: serde_json::Value = serde_json::from_str(&triage(&user(&long))).unwrap();
        assert_eq!(v["summary"].as_str().unwrap().split(' ').count(), 12);
    }

    #[test]
    fn invalid_content_breaks_the_contract() {
        let v: serde_json::Value = serde_json::from_str(&invalid_triage(&user("x"))).unwrap();
        assert_eq!(v["priority"], 9);
    }

    #[test]
    fn embeddings_are_stable_and_bounded() {
        assert_eq!(embedding("a"), embedding("a"));
        assert_ne!(embedding("a"), embedding("b"));
        assert!(embedding("a").iter().all(|x| (-1.0..=1.0).contains(x)));
    }
}
