//! The run's network: one internal bridge per run, covered by the host firewall rule, on which the service, its
//! instances and its counterparts run.
//!
//! A run with a broker needs its subnet pinned. A Kafka-protocol broker tells its clients where to reach it (the
//! advertised listener), and both the service on the network and the grader on the host must be able to use that
//! answer. A host name would do for the service (the network's DNS knows the counterpart's alias) but not for the
//! grader, and the Kafka client in use (rdkafka 0.39) offers no hook to resolve broker names itself. So the broker
//! advertises its address on the run network, which both reach; the address must be known before the broker
//! starts, and the engine gives fixed addresses only on networks whose subnet was configured. The engine picks
//! the subnet (it knows which ones are free of the host's routes and other networks); the network is then made
//! again with that subnet as its configuration.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};

use super::error::SandboxError;
use super::run::RunLabel;
use super::Sandbox;

/// How addresses on the run network are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// Every container gets the next free address (runs without counterparts).
    Dynamic,
    /// The subnet is configured, so counterparts can be given fixed addresses ([`RunNetwork::fixed_address`]).
    Pinned,
}

/// A run network as created.
#[derive(Debug, Clone)]
pub struct RunNetwork {
    pub name: String,
    /// The subnet and its gateway, when the subnet is pinned.
    pub subnet: Option<(ipnet::Ipv4Net, Ipv4Addr)>,
}

/// Attempts at pinning a subnet another network may take between our two creations.
const PIN_ATTEMPTS: usize = 4;

impl RunNetwork {
    /// The `index`th fixed address for a counterpart: counted down from the top of the subnet, far from the
    /// addresses the engine hands out from the bottom, so the two never meet.
    pub fn fixed_address(&self, index: usize) -> Option<IpAddr> {
        let (subnet, gateway) = self.subnet?;
        let top = u32::from(subnet.broadcast());
        let offset = u32::try_from(index).ok()?.checked_add(1)?;
        let ip = Ipv4Addr::from(top.checked_sub(offset)?);
        (subnet.contains(&ip) && ip > subnet.network() && ip != gateway).then_some(IpAddr::V4(ip))
    }
}

impl Sandbox {
    /// Creates the run's internal network (named `gauntlet-<run>`), with its subnet pinned when `addressing`
    /// asks. Nothing is left behind when the firewall rule cannot be confirmed.
    pub async fn create_run_network(
        &self,
        run: &RunLabel,
        addressing: Addressing,
    ) -> Result<RunNetwork, SandboxError> {
        // Before the network exists: a run network without the rule would reach the host.
        super::firewall::ensure(self.firewall).await?;
        let name = run.object_name();
        let mut subnet = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.create_network(run, None).await?;
            if addressing == Addressing::Dynamic {
                break;
            }
            let picked = self.network_subnet(&name).await?;
            self.docker
                .remove_network(&name)
                .await
                .map_err(SandboxError::docker("remove the run's network"))?;
            match self.create_network(run, Some(picked)).await {
                Ok(()) => {
                    subnet = Some(picked);
                    break;
                }
                // Another network took the subnet in between: ask the engine for another.
                Err(_) if attempt < PIN_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        if let Err(e) =
            super::firewall::check_bridge_is_here(self.firewall, &super::firewall::bridge_name(run))
        {
            if let Err(cleanup) = self.remove_run(run).await {
                tracing::warn!(run = %run, error = %cleanup, "clean-up after a refused network failed");
            }
            return Err(SandboxError::from(e));
        }
        Ok(RunNetwork { name, subnet })
    }

    async fn create_network(
        &self,
        run: &RunLabel,
        subnet: Option<(ipnet::Ipv4Net, Ipv4Addr)>,
    ) -> Result<(), SandboxError> {
        let ipam = subnet.map(|(net, gateway)| Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(net.to_string()),
                gateway: Some(gateway.to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        self.docker
            .create_network(NetworkCreateRequest {
                name: run.object_name(),
                driver: Some("bridge".to_string()),
                internal: Some(true),
                enable_ipv6: Some(false),
                ipam,
                // The name the host firewall rule matches (`firewall.rs`).
                options: Some(HashMap::from([(
                    "com.docker.network.bridge.name".to_string(),
                    super::firewall::bridge_name(run),
                )])),
                labels: Some(run.labels("network")),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(SandboxError::docker("create the run's network"))
    }

    /// The IPv4 subnet and gateway the engine gave a network.
    async fn network_subnet(&self, name: &str) -> Result<(ipnet::Ipv4Net, Ipv4Addr), SandboxError> {
        let inspect = self
            .docker
            .inspect_network(name, None)
            .await
            .map_err(SandboxError::docker("inspect the run's network"))?;
        inspect
            .ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .into_iter()
            .find_map(|c| {
                let net = c.subnet?.parse::<ipnet::Ipv4Net>().ok()?;
                let gateway = c.gateway?.parse::<Ipv4Addr>().ok()?;
                Some((net, gateway))
            })
            .ok_or(SandboxError::NoSubnet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_addresses_count_down_from_the_top_of_the_subnet() {
        let net = RunNetwork {
            name: "n".into(),
            subnet: Some((
                "172.19.0.0/16".parse().expect("subnet"),
                Ipv4Addr::new(172, 19, 0, 1),
            )),
        };
        assert_eq!(
            net.fixed_address(0),
            Some("172.19.255.254".parse().expect("ip"))
        );
        assert_eq!(
            net.fixed_address(1),
            Some("172.19.255.253".parse().expect("ip"))
        );
        let tiny = RunNetwork {
            name: "n".into(),
            subnet: Some((
                "10.0.0.0/30".parse().expect("subnet"),
                Ipv4Addr::new(10, 0, 0, 1),
            )),
        };
        assert_eq!(tiny.fixed_address(0), Some("10.0.0.2".parse().expect("ip")));
        assert_eq!(tiny.fixed_address(1), None);
        let dynamic = RunNetwork {
            name: "n".into(),
            subnet: None,
        };
        assert_eq!(dynamic.fixed_address(0), None);
    }
}
