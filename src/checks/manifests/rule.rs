//! The rules of the policy by name, as check files select them (`rule = "read-only-root"`).

use std::fmt;
use std::str::FromStr;

/// One rule of the policy; each check selects one, so each has its own title and hint for the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The YAML parses into known Kubernetes objects with no unknown field, and holds a Deployment and a
    /// Service (served as `application/yaml` when read from the service).
    Valid,
    /// At least 2 replicas and a `RollingUpdate` with `maxUnavailable: 0`.
    Replicas,
    /// Every image names a tag other than `latest`, or a digest.
    ImagePinned,
    /// Readiness on `/readyz` and liveness on `/healthz`, HTTP, on a declared container port.
    Probes,
    /// CPU and memory requests and a memory limit.
    Resources,
    /// `runAsNonRoot: true` (pod or container level, as Kubernetes merges them) and no `runAsUser: 0`.
    RunAsNonRoot,
    /// `allowPrivilegeEscalation: false` on every container.
    NoPrivilegeEscalation,
    /// `readOnlyRootFilesystem: true` on every container.
    ReadOnlyRoot,
    /// `capabilities.drop` holds `ALL` on every container.
    DropAllCapabilities,
    /// No privileged container, no host network, PID or IPC namespace, no `hostPath` volume, no `hostPort`.
    HostIsolation,
    /// No literal value for an environment variable or ConfigMap key whose name looks secret; no Secret
    /// shipped with values.
    SecretsByReference,
    /// `terminationGracePeriodSeconds` set and longer than any `preStop` sleep, and a `preStop` hook.
    GracefulShutdown,
    /// A Service selects the Deployment's pod labels and targets a named container port.
    Service,
    /// A ConfigMap is present.
    ConfigMap,
}

impl Rule {
    pub const ALL: [Rule; 14] = [
        Rule::Valid,
        Rule::Replicas,
        Rule::ImagePinned,
        Rule::Probes,
        Rule::Resources,
        Rule::RunAsNonRoot,
        Rule::NoPrivilegeEscalation,
        Rule::ReadOnlyRoot,
        Rule::DropAllCapabilities,
        Rule::HostIsolation,
        Rule::SecretsByReference,
        Rule::GracefulShutdown,
        Rule::Service,
        Rule::ConfigMap,
    ];

    /// The name check files use.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Valid => "valid",
            Rule::Replicas => "replicas",
            Rule::ImagePinned => "image-pinned",
            Rule::Probes => "probes",
            Rule::Resources => "resources",
            Rule::RunAsNonRoot => "run-as-non-root",
            Rule::NoPrivilegeEscalation => "no-privilege-escalation",
            Rule::ReadOnlyRoot => "read-only-root",
            Rule::DropAllCapabilities => "drop-all-capabilities",
            Rule::HostIsolation => "host-isolation",
            Rule::SecretsByReference => "secrets-by-reference",
            Rule::GracefulShutdown => "graceful-shutdown",
            Rule::Service => "service",
            Rule::ConfigMap => "configmap",
        }
    }

    /// Every rule name, for diagnostics.
    pub fn names() -> String {
        Rule::ALL.map(Rule::name).join(", ")
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule name no rule has.
#[derive(Debug, thiserror::Error)]
#[error("unknown rule `{0}`")]
pub struct UnknownRule(pub String);

impl FromStr for Rule {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Rule, UnknownRule> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownRule(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_reads_back_from_its_name_and_typos_are_refused() {
        for rule in Rule::ALL {
            assert_eq!(rule.name().parse::<Rule>().ok(), Some(rule));
        }
        assert!("readonly-root".parse::<Rule>().is_err());
    }
}
