//! The `security` kind: one probe per check that attacks the learner's service the way a real attacker would
//! (forged tokens, missing credentials, a user on admin routes, injection payloads, error pages that talk too
//! much, missing security headers, password guessing, privileged fields in a body, told-apart accounts, private
//! fields in answers, pathological inputs) and reports which class of attack got through.
//!
//! A probe is parameterised per lab (routes, token claims, the environment variable holding the run's signing
//! secret), so the same probes grade any lab with this shape of contract. The learner's message names only the
//! class of attack ("a token signed with a different key was accepted"); tokens, payloads and expected values
//! go only to the instructor's transcript.
//!
//! - `raw.rs`, `parse.rs`: the check's TOML fields, and from them to a [`SecurityProbe`] with diagnostics;
//! - `jwt.rs`: HS256 tokens minted with the run's secret, and the set of forgeries;
//! - `session.rs`: sending requests within the check's deadline, recording the transcript;
//! - `auth.rs`: the `unauthenticated`, `jwt` and `roles` probes;
//! - `inputs.rs`: the `injection` and `error_leaks` probes and what counts as a leak;
//! - `limits.rs`: the `headers` and `rate_limit` probes;
//! - `weak_key.rs`: the `jwt_weak_key` probe (the service's own tokens against a dictionary of secrets);
//! - `ownership.rs`: the `ownership` probe (object-level authorisation: one user on another's resources);
//! - `signin.rs`: how a probe acting as one user gets its token (the service's login, or minted);
//! - `mass.rs`: the `mass_assignment` probe (privileged fields smuggled into create and update bodies);
//! - `enumeration.rs`: the `user_enumeration` probe (an existing account told apart by status, body or time);
//! - `exposure.rs`: the `data_exposure` probe (private fields or the password in any answer);
//! - `slow.rs`: the `slow_input` probe (pathological inputs answered within a bound, never a 5xx);
//! - `parse_owasp.rs`: the fields of those four probes.

mod auth;
mod enumeration;
mod exposure;
mod inputs;
mod jwt;
mod limits;
mod mass;
mod ownership;
pub(super) mod parse;
mod raw;
mod session;
mod signin;
mod slow;
mod weak_key;

use rand::SeedableRng;
use tokio::time::Instant;

use super::{CheckContext, Target};
pub use enumeration::Enumeration;
pub use exposure::Exposure;
pub use mass::MassAssignment;
pub use ownership::Ownership;
pub(super) use session::ProbeError;
use session::Session;
pub use signin::SignIn;
pub use slow::SlowInput;

/// One security check: the probe to run and its parameters.
#[derive(Debug, Clone)]
pub enum SecurityProbe {
    /// Protected routes answer 401 without a token, with a malformed header, with a bearer that is no JWT.
    Unauthenticated { routes: Vec<Route> },
    /// A correctly signed token is accepted on every route and every forgery is refused with 401.
    Jwt {
        routes: Vec<Route>,
        token: TokenSpec,
    },
    /// A token of a non-admin role is refused (401 or 403 by default, `refused`) on admin-only routes; with
    /// `admin`, an admin token then succeeds.
    Roles {
        routes: Vec<Route>,
        token: TokenSpec,
        refused: Vec<u16>,
        admin: Option<Admin>,
        create: Option<Create>,
    },
    /// Injection payloads in the routes' `{payload}` slots: never a 5xx, a planted marker or error text.
    Injection {
        routes: Vec<Route>,
        token: Option<TokenSpec>,
        plant: Option<Plant>,
    },
    /// Malformed requests to the routes: error answers carry no stack trace, path, banner or secret.
    ErrorLeaks {
        routes: Vec<Route>,
        token: Option<TokenSpec>,
        secret_envs: Vec<String>,
    },
    /// Every answer of the routes carries the listed headers (value patterns with `*`), none of `absent`.
    Headers {
        routes: Vec<Route>,
        token: Option<TokenSpec>,
        headers: Vec<(String, String)>,
        absent: Vec<String>,
    },
    /// Failed logins for one username are refused with 429 by attempt `attempts + 1`, even with the right
    /// password; with `other`, another username still logs in.
    RateLimit { login: Login, attempts: u32 },
    /// A token the service issues at `login` (at JSON pointer `pointer` of the answer) is not signed with a
    /// common HS256 secret.
    JwtWeakKey { login: Login, pointer: String },
    /// Another user of the same role reading, changing, deleting, listing or searching the owner's resources is
    /// refused (403 or 404) and sees none of them; the owner's resource is unchanged afterwards.
    Ownership(Box<Ownership>),
    /// Privileged fields (`role`, `owner`, `id`, ...) added to a signed-in user's create and update bodies never
    /// stick: the object and the user's profile, read back, do not hold them (a 4xx refusal is fine too).
    MassAssignment(Box<MassAssignment>),
    /// The login (and other routes taking a username) answers an existing account with a wrong password and
    /// an unknown account alike: status, body and median time.
    UserEnumeration(Box<Enumeration>),
    /// No answer to a signed-in user carries a private field (`password_hash`, `salt`, ...) or the password.
    DataExposure(Box<Exposure>),
    /// Pathological inputs in the routes' `{payload}` slots are answered within the bound, never with a 5xx.
    SlowInput(Box<SlowInput>),
}

impl SecurityProbe {
    /// The `probe = "..."` name.
    pub fn name(&self) -> &'static str {
        match self {
            SecurityProbe::Unauthenticated { .. } => "unauthenticated",
            SecurityProbe::Jwt { .. } => "jwt",
            SecurityProbe::Roles { .. } => "roles",
            SecurityProbe::Injection { .. } => "injection",
            SecurityProbe::ErrorLeaks { .. } => "error_leaks",
            SecurityProbe::Headers { .. } => "headers",
            SecurityProbe::RateLimit { .. } => "rate_limit",
            SecurityProbe::JwtWeakKey { .. } => "jwt_weak_key",
            SecurityProbe::Ownership(_) => "ownership",
            SecurityProbe::MassAssignment(_) => "mass_assignment",
            SecurityProbe::UserEnumeration(_) => "user_enumeration",
            SecurityProbe::DataExposure(_) => "data_exposure",
            SecurityProbe::SlowInput(_) => "slow_input",
        }
    }
}

/// A request a probe sends: the method, the path (with query), an optional JSON body. `{payload}` marks where
/// injection payloads go; `{id}` is the id of the resource a `roles` probe created.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub json: Option<serde_json::Value>,
}

/// The claims of the tokens a probe mints; the secret is read from the run's environment at run time, so the
/// check files never hold it and every run may use a fresh one.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Name of the container's environment variable holding the HS256 secret.
    pub secret_env: String,
    /// `iss` of the tokens, and what a wrong-issuer forgery changes; without it tokens carry no `iss`.
    pub issuer: Option<String>,
    /// `aud` of the tokens, likewise.
    pub audience: Option<String>,
    pub subject: String,
    pub role_claim: String,
    pub role: String,
    /// Lifetime of a valid token.
    pub ttl_secs: u64,
}

/// Who the admin is for the positive half of a `roles` probe.
#[derive(Debug, Clone)]
pub struct Admin {
    pub subject: String,
    pub role: String,
}

/// A resource the non-admin creates before the admin-only routes are tried, so the routes name a real one.
#[derive(Debug, Clone)]
pub struct Create {
    pub route: Route,
    /// JSON pointer to the new resource's id in the answer, substituted for `{id}`.
    pub id_pointer: String,
}

/// A resource another user creates, holding a random marker the prober must never see in its answers.
#[derive(Debug, Clone)]
pub struct Plant {
    pub route: Route,
    pub subject: String,
}

/// The login route of a `rate_limit` probe.
#[derive(Debug, Clone)]
pub struct Login {
    pub path: String,
    pub username: String,
    /// Environment variable holding the username's correct password.
    pub password_env: String,
    pub username_field: String,
    pub password_field: String,
    /// Another user whose login must stay unaffected: username and its password's environment variable.
    pub other: Option<(String, String)>,
    /// What a successful login looks like (default: any 2xx): some APIs answer 200 to a failed one too.
    pub success: Rule,
    /// What a refusal for too many attempts looks like (default: status 429).
    pub limited: Rule,
}

/// An answer a login probe recognises: the status (any 2xx when `None` for success, any status when `None`
/// for a refusal with a body) and a body pattern with `*`.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub status: Option<u16>,
    pub body: Option<String>,
}

/// What running a probe produced.
pub(super) struct ProbeResult {
    pub result: Result<(), ProbeError>,
    pub transcript: String,
}

/// Runs one probe until it finds a hole, the deadline passes or every attack was refused.
pub(super) async fn run_probe(
    probe: &SecurityProbe,
    check_id: &str,
    client: &reqwest::Client,
    target: &Target,
    ctx: &CheckContext,
    deadline: Instant,
) -> ProbeResult {
    let rng = rand::rngs::StdRng::seed_from_u64(ctx.seed ^ fnv(check_id));
    let mut s = Session::new(client, target, &ctx.env, rng, deadline);
    s.note(&format!("probe: {}", probe.name()));
    let result = match probe {
        SecurityProbe::Unauthenticated { routes } => auth::unauthenticated(&mut s, routes).await,
        SecurityProbe::Jwt { routes, token } => auth::jwt(&mut s, routes, token).await,
        SecurityProbe::Roles {
            routes,
            token,
            refused,
            admin,
            create,
        } => {
            let who = auth::Who {
                admin: admin.as_ref(),
                create: create.as_ref(),
                refused,
            };
            auth::roles(&mut s, routes, token, &who).await
        }
        SecurityProbe::Injection {
            routes,
            token,
            plant,
        } => inputs::injection(&mut s, routes, token.as_ref(), plant.as_ref()).await,
        SecurityProbe::ErrorLeaks {
            routes,
            token,
            secret_envs,
        } => inputs::error_leaks(&mut s, routes, token.as_ref(), secret_envs).await,
        SecurityProbe::Headers {
            routes,
            token,
            headers,
            absent,
        } => limits::headers(&mut s, routes, token.as_ref(), headers, absent).await,
        SecurityProbe::RateLimit { login, attempts } => {
            limits::rate_limit(&mut s, login, *attempts).await
        }
        SecurityProbe::JwtWeakKey { login, pointer } => {
            weak_key::weak_key(&mut s, login, pointer).await
        }
        SecurityProbe::Ownership(p) => ownership::ownership(&mut s, p).await,
        SecurityProbe::MassAssignment(p) => mass::mass_assignment(&mut s, p).await,
        SecurityProbe::UserEnumeration(p) => enumeration::user_enumeration(&mut s, p).await,
        SecurityProbe::DataExposure(p) => exposure::data_exposure(&mut s, p).await,
        SecurityProbe::SlowInput(p) => slow::slow_input(&mut s, p).await,
    };
    match &result {
        Ok(()) => s.note("passed"),
        Err(ProbeError::Failed(why)) => s.note(&format!("FAILED: {why}")),
        Err(ProbeError::Broken(why)) => s.note(&format!("ERROR: {why}")),
    }
    ProbeResult {
        result,
        transcript: s.into_transcript(),
    }
}

/// FNV-1a of the check id, stable across Rust versions, so a replayed run draws the same values.
fn fnv(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}
