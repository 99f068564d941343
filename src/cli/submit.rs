//! `gauntlet submit --lab LAB [DIR]`: packs a project (honouring `.dockerignore` and `.gitignore`), uploads it
//! through the API, follows the run's events in the terminal, and exits 0 only when every required check passed.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::Remote;
use crate::archive::{self, ArchiveLimits};

pub async fn run(target: &Remote, lab: &str, dir: &Path) -> anyhow::Result<ExitCode> {
    let limits = ArchiveLimits::default();
    let archive =
        archive::pack(dir, &limits).with_context(|| format!("cannot pack {}", dir.display()))?;
    eprintln!(
        "Packed {} ({}).",
        dir.display(),
        archive::human_size(archive.len() as u64)
    );
    let base = target.base();
    let client = target.client()?;
    let res = client
        .post(format!("{base}/api/v1/labs/{lab}/submissions"))
        .bearer_auth(&target.token)
        .header("content-type", "application/gzip")
        .body(archive)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    if !status.is_success() {
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no explanation given");
        bail!("the server refused the submission ({status}): {message}");
    }
    let run = body["run_id"]
        .as_i64()
        .context("the server's answer has no run id")?;
    eprintln!("Submitted: run {run}, {base}/runs/{run}");
    follow(&client, base, &target.token, run).await?;
    let res = client
        .get(format!("{base}/api/v1/runs/{run}"))
        .bearer_auth(&target.token)
        .send()
        .await?
        .error_for_status()?;
    let run: serde_json::Value = res.json().await?;
    Ok(print_summary(&run))
}

/// Reads the event stream until the run finishes, printing each stage and verdict as it lands.
async fn follow(client: &reqwest::Client, base: &str, token: &str, run: i64) -> anyhow::Result<()> {
    let mut after = 0;
    let tty = std::io::stderr().is_terminal();
    let mut log_lines = 0usize;
    let mut checks = 0usize;
    // Reconnect from the last event seen if the stream drops (a proxy timeout, a server restart).
    for _attempt in 0..30 {
        let res = client
            .get(format!("{base}/api/v1/runs/{run}/events?after={after}"))
            .bearer_auth(token)
            .send()
            .await;
        let mut res = match res {
            Ok(r) if r.status().is_success() => r,
            _ => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let message: String = buffer.drain(..end + 2).collect();
                let Some(event) = parse(&message) else {
                    continue;
                };
                after = event.id;
                let payload: serde_json::Value =
                    serde_json::from_str(&event.data).unwrap_or_default();
                match event.kind.as_str() {
                    "state" => {
                        clear(tty);
                        eprintln!("==> {}", payload["state"].as_str().unwrap_or("?"));
                    }
                    "log" => {
                        log_lines += 1;
                        if tty {
                            eprint!("\r    build: {log_lines} log lines ");
                            let _ = std::io::stderr().flush();
                        }
                    }
                    "check_finished" => {
                        checks += 1;
                        clear(tty);
                        let verdict = payload["verdict"].as_str().unwrap_or("?");
                        let title = payload["title"].as_str().unwrap_or("");
                        eprintln!("  [{checks}] {} {title}", verdict.to_uppercase());
                    }
                    "requeued" => eprintln!("    (waiting for the grading engine to come back)"),
                    "resumed" => eprintln!("    (grading restarted after an interruption)"),
                    "finished" => {
                        clear(tty);
                        return Ok(());
                    }
                    _ => {}
                }
            }
        }
    }
    bail!("lost the event stream of run {run}; see {base}/runs/{run}")
}

fn clear(tty: bool) {
    if tty {
        eprint!("\r\x1b[2K");
    }
}

struct Event {
    id: i64,
    kind: String,
    data: String,
}

fn parse(message: &str) -> Option<Event> {
    let mut id = None;
    let mut kind = String::new();
    let mut data = Vec::new();
    for line in message.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("event: ") {
            kind = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push(v);
        }
    }
    Some(Event {
        id: id?,
        kind,
        data: data.join("\n"),
    })
}

fn print_summary(run: &serde_json::Value) -> ExitCode {
    let state = run["state"].as_str().unwrap_or("?");
    println!(
        "{} · {}",
        state.to_uppercase(),
        run["reason"].as_str().unwrap_or("")
    );
    if let Some(score) = run["score"].as_f64() {
        println!("score: {:.0}%", score * 100.0);
    }
    for c in run["checks"].as_array().into_iter().flatten() {
        let verdict = c["verdict"].as_str().unwrap_or("?");
        println!(
            "  {:<7} {}",
            verdict.to_uppercase(),
            c["title"].as_str().unwrap_or("")
        );
        if verdict != "pass" {
            if let Some(m) = c["message"].as_str().filter(|m| !m.is_empty()) {
                println!("          {m}");
            }
            if let Some(h) = c["hint"].as_str().filter(|h| !h.is_empty()) {
                println!("          hint: {h}");
            }
        }
    }
    if state == "passed" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_server_sent_event() {
        let e = parse("id: 7\nevent: state\ndata: {\"state\":\"building\"}\n\n").unwrap();
        assert_eq!(e.id, 7);
        assert_eq!(e.kind, "state");
        assert_eq!(e.data, "{\"state\":\"building\"}");
        assert!(parse(": keep-alive\n\n").is_none());
    }
}
