//! How a lab's service is started: its environment (port, seed, per-run secrets, data folder), which the checks
//! see too, and the container settings from the lab's limits. Shared by grading and `gauntlet prove`.

use std::collections::BTreeMap;

use super::secrets::RunSecrets;
use crate::curriculum::{Lab, RunAs};
use crate::sandbox::{StartSpec, User};

/// Lowest and highest port a service is started on: above the privileged ports, below the kernel's usual
/// ephemeral range.
const PORTS: std::ops::RangeInclusive<u16> = 1024..=65000;

/// The port the service is started on in a run with `seed`: drawn from the seed, so a replayed run uses the same,
/// and never 8080 nor the lab's `port` (the default its README promises), so a service that hard-codes its
/// default instead of reading `PORT` never becomes healthy.
pub fn service_port(lab: &Lab, seed: u64) -> u16 {
    let span = u64::from(PORTS.end() - PORTS.start()) + 1;
    // splitmix64's finaliser, so neighbouring seeds land far apart.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let mut offset = z % span;
    loop {
        let port = PORTS.start() + u16::try_from(offset).unwrap_or(0);
        if port != 8080 && port != lab.service.port {
            return port;
        }
        offset = (offset + 1) % span;
    }
}

/// The environment the service starts with, which the checks also see: the port (not the lab's default, see
/// [`service_port`]), the run's seed, when the lab asks for them the run's secrets (derived under `secrets`' key,
/// so the seed alone does not give them), and what its counterparts add (`KAFKA_BOOTSTRAP_SERVERS`, their
/// `service_env`; `validate` keeps those from replacing the rest).
pub fn service_env(lab: &Lab, seed: u64, secrets: &RunSecrets) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PORT".to_string(), service_port(lab, seed).to_string());
    env.insert("GAUNTLET_SEED".to_string(), seed.to_string());
    for name in &lab.service.secrets {
        env.insert(name.clone(), secrets.derive(seed, name));
    }
    if let Some(dir) = &lab.service.data_dir {
        env.insert("DATA_DIR".to_string(), dir.clone());
    }
    for (key, value) in &lab.env {
        env.insert(key.clone(), value.clone());
    }
    for counterpart in &lab.counterparts {
        for (key, value) in counterpart.service_env() {
            env.entry(key).or_insert(value);
        }
    }
    env
}

/// The container's settings for `lab`, with `env` (from [`service_env`]) as its environment: the grader reaches
/// the service on the `PORT` given there (the lab's default only if `env` has none).
pub fn start_spec(lab: &Lab, env: &BTreeMap<String, String>) -> StartSpec {
    StartSpec {
        port: env
            .get("PORT")
            .and_then(|p| p.parse().ok())
            .unwrap_or(lab.service.port),
        env: env
            .iter()
            .filter(|(k, _)| *k != "PORT")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        memory_bytes: i64::try_from(lab.limits.memory_mb.saturating_mul(1 << 20))
            .unwrap_or(i64::MAX),
        nano_cpus: (lab.limits.cpus * 1e9) as i64,
        pids_limit: lab.limits.pids,
        data_dir: lab.service.data_dir.clone(),
        user: match lab.service.run_as {
            RunAs::Gauntlet => Some(User::DEFAULT),
            RunAs::Image => None,
        },
        nofile: lab.limits.nofile,
        ..StartSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_follows_the_seed_and_is_never_the_default() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w01-health");
        let mut lab = Lab::load(&dir).expect("the bundled w01 lab loads");
        lab.service.port = 9000;
        let mut seen = std::collections::HashSet::new();
        for seed in 0..20_000u64 {
            let port = service_port(&lab, seed);
            assert!(PORTS.contains(&port), "{port}");
            assert!(port != 8080 && port != 9000, "seed {seed} gave {port}");
            assert_eq!(port, service_port(&lab, seed), "replayable");
            seen.insert(port);
        }
        assert!(seen.len() > 10_000, "spread over the range: {}", seen.len());
        let env = service_env(&lab, 7, &RunSecrets::ephemeral());
        assert_eq!(start_spec(&lab, &env).port, service_port(&lab, 7));
        assert_eq!(env["PORT"], service_port(&lab, 7).to_string());
    }
}
