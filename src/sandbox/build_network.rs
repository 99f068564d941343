//! The network of builds that may fetch packages (`[build] network = "default"`).
//!
//! The engine's default bridge would give a build's `RUN` steps the grading host on every address (the bridge's
//! gateway and everything listening on the host) and every other container on that bridge. Instead, such
//! builds share one network of Gauntlet's: a plain bridge with a route out, so package registries answer, whose
//! interface is named `gtrbuild` so the sandbox firewall rule (`gtr+`, see `firewall.rs`) drops whatever its
//! containers open towards the host, and with inter-container traffic off, so two learners' builds cannot
//! talk to each other.

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;

use super::error::SandboxError;
use super::run::LABEL_KIND;
use super::Sandbox;

/// The build network's name; the classic builder takes a network name as its `networkmode`.
pub const BUILD_NETWORK: &str = "gauntlet-build";
/// Its bridge interface: starts with the firewall rule's prefix, and is no run's (those are `gtr` + hex).
const BUILD_BRIDGE: &str = "gtrbuild";

impl Sandbox {
    /// Creates the build network when it is missing (it is shared and kept between builds) and makes sure the
    /// firewall rule covers it before any step runs on it.
    pub(crate) async fn ensure_build_network(&self) -> Result<(), SandboxError> {
        super::firewall::ensure(self.firewall).await?;
        if self
            .docker
            .inspect_network(BUILD_NETWORK, None)
            .await
            .is_err()
        {
            self.create_build_network().await?;
        }
        super::firewall::check_bridge_is_here(self.firewall, BUILD_BRIDGE)?;
        Ok(())
    }

    async fn create_build_network(&self) -> Result<(), SandboxError> {
        let created = self
            .docker
            .create_network(NetworkCreateRequest {
                name: BUILD_NETWORK.to_string(),
                driver: Some("bridge".to_string()),
                internal: Some(false),
                enable_ipv6: Some(false),
                options: Some(HashMap::from([
                    (
                        "com.docker.network.bridge.name".to_string(),
                        BUILD_BRIDGE.to_string(),
                    ),
                    (
                        "com.docker.network.bridge.enable_icc".to_string(),
                        "false".to_string(),
                    ),
                ])),
                labels: Some(HashMap::from([(
                    LABEL_KIND.to_string(),
                    "build-network".to_string(),
                )])),
                ..Default::default()
            })
            .await;
        match created {
            Ok(_) => Ok(()),
            // Another worker (or a build of this process) created it in the meantime. The engine says so with a
            // 409 for the name or, when both creates got past the name check at once, a 403 for the bridge's
            // name, which only one network can hold: whichever it was, the network is there now.
            Err(e) => match self.docker.inspect_network(BUILD_NETWORK, None).await {
                Ok(_) => Ok(()),
                Err(_) => Err(SandboxError::docker("create the build network")(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_bridge_is_covered_by_the_firewall_rule_and_is_no_runs() {
        assert!(BUILD_BRIDGE.starts_with(super::super::firewall::BRIDGE_PREFIX));
        assert!(BUILD_BRIDGE.len() <= 15);
        let after_prefix = &BUILD_BRIDGE[super::super::firewall::BRIDGE_PREFIX.len()..];
        assert!(!after_prefix.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
