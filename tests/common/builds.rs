//! Helpers for tests of learners' builds on the real engine: contexts with the files a test chooses, tiny
//! static C programs for `RUN` steps in `FROM scratch` (no shell, nothing pulled), a guard removing a run's
//! objects, and this machine's own non-loopback address.

use std::process::Command;
use std::time::Duration;

use gauntlet::archive::{pack, ArchiveLimits};
use gauntlet::sandbox::{RunLabel, Sandbox};

pub const BUILD_TIMEOUT: Duration = Duration::from_secs(120);
pub const LOG_CAP: usize = 64 * 1024;

/// A build context: `dockerfile` and `files` (name, bytes) packed as the CLI packs a project.
pub fn context(dockerfile: &str, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("file");
        // Executable, so a program among them can be a `RUN` step.
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&path, mode).expect("chmod");
    }
    pack(dir.path(), &ArchiveLimits::default()).expect("pack context")
}

/// `source` compiled with `gcc -static`, as bytes to put in a context.
pub fn c_program(source: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("p.c");
    let out = dir.path().join("p");
    std::fs::write(&src, source).expect("source");
    let built = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .expect("gcc runs");
    assert!(built.status.success(), "{built:?}");
    std::fs::read(out).expect("binary")
}

/// A unique run id per test and process.
pub fn run_id(test: &str) -> RunLabel {
    super::sandbox::run_id("b", test)
}

pub async fn sandbox() -> Sandbox {
    let sandbox = Sandbox::connect().await.expect("docker engine");
    sandbox.ping().await.expect("ping");
    sandbox
}

/// Images tagged in the run's repository (`gauntlet-run/<run>`), by the docker CLI.
pub fn run_images(run: &RunLabel) -> Vec<String> {
    let out = Command::new("docker")
        .args(["images", "-q", &format!("gauntlet-run/{run}")])
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// An image built with the docker CLI outside any run (an operator's local image); removed on drop.
pub struct LocalImage(pub String);

impl LocalImage {
    pub fn build(name: &str, dockerfile: &str, files: &[(&str, Vec<u8>)]) -> LocalImage {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
        for (file, bytes) in files {
            std::fs::write(dir.path().join(file), bytes).expect("file");
        }
        let built = Command::new("docker")
            // Not from the cache, which could hand back a parallel test's run layer as this image.
            .args(["build", "-q", "--no-cache", "-t", name])
            .arg(dir.path())
            .output()
            .expect("docker CLI");
        assert!(built.status.success(), "{built:?}");
        LocalImage(name.to_string())
    }
}

impl Drop for LocalImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

/// This machine's first IPv4 address that is neither loopback nor a Docker bridge's (`ip -4 addr`).
pub fn host_address() -> String {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let iface = words.nth(1)?;
            let addr = words.skip_while(|w| *w != "inet").nth(1)?;
            let docker = iface.starts_with("docker")
                || iface.starts_with("br-")
                || iface.starts_with("veth");
            (!docker).then(|| addr.split('/').next().unwrap_or(addr).to_string())
        })
        .next()
        .expect("a non-loopback address")
}

/// The static testsvc binary as context bytes.
pub fn testsvc() -> Vec<u8> {
    std::fs::read(super::testsvc::binary()).expect("testsvc")
}
