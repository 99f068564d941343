//! Judging the records read back from a topic against `expect_records`: the first expectation that does not
//! hold gives the learner's message, in the terms of the service's own records (ids, keys, versions the service
//! wrote), never a value the service did not see.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::RecordsExpect;
use crate::checks::http::contains;
use crate::checks::template::as_text;
use crate::kafka::ReadRecord;

/// How many ids a message lists before it counts the rest.
const SHOWN: usize = 5;

/// The records of one read, with their JSON values parsed once.
pub(super) struct Judged<'a> {
    pub record: &'a ReadRecord,
    pub json: Option<Value>,
}

/// `Ok` with a one-line summary for the timeline, or the learner's message. `expect` has its templates
/// rendered; `lists` holds the collected list variables.
pub(super) fn judge(
    expect: &RecordsExpect,
    topic: &str,
    records: &[ReadRecord],
    lists: &BTreeMap<String, Vec<Value>>,
) -> Result<String, String> {
    let selected: Vec<Judged> = records
        .iter()
        .map(|r| Judged {
            record: r,
            json: serde_json::from_slice(&r.value).ok(),
        })
        .filter(|j| match &expect.filter {
            None => true,
            Some(w) => j.json.as_ref().is_some_and(|v| contains(w, v)),
        })
        .collect();
    let which = match &expect.filter {
        None => format!("in `{topic}`"),
        Some(w) => format!("in `{topic}` matching {w}"),
    };
    if expect.none {
        if let Some(first) = selected.first() {
            return Err(format!(
                "expected no record {which}, found {} (the first at partition {} offset {})",
                selected.len(),
                first.record.partition,
                first.record.offset
            ));
        }
    }
    if let Some(n) = expect.count {
        if selected.len() != n {
            return Err(format!(
                "expected {n} records {which}, found {}",
                selected.len()
            ));
        }
    }
    if let Some(id_at) = &expect.id {
        ids(expect, id_at, &which, &selected)?;
    }
    if let Some(at) = &expect.key_is {
        for j in &selected {
            let key = j.record.key.as_deref().map(String::from_utf8_lossy);
            let want = j.json.as_ref().and_then(|v| v.pointer(at)).map(as_text);
            if key.as_deref() != want.as_deref() || key.is_none() {
                return Err(format!(
                    "the record at partition {} offset {} has key {}, not its {at} ({})",
                    j.record.partition,
                    j.record.offset,
                    key.map_or("(none)".into(), |k| format!("`{k}`")),
                    want.map_or("missing".into(), |w| format!("`{w}`")),
                ));
            }
        }
    }
    if let Some(at) = &expect.key_order {
        key_order(at, expect.id.as_deref(), &selected)?;
    }
    if let Some(inc) = &expect.includes {
        let wanted = lists.get(&inc.list).map(Vec::as_slice).unwrap_or_default();
        let present: BTreeSet<String> = selected
            .iter()
            .filter_map(|j| {
                j.json
                    .as_ref()
                    .and_then(|v| v.pointer(&inc.at))
                    .map(as_text)
            })
            .collect();
        let missing: Vec<String> = wanted
            .iter()
            .map(as_text)
            .filter(|w| !present.contains(w))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{} of {} acknowledged writes have no record {which} with their {} at {} (e.g. {})",
                missing.len(),
                wanted.len(),
                inc.list,
                inc.at,
                listed(&missing)
            ));
        }
    }
    Ok(format!(
        "{} records {which}: every expectation held",
        selected.len()
    ))
}

fn ids(
    expect: &RecordsExpect,
    id_at: &str,
    which: &str,
    selected: &[Judged],
) -> Result<(), String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for j in selected {
        let Some(id) = j.json.as_ref().and_then(|v| v.pointer(id_at)).map(as_text) else {
            return Err(format!(
                "the record at partition {} offset {} has no id at {id_at}",
                j.record.partition, j.record.offset
            ));
        };
        *seen.entry(id).or_default() += 1;
    }
    if let Some(want) = &expect.ids {
        let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
        let missing: Vec<String> = want
            .iter()
            .filter(|w| !seen.contains_key(**w))
            .map(|w| w.to_string())
            .collect();
        let extra: Vec<String> = seen
            .keys()
            .filter(|s| !want.contains(s.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("missing {}", listed(&missing)));
            }
            if !extra.is_empty() {
                parts.push(format!("unexpected {}", listed(&extra)));
            }
            return Err(format!(
                "the records {which} do not carry exactly the expected ids: {}",
                parts.join("; ")
            ));
        }
    }
    if expect.each_once {
        if let Some((id, n)) = seen.iter().find(|(_, n)| **n > 1) {
            return Err(format!("id {id} appears {n} times {which}, expected once"));
        }
    }
    if !expect.one_id_per.is_empty() {
        let mut by_change: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
        for j in selected {
            let Some(v) = &j.json else { continue };
            let change: Vec<String> = expect
                .one_id_per
                .iter()
                .map(|p| v.pointer(p).map_or("(none)".into(), as_text))
                .collect();
            if let Some(id) = v.pointer(id_at).map(as_text) {
                by_change.entry(change).or_default().insert(id);
            }
        }
        if let Some((change, ids)) = by_change.iter().find(|(_, ids)| ids.len() > 1) {
            let at: Vec<String> = expect
                .one_id_per
                .iter()
                .zip(change)
                .map(|(p, v)| format!("{p} = {v}"))
                .collect();
            let ids: Vec<String> = ids.iter().cloned().collect();
            return Err(format!(
                "one change ({}) was published under {} different ids: {}",
                at.join(", "),
                ids.len(),
                listed(&ids)
            ));
        }
    }
    Ok(())
}

/// Within each key, the value at `at` strictly increases in (partition, offset) order. With `id_at`, a record
/// whose id an earlier record of its key had is a resend (at-least-once delivery repeats what it could not know
/// was sent) and is judged where it first appeared, not again where it was repeated; whether resends are allowed
/// at all is `each_once`'s business.
fn key_order(at: &str, id_at: Option<&str>, selected: &[Judged]) -> Result<(), String> {
    let mut by_key: BTreeMap<String, Vec<&Judged>> = BTreeMap::new();
    for j in selected {
        let key = j
            .record
            .key
            .as_deref()
            .map_or("(none)".into(), |k| String::from_utf8_lossy(k).into_owned());
        by_key.entry(key).or_default().push(j);
    }
    for (key, mut rows) in by_key {
        rows.sort_by_key(|j| (j.record.partition, j.record.offset));
        if let Some(id_at) = id_at {
            let mut seen = BTreeSet::new();
            rows.retain(|j| {
                let id = j.json.as_ref().and_then(|v| v.pointer(id_at)).map(as_text);
                id.is_none_or(|id| seen.insert(id))
            });
        }
        let values: Vec<Option<&Value>> = rows
            .iter()
            .map(|j| j.json.as_ref().and_then(|v| v.pointer(at)))
            .collect();
        for pair in values.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if !increases(a, b) {
                let show = |v: Option<&Value>| v.map_or("(none)".into(), as_text);
                return Err(format!(
                    "records of key {key} out of {at} order: {} then {}",
                    show(a),
                    show(b)
                ));
            }
        }
    }
    Ok(())
}

fn increases(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x < y)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x < y,
        _ => false,
    }
}

fn listed(items: &[String]) -> String {
    let mut out: Vec<String> = items.iter().take(SHOWN).cloned().collect();
    if items.len() > SHOWN {
        out.push(format!("and {} more", items.len() - SHOWN));
    }
    out.join(", ")
}

#[cfg(test)]
mod tests;
