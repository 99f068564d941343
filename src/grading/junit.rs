//! The JUnit XML report a lab's test stage writes (`[build] test_report`): how many tests ran, failed, erred
//! and were skipped, counted from the test cases themselves rather than from the suites' own `tests=` and
//! `failures=` attributes, which a hand-written report could set to anything.
//!
//! Accepted shapes are those the common tools write: a `<testsuites>` root holding `<testsuite>`s (pytest,
//! jest-junit, go-junit-report, cargo-nextest) or a single `<testsuite>` root (Maven Surefire), suites nested in
//! suites included. The report is the learner's file, so it is checked before serde sees it: its root must be
//! one of those two elements and its elements may nest only [`MAX_DEPTH`] deep (serde recurses once per suite).

use quick_xml::events::Event;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// Deeper than any real report (suites of suites of cases of failures); bounds serde's recursion.
const MAX_DEPTH: usize = 32;

/// What a report says about the learner's tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TestCounts {
    /// Test cases in the report, whatever their outcome.
    pub tests: u64,
    /// Cases with a `<failure>` (an assertion that did not hold).
    pub failures: u64,
    /// Cases with an `<error>` (and no failure): the test itself broke.
    pub errors: u64,
    /// Cases with a `<skipped>` and neither of the above.
    pub skipped: u64,
}

impl TestCounts {
    /// The tests that ran and passed.
    pub fn passed(&self) -> u64 {
        self.tests - self.failures - self.errors - self.skipped
    }

    /// "12 tests, 11 passed, 0 failed, 1 skipped" (errors are counted as failed for the learner, and named
    /// when there are any).
    pub fn summary(&self) -> String {
        let errors = if self.errors > 0 {
            format!(" ({} with an error)", self.errors)
        } else {
            String::new()
        };
        format!(
            "{} test{}, {} passed, {} failed{errors}, {} skipped",
            self.tests,
            if self.tests == 1 { "" } else { "s" },
            self.passed(),
            self.failures + self.errors,
            self.skipped
        )
    }
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JunitError {
    /// Not well-formed XML, or not shaped like a JUnit report; the text says where, for the learner.
    #[error("it is not a JUnit XML report: {0}")]
    Malformed(String),
}

/// The root element: a list of suites or one suite; either may hold suites and cases.
#[derive(Deserialize)]
enum Root {
    #[serde(rename = "testsuites")]
    Suites(Suite),
    #[serde(rename = "testsuite")]
    Suite(Suite),
}

#[derive(Deserialize, Default)]
struct Suite {
    #[serde(rename = "testsuite", default)]
    suites: Vec<Suite>,
    #[serde(rename = "testcase", default)]
    cases: Vec<Case>,
}

/// A test case; only which outcome elements it holds matters here (`system-out`, properties and attributes are
/// ignored).
#[derive(Deserialize)]
struct Case {
    #[serde(default)]
    failure: Vec<IgnoredAny>,
    #[serde(default)]
    error: Vec<IgnoredAny>,
    #[serde(default)]
    skipped: Vec<IgnoredAny>,
}

/// Counts the test cases of a report.
pub fn parse(xml: &[u8]) -> Result<TestCounts, JunitError> {
    let text = std::str::from_utf8(xml)
        .map_err(|e| JunitError::Malformed(format!("it is not UTF-8 text ({e})")))?;
    check_shape(text)?;
    let root: Root =
        quick_xml::de::from_str(text).map_err(|e| JunitError::Malformed(e.to_string()))?;
    let mut counts = TestCounts::default();
    match &root {
        Root::Suites(s) | Root::Suite(s) => count(s, &mut counts),
    }
    Ok(counts)
}

fn count(suite: &Suite, counts: &mut TestCounts) {
    for case in &suite.cases {
        counts.tests += 1;
        if !case.failure.is_empty() {
            counts.failures += 1;
        } else if !case.error.is_empty() {
            counts.errors += 1;
        } else if !case.skipped.is_empty() {
            counts.skipped += 1;
        }
    }
    for inner in &suite.suites {
        count(inner, counts);
    }
}

/// Well-formed, with a `<testsuites>` or `<testsuite>` root, nested at most [`MAX_DEPTH`] deep.
fn check_shape(text: &str) -> Result<(), JunitError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    let mut root_seen = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            JunitError::Malformed(format!("{e} (at byte {})", reader.error_position()))
        })?;
        let name = match &event {
            Event::Start(e) | Event::Empty(e) => Some(e.name().into_inner().to_string()),
            Event::Eof => break,
            _ => None,
        };
        if let Some(name) = name {
            if !root_seen {
                if name != "testsuites" && name != "testsuite" {
                    return Err(JunitError::Malformed(format!(
                        "its root element is <{name}>, not <testsuites> or <testsuite>"
                    )));
                }
                root_seen = true;
            } else if depth == 0 {
                return Err(JunitError::Malformed(
                    "it has more than one root element".to_string(),
                ));
            }
        }
        match event {
            Event::Start(_) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(JunitError::Malformed(format!(
                        "its elements nest more than {MAX_DEPTH} deep"
                    )));
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if root_seen {
        Ok(())
    } else {
        Err(JunitError::Malformed("it has no elements".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(xml: &str) -> TestCounts {
        parse(xml.as_bytes()).expect("a report")
    }

    #[test]
    fn a_pytest_report_is_counted_by_its_cases() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4">
<testcase classname="t" name="ok_one" time="0.1"/>
<testcase classname="t" name="ok_two"><system-out>hello</system-out></testcase>
<testcase classname="t" name="bad"><failure message="assert 1 == 2">trace &lt;here&gt;</failure></testcase>
<testcase classname="t" name="later"><skipped type="pytest.skip" message="not yet"/></testcase>
</testsuite></testsuites>"#;
        assert_eq!(
            counts(xml),
            TestCounts {
                tests: 4,
                failures: 1,
                errors: 0,
                skipped: 1
            }
        );
    }

    #[test]
    fn a_single_suite_root_with_properties_and_errors_is_read() {
        let xml = r#"<testsuite name="NotesTest" tests="3">
<properties><property name="java.version" value="21"/></properties>
<testcase name="a" classname="NotesTest"/>
<testcase name="b" classname="NotesTest"><error type="NullPointerException">boom</error></testcase>
<testcase name="c" classname="NotesTest"/>
<system-err><![CDATA[warning]]></system-err>
</testsuite>"#;
        assert_eq!(
            counts(xml),
            TestCounts {
                tests: 3,
                failures: 0,
                errors: 1,
                skipped: 0
            }
        );
    }

    #[test]
    fn nested_and_interleaved_suites_are_all_counted() {
        let xml = r#"<testsuites>
<testsuite name="outer"><testcase name="a"/>
  <testsuite name="inner"><testcase name="b"/><testcase name="c"><failure/></testcase></testsuite>
  <testcase name="d"/>
</testsuite>
<testsuite name="second"><testcase name="e"><skipped/></testcase></testsuite>
</testsuites>"#;
        assert_eq!(
            counts(xml),
            TestCounts {
                tests: 5,
                failures: 1,
                errors: 0,
                skipped: 1
            }
        );
    }

    #[test]
    fn the_suites_own_counts_are_not_believed() {
        let xml = r#"<testsuite tests="40" failures="0"></testsuite>"#;
        assert_eq!(counts(xml).tests, 0);
        let empty = r#"<testsuites tests="12"/>"#;
        assert_eq!(counts(empty).tests, 0);
    }

    #[test]
    fn other_documents_are_refused_with_a_reason() {
        for (xml, why) in [
            ("", "no elements"),
            ("not xml at all", "no elements"),
            ("<html><body/></html>", "root element is <html>"),
            ("<testsuite><testcase></testsuite>", "at byte"),
            ("<testsuite/><testsuite/>", "more than one root"),
        ] {
            match parse(xml.as_bytes()) {
                Err(JunitError::Malformed(m)) => assert!(m.contains(why), "{xml}: {m}"),
                other => panic!("{xml}: {other:?}"),
            }
        }
        assert!(matches!(
            parse(&[0xff, 0xfe, b'<']),
            Err(JunitError::Malformed(m)) if m.contains("UTF-8")
        ));
    }

    #[test]
    fn deep_nesting_is_refused_before_serde_recurses() {
        let xml = format!(
            "<testsuites>{}{}</testsuites>",
            "<testsuite>".repeat(10_000),
            "</testsuite>".repeat(10_000)
        );
        assert!(matches!(
            parse(xml.as_bytes()),
            Err(JunitError::Malformed(m)) if m.contains("nest more than")
        ));
    }

    #[test]
    fn entities_declared_in_the_report_are_not_expanded() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<testsuite><testcase name="&b;"/></testsuite>"#;
        // Either refused or read without expanding; never a blow-up.
        if let Ok(c) = parse(xml.as_bytes()) {
            assert_eq!(c.tests, 1);
        }
    }

    #[test]
    fn the_summary_names_passed_failed_and_skipped() {
        let c = TestCounts {
            tests: 12,
            failures: 1,
            errors: 1,
            skipped: 2,
        };
        assert_eq!(
            c.summary(),
            "12 tests, 8 passed, 2 failed (1 with an error), 2 skipped"
        );
        let one = TestCounts {
            tests: 1,
            ..TestCounts::default()
        };
        assert_eq!(one.summary(), "1 test, 1 passed, 0 failed, 0 skipped");
    }
}
