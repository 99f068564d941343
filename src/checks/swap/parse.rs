//! From the TOML of a `[check.swap]` table to a checked [`SwapCheck`], every problem with its line. Every
//! field has a default that fits the notes service of the course (`/readyz`, `/version`, `/notes`,
//! `/work?ms=800`), so a lab writes only what differs.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::SwapCheck;
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

/// More lanes than this per kind is a typo, not a lab: both versions and the grader share the machine.
const MAX_LANES: i64 = 16;
const MAX_PACE_MS: i64 = 10_000;
const MAX_PHASE_MS: i64 = 60_000;
const MAX_WAIT_SECS: i64 = 120;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawSwap {
    version_env: Option<Spanned<String>>,
    versions: Option<Spanned<Vec<String>>>,
    ready_path: Option<Spanned<String>>,
    version_path: Option<Spanned<String>>,
    reads: Option<Spanned<Vec<String>>>,
    write: Option<Spanned<RawWrite>>,
    slow: Option<Spanned<String>>,
    lanes: Option<Spanned<RawLanes>>,
    pace_ms: Option<Spanned<i64>>,
    before_ms: Option<Spanned<i64>>,
    after_ms: Option<Spanned<i64>>,
    ready_within_secs: Option<Spanned<i64>>,
    grace_secs: Option<Spanned<i64>>,
    carry_over: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWrite {
    path: Spanned<String>,
    json: Option<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLanes {
    reads: Option<Spanned<i64>>,
    writes: Option<Spanned<i64>>,
    slow: Option<Spanned<i64>>,
}

/// Reads the `[check.swap]` table of the check starting at byte `start`, whose whole deadline is
/// `timeout_secs`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawSwap>>,
    has_steps: bool,
    timeout_secs: i64,
    problems: &mut Vec<Diagnostic>,
) -> Option<SwapCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "a swap check has no [[check.step]]; its traffic is set in [check.swap]",
        ));
    }
    let Some(raw) = raw else {
        problems.push(src.at(start, "a swap check needs a [check.swap] table"));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let mut p = |at: usize, msg: String| problems.push(src.at(at, msg));

    let path = |v: &Option<Spanned<String>>, default: &str, p: &mut dyn FnMut(usize, String)| {
        let Some(v) = v else {
            return default.to_string();
        };
        let s = v.get_ref().trim().to_string();
        if !s.starts_with('/') || s.starts_with("//") {
            p(
                v.span().start,
                format!("path `{s}` must start with a single `/`"),
            );
        }
        s
    };
    let ready_path = path(&raw.ready_path, "/readyz", &mut p);
    let version_path = path(&raw.version_path, "/version", &mut p);
    let slow_path = path(&raw.slow, "/work?ms=800", &mut p);
    let version_env = match &raw.version_env {
        None => "APP_VERSION".to_string(),
        Some(v) => {
            let name = v.get_ref().trim().to_string();
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid || name == "PORT" {
                p(
                    v.span().start,
                    format!("`{name}` is not a variable the swap can set (letters, digits, `_`; not PORT)"),
                );
            }
            name
        }
    };
    let (blue, green) = match &raw.versions {
        None => ("blue".to_string(), "green".to_string()),
        Some(v) => match v.get_ref().as_slice() {
            [b, g] if valid_version(b) && valid_version(g) && b != g => (b.clone(), g.clone()),
            _ => {
                p(
                    v.span().start,
                    "versions must be two different names of 1 to 24 of a-z 0-9 - (e.g. [\"blue\", \"green\"])"
                        .to_string(),
                );
                ("blue".to_string(), "green".to_string())
            }
        },
    };
    let reads = match &raw.reads {
        None => vec![
            "/healthz".to_string(),
            version_path.clone(),
            "/notes".to_string(),
        ],
        Some(r) => {
            let list: Vec<String> = r.get_ref().iter().map(|s| s.trim().to_string()).collect();
            if let Some(bad) = list
                .iter()
                .find(|s| !s.starts_with('/') || s.starts_with("//"))
            {
                p(
                    r.span().start,
                    format!("read path `{bad}` must start with a single `/`"),
                );
            }
            if !list.contains(&version_path) {
                p(
                    r.span().start,
                    format!("reads must include the version path `{version_path}`: it shows which version answers"),
                );
            }
            list
        }
    };
    let (write_path, write_json) = match &raw.write {
        None => (
            "/notes".to_string(),
            r#"{"title":"written during the swap"}"#.to_string(),
        ),
        Some(w) => {
            let w = w.get_ref();
            let at = w.path.span().start;
            let wp = w.path.get_ref().trim().to_string();
            if !wp.starts_with('/') || wp.starts_with("//") {
                p(at, format!("path `{wp}` must start with a single `/`"));
            }
            let json = match &w.json {
                None => r#"{"title":"written during the swap"}"#.to_string(),
                Some(j) => serde_json::to_string(j.get_ref()).unwrap_or_else(|e| {
                    p(
                        j.span().start,
                        format!("the write body cannot be JSON: {e}"),
                    );
                    String::new()
                }),
            };
            (wp, json)
        }
    };
    let mut count = |v: Option<&Spanned<i64>>, name: &str, default: usize, min: i64| match v {
        None => default,
        Some(c) if (min..=MAX_LANES).contains(c.get_ref()) => c.get_ref().unsigned_abs() as usize,
        Some(c) => {
            p(
                c.span().start,
                format!("lanes.{name} must be between {min} and {MAX_LANES}"),
            );
            default
        }
    };
    let lanes = raw.lanes.as_ref().map(|l| l.get_ref());
    // At least one read lane: it carries the version path.
    let read_lanes = count(lanes.and_then(|l| l.reads.as_ref()), "reads", 2, 1);
    let write_lanes = count(lanes.and_then(|l| l.writes.as_ref()), "writes", 1, 0);
    let slow_lanes = count(lanes.and_then(|l| l.slow.as_ref()), "slow", 2, 0);

    // A number with its offset, in `unit` milliseconds, between `min` and `max` units.
    let mut span =
        |v: &Option<Spanned<i64>>, name: &str, default: u64, (min, max): (i64, i64), unit: u64| {
            let Some(v) = v else {
                return Duration::from_millis(default * unit);
            };
            if (min..=max).contains(v.get_ref()) {
                Duration::from_millis(v.get_ref().unsigned_abs() * unit)
            } else {
                p(
                    v.span().start,
                    format!("{name} must be between {min} and {max}"),
                );
                Duration::from_millis(default * unit)
            }
        };
    let pace = span(&raw.pace_ms, "pace_ms", 20, (0, MAX_PACE_MS), 1);
    let before_phase = span(&raw.before_ms, "before_ms", 1500, (100, MAX_PHASE_MS), 1);
    let after = span(&raw.after_ms, "after_ms", 1000, (100, MAX_PHASE_MS), 1);
    let ready_within = span(
        &raw.ready_within_secs,
        "ready_within_secs",
        10,
        (1, MAX_WAIT_SECS),
        1000,
    );
    let grace = span(&raw.grace_secs, "grace_secs", 10, (1, MAX_WAIT_SECS), 1000);
    let check = SwapCheck {
        version_env,
        blue,
        green,
        ready_path,
        version_path,
        reads,
        write_path,
        write_json,
        slow_path,
        read_lanes,
        write_lanes,
        slow_lanes,
        pace,
        before: before_phase,
        after,
        ready_within,
        grace,
        carry_over: raw.carry_over.unwrap_or(true),
    };
    let budget = Duration::from_secs(timeout_secs.unsigned_abs());
    if problems.len() == before && check.longest() >= budget {
        problems.push(src.at(
            table_at,
            format!(
                "the swap may take up to {} s (2 × ready_within_secs + before_ms + after_ms + 3 s + 2 × grace_secs): \
                 the check's timeout_secs ({timeout_secs}) must be longer",
                check.longest().as_secs_f64()
            ),
        ));
    }
    (problems.len() == before).then_some(check)
}

/// A version name: also a container name part and a header value.
fn valid_version(name: &str) -> bool {
    (1..=24).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The check an empty `[check.swap]` gives, for other modules' tests.
#[cfg(test)]
pub(super) fn tests_default() -> SwapCheck {
    let src = Source {
        path: std::path::Path::new("t.toml"),
        text: "",
    };
    let raw = Spanned::new(0..0, RawSwap::default());
    check(&src, 0, Some(raw), false, 3600, &mut Vec::new()).expect("the defaults are valid")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::checks::{CheckKind, CheckSuite};

    fn parse(swap: &str, timeout: u32) -> Result<CheckSuite, Vec<crate::diagnostics::Diagnostic>> {
        let text = format!(
            "[[check]]\nid = \"swap\"\nkind = \"swap\"\ntitle = \"Swap\"\npillar = \"cloud-native\"\n\
             timeout_secs = {timeout}\n\n[check.swap]\n{swap}"
        );
        CheckSuite::parse_file(
            Path::new("checks/30-swap.toml"),
            &text,
            &["cloud-native".to_string()],
        )
    }

    #[test]
    fn an_empty_table_takes_the_course_defaults() {
        let suite = parse("", 60).expect("valid");
        let CheckKind::Swap(s) = &suite.checks[0].kind else {
            panic!("not a swap check");
        };
        assert_eq!((s.blue.as_str(), s.green.as_str()), ("blue", "green"));
        assert_eq!(s.version_env, "APP_VERSION");
        assert_eq!(s.ready_path, "/readyz");
        assert_eq!(s.reads, ["/healthz", "/version", "/notes"]);
        assert_eq!(s.slow_path, "/work?ms=800");
        assert_eq!((s.read_lanes, s.write_lanes, s.slow_lanes), (2, 1, 2));
        assert!(s.carry_over);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&s.write_json).unwrap()["title"],
            "written during the swap"
        );
    }

    #[test]
    fn each_bad_field_is_reported_at_its_own_line() {
        let swap = "versions = [\"blue\", \"blue\"]\nreads = [\"/healthz\"]\nslow = \"work\"\n\
                    lanes = { reads = 0 }\ngrace_secs = 0\nversion_env = \"PORT\"\n";
        let mut problems = parse(swap, 60).expect_err("invalid");
        problems.sort_by_key(|p| p.line);
        let lines: Vec<usize> = problems.iter().filter_map(|p| p.line).collect();
        assert_eq!(lines, [9, 10, 11, 12, 13, 14], "{problems:?}");
        assert!(problems[1].message.contains("version path"), "{problems:?}");
    }

    #[test]
    fn a_swap_longer_than_the_timeout_is_refused_at_its_table() {
        let problems = parse("", 30).expect_err("too long for 30 s");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(8));
        assert!(
            problems[0].message.contains("timeout_secs (30)"),
            "{problems:?}"
        );
        assert!(parse("ready_within_secs = 5\ngrace_secs = 5\n", 30).is_ok());
    }

    #[test]
    fn unknown_fields_and_steps_are_refused() {
        let problems = parse("speed = 3\n", 60).expect_err("unknown field");
        assert!(problems[0].message.contains("speed"), "{problems:?}");
    }
}
