//! How a lab's service is started: its environment (port, seed, per-run secrets, data folder), which the checks
//! see too, and the container settings from the lab's limits. Shared by grading and `gauntlet prove`.

use std::collections::BTreeMap;

use super::secrets::RunSecrets;
use crate::curriculum::{Lab, RunAs};
use crate::sandbox::{StartSpec, User};

/// The environment the service starts with, which the checks also see: the port, the run's seed and, when the
/// lab asks for them, the run's secrets (derived under `secrets`' key, so the seed alone does not give them).
pub fn service_env(lab: &Lab, seed: u64, secrets: &RunSecrets) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PORT".to_string(), lab.service.port.to_string());
    env.insert("GAUNTLET_SEED".to_string(), seed.to_string());
    for name in &lab.service.secrets {
        env.insert(name.clone(), secrets.derive(seed, name));
    }
    if let Some(dir) = &lab.service.data_dir {
        env.insert("DATA_DIR".to_string(), dir.clone());
    }
    env
}

/// The container's settings for `lab`, with `env` as its environment (`PORT` is set from the lab anyway).
pub fn start_spec(lab: &Lab, env: &BTreeMap<String, String>) -> StartSpec {
    StartSpec {
        port: lab.service.port,
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
