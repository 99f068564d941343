//! The rules of a metrics check, in the order they are judged; the first that does not hold ends it. Each
//! miss has a learner-safe text (names, route templates, statuses and counts, which the README publishes) and
//! a detail for the instructor.

use std::collections::BTreeMap;

use super::scrape::Scrape;
use super::traffic::{Counts, Seen};
use super::{MetricsCheck, Required, Rule};

/// A rule that did not hold.
pub(super) struct Miss {
    pub said: String,
    pub detail: String,
}

impl Miss {
    fn same(text: String) -> Miss {
        Miss {
            detail: text.clone(),
            said: text,
        }
    }
}

/// Series shown in a message at most; the transcript has them all.
const SHOWN: usize = 4;

/// Judges every rule the check asks for; `Ok` with a transcript line per rule that held.
pub(super) fn judge(
    check: &MetricsCheck,
    before: Option<&Scrape>,
    after: &Scrape,
    seen: &Seen,
) -> Result<Vec<String>, Miss> {
    let mut held = Vec::new();
    for r in &check.require {
        required(after, r)?;
        held.push(format!(
            "{} is a {} with labels {:?}",
            r.name, r.kind, r.labels
        ));
    }
    for rule in &check.expect {
        match rule {
            Rule::Counts => {
                let (counter, before) = counter_and_before(check, before)?;
                let found = deltas(
                    before,
                    after,
                    counter,
                    &["method", "route", "status"],
                    check,
                );
                compare_counts(counter, &seen.counts, &found, check)?;
                held.push(format!("{counter} moved exactly by the requests sent"));
            }
            Rule::HistogramCount => {
                let (counter, before) = counter_and_before(check, before)?;
                let h = histogram_of(check)?;
                histogram_moves(h, counter, before, after, check)?;
                held.push(format!("{h}_count moved with {counter}"));
            }
            Rule::Buckets => {
                let h = histogram_of(check)?;
                let (min, range) = (check.min_buckets, check.bucket_range);
                let n = buckets(after, h, range)?;
                if n < min {
                    return Err(Miss::same(format!(
                        "{h} has {n} bucket bound(s) between {} and {}; at least {min} are needed for useful resolution",
                        seconds(range.0),
                        seconds(range.1)
                    )));
                }
                held.push(format!("{h} has {n} bucket bounds in range"));
            }
            Rule::NoRawIds => {
                super::ids::raw_ids(check, after, seen)?;
                held.push("no label value carries a raw id".to_string());
            }
        }
    }
    Ok(held)
}

/// The parser guarantees both for the rules that need them; a check built otherwise is a platform fault,
/// reported as a miss naming the definition.
fn counter_and_before<'a>(
    check: &'a MetricsCheck,
    before: Option<&'a Scrape>,
) -> Result<(&'a str, &'a Scrape), Miss> {
    match (&check.counter, before) {
        (Some(c), Some(b)) => Ok((c.as_str(), b)),
        _ => Err(Miss::same(
            "the check names no counter to judge".to_string(),
        )),
    }
}

fn histogram_of(check: &MetricsCheck) -> Result<&str, Miss> {
    check
        .histogram
        .as_deref()
        .ok_or_else(|| Miss::same("the check names no histogram to judge".to_string()))
}

fn required(s: &Scrape, r: &Required) -> Result<(), Miss> {
    let Some(kind) = s.type_of(&r.name) else {
        let has_samples = s.samples.iter().any(|x| x.name.starts_with(&r.name));
        let why = if has_samples {
            "has no `# TYPE` line"
        } else {
            "is missing"
        };
        return Err(Miss::same(format!("the metric {} {why}", r.name)));
    };
    if kind != r.kind {
        return Err(Miss::same(format!(
            "the metric {} is declared a {kind}, expected a {}",
            r.name, r.kind
        )));
    }
    let parts: Vec<String> = match r.kind.as_str() {
        "histogram" => ["_bucket", "_count", "_sum"]
            .iter()
            .map(|p| format!("{}{p}", r.name))
            .collect(),
        _ => vec![r.name.clone()],
    };
    let samples: Vec<_> = s
        .samples
        .iter()
        .filter(|x| parts.contains(&x.name))
        .collect();
    if samples.is_empty() && !r.labels.is_empty() {
        return Err(Miss::same(format!(
            "the metric {} has no series, so its labels cannot be seen",
            r.name
        )));
    }
    for label in &r.labels {
        if let Some(bad) = samples.iter().find(|x| !x.labels.contains_key(label)) {
            return Err(Miss {
                said: format!(
                    "the metric {} has series without the label `{label}`",
                    r.name
                ),
                detail: format!("{} {:?} has no `{label}`", bad.name, bad.labels),
            });
        }
    }
    Ok(())
}

/// Per key (the values of `keys`, other labels summed over), `after - before` of the samples named `name`,
/// leaving out ignored routes.
fn deltas(
    before: &Scrape,
    after: &Scrape,
    name: &str,
    keys: &[&str],
    check: &MetricsCheck,
) -> BTreeMap<Vec<String>, f64> {
    let mut out: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    for (scrape, sign) in [(after, 1.0), (before, -1.0)] {
        for s in scrape.named(name) {
            let key: Vec<String> = keys
                .iter()
                .map(|k| {
                    let v = s.labels.get(*k).cloned().unwrap_or_default();
                    if *k == "method" {
                        v.to_ascii_uppercase()
                    } else {
                        v
                    }
                })
                .collect();
            if keys.contains(&"route") && check.ignore_routes.contains(&key[1]) {
                continue;
            }
            *out.entry(key).or_default() += sign * s.value;
        }
    }
    out
}

fn compare_counts(
    counter: &str,
    expected: &Counts,
    found: &BTreeMap<Vec<String>, f64>,
    check: &MetricsCheck,
) -> Result<(), Miss> {
    let mut keys: Vec<Vec<String>> = expected
        .keys()
        .filter(|(_, r, _)| !check.ignore_routes.contains(r))
        .map(|(m, r, s)| vec![m.clone(), r.clone(), s.clone()])
        .collect();
    keys.extend(found.keys().cloned());
    keys.sort();
    keys.dedup();
    let mut wrong = Vec::new();
    for k in &keys {
        let want = expected
            .get(&(k[0].clone(), k[1].clone(), k[2].clone()))
            .copied()
            .unwrap_or(0) as f64;
        let got = found.get(k).copied().unwrap_or(0.0);
        if (want - got).abs() > 1e-9 {
            wrong.push(format!(
                "{} {} {}: expected +{}, found +{}",
                k[0],
                k[1],
                k[2],
                want,
                number(got)
            ));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let total: u64 = expected.values().sum();
    Err(Miss {
        said: format!(
            "after the check's {total} requests, {counter} moved differently (method route status): {}{}",
            wrong.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("; "),
            if wrong.len() > SHOWN {
                format!("; and {} more", wrong.len() - SHOWN)
            } else {
                String::new()
            }
        ),
        detail: format!("{counter} deltas that differ: {}", wrong.join("; ")),
    })
}

fn histogram_moves(
    h: &str,
    counter: &str,
    before: &Scrape,
    after: &Scrape,
    check: &MetricsCheck,
) -> Result<(), Miss> {
    let by = ["method", "route"];
    let counted = deltas(before, after, counter, &by, check);
    let observed = deltas(before, after, &format!("{h}_count"), &by, check);
    let mut keys: Vec<&Vec<String>> = counted.keys().chain(observed.keys()).collect();
    keys.sort();
    keys.dedup();
    let wrong: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let c = counted.get(k).copied().unwrap_or(0.0);
            let o = observed.get(k).copied().unwrap_or(0.0);
            ((c - o).abs() > 1e-9).then(|| {
                format!(
                    "{} {}: {counter} +{}, {h}_count +{}",
                    k[0],
                    k[1],
                    number(c),
                    number(o)
                )
            })
        })
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(Miss {
        said: format!(
            "{h}_count did not move with {counter}: {}",
            wrong
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ),
        detail: wrong.join("; "),
    })
}

/// Distinct finite bucket bounds of histogram `h` within `range` (seconds, inclusive).
fn buckets(s: &Scrape, h: &str, range: (f64, f64)) -> Result<usize, Miss> {
    let name = format!("{h}_bucket");
    let mut bounds: Vec<f64> = s
        .named(&name)
        .filter_map(|x| x.labels.get("le"))
        .filter_map(|le| le.trim().parse::<f64>().ok())
        .filter(|le| le.is_finite())
        .collect();
    if s.named(&name).next().is_none() {
        return Err(Miss::same(format!("the histogram {h} has no buckets")));
    }
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let tiny = 1e-9;
    Ok(bounds
        .iter()
        .filter(|b| **b >= range.0 - tiny && **b <= range.1 + tiny)
        .count())
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn seconds(v: f64) -> String {
    if v < 1.0 {
        format!("{} ms", number(v * 1000.0))
    } else {
        format!("{} s", number(v))
    }
}
