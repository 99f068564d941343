//! The notes resource of labs w01 to w02, in memory: a correct minimal implementation of the README contract,
//! with defect switches (see `routes.rs`) so each hidden check can be shown to catch its defect.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::auth::Caller;
use crate::etag;
use crate::http::{Request, Response};
use crate::json::{self, Json};
use crate::outbox::Outbox;
use crate::relay;
use crate::routes::{defect, error, variant};

/// How long a `PUT` holds the store under the `serial-writes` near miss.
const SERIAL_WRITE: std::time::Duration = std::time::Duration::from_millis(20);

#[derive(Clone, PartialEq)]
pub(crate) struct Note {
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) tags: Vec<String>,
    pub(crate) version: u64,
    /// The creator's `sub` in the auth mode; empty otherwise.
    pub(crate) owner: String,
}

/// Notes by creation sequence number; the id is `n_<seq>`, the cursor `c<seq>`.
pub(crate) struct Store {
    pub(crate) next: u64,
    pub(crate) notes: BTreeMap<u64, Note>,
    /// Lab w08: the events of committed changes not yet published, saved in the same file as the notes.
    pub(crate) outbox: Outbox,
    loaded: bool,
}

static STORE: Mutex<Store> = Mutex::new(Store {
    next: 1,
    notes: BTreeMap::new(),
    outbox: Outbox::new(),
    loaded: false,
});

/// The store, read from `DATA_DIR` on first use when that is set (lab w03: data survives a restart).
pub(crate) fn store() -> std::sync::MutexGuard<'static, Store> {
    let mut s = STORE.lock().unwrap_or_else(|e| e.into_inner());
    if !s.loaded {
        s.loaded = true;
        load(&mut s);
    }
    s
}

/// Where the notes are kept: `$DATA_DIR/notes.jsonl`, unless the `no-persist` defect keeps them in memory only.
fn data_file() -> Option<std::path::PathBuf> {
    if defect("no-persist") {
        return None;
    }
    std::env::var_os("DATA_DIR").map(|d| std::path::PathBuf::from(d).join("notes.jsonl"))
}

fn load(s: &mut Store) {
    let Some(text) = data_file().and_then(|p| std::fs::read_to_string(p).ok()) else {
        return;
    };
    let mut lines = text.lines();
    s.next = lines.next().and_then(|l| l.parse().ok()).unwrap_or(1);
    for line in lines {
        let Some(doc) = json::parse(line) else {
            continue;
        };
        if s.outbox.load_line(&doc) {
            continue;
        }
        let seq = match doc.get("id") {
            Some(Json::Str(id)) => id.strip_prefix("n_").and_then(|n| n.parse::<u64>().ok()),
            _ => None,
        };
        let text_of = |k: &str| match doc.get(k) {
            Some(Json::Str(v)) => v.clone(),
            _ => String::new(),
        };
        let tags = match doc.get("tags") {
            Some(Json::Arr(items)) => items
                .iter()
                .filter_map(|t| match t {
                    Json::Str(t) => Some(t.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let version = match doc.get("version") {
            Some(Json::Num(v)) => *v as u64,
            _ => 1,
        };
        if let Some(seq) = seq {
            let note = Note {
                title: text_of("title"),
                body: text_of("body"),
                tags,
                version,
                owner: text_of("owner"),
            };
            s.notes.insert(seq, note);
        }
    }
    // `reuse-ids`: the sequence restarts at the newest note's id, so the next create overwrites it.
    if defect("reuse-ids") {
        s.next = s.notes.keys().next_back().copied().unwrap_or(1);
    }
}

/// Writes every note to the data file (a temporary file renamed over it, synced, so a kill never leaves half).
pub(crate) fn save(s: &Store) {
    let Some(path) = data_file() else { return };
    // `save-on-shutdown`: only the drain on SIGTERM writes; a SIGKILL loses every change since the start.
    if defect("save-on-shutdown") && !crate::lifecycle::draining() {
        return;
    }
    let mut out = format!("{}\n", s.next);
    for (seq, n) in &s.notes {
        out.push_str(&render(*seq, n));
        out.push('\n');
    }
    if crate::outbox::recording() {
        s.outbox.persist(&mut out);
    }
    let tmp = path.with_extension("tmp");
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(out.as_bytes())?;
        f.sync_all()
    });
    if written.is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
}

pub(crate) fn render(seq: u64, n: &Note) -> String {
    let tags: Vec<String> = n.tags.iter().map(|t| json::string(t)).collect();
    let owner = if n.owner.is_empty() {
        String::new()
    } else {
        format!(r#","owner":{}"#, json::string(&n.owner))
    };
    // `version-as-string`: the document says integer, the service answers a string.
    let version = if defect("version-as-string") {
        format!(r#""{}""#, n.version)
    } else {
        n.version.to_string()
    };
    format!(
        r#"{{"id":"n_{seq}","title":{},"body":{},"tags":[{}],"version":{version}{owner}}}"#,
        json::string(&n.title),
        json::string(&n.body),
        tags.join(","),
    )
}

/// Routes `/notes` and `/notes/{id}` (`path` has any `/v1` prefix removed); `caller` is `None` outside the
/// auth mode, where there is no ownership.
pub fn handle(req: &Request, path: &str, caller: Option<&Caller>) -> Response {
    let rest = path.strip_prefix("/notes").unwrap_or("");
    let id = rest.strip_prefix('/');
    match (req.method.as_str(), id) {
        ("POST", None) => create(req, caller),
        ("GET", None) => list(&req.query, caller),
        (_, None) => error(405, "method_not_allowed", "use GET or POST on /notes"),
        ("DELETE", Some(_)) if caller.is_some_and(|c| !c.admin) && !defect("no-roles") => {
            // `roles-401`: a refusal with 401 rather than 403, as many real APIs answer; still a refusal.
            let status = if defect("roles-401") { 401 } else { 403 };
            error(status, "forbidden", "only admins may delete notes")
        }
        (method, Some(id)) => {
            let seq = id.strip_prefix("n_").and_then(|s| s.parse::<u64>().ok());
            match (method, seq) {
                ("GET", None) if defect("get-missing-500") => {
                    error(500, "internal", "lookup failed")
                }
                ("PUT", None) if defect("put-creates") => match parse_note(req) {
                    Ok(n) => Response::json(200, render(0, &n)),
                    Err(r) => r,
                },
                ("GET" | "PUT" | "DELETE", None) => error(404, "not_found", "no such note"),
                ("GET", Some(seq)) => get(seq, caller),
                ("PUT", Some(seq)) => replace(seq, req, caller),
                ("DELETE", Some(seq)) => delete(seq, req),
                _ => error(
                    405,
                    "method_not_allowed",
                    "use GET, PUT or DELETE on a note",
                ),
            }
        }
    }
}

/// Whether `caller` may see `note`: everyone outside the auth mode, admins, and the owner.
pub(crate) fn visible(note: &Note, caller: Option<&Caller>) -> bool {
    caller.is_none_or(|c| c.admin || c.sub == note.owner)
}

/// The client-owned fields of a body, or the error answer (400 for shape, 422 for rules).
fn parse_note(req: &Request) -> Result<Note, Response> {
    if let Some(refused) = crate::users::strict_note(req) {
        return Err(refused);
    }
    match parse_fields(req) {
        // `bad-input-500`: a body of the wrong shape crashes the handler instead of a 400.
        Err(r) if r.status == 400 && defect("bad-input-500") => {
            Err(Response::text(500, "panicked at src/notes.rs"))
        }
        other => other,
    }
}

fn parse_fields(req: &Request) -> Result<Note, Response> {
    let text = String::from_utf8_lossy(&req.body);
    let Some(doc @ Json::Obj(_)) = json::parse(&text) else {
        let status = if defect("malformed-422") { 422 } else { 400 };
        return Err(error(
            status,
            "bad_request",
            "the body must be a JSON object",
        ));
    };
    let title = match doc.get("title") {
        None | Some(Json::Null) => None,
        Some(Json::Str(s)) => Some(s.clone()),
        Some(_) => return Err(error(400, "bad_request", "title must be a string")),
    };
    // `null` is not absent: the documents say `body` is a string and `tags` an array, neither nullable (the
    // schemathesis comparison caught the reference reading `null` as absent).
    let body = match doc.get("body") {
        None => String::new(),
        Some(Json::Str(s)) => s.clone(),
        Some(_) => return Err(error(400, "bad_request", "body must be a string")),
    };
    let tags = match doc.get("tags") {
        None => Vec::new(),
        Some(Json::Arr(items)) => {
            let mut tags = Vec::new();
            for i in items {
                let Json::Str(s) = i else {
                    return Err(error(400, "bad_request", "tags must be strings"));
                };
                tags.push(s.clone());
            }
            tags
        }
        Some(_) => return Err(error(400, "bad_request", "tags must be an array")),
    };
    let title = title.unwrap_or_default().trim().to_string();
    // `control-500` (w09): a control character in a title (a NUL, say) crashes the handler.
    if defect("control-500") && title.chars().any(char::is_control) {
        return Err(error(500, "internal", "title could not be stored"));
    }
    let mut fields = Vec::new();
    // `title-bytes` (w09): the length is counted in UTF-8 bytes, so a title of 200 emoji is refused.
    let t = if defect("title-bytes") {
        title.len()
    } else {
        title.chars().count()
    };
    // `refuse-controls` (a near miss): control characters in a title are refused with the documented 422,
    // as a service whose database cannot store a NUL must.
    if variant("refuse-controls") && title.chars().any(char::is_control) {
        fields.push(("title", "no control characters"));
    }
    // `unlimited-title` (w09): the documented `maxLength` of 200 is not enforced.
    if t == 0 || (t > 200 && !defect("unlimited-title")) {
        fields.push(("title", "must be 1 to 200 characters"));
    }
    if body.chars().count() > 10_000 {
        fields.push(("body", "at most 10000 characters"));
    }
    if tags.len() > 10 || tags.iter().any(|t| t.is_empty() || t.chars().count() > 32) {
        fields.push(("tags", "at most 10 items of 1 to 32 characters"));
    }
    if !fields.is_empty() && !defect("no-validation") {
        let list: Vec<String> = fields
            .iter()
            .map(|(f, p)| {
                let f = if defect("unnamed-422") { "input" } else { f };
                format!(r#"{{"field":"{f}","problem":"{p}"}}"#)
            })
            .collect();
        let body = format!(
            r#"{{"error":"validation_failed","message":"{} fields are invalid","fields":[{}]}}"#,
            fields.len(),
            list.join(",")
        );
        return Err(Response::json(422, body));
    }
    // `trust-client-version`: a client-sent version is kept instead of the server's own.
    let version = match doc.get("version") {
        Some(Json::Num(v)) if defect("trust-client-version") => *v as u64,
        _ => 1,
    };
    Ok(Note {
        title,
        body,
        tags,
        version,
        owner: String::new(),
    })
}

fn create(req: &Request, caller: Option<&Caller>) -> Response {
    let mut note = match parse_note(req) {
        Ok(n) => n,
        Err(r) => return r,
    };
    note.owner = crate::users::owner_from_body(req)
        .or_else(|| caller.map(|c| c.sub.clone()))
        .unwrap_or_default();
    if defect("racy-create") {
        return crate::races::create(note);
    }
    let mut s = store();
    let seq = s.next;
    s.next += 1;
    let body = render(seq, &note);
    relay::before_commit("note.created", seq, Some(&note), 1);
    s.outbox.record("note.created", seq, Some(&note), 1);
    s.notes.insert(seq, note);
    save(&s);
    if let Some(n) = s.notes.get(&seq) {
        relay::after_commit("note.created", seq, Some(n), 1);
    }
    let status = if defect("create-200") { 200 } else { 201 };
    let r = etag::with_etag(Response::json(status, body), 1);
    if defect("no-location") {
        r
    } else {
        r.with_header("Location", &format!("/notes/n_{seq}"))
    }
}

fn get(seq: u64, caller: Option<&Caller>) -> Response {
    match store()
        .notes
        .get(&seq)
        .filter(|n| defect("no-owner-read") || visible(n, caller))
    {
        Some(n) => etag::with_etag(Response::json(200, render(seq, n)), n.version),
        None if defect("get-missing-500") => error(500, "internal", "lookup failed"),
        None if defect("missing-410") => error(410, "gone", "no such note"),
        None => error(404, "not_found", "no such note"),
    }
}

fn replace(seq: u64, req: &Request, caller: Option<&Caller>) -> Response {
    let new = match parse_note(req) {
        Ok(n) => n,
        Err(r) => {
            if r.status == 422 {
                crate::outbox::refused_422(seq, req);
            }
            return r;
        }
    };
    if defect("lost-update") || defect("racy-if-match") {
        return crate::races::replace(seq, req, caller, new);
    }
    let mut guard = store();
    if variant("serial-writes") {
        // The near miss `serial-writes` (lab w04): each write holds the one store lock a while, so no two writes
        // ever overlap. Slower, and still right.
        std::thread::sleep(SERIAL_WRITE);
    }
    let s = &mut *guard;
    let Some(old) = s
        .notes
        .get_mut(&seq)
        .filter(|n| defect("no-owner-update") || visible(n, caller))
    else {
        if defect("put-creates") {
            let note = Note { version: 1, ..new };
            let body = render(seq, &note);
            s.notes.insert(seq, note);
            return Response::json(200, body);
        }
        return error(404, "not_found", "no such note");
    };
    relay::before_commit("note.updated", seq, Some(&new), old.version + 1);
    if let Err(refused) = etag::precondition(req, old.version) {
        let data = crate::outbox::data_of(&new);
        s.outbox
            .record_refused("note.updated", seq, Some(data), old.version + 1);
        save(s);
        return refused;
    }
    if defect("update-noop") {
        return Response::json(200, render(seq, old));
    }
    let changed = old.title != new.title || old.body != new.body || old.tags != new.tags;
    if changed || defect("put-bumps-always") {
        let version = old.version + 1;
        let owner = std::mem::take(&mut old.owner);
        *old = Note {
            version,
            owner,
            ..new
        };
        s.outbox.record("note.updated", seq, Some(old), version);
    } else if defect("noop-publishes") {
        s.outbox.record("note.updated", seq, Some(old), old.version);
    }
    let body = render(seq, old);
    let version = old.version;
    save(s);
    if changed {
        relay::after_commit("note.updated", seq, s.notes.get(&seq), version);
    }
    etag::with_etag(Response::json(200, body), version)
}

fn delete(seq: u64, req: &Request) -> Response {
    let mut guard = store();
    let s = &mut *guard;
    if let Some(note) = s.notes.get(&seq) {
        let version = note.version;
        relay::before_commit("note.deleted", seq, None, version);
        if let Err(refused) = etag::precondition(req, version) {
            s.outbox.record_refused("note.deleted", seq, None, version);
            save(s);
            return refused;
        }
    }
    let found = if defect("delete-noop") {
        s.notes.contains_key(&seq)
    } else {
        let removed = s.notes.remove(&seq);
        if let Some(n) = &removed {
            s.outbox.record("note.deleted", seq, None, n.version);
        }
        save(s);
        if let Some(n) = &removed {
            relay::after_commit("note.deleted", seq, None, n.version);
        }
        removed.is_some()
    };
    if found {
        Response::new(204, "application/json", Vec::new())
    } else {
        error(404, "not_found", "no such note")
    }
}

fn list(query: &str, caller: Option<&Caller>) -> Response {
    let mut limit = 20;
    let mut after = 0;
    let mut q: Option<String> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => limit = n,
                _ if defect("lenient-list") => {}
                _ => return error(400, "bad_request", "limit must be an integer from 1 to 100"),
            },
            "cursor" => match v.strip_prefix('c').and_then(|n| n.parse::<u64>().ok()) {
                Some(_) if defect("ignore-cursor") => {}
                Some(n) => after = n,
                None => return error(400, "bad_request", "unknown cursor"),
            },
            "q" => {
                let term = decode(v);
                crate::users::slow_search_check(&term);
                q = Some(term);
            }
            _ => {}
        }
    }
    let quoted = q.as_ref().is_some_and(|q| q.contains('\''));
    if quoted && defect("sql-500") {
        let msg = r#"database error: near "'": syntax error in SELECT * FROM notes WHERE owner = ? AND title LIKE '%"#;
        return error(500, "internal", msg);
    }
    // `sql-sleep`: what a time-based blind injection does to string-built SQL: the payload's sleep runs.
    if defect("sql-sleep")
        && q.as_ref()
            .is_some_and(|q| q.to_ascii_lowercase().contains("sleep("))
    {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    // What string-built SQL does with a quote: the owner condition is commented or OR-ed away.
    let caller = caller.filter(|_| !(quoted && defect("sql-injectable")));
    if defect("ignore-limit") {
        limit = usize::MAX;
    }
    let s = store();
    let mut page = s
        .notes
        .range(after + 1..)
        .filter(|(_, n)| defect("no-owner-list") || visible(n, caller))
        .filter(|(_, n)| {
            quoted && defect("sql-injectable")
                || q.as_ref().is_none_or(|q| n.title.contains(q.as_str()))
        });
    let items: Vec<(u64, &Note)> = page.by_ref().take(limit).map(|(k, v)| (*k, v)).collect();
    let more = page.next().is_some();
    let next = match items.last() {
        Some((seq, _)) if more => format!(r#""c{seq}""#),
        _ => "null".to_string(),
    };
    let rendered: Vec<String> = items.iter().map(|(seq, n)| render(*seq, n)).collect();
    Response::json(
        200,
        format!(
            r#"{{"items":[{}],"next_cursor":{next}}}"#,
            rendered.join(",")
        ),
    )
}

/// A percent-decoded query value (`+` is a space).
fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
