//! The w09 GraphQL executor on its own: the grader's introspection query within the depth limits, the limits
//! refusing what the lab's abuse check sends, and answers built from a snapshot of notes.

use std::collections::BTreeMap;

use crate::graphql_exec::{execute, Limits, Refusal};
use crate::json::{self, Json};
use crate::notes::Note;

/// The grader's own introspection query, so the reference is tested against what it will be sent.
const INTROSPECTION: &str = include_str!("../../../src/checks/graphql/introspection.graphql");

fn reference() -> Limits {
    Limits {
        depth: Some(15),
        aliases: Some(20),
        list_cap: Some(100),
        budget: 100_000,
        crash_over_budget: false,
        introspection: true,
        stale_version: false,
    }
}

/// Three notes sharing the tag `t`, each related to the other two.
fn notes() -> BTreeMap<u64, Note> {
    (1..=3)
        .map(|seq| {
            let note = Note {
                title: format!("note {seq}"),
                body: String::new(),
                tags: vec!["t".to_string()],
                version: seq,
                owner: String::new(),
            };
            (seq, note)
        })
        .collect()
}

fn run(query: &str, variables: &[(&str, Json)], limits: &Limits) -> Result<Json, String> {
    let doc = graphql_parser::parse_query::<String>(query).map_err(|e| e.to_string())?;
    let vars = variables
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    match execute(&doc, None, &vars, &notes(), limits) {
        Ok(data) => json::parse(&data).ok_or_else(|| format!("not JSON: {data}")),
        Err(Refusal::Error(m)) => Err(m),
        Err(Refusal::Crash(m)) => Err(format!("CRASH {m}")),
    }
}

#[test]
fn introspection_is_answered_within_the_reference_and_the_strict_depth_limits() {
    let mut strict = reference();
    strict.depth = Some(13);
    for limits in [reference(), strict] {
        let data = run(INTROSPECTION, &[], &limits).expect("introspection runs");
        let Some(Json::Obj(schema)) = data.get("__schema") else {
            panic!("no __schema: {data:?}")
        };
        assert!(schema.iter().any(|(k, _)| k == "types"));
    }
    let mut too_strict = reference();
    too_strict.depth = Some(12);
    let refused = run(INTROSPECTION, &[], &too_strict).expect_err("13 deep");
    assert!(refused.contains("nested 13 levels"), "{refused}");
}

#[test]
fn a_deep_related_chain_is_refused_or_crashes_the_defect_without_a_limit() {
    let chain = format!(
        "query {{ note(id: \"n_1\") {{ {}id{} }} }}",
        "related { ".repeat(25),
        " }".repeat(25)
    );
    let refused = run(&chain, &[], &reference()).expect_err("too deep");
    assert!(
        refused.contains("nested 27 levels deep; at most 15"),
        "{refused}"
    );
    let mut no_limit = reference();
    no_limit.depth = None;
    no_limit.crash_over_budget = true;
    no_limit.budget = 10_000;
    let crashed = run(&chain, &[], &no_limit).expect_err("runs away");
    assert!(crashed.starts_with("CRASH"), "{crashed}");
}

#[test]
fn aliases_past_the_limit_and_a_limit_past_100_are_refused() {
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| format!("a{i}: notes {{ items {{ id }} }}"))
            .collect();
        format!("query {{ {} }}", fields.join(" "))
    };
    run(&aliases(20), &[], &reference()).expect("20 aliases run");
    let refused = run(&aliases(21), &[], &reference()).expect_err("21 aliases");
    assert!(refused.contains("21 aliases"), "{refused}");
    let refused =
        run("{ notes(limit: 101) { items { id } } }", &[], &reference()).expect_err("past the cap");
    assert!(refused.contains("from 1 to 100"), "{refused}");
}

#[test]
fn notes_page_like_rest_and_a_missing_note_is_null() {
    let page = run(
        "query P($after: String) { notes(limit: 2, after: $after) { items { id version } nextCursor } }",
        &[("after", Json::Str("c1".to_string()))],
        &reference(),
    )
    .expect("a page");
    let text = format!("{page:?}");
    assert!(text.contains("n_2") && text.contains("n_3"), "{text}");
    assert_eq!(
        page.get("notes").and_then(|n| n.get("nextCursor")),
        Some(&Json::Null)
    );
    let missing = run(
        "query M($id: ID!) { note(id: $id) { id } }",
        &[("id", Json::Str("n_999".to_string()))],
        &reference(),
    )
    .expect("null, not an error");
    assert_eq!(missing.get("note"), Some(&Json::Null));
}

#[test]
fn a_fragment_that_spreads_itself_is_refused_not_followed() {
    let query = "query { note(id: \"n_1\") { ...F } } fragment F on Note { id related { ...F } }";
    let refused = run(query, &[], &reference()).expect_err("a cycle");
    assert!(refused.contains("spreads itself"), "{refused}");
    let unknown = run("{ nope }", &[], &reference()).expect_err("no such field");
    assert!(unknown.contains("Cannot query field \"nope\""), "{unknown}");
}
