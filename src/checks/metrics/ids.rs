//! The `no-raw-ids` rule: label values must be bounded, so no label of the HTTP families may carry an id the
//! check's traffic used in a path, and no `route` may hold a number or a UUID for a segment.

use super::judge::Miss;
use super::scrape::Scrape;
use super::traffic::Seen;
use super::MetricsCheck;

/// No label value of the judged families is an id the traffic used in a path, and no `route` has a segment
/// that is a number or a UUID.
pub(super) fn raw_ids(check: &MetricsCheck, after: &Scrape, seen: &Seen) -> Result<(), Miss> {
    let mut families: Vec<String> = check.require.iter().map(|r| r.name.clone()).collect();
    families.extend(check.counter.iter().cloned());
    families.extend(check.histogram.iter().cloned());
    let judged = |name: &str| {
        families.iter().any(|f| {
            name == f
                || name.strip_prefix(f.as_str()).is_some_and(|rest| {
                    ["_bucket", "_count", "_sum", "_total", "_created"].contains(&rest)
                })
        })
    };
    for s in after.samples.iter().filter(|s| judged(&s.name)) {
        for (label, value) in &s.labels {
            if label == "le" || label == "quantile" {
                continue;
            }
            let segments: Vec<&str> = value.split('/').filter(|x| !x.is_empty()).collect();
            let id = seen
                .ids
                .iter()
                .find(|id| value == *id || segments.contains(&id.as_str()));
            let looks = label == "route" && segments.iter().any(|seg| looks_like_id(seg));
            if id.is_some() || looks {
                return Err(Miss {
                    said: format!(
                        "the label `{label}` of {} carries a raw id (`{value}`): label values must be bounded, like route templates",
                        s.name
                    ),
                    detail: format!(
                        "{} {:?}: {}",
                        s.name,
                        s.labels,
                        match id {
                            Some(id) => format!("holds the id `{id}` that the check used in a path"),
                            None => "a route segment is a number or a UUID".to_string(),
                        }
                    ),
                });
            }
        }
    }
    Ok(())
}

/// A path segment that is all digits or a UUID.
fn looks_like_id(seg: &str) -> bool {
    let digits = !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit());
    let uuid = seg.len() == 36
        && seg.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    digits || uuid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_uuids_are_ids_templates_are_not() {
        assert!(looks_like_id("42"));
        assert!(looks_like_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427"));
        assert!(!looks_like_id("{id}"));
        assert!(!looks_like_id("v1"));
        assert!(!looks_like_id("notes"));
    }
}
