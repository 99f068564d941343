//! The generated part: valid bodies get documented non-5xx answers, invalid ones a 4xx; seeded, so a
//! re-graded run sends the same requests; the learner never sees a generated input.

use gauntlet::checks::{CheckOutcome, Verdict};

use crate::fixture::{assert_says, judge, leaves, run, sent_bodies};

/// The learner's message holds none of the values the check sent.
fn assert_no_inputs(o: &CheckOutcome) {
    let bodies = sent_bodies(&o.detail);
    assert!(
        !bodies.is_empty(),
        "no bodies in the transcript:\n{}",
        o.detail
    );
    let mut values = Vec::new();
    bodies.iter().for_each(|b| leaves(b, &mut values));
    for v in values {
        assert!(
            !o.message.contains(&v),
            "the message leaks `{v}`: {}",
            o.message
        );
    }
}

#[tokio::test]
async fn valid_and_invalid_bodies_get_documented_answers_on_the_correct_service() {
    let o = judge("openapi-generated", "", Verdict::Pass).await;
    assert!(
        o.detail.contains(
            "24 generated requests: 13 valid, 9 with invalid bodies, 2 with invalid parameters, 0 with bad credentials"
        ),
        "{}",
        o.detail
    );
    for kind in [
        "a required property missing",
        "a property of the wrong type",
        "a value past a documented limit",
        "a body that is not JSON",
    ] {
        assert!(
            o.detail.contains(&format!("{kind} for createNote → ")),
            "{kind} never sent:\n{}",
            o.detail
        );
        assert!(
            o.detail.contains(&format!("{kind} for replaceNote → ")),
            "{kind} never sent:\n{}",
            o.detail
        );
    }
}

#[tokio::test]
async fn a_crash_on_a_malformed_body_is_caught() {
    let o = judge("openapi-generated", "bad-input-500", Verdict::Fail).await;
    assert_says(&o, "got a server error (500) instead of a 4xx");
    assert_no_inputs(&o);
}

#[tokio::test]
async fn accepting_bodies_that_break_the_schema_is_caught() {
    let o = judge("openapi-generated", "no-validation", Verdict::Fail).await;
    assert_says(&o, "instead of refusing it with a 4xx");
    // Every case ran and every failure is counted, not just the first; the transcript has them all by
    // operation.
    assert!(o.detail.contains("case 24: "), "{}", o.detail);
    assert_says(
        &o,
        "of 24 generated requests got answers the document does not allow",
    );
    for op in ["createNote", "replaceNote"] {
        let group = o
            .detail
            .lines()
            .find_map(|l| l.strip_prefix(&format!("── {op}: ")))
            .unwrap_or_else(|| panic!("no group for {op}:\n{}", o.detail));
        assert!(
            group.parse::<usize>().expect("a count") >= 2,
            "{}",
            o.detail
        );
    }
    assert!(
        o.message
            .contains("createNote accepted a request body with")
            || o.message
                .contains("replaceNote accepted a request body with"),
        "{}",
        o.message
    );
    assert_no_inputs(&o);
}

#[tokio::test]
async fn schema_drift_in_answers_to_generated_requests_is_caught() {
    let o = judge("openapi-generated", "version-as-string", Verdict::Fail).await;
    // The setup step's answer is already checked against the document.
    assert_says(
        &o,
        "a response to createNote did not match the documented schema for 201",
    );
}

/// The requests of a transcript, without what changes from run to run (ports, timings).
fn requests(detail: &str) -> Vec<String> {
    detail
        .lines()
        .filter(|l| l.starts_with("> ") || l.starts_with("── step"))
        .map(|l| match l.find("http://127.0.0.1:") {
            Some(i) => {
                let rest = &l[i + "http://127.0.0.1:".len()..];
                let path = rest.find('/').map_or("", |j| &rest[j..]);
                format!("{}{path}", &l[..i])
            }
            None => l.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn the_same_seed_sends_the_same_requests_and_gets_the_same_verdict() {
    let (a, b, c) = tokio::join!(
        run("openapi-generated", "no-validation", 11),
        run("openapi-generated", "no-validation", 11),
        run("openapi-generated", "no-validation", 12),
    );
    assert_eq!(a.verdict, b.verdict);
    assert_eq!(a.message, b.message);
    let (ra, rb, rc) = (
        requests(&a.detail),
        requests(&b.detail),
        requests(&c.detail),
    );
    assert!(ra.len() > 4, "{}", a.detail);
    assert_eq!(ra, rb);
    assert_ne!(ra, rc, "another seed should send other bodies");
}

/// An openapi check of generated requests against operations written with the server path, as week 9 names them.
fn under_v1() -> gauntlet::checks::CheckSuite {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("checks")).unwrap();
    std::fs::write(
        dir.path().join("checks/v1.toml"),
        "[[check]]\nid = \"v1-generated\"\nkind = \"openapi\"\ntitle = \"Generated under /v1\"\npillar = \"api\"\n\
         timeout_secs = 20\n\n[check.openapi]\ndocument = \"/openapi.json\"\n\n[check.openapi.generate]\n\
         operations = [\"POST /v1/notes\", \"PUT /v1/notes/{id}\"]\ncases = 12\nparams = { id = \"{{note}}\" }\n\n\
         [[check.step]]\nmethod = \"POST\"\npath = \"/v1/notes\"\njson = { title = \"target {{rand}}\" }\n\
         [check.step.expect]\nstatus = 201\n[check.step.capture]\nnote = \"/id\"\n",
    )
    .unwrap();
    crate::support::load_lab(dir.path())
}

#[tokio::test]
async fn the_documents_servers_path_prefixes_every_generated_request() {
    let suite = under_v1();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let svc = crate::support::Service::with_env(&[("TESTSVC_OPENAPI_SERVER", "/v1")]);
    let o = gauntlet::checks::run_suite(&suite, &svc.target, &crate::fixture::context(7), &tx)
        .await
        .remove(0);
    assert_eq!(o.verdict, Verdict::Pass, "{}\n{}", o.message, o.detail);
    let sent = requests(&o.detail);
    assert!(
        sent.iter().any(|r| r.contains("PUT /v1/notes/")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|r| r.contains(" /notes")), "{sent:?}");

    // A document whose server path the service does not serve: its operations are not where the check looks.
    let svc = crate::support::Service::with_env(&[(
        "TESTSVC_OPENAPI_SERVER",
        "https://api.example.com/v2",
    )]);
    let o = gauntlet::checks::run_suite(&suite, &svc.target, &crate::fixture::context(7), &tx)
        .await
        .remove(0);
    assert_eq!(o.verdict, Verdict::Fail, "{}\n{}", o.message, o.detail);
}

/// A one-check suite generating for `POST /notes` and `PUT /notes/{id}`, with at most `cases` requests.
fn create_and_replace(cases: usize) -> String {
    format!(
        "[[check]]\nid = \"gen\"\nkind = \"openapi\"\ntitle = \"Gen\"\npillar = \"api\"\n\
         [check.openapi]\n[check.openapi.generate]\noperations = [\"POST /notes\", \"PUT /notes/{{id}}\"]\n\
         cases = {cases}\nparams = {{ id = \"{{{{note}}}}\" }}\n\
         [[check.step]]\nmethod = \"POST\"\npath = \"/notes\"\njson = {{ title = \"target\" }}\n\
         [check.step.capture]\nnote = \"/id\"\n"
    )
}

#[tokio::test]
async fn a_bound_of_one_request_per_operation_sends_invalid_bodies_too() {
    // Valid bodies first would spend both requests on them.
    let svc = crate::support::Service::start();
    let o = crate::support::single(&create_and_replace(2), &svc, Verdict::Pass).await;
    assert!(
        o.detail.contains(
            "2 generated requests: 1 valid, 1 with invalid bodies, 0 with invalid parameters, 0 with bad credentials"
        ),
        "{}",
        o.detail
    );
    // So two requests are enough to catch a service that validates nothing.
    let svc = crate::support::Service::with_env(&[("TESTSVC_DEFECT", "no-validation")]);
    let o = crate::support::single(&create_and_replace(2), &svc, Verdict::Fail).await;
    assert_says(
        &o,
        "failed: 1 of 2 generated requests got answers the document does not allow",
    );
    assert_says(&o, "replaceNote accepted a request body with");
}

/// A one-check suite generating for `GET /notes` only, whose query has `limit` (1 to 100) and `cursor`.
const LIST_ONLY: &str =
    "[[check]]\nid = \"list\"\nkind = \"openapi\"\ntitle = \"List\"\npillar = \"api\"\n\
    [check.openapi]\n[check.openapi.generate]\noperations = [\"GET /notes\"]\ncases = 8\n";

#[tokio::test]
async fn query_parameters_are_generated_valid_and_invalid() {
    let svc = crate::support::Service::start();
    let o = crate::support::single(LIST_ONLY, &svc, Verdict::Pass).await;
    assert!(
        o.detail.contains(
            "8 generated requests: 4 valid, 0 with invalid bodies, 4 with invalid parameters, 0 with bad credentials"
        ),
        "{}",
        o.detail
    );
    for kind in [
        "a parameter of the wrong type",
        "a parameter past a documented limit",
        "an empty parameter",
    ] {
        assert!(
            o.detail.contains(&format!("{kind} for listNotes → 400")),
            "{kind}:\n{}",
            o.detail
        );
    }
    assert!(o.detail.contains("/notes?limit="), "{}", o.detail);
    // A service that ignores a bad `limit` (answering 200) is caught.
    let svc = crate::support::Service::with_env(&[("TESTSVC_DEFECT", "lenient-list")]);
    let o = crate::support::single(LIST_ONLY, &svc, Verdict::Fail).await;
    assert_says(&o, "listNotes accepted a request with a parameter");
    // The parameter is named by its kind of problem, never by its name or value.
    assert!(
        !o.message.contains("`limit`") && !o.message.contains("limit="),
        "{}",
        o.message
    );
}
