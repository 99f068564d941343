//! From the fields of a `kind = "security"` check to a [`SecurityProbe`], with diagnostics.
//!
//! The probe's fields sit beside the shared ones in `[[check]]` (flattened into the loader's raw check), which
//! costs serde's spans; a problem is therefore pinned to the line where its key is written in this check, found
//! by `Source::key_offset`, or to the check's first line.

pub(in crate::checks) use super::raw::RawSecurity;
use super::raw::{OneOrMany, RawCreate, RawRoute, RawRule};
use super::{Admin, Create, Login, Ownership, Plant, Route, Rule, SecurityProbe, TokenSpec};
use crate::checks::http::METHODS;
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

/// The parsers of the OWASP probes (`mass_assignment`, `user_enumeration`, `data_exposure`, `slow_input`).
#[path = "parse_owasp.rs"]
mod owasp;

/// The fields that describe the tokens a probe mints.
const TOKEN_FIELDS: [&str; 7] = [
    "secret_env",
    "issuer",
    "audience",
    "subject",
    "role_claim",
    "role",
    "ttl_secs",
];

/// The probes, for the diagnostics.
const PROBES: &str = "jwt, jwt_weak_key, unauthenticated, roles, injection, error_leaks, headers, rate_limit, ownership, mass_assignment, user_enumeration, data_exposure, slow_input";

/// Refuses security fields on a check of another kind.
pub(in crate::checks) fn reject_on_other_kind(
    src: &Source,
    start: usize,
    kind: &str,
    raw: &RawSecurity,
    problems: &mut Vec<Diagnostic>,
) {
    for key in raw.given() {
        problems.push(src.at(
            src.key_offset(start, key),
            format!("unknown field `{key}` for a check of kind `{kind}`"),
        ));
    }
}

/// Reads the probe of one security check starting at byte `start`; `None` when any problem was found.
pub(in crate::checks) fn probe(
    src: &Source,
    start: usize,
    has_steps: bool,
    raw: RawSecurity,
    problems: &mut Vec<Diagnostic>,
) -> Option<SecurityProbe> {
    let before = problems.len();
    let mut p = Parser {
        src,
        start,
        problems,
    };
    if has_steps {
        p.problem(
            "step",
            "a security check has no [[check.step]]; its probe sends the requests",
        );
    }
    let Some(name) = raw.probe.clone() else {
        p.problem(
            "kind",
            format!("a security check needs `probe` (one of {PROBES})"),
        );
        return None;
    };
    // Each probe's own fields, and whether it mints tokens (and so takes the token fields too).
    let (allowed, tokens, probe): (&[&str], bool, Option<SecurityProbe>) = match name.as_str() {
        "unauthenticated" => (
            &["protected"],
            false,
            Some(SecurityProbe::Unauthenticated {
                routes: p.routes("protected", raw.protected.as_deref(), None),
            }),
        ),
        "jwt" => (
            &["protected"],
            true,
            p.token(&raw, true).map(|token| SecurityProbe::Jwt {
                routes: p.routes("protected", raw.protected.as_deref(), None),
                token,
            }),
        ),
        "roles" => (
            &[
                "admin_only",
                "admin_subject",
                "admin_role",
                "create",
                "refused_with",
            ],
            true,
            p.token(&raw, true).map(|token| SecurityProbe::Roles {
                routes: p.routes("admin_only", raw.admin_only.as_deref(), None),
                refused: p.refused(raw.refused_with.as_deref()),
                admin: p.admin(&raw),
                create: p.create(raw.create.as_ref()),
                token,
            }),
        ),
        "injection" => (
            &["routes", "plant"],
            true,
            Some(SecurityProbe::Injection {
                routes: p.routes("routes", raw.routes.as_deref(), Some("{payload}")),
                token: p.token(&raw, false),
                plant: p.plant(&raw),
            }),
        ),
        "error_leaks" => (
            &["routes", "secret_envs"],
            true,
            Some(SecurityProbe::ErrorLeaks {
                routes: p.routes("routes", raw.routes.as_deref(), None),
                token: p.token(&raw, false),
                secret_envs: raw
                    .secret_envs
                    .clone()
                    .unwrap_or_else(|| raw.secret_env.iter().cloned().collect()),
            }),
        ),
        "headers" => (
            &["routes", "headers", "absent_headers"],
            true,
            Some(SecurityProbe::Headers {
                routes: p.routes("routes", raw.routes.as_deref(), None),
                token: p.token(&raw, false),
                headers: p.headers(&raw),
                absent: raw
                    .absent_headers
                    .iter()
                    .flatten()
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
            }),
        ),
        "rate_limit" => (&["login", "attempts"], false, p.rate_limit(&raw)),
        "jwt_weak_key" => (&["login", "token_pointer"], false, p.weak_key(&raw)),
        "ownership" => (
            &[
                "create",
                "owner_only",
                "listings",
                "other_subject",
                "owner_field",
                "login",
                "token_pointer",
            ],
            true,
            p.ownership(&raw),
        ),
        "mass_assignment" => (
            &[
                "login",
                "token_pointer",
                "writes",
                "privileged",
                "create",
                "profile",
            ],
            true,
            p.mass_assignment(&raw),
        ),
        "user_enumeration" => (
            &["login", "routes", "samples"],
            false,
            p.user_enumeration(&raw),
        ),
        "data_exposure" => (
            &[
                "login",
                "token_pointer",
                "create",
                "routes",
                "private_fields",
            ],
            false,
            p.data_exposure(&raw),
        ),
        "slow_input" => (
            &["routes", "bound_ms", "login", "token_pointer"],
            true,
            p.slow_input(&raw),
        ),
        other => {
            p.problem(
                "probe",
                format!("unknown probe `{other}` (known: {PROBES})"),
            );
            return None;
        }
    };
    for key in raw.given() {
        let token_field = tokens && TOKEN_FIELDS.contains(&key);
        if key != "probe" && !allowed.contains(&key) && !token_field {
            p.problem(key, format!("`{key}` does not apply to probe `{name}`"));
        }
    }
    probe.filter(|_| problems.len() == before)
}

struct Parser<'a, 'b> {
    src: &'a Source<'a>,
    start: usize,
    problems: &'b mut Vec<Diagnostic>,
}

impl Parser<'_, '_> {
    fn problem(&mut self, key: &str, msg: impl Into<String>) {
        let at = self.src.key_offset(self.start, key);
        self.problems.push(self.src.at(at, msg));
    }

    fn route(
        &mut self,
        key: &str,
        method: Option<&str>,
        path: &str,
        json: Option<&serde_json::Value>,
    ) -> Route {
        let method = method.unwrap_or("GET").to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            self.problem(
                key,
                format!("unknown method `{method}` (known: {})", METHODS.join(" ")),
            );
        }
        if !path.starts_with('/') {
            self.problem(key, format!("path `{path}` does not start with `/`"));
        }
        self.literal(key, path);
        if let Some(j) = json {
            self.literal(key, &j.to_string());
        }
        Route {
            method,
            path: path.to_string(),
            json: json.cloned(),
        }
    }

    /// Refuses a `{{variable}}` in a probe field: probes send their fields as written (only their own slots,
    /// `{payload}`, `{id}`, `{marker}`, are filled), so it would reach the service verbatim.
    fn literal(&mut self, key: &str, text: &str) {
        if text.contains("{{") {
            self.problem(
                key,
                "a security probe sends its fields as written: `{{...}}` variables are not replaced here",
            );
        }
    }

    /// The routes under `key`: required, non-empty, each with `slot` somewhere when one is asked for.
    fn routes(&mut self, key: &str, raw: Option<&[RawRoute]>, slot: Option<&str>) -> Vec<Route> {
        let raw = raw.unwrap_or_default();
        if raw.is_empty() {
            self.problem(
                "probe",
                format!("this probe needs `{key}`, a non-empty list of routes"),
            );
        }
        let mut out = Vec::new();
        for r in raw {
            let route = self.route(key, r.method.as_deref(), &r.path, r.json.as_ref());
            let in_json = r
                .json
                .as_ref()
                .is_some_and(|j| slot.is_some_and(|s| j.to_string().contains(s)));
            if let Some(slot) = slot.filter(|s| !r.path.contains(s) && !in_json) {
                self.problem(
                    key,
                    format!(
                        "route `{}` has no `{slot}` slot in its path or JSON",
                        r.path
                    ),
                );
            }
            out.push(route);
        }
        out
    }

    /// The token claims; with `required`, a missing claim is a problem, else no `secret_env` means no token.
    fn token(&mut self, raw: &RawSecurity, required: bool) -> Option<TokenSpec> {
        if !required && raw.secret_env.is_none() {
            return None;
        }
        let mut need = |key: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => {
                self.problem(
                    if v.is_some() { key } else { "probe" },
                    format!("this probe needs a non-empty `{key}`"),
                );
                String::new()
            }
        };
        let spec = TokenSpec {
            secret_env: need("secret_env", &raw.secret_env),
            subject: need("subject", &raw.subject),
            issuer: None,
            audience: None,
            role_claim: raw.role_claim.clone().unwrap_or_else(|| "role".into()),
            role: raw.role.clone().unwrap_or_else(|| "user".into()),
            ttl_secs: 600,
        };
        let ttl = match raw.ttl_secs {
            None => 600,
            Some(t) if (60..=86_400).contains(&t) => t.unsigned_abs(),
            Some(_) => {
                self.problem("ttl_secs", "ttl_secs must be between 60 and 86400");
                600
            }
        };
        let mut optional = |key: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
            Some("") => {
                self.problem(
                    key,
                    format!("`{key}` must not be empty (leave it out instead)"),
                );
                None
            }
            other => other.map(str::to_string),
        };
        Some(TokenSpec {
            issuer: optional("issuer", &raw.issuer),
            audience: optional("audience", &raw.audience),
            ttl_secs: ttl,
            ..spec
        })
    }

    /// The statuses that count as a refusal: 401 and 403 unless the check narrows them.
    fn refused(&mut self, raw: Option<&[i64]>) -> Vec<u16> {
        let Some(raw) = raw else {
            return vec![401, 403];
        };
        let ok: Vec<u16> = raw
            .iter()
            .filter_map(|&n| u16::try_from(n).ok().filter(|n| (400..500).contains(n)))
            .collect();
        if ok.is_empty() || ok.len() != raw.len() {
            self.problem(
                "refused_with",
                "`refused_with` must be a non-empty list of 4xx statuses",
            );
        }
        ok
    }

    /// A login answer rule; `what` names it in diagnostics.
    fn rule(&mut self, raw: Option<&RawRule>, what: &str, default: Rule) -> Rule {
        let Some(r) = raw else {
            return default;
        };
        if r.status.is_none() && r.body.is_none() {
            self.problem("login", format!("`{what}` needs `status`, `body` or both"));
        }
        let status = r.status.and_then(|n| {
            let s = u16::try_from(n).ok().filter(|s| (100..600).contains(s));
            if s.is_none() {
                self.problem("login", format!("`{what}.status` must be an HTTP status"));
            }
            s
        });
        Rule {
            status,
            body: r.body.clone(),
        }
    }

    fn admin(&mut self, raw: &RawSecurity) -> Option<Admin> {
        if raw.admin_role.is_none() && raw.admin_subject.is_some() {
            self.problem("admin_subject", "`admin_subject` needs `admin_role`");
        }
        raw.admin_role.as_ref().map(|role| Admin {
            subject: raw.admin_subject.clone().unwrap_or_else(|| "admin".into()),
            role: role.clone(),
        })
    }

    fn create(&mut self, raw: Option<&RawCreate>) -> Option<Create> {
        let c = raw?;
        let route = self.route(
            "create",
            c.method.as_deref().or(Some("POST")),
            &c.path,
            c.json.as_ref(),
        );
        let id_pointer = c.id_pointer.clone().unwrap_or_else(|| "/id".into());
        if !id_pointer.starts_with('/') {
            self.problem("create", format!("`{id_pointer}` is not a JSON pointer"));
        }
        Some(Create { route, id_pointer })
    }

    fn plant(&mut self, raw: &RawSecurity) -> Option<Plant> {
        let p = raw.plant.as_ref()?;
        if raw.secret_env.is_none() {
            self.problem(
                "plant",
                "`plant` needs the token fields (`secret_env`, ...) to act as another user",
            );
        }
        if !p.path.contains("{marker}")
            && !p
                .json
                .as_ref()
                .is_some_and(|j| j.to_string().contains("{marker}"))
        {
            self.problem(
                "plant",
                "`plant` needs a `{marker}` slot in its path or JSON",
            );
        }
        let route = self.route(
            "plant",
            p.method.as_deref().or(Some("POST")),
            &p.path,
            p.json.as_ref(),
        );
        Some(Plant {
            route,
            subject: p.subject.clone(),
        })
    }

    fn headers(&mut self, raw: &RawSecurity) -> Vec<(String, String)> {
        let headers: Vec<(String, String)> = raw
            .headers
            .iter()
            .flatten()
            .flat_map(|(n, v)| {
                let all = match v {
                    OneOrMany::One(p) => vec![p.clone()],
                    OneOrMany::Many(ps) => ps.clone(),
                };
                all.into_iter().map(|p| (n.to_ascii_lowercase(), p))
            })
            .collect();
        if headers.is_empty() && raw.absent_headers.as_ref().is_none_or(Vec::is_empty) {
            self.problem(
                "probe",
                "a headers probe needs `headers` or `absent_headers`",
            );
        }
        headers
    }

    /// An `ownership` probe: the owner's token, another subject, how to create, and the routes to try.
    fn ownership(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        let login = match &raw.login {
            Some(_) => Some(self.signed_in_pair(raw)?),
            None => None,
        };
        let token = self.token(raw, login.is_none());
        let create = self.create(raw.create.as_ref());
        if create.is_none() {
            self.problem(
                "probe",
                "an ownership probe needs `create`, how the owner creates a resource",
            );
        }
        let marked = create.as_ref().is_some_and(|c| {
            c.route
                .json
                .as_ref()
                .is_some_and(|j| j.to_string().contains("{marker}"))
        });
        if create.is_some() && !marked {
            self.problem(
                "create",
                "`create` needs a `{marker}` slot in its JSON: the probe recognises the owner's resource by it",
            );
        }
        let owner_only = self.routes("owner_only", raw.owner_only.as_deref(), Some("{id}"));
        if !owner_only.iter().any(|r| r.method == "GET") {
            self.problem(
                "owner_only",
                "`owner_only` needs a GET route: the owner reads the resource with it before and after",
            );
        }
        let listings = raw
            .listings
            .as_deref()
            .map(|l| self.routes("listings", Some(l), None))
            .unwrap_or_default();
        let other_subject = match raw.other_subject.as_deref().map(str::trim) {
            None if login.is_some() => login
                .as_ref()
                .and_then(|(l, _)| l.other.as_ref())
                .map(|(u, _)| u.clone())
                .unwrap_or_default(),
            Some(_) if login.is_some() => {
                self.problem(
                    "other_subject",
                    "with `login`, the other user is `login.other_username`",
                );
                String::new()
            }
            Some(o) if !o.is_empty() && Some(o) != raw.subject.as_deref().map(str::trim) => {
                o.to_string()
            }
            Some(_) => {
                self.problem(
                    "other_subject",
                    "`other_subject` must be non-empty and differ from `subject`",
                );
                String::new()
            }
            None => {
                self.problem(
                    "probe",
                    "an ownership probe needs `other_subject`, the user who must not see the owner's data",
                );
                String::new()
            }
        };
        if login.is_none() && token.is_none() {
            return None;
        }
        Some(SecurityProbe::Ownership(Box::new(Ownership {
            token,
            other_subject,
            login,
            create: create?,
            owner_only,
            listings,
            owner_field: raw.owner_field.clone().filter(|f| !f.is_empty()),
        })))
    }

    /// An ownership probe's two users signing in: `login` with `other_username`, and the token's pointer.
    fn signed_in_pair(&mut self, raw: &RawSecurity) -> Option<(Login, String)> {
        let Some(SecurityProbe::JwtWeakKey { login, pointer }) = self.weak_key_login(raw) else {
            return None;
        };
        match &login.other {
            Some((other, _)) if *other != login.username => Some((login, pointer)),
            _ => {
                self.problem(
                    "login",
                    "an ownership probe's `login` needs `other_username` and `other_password_env`, another user of the same role",
                );
                None
            }
        }
    }

    /// A `jwt_weak_key` probe: the login that issues a token, and where the token is in its answer.
    fn weak_key(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        if raw
            .login
            .as_ref()
            .is_some_and(|l| l.other_username.is_some())
        {
            self.problem(
                "login",
                "this probe's `login` takes only path, username, password_env and the field names",
            );
        }
        self.weak_key_login(raw)
    }

    /// A login that issues a token (no success or refusal rules), and where the token is in its answer.
    fn weak_key_login(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        let Some(SecurityProbe::RateLimit { login, .. }) = self.rate_limit(raw) else {
            return None;
        };
        if raw
            .login
            .as_ref()
            .is_some_and(|l| l.success.is_some() || l.limited.is_some())
        {
            self.problem(
                "login",
                "this probe's `login` takes only path, username, password_env and the field names",
            );
        }
        let pointer = raw
            .token_pointer
            .clone()
            .unwrap_or_else(|| "/access_token".into());
        if !pointer.starts_with('/') {
            self.problem(
                "token_pointer",
                format!("`{pointer}` is not a JSON pointer"),
            );
        }
        Some(SecurityProbe::JwtWeakKey { login, pointer })
    }

    fn rate_limit(&mut self, raw: &RawSecurity) -> Option<SecurityProbe> {
        let Some(l) = &raw.login else {
            self.problem(
                "probe",
                "this probe needs `login`, the route that logs a user in",
            );
            return None;
        };
        let _ = self.route("login", Some("POST"), &l.path, None);
        self.literal("login", &l.username);
        let attempts = match raw.attempts {
            None => 5,
            Some(n) if (1..=100).contains(&n) => u32::try_from(n).unwrap_or(5),
            Some(_) => {
                self.problem("attempts", "attempts must be between 1 and 100");
                5
            }
        };
        let other = match (&l.other_username, &l.other_password_env) {
            (Some(u), Some(e)) => Some((u.clone(), e.clone())),
            (None, None) => None,
            _ => {
                self.problem(
                    "login",
                    "`other_username` and `other_password_env` go together",
                );
                None
            }
        };
        let success = self.rule(l.success.as_ref(), "success", Rule::default());
        let limited = self.rule(
            l.limited.as_ref(),
            "limited",
            Rule {
                status: Some(429),
                body: None,
            },
        );
        Some(SecurityProbe::RateLimit {
            login: Login {
                success,
                limited,
                path: l.path.clone(),
                username: l.username.clone(),
                password_env: l.password_env.clone(),
                username_field: l
                    .username_field
                    .clone()
                    .unwrap_or_else(|| "username".into()),
                password_field: l
                    .password_field
                    .clone()
                    .unwrap_or_else(|| "password".into()),
                other,
            },
            attempts,
        })
    }
}
