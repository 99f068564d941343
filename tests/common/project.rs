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

/// Docker objects whose `gauntlet.run` label starts with `prefix`, as `docker` lists them.
pub fn docker_objects(prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for args in [
        vec![
            "ps",
            "-a",
            "--filter",
            "label=gauntlet.run",
            "--format",
            "{{.Label \"gauntlet.run\"}} container {{.ID}}",
        ],
        vec![
            "network",
            "ls",
            "--filter",
            "label=gauntlet.run",
            "--format",
            "{{.Label \"gauntlet.run\"}} network {{.ID}}",
        ],
        vec![
            "volume",
            "ls",
            "--filter",
            "label=gauntlet.run",
            "--format",
            "{{.Label \"gauntlet.run\"}} volume {{.Name}}",
        ],
        vec![
            "images",
            "--filter",
            "label=gauntlet.run",
            "--format",
            "{{.Label \"gauntlet.run\"}} image {{.ID}}",
        ],
    ] {
        let out = std::process::Command::new("docker")
            .args(&args)
            .output()
            .expect("docker CLI");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.starts_with(prefix) {
                found.push(line.to_string());
            }
        }
    }
    found
}
