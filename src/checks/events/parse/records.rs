//! The record-shaped parts of an events step: a record to produce, and `expect_records`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::Parser;
use crate::checks::events::{Includes, RecordsExpect};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecord {
    pub key: Option<Spanned<String>>,
    pub json: Option<Spanned<serde_json::Value>>,
    pub text: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<Spanned<String>, Spanned<String>>,
    pub copies: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecordsExpect {
    #[serde(rename = "where")]
    filter: Option<Spanned<serde_json::Value>>,
    id: Option<Spanned<String>>,
    ids: Option<Spanned<Vec<Spanned<String>>>>,
    each_once: Option<Spanned<bool>>,
    one_id_per: Option<Spanned<Vec<Spanned<String>>>>,
    count: Option<Spanned<i64>>,
    key_is: Option<Spanned<String>>,
    key_order: Option<Spanned<String>>,
    includes: Option<Spanned<RawIncludes>>,
    none: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncludes {
    list: Spanned<String>,
    at: Spanned<String>,
}

/// Reads `expect_records`; `lists` are the list variables collected so far.
pub(super) fn expect(
    p: &mut Parser,
    raw: Spanned<RawRecordsExpect>,
    lists: &BTreeSet<String>,
) -> Option<RecordsExpect> {
    let at = raw.span().start;
    let raw = raw.into_inner();
    let before = p.problems.len();
    if let Some(f) = &raw.filter {
        if !f.get_ref().is_object() {
            p.problem(
                f.span().start,
                "`where` is a table: the subset a record's JSON value must contain",
            );
        }
        p.json_template(f.span().start, f.get_ref(), false);
    }
    let id = raw.id.as_ref().map(|i| p.pointer(i));
    let needs_id = [
        ("ids", raw.ids.as_ref().map(|s| s.span().start)),
        (
            "each_once",
            raw.each_once
                .as_ref()
                .filter(|e| *e.get_ref())
                .map(|s| s.span().start),
        ),
        (
            "one_id_per",
            raw.one_id_per.as_ref().map(|s| s.span().start),
        ),
    ];
    for (name, offset) in needs_id {
        if let Some(o) = offset.filter(|_| id.is_none()) {
            p.problem(
                o,
                format!("`{name}` needs `id`: the JSON pointer to a record's id"),
            );
        }
    }
    let ids = raw.ids.map(|ids| {
        ids.into_inner()
            .into_iter()
            .map(|i| {
                p.template(i.span().start, i.get_ref(), false);
                i.into_inner()
            })
            .collect()
    });
    let one_id_per = raw
        .one_id_per
        .map(|v| v.into_inner().iter().map(|x| p.pointer(x)).collect())
        .unwrap_or_default();
    let count = raw
        .count
        .as_ref()
        .map(|c| p.ranged(c, "count", 0, 1_000_000).unsigned_abs() as usize);
    let key_is = raw.key_is.as_ref().map(|k| p.pointer(k));
    let key_order = raw.key_order.as_ref().map(|k| p.pointer(k));
    let includes = raw.includes.map(|i| {
        let i = i.into_inner();
        if !lists.contains(i.list.get_ref()) {
            p.problem(
                i.list.span().start,
                format!(
                    "`{}` is not a list collected by an earlier `writes` step",
                    i.list.get_ref()
                ),
            );
        }
        Includes {
            list: i.list.get_ref().clone(),
            at: p.pointer(&i.at),
        }
    });
    let none = raw.none.as_ref().is_some_and(|n| *n.get_ref());
    let each_once = raw.each_once.as_ref().is_some_and(|e| *e.get_ref());
    let expect = RecordsExpect {
        filter: raw.filter.map(Spanned::into_inner),
        id,
        ids,
        each_once,
        one_id_per,
        count,
        key_is,
        key_order,
        includes,
        none,
    };
    let others = expect.ids.is_some()
        || expect.each_once
        || !expect.one_id_per.is_empty()
        || expect.count.is_some()
        || expect.key_is.is_some()
        || expect.key_order.is_some()
        || expect.includes.is_some();
    if let Some(n) = raw.none.as_ref().filter(|_| none && others) {
        p.problem(n.span().start, "`none = true` asks for no record at all: it cannot go with other expectations (only `where`)");
    }
    if !none && !others {
        p.problem(at, "expect_records needs an expectation: ids, each_once, one_id_per, count, key_is, key_order, includes or none");
    }
    (p.problems.len() == before).then_some(expect)
}
