//! `GET /manifests`: the Kubernetes YAML of lab w06-deploy (`manifests.yaml`, as a learner would ship it),
//! served as `application/yaml`, so the check engine's `manifests` kind can be shown to pass.
//!
//! Each `manifests-*` defect (see `routes.rs`) serves the same YAML with one edit that breaks one rule of the
//! lab's policy, so `gauntlet prove` shows every rule's check failing on exactly its defect. The near miss
//! `TESTSVC_VARIANT=manifests-alternate` serves manifests of another legal make ([`ALTERNATE`]), which every rule
//! must accept.

use crate::http::Response;
use crate::routes::{defect, variant};

/// The manifests as served; kept as a YAML file so it is read and reviewed as what learners write.
const MANIFESTS: &str = include_str!("manifests.yaml");

/// Defect name, the text it replaces (found exactly once in `manifests.yaml`) and what it puts there.
pub const EDITS: [(&str, &str, &str); 15] = [
    // An unknown field, refused as `kubectl --validate=strict` refuses it.
    (
        "manifests-unknown-field",
        "          image: registry.example.com/notes:1.4.2\n",
        "          image: registry.example.com/notes:1.4.2\n          imagePullPolicyy: Always\n",
    ),
    ("manifests-one-replica", "  replicas: 2\n", "  replicas: 1\n"),
    (
        "manifests-latest",
        "notes:1.4.2\n",
        "notes:latest\n",
    ),
    (
        "manifests-probe-path",
        "              path: /readyz\n",
        "              path: /healthz\n",
    ),
    (
        "manifests-no-memory-limit",
        "            limits:\n              memory: 128Mi\n",
        "",
    ),
    (
        "manifests-root",
        "        runAsNonRoot: true\n        runAsUser: 10001\n",
        "        runAsUser: 0\n",
    ),
    (
        "manifests-escalation",
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: true",
    ),
    (
        "manifests-writable-root",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
    ),
    ("manifests-no-drop", "drop: [\"ALL\"]", "drop: [\"NET_RAW\"]"),
    (
        "manifests-host-network",
        "      terminationGracePeriodSeconds: 30\n",
        "      terminationGracePeriodSeconds: 30\n      hostNetwork: true\n",
    ),
    (
        "manifests-literal-secret",
        "              valueFrom:\n                secretKeyRef:\n                  name: notes-secrets\n                  key: jwt-secret\n",
        "              value: s3cr3t-signing-key\n",
    ),
    (
        "manifests-no-prestop",
        "          lifecycle:\n            preStop:\n              sleep:\n                seconds: 5\n",
        "",
    ),
    (
        "manifests-service-by-number",
        "      targetPort: http\n",
        "      targetPort: 8080\n",
    ),
    (
        "manifests-no-configmap",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-config\n  labels:\n    app.kubernetes.io/name: notes\ndata:\n  PORT: \"8080\"\n  DATA_DIR: /data\n  APP_VERSION: \"1.4.2\"\n",
        "",
    ),
    // Not YAML at all from the first line of the Deployment on.
    (
        "manifests-syntax",
        "  replicas: 2\n",
        "  replicas: [2\n",
    ),
];

/// `manifests-alternate`: edits that keep every rule of the policy while writing it another way: an image pinned
/// by digest, the non-root user set on the container rather than the pod, a `preStop` that runs `sleep` rather
/// than the sleep action, a readiness probe on the port's number rather than its name, a surge given as a
/// percentage.
pub const ALTERNATE: [(&str, &str); 6] = [
    (
        "registry.example.com/notes:1.4.2\n",
        "registry.example.com/notes@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
    ),
    (
        "      securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n",
        "      securityContext:\n",
    ),
    (
        "          securityContext:\n            allowPrivilegeEscalation: false\n",
        "          securityContext:\n            runAsNonRoot: true\n            runAsUser: 10001\n            allowPrivilegeEscalation: false\n",
    ),
    (
        "              sleep:\n                seconds: 5\n",
        "              exec:\n                command: [\"sleep\", \"5\"]\n",
    ),
    (
        "              path: /readyz\n              port: http\n",
        "              path: /readyz\n              port: 8080\n",
    ),
    (
        "      maxSurge: 1\n",
        "      maxSurge: 25%\n",
    ),
];

/// The manifests with the switched-on defects' edits; `text/plain` with `manifests-text`, 404 with
/// `no-manifests`.
pub fn serve() -> Response {
    if defect("no-manifests") {
        return crate::routes::error(404, "not_found", "no such route");
    }
    let mut yaml = MANIFESTS.to_string();
    if variant("manifests-alternate") {
        for (from, to) in ALTERNATE {
            yaml = yaml.replacen(from, to, 1);
        }
    }
    for (name, from, to) in EDITS {
        if defect(name) {
            yaml = yaml.replacen(from, to, 1);
        }
    }
    let content_type = if defect("manifests-text") {
        "text/plain; charset=utf-8"
    } else {
        "application/yaml"
    };
    Response::new(200, content_type, yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_edit_applies_exactly_once() {
        for (name, from, _) in EDITS {
            assert_eq!(MANIFESTS.matches(from).count(), 1, "{name}");
        }
        let mut yaml = MANIFESTS.to_string();
        for (from, to) in ALTERNATE {
            assert_eq!(yaml.matches(from).count(), 1, "{from}");
            yaml = yaml.replacen(from, to, 1);
        }
    }
}
