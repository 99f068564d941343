//! Every diagnostic of the events parser, each at its line.

use std::path::Path;

use crate::checks::events::EventStep;
use crate::checks::{CheckKind, CheckSuite};
use crate::diagnostics::Diagnostic;

const HEAD: &str = "[[check]]\nid = \"e\"\nkind = \"events\"\ntitle = \"Events\"\npillar = \"events\"\n\n[check.events]\n";

fn parse(steps: &str) -> Result<CheckSuite, Vec<Diagnostic>> {
    let text = format!("{HEAD}{steps}");
    CheckSuite::parse_file(Path::new("checks/e.toml"), &text, &["events".to_string()])
}

/// The problems of a check file, as `line: message`; lines count from the first of `steps` as 8.
fn problems(steps: &str) -> Vec<(usize, String)> {
    match parse(steps) {
        Ok(_) => Vec::new(),
        Err(ps) => ps
            .into_iter()
            .map(|p| (p.line.unwrap_or(0), p.message))
            .collect(),
    }
}

fn has(ps: &[(usize, String)], line: usize, text: &str) -> bool {
    ps.iter().any(|(l, m)| *l == line && m.contains(text))
}

const FULL: &str = r#"
[[check.events.step]]
produce = "{{env.KAFKA_TOPIC}}"
records = [
  { key = "acct-{{rand}}", json = { id = "c-{{rand}}", amount = 5 }, copies = 3 },
  { key = "k-{{i%4}}", text = "not json {{i}}", headers = { source = "gauntlet" } },
]
repeat = 10
shuffle = true
pace_ms = 1

[[check.events.step]]
request = { method = "GET", path = "/accounts/acct-{{rand}}" }
expect = { status = 200 }
capture = { acct = "json:/id" }

[[check.events.step]]
settle = { method = "GET", path = "/accounts/{{acct}}" }
expect = { status = 200, json = { balance = 15 } }
within_secs = 20
min_rate = 50

[[check.events.step]]
restart = "kill"

[[check.events.step]]
pause = true

[[check.events.step]]
sleep_ms = 500

[[check.events.step]]
writes = { method = "POST", path = "/notes", json = { title = "w{{i}} {{rand}}" } }
count = 60
concurrency = 4
kill_after = 25
collect = { acked = "json:/id" }
max_ms = 800

[[check.events.step]]
read = "notes"
within_secs = 5
[check.events.step.expect_records]
where = { type = "note.created" }
id = "/id"
ids = ["bad-{{rand}}"]
each_once = true
one_id_per = ["/note_id", "/version"]
count = 3
key_is = "/note_id"
key_order = "/version"
includes = { list = "acked", at = "/note_id" }

[[check.events.step]]
group_lag = "{{env.KAFKA_GROUP_ID}}"
topic = "{{env.KAFKA_TOPIC}}"
"#;

#[test]
fn the_documented_syntax_parses_into_every_step() {
    let suite = parse(FULL).expect("the documented example is valid");
    let CheckKind::Events(check) = &suite.checks[0].kind else {
        panic!("not an events check");
    };
    assert_eq!(check.broker, "kafka");
    let kinds: Vec<&str> = check
        .steps
        .iter()
        .map(|s| match s {
            EventStep::Produce(p) => {
                assert_eq!((p.repeat, p.shuffle, p.records[0].copies), (10, true, 3));
                "produce"
            }
            EventStep::Request(_) => "request",
            EventStep::Settle(s) => {
                assert_eq!(s.min_rate, Some(50.0));
                "settle"
            }
            EventStep::Restart(_) => "restart",
            EventStep::Pause(true) => "pause",
            EventStep::Pause(false) => "unpause",
            EventStep::Sleep(_) => "sleep",
            EventStep::Writes(w) => {
                assert_eq!(
                    (w.count, w.concurrency, w.kill_after, w.max_ms),
                    (60, 4, Some(25), Some(800))
                );
                "writes"
            }
            EventStep::Read(r) => {
                assert!(r.expect.each_once && r.expect.includes.is_some());
                "read"
            }
            EventStep::GroupLag(_) => "group_lag",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "produce",
            "request",
            "settle",
            "restart",
            "pause",
            "sleep",
            "writes",
            "read",
            "group_lag"
        ]
    );
}

#[test]
fn a_step_with_no_action_or_two_is_refused() {
    let ps = problems("[[check.events.step]]\nwithin_secs = 3\n");
    assert!(has(&ps, 8, "a step needs one action"), "{ps:?}");
    let ps = problems("[[check.events.step]]\npause = true\nsleep_ms = 10\n");
    assert!(
        has(
            &ps,
            10,
            "exactly one action, but this one has `pause` and `sleep_ms`"
        ),
        "{ps:?}"
    );
}

#[test]
fn unknown_fields_are_refused_with_their_line() {
    let ps = problems("[[check.events.step]]\npause = true\npaws = 1\n");
    assert!(
        ps.iter().any(|(_, m)| m.contains("unknown field `paws`")),
        "{ps:?}"
    );
    let ps = problems("[[check.events.step]]\nread = \"t\"\n[check.events.step.expect_records]\ncount = 1\nevery = 2\n");
    assert!(
        ps.iter().any(|(_, m)| m.contains("unknown field `every`")),
        "{ps:?}"
    );
}

#[test]
fn fields_of_another_action_are_refused() {
    let ps = problems("[[check.events.step]]\npause = true\nmin_rate = 3\n");
    assert!(
        has(
            &ps,
            10,
            "`min_rate` belongs to a `settle` step, not to `pause`"
        ),
        "{ps:?}"
    );
    let ps = problems("[[check.events.step]]\nrestart = \"kill\"\n[check.events.step.expect_records]\ncount = 1\n");
    assert!(
        has(&ps, 10, "`expect_records` belongs to a `read` step"),
        "{ps:?}"
    );
    let ps = problems("[[check.events.step]]\nread = \"t\"\ntopic = \"t\"\n[check.events.step.expect_records]\ncount = 1\n");
    assert!(
        has(&ps, 10, "`topic` belongs to a `group_lag` step"),
        "{ps:?}"
    );
}

#[test]
fn read_needs_expectations_and_group_lag_a_topic() {
    let ps = problems("[[check.events.step]]\nread = \"t\"\n");
    assert!(
        has(&ps, 8, "needs [check.events.step.expect_records]"),
        "{ps:?}"
    );
    let ps = problems("[[check.events.step]]\nread = \"t\"\n[check.events.step.expect_records]\nwhere = { a = 1 }\n");
    assert!(
        has(&ps, 10, "expect_records needs an expectation"),
        "{ps:?}"
    );
    let ps = problems("[[check.events.step]]\ngroup_lag = \"g\"\n");
    assert!(has(&ps, 8, "needs `topic`"), "{ps:?}");
}

#[test]
fn min_rate_needs_an_earlier_produce() {
    let ps = problems("[[check.events.step]]\nsettle = { path = \"/x\" }\nexpect = { status = 200 }\nmin_rate = 5\n");
    assert!(has(&ps, 11, "there is none"), "{ps:?}");
}

#[test]
fn settle_needs_expect_and_expect_goes_beside_the_request() {
    let ps = problems("[[check.events.step]]\nsettle = { path = \"/x\" }\n");
    assert!(has(&ps, 9, "needs `expect`"), "{ps:?}");
    let ps =
        problems("[[check.events.step]]\nrequest = { path = \"/x\", expect = { status = 200 } }\n");
    assert!(has(&ps, 9, "beside the request"), "{ps:?}");
}

#[test]
fn variables_must_be_defined_earlier_and_i_only_where_many_are_sent() {
    let ps = problems("[[check.events.step]]\nrequest = { path = \"/n/{{note}}\" }\n");
    assert!(
        ps.iter().any(|(l, m)| *l == 9 && m.contains("`note`")),
        "{ps:?}"
    );
    let ps = problems("[[check.events.step]]\nread = \"t-{{i}}\"\n[check.events.step.expect_records]\ncount = 1\n");
    assert!(has(&ps, 9, "variable `i` is not defined"), "{ps:?}");
    let ps = problems("[[check.events.step]]\nread = \"t\"\n[check.events.step.expect_records]\nincludes = { list = \"acked\", at = \"/id\" }\n");
    assert!(has(&ps, 11, "`acked` is not a list collected"), "{ps:?}");
}

#[test]
fn records_and_numbers_are_checked() {
    let ps = problems("[[check.events.step]]\nproduce = \"t\"\nrecords = [ { key = \"k\" }, { json = { a = 1 }, text = \"b\", copies = 0 } ]\nrepeat = 0\n");
    assert!(has(&ps, 10, "needs a value"), "{ps:?}");
    assert!(has(&ps, 10, "either `json` or `text`"), "{ps:?}");
    assert!(has(&ps, 10, "copies must be from 1"), "{ps:?}");
    assert!(has(&ps, 11, "repeat must be from 1"), "{ps:?}");
    let ps = problems("[[check.events.step]]\nproduce = \"t\"\n");
    assert!(has(&ps, 8, "needs `records`"), "{ps:?}");
    let ps = problems("[[check.events.step]]\nwrites = { path = \"/n\" }\ncount = 1\nkill_after = 1\nconcurrency = 99\n");
    assert!(has(&ps, 11, "kill_after needs at least 2 writes"), "{ps:?}");
    assert!(has(&ps, 12, "concurrency must be from 1 to 64"), "{ps:?}");
    let ps = problems("[[check.events.step]]\nwrites = { path = \"/n\" }\n");
    assert!(has(&ps, 9, "needs `count`"), "{ps:?}");
    let ps = problems("[[check.events.step]]\nsleep_ms = 0\n");
    assert!(has(&ps, 9, "sleep_ms must be from 1"), "{ps:?}");
    let ps = problems("[[check.events.step]]\nrestart = \"soft\"\n");
    assert!(has(&ps, 9, "unknown restart `soft`"), "{ps:?}");
}

#[test]
fn id_expectations_need_an_id_and_none_stands_alone() {
    let ps = problems("[[check.events.step]]\nread = \"t\"\n[check.events.step.expect_records]\neach_once = true\n");
    assert!(has(&ps, 11, "`each_once` needs `id`"), "{ps:?}");
    let ps = problems("[[check.events.step]]\nread = \"t\"\n[check.events.step.expect_records]\nnone = true\ncount = 2\n");
    assert!(
        has(&ps, 11, "`none = true` asks for no record at all"),
        "{ps:?}"
    );
    let ps = problems("[[check.events.step]]\nread = \"t\"\n[check.events.step.expect_records]\nkey_is = \"note_id\"\n");
    assert!(has(&ps, 11, "is not a JSON pointer"), "{ps:?}");
}

#[test]
fn the_table_is_required_and_belongs_to_events_checks() {
    let text = "[[check]]\nid = \"e\"\nkind = \"events\"\ntitle = \"E\"\npillar = \"events\"\n";
    let ps = CheckSuite::parse_file(Path::new("e.toml"), text, &["events".to_string()])
        .expect_err("no table");
    assert!(
        ps.iter()
            .any(|p| p.message.contains("needs a [check.events] table")),
        "{ps:?}"
    );
    let text = "[[check]]\nid = \"e\"\nkind = \"http\"\ntitle = \"E\"\npillar = \"events\"\n[[check.step]]\npath = \"/\"\n[check.events]\nbroker = \"kafka\"\n";
    let ps = CheckSuite::parse_file(Path::new("e.toml"), text, &["events".to_string()])
        .expect_err("wrong kind");
    assert!(
        ps.iter()
            .any(|p| p.line == Some(8) && p.message.contains("belongs to `events` checks")),
        "{ps:?}"
    );
    let ps = problems("broker = \"Kafka!\"\n[[check.events.step]]\npause = true\n");
    assert!(has(&ps, 8, "not a counterpart name"), "{ps:?}");
    let ps = problems("broker = \"kafka\"\n");
    assert!(has(&ps, 7, "at least one [[check.events.step]]"), "{ps:?}");
}
