//! The security rules of the "restricted" Pod Security Standard the README names, over every container (init
//! containers too). `runAsNonRoot` and `runAsUser` may be set on the pod and overridden per container, as
//! Kubernetes merges them; the other fields exist on containers only.

use k8s_openapi::api::core::v1::SecurityContext;

use super::pod::{Slot, Template, POD};
use crate::checks::manifests::Finding;

fn context<'a>(slot: &Slot<'a>) -> Option<&'a SecurityContext> {
    slot.container.security_context.as_ref()
}

/// `runAsNonRoot: true` in effect for every container (its own value, else the pod's), and no `runAsUser: 0`
/// in effect (the kubelet would refuse to start it).
pub fn run_as_non_root(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        let pod = t.spec.security_context.as_ref();
        for slot in t.all_containers() {
            let own = context(&slot);
            let non_root = own
                .and_then(|c| c.run_as_non_root)
                .or(pod.and_then(|p| p.run_as_non_root));
            let at = format!("{}.securityContext.runAsNonRoot", slot.path);
            match non_root {
                Some(true) => {}
                Some(false) => found.push(Finding::new(
                    &t.object,
                    at,
                    "is false in effect; it must be true",
                )),
                None => found.push(Finding::new(
                    &t.object,
                    at,
                    format!("is not set here nor in {POD}.securityContext"),
                )),
            }
            let user = own
                .and_then(|c| c.run_as_user)
                .or(pod.and_then(|p| p.run_as_user));
            if user == Some(0) {
                found.push(Finding::new(
                    &t.object,
                    format!("{}.securityContext.runAsUser", slot.path),
                    "is 0 (root) in effect",
                ));
            }
        }
    }
    found
}

/// `allowPrivilegeEscalation: false` on every container (it defaults to true).
pub fn no_privilege_escalation(pods: &[Template]) -> Vec<Finding> {
    container_flag(pods, "allowPrivilegeEscalation", false, |c| {
        c.allow_privilege_escalation
    })
}

/// `readOnlyRootFilesystem: true` on every container.
pub fn read_only_root(pods: &[Template]) -> Vec<Finding> {
    container_flag(pods, "readOnlyRootFilesystem", true, |c| {
        c.read_only_root_filesystem
    })
}

/// Every container's `securityContext.<field>` is set to `want`.
fn container_flag(
    pods: &[Template],
    field: &str,
    want: bool,
    get: fn(&SecurityContext) -> Option<bool>,
) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        for slot in t.all_containers() {
            let at = format!("{}.securityContext.{field}", slot.path);
            match context(&slot).and_then(get) {
                Some(v) if v == want => {}
                Some(v) => found.push(Finding::new(
                    &t.object,
                    at,
                    format!("is {v}; it must be {want}"),
                )),
                None => found.push(Finding::new(
                    &t.object,
                    at,
                    format!("is not set; it must be {want}"),
                )),
            }
        }
    }
    found
}

/// `capabilities.drop` holds `ALL` on every container.
pub fn drop_all(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        for slot in t.all_containers() {
            let drops = context(&slot)
                .and_then(|c| c.capabilities.as_ref())
                .and_then(|c| c.drop.as_ref());
            if !drops.is_some_and(|d| d.iter().any(|c| c == "ALL")) {
                found.push(Finding::new(
                    &t.object,
                    format!("{}.securityContext.capabilities.drop", slot.path),
                    "does not hold ALL",
                ));
            }
        }
    }
    found
}

/// No privileged container, no host network, PID or IPC namespace, no `hostPath` volume and no `hostPort`.
pub fn host_isolation(pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in pods {
        let namespaces = [
            ("hostNetwork", t.spec.host_network),
            ("hostPID", t.spec.host_pid),
            ("hostIPC", t.spec.host_ipc),
        ];
        for (field, on) in namespaces {
            if on == Some(true) {
                found.push(Finding::new(
                    &t.object,
                    format!("{POD}.{field}"),
                    "is true: the pod shares the node's namespace",
                ));
            }
        }
        for v in t.spec.volumes.iter().flatten() {
            if v.host_path.is_some() {
                found.push(Finding::new(
                    &t.object,
                    format!("{POD}.volumes[{}].hostPath", v.name),
                    "mounts a path of the node",
                ));
            }
        }
        for slot in t.all_containers() {
            if context(&slot).and_then(|c| c.privileged) == Some(true) {
                found.push(Finding::new(
                    &t.object,
                    format!("{}.securityContext.privileged", slot.path),
                    "is true",
                ));
            }
            for p in slot.container.ports.iter().flatten() {
                if p.host_port.is_some_and(|h| h != 0) {
                    found.push(Finding::new(
                        &t.object,
                        format!("{}.ports[{}].hostPort", slot.path, p.container_port),
                        "binds a port of the node",
                    ));
                }
            }
        }
    }
    found
}
