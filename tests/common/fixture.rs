//! A small, valid course written into a temporary folder, which tests then break one file at a time.

use std::path::{Path, PathBuf};

pub const PILLARS: [&str; 7] = [
    "language",
    "cloud-native",
    "events",
    "api",
    "security",
    "performance",
    "ai",
];

/// A temporary `curriculum/` + `labs/` pair.
pub struct Course {
    pub root: tempfile::TempDir,
}

impl Course {
    /// Twelve one-paragraph weeks and one lab, used by week 1.
    pub fn valid() -> Course {
        let root = tempfile::tempdir().expect("temp dir");
        let course = Course { root };
        let mut toml = String::from("title = \"Fixture course\"\ntagline = \"For tests\"\n");
        for p in PILLARS {
            toml.push_str(&format!(
                "\n[[pillars]]\nid = \"{p}\"\nname = \"Pillar {p}\"\nblurb = \"About {p}\"\n"
            ));
        }
        course.write("curriculum/course.toml", &toml);
        for week in 1..=12 {
            let labs = if week == 1 { "[\"w01-hello\"]" } else { "[]" };
            course.write(
                &format!("curriculum/week-{week:02}/module.md"),
                &module(week, labs, &format!("Body of week {week}.")),
            );
        }
        course.write(
            "labs/w01-hello/lab.toml",
            "title = \"Hello\"\nweek = 1\nsummary = \"Say hello\"\n\n[pillars]\nlanguage = 1.0\n",
        );
        course.write(
            "labs/w01-hello/README.md",
            "# Hello\n\nPublic instructions.\n",
        );
        course.write(
            "labs/w01-hello/checks/hidden.toml",
            "# HIDDEN-CHECK-SECRET must never be served\n",
        );
        course
    }

    pub fn curriculum(&self) -> PathBuf {
        self.root.path().join("curriculum")
    }

    pub fn labs(&self) -> PathBuf {
        self.root.path().join("labs")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(path, text).expect("write fixture");
    }

    pub fn remove(&self, rel: &str) {
        let path = self.root.path().join(rel);
        if path.is_dir() {
            std::fs::remove_dir_all(path).expect("remove fixture dir");
        } else {
            std::fs::remove_file(path).expect("remove fixture file");
        }
    }
}

/// A module file with the given week, labs (a TOML array) and body.
pub fn module(week: i64, labs: &str, body: &str) -> String {
    format!(
        "+++\nweek = {week}\ntitle = \"Week {week}\"\nsummary = \"The summary of week {week}\"\npillars = [\"language\"]\nobjectives = [\"Learn week {week}\"]\nlabs = {labs}\n+++\n\n# Week {week}\n\n{body}\n"
    )
}
