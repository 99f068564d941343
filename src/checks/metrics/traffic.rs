//! What the check's own requests should have added to the metrics: each answer seen, filed under the route
//! template its path matches, by method and the status actually answered.

use std::collections::BTreeMap;

use super::MetricsCheck;
use crate::checks::http::{Answer, Failure, Observer};

/// (method, route template, status) → answers.
pub(crate) type Counts = BTreeMap<(String, String, String), u64>;

/// The observer of the steps: every answer, and the path segments that stood for a `{placeholder}`.
pub(crate) struct Seen {
    routes: Vec<String>,
    unmatched: String,
    pub counts: Counts,
    /// Values that filled a template's `{id}` in a path sent: the ids no label may carry.
    pub ids: Vec<String>,
}

impl Seen {
    pub fn new(check: &MetricsCheck) -> Seen {
        Seen {
            routes: check.routes.clone(),
            unmatched: check.unmatched.clone(),
            counts: Counts::new(),
            ids: Vec::new(),
        }
    }

    /// Files one answer.
    pub fn record(&mut self, method: &str, path: &str, status: u16) {
        let route = match template_of(&self.routes, path) {
            Some((route, ids)) => {
                for id in ids {
                    if !self.ids.contains(&id) {
                        self.ids.push(id);
                    }
                }
                route
            }
            None => self.unmatched.clone(),
        };
        let key = (method.to_ascii_uppercase(), route, status.to_string());
        *self.counts.entry(key).or_default() += 1;
    }

    /// One transcript line per series the traffic should have moved.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|((m, r, s), n)| format!("{m} {r} {s}: +{n}"))
            .collect();
        format!("requests sent, by route template: {}", parts.join(", "))
    }
}

impl Observer for Seen {
    fn answered(
        &mut self,
        _: usize,
        method: &str,
        url: &url::Url,
        answer: &Answer,
    ) -> Result<Option<String>, Failure> {
        self.record(method, url.path(), answer.status);
        Ok(None)
    }
}

/// The first template `path` matches, segment by segment (`{name}` matches any one non-empty segment), with
/// the segments that filled its placeholders.
pub(crate) fn template_of(routes: &[String], path: &str) -> Option<(String, Vec<String>)> {
    let sent: Vec<&str> = path.split('/').collect();
    'routes: for route in routes {
        let parts: Vec<&str> = route.split('/').collect();
        if parts.len() != sent.len() {
            continue;
        }
        let mut ids = Vec::new();
        for (p, s) in parts.iter().zip(&sent) {
            if p.starts_with('{') && p.ends_with('}') {
                if s.is_empty() {
                    continue 'routes;
                }
                ids.push((*s).to_string());
            } else if p != s {
                continue 'routes;
            }
        }
        return Some((route.clone(), ids));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_takes_the_template_it_matches_and_gives_up_its_ids() {
        let routes = vec!["/v1/notes".to_string(), "/v1/notes/{id}".to_string()];
        assert_eq!(
            template_of(&routes, "/v1/notes/n_3"),
            Some(("/v1/notes/{id}".to_string(), vec!["n_3".to_string()]))
        );
        assert_eq!(
            template_of(&routes, "/v1/notes"),
            Some(("/v1/notes".to_string(), vec![]))
        );
        assert_eq!(template_of(&routes, "/v1/notes/"), None);
        assert_eq!(template_of(&routes, "/v1/notes/a/b"), None);
        assert_eq!(template_of(&routes, "/nowhere"), None);
    }
}
