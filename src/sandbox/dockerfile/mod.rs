//! Just enough of a Dockerfile to check it before a build: the build stages it declares, so a lab that asks
//! for a `test` stage can tell the learner it is missing before a build is spent on it (the engine's own error,
//! "failed to reach build target", says less), and every image it makes the build read (`images.rs`), which
//! the sandbox's build policy checks.
//!
//! - `lines.rs`: logical lines as the engine's parser reads them (directives, comments, continuations).
//! - `images.rs`: the images named by `FROM`, `COPY --from`, `RUN --mount=from=` and `ONBUILD` triggers.

mod images;
mod lines;

pub use images::{image_uses, ImageUse};
pub use lines::ParseError;

use serde::Deserialize;

/// A build stage name as Docker accepts it: a lower-case letter, then lower-case letters, digits, `-`, `_`, `.`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct StageName(String);

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a Docker build stage name (a lower-case letter, then letters, digits, `-`, `_` or `.`)")]
pub struct BadStageName(String);

impl StageName {
    pub fn parse(s: &str) -> Result<StageName, BadStageName> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
        if first_ok && rest_ok {
            Ok(StageName(s.to_string()))
        } else {
            Err(BadStageName(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StageName {
    type Error = BadStageName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        StageName::parse(&s)
    }
}

impl std::fmt::Display for StageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The names of the stages a Dockerfile declares (`FROM image AS name`), lower-cased as Docker does, in order.
/// A file the parser refuses declares none.
pub fn stage_names(dockerfile: &str) -> Vec<String> {
    let Ok((instructions, _)) = lines::instructions(dockerfile) else {
        return Vec::new();
    };
    instructions
        .iter()
        .filter(|i| i.keyword == "FROM")
        .filter_map(|i| {
            let words: Vec<&str> = i
                .rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            match words.as_slice() {
                [_, as_kw, name] if as_kw.eq_ignore_ascii_case("AS") => {
                    Some(name.to_ascii_lowercase())
                }
                _ => None,
            }
        })
        .collect()
}

/// Whether the Dockerfile declares the stage `name`.
pub fn has_stage(dockerfile: &str, name: &StageName) -> bool {
    stage_names(dockerfile).iter().any(|s| s == name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_stages_of_a_multi_stage_file() {
        let text = "# syntax=docker/dockerfile:1\nFROM rust:1 AS Build\nRUN cargo build\n\nfrom --platform=linux/amd64 \\\n  build as test\nRUN [\"/t\"]\nFROM scratch\nCOPY --from=test /x /x\n";
        assert_eq!(stage_names(text), vec!["build", "test"]);
        let test = StageName::parse("test").expect("a valid name");
        assert!(has_stage(text, &test));
        assert!(!has_stage("FROM scratch\n", &test));
        // A comment or a RUN line that mentions a stage declares nothing.
        assert!(!has_stage(
            "FROM scratch\n# FROM x AS test\nRUN echo FROM x AS test\n",
            &test
        ));
    }

    #[test]
    fn stage_names_are_parsed() {
        assert!(StageName::parse("test").is_ok());
        assert!(StageName::parse("unit-tests_2.x").is_ok());
        for bad in ["", "Test", "1test", "te st", "-t"] {
            assert!(StageName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
