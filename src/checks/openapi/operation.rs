//! Operations as a lab names them (`"POST /notes"`, `"GET /notes/{id}"`) and path templates as a document
//! writes them, and how requests and names are matched against templates.
//!
//! Parameter names do not matter when matching: a lab that requires `GET /notes/{id}` is satisfied by a
//! document that writes `/notes/{noteId}`, since the name of a path parameter is the learner's choice.

use crate::checks::http::METHODS;

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `{name}`; a segment that merely contains a parameter (`{id}.json`) counts as one too.
    Param(String),
}

/// A path template split into segments: `/notes/{id}` is `[notes, {id}]`, `/` is `[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub text: String,
    pub segments: Vec<Segment>,
}

impl Template {
    pub fn parse(text: &str) -> Template {
        let segments = split(text)
            .map(
                |s| match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                    Some(name) => Segment::Param(name.to_string()),
                    None if s.contains('{') => Segment::Param(s.to_string()),
                    None => Segment::Literal(s.to_string()),
                },
            )
            .collect();
        Template {
            text: text.to_string(),
            segments,
        }
    }

    /// Whether two templates describe the same paths (literals equal, parameters where parameters are).
    pub fn same_shape(&self, other: &Template) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|(a, b)| match (a, b) {
                    (Segment::Literal(x), Segment::Literal(y)) => x == y,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }

    /// How well a concrete path (no query) fits: `None` when it does not, else the number of literal segments
    /// matched, so that `/notes/search` prefers a `/notes/search` template to `/notes/{id}`.
    pub fn fit(&self, path: &str) -> Option<usize> {
        let parts: Vec<&str> = split(path).collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut literals = 0;
        for (seg, part) in self.segments.iter().zip(parts) {
            match seg {
                Segment::Literal(l) if l == part => literals += 1,
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(_) => {}
            }
        }
        Some(literals)
    }

    /// The parameter names in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(p) => Some(p.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

/// Path segments after the leading `/`; a trailing `/` yields a last empty segment, so `/notes/` is not
/// `/notes`.
fn split(path: &str) -> impl Iterator<Item = &str> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    rest.split('/').filter({
        let root = rest.is_empty();
        move |_| !root
    })
}

/// An operation a lab names: an upper-case method and a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationName {
    pub method: String,
    pub template: Template,
}

/// Why an operation name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    #[error("`{0}` is not an operation: write a method and a path, like \"GET /notes/{{id}}\"")]
    Shape(String),
    #[error("`{0}` is not a supported method ({list})", list = METHODS.join(", "))]
    Method(String),
    #[error("path `{0}` must start with `/`")]
    Path(String),
    #[error("path `{0}` has an unbalanced or empty `{{}}`")]
    Braces(String),
}

impl OperationName {
    pub fn parse(s: &str) -> Result<OperationName, OperationError> {
        let mut parts = s.split_whitespace();
        let (Some(method), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(OperationError::Shape(s.to_string()));
        };
        let method = method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(OperationError::Method(method));
        }
        if !path.starts_with('/') {
            return Err(OperationError::Path(path.to_string()));
        }
        let balanced = split(path).all(|seg| {
            let opens = seg.matches('{').count();
            let closes = seg.matches('}').count();
            opens == closes && opens <= 1 && !seg.contains("{}")
        });
        if !balanced {
            return Err(OperationError::Braces(path.to_string()));
        }
        Ok(OperationName {
            method,
            template: Template::parse(path),
        })
    }
}

impl std::fmt::Display for OperationName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.template.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_method_and_template() {
        let op = OperationName::parse("get /notes/{id}").expect("parses");
        assert_eq!(op.method, "GET");
        assert_eq!(op.to_string(), "GET /notes/{id}");
        assert_eq!(op.template.params().collect::<Vec<_>>(), ["id"]);
    }

    #[test]
    fn refuses_malformed_names() {
        assert!(matches!(
            OperationName::parse("/notes"),
            Err(OperationError::Shape(_))
        ));
        assert!(matches!(
            OperationName::parse("FETCH /notes"),
            Err(OperationError::Method(_))
        ));
        assert!(matches!(
            OperationName::parse("GET notes"),
            Err(OperationError::Path(_))
        ));
        assert!(matches!(
            OperationName::parse("GET /notes/{id"),
            Err(OperationError::Braces(_))
        ));
        assert!(OperationName::parse("GET /notes extra").is_err());
    }

    #[test]
    fn matches_templates_whatever_the_parameter_names() {
        let doc = Template::parse("/notes/{noteId}");
        assert!(Template::parse("/notes/{id}").same_shape(&doc));
        assert!(!Template::parse("/notes").same_shape(&doc));
        assert!(!Template::parse("/tags/{id}").same_shape(&doc));
    }

    #[test]
    fn fits_concrete_paths_preferring_literals() {
        let by_id = Template::parse("/notes/{id}");
        let search = Template::parse("/notes/search");
        assert_eq!(by_id.fit("/notes/n_1"), Some(1));
        assert_eq!(search.fit("/notes/search"), Some(2));
        assert_eq!(by_id.fit("/notes"), None);
        assert_eq!(by_id.fit("/notes/"), None);
        assert_eq!(Template::parse("/").fit("/"), Some(0));
        assert_eq!(Template::parse("/notes").fit("/notes"), Some(1));
    }
}
