//! The raw TOML shapes of a security check's fields, as serde reads them (flattened beside the shared fields
//! of `[[check]]`, so without spans; `parse.rs` turns them into a checked probe).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(in crate::checks) struct RawSecurity {
    pub(super) probe: Option<String>,
    pub(super) protected: Option<Vec<RawRoute>>,
    pub(super) admin_only: Option<Vec<RawRoute>>,
    pub(super) routes: Option<Vec<RawRoute>>,
    pub(super) secret_env: Option<String>,
    pub(super) issuer: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) role_claim: Option<String>,
    pub(super) role: Option<String>,
    pub(super) ttl_secs: Option<i64>,
    pub(super) admin_subject: Option<String>,
    pub(super) admin_role: Option<String>,
    pub(super) create: Option<RawCreate>,
    pub(super) plant: Option<RawPlant>,
    pub(super) headers: Option<BTreeMap<String, OneOrMany>>,
    pub(super) absent_headers: Option<Vec<String>>,
    pub(super) secret_envs: Option<Vec<String>>,
    pub(super) login: Option<RawLogin>,
    pub(super) attempts: Option<i64>,
    pub(super) owner_only: Option<Vec<RawRoute>>,
    pub(super) listings: Option<Vec<RawRoute>>,
    pub(super) other_subject: Option<String>,
    pub(super) owner_field: Option<String>,
    pub(super) refused_with: Option<Vec<i64>>,
    pub(super) token_pointer: Option<String>,
    pub(super) writes: Option<Vec<RawWrite>>,
    pub(super) privileged: Option<BTreeMap<String, serde_json::Value>>,
    pub(super) profile: Option<String>,
    pub(super) samples: Option<i64>,
    pub(super) private_fields: Option<Vec<String>>,
    pub(super) bound_ms: Option<i64>,
}

/// A header's acceptable value: one pattern, or several that must all match.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) method: Option<String>,
    pub(super) path: String,
    pub(super) json: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCreate {
    pub(super) method: Option<String>,
    pub(super) path: String,
    pub(super) json: Option<serde_json::Value>,
    pub(super) id_pointer: Option<String>,
}

/// A write of a `mass_assignment` probe and the path that reads its object back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWrite {
    pub(super) method: Option<String>,
    pub(super) path: String,
    pub(super) json: Option<serde_json::Value>,
    pub(super) read: String,
    pub(super) id_pointer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlant {
    pub(super) method: Option<String>,
    pub(super) path: String,
    pub(super) json: Option<serde_json::Value>,
    pub(super) subject: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogin {
    pub(super) path: String,
    pub(super) username: String,
    pub(super) password_env: String,
    pub(super) username_field: Option<String>,
    pub(super) password_field: Option<String>,
    pub(super) other_username: Option<String>,
    pub(super) other_password_env: Option<String>,
    pub(super) success: Option<RawRule>,
    pub(super) limited: Option<RawRule>,
}

/// How a login answer is recognised: a status and/or a body pattern (`*` = any run).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) status: Option<i64>,
    pub(super) body: Option<String>,
}

impl RawSecurity {
    /// The names of the security fields this check sets.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let all = [
            ("probe", self.probe.is_some()),
            ("protected", self.protected.is_some()),
            ("admin_only", self.admin_only.is_some()),
            ("routes", self.routes.is_some()),
            ("secret_env", self.secret_env.is_some()),
            ("issuer", self.issuer.is_some()),
            ("audience", self.audience.is_some()),
            ("subject", self.subject.is_some()),
            ("role_claim", self.role_claim.is_some()),
            ("role", self.role.is_some()),
            ("ttl_secs", self.ttl_secs.is_some()),
            ("admin_subject", self.admin_subject.is_some()),
            ("admin_role", self.admin_role.is_some()),
            ("create", self.create.is_some()),
            ("plant", self.plant.is_some()),
            ("headers", self.headers.is_some()),
            ("absent_headers", self.absent_headers.is_some()),
            ("secret_envs", self.secret_envs.is_some()),
            ("login", self.login.is_some()),
            ("attempts", self.attempts.is_some()),
            ("owner_only", self.owner_only.is_some()),
            ("listings", self.listings.is_some()),
            ("other_subject", self.other_subject.is_some()),
            ("owner_field", self.owner_field.is_some()),
            ("refused_with", self.refused_with.is_some()),
            ("token_pointer", self.token_pointer.is_some()),
            ("writes", self.writes.is_some()),
            ("privileged", self.privileged.is_some()),
            ("profile", self.profile.is_some()),
            ("samples", self.samples.is_some()),
            ("private_fields", self.private_fields.is_some()),
            ("bound_ms", self.bound_ms.is_some()),
        ];
        all.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect()
    }
}
