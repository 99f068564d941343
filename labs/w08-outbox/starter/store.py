"""The notes and their outbox, in one SQLite file under DATA_DIR: a change and its event can share a transaction.

One connection behind a lock, shared by the request threads and the relay. The lock is held only around a
transaction, never around a network call: the relay reads what is pending, releases the lock, then publishes.
"""

import json
import os
import secrets
import sqlite3
import threading

from events import new_event
from fields import if_match_holds

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, for the list's cursor
    id      TEXT NOT NULL UNIQUE,
    title   TEXT NOT NULL,
    body    TEXT NOT NULL,
    tags    TEXT NOT NULL,                      -- a JSON array
    version INTEGER NOT NULL
);
-- One row per committed change; `seq` is the commit order the relay publishes in.
CREATE TABLE IF NOT EXISTS outbox (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id  TEXT NOT NULL UNIQUE,
    note_id   TEXT NOT NULL,
    payload   TEXT NOT NULL,                    -- the event's JSON, exactly as it will be sent
    published INTEGER NOT NULL DEFAULT 0
);
"""


class NotFound(Exception):
    pass


class Stale(Exception):
    """If-Match named another version; `version` is the current one (its ETag goes in the 412)."""

    def __init__(self, version):
        super().__init__(f"the note is at version {version}")
        self.version = version


class Store:
    def __init__(self, data_dir):
        os.makedirs(data_dir, exist_ok=True)
        self._db = sqlite3.connect(
            os.path.join(data_dir, "notes.db"), isolation_level=None, check_same_thread=False
        )
        # WAL with FULL sync: a change is on disk when its transaction commits, before the answer is sent.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def _transaction(self, work):
        """Runs work(cursor) in one transaction under the lock: all of it is durable, or none of it."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                result = work(cur)
                cur.execute("COMMIT")
                return result
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def create(self, fields):
        note = {"id": "n_" + secrets.token_hex(5), **fields, "version": 1}

        def work(cur):
            cur.execute(
                "INSERT INTO notes (id, title, body, tags, version) VALUES (?, ?, ?, ?, 1)",
                (note["id"], note["title"], note["body"], json.dumps(note["tags"])),
            )
            # TODO(week 8): record new_event("note.created", note) in the outbox, here, in this transaction
            # (see _record_event): then the note and its event are committed together or not at all.

        self._transaction(work)
        return note

    def replace(self, note_id, fields, if_match):
        def work(cur):
            note = self._get(cur, note_id)
            if not if_match_holds(if_match, note["version"]):
                raise Stale(note["version"])
            if {k: note[k] for k in fields} == fields:
                return note  # identical: not a change, the version stays, nothing to publish
            note.update(fields, version=note["version"] + 1)
            cur.execute(
                "UPDATE notes SET title = ?, body = ?, tags = ?, version = ? WHERE id = ?",
                (note["title"], note["body"], json.dumps(note["tags"]), note["version"], note_id),
            )
            # TODO(week 8): record new_event("note.updated", note) in the outbox, in this transaction.
            return note

        return self._transaction(work)

    def delete(self, note_id, if_match):
        def work(cur):
            note = self._get(cur, note_id)
            if not if_match_holds(if_match, note["version"]):
                raise Stale(note["version"])
            cur.execute("DELETE FROM notes WHERE id = ?", (note_id,))
            # TODO(week 8): record new_event("note.deleted", note) in the outbox, in this transaction.

        self._transaction(work)

    @staticmethod
    def _record_event(cur, event):
        """Inserts one event into the outbox; call it inside the transaction of the change it describes."""
        cur.execute(
            "INSERT INTO outbox (event_id, note_id, payload) VALUES (?, ?, ?)",
            (event["id"], event["note_id"], json.dumps(event)),
        )

    def get(self, note_id):
        with self._lock:
            return self._get(self._db.cursor(), note_id)

    @staticmethod
    def _get(cur, note_id):
        row = cur.execute(
            "SELECT id, title, body, tags, version FROM notes WHERE id = ?", (note_id,)
        ).fetchone()
        if row is None:
            raise NotFound(note_id)
        return {"id": row[0], "title": row[1], "body": row[2], "tags": json.loads(row[3]), "version": row[4]}

    def page(self, after_seq, limit):
        """Notes in creation order after `after_seq`: (notes, last seq or None when there is no next page)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, title, body, tags, version FROM notes WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit + 1),
            ).fetchall()
        notes = [
            {"id": r[1], "title": r[2], "body": r[3], "tags": json.loads(r[4]), "version": r[5]}
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        return notes, (rows[limit - 1][0] if more else None)

    def outbox_counts(self):
        """(pending, published): events committed but not yet acknowledged by the broker, and acknowledged."""
        with self._lock:
            pending, published = self._db.execute(
                "SELECT COALESCE(SUM(published = 0), 0), COALESCE(SUM(published = 1), 0) FROM outbox"
            ).fetchone()
        return pending, published

    # TODO(week 8): what the relay needs: the pending events in commit order (`ORDER BY seq`, a bounded
    # number at a time), and a way to mark one published (or delete it) once the broker has acknowledged it.
