//! A `testsvc` in the w10 auth mode with fresh secrets, and running one check of the bundled w10 suite.

use std::path::Path;

use gauntlet::checks::{run_suite, CheckContext, CheckOutcome, CheckSuite, Verdict};

use crate::support::{load_lab, Service};

/// Secrets of one test; the run's context carries the same ones, as the grading pipeline will.
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";
pub const ADMIN_PASSWORD: &str = "admin-pw-7f3a9c";
pub const USER_PASSWORD: &str = "alice-pw-2b8e1d";
/// A second user of the `user` role, for probes where two users sign in through the service.
pub const BOB_PASSWORD: &str = "bob-pw-9c4d2a";

pub fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("JWT_SECRET", JWT_SECRET),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("USER_PASSWORD", USER_PASSWORD),
        ("BOB_PASSWORD", BOB_PASSWORD),
    ]
}

/// The correct service, or one with the given defects switched on.
pub fn service(defects: &str) -> Service {
    let mut env = env();
    if !defects.is_empty() {
        env.push(("TESTSVC_DEFECT", defects));
    }
    Service::with_env(&env)
}

pub fn context(seed: u64) -> CheckContext {
    CheckContext {
        seed,
        env: env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        control: None,
    }
}

/// The bundled w10 suite.
pub fn w10() -> CheckSuite {
    load_lab(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/w10-security"))
}

/// The one check `id` of the w10 suite, alone (no dependencies).
pub fn only(id: &str) -> CheckSuite {
    crate::support::only(w10(), id)
}

pub async fn run_in(suite: &CheckSuite, svc: &Service, ctx: &CheckContext) -> Vec<CheckOutcome> {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    run_suite(suite, &svc.target, ctx, &tx).await
}

/// The correct service with the near misses `variants` (`TESTSVC_VARIANT`) switched on.
pub fn near_miss(variants: &str) -> Service {
    let mut env = env();
    env.push(("TESTSVC_VARIANT", variants));
    Service::with_env(&env)
}

/// Runs check `id` against the correct service with the near misses `variants`: it must pass.
pub async fn judge_near_miss(id: &str, variants: &str) -> CheckOutcome {
    let svc = near_miss(variants);
    let outcomes = run_in(&only(id), &svc, &context(7)).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(
        o.verdict,
        Verdict::Pass,
        "{id} with the near miss `{variants}`: {}\n{}",
        o.message,
        o.detail
    );
    o
}

/// Runs check `id` against a service with `defects`, asserting the verdict and a safe message.
pub async fn judge(id: &str, defects: &str, verdict: Verdict) -> CheckOutcome {
    let svc = service(defects);
    let outcomes = run_in(&only(id), &svc, &context(7)).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(
        o.verdict, verdict,
        "{id} with `{defects}`: {}\n{}",
        o.message, o.detail
    );
    assert_safe(&o);
    o
}

/// The learner's message never carries a secret, a password or anything shaped like a token.
pub fn assert_safe(o: &CheckOutcome) {
    for secret in [
        JWT_SECRET,
        ADMIN_PASSWORD,
        USER_PASSWORD,
        BOB_PASSWORD,
        "eyJ",
        "Bearer ",
    ] {
        assert!(
            !o.message.contains(secret),
            "the message leaks `{secret}`: {}",
            o.message
        );
    }
}

pub fn assert_says(o: &CheckOutcome, part: &str) {
    assert!(
        o.message.contains(part),
        "expected `{part}` in the message: {}\n{}",
        o.message,
        o.detail
    );
}

/// The token fields of the w10 service, for the checks a test writes itself.
pub const TOKEN: &str = "secret_env = \"JWT_SECRET\"\nissuer = \"gauntlet-notes\"\naudience = \"notes-api\"\nsubject = \"alice\"\n";

/// Runs one check written by the test (`fields` after its shared head) against a service with `defects`.
pub async fn judge_toml(fields: &str, defects: &str, verdict: Verdict) -> CheckOutcome {
    let toml = format!(
        "[[check]]\nid = \"probe\"\nkind = \"security\"\ntitle = \"T\"\npillar = \"security\"\ntimeout_secs = 30\n{fields}"
    );
    let svc = service(defects);
    let outcomes = run_in(&crate::support::suite(&toml), &svc, &context(7)).await;
    let o = outcomes.into_iter().next().expect("one outcome");
    assert_eq!(
        o.verdict, verdict,
        "`{fields}` with `{defects}`: {}\n{}",
        o.message, o.detail
    );
    assert_safe(&o);
    o
}
