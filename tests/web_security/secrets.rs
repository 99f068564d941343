//! Per-run secrets come from the server's key as well as the run's seed: the seed, which learners see, does
//! not give them.

use gauntlet::curriculum::Lab;
use gauntlet::grading::service::service_env;
use gauntlet::startup::run_secrets;

use crate::common::app::{bundled, spawn_app};

/// The bundled lab whose service gets secrets (`JWT_SECRET`, `ADMIN_PASSWORD`, `USER_PASSWORD`).
fn lab_with_secrets() -> Lab {
    let lab = Lab::load(&bundled().1.join("w10-security")).expect("the bundled w10 lab loads");
    assert!(lab.service.secrets.iter().any(|s| s == "JWT_SECRET"));
    lab
}

#[tokio::test]
async fn two_servers_give_the_same_seed_different_secrets() {
    let (a, b) = (spawn_app().await, spawn_app().await);
    let lab = lab_with_secrets();
    let env_a = service_env(&lab, 42, &run_secrets(a.data_dir.path()).unwrap());
    let env_b = service_env(&lab, 42, &run_secrets(b.data_dir.path()).unwrap());
    assert_eq!(env_a["GAUNTLET_SEED"], env_b["GAUNTLET_SEED"]);
    for name in &lab.service.secrets {
        assert_ne!(env_a[name], env_b[name], "{name}");
    }
}

#[tokio::test]
async fn one_server_gives_a_regraded_seed_the_same_secrets() {
    let app = spawn_app().await;
    let lab = lab_with_secrets();
    let first = service_env(&lab, 42, &run_secrets(app.data_dir.path()).unwrap());
    let again = service_env(&lab, 42, &run_secrets(app.data_dir.path()).unwrap());
    assert_eq!(first, again);
    let other_seed = service_env(&lab, 43, &run_secrets(app.data_dir.path()).unwrap());
    assert_ne!(first["JWT_SECRET"], other_seed["JWT_SECRET"]);
}

#[tokio::test]
async fn the_seed_alone_does_not_give_a_secret() {
    use sha2::Digest;
    let app = spawn_app().await;
    let env = service_env(
        &lab_with_secrets(),
        42,
        &run_secrets(app.data_dir.path()).unwrap(),
    );
    // What anyone who knew the seed could compute before.
    let from_seed = hex::encode(sha2::Sha256::digest(b"gauntlet run secret 42 JWT_SECRET"));
    assert_ne!(env["JWT_SECRET"], from_seed);
}
