//! The resources a build's steps get: memory, swap, CPU and network, turned into the classic builder's
//! settings in one place. Every `RUN` step runs in a container under these limits.
//!
//! The process limit is not a build option of the API; `build_cgroup.rs` applies it through a cgroup parent.

use bollard::query_parameters::BuildImageOptions;
use serde::Deserialize;

/// The classic builder's CPU period, in microseconds; the quota is a share of it.
const CPU_PERIOD: i32 = 100_000;

/// Limits of one build's steps.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildLimits {
    /// Memory of each step's container; a step past it is killed by the kernel (exit code 137).
    pub memory_bytes: i64,
    /// Swap on top of the memory; 0 is none.
    pub swap_bytes: i64,
    /// CPUs each step may use (a CFS quota).
    pub cpus: f64,
    /// Processes and threads of all the build's steps together (see `build_cgroup.rs`).
    pub pids: i64,
    pub network: BuildNetwork,
}

/// The network of a build's `RUN` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildNetwork {
    /// No network at all: only a loopback interface.
    #[default]
    None,
    /// A route out, so steps can download packages: Gauntlet's build network (`build_network.rs`), on which
    /// steps reach neither the grading host nor each other, but can reach the internet and anything the
    /// host can route to.
    Default,
}

impl Default for BuildLimits {
    fn default() -> Self {
        BuildLimits {
            memory_bytes: 1024 << 20,
            swap_bytes: 0,
            cpus: 1.0,
            pids: 256,
            network: BuildNetwork::None,
        }
    }
}

impl BuildLimits {
    /// Sets the limits on a build's options. The API takes 32-bit byte counts, so memory and swap together
    /// stay under 2 GiB (lab.toml is validated to that).
    pub(crate) fn apply(&self, options: &mut BuildImageOptions) {
        let bytes = |b: i64| i32::try_from(b.max(0)).unwrap_or(i32::MAX);
        options.memory = Some(bytes(self.memory_bytes));
        options.memswap = Some(bytes(self.memory_bytes.saturating_add(self.swap_bytes)));
        options.cpuperiod = Some(CPU_PERIOD);
        options.cpuquota = Some(((self.cpus * f64::from(CPU_PERIOD)) as i32).max(1000));
        options.networkmode = match self.network {
            BuildNetwork::None => Some("none".to_string()),
            BuildNetwork::Default => Some(super::build_network::BUILD_NETWORK.to_string()),
        };
    }

    /// Memory in MiB, for messages.
    pub fn memory_mib(&self) -> i64 {
        self.memory_bytes >> 20
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_become_the_builders_settings() {
        let mut options = BuildImageOptions::default();
        BuildLimits {
            memory_bytes: 256 << 20,
            swap_bytes: 64 << 20,
            cpus: 0.5,
            pids: 64,
            network: BuildNetwork::None,
        }
        .apply(&mut options);
        assert_eq!(options.memory, Some(256 << 20));
        assert_eq!(options.memswap, Some(320 << 20));
        assert_eq!(
            (options.cpuperiod, options.cpuquota),
            (Some(100_000), Some(50_000))
        );
        assert_eq!(options.networkmode.as_deref(), Some("none"));
        let mut options = BuildImageOptions::default();
        BuildLimits {
            network: BuildNetwork::Default,
            ..BuildLimits::default()
        }
        .apply(&mut options);
        assert_eq!(options.networkmode.as_deref(), Some("gauntlet-build"));
    }
}
