//! Every image a Dockerfile makes the build read: `FROM` bases (after `ARG` substitution), `COPY --from`,
//! `RUN --mount=…,from=…`, and the same inside `ONBUILD` triggers. References to the file's own build stages
//! (by name or by index) and `scratch` are not images and are left out.
//!
//! What cannot be resolved without running anything (an undeclared `$VAR`, quotes or escapes in a name, a
//! `--from` built from variables) is refused rather than guessed: a guess that differs from the engine's is a
//! way around the policy.

use std::collections::BTreeMap;

use super::lines::{instructions, Instruction, ParseError};

/// One image the build would read, with where the Dockerfile names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// 1-based line of the instruction.
    pub line: usize,
    /// The instruction as written (shortened), for the learner's message.
    pub instruction: String,
    /// The image reference as the engine will resolve it (variables substituted).
    pub name: String,
}

/// A declared `ARG` before the first `FROM`: its value, or why it has none this reader can trust.
#[derive(Debug, Clone)]
enum ArgValue {
    Value(String),
    Unresolvable(String),
}

/// The images `dockerfile` reads, with `build_args` as the build's `--build-arg`s.
pub fn image_uses(
    dockerfile: &str,
    build_args: &BTreeMap<String, String>,
) -> Result<Vec<ImageUse>, ParseError> {
    let (instructions, escape) = instructions(dockerfile)?;
    let mut reader = Reader {
        escape,
        build_args,
        meta: BTreeMap::new(),
        stages: Vec::new(),
        uses: Vec::new(),
    };
    for i in &instructions {
        reader.instruction(i)?;
    }
    Ok(reader.uses)
}

struct Reader<'a> {
    escape: char,
    build_args: &'a BTreeMap<String, String>,
    /// `ARG`s declared before the first `FROM`, the only ones a `FROM` can use.
    meta: BTreeMap<String, ArgValue>,
    /// Stage names so far (lower-cased, as the engine compares them); `None` for a stage without `AS`.
    stages: Vec<Option<String>>,
    uses: Vec<ImageUse>,
}

impl Reader<'_> {
    fn instruction(&mut self, i: &Instruction) -> Result<(), ParseError> {
        let fail = |message: String| ParseError {
            line: i.line,
            message,
        };
        match i.keyword.as_str() {
            "ARG" if self.stages.is_empty() => self.meta_arg(&i.rest),
            "FROM" => self.from(i).map_err(fail),
            "COPY" => self.froms_in(i, &i.rest, false).map_err(fail),
            "RUN" => self.froms_in(i, &i.rest, false).map_err(fail),
            "ONBUILD" => {
                let rest = i.rest.trim();
                let (keyword, trigger) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                match keyword.to_ascii_uppercase().as_str() {
                    "COPY" | "RUN" => self.froms_in(i, trigger, true).map_err(fail),
                    "FROM" | "ONBUILD" | "MAINTAINER" => Err(fail(format!(
                        "{} is not allowed as an ONBUILD trigger",
                        keyword.to_ascii_uppercase()
                    ))),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// `ARG NAME` or `ARG NAME=value`: a value this reader can read exactly, or a note of why not.
    fn meta_arg(&mut self, rest: &str) -> Result<(), ParseError> {
        let rest = rest.trim();
        let (name, value) = match rest.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (rest, None),
        };
        let value = match value {
            None => ArgValue::Value(String::new()),
            Some(v) if v.chars().any(char::is_whitespace) => ArgValue::Unresolvable(
                "its ARG line declares more than one value or a value with blanks".into(),
            ),
            Some(v) => match unquote(v) {
                Some((text, false)) => ArgValue::Value(text.to_string()),
                Some((text, true)) => match self.expand(text) {
                    Ok(v) => ArgValue::Value(v),
                    Err(e) => ArgValue::Unresolvable(e),
                },
                None => ArgValue::Unresolvable(
                    "its default value has quotes or escapes inside it".into(),
                ),
            },
        };
        self.meta.insert(name.to_string(), value);
        Ok(())
    }

    fn from(&mut self, i: &Instruction) -> Result<(), String> {
        let words: Vec<&str> = i.rest.split_whitespace().collect();
        let first = words.iter().take_while(|w| w.starts_with("--")).count();
        let (flags, words) = words.split_at(first);
        for flag in flags {
            refuse_quoted(flag)?;
        }
        let (written, alias) = match words {
            [name] => (*name, None),
            [name, kw, alias] if kw.eq_ignore_ascii_case("AS") => (*name, Some(*alias)),
            _ => return Err("FROM takes one image and, optionally, `AS <stage name>`".into()),
        };
        let name = match unquote(written) {
            Some((text, true)) if !text.contains(self.escape) => self.expand(text),
            _ => Err(format!(
                "`{written}` has quotes or escape characters, so its image cannot be known before the build"
            )),
        }?;
        if name.is_empty() {
            return Err(format!(
                "`{written}` names no image once its variables are substituted"
            ));
        }
        if !self.is_stage(&name) && name != "scratch" {
            self.uses.push(use_of(i, name));
        }
        self.stages.push(alias.map(str::to_ascii_lowercase));
        Ok(())
    }

    /// `--from=` of a `COPY` and `from=` of each `RUN --mount=`: stages of this file (unless in a trigger, which
    /// runs in a build whose stages are unknown) or images.
    fn froms_in(&mut self, i: &Instruction, rest: &str, trigger: bool) -> Result<(), String> {
        for flag in rest.split_whitespace().take_while(|w| w.starts_with("--")) {
            refuse_quoted(flag)?;
            let Some((key, value)) = flag[2..].split_once('=') else {
                continue;
            };
            let sources: Vec<&str> = match key.to_ascii_lowercase().as_str() {
                "from" => vec![value],
                "mount" => value
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("from"))
                    .map(|(_, v)| v)
                    .collect(),
                _ => continue,
            };
            for source in sources {
                self.source(i, source, trigger)?;
            }
        }
        Ok(())
    }

    fn source(&mut self, i: &Instruction, source: &str, trigger: bool) -> Result<(), String> {
        if source.is_empty() || source.contains('$') || source.contains(self.escape) {
            return Err(format!(
                "`--from={source}` must name a stage or an image literally (no variables or escapes)"
            ));
        }
        if !trigger {
            if let Ok(index) = source.parse::<usize>() {
                // The engine reads an index past the earlier stages as an image id prefix.
                return if index + 1 < self.stages.len() {
                    Ok(())
                } else {
                    Err(format!(
                        "`--from={source}` is not the index of an earlier build stage"
                    ))
                };
            }
            if self.is_stage(source) {
                return Ok(());
            }
        }
        if source != "scratch" {
            self.uses.push(use_of(i, source.to_string()));
        }
        Ok(())
    }

    fn is_stage(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.stages.iter().flatten().any(|s| *s == lower)
    }

    /// Substitutes `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` from the `ARG`s before the first
    /// `FROM`, a build argument taking the place of a declared ARG's default as in the engine.
    fn expand(&self, word: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = word;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (expr, tail) = if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("`{word}` has an unclosed `${{`"))?;
                (&braced[..end], &braced[end + 1..])
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            out.push_str(&self.variable(expr, word)?);
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    }

    fn variable(&self, expr: &str, word: &str) -> Result<String, String> {
        let (name, op, alt) = match expr.find(":-").or_else(|| expr.find(":+")) {
            Some(at) => (&expr[..at], &expr[at..at + 2], Some(&expr[at + 2..])),
            None => (expr, "", None),
        };
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || alt.is_some_and(|a| a.contains('$')) {
            return Err(format!(
                "`{word}` uses `${expr}`, which cannot be resolved before the build"
            ));
        }
        let value = match self.meta.get(name) {
            None => {
                return Err(format!(
                    "`{word}` uses `${name}`, which no ARG before the first FROM declares"
                ))
            }
            Some(ArgValue::Unresolvable(why)) => match self.build_args.get(name) {
                Some(v) => v.clone(),
                None => {
                    return Err(format!(
                    "`{word}` uses `${name}`, whose value cannot be known before the build: {why}"
                ))
                }
            },
            Some(ArgValue::Value(default)) => self.build_args.get(name).unwrap_or(default).clone(),
        };
        Ok(match (op, alt) {
            (":-", Some(alt)) if value.is_empty() => alt.to_string(),
            (":+", Some(alt)) => {
                if value.is_empty() {
                    String::new()
                } else {
                    alt.to_string()
                }
            }
            _ => value,
        })
    }
}

/// `text` without one pair of enclosing quotes, and whether `$` is expanded in it (not in single quotes);
/// `None` when a quote remains inside.
fn unquote(text: &str) -> Option<(&str, bool)> {
    let pair = |q: char| text.len() >= 2 && text.starts_with(q) && text.ends_with(q);
    let (inner, expands) = if pair('"') {
        (&text[1..text.len() - 1], true)
    } else if pair('\'') {
        (&text[1..text.len() - 1], false)
    } else {
        (text, true)
    };
    (!inner.contains(['"', '\''])).then_some((inner, expands))
}

fn refuse_quoted(flag: &str) -> Result<(), String> {
    if flag.contains(['"', '\'']) {
        Err(format!("`{flag}`: write flags without quotes"))
    } else {
        Ok(())
    }
}

fn use_of(i: &Instruction, name: String) -> ImageUse {
    let mut instruction = format!("{} {}", i.keyword, i.rest);
    if instruction.chars().count() > 120 {
        instruction = instruction.chars().take(117).collect::<String>() + "...";
    }
    ImageUse {
        line: i.line,
        instruction,
        name,
    }
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
