//! The concurrency defects of lab w04: writes that read, let go of the store, and write back later, so
//! concurrent requests interleave in the gap. Each is the classic bug a learner writes with a database too
//! (`SELECT`, compute, `UPDATE` without a version condition or a lock spanning both).
//!
//! - `lost-update`: a `PUT` computes the new version from what it read before the gap, so concurrent writers
//!   overwrite each other and increments are lost; its `If-Match` is checked before the gap as well.
//! - `racy-if-match`: a `PUT` checks `If-Match` before the gap and writes after it (incrementing whatever is
//!   there then), so several writers holding the same tag all win; unconditional writes lose nothing.
//! - `racy-create`: a `POST` picks its id before the gap and stores after it, so concurrent creates share ids.
//!
//! The gap is long enough ([`GAP`]) that a burst of concurrent requests always falls into it.

use std::time::Duration;

use crate::auth::Caller;
use crate::etag;
use crate::http::{Request, Response};
use crate::notes::{render, save, store, visible, Note};
use crate::routes::{defect, error};

/// Time between the read and the write of a racy handler.
const GAP: Duration = Duration::from_millis(150);

/// `PUT /notes/{id}` under `lost-update` or `racy-if-match`.
pub fn replace(seq: u64, req: &Request, caller: Option<&Caller>, new: Note) -> Response {
    let read = store()
        .notes
        .get(&seq)
        .filter(|n| visible(n, caller))
        .cloned();
    let Some(read) = read else {
        return error(404, "not_found", "no such note");
    };
    if let Err(refused) = etag::precondition(req, read.version) {
        return refused;
    }
    std::thread::sleep(GAP);
    let mut s = store();
    let Some(current) = s.notes.get_mut(&seq) else {
        return error(404, "not_found", "no such note");
    };
    let base = if defect("lost-update") {
        read.version
    } else {
        current.version
    };
    let changed =
        current.title != new.title || current.body != new.body || current.tags != new.tags;
    if changed {
        *current = Note {
            version: base + 1,
            owner: read.owner,
            ..new
        };
    }
    let body = render(seq, current);
    let version = current.version;
    save(&s);
    etag::with_etag(Response::json(200, body), version)
}

/// `POST /notes` under `racy-create`.
pub fn create(note: Note) -> Response {
    let seq = store().next;
    std::thread::sleep(GAP);
    let mut s = store();
    s.next = seq + 1;
    let body = render(seq, &note);
    s.notes.insert(seq, note);
    save(&s);
    etag::with_etag(Response::json(201, body), 1)
        .with_header("Location", &format!("/notes/n_{seq}"))
}
