//! Malformed OWASP probes (`mass_assignment`, `user_enumeration`, `data_exposure`, `slow_input`) are refused
//! with file and line, and the bundled w10 suite holds all four.

use gauntlet::checks::CheckKind;

use crate::support::{assert_problem, problems};

const HEAD: &str =
    "[[check]]\nid = \"s\"\nkind = \"security\"\ntitle = \"T\"\npillar = \"security\"\n";
const LOGIN: &str =
    "login = { path = \"/login\", username = \"alice\", password_env = \"USER_PASSWORD\" }\n";

#[test]
fn the_bundled_w10_suite_holds_the_four_owasp_probes() {
    let suite = crate::fixture::w10();
    let names: Vec<&str> = suite
        .checks
        .iter()
        .filter_map(|c| match &c.kind {
            CheckKind::Security(p) => Some(p.name()),
            _ => None,
        })
        .collect();
    for probe in [
        "mass_assignment",
        "user_enumeration",
        "data_exposure",
        "slow_input",
    ] {
        assert!(names.contains(&probe), "{probe} missing: {names:?}");
    }
}

#[test]
fn a_well_formed_probe_of_each_kind_loads() {
    let mass = format!("{HEAD}probe = \"mass_assignment\"\n{LOGIN}writes = [{{ method = \"POST\", path = \"/v1/notes\", json = {{ title = \"t\" }}, read = \"/v1/notes/{{id}}\" }}]\n");
    let enumeration = format!("{HEAD}probe = \"user_enumeration\"\n{LOGIN}samples = 5\n");
    let exposure = format!("{HEAD}probe = \"data_exposure\"\n{LOGIN}routes = [{{ path = \"/v1/me\" }}]\nprivate_fields = [\"Password\"]\n");
    let slow = format!("{HEAD}probe = \"slow_input\"\nroutes = [{{ path = \"/v1/notes?q={{payload}}\" }}]\nbound_ms = 1500\n");
    for toml in [mass, enumeration, exposure, slow] {
        assert_eq!(problems(&toml), Vec::<String>::new(), "{toml}");
    }
}

#[test]
fn a_mass_assignment_probe_needs_writes_that_it_can_extend_and_read_back() {
    let none = format!("{HEAD}probe = \"mass_assignment\"\n{LOGIN}");
    assert_problem(&none, 6, "needs `writes`");
    let array = format!("{HEAD}probe = \"mass_assignment\"\n{LOGIN}writes = [{{ path = \"/v1/notes\", json = [1], read = \"/v1/notes\" }}]\n");
    assert_problem(&array, 8, "must be an object");
    let update = format!("{HEAD}probe = \"mass_assignment\"\n{LOGIN}writes = [{{ method = \"PUT\", path = \"/v1/notes/{{id}}\", json = {{}}, read = \"v1/notes/{{id}}\" }}]\n");
    assert_problem(&update, 8, "it needs `create`");
    assert_problem(&update, 8, "does not start with `/`");
    let empty = format!("{HEAD}probe = \"mass_assignment\"\n{LOGIN}writes = [{{ path = \"/v1/me\", read = \"/v1/me\" }}]\nprivileged = {{}}\n");
    assert_problem(&empty, 9, "must name at least one field");
}

#[test]
fn a_mass_assignment_probe_signs_in_one_way_only() {
    let both = format!("{HEAD}probe = \"mass_assignment\"\n{LOGIN}writes = [{{ path = \"/v1/me\", read = \"/v1/me\" }}]\nsecret_env = \"JWT_SECRET\"\nsubject = \"alice\"\n");
    assert_problem(&both, 9, "the token fields do not apply");
    let neither = format!("{HEAD}probe = \"mass_assignment\"\nwrites = [{{ path = \"/v1/me\", read = \"/v1/me\" }}]\n");
    assert_problem(&neither, 6, "needs a non-empty `secret_env`");
}

#[test]
fn user_enumeration_bounds_its_samples_and_needs_username_slots() {
    let many = format!("{HEAD}probe = \"user_enumeration\"\n{LOGIN}samples = 50\n");
    assert_problem(&many, 8, "samples must be between 3 and 20");
    let slotless = format!("{HEAD}probe = \"user_enumeration\"\n{LOGIN}routes = [{{ method = \"POST\", path = \"/reset\", json = {{ email = \"x\" }} }}]\n");
    assert_problem(&slotless, 8, "no `{username}` slot");
    let tokens =
        format!("{HEAD}probe = \"user_enumeration\"\n{LOGIN}secret_env = \"JWT_SECRET\"\n");
    assert_problem(&tokens, 8, "does not apply to probe `user_enumeration`");
    let other = format!("{HEAD}probe = \"user_enumeration\"\nlogin = {{ path = \"/login\", username = \"alice\", password_env = \"P\", other_username = \"bob\", other_password_env = \"Q\" }}\n");
    assert_problem(&other, 7, "takes only path, username, password_env");
}

#[test]
fn data_exposure_needs_a_login_and_sane_private_fields() {
    let anonymous =
        format!("{HEAD}probe = \"data_exposure\"\nroutes = [{{ path = \"/v1/me\" }}]\n");
    assert_problem(&anonymous, 6, "needs `login`");
    let blank = format!("{HEAD}probe = \"data_exposure\"\n{LOGIN}routes = [{{ path = \"/v1/me\" }}]\nprivate_fields = [\" \"]\n");
    assert_problem(&blank, 9, "non-empty list of non-empty field names");
    let id = format!(
        "{HEAD}probe = \"data_exposure\"\n{LOGIN}routes = [{{ path = \"/v1/notes/{{id}}\" }}]\n"
    );
    assert_problem(&id, 8, "needs `create`");
}

#[test]
fn slow_input_needs_payload_slots_and_a_sane_bound() {
    let slotless = format!("{HEAD}probe = \"slow_input\"\nroutes = [{{ path = \"/v1/notes\" }}]\n");
    assert_problem(&slotless, 7, "no `{payload}` slot");
    let bound = format!("{HEAD}probe = \"slow_input\"\nroutes = [{{ path = \"/v1/notes?q={{payload}}\" }}]\nbound_ms = 50\n");
    assert_problem(&bound, 8, "bound_ms must be between 100 and 30000");
}
