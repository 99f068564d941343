//! `gauntlet validate --lab DIR`: one lab checked without a whole curriculum, and `{{env.NAME}}` references
//! refused unless the run's environment will hold the name (a secret, `[env]`, what Gauntlet sets), both for
//! one lab and for the whole course.

mod common;

use std::process::Command;

use common::fixture::Course;

const CHECK: &str = "[[check]]\nid = \"c\"\nkind = \"http\"\ntitle = \"T\"\npillar = \"language\"\n\n[[check.step]]\npath = \"/x/{{env.NAME}}\"\n[check.step.expect]\nstatus = 200\n";

fn run(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("validate")
        .args(args)
        .env_remove("GAUNTLET_CONFIG")
        .output()
        .expect("run gauntlet validate");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lab_only(course: &Course) -> (bool, String, String) {
    let lab = course.path("labs/w01-hello");
    let cur = course.curriculum();
    run(&[
        "--curriculum".as_ref(),
        cur.as_os_str(),
        "--lab".as_ref(),
        lab.as_os_str(),
    ])
}

fn whole(course: &Course) -> (bool, String, String) {
    let (cur, labs) = (course.curriculum(), course.labs());
    run(&[
        "--curriculum".as_ref(),
        cur.as_os_str(),
        "--labs".as_ref(),
        labs.as_os_str(),
    ])
}

#[test]
fn one_lab_validates_without_the_rest_of_the_course() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/checks/hidden.toml",
        &CHECK.replace("NAME", "PORT"),
    );
    // A broken module elsewhere does not concern `--lab`.
    course.write("curriculum/week-02/module.md", "not a module");
    let (ok, out, err) = lab_only(&course);
    assert!(ok, "{err}");
    assert!(out.contains("ok: lab w01-hello with 1 checks"), "{out}");
    assert!(!whole(&course).0, "the whole course is broken");
}

#[test]
fn an_undeclared_env_variable_is_refused_at_its_line_and_declaring_it_in_env_fixes_it() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/checks/hidden.toml",
        &CHECK.replace("NAME", "GREETING"),
    );
    let file = course.path("labs/w01-hello/checks/hidden.toml");
    for (ok, _, err) in [lab_only(&course), whole(&course)] {
        assert!(!ok);
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("{}:8: ", file.display()))
                    && l.contains("`{{env.GREETING}}` is not in the run's environment")),
            "{err}"
        );
    }
    let lab = "title = \"Hello\"\nweek = 1\nsummary = \"Say hello\"\n\n[pillars]\nlanguage = 1.0\n";
    course.write(
        "labs/w01-hello/lab.toml",
        &format!("{lab}\n[env]\nGREETING = \"hello\"\n"),
    );
    assert!(lab_only(&course).0, "{}", lab_only(&course).2);
    assert!(whole(&course).0, "{}", whole(&course).2);
    course.write(
        "labs/w01-hello/lab.toml",
        &format!("{lab}\n[env]\nPORT = \"1\"\n"),
    );
    let (ok, _, err) = lab_only(&course);
    assert!(
        !ok && err.contains("[env] cannot set `PORT`: Gauntlet sets it"),
        "{err}"
    );
}

#[test]
fn starters_are_declared_with_their_language_and_each_mistake_is_reported_at_its_line_or_folder() {
    let course = Course::valid();
    let lab = "title = \"Hello\"\nweek = 1\nsummary = \"Say hello\"\n\n[pillars]\nlanguage = 1.0\n";
    let toml = course.path("labs/w01-hello/lab.toml");
    course.write("labs/w01-hello/starters/rust/Dockerfile", "FROM scratch\n");
    // A folder under starters/ that lab.toml does not label.
    let (ok, _, err) = lab_only(&course);
    assert!(!ok);
    let rust = course.path("labs/w01-hello/starters/rust");
    assert!(
        err.contains(&format!("{}: declare the language", rust.display()))
            && err.contains("`rust = \"Rust\"`"),
        "{err}"
    );
    // Declared: valid. A declared name without its folder, and an empty label: at their lines of lab.toml.
    course.write(
        "labs/w01-hello/lab.toml",
        &format!("{lab}\n[starters]\nrust = \"Rust\"\n"),
    );
    assert!(lab_only(&course).0, "{}", lab_only(&course).2);
    course.write(
        "labs/w01-hello/lab.toml",
        &format!("{lab}\n[starters]\nrust = \"Rust\"\ngo = \"Go\"\ndefault = \"\"\n"),
    );
    for (ok, _, err) in [lab_only(&course), whole(&course)] {
        assert!(!ok);
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("{}:10: ", toml.display()))
                    && l.contains("declares `go`, but there is no folder")),
            "{err}"
        );
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("{}:11: ", toml.display()))
                    && l.contains("labelled with is one line of 1 to 32 characters")),
            "{err}"
        );
    }
    // A starter without a Dockerfile, and a folder name that cannot be a URL segment.
    course.write(
        "labs/w01-hello/lab.toml",
        &format!("{lab}\n[starters]\nrust = \"Rust\"\n"),
    );
    course.remove("labs/w01-hello/starters/rust/Dockerfile");
    course.write("labs/w01-hello/starters/rust/README.md", "# Rust\n");
    course.write("labs/w01-hello/starters/My Go/Dockerfile", "FROM scratch\n");
    let (ok, _, err) = lab_only(&course);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "{}: a starter project must build as it is",
            rust.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("a starter's folder name is its name in URLs"),
        "{err}"
    );
}
