//! The `gauntlet` binary as an operator uses it: accounts and cohorts from the terminal, then `serve` with
//! JSON logs, and a learner who registers with the invite code the CLI printed.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn gauntlet(data: &std::path::Path) -> Command {
    let (curriculum, labs) = common::app::bundled();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.env("GAUNTLET_DATA_DIR", data)
        .env("GAUNTLET_CURRICULUM", curriculum)
        .env("GAUNTLET_LABS", labs)
        .env_remove("GAUNTLET_DATABASE_URL")
        .env_remove("GAUNTLET_CONFIG");
    cmd
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The subcommands `gauntlet --help` lists (the `Commands:` section), `help` aside.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

fn help_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("Usage: gauntlet"), "{args:?}: {text}");
    text
}

#[test]
fn every_command_has_help_and_is_in_the_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let top = help_of(&[]);
    let commands = listed_commands(&top);
    assert!(commands.len() >= 10, "{top}");
    for c in &commands {
        let text = help_of(&[c]);
        let subs = listed_commands(&text);
        if subs.is_empty() {
            assert!(
                readme.contains(&format!("`gauntlet {c}")),
                "README's table lacks `gauntlet {c}`"
            );
        }
        for sub in subs {
            help_of(&[c, &sub]);
            assert!(
                readme.contains(&format!("`gauntlet {c} {sub}"))
                    || readme.contains(&format!("`{c} {sub}")),
                "README's table lacks `gauntlet {c} {sub}`"
            );
        }
    }
}

#[tokio::test]
async fn an_operator_sets_up_accounts_and_a_learner_registers_with_the_printed_code() {
    let data = tempfile::tempdir().unwrap();
    let mut add = gauntlet(data.path())
        .args([
            "user",
            "add",
            "teacher@example.org",
            "--role",
            "instructor",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("instructor teacher@example.org"));
    assert!(
        data.path().join("gauntlet.db").exists(),
        "SQLite file created in the data dir"
    );

    let out = gauntlet(data.path())
        .args(["cohort", "create", "Autumn 2026"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let code = printed
        .split_whitespace()
        .find(|w| w.len() == 14 && w.matches('-').count() == 2)
        .unwrap_or_else(|| panic!("an invite code in: {printed}"))
        .to_string();

    let listed = gauntlet(data.path())
        .args(["user", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("teacher@example.org"));

    // The instructor is made staff of the cohort, and the list says so; a typo in the cohort fails with why.
    let out = gauntlet(data.path())
        .args([
            "cohort",
            "add-instructor",
            "Autumn 2026",
            "teacher@example.org",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let listed = gauntlet(data.path())
        .args(["cohort", "list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .contains("Autumn 2026\t0 learner(s)\tinstructors: teacher@example.org"),
        "{listed:?}"
    );
    let out = gauntlet(data.path())
        .args([
            "cohort",
            "add-instructor",
            "Autumn 2062",
            "teacher@example.org",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no cohort named `Autumn 2062`"),
        "{out:?}"
    );

    let port = common::ports::free_port();
    let mut child = gauntlet(data.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("GAUNTLET_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Server(child);
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let client = common::app::client();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server answers");
    let page = client
        .get(format!("{base}/register"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = common::app::csrf_in(&page);
    let res = client
        .post(format!("{base}/register"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("invite_code", &code.to_lowercase()),
            ("email", "ada@example.org"),
            ("display_name", "Ada"),
            ("password", common::app::PASSWORD),
            ("password_again", common::app::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        303,
        "the code works, typed in lower case"
    );
    assert_eq!(
        client
            .get(format!("{base}/weeks/3"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    // One JSON line per request, with the status and the latency.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    let found = loop {
        match lines_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["path"] == "/weeks/3" && v["status"] == 200 && v["latency_ms"].is_number()
                    {
                        break true;
                    }
                }
                seen.push(line);
            }
            Err(_) if std::time::Instant::now() > deadline => break false,
            Err(_) => {}
        }
    };
    assert!(
        found,
        "a JSON request line for /weeks/3 in:\n{}",
        seen.join("\n")
    );
}

#[test]
fn a_bad_setting_is_a_clear_error() {
    let data = tempfile::tempdir().unwrap();
    let out = gauntlet(data.path())
        .args(["validate"])
        .env("GAUNTLET_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
}

#[test]
fn each_command_lists_only_its_own_options_each_once() {
    // A learner's commands take no server settings.
    for learner in [&["submit"][..], &["starter"], &["load"]] {
        let help = help_of(learner);
        for server_only in ["--database-url", "--workers", "--kafka-image"] {
            assert!(
                !help.contains(server_only),
                "{learner:?} lists {server_only}:\n{help}"
            );
        }
    }
    // The commands that read the settings take them, once, after their own name or a subcommand's.
    for reads in [
        &["serve"][..],
        &["validate"],
        &["worker"],
        &["grade"],
        &["user", "add"],
        &["cohort", "list"],
    ] {
        let help = help_of(reads);
        assert_eq!(
            help.matches("--database-url").count(),
            1,
            "{reads:?}:\n{help}"
        );
    }
    let submit = help_of(&["submit"]);
    assert_eq!(submit.matches("[default: .]").count(), 1, "{submit}");
}
