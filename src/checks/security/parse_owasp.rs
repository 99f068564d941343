//! From a security check's fields to the OWASP probes (`mass_assignment`, `user_enumeration`,
//! `data_exposure`, `slow_input`), with diagnostics pinned like the other probes' (see `parse.rs`).

use std::time::Duration;

use super::super::enumeration::Enumeration;
use super::super::exposure::{Exposure, DEFAULT_PRIVATE};
use super::super::mass::{default_privileged, MassAssignment, Write};
use super::super::raw::RawSecurity;
use super::super::signin::SignIn;
use super::super::slow::SlowInput;
use super::super::{Login, SecurityProbe};
use super::Parser;

impl Parser<'_, '_> {
    /// Who the probe acts as: `login` (the token at `token_pointer` of its answer), else the token fields
    /// (required when `required`).
    fn sign_in(&mut self, raw: &RawSecurity, required: bool) -> Option<Option<SignIn>> {
        if raw.login.is_none() {
            return Some(self.token(raw, required).map(SignIn::Minted));
        }
        if raw.secret_env.is_some() {
            self.problem(
                "secret_env",
                "with `login`, the probe signs in through the service: the token fields do not apply",
            );
        }
        let (login, pointer) = self.login_only(raw)?;
        Some(Some(SignIn::Login(login, pointer)))
    }

    /// A plain login (path, username, password_env, field names) and where its token is.
    fn login_only(&mut self, raw: &RawSecurity) -> Option<(Login, String)> {
        match self.weak_key(raw)? {
            SecurityProbe::JwtWeakKey { login, pointer } => Some((login, pointer)),
            _ => None,
        }
    }

    pub(super) fn mass_assignment(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        let who = self.sign_in(raw, true)?;
        let create = self.create(raw.create.as_ref());
        let mut writes = Vec::new();
        let raw_writes = raw.writes.as_deref().unwrap_or_default();
        if raw_writes.is_empty() {
            self.problem(
                "probe",
                "a mass_assignment probe needs `writes`, the create and update requests to try",
            );
        }
        for w in raw_writes {
            let route = self.route("writes", w.method.as_deref(), &w.path, w.json.as_ref());
            if !matches!(w.json, None | Some(serde_json::Value::Object(_))) {
                self.problem(
                    "writes",
                    format!(
                        "the JSON of write `{}` must be an object: the probe adds one field to it",
                        w.path
                    ),
                );
            }
            if w.path.contains("{id}") && create.is_none() {
                self.problem(
                    "writes",
                    format!(
                        "write `{}` has an `{{id}}`: it needs `create`, the resource it updates",
                        w.path
                    ),
                );
            }
            let _ = self.route("writes", Some("GET"), &w.read, None);
            let id_pointer = w.id_pointer.clone().unwrap_or_else(|| "/id".into());
            if !id_pointer.starts_with('/') {
                self.problem("writes", format!("`{id_pointer}` is not a JSON pointer"));
            }
            writes.push(Write {
                route,
                read: w.read.clone(),
                id_pointer,
            });
        }
        let privileged = match &raw.privileged {
            None => default_privileged(),
            Some(m) if m.is_empty() => {
                self.problem("privileged", "`privileged` must name at least one field");
                Vec::new()
            }
            Some(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        if let Some(p) = &raw.profile {
            let _ = self.route("profile", Some("GET"), p, None);
        }
        Some(SecurityProbe::MassAssignment(Box::new(MassAssignment {
            who: who?,
            writes,
            privileged,
            create,
            profile: raw.profile.clone(),
        })))
    }

    pub(super) fn user_enumeration(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        let routes = match raw.routes.as_deref() {
            Some(r) => self.routes("routes", Some(r), Some("{username}")),
            None => Vec::new(),
        };
        let samples = match raw.samples {
            None => 4,
            Some(n) if (3..=20).contains(&n) => u32::try_from(n).unwrap_or(4),
            Some(_) => {
                self.problem(
                    "samples",
                    "samples must be between 3 and 20 (and below the login's rate limit)",
                );
                4
            }
        };
        let (login, _) = self.login_only(raw)?;
        Some(SecurityProbe::UserEnumeration(Box::new(Enumeration {
            login,
            routes,
            samples,
        })))
    }

    pub(super) fn data_exposure(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        let create = self.create(raw.create.as_ref());
        let routes = self.routes("routes", raw.routes.as_deref(), None);
        if create.is_none() && routes.iter().any(|r| r.path.contains("{id}")) {
            self.problem(
                "routes",
                "a route with `{id}` needs `create`, the resource whose id it reads",
            );
        }
        let private = match &raw.private_fields {
            None => DEFAULT_PRIVATE.iter().map(|f| f.to_string()).collect(),
            Some(f) if f.is_empty() || f.iter().any(|n| n.trim().is_empty()) => {
                self.problem(
                    "private_fields",
                    "`private_fields` must be a non-empty list of non-empty field names",
                );
                Vec::new()
            }
            Some(f) => f.iter().map(|n| n.trim().to_ascii_lowercase()).collect(),
        };
        if raw.login.is_none() {
            self.problem(
                "probe",
                "a data_exposure probe needs `login`: the user signs in, and their password must never come back",
            );
            return None;
        }
        let (login, pointer) = self.login_only(raw)?;
        Some(SecurityProbe::DataExposure(Box::new(Exposure {
            login,
            pointer,
            create,
            routes,
            private,
        })))
    }

    pub(super) fn slow_input(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        let routes = self.routes("routes", raw.routes.as_deref(), Some("{payload}"));
        let bound = match raw.bound_ms {
            None => Duration::from_secs(2),
            Some(ms) if (100..=30_000).contains(&ms) => Duration::from_millis(ms.unsigned_abs()),
            Some(_) => {
                self.problem("bound_ms", "bound_ms must be between 100 and 30000");
                Duration::from_secs(2)
            }
        };
        let who = self.sign_in(raw, false)?;
        Some(SecurityProbe::SlowInput(Box::new(SlowInput {
            who,
            routes,
            bound,
        })))
    }
}
