//! A lab's `[build]` table: the test stage and the limits of the learner's build steps, each value out of range
//! reported at its line (as `validate` prints it).

use serde::Deserialize;
use toml::Spanned;

use crate::sandbox::{BuildLimits, BuildNetwork};

/// How the learner's image is built.
#[derive(Debug, Clone, Default)]
pub struct BuildSpec {
    /// A stage the learner's Dockerfile must declare (`FROM … AS test`), built on its own before the final
    /// image: their tests run in it, and a failing test fails the build before anything is graded.
    pub test_stage: Option<crate::sandbox::dockerfile::StageName>,
    /// Where the test stage writes its JUnit XML report (`test_report`, an absolute path in the stage's image):
    /// read after the stage builds, and a missing report, no tests or a failing one fail the build.
    pub test_report: Option<ReportPath>,
    /// Memory, swap, CPU, processes and network of the build's steps (`memory_mb`, `swap_mb`, `cpus`, `pids`,
    /// `network`).
    pub limits: BuildLimits,
}

/// `[build]` as written, with the spans that problems are reported at.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    #[serde(default)]
    test_stage: Option<crate::sandbox::dockerfile::StageName>,
    test_report: Option<Spanned<String>>,
    memory_mb: Option<Spanned<i64>>,
    swap_mb: Option<Spanned<i64>>,
    cpus: Option<Spanned<f64>>,
    pids: Option<Spanned<i64>>,
    #[serde(default)]
    network: BuildNetwork,
}

/// The API takes a build's memory and memory-plus-swap as 32-bit byte counts.
const MAX_BUILD_MB: i64 = 2047;
/// Below this Docker refuses the container (6 MB), and nothing useful builds.
const MIN_BUILD_MB: i64 = 16;
/// A build step needs a process and a few threads; 0 or less would mean no limit to Docker.
const BUILD_PIDS: std::ops::RangeInclusive<i64> = 8..=65536;

impl RawBuild {
    /// The build settings, defaults filled in; each value out of range is a problem at its line.
    pub(super) fn resolve(self, mut problem: impl FnMut(usize, String)) -> BuildSpec {
        let defaults = BuildLimits::default();
        let memory = match self.memory_mb {
            Some(m) if !(MIN_BUILD_MB..=MAX_BUILD_MB).contains(m.get_ref()) => {
                problem(m.span().start, format!(
                    "[build] memory_mb must be between {MIN_BUILD_MB} and {MAX_BUILD_MB} (MiB), not {}",
                    m.get_ref()
                ));
                defaults.memory_mib()
            }
            Some(m) => *m.get_ref(),
            None => defaults.memory_mib(),
        };
        let swap = match self.swap_mb {
            Some(s) if *s.get_ref() < 0 || memory + s.get_ref() > MAX_BUILD_MB => {
                problem(s.span().start, format!(
                    "[build] swap_mb must be 0 or more, and memory_mb + swap_mb at most {MAX_BUILD_MB}, not {}",
                    s.get_ref()
                ));
                0
            }
            Some(s) => *s.get_ref(),
            None => 0,
        };
        let cpus = match self.cpus {
            Some(c) if !(c.get_ref().is_finite() && (0.01..=64.0).contains(c.get_ref())) => {
                problem(
                    c.span().start,
                    format!(
                        "[build] cpus must be between 0.01 and 64, not {}",
                        c.get_ref()
                    ),
                );
                defaults.cpus
            }
            Some(c) => *c.get_ref(),
            None => defaults.cpus,
        };
        let pids = match self.pids {
            Some(p) if !BUILD_PIDS.contains(p.get_ref()) => {
                problem(
                    p.span().start,
                    format!(
                        "[build] pids must be between {} and {}, not {}",
                        BUILD_PIDS.start(),
                        BUILD_PIDS.end(),
                        p.get_ref()
                    ),
                );
                defaults.pids
            }
            Some(p) => *p.get_ref(),
            None => defaults.pids,
        };
        let test_report = self.test_report.and_then(|r| {
            let parsed = ReportPath::parse(r.get_ref());
            match (&parsed, &self.test_stage) {
                (Err(why), _) => problem(r.span().start, format!("[build] test_report {why}")),
                (Ok(_), None) => problem(
                    r.span().start,
                    "[build] test_report needs test_stage: the report is read from that stage's image".to_string(),
                ),
                (Ok(_), Some(_)) => {}
            }
            parsed.ok()
        });
        BuildSpec {
            test_stage: self.test_stage,
            test_report,
            limits: BuildLimits {
                memory_bytes: memory << 20,
                swap_bytes: swap << 20,
                cpus,
                pids,
                network: self.network,
            },
        }
    }
}

/// An absolute path of a file in an image, where a test stage writes its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPath(String);

/// Why a `test_report` path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportPathError {
    #[error("must be an absolute path, not `{0}`")]
    NotAbsolute(String),
    #[error(
        "must name a file by a plain absolute path (no `.`, `..`, `//` or trailing `/`), not `{0}`"
    )]
    NotPlain(String),
}

impl ReportPath {
    /// An absolute path to a file: not `/`, no `.` or `..` part, no empty part, no NUL.
    pub fn parse(path: &str) -> Result<ReportPath, ReportPathError> {
        let Some(rest) = path.strip_prefix('/') else {
            return Err(ReportPathError::NotAbsolute(path.to_string()));
        };
        let odd = |p: &str| p.is_empty() || p == "." || p == "..";
        if path.contains('\0') || rest.split('/').any(odd) {
            return Err(ReportPathError::NotPlain(path.to_string()));
        }
        Ok(ReportPath(path.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReportPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_path_is_a_plain_absolute_file_path() {
        assert_eq!(
            ReportPath::parse("/reports/junit.xml").map(|p| p.to_string()),
            Ok("/reports/junit.xml".to_string())
        );
        for bad in [
            "",
            "/",
            "reports/junit.xml",
            "/reports/",
            "/a/../junit.xml",
            "/a//b",
            "/./b",
            "/a\0b",
        ] {
            assert!(ReportPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_report_needs_a_test_stage_and_a_good_path_at_its_offset() {
        let problems = |text: &str| {
            let raw: RawBuild = toml::from_str(text).expect("toml");
            let mut found = Vec::new();
            let spec = raw.resolve(|at, m| found.push((at, m)));
            (spec, found)
        };
        let (spec, found) = problems("test_report = \"/reports/junit.xml\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 14);
        assert!(found[0].1.contains("needs test_stage"), "{found:?}");
        assert_eq!(
            spec.test_report.map(|p| p.to_string()).as_deref(),
            Some("/reports/junit.xml")
        );
        let (spec, found) = problems("test_stage = \"test\"\ntest_report = \"reports\"\n");
        assert!(found[0].1.contains("must be an absolute path"), "{found:?}");
        assert!(spec.test_report.is_none());
        let (spec, found) = problems("test_stage = \"test\"\ntest_report = \"/r/junit.xml\"\n");
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(
            spec.test_report.map(|p| p.to_string()).as_deref(),
            Some("/r/junit.xml")
        );
    }
}
