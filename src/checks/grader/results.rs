//! `results.json` as Exercism's test-runner interface defines it (version 3; 1 and 2 are its subsets):
//!
//! ```json
//! {"version": 3, "status": "fail", "message": null,
//!  "tests": [{"name": "…", "status": "pass|fail|error", "message": "…", "output": "…",
//!             "test_code": "…", "task_id": 1, "weight": 2.0, "pillar": "language"}]}
//! ```
//!
//! Unknown fields are allowed (the interface grows); what Gauntlet reads is checked: a known version, a
//! known status, test names that are unique and not empty. `weight` and `pillar` are Gauntlet's additions,
//! optional, and only compared with what the lab declares (the lab's values count).

use serde::Deserialize;

/// The largest version of Exercism's interface read.
const MAX_VERSION: u32 = 3;

/// A test's or the whole run's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// For a test: it errored (the learner's code threw, say). For the whole run: nothing could be tested
    /// (Exercism's "the solution does not compile"); `message` says why.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// A checked `results.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Results {
    #[serde(default)]
    pub version: Option<u32>,
    pub status: Status,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub tests: Vec<TestResult>,
}

/// One test of the results.
#[derive(Debug, Clone, Deserialize)]
pub struct TestResult {
    pub name: String,
    pub status: Status,
    /// For the learner.
    #[serde(default)]
    pub message: Option<String>,
    /// For staff: what the test printed, its transcript.
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub test_code: Option<String>,
    #[serde(default)]
    pub task_id: Option<u64>,
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub pillar: Option<String>,
}

/// Why a `results.json` cannot be used: the grader's fault.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResultsError {
    #[error("results.json is not valid JSON of the test-runner interface: {0}")]
    Malformed(String),
    #[error(
        "results.json says version {0}; versions 1 to 3 of the test-runner interface are read"
    )]
    Version(u32),
    #[error("results.json has a test without a name")]
    Unnamed,
    #[error("results.json has the test `{0}` twice")]
    Duplicate(String),
}

impl Results {
    /// Reads and checks `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Results, ResultsError> {
        let results: Results =
            serde_json::from_slice(bytes).map_err(|e| ResultsError::Malformed(e.to_string()))?;
        if let Some(v) = results.version.filter(|v| !(1..=MAX_VERSION).contains(v)) {
            return Err(ResultsError::Version(v));
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &results.tests {
            if t.name.trim().is_empty() {
                return Err(ResultsError::Unnamed);
            }
            if !seen.insert(t.name.as_str()) {
                return Err(ResultsError::Duplicate(t.name.clone()));
            }
        }
        Ok(results)
    }

    pub fn test(&self, name: &str) -> Option<&TestResult> {
        self.tests.iter().find(|t| t.name == name)
    }

    /// Tests of the results that are not in `declared`, for staff.
    pub fn undeclared<'a>(&'a self, declared: &[String]) -> Vec<&'a str> {
        self.tests
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| !declared.iter().any(|d| d == n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exercism_v3_file_is_read_with_gauntlets_additions() {
        let r = Results::parse(
            br#"{"version":3,"status":"fail","message":null,"tests":[
                {"name":"a","status":"pass","test_code":"x()","task_id":1},
                {"name":"b","status":"fail","message":"m","output":"o","weight":2,"pillar":"language"},
                {"name":"c","status":"error","message":"boom","extra":true}]}"#,
        )
        .expect("valid");
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.test("b").and_then(|t| t.weight), Some(2.0));
        assert_eq!(r.test("c").map(|t| t.status), Some(Status::Error));
        assert_eq!(r.undeclared(&["a".into(), "b".into()]), vec!["c"]);
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        assert!(matches!(
            Results::parse(b"{not json"),
            Err(ResultsError::Malformed(_))
        ));
        assert!(matches!(
            Results::parse(br#"{"status":"maybe"}"#),
            Err(ResultsError::Malformed(_))
        ));
        assert_eq!(
            Results::parse(br#"{"version":4,"status":"pass"}"#).err(),
            Some(ResultsError::Version(4))
        );
        assert_eq!(
            Results::parse(
                br#"{"status":"pass","tests":[{"name":"a","status":"pass"},{"name":"a","status":"pass"}]}"#
            )
            .err(),
            Some(ResultsError::Duplicate("a".into()))
        );
        assert_eq!(
            Results::parse(br#"{"status":"pass","tests":[{"name":" ","status":"pass"}]}"#).err(),
            Some(ResultsError::Unnamed)
        );
    }
}
