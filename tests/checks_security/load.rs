//! Malformed security checks are refused with file and line.

use gauntlet::checks::CheckKind;

use crate::support::{assert_problem, problems};

const HEAD: &str =
    "[[check]]\nid = \"s\"\nkind = \"security\"\ntitle = \"T\"\npillar = \"security\"\n";

#[test]
fn the_bundled_w10_checks_load_as_security_probes() {
    let suite = crate::fixture::w10();
    let names: Vec<&str> = suite
        .checks
        .iter()
        .map(|c| match &c.kind {
            CheckKind::Security(p) => p.name(),
            other => other.name(),
        })
        .collect();
    for probe in [
        "unauthenticated",
        "jwt",
        "roles",
        "injection",
        "error_leaks",
        "headers",
        "rate_limit",
        "ownership",
        "jwt_weak_key",
    ] {
        assert!(
            names.contains(&probe),
            "{probe} missing from w10: {names:?}"
        );
    }
}

#[test]
fn refuses_an_unknown_probe_at_its_line() {
    assert_problem(
        &format!("{HEAD}probe = \"xss\"\n"),
        6,
        "unknown probe `xss`",
    );
}

#[test]
fn refuses_a_missing_probe() {
    assert_problem(HEAD, 3, "needs `probe`");
}

#[test]
fn refuses_a_jwt_probe_without_its_claims() {
    let toml = format!(
        "{HEAD}probe = \"jwt\"\nprotected = [{{ path = \"/notes\" }}]\nsecret_env = \"\"\n"
    );
    assert_problem(&toml, 8, "needs a non-empty `secret_env`");
    assert_problem(&toml, 6, "needs a non-empty `subject`");
    let empty = format!("{toml}issuer = \"\"\n");
    assert_problem(&empty, 9, "`issuer` must not be empty");
}

#[test]
fn refuses_a_field_of_another_probe_at_its_line() {
    let toml = format!(
        "{HEAD}probe = \"unauthenticated\"\nprotected = [{{ path = \"/notes\" }}]\nattempts = 3\n"
    );
    assert_problem(
        &toml,
        8,
        "`attempts` does not apply to probe `unauthenticated`",
    );
}

#[test]
fn refuses_a_route_without_a_slash_or_with_a_bad_method() {
    let toml = format!("{HEAD}probe = \"unauthenticated\"\nprotected = [{{ method = \"FETCH\", path = \"notes\" }}]\n");
    assert_problem(&toml, 7, "unknown method `FETCH`");
    assert_problem(&toml, 7, "does not start with `/`");
}

#[test]
fn refuses_injection_routes_without_a_payload_slot() {
    let toml = format!("{HEAD}probe = \"injection\"\nroutes = [{{ path = \"/notes?q=x\" }}]\n");
    assert_problem(&toml, 7, "no `{payload}` slot");
}

#[test]
fn refuses_unknown_keys_beside_security_fields() {
    let toml = format!(
        "{HEAD}probe = \"unauthenticated\"\nprotected = [{{ path = \"/notes\" }}]\nprotectd = 1\n"
    );
    assert!(
        problems(&toml).iter().any(|p| p.contains("protectd")),
        "{:#?}",
        problems(&toml)
    );
}

#[test]
fn refuses_security_fields_on_an_http_check() {
    let toml = "[[check]]\nid = \"h\"\nkind = \"http\"\ntitle = \"T\"\npillar = \"api\"\nprobe = \"jwt\"\n[[check.step]]\npath = \"/\"\n";
    assert_problem(toml, 6, "unknown field `probe` for a check of kind `http`");
}

#[test]
fn refuses_a_rate_limit_with_attempts_out_of_range() {
    let toml = format!(
        "{HEAD}probe = \"rate_limit\"\nlogin = {{ path = \"/login\", username = \"a\", password_env = \"P\" }}\nattempts = 0\n"
    );
    assert_problem(&toml, 8, "attempts must be between 1 and 100");
}

#[test]
fn refuses_an_ownership_probe_without_its_parts() {
    let claims =
        "secret_env = \"JWT_SECRET\"\nissuer = \"i\"\naudience = \"a\"\nsubject = \"alice\"\n";
    let toml = format!(
        "{HEAD}probe = \"ownership\"\n{claims}owner_only = [{{ method = \"PUT\", path = \"/notes/1\" }}]\nother_subject = \"alice\"\ncreate = {{ path = \"/notes\", json = {{ title = \"x\" }} }}\n"
    );
    assert_problem(&toml, 11, "has no `{id}` slot");
    assert_problem(&toml, 11, "needs a GET route");
    assert_problem(&toml, 12, "must be non-empty and differ from `subject`");
    assert_problem(&toml, 13, "needs a `{marker}` slot");
    let bare = format!("{HEAD}probe = \"ownership\"\n{claims}");
    assert_problem(&bare, 6, "needs `create`");
    assert_problem(&bare, 6, "needs `other_subject`");
}

#[test]
fn refuses_a_template_variable_in_a_probe_field_which_would_be_sent_literally() {
    let toml = format!(
        "{HEAD}probe = \"unauthenticated\"\nprotected = [{{ path = \"/notes/{{{{rand}}}}\" }}]\n"
    );
    assert_problem(&toml, 7, "`{{...}}` variables are not replaced here");
    let toml = format!(
        "{HEAD}probe = \"rate_limit\"\nlogin = {{ path = \"/login\", username = \"{{{{env.USER}}}}\", password_env = \"P\" }}\n"
    );
    assert_problem(&toml, 7, "`{{...}}` variables are not replaced here");
}

#[test]
fn refuses_an_ownership_login_without_another_user() {
    let toml = format!(
        "{HEAD}probe = \"ownership\"\nlogin = {{ path = \"/login\", username = \"alice\", password_env = \"P\" }}\ncreate = {{ path = \"/n\", json = {{ t = \"{{marker}}\" }} }}\nowner_only = [{{ path = \"/n/{{id}}\" }}]\n"
    );
    assert_problem(&toml, 7, "needs `other_username` and `other_password_env`");
}
