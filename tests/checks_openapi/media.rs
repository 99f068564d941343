//! A YAML document (whose `servers[0].url` path prefixes its operations), and what answers must say beyond
//! their status and body: a documented `Content-Type`, and `Allow` on a 405. Served by a small in-test
//! server, since these are documents and answers testsvc does not give.

use gauntlet::checks::{CheckOutcome, Verdict};

use crate::fixture::assert_says;
use crate::tiny::{json, Reply, Tiny};

const YAML: &str = "\
openapi: 3.1.0
info: {title: notes, version: '1'}
servers:
  - url: https://api.example.com/v1/
paths:
  /notes:
    get:
      operationId: listNotes
      responses:
        200:
          description: the notes
          content:
            application/json:
              schema: {type: array}
    delete:
      operationId: dropNotes
      responses:
        405:
          description: not allowed
";

const CHECK: &str = "[[check]]\nid = \"y\"\nkind = \"openapi\"\ntitle = \"Y\"\npillar = \"api\"\n\
    [check.openapi]\ndocument = \"/openapi.yaml\"\nrequire = [\"GET /v1/notes\", \"DELETE /v1/notes\"]\n\
    [[check.step]]\npath = \"/v1/notes\"\n[[check.step]]\nmethod = \"DELETE\"\npath = \"/v1/notes\"\n";

/// Serves the YAML document and `/v1/notes`, whose GET answers `list` and DELETE answers `delete`.
async fn against(list: Reply, delete: Reply, verdict: Verdict) -> CheckOutcome {
    let tiny = Tiny::start(move |method, path, _, _| match (method, path) {
        ("GET", "/openapi.yaml") => (
            200,
            vec![("content-type", "application/yaml".into())],
            YAML.into(),
        ),
        ("GET", "/v1/notes") => list.clone(),
        ("DELETE", "/v1/notes") => delete.clone(),
        _ => json(404, "{}"),
    });
    let outcomes = crate::support::run(&crate::support::suite(CHECK), &tiny.target).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(o.verdict, verdict, "{}\n{}", o.message, o.detail);
    o
}

fn allowed() -> Reply {
    (405, vec![("allow", "GET".into())], String::new())
}

#[tokio::test]
async fn a_yaml_document_is_read_and_its_server_path_honoured() {
    let o = against(json(200, "[]"), allowed(), Verdict::Pass).await;
    assert!(
        o.detail.contains("bytes of application/yaml, sha256 "),
        "{}",
        o.detail
    );
    assert!(
        o.detail.contains("document: matches listNotes 200"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn an_undocumented_content_type_is_caught() {
    let text = (
        200,
        vec![("content-type", "text/plain".into())],
        "[]".into(),
    );
    let o = against(text, allowed(), Verdict::Fail).await;
    assert_says(
        &o,
        "failed at step 1 of 2: a response to listNotes had a Content-Type the document does not give for 200",
    );
    assert!(
        o.detail
            .contains("Content-Type text/plain, documented application/json"),
        "{}",
        o.detail
    );
    // Parameters do not matter: `application/json; charset=utf-8` is `application/json`.
    let charset = (
        200,
        vec![("content-type", "application/json; charset=utf-8".into())],
        "[]".into(),
    );
    against(charset, allowed(), Verdict::Pass).await;
}

#[tokio::test]
async fn a_405_without_allow_is_caught() {
    let o = against(
        json(200, "[]"),
        (405, Vec::new(), String::new()),
        Verdict::Fail,
    )
    .await;
    assert_says(
        &o,
        "failed at step 2 of 2: a 405 answer to dropNotes did not say which methods are allowed (no Allow header)",
    );
}

#[tokio::test]
async fn a_document_that_is_neither_json_nor_yaml_is_refused() {
    let tiny = Tiny::start(|_, _, _, _| {
        (
            200,
            vec![("content-type", "text/html".into())],
            "<html>hi</html>".into(),
        )
    });
    let outcomes = crate::support::run(&crate::support::suite(CHECK), &tiny.target).await;
    let o = &outcomes[0];
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.detail);
    assert_eq!(
        o.message,
        "failed: the OpenAPI document at /openapi.yaml is neither JSON nor YAML"
    );
    assert!(o.detail.contains("<html>hi</html>"), "{}", o.detail);
}
