//! Learner projects built in the test: a Docker context holding the static testsvc and a `FROM scratch`
//! Dockerfile whose `ENV` lines switch its behaviours and defects.

use std::path::Path;

/// A project folder ready to pack.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// testsvc with the given environment baked into the image.
    pub fn testsvc(env: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(super::testsvc::binary(), dir.path().join("testsvc")).expect("copy testsvc");
        let mut dockerfile = String::from("FROM scratch\nCOPY testsvc /testsvc\n");
        for (k, v) in env {
            dockerfile.push_str(&format!("ENV {k}=\"{v}\"\n"));
        }
        dockerfile.push_str("ENTRYPOINT [\"/testsvc\"]\n");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
        Project { dir }
    }

    /// A project whose Dockerfile is exactly `text` (with testsvc beside it).
    pub fn with_dockerfile(text: &str) -> Project {
        let p = Project::testsvc(&[]);
        std::fs::write(p.dir.path().join("Dockerfile"), text).expect("Dockerfile");
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The project as the tar.gz a learner would upload.
    pub fn archive(&self) -> Vec<u8> {
        gauntlet::archive::pack(self.path(), &gauntlet::archive::ArchiveLimits::default())
            .expect("pack")
    }
}

/// Docker objects whose `gauntlet.run` label starts with `prefix`, as `docker` lists them: one line each,
/// `<label> <kind> <id>`.
pub fn docker_objects(prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (kind, list) in [
        ("container", vec!["ps", "-aq"]),
        ("network", vec!["network", "ls", "-q"]),
        ("volume", vec!["volume", "ls", "-q"]),
        ("image", vec!["images", "-q"]),
    ] {
        let out = std::process::Command::new("docker")
            .args(&list)
            .args(["--filter", "label=gauntlet.run"])
            .output()
            .expect("docker CLI");
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            // `docker images --format` has no label placeholder, so read every kind's label by inspecting it.
            let inspect = match kind {
                "container" => vec!["container", "inspect"],
                "network" => vec!["network", "inspect"],
                "volume" => vec!["volume", "inspect"],
                _ => vec!["image", "inspect"],
            };
            let format = match kind {
                "network" | "volume" => "{{index .Labels \"gauntlet.run\"}}",
                _ => "{{index .Config.Labels \"gauntlet.run\"}}",
            };
            let label = std::process::Command::new("docker")
                .args(&inspect)
                .args(["-f", format, id])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            if label.starts_with(prefix) {
                found.push(format!("{label} {kind} {id}"));
            }
        }
    }
    found
}
