//! Malformed openapi checks, and an invalid inline JSON Schema, are refused with file and line.

use gauntlet::checks::CheckKind;

use crate::support::assert_problem;

const HEAD: &str = "[[check]]\nid = \"o\"\nkind = \"openapi\"\ntitle = \"T\"\npillar = \"api\"\n";

#[test]
fn the_fixture_lab_loads_as_openapi_checks() {
    let suite = crate::fixture::lab();
    assert_eq!(suite.checks.len(), 3);
    for c in &suite.checks {
        assert!(matches!(c.kind, CheckKind::OpenApi(_)), "{}", c.id);
    }
}

#[test]
fn refuses_an_openapi_check_without_its_table() {
    assert_problem(HEAD, 1, "needs a [check.openapi] table");
}

#[test]
fn refuses_an_unknown_field_at_its_line() {
    assert_problem(
        &format!(
            "{HEAD}[check.openapi]\ndocument = \"/openapi.json\"\nrequires = [\"GET /notes\"]\n"
        ),
        8,
        "unknown field `requires`",
    );
}

#[test]
fn refuses_a_malformed_operation_at_its_line() {
    assert_problem(
        &format!("{HEAD}[check.openapi]\nrequire = [\n  \"GET /notes\",\n  \"FETCH /notes\",\n]\n"),
        9,
        "`FETCH` is not a supported method",
    );
    assert_problem(
        &format!("{HEAD}[check.openapi]\nrequire = [\"/notes\"]\n"),
        7,
        "is not an operation",
    );
}

#[test]
fn refuses_a_document_path_without_a_slash() {
    assert_problem(
        &format!("{HEAD}[check.openapi]\ndocument = \"openapi.json\"\n"),
        7,
        "must start with `/`",
    );
}

#[test]
fn refuses_bad_generation_settings_at_their_lines() {
    let toml = format!(
        "{HEAD}[check.openapi]\n[check.openapi.generate]\noperations = [\"PUT /notes/{{id}}\"]\ncases = 0\nheaders = {{ \"Bad Header\" = \"x\" }}\n"
    );
    assert_problem(&toml, 8, "no value for path parameter `id`");
    assert_problem(&toml, 9, "cases must be between 1 and 200");
    assert_problem(&toml, 10, "`Bad Header` is not a valid header name");
}

#[test]
fn refuses_a_parameter_variable_no_step_captures() {
    let toml = format!(
        "{HEAD}[check.openapi]\n[check.openapi.generate]\nparams = {{ id = \"{{{{note}}}}\" }}\n\n[[check.step]]\nmethod = \"POST\"\npath = \"/notes\"\n[check.step.capture]\nother = \"/id\"\n"
    );
    assert_problem(
        &toml,
        8,
        "variable `note` is not captured by the check's setup or steps, nor by an openapi check it depends on",
    );
}

/// A check `a` whose setup captures `token`, and a check `b` with `tail` (its dependencies and generation).
fn two_checks(tail: &str) -> String {
    format!(
        "{HEAD}[check.openapi]\n\n[[check.openapi.setup]]\nmethod = \"POST\"\npath = \"/login\"\n\
         [check.openapi.setup.capture]\ntoken = \"/token\"\n\n\
         [[check]]\nid = \"b\"\nkind = \"openapi\"\ntitle = \"B\"\npillar = \"api\"\n{tail}"
    )
}

#[test]
fn a_dependency_s_captures_serve_generation_and_setup_captures_serve_the_steps() {
    let toml = two_checks(
        "depends_on = [\"o\"]\n[check.openapi]\n[check.openapi.generate]\n\
         headers = { Authorization = \"Bearer {{token}}\" }\n",
    );
    let suite = crate::support::suite(&toml);
    assert_eq!(suite.checks.len(), 2);
    // The judged steps of one check may use what its own setup captured.
    let own = format!(
        "{HEAD}[check.openapi]\n\n[[check.openapi.setup]]\nmethod = \"POST\"\npath = \"/login\"\n\
         [check.openapi.setup.capture]\ntoken = \"/token\"\n\n[[check.step]]\npath = \"/me\"\n\
         headers = {{ Authorization = \"Bearer {{{{token}}}}\" }}\n"
    );
    assert_eq!(crate::support::suite(&own).checks.len(), 1);
}

#[test]
fn refuses_a_capture_no_dependency_has_at_its_line() {
    // A name the dependency does not capture (a typo).
    let typo = two_checks(
        "depends_on = [\"o\"]\n[check.openapi]\n[check.openapi.generate]\n\
         headers = { Authorization = \"Bearer {{tokne}}\" }\n",
    );
    assert_problem(&typo, 22, "variable `tokne` is not captured");
    // The right name, from a check this one does not depend on.
    let unrelated = two_checks(
        "[check.openapi]\n[check.openapi.generate]\nheaders = { Authorization = \"Bearer {{token}}\" }\n",
    );
    assert_problem(&unrelated, 21, "variable `token` is not captured");
}

#[test]
fn refuses_a_bad_step_in_an_openapi_check() {
    assert_problem(
        &format!(
            "{HEAD}[check.openapi]\n\n[[check.step]]\nmethod = \"FETCH\"\npath = \"/notes\"\n"
        ),
        9,
        "`FETCH` is not a supported method",
    );
}

#[test]
fn refuses_an_openapi_table_on_another_kind() {
    assert_problem(
        "[[check]]\nid = \"h\"\nkind = \"http\"\ntitle = \"T\"\npillar = \"api\"\n[check.openapi]\n\n[[check.step]]\npath = \"/\"\n",
        6,
        "[check.openapi] belongs to `openapi` checks",
    );
}

#[test]
fn refuses_an_invalid_inline_json_schema_at_its_line() {
    let toml = "[[check]]\nid = \"h\"\nkind = \"openapi\"\ntitle = \"T\"\npillar = \"api\"\n[check.openapi]\n\n[[check.step]]\npath = \"/notes\"\n[check.step.expect]\nschema = { type = \"strnig\" }\n";
    assert_problem(toml, 11, "invalid JSON Schema");
}
