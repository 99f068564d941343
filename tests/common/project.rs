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

/// Docker objects of the runs whose id starts with `prefix` (their `gauntlet.run` label, or for images their
/// repository `gauntlet-run/<run>`), as `docker` lists them: one line each, `<run> <kind> <id>`.
pub fn docker_objects(prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (kind, list) in [
        ("container", vec!["ps", "-aq"]),
        ("network", vec!["network", "ls", "-q"]),
        ("volume", vec!["volume", "ls", "-q"]),
        ("image", vec!["images", "-q"]),
    ] {
        // Images carry no label: a run's images are those in its repository, `gauntlet-run/<run>`.
        let filter = if kind == "image" {
            "reference=gauntlet-run/*"
        } else {
            "label=gauntlet.run"
        };
        let out = std::process::Command::new("docker")
            .args(&list)
            .args(["--filter", filter])
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
                "container" => "{{index .Config.Labels \"gauntlet.run\"}}",
                _ => "{{range .RepoTags}}{{.}} {{end}}",
            };
            let label = std::process::Command::new("docker")
                .args(&inspect)
                .args(["-f", format, id])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            // An image's tags read `gauntlet-run/<run>:<tag>`; its run is between the slash and the colon.
            let label = match kind {
                "image" => label
                    .split_whitespace()
                    .filter_map(|t| t.strip_prefix("gauntlet-run/")?.split_once(':'))
                    .map(|(run, _)| run.to_string())
                    .next()
                    .unwrap_or_default(),
                _ => label,
            };
            if label.starts_with(prefix) {
                found.push(format!("{label} {kind} {id}"));
            }
        }
    }
    found
}

/// Every image on the engine, tagged or not, whose configuration carries the environment entry `mark`
/// (e.g. `GAUNTLET_TEST_MARK=…` set by a test's Dockerfile right after `FROM`, so that every layer of its build
/// inherits it). Unlike the run's repository, this finds the untagged layers a build commits along the way.
pub fn images_marked(mark: &str) -> Vec<String> {
    marked(&["images", "-aq", "--no-trunc"], "image", mark, "")
}

/// Every container, running or not, whose environment carries `mark` and whose command names `command`: the
/// container of one build step (every step of a classic build has one, and each inherits the mark).
pub fn containers_marked(mark: &str, command: &str) -> Vec<String> {
    marked(&["ps", "-aq", "--no-trunc"], "container", mark, command)
}

/// The ids `list` prints whose `inspect` shows `mark` in the environment and `command` in the command.
fn marked(list: &[&str], kind: &str, mark: &str, command: &str) -> Vec<String> {
    let ids = std::process::Command::new("docker")
        .args(list)
        .output()
        .expect("docker CLI");
    let ids = String::from_utf8_lossy(&ids.stdout).to_string();
    if ids.trim().is_empty() {
        return Vec::new();
    }
    // One inspect for all; an object another test removes meanwhile is an error for that id only.
    let inspected = std::process::Command::new("docker")
        .args([kind, "inspect", "-f"])
        .arg("{{.Id}} {{json .Config.Env}} {{json .Config.Cmd}}")
        .args(ids.split_whitespace())
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&inspected.stdout)
        .lines()
        .filter(|l| l.contains(&format!("\"{mark}\"")) && l.contains(command))
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect()
}
