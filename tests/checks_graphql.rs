//! The `graphql` kind against testsvc as the w09 reference (a local process): the bundled w09 GraphQL checks
//! pass on it and on its near misses, each GraphQL defect fails the check written for it with a message that
//! names what went wrong, the SDL part catches an SDL that drifted from introspection, and malformed
//! `[check.graphql]` tables are refused with their line.

mod common;

#[allow(dead_code)]
#[path = "checks_http/support.rs"]
mod support;

use std::path::Path;

use gauntlet::checks::{CheckOutcome, CheckSuite, Verdict};

use support::{assert_problem, run, single, Service};

const LAB: [(&str, &str); 1] = [("GAUNTLET_LAB", "w09-contract")];

/// The bundled w09 checks of the `graphql` kind, in file order.
fn graphql_checks() -> CheckSuite {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w09-contract");
    let pillars = ["api".to_string(), "language".to_string()];
    let mut suite = CheckSuite::load(&lab, &pillars).expect("w09 loads");
    suite.checks.retain(|c| c.kind.name() == "graphql");
    assert_eq!(suite.checks.len(), 4, "the w09 graphql checks");
    suite
}

async fn outcomes(env: &[(&str, &str)]) -> Vec<CheckOutcome> {
    let mut all = LAB.to_vec();
    all.extend_from_slice(env);
    let service = Service::with_env(&all);
    run(&graphql_checks(), &service.target).await
}

fn outcome<'a>(outcomes: &'a [CheckOutcome], id: &str) -> &'a CheckOutcome {
    outcomes
        .iter()
        .find(|o| o.check_id == id)
        .unwrap_or_else(|| panic!("no outcome for {id}"))
}

/// Asserts the verdict of every check: `failing` fail (each with its words in the message), the rest pass.
fn assert_only(all: &[CheckOutcome], failing: &[(&str, &str)]) {
    for o in all {
        match failing.iter().find(|(id, _)| *id == o.check_id) {
            Some((_, said)) => {
                assert_eq!(o.verdict, Verdict::Fail, "{}: {}", o.check_id, o.detail);
                assert!(o.message.contains(said), "{}: {}", o.check_id, o.message);
            }
            None => assert_eq!(
                o.verdict,
                Verdict::Pass,
                "{}: {}\n{}",
                o.check_id,
                o.message,
                o.detail
            ),
        }
    }
}

#[tokio::test]
async fn the_reference_and_its_near_misses_pass_every_graphql_check() {
    for variant in [
        "",
        "graphql-400",
        "graphql-strict-depth",
        "graphql-extra-fields",
    ] {
        let all = outcomes(&[("TESTSVC_VARIANT", variant)]).await;
        assert_only(&all, &[]);
        // The measured time of every refusal is in the transcript.
        let abuse = outcome(&all, "graphql-refuses-abuse");
        assert!(
            abuse
                .detail
                .contains("4 abusive or malformed requests, answered in:"),
            "{}",
            abuse.detail
        );
    }
}

#[tokio::test]
async fn a_missing_limit_fails_the_abuse_check_naming_the_request_it_let_through() {
    let cases = [
        // It falls over (500) once its runaway query has resolved two million fields, or is cut at 2 s.
        (
            "graphql-no-depth-limit",
            "the query nesting `related` 25 levels deep: ",
        ),
        (
            "graphql-no-list-cap",
            "the query with a limit of 100000: answered 200 without a GraphQL error",
        ),
        (
            "graphql-no-alias-limit",
            "the query with 100 aliases of one field: answered 200 without a GraphQL error",
        ),
    ];
    for (defect, said) in cases {
        let all = outcomes(&[("TESTSVC_DEFECT", defect)]).await;
        assert_only(&all, &[("graphql-refuses-abuse", said)]);
        let o = outcome(&all, "graphql-refuses-abuse");
        assert!(
            o.message.contains("1 of 4 abusive"),
            "{defect}: {}",
            o.message
        );
    }
}

#[tokio::test]
async fn introspection_off_fails_the_schema_and_skips_the_rest() {
    let all = outcomes(&[("TESTSVC_DEFECT", "graphql-no-introspection")]).await;
    let o = outcome(&all, "graphql-schema");
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.detail);
    assert!(
        o.message
            .contains("no data.__schema: is introspection switched off? (the first error says: introspection is disabled)"),
        "{}",
        o.message
    );
    for id in [
        "graphql-matches-rest",
        "graphql-refuses-abuse",
        "graphql-malformed",
    ] {
        assert_eq!(outcome(&all, id).verdict, Verdict::Skipped, "{id}");
    }
}

#[tokio::test]
async fn a_field_that_differs_from_rest_is_named_without_its_values() {
    let all = outcomes(&[("TESTSVC_DEFECT", "graphql-stale-version")]).await;
    assert_only(
        &all,
        &[(
            "graphql-matches-rest",
            "failed at query 1 of 5: GraphQL's `/data/note` differs from REST's `` for the same data",
        )],
    );
    let o = outcome(&all, "graphql-matches-rest");
    assert!(o.detail.contains("\"version\":1"), "{}", o.detail);
    assert!(!o.message.contains("version\":"), "{}", o.message);
}

#[tokio::test]
async fn malformed_requests_that_crash_or_errors_without_an_array_fail() {
    let all = outcomes(&[("TESTSVC_DEFECT", "graphql-malformed-500")]).await;
    assert_only(
        &all,
        &[(
            "graphql-malformed",
            "a query that does not parse: a server error (500)",
        )],
    );
    let all = outcomes(&[("TESTSVC_DEFECT", "graphql-errors-bare")]).await;
    assert_only(
        &all,
        &[
            (
                "graphql-refuses-abuse",
                "4 of 4 abusive or malformed requests",
            ),
            (
                "graphql-malformed",
                "a query of a field the schema does not have: answered 200 without a GraphQL error",
            ),
        ],
    );
}

#[tokio::test]
async fn a_service_without_graphql_fails_the_schema_check_with_its_status() {
    // Without w09, testsvc serves the notes but no /graphql.
    let service = Service::start();
    let all = run(&graphql_checks(), &service.target).await;
    let o = outcome(&all, "graphql-schema");
    assert_eq!(o.verdict, Verdict::Fail);
    assert!(
        o.message
            .contains("the introspection query was answered 404, not 200"),
        "{}",
        o.message
    );
}

const HEAD: &str =
    "[[check]]\nid = \"g\"\nkind = \"graphql\"\ntitle = \"GraphQL\"\npillar = \"api\"\n";

fn sdl_check(require: &str) -> String {
    format!("{HEAD}\n[check.graphql]\nsdl = \"/graphql/schema.graphql\"\nrequire = '''\n{require}\n'''\n")
}

#[tokio::test]
async fn the_sdl_must_agree_with_introspection_and_requirements_are_named() {
    let service = Service::with_env(&LAB);
    let check = sdl_check("type Note { id: ID! related: [Note!]! }");
    let o = single(&check, &service, Verdict::Pass).await;
    assert!(
        o.detail.contains("agrees with introspection"),
        "{}",
        o.detail
    );
    let extra = Service::with_env(&[LAB[0], ("TESTSVC_VARIANT", "graphql-extra-fields")]);
    single(&check, &extra, Verdict::Pass).await;
    let stale = Service::with_env(&[LAB[0], ("TESTSVC_DEFECT", "graphql-sdl-stale")]);
    let o = single(&check, &stale, Verdict::Fail).await;
    assert!(
        o.message.contains("the SDL has no field `Note.related`"),
        "{}",
        o.message
    );
    let wrong = sdl_check("type Note { id: ID! updatedAt: String! title: String }");
    let o = single(&wrong, &service, Verdict::Fail).await;
    assert!(
        o.message.contains("the schema has no field `Note.updatedAt`; `Note.title` is of type `String!`; the contract says `String`"),
        "{}",
        o.message
    );
    let not_sdl = format!("{HEAD}\n[check.graphql]\nsdl = \"/openapi.json\"\n");
    let o = single(&not_sdl, &service, Verdict::Fail).await;
    assert!(
        o.message
            .contains("the SDL at /openapi.json does not parse"),
        "{}",
        o.message
    );
}

#[tokio::test]
async fn a_refusal_that_comes_too_late_fails_with_the_bound_and_the_time_measured() {
    // Every answer waits 600 ms: correct refusals, but not within the 300 ms this check allows.
    let slow = Service::with_env(&[LAB[0], ("TESTSVC_DELAY_MS", "600")]);
    let check = format!("{HEAD}\n[check.graphql.abuse]\nwithin_ms = 300\nmalformed = true\n");
    let o = single(&check, &slow, Verdict::Fail).await;
    assert!(
        o.message.contains("4 of 4 abusive or malformed requests")
            && o.message
                .contains("a query that does not parse: no answer within 300 ms"),
        "{}",
        o.message
    );
    assert!(
        o.detail.contains("answered in: over 3"),
        "the times measured: {}",
        o.detail
    );
    // The same refusals within a bound they meet pass.
    let patient = format!("{HEAD}\n[check.graphql.abuse]\nwithin_ms = 2000\nmalformed = true\n");
    let check = patient.replace(
        "kind = \"graphql\"",
        "kind = \"graphql\"\ntimeout_secs = 10",
    );
    single(&check, &slow, Verdict::Pass).await;
}

#[test]
fn malformed_graphql_tables_are_refused_with_their_line() {
    assert_problem(HEAD, 1, "needs a [check.graphql] table");
    let nothing = format!("{HEAD}\n[check.graphql]\npath = \"/graphql\"\n");
    assert_problem(&nothing, 7, "needs something to grade");
    let bad_sdl = format!(
        "{HEAD}\n[check.graphql]\nrequire = '''\ntype Query {{\n  note(id: ID!: Note\n}}\n'''\n"
    );
    assert_problem(&bad_sdl, 10, "`require` is not usable SDL");
    let bad_query = format!(
        "{HEAD}\n[[check.graphql.query]]\nquery = 'query {{ note(id: \"x\") {{ id }}'\nnull = [\"/data/note\"]\n"
    );
    assert_problem(&bad_query, 8, "the GraphQL document does not parse");
    let unknown_var = format!(
        "{HEAD}\n[[check.graphql.query]]\nquery = '{{ note(id: \"{{{{nope}}}}\") {{ id }} }}'\nnull = [\"/data/note\"]\n"
    );
    assert_problem(&unknown_var, 8, "variable `nope` is not captured");
    let same_without_rest = format!(
        "{HEAD}\n[[check.graphql.query]]\nquery = '{{ notes {{ items {{ id }} }} }}'\nsame = {{ \"/data/notes\" = \"/items\" }}\n"
    );
    assert_problem(
        &same_without_rest,
        8,
        "`same` and `rest_capture` need `rest`",
    );
    let empty_abuse = format!("{HEAD}\n[check.graphql.abuse]\nwithin_ms = 100\n");
    assert_problem(&empty_abuse, 7, "needs `deep`, `aliases`");
    let too_deep = format!(
        "{HEAD}\n[check.graphql.abuse]\ndeep = {{ root = \"notes\", field = \"items\", levels = 90, leaf = \"id\" }}\n"
    );
    assert_problem(&too_deep, 8, "levels must be from 2 to 40");
    let too_slow = format!("{HEAD}timeout_secs = 5\n\n[check.graphql.abuse]\nmalformed = true\n");
    assert_problem(&too_slow, 8, "may take 8000 ms");
    let elsewhere = "[[check]]\nid = \"h\"\nkind = \"http\"\ntitle = \"T\"\npillar = \"api\"\n\n[[check.step]]\npath = \"/\"\n\n[check.graphql]\nintrospection = true\n";
    assert_problem(elsewhere, 10, "[check.graphql] belongs to `graphql` checks");
}
