//! Keeps a learner's service from reaching the grading host.
//!
//! Docker's `internal` networks stop forwarding (no route to the internet or to other networks), but the host
//! itself stays reachable: the bridge's own address is the containers' default gateway, and a packet to any of
//! the host's addresses is delivered locally through the `INPUT` chain, which Docker leaves open. A service
//! could connect to the grader's database, the engine's API on TCP, or anything else listening on the host.
//!
//! Every run network's bridge is therefore named `gtr…` (see [`bridge_name`]), and one rule per address family
//! drops whatever arrives on such a bridge unless it belongs to a connection the host opened:
//!
//! ```text
//! iptables  -I INPUT -i gtr+ -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP
//! ip6tables -I INPUT -i gtr+ -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP
//! ```
//!
//! The checks still reach the service (the host opens those connections, so the answers are `ESTABLISHED`);
//! the service reaches only its own network's members. The rule is checked (`-C`) before every run network is
//! created and inserted when missing, so a firewall reload between runs does not silently open the host. When
//! Gauntlet cannot manage the host's firewall (not root, or the engine on another host), the operator installs
//! the same rules there and sets the mode to `external`; see docs/operations.md.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::run::RunLabel;

/// The prefix of every run network's bridge interface; the firewall rule matches `gtr+`.
pub const BRIDGE_PREFIX: &str = "gtr";

/// Who keeps the run networks away from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirewallMode {
    /// Gauntlet checks and installs the rules itself (needs root and the engine on this host).
    #[default]
    Iptables,
    /// The operator has installed the rules on the engine's host; Gauntlet does not touch the firewall.
    External,
}

impl FromStr for FirewallMode {
    type Err = FirewallError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "iptables" => Ok(Self::Iptables),
            "external" => Ok(Self::External),
            other => Err(FirewallError::UnknownMode(other.to_string())),
        }
    }
}

impl fmt::Display for FirewallMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Iptables => "iptables",
            Self::External => "external",
        })
    }
}

/// Why the host could not be closed to run networks; grading stops rather than run a service unconfined.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("unknown sandbox firewall mode `{0}` (iptables or external)")]
    UnknownMode(String),
    #[error(
        "the sandbox firewall can only be installed on the engine's own host, and DOCKER_HOST is `{0}`; \
         install the rules on that host and set the sandbox firewall to `external` (docs/operations.md)"
    )]
    RemoteEngine(String),
    #[error(
        "the run network's bridge `{0}` is not in this process's network namespace, so the rule installed here \
         cannot cover it (Gauntlet in a container, or a rootless engine?); install the rules where the engine's \
         bridges are and set the sandbox firewall to `external` (docs/operations.md)"
    )]
    BridgeElsewhere(String),
    #[error("`{program}` could not be run to install the sandbox firewall: {source}")]
    Spawn {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{program}` refused the sandbox firewall rule (exit {code}): {stderr}; run Gauntlet as root, or \
         install the rules yourself and set the sandbox firewall to `external` (docs/operations.md)"
    )]
    Refused {
        program: &'static str,
        code: i32,
        stderr: String,
    },
}

/// The bridge interface of a run's network: `gtr` and 12 hex digits of a hash of the run id, because Linux
/// allows 15 bytes for an interface name and run ids may be 48.
pub(crate) fn bridge_name(run: &RunLabel) -> String {
    let digest = Sha256::digest(run.as_str().as_bytes());
    format!("{BRIDGE_PREFIX}{}", &hex::encode(digest)[..12])
}

/// The rule, without the `-C`/`-I` verb, as `iptables` and `ip6tables` both take it.
fn rule() -> Vec<String> {
    [
        "INPUT",
        "-i",
        &format!("{BRIDGE_PREFIX}+"),
        "-m",
        "conntrack",
        "!",
        "--ctstate",
        "ESTABLISHED,RELATED",
        "-m",
        "comment",
        "--comment",
        "gauntlet: run networks reach nothing on the host",
        "-j",
        "DROP",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Serialises checks within this process, so two workers do not both insert a missing rule.
static ENSURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Makes sure the rules are in place (mode `iptables`); does nothing in mode `external`.
pub(crate) async fn ensure(mode: FirewallMode) -> Result<(), FirewallError> {
    if mode == FirewallMode::External {
        return Ok(());
    }
    if let Some(remote) = remote_engine() {
        return Err(FirewallError::RemoteEngine(remote));
    }
    let _one_at_a_time = ENSURING.lock().await;
    ensure_with("iptables").await?;
    if ipv6_enabled() {
        ensure_with("ip6tables").await?;
    }
    Ok(())
}

/// After a network is created (mode `iptables`): its bridge must be an interface this process sees, or the
/// rule that `ensure` installed here guards some other namespace, not the engine's.
pub(crate) fn check_bridge_is_here(mode: FirewallMode, bridge: &str) -> Result<(), FirewallError> {
    if mode == FirewallMode::External
        || std::path::Path::new("/sys/class/net").join(bridge).exists()
    {
        return Ok(());
    }
    Err(FirewallError::BridgeElsewhere(bridge.to_string()))
}

/// `DOCKER_HOST` when it names an engine reached over the network (whose host this process cannot firewall).
fn remote_engine() -> Option<String> {
    let host = std::env::var("DOCKER_HOST").ok()?;
    let local = host.is_empty() || host.starts_with("unix://") || host.starts_with('/');
    (!local).then_some(host)
}

fn ipv6_enabled() -> bool {
    std::path::Path::new("/proc/net/if_inet6").exists()
}

async fn ensure_with(program: &'static str) -> Result<(), FirewallError> {
    // `-C` exits 1 when the rule is missing (and 2 or more when the command itself is wrong).
    let check = iptables(program, "-C").await?;
    if check.status.success() {
        return Ok(());
    }
    let insert = iptables(program, "-I").await?;
    if insert.status.success() {
        tracing::info!(
            program,
            "installed the sandbox firewall rule for run networks"
        );
        return Ok(());
    }
    Err(FirewallError::Refused {
        program,
        code: insert.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&insert.stderr).trim().to_string(),
    })
}

async fn iptables(
    program: &'static str,
    verb: &str,
) -> Result<std::process::Output, FirewallError> {
    tokio::process::Command::new(program)
        // Wait for the xtables lock rather than fail when Docker is changing its own rules.
        .args(["-w", "5", verb])
        .args(rule())
        .output()
        .await
        .map_err(|source| FirewallError::Spawn { program, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names_fit_an_interface_name_and_match_the_rule() {
        let long = RunLabel::parse(&"r".repeat(48)).expect("valid");
        let name = bridge_name(&long);
        assert!(name.len() <= 15, "{name}");
        assert!(name.starts_with(BRIDGE_PREFIX));
        let other = RunLabel::parse("r2").expect("valid");
        assert_ne!(bridge_name(&other), name);
        assert!(rule().contains(&format!("{BRIDGE_PREFIX}+")));
    }

    #[test]
    fn modes_parse_and_print() {
        for mode in [FirewallMode::Iptables, FirewallMode::External] {
            assert_eq!(mode.to_string().parse::<FirewallMode>().ok(), Some(mode));
        }
        assert!("off".parse::<FirewallMode>().is_err());
    }
}
