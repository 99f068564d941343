//! `gauntlet validate` as an author runs it: every problem at once, each with its file and line.

mod common;

use std::process::Command;

use common::fixture::{module, Course};

struct Report {
    success: bool,
    stdout: String,
    stderr: String,
}

fn validate(course: &Course) -> Report {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["validate", "--curriculum"])
        .arg(course.curriculum())
        .arg("--labs")
        .arg(course.labs())
        .env_remove("GAUNTLET_CONFIG")
        .output()
        .expect("run gauntlet validate");
    Report {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts that the report has a line starting with `file:line:` that contains `needle`.
fn assert_reports(report: &Report, course: &Course, rel: &str, line: usize, needle: &str) {
    let prefix = format!("{}:{line}: ", course.path(rel).display());
    assert!(
        report
            .stderr
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(needle)),
        "expected `{prefix}… {needle} …` in:\n{}",
        report.stderr
    );
}

#[test]
fn a_valid_course_passes() {
    let course = Course::valid();
    let report = validate(&course);
    assert!(report.success, "{}", report.stderr);
    assert!(
        report.stdout.contains("12 weeks, 1 labs, 7 pillars"),
        "{}",
        report.stdout
    );
}

#[test]
fn the_bundled_course_passes() {
    let (curriculum, labs) = common::app::bundled();
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(["validate", "--curriculum"])
        .arg(curriculum)
        .arg("--labs")
        .arg(labs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every module's self-check is a graded quiz.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(", 12 quizzes"), "{stdout}");
}

#[test]
fn every_problem_is_reported_with_its_file_and_line() {
    let course = Course::valid();
    // Broken TOML in the front matter (line 3: the title never closes).
    course.write(
        "curriculum/week-03/module.md",
        "+++\nweek = 3\ntitle = \"Unclosed\npillars = [\"language\"]\n+++\nBody\n",
    );
    // An unknown pillar (line 5 of the fixture's front matter).
    course.write(
        "curriculum/week-04/module.md",
        &module(4, "[]", "Body").replace("pillars = [\"language\"]", "pillars = [\"cooking\"]"),
    );
    // A lab that does not exist (line 7).
    course.write(
        "curriculum/week-05/module.md",
        &module(5, "[\"w05-ghost\"]", "Body"),
    );
    // Two modules for week 7: the second, in folder order, is the duplicate (line 2).
    course.write("curriculum/week-06/module.md", &module(7, "[]", "Body"));
    // A week outside the course.
    course.write("curriculum/week-08/module.md", &module(13, "[]", "Body"));
    // A lab no module uses (its `week =` is line 2).
    course.write(
        "labs/w09-orphan/lab.toml",
        "title = \"Orphan\"\nweek = 9\n\n[pillars]\nlanguage = 1.0\n",
    );
    course.write("labs/w09-orphan/README.md", "# Orphan\n");
    // A lab used twice, and by a module of another week.
    course.write(
        "curriculum/week-10/module.md",
        &module(10, "[\"w01-hello\"]", "Body"),
    );
    // No front matter at all.
    course.write(
        "curriculum/week-11/module.md",
        "# Week 11\n\nNo front matter here.\n",
    );
    // A lab counting toward a pillar the course does not have (line 6).
    course.write(
        "labs/w12-weird/lab.toml",
        "title = \"Weird\"\nweek = 12\n\n[pillars]\nlanguage = 1.0\nbasket-weaving = 2.0\n",
    );
    course.write("labs/w12-weird/README.md", "# Weird\n");
    course.write(
        "curriculum/week-12/module.md",
        &module(12, "[\"w12-weird\"]", "Body"),
    );
    // A pillar declared twice in course.toml.
    let mut toml = std::fs::read_to_string(course.path("curriculum/course.toml")).unwrap();
    toml.push_str("\n[[pillars]]\nid = \"security\"\nname = \"Again\"\n");
    let dup_line = toml.lines().count() - 1;
    course.write("curriculum/course.toml", &toml);

    let report = validate(&course);
    assert!(!report.success, "validate must fail");
    assert_reports(
        &report,
        &course,
        "curriculum/week-03/module.md",
        3,
        "front matter",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/week-04/module.md",
        5,
        "unknown pillar `cooking`",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/week-05/module.md",
        7,
        "w05-ghost",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/week-07/module.md",
        2,
        "week 7 already has a module",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/week-08/module.md",
        2,
        "outside the course",
    );
    assert_reports(
        &report,
        &course,
        "labs/w09-orphan/lab.toml",
        2,
        "not used by any module",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/week-10/module.md",
        7,
        "is set for week 1",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/week-10/module.md",
        7,
        "already used by",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/week-11/module.md",
        1,
        "front matter",
    );
    assert_reports(
        &report,
        &course,
        "labs/w12-weird/lab.toml",
        6,
        "unknown pillar `basket-weaving`",
    );
    assert_reports(
        &report,
        &course,
        "curriculum/course.toml",
        dup_line,
        "declared twice",
    );
    assert!(
        report.stderr.contains("no module for week 6"),
        "{}",
        report.stderr
    );
    assert!(report.stderr.contains("problem(s) found"));
}

#[test]
fn a_lab_without_public_instructions_or_with_unknown_keys_is_reported() {
    let course = Course::valid();
    course.remove("labs/w01-hello/README.md");
    let report = validate(&course);
    assert!(!report.success);
    assert!(report.stderr.contains("README.md"), "{}", report.stderr);

    let course = Course::valid();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\n\n[pillars]\nlanguage = 1.0\n\n[limits]\nmemory_mb = 64\nswap = 1\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(&report, &course, "labs/w01-hello/lab.toml", 9, "swap");
}

#[test]
fn a_lab_folder_whose_name_is_not_an_id_is_reported() {
    let course = Course::valid();
    course.write(
        "labs/Bad Name/lab.toml",
        "title = \"x\"\nweek = 1\n[pillars]\nlanguage = 1.0\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert!(report.stderr.contains("Bad Name"), "{}", report.stderr);
}

#[test]
fn mutants_naming_unknown_checks_are_reported_with_their_line() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/checks/health.toml",
        "[[check]]\nid = \"health\"\nkind = \"http\"\ntitle = \"Health\"\npillar = \"language\"\n\n[[check.step]]\npath = \"/healthz\"\n[check.step.expect]\nstatus = 200\n",
    );
    course.write(
        "labs/w01-hello/mutants.toml",
        "[[mutant]]\nname = \"broken\"\nenv = { X = \"1\" }\nfails = [\"health\", \"no-such-check\"]\n\n[[mutant]]\nname = \"nothing\"\n\n\
         [[mutant]]\nname = \"no args\"\nfails_at = \"build\"\n\n[[mutant]]\nname = \"later\"\nfails_at = \"checks\"\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        4,
        "no-such-check",
    );
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        7,
        "must fail at least one check",
    );
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        11,
        "needs `build_args`",
    );
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        15,
        "can be `build` or `start`",
    );
}

#[test]
fn near_misses_without_a_reason_or_with_a_taken_name_or_a_fails_list_are_reported_with_their_line()
{
    let course = Course::valid();
    course.write(
        "labs/w01-hello/checks/health.toml",
        "[[check]]\nid = \"health\"\nkind = \"http\"\ntitle = \"Health\"\npillar = \"language\"\n\n[[check.step]]\npath = \"/healthz\"\n[check.step.expect]\nstatus = 200\n",
    );
    course.write(
        "labs/w01-hello/mutants.toml",
        "[[mutant]]\nname = \"broken\"\nenv = { X = \"1\" }\nfails = [\"health\"]\n\n\
         [[near_miss]]\nname = \"broken\"\nbecause = \"a reason\"\n\n\
         [[near_miss]]\nname = \"quiet\"\nbecause = \"  \"\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        7,
        "`broken` is declared twice",
    );
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        12,
        "needs `because`",
    );
    // A near miss passes every check: it has no `fails`.
    course.write(
        "labs/w01-hello/mutants.toml",
        "[[mutant]]\nname = \"broken\"\nenv = { X = \"1\" }\nfails = [\"health\"]\n\n\
         [[near_miss]]\nname = \"picky\"\nbecause = \"a reason\"\nfails = [\"health\"]\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        9,
        "unknown field `fails`",
    );
}

#[test]
fn an_image_check_with_an_unknown_rule_and_a_mutant_dockerfile_with_a_path_are_reported_with_their_lines(
) {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/checks/image.toml",
        "[[check]]\nid = \"image\"\nkind = \"image\"\ntitle = \"Image\"\npillar = \"language\"\n\n[check.image]\nrules = [\"non-root-user\", \"small\"]\n",
    );
    course.write(
        "labs/w01-hello/mutants.toml",
        "[[mutant]]\nname = \"shell\"\ndockerfile = \"../Dockerfile\"\nfails = [\"image\"]\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/checks/image.toml",
        8,
        "unknown image rule `small`",
    );
    course.write(
        "labs/w01-hello/checks/image.toml",
        "[[check]]\nid = \"image\"\nkind = \"image\"\ntitle = \"Image\"\npillar = \"language\"\n\n[check.image]\nrules = [\"exec-form\"]\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/mutants.toml",
        3,
        "without a path",
    );
}

#[test]
fn a_test_stage_that_is_not_a_stage_name_is_reported_with_its_line() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\n[pillars]\nlanguage = 1.0\n[build]\ntest_stage = \"My Tests\"\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/lab.toml",
        6,
        "not a Docker build stage name",
    );
}

#[test]
fn malformed_openapi_checks_and_schemas_are_reported_with_their_line() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/checks/openapi.toml",
        "[[check]]\nid = \"doc\"\nkind = \"openapi\"\ntitle = \"Doc\"\npillar = \"language\"\n[check.openapi]\nrequire = [\"GET /notes\", \"GET notes\"]\n\n[[check]]\nid = \"shape\"\nkind = \"http\"\ntitle = \"Shape\"\npillar = \"language\"\n[[check.step]]\npath = \"/healthz\"\n[check.step.expect]\nschema = { type = 7 }\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    let rel = "labs/w01-hello/checks/openapi.toml";
    assert_reports(&report, &course, rel, 7, "path `notes` must start with `/`");
    assert_reports(&report, &course, rel, 17, "invalid JSON Schema");
}

#[test]
fn build_limits_out_of_range_are_reported_with_their_lines() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\n[pillars]\nlanguage = 1.0\n[build]\nmemory_mb = 4096\n\
         swap_mb = -1\ncpus = 0\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    let lab = "labs/w01-hello/lab.toml";
    assert_reports(
        &report,
        &course,
        lab,
        6,
        "memory_mb must be between 16 and 2047",
    );
    assert_reports(&report, &course, lab, 7, "swap_mb must be 0 or more");
    assert_reports(&report, &course, lab, 8, "cpus must be between");
}

#[test]
fn a_build_network_other_than_none_or_default_is_reported_with_its_line() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\n[pillars]\nlanguage = 1.0\n[build]\nnetwork = \"host\"\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(&report, &course, "labs/w01-hello/lab.toml", 6, "host");
}

#[test]
fn build_limits_within_range_are_accepted() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\n[pillars]\nlanguage = 1.0\n[build]\nmemory_mb = 1536\n\
         swap_mb = 511\ncpus = 0.5\nnetwork = \"default\"\n",
    );
    let report = validate(&course);
    assert!(report.success, "{}", report.stderr);
}

#[test]
fn a_build_pids_limit_of_zero_is_reported_with_its_line() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\n[pillars]\nlanguage = 1.0\n[build]\npids = 0\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "labs/w01-hello/lab.toml",
        6,
        "pids must be between 8",
    );
}

#[test]
fn a_limit_of_zero_which_docker_reads_as_no_limit_is_reported_with_its_line() {
    for (key, value, line) in [
        ("memory_mb", "0", 7),
        ("pids", "0", 7),
        ("pids", "-1", 7),
        ("cpus", "0.0", 7),
        ("nofile", "0", 7),
    ] {
        let course = Course::valid();
        course.write(
            "labs/w01-hello/lab.toml",
            &format!("title = \"Hello\"\nweek = 1\n[pillars]\nlanguage = 1.0\n\n[limits]\n{key} = {value}\n"),
        );
        let report = validate(&course);
        assert!(!report.success, "{key} = {value} accepted");
        assert_reports(
            &report,
            &course,
            "labs/w01-hello/lab.toml",
            line,
            "no limit",
        );
    }
}

#[test]
fn includes_of_unknown_labs_checks_and_later_weeks_are_reported_with_their_lines() {
    let course = Course::valid();
    let health = "[[check]]\nid = \"health\"\nkind = \"http\"\ntitle = \"Health\"\npillar = \"language\"\n\n[[check.step]]\npath = \"/healthz\"\n[check.step.expect]\nstatus = 200\n";
    course.write("labs/w01-hello/checks/health.toml", health);
    course.write(
        "curriculum/week-02/module.md",
        &module(2, "[\"w02-more\"]", "Body of week 2."),
    );
    course.write(
        "labs/w02-more/lab.toml",
        "title = \"More\"\nweek = 2\nsummary = \"More\"\n\n[pillars]\nlanguage = 1.0\n",
    );
    course.write("labs/w02-more/README.md", "# More\n");
    course.write(
        "labs/w02-more/checks/own.toml",
        &health.replace("health\"\nkind", "own\"\nkind"),
    );
    course.write(
        "labs/w02-more/checks/earlier.toml",
        "[[include]]\nlab = \"w01-hello\"\nchecks = [\"health\", \"no-such-check\"]\n\n\
         [[include]]\nlab = \"w00-nowhere\"\nchecks = [\"health\"]\n",
    );
    course.write(
        "labs/w01-hello/checks/later.toml",
        "# week 1 cannot re-run week 2\n[[include]]\nlab = \"w02-more\"\nchecks = [\"own\"]\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    let rel = "labs/w02-more/checks/earlier.toml";
    assert_reports(
        &report,
        &course,
        rel,
        3,
        "`w01-hello` has no check `no-such-check`",
    );
    assert_reports(&report, &course, rel, 6, "unknown lab `w00-nowhere`");
    let rel = "labs/w01-hello/checks/later.toml";
    assert_reports(&report, &course, rel, 3, "is a week 2 lab");

    // Fixed, the include resolves and mutants may name the included check by its lab-qualified id.
    course.remove("labs/w01-hello/checks/later.toml");
    course.write(
        "labs/w02-more/checks/earlier.toml",
        "[[include]]\nlab = \"w01-hello\"\nchecks = [\"health\"]\n",
    );
    course.write(
        "labs/w02-more/mutants.toml",
        "[[mutant]]\nname = \"broken health\"\nenv = { X = \"1\" }\nfails = [\"w01-hello/health\", \"own\"]\n",
    );
    let report = validate(&course);
    assert!(report.success, "{}", report.stderr);
}

#[test]
fn counterpart_problems_are_reported_at_their_lines() {
    let course = Course::valid();
    course.write(
        "labs/w01-hello/lab.toml",
        "title = \"Hello\"\nweek = 1\n\n[pillars]\nlanguage = 1.0\n\n\
         [[counterpart]]\nname = \"Kafka\"\nkind = \"kafka\"\n\n\
         [[counterpart]]\nname = \"peer\"\nkind = \"container\"\nimage = \"x\"\ncommand = []\nport = 9000\n\
         topics = [ { name = \"t\" } ]\nmemory_mb = 0\n\
         [counterpart.service_env]\nPORT = \"1\"\n",
    );
    let report = validate(&course);
    assert!(!report.success, "{}", report.stdout);
    let rel = "labs/w01-hello/lab.toml";
    assert_reports(&report, &course, rel, 8, "name must be 1 to 20");
    assert_reports(
        &report,
        &course,
        rel,
        17,
        "only a `kafka` counterpart has `topics`",
    );
    assert_reports(
        &report,
        &course,
        rel,
        18,
        "memory_mb must be greater than 0",
    );
    assert_reports(&report, &course, rel, 20, "may not set `PORT`");
}

#[test]
fn schedule_offsets_out_of_order_out_of_range_or_naming_unknown_labs_are_reported_with_their_lines()
{
    let course = Course::valid();
    let text = std::fs::read_to_string(course.path("curriculum/course.toml")).unwrap();
    let before = text.lines().count();
    course.write(
        "curriculum/course.toml",
        &format!(
            "{text}\n[schedule]\nopens = [0, 7, 14, 21, 28, 35,\n  30, 49, 56, 63, 70, 77]\ndue_days = 4000\n\n[schedule.due]\nw01-hello = 10\nw99-nowhere = 3\n"
        ),
    );
    let report = validate(&course);
    assert!(!report.success);
    let rel = "curriculum/course.toml";
    assert_reports(
        &report,
        &course,
        rel,
        before + 4,
        "week 7 opens on day 30, before week 6",
    );
    assert_reports(&report, &course, rel, before + 5, "`due_days` is 4000 days");
    assert_reports(&report, &course, rel, before + 9, "names lab `w99-nowhere`");
    assert!(
        !report.stderr.contains("w01-hello"),
        "a known lab is fine: {}",
        report.stderr
    );
}

#[test]
fn a_broken_quiz_and_a_quiz_weight_out_of_range_are_reported_with_their_lines() {
    let course = Course::valid();
    let text = std::fs::read_to_string(course.path("curriculum/course.toml")).unwrap();
    let before = text.lines().count();
    course.write(
        "curriculum/course.toml",
        &format!("{text}\n[quizzes]\nweight = 1.5\n"),
    );
    course.write(
        "curriculum/week-02/quiz.toml",
        "[[questions]]\nid = \"status\"\nkind = \"single\"\nprompt = \"Which?\"\n\
         choices = [\n  { text = \"400\", correct = true },\n  { text = \"422\", correct = true },\n]\n\n\
         [[questions]]\nid = \"status\"\nkind = \"short\"\nprompt = \"Code?\"\nanswers = [\"403\"]\n\n\
         [[questions]]\nid = \"empty\"\nkind = \"multiple\"\nprompt = \"Pick\"\nchoices = [\n  { text = \"a\" },\n  { text = \"\", correct = true },\n]\n",
    );
    course.write(
        "curriculum/week-03/quiz.toml",
        "[[questions]]\nid = \"a\"\nkind = \"short\"\nprompt = \"p\"\nanswers = [\"x\"]\nhint = \"no such key\"\n",
    );
    let report = validate(&course);
    assert!(!report.success);
    assert_reports(
        &report,
        &course,
        "curriculum/course.toml",
        before + 3,
        "[quizzes] weight must be between 0 and 1, got 1.5",
    );
    let rel = "curriculum/week-02/quiz.toml";
    assert_reports(
        &report,
        &course,
        rel,
        5,
        "a single-choice question needs exactly one correct choice, found 2",
    );
    assert_reports(
        &report,
        &course,
        rel,
        11,
        "question id `status` is used twice (first on line 2)",
    );
    assert_reports(&report, &course, rel, 22, "a choice's text is empty");
    assert_reports(
        &report,
        &course,
        "curriculum/week-03/quiz.toml",
        6,
        "unknown field `hint`",
    );
}
