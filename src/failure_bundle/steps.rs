//! Reading a check's stored transcript back into the requests it sent, for the replay script.
//!
//! The http kind (and the kinds built on its steps: openapi, metrics, security probes) writes each request as
//! `── step N of M: METHOD URL`, then `> name: value` headers, then, when there is a body, a lone `>` and the
//! body's lines as `> line`, then `expected: …` and the answer as `< …` lines (see
//! `checks/http/transcript.rs`). Only that shape is read; any other line is left out. The URL's host is the
//! container's address on the run network, so only its path and query are kept: the script puts its own base
//! URL in front.

/// One thing the replay does, in the transcript's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Request(Request),
    /// The check restarted the service here (the transcript's words).
    Restart(String),
    /// A line worth showing beside the requests (a burst sent many copies of the step before).
    Note(String),
}

/// One HTTP request as the check sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `1 of 3`.
    pub step: String,
    pub method: String,
    /// Path and query, starting with `/`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The transcript keeps only the start of long bodies: the replayed body is then shorter.
    pub body_cut: bool,
    /// What the check expected (`status 200; json ⊇ …`).
    pub expected: Option<String>,
    /// The first line of the recorded answer (`500 (3 ms)`).
    pub recorded: Option<String>,
}

/// Headers curl sets itself from the request it sends; replaying the recorded ones would contradict it.
const CURL_SETS: &[&str] = &["content-length", "host", "transfer-encoding", "connection"];

/// The actions of one transcript, in order.
pub fn read(transcript: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut current: Option<Request> = None;
    let mut in_body = false;
    // Whether the body has a line yet: lines after the first are joined by a line break.
    let mut body_started = false;
    for line in transcript.lines() {
        if let Some(rest) = line.strip_prefix("── step ") {
            if let Some(r) = current.take() {
                actions.push(Action::Request(r));
            }
            current = request_line(rest);
            in_body = false;
            continue;
        }
        let Some(r) = current.as_mut() else {
            if let Some(a) = loose_line(line) {
                actions.push(a);
            }
            continue;
        };
        if line == ">" {
            in_body = true;
            body_started = false;
            r.body.get_or_insert_with(String::new);
        } else if let Some(text) = line.strip_prefix("> ") {
            if in_body {
                if text.starts_with("… (") && text.ends_with(')') && text.contains("cut at") {
                    r.body_cut = true;
                } else {
                    let body = r.body.get_or_insert_with(String::new);
                    if body_started {
                        body.push('\n');
                    }
                    body.push_str(text);
                    body_started = true;
                }
            } else if let Some((name, value)) = header(text) {
                r.headers.push((name, value));
            }
        } else if let Some(e) = line.strip_prefix("expected: ") {
            r.expected.get_or_insert_with(|| e.to_string());
            in_body = false;
        } else if let Some(answer) = line.strip_prefix("< ") {
            in_body = false;
            if r.recorded.is_none() {
                r.recorded = Some(answer.to_string());
            }
        } else {
            in_body = false;
            if let Some(a) = loose_line(line) {
                actions.push(Action::Request(std::mem::take(r)));
                current = None;
                actions.push(a);
            }
        }
    }
    if let Some(r) = current {
        actions.push(Action::Request(r));
    }
    actions
}

/// `1 of 3: POST http://10.0.0.2:4000/notes?x=1` → the request's first line, or `None` when the URL is not
/// one the script can aim elsewhere.
fn request_line(rest: &str) -> Option<Request> {
    let (step, call) = rest.split_once(": ")?;
    let (method, url) = call.split_once(' ')?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    Some(Request {
        step: step.to_string(),
        method: method.to_string(),
        target,
        ..Request::default()
    })
}

/// A header line's name and value, when the name is a valid header name that curl does not set itself.
fn header(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once(": ")?;
    let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).ok()?;
    if CURL_SETS.contains(&valid.as_str()) {
        return None;
    }
    Some((name.to_string(), value.to_string()))
}

/// A line outside a request that the replay shows or acts on.
fn loose_line(line: &str) -> Option<Action> {
    if line.starts_with("step ") && line.contains(": restart the service") {
        Some(Action::Restart(line.to_string()))
    } else if line.starts_with("sent ") && line.contains(" times at once") {
        Some(Action::Note(line.to_string()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_headers_bodies_and_the_recorded_answer() {
        let t = "── step 1 of 2: POST http://172.18.0.5:4100/notes?tag=a%27b\n\
                 > content-type: text/plain; charset=utf-8\n\
                 > host: 172.18.0.5\n\
                 >\n\
                 > first\n\
                 > \n\
                 > third\n\
                 expected: status 201\n\
                 < 500 (3 ms)\n\
                 < content-type: text/plain\n\
                 <\n\
                 < oops\n\
                 FAILED at step 1: status 500, expected 201\n";
        let actions = read(t);
        assert_eq!(actions.len(), 1);
        let Action::Request(r) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/notes?tag=a%27b");
        assert_eq!(
            r.headers,
            vec![(
                "content-type".to_string(),
                "text/plain; charset=utf-8".to_string()
            )]
        );
        assert_eq!(r.body.as_deref(), Some("first\n\nthird"));
        assert_eq!(r.expected.as_deref(), Some("status 201"));
        assert_eq!(r.recorded.as_deref(), Some("500 (3 ms)"));
    }

    #[test]
    fn keeps_restarts_between_requests_and_marks_cut_bodies() {
        let t =
            "── step 1 of 3: PUT http://h:1/a\n>\n> abc\n> … (4000 bytes in all, cut at 2048)\n\
                 expected: any answer\n< 200 (1 ms)\n\
                 step 2/3: restart the service (SIGKILL only, no grace), keeping its data\n\
                 healthy again at http://h:2/\n\
                 ── step 3 of 3: GET http://h:2/a\nexpected: status 200\n";
        let actions = read(t);
        assert_eq!(actions.len(), 3, "{actions:?}");
        assert!(
            matches!(&actions[0], Action::Request(r) if r.body_cut && r.body.as_deref() == Some("abc"))
        );
        assert!(matches!(&actions[1], Action::Restart(_)));
        assert!(matches!(&actions[2], Action::Request(r) if r.target == "/a" && r.body.is_none()));
    }
}
