//! Invalid path parameters: a value of the wrong type (`abc` for an integer id), one past a documented limit,
//! an empty or over-long segment. Each must get a 4xx (a 404 too, documented or not: the path names nothing),
//! never a 5xx; an empty or over-long segment only must not crash. A small in-test API whose id handling is
//! chosen per test.

use gauntlet::checks::{CheckOutcome, Verdict};

use crate::fixture::assert_says;
use crate::tiny::{json, Tiny};

const DOC: &str = r#"{"openapi": "3.1.0", "info": {"title": "things", "version": "1"},
  "paths": {"/things/{thingId}": {
    "parameters": [{"name": "thingId", "in": "path", "required": true,
      "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
    "get": {"operationId": "getThing",
      "responses": {"200": {"description": "the thing"}, "400": {"description": "not an id"}}}}}}"#;

const CHECK: &str = "[[check]]\nid = \"p\"\nkind = \"openapi\"\ntitle = \"P\"\npillar = \"api\"\n\
    [check.openapi]\n[check.openapi.generate]\noperations = [\"GET /things/{id}\"]\ncases = 16\n\
    params = { id = \"7\" }\n";

/// How the API reads the id segment.
#[derive(Clone, Copy)]
enum Ids {
    /// 400 for anything but 1 to 1000, 404 for an empty segment.
    Checked,
    /// 404 for anything that is not a known thing: a near miss, the document gives no 404.
    NotFound,
    /// Parses the id and crashes when it is not a number.
    CrashesOnText,
    /// Looks the id up in a table of 1000 rows and crashes past its end.
    CrashesPastRange,
    /// Crashes on an empty segment (routes `/things/` to a handler that indexes the id).
    CrashesOnEmpty,
}

fn thing(path: &str, ids: Ids) -> crate::tiny::Reply {
    let Some(id) = path.strip_prefix("/things/") else {
        return json(404, "{}");
    };
    let number = id.parse::<i64>().ok();
    let in_range = number.is_some_and(|n| (1..=1000).contains(&n));
    match ids {
        _ if in_range => json(200, "{}"),
        Ids::Checked if id.is_empty() => json(404, "{}"),
        Ids::Checked => json(400, "{}"),
        Ids::NotFound => json(404, "{}"),
        Ids::CrashesOnText if number.is_none() && !id.is_empty() => json(500, "{}"),
        Ids::CrashesPastRange if number.is_some() => json(500, "{}"),
        Ids::CrashesOnEmpty if id.is_empty() => json(500, "{}"),
        _ => json(400, "{}"),
    }
}

async fn against(ids: Ids, verdict: Verdict) -> CheckOutcome {
    let tiny = Tiny::start(move |method, path, _, _| match (method, path) {
        ("GET", "/openapi.json") => json(200, DOC),
        ("GET", p) => thing(p, ids),
        _ => json(405, "{}"),
    });
    let outcomes = crate::support::run(&crate::support::suite(CHECK), &tiny.target).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(o.verdict, verdict, "{}\n{}", o.message, o.detail);
    o
}

#[tokio::test]
async fn wrong_types_limits_and_odd_segments_are_sent_and_refused() {
    let o = against(Ids::Checked, Verdict::Pass).await;
    for (kind, sent) in [
        ("a path parameter of the wrong type", "/things/abc"),
        ("a path parameter past a documented limit", "/things/1001"),
    ] {
        assert!(
            o.detail.contains(&format!("{kind} for getThing → 400")),
            "{kind}:\n{}",
            o.detail
        );
        assert!(o.detail.contains(sent), "{sent}:\n{}", o.detail);
    }
    assert!(
        o.detail
            .contains("an empty path segment for getThing → 404"),
        "{}",
        o.detail
    );
    assert!(
        o.detail
            .contains("an over-long path segment for getThing → 400"),
        "{}",
        o.detail
    );
    assert!(o.detail.contains("with invalid parameters"), "{}", o.detail);
}

#[tokio::test]
async fn an_undocumented_404_for_a_path_that_names_nothing_passes() {
    let o = against(Ids::NotFound, Verdict::Pass).await;
    assert!(
        o.detail.contains("→ 404 (the path names nothing)"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn a_crash_on_a_wrong_type_id_is_caught() {
    let o = against(Ids::CrashesOnText, Verdict::Fail).await;
    assert_says(
        &o,
        "a request with a path parameter of the wrong type for getThing got a server error (500) instead of a 4xx",
    );
}

#[tokio::test]
async fn a_crash_on_an_id_out_of_range_is_caught() {
    let o = against(Ids::CrashesPastRange, Verdict::Fail).await;
    assert_says(
        &o,
        "a request with a path parameter past a documented limit for getThing got a server error (500)",
    );
}

#[tokio::test]
async fn a_crash_on_an_empty_segment_is_caught() {
    let o = against(Ids::CrashesOnEmpty, Verdict::Fail).await;
    assert_says(
        &o,
        "a request with an empty path segment for getThing got a server error (500)",
    );
}
