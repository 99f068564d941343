//! `{{var}}` substitution in check definitions, shared by every kind.
//!
//! Variables are JSON values so that a captured number can be compared as a number: a string that is exactly
//! one `{{var}}` becomes the variable's value, anything else becomes text. Built-ins: `{{seed}}` (the run's
//! seed), `{{rand}}` (a random hex string drawn once per check from the seeded RNG, so a run replays exactly)
//! and `{{env.NAME}}` (the container's environment). `{{var|url}}` form-encodes the value for a query string;
//! `{{var%K}}` is an integer variable modulo K (`{{i%4}}`: the index of a repeated step spread over four keys).

use std::collections::BTreeMap;

use serde_json::Value;

/// Why a template could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{{` without a closing `}}}}`")]
    Unterminated,
    #[error("`{0}` is not a variable name (letters, digits, `_`, `.`)")]
    BadName(String),
    #[error("unknown filter `{0}` (only `url`)")]
    BadFilter(String),
    #[error("variable `{0}` is not defined at this point")]
    Unknown(String),
    #[error("`{0}`: only a positive whole number may follow `%`")]
    BadModulo(String),
    #[error("variable `{0}` is not a whole number, so `%` cannot apply")]
    NotInteger(String),
}

/// One `{{...}}` found in a string.
struct Reference<'a> {
    start: usize,
    end: usize,
    name: &'a str,
    url: bool,
    /// `{{i%K}}`: the integer variable modulo K (records spread over K keys).
    modulo: Option<u64>,
}

fn parse(s: &str) -> Result<Vec<Reference<'_>>, TemplateError> {
    let mut refs = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find("{{").map(|i| i + from) {
        let close = s[open..]
            .find("}}")
            .map(|i| i + open)
            .ok_or(TemplateError::Unterminated)?;
        let inner = s[open + 2..close].trim();
        let (name, filter) = match inner.split_once('|') {
            Some((n, f)) => (n.trim(), Some(f.trim())),
            None => (inner, None),
        };
        let (name, modulo) = match name.split_once('%') {
            Some((n, k)) => match k.trim().parse::<u64>() {
                Ok(k) if k > 0 => (n.trim(), Some(k)),
                _ => return Err(TemplateError::BadModulo(name.to_string())),
            },
            None => (name, None),
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            return Err(TemplateError::BadName(name.to_string()));
        }
        let url = match filter {
            None => false,
            Some("url") => true,
            Some(other) => return Err(TemplateError::BadFilter(other.to_string())),
        };
        refs.push(Reference {
            start: open,
            end: close + 2,
            name,
            url,
            modulo,
        });
        from = close + 2;
    }
    Ok(refs)
}

/// The names a string refers to, for checking definitions at load time.
pub fn references(s: &str) -> Result<Vec<String>, TemplateError> {
    Ok(parse(s)?.into_iter().map(|r| r.name.to_string()).collect())
}

/// Names that are always defined; `env.*` is checked at run time since the environment is the run's.
pub fn is_builtin(name: &str) -> bool {
    name == "seed" || name == "rand" || name.starts_with("env.")
}

/// The variables of one running check.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

impl Vars {
    /// Built-ins for one check of a run.
    pub fn new(seed: u64, rand: String, env: &BTreeMap<String, String>) -> Vars {
        let mut values = BTreeMap::new();
        values.insert("seed".to_string(), Value::from(seed));
        values.insert("rand".to_string(), Value::String(rand));
        for (k, v) in env {
            values.insert(format!("env.{k}"), Value::String(v.clone()));
        }
        Vars { values }
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// The variables that are not built-ins: what the check's steps captured (or it was handed).
    pub fn captured(&self) -> BTreeMap<String, Value> {
        self.values
            .iter()
            .filter(|(k, _)| !is_builtin(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The value a reference stands for, `%` applied.
    fn value(&self, r: &Reference<'_>) -> Result<Value, TemplateError> {
        let v = self
            .values
            .get(r.name)
            .ok_or_else(|| TemplateError::Unknown(r.name.to_string()))?;
        match r.modulo {
            None => Ok(v.clone()),
            Some(k) => v
                .as_u64()
                .map(|n| Value::from(n % k))
                .ok_or_else(|| TemplateError::NotInteger(r.name.to_string())),
        }
    }

    /// Substitutes every reference in `s`.
    pub fn render(&self, s: &str) -> Result<String, TemplateError> {
        let refs = parse(s)?;
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for r in refs {
            out.push_str(&s[last..r.start]);
            let text = as_text(&self.value(&r)?);
            if r.url {
                out.extend(url::form_urlencoded::byte_serialize(text.as_bytes()));
            } else {
                out.push_str(&text);
            }
            last = r.end;
        }
        out.push_str(&s[last..]);
        Ok(out)
    }

    /// Substitutes in every string of a JSON value; a string that is exactly one reference takes its value.
    pub fn render_json(&self, v: &Value) -> Result<Value, TemplateError> {
        Ok(match v {
            Value::String(s) => {
                let refs = parse(s)?;
                match refs.as_slice() {
                    [r] if r.start == 0 && r.end == s.len() && !r.url => self.value(r)?,
                    _ => Value::String(self.render(s)?),
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_json(i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// A variable as text: strings bare, anything else as JSON.
pub fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new(7, "ab12".into(), &BTreeMap::new());
        v.set("id", json!(42));
        v.set("cursor", json!("a+b="));
        v
    }

    #[test]
    fn renders_text_and_url_filter() {
        let v = vars();
        assert_eq!(
            v.render("/n/{{id}}?c={{ cursor|url }}&s={{seed}}-{{rand}}"),
            Ok("/n/42?c=a%2Bb%3D&s=7-ab12".into())
        );
        assert_eq!(
            v.render("{{nope}}"),
            Err(TemplateError::Unknown("nope".into()))
        );
        assert_eq!(v.render("{{id"), Err(TemplateError::Unterminated));
    }

    #[test]
    fn a_whole_string_reference_keeps_the_json_type() {
        let v = vars();
        assert_eq!(
            v.render_json(&json!({"id": "{{id}}", "t": "x{{id}}"})),
            Ok(json!({"id": 42, "t": "x42"}))
        );
    }

    #[test]
    fn modulo_spreads_an_index() {
        let mut v = vars();
        v.set("i", json!(7));
        assert_eq!(v.render("k-{{i%3}}-{{i}}"), Ok("k-1-7".into()));
        assert_eq!(v.render_json(&json!("{{ i % 4 }}")), Ok(json!(3)));
        assert_eq!(references("{{i%3}}"), Ok(vec!["i".into()]));
        assert!(references("{{i%0}}").is_err());
        assert!(references("{{i%x}}").is_err());
        assert_eq!(
            v.render("{{cursor%2}}"),
            Err(TemplateError::NotInteger("cursor".into()))
        );
    }

    #[test]
    fn references_lists_names() {
        assert_eq!(
            references("{{a}}/{{b.c|url}}"),
            Ok(vec!["a".into(), "b.c".into()])
        );
        assert!(references("{{a b}}").is_err());
        assert!(references("{{a|up}}").is_err());
    }
}
