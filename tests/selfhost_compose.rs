//! Gauntlet self-hosted with docker-compose.yml, end to end: `scripts/compose-e2e` builds Gauntlet's image from
//! this test's binary and a PostgreSQL image from Debian's packages, starts `serve` and two `worker` replicas,
//! a learner submits the week-1 reference and it passes, a run-like network reaches neither PostgreSQL, nor the
//! server, nor the host, and every container, network, volume and image is removed.

use std::process::Command;
use std::time::Instant;

#[test]
fn the_compose_stack_grades_a_week_1_submission_and_leaves_nothing_behind() {
    let root = env!("CARGO_MANIFEST_DIR");
    let started = Instant::now();
    let out = Command::new(format!("{root}/scripts/compose-e2e"))
        .env("GAUNTLET_BIN", env!("CARGO_BIN_EXE_gauntlet"))
        .current_dir(root)
        .output()
        .expect("run scripts/compose-e2e");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scripts/compose-e2e failed:\n{log}");
    assert!(log.contains("the run passed"), "{log}");
    assert!(log.contains("reaches neither PostgreSQL"), "{log}");
    eprintln!("compose end to end: {:?}", started.elapsed());
}
