//! Rules about how the Deployment runs its containers: replicas and rollout, the image, requests and limits,
//! probes and shutdown.

use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::{Template, POD};
use crate::checks::manifests::Finding;

/// At least this many replicas, so one pod can restart while another serves.
const MIN_REPLICAS: i32 = 2;

/// Replicas ≥ 2 and a `RollingUpdate` that never lowers ready capacity (`maxUnavailable: 0`, with a surge
/// so the rollout can progress).
pub fn replicas(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        let o = t.object.as_str();
        let Some(spec) = t.deployment.spec.as_ref() else {
            continue;
        };
        match spec.replicas {
            None => found.push(Finding::new(
                o,
                "spec.replicas",
                format!("is not set (Kubernetes runs 1); at least {MIN_REPLICAS} are required"),
            )),
            Some(n) if n < MIN_REPLICAS => found.push(Finding::new(
                o,
                "spec.replicas",
                format!("is {n}; at least {MIN_REPLICAS} are required"),
            )),
            Some(_) => {}
        }
        let strategy = spec.strategy.as_ref();
        let kind = strategy.and_then(|s| s.type_.as_deref());
        if kind.is_some_and(|k| k != "RollingUpdate") {
            found.push(Finding::new(
                o,
                "spec.strategy.type",
                format!(
                    "is {}; a RollingUpdate is required",
                    kind.unwrap_or_default()
                ),
            ));
            continue;
        }
        let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
        match rolling.and_then(|r| r.max_unavailable.as_ref()) {
            None => found.push(Finding::new(
                o,
                "spec.strategy.rollingUpdate.maxUnavailable",
                "is not set (Kubernetes allows 25% of the pods down during a rollout); it must be 0",
            )),
            Some(v) if !is_zero(v) => found.push(Finding::new(
                o,
                "spec.strategy.rollingUpdate.maxUnavailable",
                format!("is {}; it must be 0", int_or_string(v)),
            )),
            Some(_) => {
                if let Some(surge) = rolling
                    .and_then(|r| r.max_surge.as_ref())
                    .filter(|s| is_zero(s))
                {
                    found.push(Finding::new(
                        o,
                        "spec.strategy.rollingUpdate.maxSurge",
                        format!(
                            "is {} while maxUnavailable is 0, so the rollout could never start a new pod",
                            int_or_string(surge)
                        ),
                    ));
                }
            }
        }
    }
    found
}

fn is_zero(v: &IntOrString) -> bool {
    match v {
        IntOrString::Int(n) => *n == 0,
        IntOrString::String(s) => s.trim() == "0%",
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => format!("\"{s}\""),
    }
}

/// Every image (init containers too) names a tag other than `latest`, or a digest.
pub fn image_pinned(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        for slot in t.all_containers() {
            let path = format!("{}.image", slot.path);
            match slot.container.image.as_deref().map(str::trim) {
                None | Some("") => found.push(Finding::new(&t.object, path, "is not set")),
                Some(image) => {
                    if let Some(why) = unpinned(image) {
                        found.push(Finding::new(
                            &t.object,
                            path,
                            format!("is \"{image}\": {why}"),
                        ));
                    }
                }
            }
        }
    }
    found
}

/// Why an image reference is not pinned, or `None` when it names a digest or a tag other than `latest`.
pub(super) fn unpinned(image: &str) -> Option<&'static str> {
    if let Some((_, digest)) = image.split_once('@') {
        return match digest.split_once(':') {
            Some((algorithm, hex)) if !algorithm.is_empty() && !hex.is_empty() => None,
            _ => Some("the digest is not of the form sha256:<hex>"),
        };
    }
    // The tag follows the last `:` of the last path component (a registry's `host:port/` is not a tag).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("it has no tag, so it means `latest`"),
        Some((_, "latest")) => Some("`latest` moves; name a specific tag or a digest"),
        Some((_, "")) => Some("its tag is empty"),
        Some(_) => None,
    }
}

/// CPU and memory requests and a memory limit on every regular container.
pub fn resources(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        for slot in t.containers() {
            let r = slot.container.resources.as_ref();
            let requests = r.and_then(|r| r.requests.as_ref());
            let limits = r.and_then(|r| r.limits.as_ref());
            for name in ["cpu", "memory"] {
                if !requests.is_some_and(|q| q.contains_key(name)) {
                    found.push(Finding::new(
                        &t.object,
                        format!("{}.resources.requests.{name}", slot.path),
                        "is not set",
                    ));
                }
            }
            if !limits.is_some_and(|q| q.contains_key("memory")) {
                found.push(Finding::new(
                    &t.object,
                    format!("{}.resources.limits.memory", slot.path),
                    "is not set",
                ));
            }
        }
    }
    found
}

/// A readiness probe on `/readyz` and a liveness probe on `/healthz`, HTTP, on a declared port of the
/// container (by number or by name).
pub fn probes(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        for slot in t.containers() {
            let c = slot.container;
            if c.ports.as_ref().is_none_or(Vec::is_empty) {
                found.push(Finding::new(
                    &t.object,
                    format!("{}.ports", slot.path),
                    "declares no container port for the probes to use",
                ));
                continue;
            }
            let path = |field: &str| format!("{}.{field}", slot.path);
            for (field, p, want) in [
                ("readinessProbe", c.readiness_probe.as_ref(), "/readyz"),
                ("livenessProbe", c.liveness_probe.as_ref(), "/healthz"),
            ] {
                if let Some((below, why)) = probe(c, p, want) {
                    found.push(Finding::new(
                        &t.object,
                        path(&format!("{field}{below}")),
                        why,
                    ));
                }
            }
        }
    }
    found
}

/// What is wrong with one probe: the field below the probe that is wrong (`""` for the probe itself), and why.
fn probe(c: &Container, probe: Option<&Probe>, want: &str) -> Option<(&'static str, String)> {
    let Some(probe) = probe else {
        return Some(("", "is not set".to_string()));
    };
    let Some(get) = probe.http_get.as_ref() else {
        return Some(("", format!("is not an HTTP probe (httpGet of {want})")));
    };
    let path = get.path.as_deref().unwrap_or("");
    if path.split('?').next() != Some(want) {
        return Some((".httpGet.path", format!("is \"{path}\"; it must be {want}")));
    }
    let mut ports = c.ports.iter().flatten();
    let declared = match &get.port {
        IntOrString::Int(n) => ports.any(|p| p.container_port == *n),
        IntOrString::String(name) => ports.any(|p| p.name.as_deref() == Some(name)),
    };
    (!declared).then(|| {
        (
            ".httpGet.port",
            format!(
                "is {}, which is not a port the container declares",
                int_or_string(&get.port)
            ),
        )
    })
}

/// An explicit `terminationGracePeriodSeconds`, a `preStop` hook on every regular container, and a grace
/// period longer than any `preStop` sleep (or the process never gets time to drain).
pub fn graceful_shutdown(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        let grace_path = format!("{POD}.terminationGracePeriodSeconds");
        let grace = t.spec.termination_grace_period_seconds;
        match grace {
            None => found.push(Finding::new(
                &t.object,
                &grace_path,
                "is not set; give the drain a period you chose",
            )),
            Some(g) if g <= 0 => found.push(Finding::new(
                &t.object,
                &grace_path,
                format!("is {g}: the process is killed without a drain"),
            )),
            Some(_) => {}
        }
        for slot in t.containers() {
            let pre_stop = slot
                .container
                .lifecycle
                .as_ref()
                .and_then(|l| l.pre_stop.as_ref());
            let path = format!("{}.lifecycle.preStop", slot.path);
            let Some(hook) = pre_stop else {
                found.push(Finding::new(&t.object, path, "is not set"));
                continue;
            };
            if let (Some(sleep), Some(g)) = (sleep_seconds(hook), grace) {
                if sleep >= g && g > 0 {
                    found.push(Finding::new(
                        &t.object,
                        path,
                        format!(
                            "sleeps {sleep} s, not less than the grace period of {g} s: no time is left to drain"
                        ),
                    ));
                }
            }
        }
    }
    found
}

/// How long a `preStop` hook sleeps, when it plainly does (`sleep: {seconds: N}` or a `sleep N` command).
fn sleep_seconds(hook: &LifecycleHandler) -> Option<i64> {
    if let Some(s) = &hook.sleep {
        return Some(s.seconds);
    }
    let command = hook.exec.as_ref()?.command.as_ref()?;
    let line = command.join(" ");
    let mut words = line.split_whitespace();
    words.find(|w| w.rsplit('/').next() == Some("sleep"))?;
    words.next()?.trim_end_matches(['s', ';']).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_pinned_by_tag_or_digest() {
        assert_eq!(unpinned("notes:1.0.0"), None);
        assert_eq!(unpinned("registry.example:5000/team/notes:1.0.0"), None);
        assert_eq!(
            unpinned(
                "notes@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            ),
            None
        );
        assert!(unpinned("notes").is_some());
        assert!(unpinned("notes:latest").is_some());
        assert!(unpinned("registry.example:5000/notes").is_some());
        assert!(unpinned("notes@").is_some());
    }
}
