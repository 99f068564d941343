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
        BuildSpec {
            test_stage: self.test_stage,
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
