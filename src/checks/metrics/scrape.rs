//! Fetching `/metrics` and reading it into samples: name, labels, value. The text is parsed by
//! `prom_text_format_parser`; what is joined here is the family naming the crate does not know: OpenMetrics
//! declares a counter without its `_total` (`# TYPE http_requests counter`, samples `http_requests_total`), so
//! the declared types are read from the `# TYPE` lines and a `_total` sample finds its family either way.

use std::collections::{BTreeMap, HashMap};

use prom_text_format_parser::{parse_scrape, ScrapeParseError, Type, ValueType};
use tokio::time::Instant;

/// The most of an exposition read: far more than any service of these labs exposes.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// One sample line: `name{labels} value`, with histogram and summary parts named in full (`_bucket`,
/// `_count`, `_sum`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One scrape: the declared types by family name and every sample.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrape {
    types: HashMap<String, String>,
    pub samples: Vec<Sample>,
    /// Families the parser could not assemble (e.g. declared without samples), for the transcript only.
    pub warnings: Vec<String>,
}

/// Why a scrape could not be judged; every one is the learner's service's doing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScrapeError {
    #[error("GET {path} could not be sent: {reason}")]
    Unreachable { path: String, reason: String },
    #[error("GET {path} answered {status}, not 200")]
    Status { path: String, status: u16 },
    #[error("GET {path} is not in the Prometheus text format: {reason}")]
    Syntax { path: String, reason: String },
}

impl Scrape {
    /// Parses an exposition (Prometheus text 0.0.4 or OpenMetrics text, exemplars included: they are dropped
    /// first, since the parser does not know them and no check judges them).
    pub fn parse(text: &str) -> Result<Scrape, String> {
        let text = &without_exemplars(text);
        let (metrics, error) = parse_scrape(text);
        let mut warnings = Vec::new();
        match error {
            Some(ScrapeParseError::Parse(why)) => {
                return Err(why.lines().take(4).collect::<Vec<_>>().join(" "))
            }
            Some(ScrapeParseError::Collect(errors)) => {
                warnings = errors
                    .iter()
                    .map(|e| format!("line {}: {}", e.line_no.start + 1, e.error))
                    .collect();
            }
            None => {}
        }
        let mut samples = Vec::new();
        for m in &metrics {
            for s in &m.samples {
                let suffix = match (m.kind, s.value.value_type) {
                    (_, ValueType::Count) => "_count",
                    (_, ValueType::Sum) => "_sum",
                    (Type::Histogram, ValueType::Sample) => "_bucket",
                    _ => "",
                };
                let value = s.value.value.trim().parse::<f64>().unwrap_or(f64::NAN);
                samples.push(Sample {
                    name: format!("{}{suffix}", m.name),
                    labels: s
                        .labels
                        .iter()
                        .map(|l| (l.key.clone(), l.value.clone()))
                        .collect(),
                    value,
                });
            }
        }
        let types = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|rest| {
                let mut parts = rest.split_whitespace();
                Some((parts.next()?.to_string(), parts.next()?.to_string()))
            })
            .collect();
        Ok(Scrape {
            types,
            samples,
            warnings,
        })
    }

    /// The declared type of the family a metric name belongs to (`counter`, `gauge`, `histogram`, …), reading
    /// `name_total` as the counter `name` when the exposition declares it the OpenMetrics way.
    pub fn type_of(&self, name: &str) -> Option<&str> {
        if let Some(t) = self.types.get(name) {
            return Some(t.as_str());
        }
        let family = name.strip_suffix("_total")?;
        self.types
            .get(family)
            .filter(|t| t.as_str() == "counter")
            .map(String::as_str)
    }

    /// Samples named exactly `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }
}

/// `GET path` on the service, parsed; the answer's size and type go to the transcript line returned.
/// The exposition with each sample line's OpenMetrics exemplar (` # {labels} value [timestamp]` after the value)
/// cut off. A `#` inside a quoted label value is not one; comment lines (`# TYPE`, `# HELP`) are kept whole.
fn without_exemplars(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(" # {") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let cut = (!line.starts_with('#'))
            .then(|| exemplar_start(line))
            .flatten();
        match cut {
            Some(at) => {
                out.push_str(line[..at].trim_end());
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Where a sample line's exemplar begins: the first ` # {` outside a quoted label value.
fn exemplar_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let (mut quoted, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b' ' if !quoted && bytes[i..].starts_with(b" # {") => return Some(i),
            _ => {}
        }
    }
    None
}

pub(crate) async fn fetch(
    client: &reqwest::Client,
    base: &url::Url,
    path: &str,
    deadline: Instant,
) -> Result<(Scrape, String), ScrapeError> {
    let unreachable = |reason: String| ScrapeError::Unreachable {
        path: path.to_string(),
        reason,
    };
    let url = base.join(path).map_err(|e| unreachable(e.to_string()))?;
    let left = deadline.saturating_duration_since(Instant::now());
    let started = Instant::now();
    let response = client
        .get(url)
        .timeout(left)
        .send()
        .await
        .map_err(|e| unreachable(crate::checks::http::error_chain(&e)))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response
        .bytes()
        .await
        .map_err(|e| unreachable(crate::checks::http::error_chain(&e)))?;
    if status != 200 {
        return Err(ScrapeError::Status {
            path: path.to_string(),
            status,
        });
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_BYTES)]);
    let scrape = Scrape::parse(&text).map_err(|reason| ScrapeError::Syntax {
        path: path.to_string(),
        reason,
    })?;
    let line = format!(
        "GET {path} → 200 in {} ms, {} bytes of {content_type}, {} samples",
        started.elapsed().as_millis(),
        body.len(),
        scrape.samples.len()
    );
    Ok((scrape, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_and_openmetrics_name_the_same_counter() {
        let prom =
            "# TYPE http_requests_total counter\nhttp_requests_total{route=\"/v1/notes/{id}\"} 3\n";
        let open = "# TYPE http_requests counter\nhttp_requests_total{route=\"/v1/notes/{id}\"} 3\nhttp_requests_created{route=\"/v1/notes/{id}\"} 1.7e9\n# EOF\n";
        for text in [prom, open] {
            let s = Scrape::parse(text).unwrap();
            assert_eq!(s.type_of("http_requests_total"), Some("counter"), "{text}");
            let found: Vec<_> = s.named("http_requests_total").collect();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].labels["route"], "/v1/notes/{id}");
            assert_eq!(found[0].value, 3.0);
        }
    }

    #[test]
    fn histogram_parts_are_named_in_full() {
        let text = "# TYPE h histogram\nh_bucket{le=\"0.005\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.5\nh_count 3\n";
        let s = Scrape::parse(text).unwrap();
        assert_eq!(s.named("h_bucket").count(), 2);
        assert_eq!(s.named("h_count").next().map(|x| x.value), Some(3.0));
        assert_eq!(s.type_of("h"), Some("histogram"));
    }

    #[test]
    fn openmetrics_exemplars_are_read_past_and_quoted_hashes_kept() {
        let text = "# TYPE h histogram\n\
            h_bucket{le=\"0.1\",route=\"/a # {b}\"} 2 # {trace_id=\"4bf92f3577b34da6\"} 0.05 1.7e9\n\
            h_bucket{le=\"+Inf\",route=\"/a # {b}\"} 3 # {trace_id=\"00f067aa0ba902b7\"} 0.7\n\
            h_sum{route=\"/a # {b}\"} 0.8\nh_count{route=\"/a # {b}\"} 3\n\
            # TYPE c counter\nc_total 5 # {trace_id=\"x\"} 1\n# EOF\n";
        let s = Scrape::parse(text).unwrap();
        let buckets: Vec<_> = s.named("h_bucket").map(|x| x.value).collect();
        assert_eq!(buckets, [2.0, 3.0]);
        assert_eq!(
            s.named("h_count").next().unwrap().labels["route"],
            "/a # {b}"
        );
        assert_eq!(s.named("c_total").next().map(|x| x.value), Some(5.0));
    }

    #[test]
    fn text_that_is_not_an_exposition_is_refused() {
        assert!(Scrape::parse("<html>hello</html>\n").is_err());
    }
}
