//! Check files are refused with every problem pinned to its file and line.

use std::path::Path;

use gauntlet::checks::CheckSuite;

use crate::support::pillars;

const SYNTAX: &str = r#"[[check]]
id = "x"
kind = "http"
title = "unterminated
"#;

const FIELDS: &str = r#"[[check]]
id = "dup"
kind = "http"
title = "T"
pillar = "nope"
weight = 0
timeout_secs = 0
depends_on = ["ghost"]

[[check.step]]
method = "FETCH"
path = "healthz"
[check.step.expect]
json_pointer = { "items/0" = 1 }
"#;

const UNKNOWN_KEY: &str = r#"[[check]]
id = "other"
kind = "http"
title = "T"
pillar = "language"
colour = "red"
"#;

const GRAPH: &str = r#"[[check]]
id = "dup"
kind = "http"
title = "T"
pillar = "language"
depends_on = ["loop-b"]
[[check.step]]
path = "/"

[[check]]
id = "loop-b"
kind = "http"
title = "T"
pillar = "language"
depends_on = ["loop-a"]
[[check.step]]
path = "/{{never}}"

[[check]]
id = "loop-a"
kind = "http"
title = "T"
pillar = "language"
depends_on = ["loop-b"]
[[check.step]]
path = "/"
[check.step.expect]
status = 99
max_ms = 0
"#;

const KIND: &str = r#"[[check]]
id = "k"
kind = "carrier-pigeon"
title = "T"
pillar = "language"

[[check]]
id = "no-steps"
kind = "http"
title = "T"
pillar = "language"
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join("checks").join(name), text).expect("write fixture");
}

#[test]
fn malformed_check_files_are_refused_with_file_and_line_for_every_problem() {
    let lab = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(lab.path().join("checks")).expect("mkdir");
    write(lab.path(), "a-syntax.toml", SYNTAX);
    write(lab.path(), "b-fields.toml", FIELDS);
    write(lab.path(), "c-unknown-key.toml", UNKNOWN_KEY);
    write(lab.path(), "d-graph.toml", GRAPH);
    write(lab.path(), "e-kind.toml", KIND);
    write(lab.path(), "notes.txt", "not a check file");
    let problems = CheckSuite::load(lab.path(), &pillars()).expect_err("the suite is refused");
    let shown: Vec<String> = problems
        .iter()
        .map(|d| {
            let name = d
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{name}:{}: {}", d.line.unwrap_or(0), d.message)
        })
        .collect();
    let expect = [
        ("a-syntax.toml:4:", ""),
        ("b-fields.toml:5:", "unknown pillar `nope`"),
        ("b-fields.toml:6:", "weight"),
        ("b-fields.toml:7:", "timeout_secs"),
        ("b-fields.toml:8:", "unknown check `ghost`"),
        ("b-fields.toml:11:", "`FETCH`"),
        ("b-fields.toml:12:", "must start with `/`"),
        ("b-fields.toml:14:", "JSON pointer"),
        ("c-unknown-key.toml:6:", "colour"),
        ("d-graph.toml:2:", "duplicate check id `dup`"),
        ("d-graph.toml:17:", "variable `never`"),
        ("d-graph.toml:24:", "cycle"),
        ("d-graph.toml:28:", "99"),
        ("d-graph.toml:29:", "max_ms"),
        ("e-kind.toml:3:", "unknown check kind `carrier-pigeon`"),
        ("e-kind.toml:7:", "at least one [[check.step]]"),
    ];
    for (at, words) in expect {
        assert!(
            shown.iter().any(|s| s.starts_with(at) && s.contains(words)),
            "no problem `{at} …{words}…` among:\n{}",
            shown.join("\n")
        );
    }
    assert!(
        problems.iter().all(|d| d.to_string().contains(".toml:")),
        "{problems:#?}"
    );
    assert_eq!(
        shown.len(),
        expect.len(),
        "exactly these problems:\n{}",
        shown.join("\n")
    );
}

#[test]
fn a_restart_step_must_not_also_send_a_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("checks")).unwrap();
    let path = dir.path().join("checks/r.toml");
    std::fs::write(
        &path,
        "[[check]]\nid = \"r\"\nkind = \"http\"\ntitle = \"R\"\npillar = \"language\"\n\n[[check.step]]\nrestart = true\npath = \"/x\"\n\n[[check.step]]\nmethod = \"GET\"\n",
    )
    .unwrap();
    let problems =
        gauntlet::checks::CheckSuite::load(dir.path(), &["language".to_string()]).unwrap_err();
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("r.toml:9:") && t.contains("sends no request")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("r.toml:11:") && t.contains("needs a `path`")),
        "{text:?}"
    );
}

#[test]
fn an_invalid_inline_json_schema_is_refused_at_its_line() {
    let lab = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(lab.path().join("checks")).expect("mkdir");
    write(
        lab.path(),
        "schema.toml",
        "[[check]]\nid = \"s\"\nkind = \"http\"\ntitle = \"T\"\npillar = \"api\"\n\n[[check.step]]\npath = \"/healthz\"\n[check.step.expect]\nstatus = 200\nschema = { type = \"object\", properties = { n = { minimum = \"one\" } } }\n",
    );
    let problems = CheckSuite::load(lab.path(), &pillars()).expect_err("the suite is refused");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].line, Some(11), "{problems:#?}");
    assert!(
        problems[0].message.starts_with("invalid JSON Schema:"),
        "{problems:#?}"
    );
}
