//! The replay script: bash that starts the learner's project with `docker run` (or takes the URL of a service
//! already running) and sends the checks' requests with curl, printing each answer beside what the check
//! expected and what the grader recorded.
//!
//! Everything that came from a check file or from the learner's service (titles, paths, header values,
//! bodies, environment values) enters the script only through [`quote`]: one single-quoted word, so bash
//! expands nothing in it (`$(…)`, backticks, `$VAR`, globs, line breaks). Bodies reach curl on its standard
//! input (`--data-binary @-`), so a body starting with `@` cannot name a file, and `-q` keeps the instructor's
//! own `~/.curlrc` out of the replay.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::steps::{Action, Request};

/// `s` as one bash word that means exactly `s`: single quotes, each `'` written as `'\''`. NUL cannot be in a
/// shell word at all and is dropped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// One check's part of the replay.
pub struct CheckReplay {
    pub check_id: String,
    pub title: String,
    pub verdict: String,
    pub actions: Vec<Action>,
}

/// What the script needs besides the checks.
pub struct ScriptSpec<'a> {
    pub run_id: i64,
    pub lab_id: &'a str,
    /// The port the service listened on in the run (its `PORT`), published on 127.0.0.1 by the script.
    pub port: u16,
    pub health: &'a str,
    /// The service's environment in the run (without `PORT`, which the script sets from `port`).
    pub env: &'a BTreeMap<String, String>,
    /// Where the service kept its data, mounted as a volume.
    pub data_dir: Option<&'a str>,
    /// The project archive's file name in the bundle, when it is still stored.
    pub project: Option<&'a str>,
}

/// The whole script.
pub fn write(spec: &ScriptSpec<'_>, checks: &[CheckReplay]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/usr/bin/env bash");
    let _ = writeln!(
        s,
        "# Replays the HTTP requests of the checks of Gauntlet run {} (lab {}) against the learner's service; see README.md.",
        spec.run_id,
        spec.lab_id.replace(|c: char| c.is_control(), "")
    );
    let _ = writeln!(s, "#   ./replay.sh              build ./{} with docker, run it on 127.0.0.1:{}, replay, stop it", spec.project.unwrap_or("project"), spec.port);
    let _ = writeln!(
        s,
        "#   ./replay.sh BASE_URL     replay against a service already running at BASE_URL"
    );
    s.push_str("set -u\ncd \"$(dirname \"$0\")\" || exit 2\n");
    let _ = writeln!(s, "RUN_ID={}", spec.run_id);
    let _ = writeln!(s, "SERVICE_PORT={}", spec.port);
    let _ = writeln!(s, "HEALTH={}", quote(spec.health));
    let _ = writeln!(s, "PROJECT={}", quote(spec.project.unwrap_or("")));
    s.push_str("IMAGE=\"gauntlet-replay-$RUN_ID\"\nVOLUME=\"gauntlet-replay-$RUN_ID-data\"\ncontainer=\"\"\n\n");
    s.push_str(&docker_functions(spec));
    s.push_str(
        "if [ \"$#\" -ge 1 ]; then\n  BASE=${1%/}\nelse\n  BASE=\"http://127.0.0.1:$SERVICE_PORT\"\n  start_service\nfi\n\
         echo \"Replaying against $BASE\"\n\n",
    );
    for c in checks {
        let _ = writeln!(
            s,
            "banner {}",
            quote(&format!(
                "check {} ({}): {}",
                c.check_id, c.verdict, c.title
            ))
        );
        if !c.actions.iter().any(|a| matches!(a, Action::Request(_))) {
            s.push_str("say 'no HTTP request of this check is in its transcript'\n");
        }
        for a in &c.actions {
            match a {
                Action::Request(r) => request(&mut s, r),
                Action::Restart(line) => {
                    let _ = writeln!(s, "say {}\nrestart_service", quote(line));
                }
                Action::Note(line) => {
                    let _ = writeln!(s, "say {}", quote(line));
                }
            }
        }
        s.push('\n');
    }
    s.push_str("banner 'replay finished'\n");
    s
}

/// `banner`, `say`, and starting, restarting and stopping the learner's container.
fn docker_functions(spec: &ScriptSpec<'_>) -> String {
    let mut env_args = String::new();
    let _ = write!(env_args, " -e \"PORT=$SERVICE_PORT\"");
    for (k, v) in spec.env {
        if k != "PORT" {
            let _ = write!(env_args, " -e {}", quote(&format!("{k}={v}")));
        }
    }
    if let Some(dir) = spec.data_dir {
        let _ = write!(
            env_args,
            " -v {}",
            quote(&format!("gauntlet-replay-{}-data:{dir}", spec.run_id))
        );
    }
    format!(
        r#"banner() {{ printf '\n=== %s\n' "$1"; }}
say() {{ printf '%s\n' "$1"; }}

stop_service() {{
  if [ -n "$container" ]; then docker rm -f "$container" >/dev/null 2>&1; fi
  docker volume rm -f "$VOLUME" >/dev/null 2>&1
  return 0
}}

wait_healthy() {{
  for _ in $(seq 1 60); do
    if curl -q -s -o /dev/null -f "$BASE$HEALTH"; then return 0; fi
    sleep 1
  done
  echo "the service did not answer $HEALTH within 60 s; its log:" >&2
  docker logs "$container" >&2
  exit 1
}}

start_service() {{
  command -v docker >/dev/null || {{ echo 'docker is needed to start the service; or pass the URL of a running one' >&2; exit 2; }}
  if [ -z "$PROJECT" ]; then echo 'the project archive is no longer stored on the server; pass the URL of a running service' >&2; exit 2; fi
  rm -rf project && mkdir project || exit 2
  case $PROJECT in
    *.zip) unzip -q "$PROJECT" -d project || exit 2 ;;
    *) tar --no-same-owner -xf "$PROJECT" -C project || exit 2 ;;
  esac
  ctx=project
  if [ ! -f project/Dockerfile ]; then
    for d in project/*/; do if [ -f "${{d}}Dockerfile" ]; then ctx=${{d%/}}; fi; done
  fi
  say "Building the learner's project: its Dockerfile runs here, as it did in the grader (read it first)."
  docker build -t "$IMAGE" "$ctx" || exit 1
  # Locked down as the grader ran it: no capabilities, no privilege gain, bounded memory and processes.
  container=$(docker run -d --cap-drop ALL --security-opt no-new-privileges --memory 1g --pids-limit 512 \
    -p "127.0.0.1:$SERVICE_PORT:$SERVICE_PORT"{env_args} "$IMAGE") || exit 1
  trap stop_service EXIT
  wait_healthy
}}

restart_service() {{
  if [ -n "$container" ]; then
    docker restart -t 10 "$container" >/dev/null && wait_healthy
  else
    say '(the check restarted the service here: restart yours now, then press Enter)'
    read -r _ || true
  fi
}}

"#
    )
}

/// One request: what it is, what was expected and recorded, then curl's answer with its headers.
fn request(s: &mut String, r: &Request) {
    let _ = writeln!(
        s,
        "say {}",
        quote(&format!("--- step {}: {} {}", r.step, r.method, r.target))
    );
    if let Some(e) = &r.expected {
        let _ = writeln!(s, "say {}", quote(&format!("expected: {e}")));
    }
    if let Some(a) = &r.recorded {
        let _ = writeln!(s, "say {}", quote(&format!("recorded answer: {a}")));
    }
    if r.body_cut {
        s.push_str("say '(the stored body was cut; this replay sends only its start)'\n");
    }
    let mut curl = String::from("curl -q -sS -i -g --max-time 30");
    if r.method.eq_ignore_ascii_case("HEAD") {
        curl.push_str(" --head");
    } else {
        let _ = write!(curl, " -X {}", quote(&r.method));
    }
    for (name, value) in &r.headers {
        let _ = write!(curl, " -H {}", quote(&format!("{name}: {value}")));
    }
    match &r.body {
        Some(body) => {
            let _ = writeln!(
                s,
                "printf '%s' {} | {curl} --data-binary @- \"$BASE\"{}",
                quote(body),
                quote(&r.target)
            );
        }
        None => {
            let _ = writeln!(s, "{curl} \"$BASE\"{}", quote(&r.target));
        }
    }
    s.push_str("echo\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reaches_curl_on_stdin_and_the_target_follows_the_base_url() {
        let env = BTreeMap::from([("JWT_SECRET".to_string(), "s'x".to_string())]);
        let spec = ScriptSpec {
            run_id: 3,
            lab_id: "w02-notes",
            port: 4100,
            health: "/healthz",
            env: &env,
            data_dir: Some("/data"),
            project: Some("project.tar.gz"),
        };
        let check = CheckReplay {
            check_id: "c".into(),
            title: "T".into(),
            verdict: "fail".into(),
            actions: vec![Action::Request(Request {
                step: "1 of 1".into(),
                method: "POST".into(),
                target: "/n".into(),
                headers: vec![("x-a".into(), "b".into())],
                body: Some("@/etc/passwd".into()),
                ..Request::default()
            })],
        };
        let s = write(&spec, &[check]);
        assert!(s.contains(
            "printf '%s' '@/etc/passwd' | curl -q -sS -i -g --max-time 30 -X 'POST' -H 'x-a: b' --data-binary @- \"$BASE\"'/n'"
        ));
        assert!(s.contains(" -e 'JWT_SECRET=s'\\''x'"));
        assert!(s.contains(" -v 'gauntlet-replay-3-data:/data'"));
    }

    #[test]
    fn quotes_make_one_literal_word() {
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("a\0b"), "'ab'");
        assert_eq!(quote("$(x) `y` \n"), "'$(x) `y` \n'");
    }
}
