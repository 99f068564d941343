//! The grader tests' fixtures: a lab folder whose grader is a bash script on the local Debian base, its grader
//! checks, and a guard that removes the lab's grader images (a per-host cache that grading keeps).

use std::path::Path;

use gauntlet::checks::CheckSuite;
use gauntlet::curriculum::Lab;

pub const BASE: &str = "gauntlet-ci/debian:bookworm";

/// The course's pillars.
pub fn pillars() -> Vec<String> {
    vec!["language".to_string()]
}

/// Three grader checks, each one test of the results; `timeout` is each check's (the grader's budget).
pub fn checks(timeout: u64) -> String {
    let one = |id: &str, test: &str| {
        format!(
            "[[check]]\nid = \"{id}\"\nkind = \"grader\"\ntitle = \"Grader test {id}\"\npillar = \"language\"\n\
             timeout_secs = {timeout}\ngrader.test = \"{test}\"\n\n"
        )
    };
    [
        one("talks", "talks to the service"),
        one("fails", "fails politely"),
        one("errs", "errs"),
    ]
    .concat()
}

/// A lab folder `w04-<name>` under `root` whose grader runs `script` (bash) and whose checks are `checks`.
pub fn lab(root: &Path, name: &str, script: &str, checks: &str) -> (Lab, CheckSuite) {
    let dir = root.join(format!("w04-{name}"));
    std::fs::create_dir_all(dir.join("grader")).expect("grader folder");
    std::fs::create_dir_all(dir.join("checks")).expect("checks folder");
    std::fs::write(
        dir.join("lab.toml"),
        "title = \"Grader\"\nweek = 4\n\n[pillars]\nlanguage = 1.0\n\n[env]\nGREETING = \"hi\"\n",
    )
    .expect("lab.toml");
    std::fs::write(dir.join("README.md"), "# Grader\n").expect("README");
    std::fs::write(
        dir.join("grader/Dockerfile"),
        format!("FROM {BASE}\nCOPY run.sh /run.sh\nENTRYPOINT [\"/bin/bash\", \"/run.sh\"]\n"),
    )
    .expect("Dockerfile");
    std::fs::write(dir.join("grader/run.sh"), script).expect("run.sh");
    std::fs::write(dir.join("checks/01-grader.toml"), checks).expect("checks");
    let lab = Lab::load(&dir).expect("the lab loads");
    let suite = CheckSuite::load(&dir, &pillars()).expect("the checks load");
    (lab, suite)
}

/// Removes the grader images of lab `id` from this host (they are a per-host cache, kept by grading).
pub struct GraderImages(pub String);

impl Drop for GraderImages {
    fn drop(&mut self) {
        let out = std::process::Command::new("docker")
            .args([
                "images",
                "--format",
                "{{.Repository}}:{{.Tag}}",
                &format!("gauntlet-grader/{}", self.0),
            ])
            .output()
            .expect("docker CLI");
        for tag in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = std::process::Command::new("docker")
                .args(["rmi", tag])
                .output();
        }
    }
}
