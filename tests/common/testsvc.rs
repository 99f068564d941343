//! Builds the `testsvc` fixture once per test process: a static binary that runs in a `FROM scratch` image
//! and as a plain local process alike.
//!
//! It is built into its own target directory so that the static `RUSTFLAGS` do not invalidate the main build's
//! cache and so that this nested cargo never waits on the lock of the `cargo test` that runs us.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The triple the static build targets; naming it explicitly keeps `+crt-static` away from build scripts.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Path of the static `testsvc` binary, building it on first use.
pub fn binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build).clone()
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn build() -> PathBuf {
    let root = workspace_root();
    let target_dir = root.join("target").join("static");
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["build", "--release", "-p", "testsvc", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .status()
        .expect("cargo can be run to build testsvc");
    assert!(status.success(), "building the static testsvc failed");
    let binary = target_dir.join(TARGET).join("release").join("testsvc");
    assert!(
        binary.exists(),
        "testsvc binary missing at {}",
        binary.display()
    );
    binary
}

/// The Docker context of a bundled lab's reference service, written by `scripts/build-references` once per
/// test process (with the image of Gauntlet's own counterparts, `scripts/build-counterparts`) (the script itself also takes a lock, so test processes running side by side never write the
/// same file at once).
#[allow(dead_code)]
pub fn reference(lab: &str) -> PathBuf {
    static WRITTEN: OnceLock<()> = OnceLock::new();
    let root = workspace_root();
    WRITTEN.get_or_init(|| {
        binary();
        let status = Command::new("bash")
            .arg(root.join("scripts/build-references"))
            .status()
            .expect("bash can run scripts/build-references");
        assert!(status.success(), "scripts/build-references failed");
        // Weeks 11 and 12 run Gauntlet's own counterparts beside the reference.
        let status = Command::new("bash")
            .arg(root.join("scripts/build-counterparts"))
            .status()
            .expect("bash can run scripts/build-counterparts");
        assert!(status.success(), "scripts/build-counterparts failed");
    });
    root.join("target").join("references").join(lab)
}
