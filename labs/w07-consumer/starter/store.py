"""The accounts, in SQLite under DATA_DIR: one file, transactions, durable across a SIGKILL.

One connection shared by the consumer thread (writes) and the HTTP threads (reads), behind a lock: simple, and
fast enough, since the consumer writes a whole batch in one transaction.
"""

import os
import sqlite3
import threading

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account  TEXT PRIMARY KEY,
    balance  INTEGER NOT NULL DEFAULT 0,
    name     TEXT,
    name_seq INTEGER NOT NULL DEFAULT 0,  -- the seq of the rename applied last (0: none yet)
    applied  INTEGER NOT NULL DEFAULT 0   -- events that changed this account
);
"""
# TODO(week 7): a table of processed event ids, e.g.
#   CREATE TABLE IF NOT EXISTS processed (id TEXT PRIMARY KEY);
# written in the same transaction as the effects (see apply_batch), so that an effect and "this id is done"
# are durable together or not at all.


class Store:
    def __init__(self, data_dir):
        os.makedirs(data_dir, exist_ok=True)
        path = os.path.join(data_dir, "accounts.db")
        # isolation_level=None: we open and commit transactions ourselves (BEGIN ... COMMIT).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def apply_batch(self, events):
        """Applies valid events in one transaction: all of the batch is durable when this returns, or none."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    # TODO(week 7): skip an event whose id is already processed, and record the id of every
                    # event you process (stale renames too), here, inside this transaction. Delivery is at
                    # least once: the same event arrives again as a copy, and again after a restart.
                    self._apply(cur, event)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    @staticmethod
    def _apply(cur, event):
        account = event["account"]
        # An account exists from the first valid event that mentions it.
        cur.execute("INSERT OR IGNORE INTO accounts (account) VALUES (?)", (account,))
        kind = event["type"]
        if kind == "credit":
            cur.execute(
                "UPDATE accounts SET balance = balance + ?, applied = applied + 1 WHERE account = ?",
                (event["amount"], account),
            )
        elif kind == "debit":
            # Balances may go below zero: a debit before its credits is not an error.
            cur.execute(
                "UPDATE accounts SET balance = balance - ?, applied = applied + 1 WHERE account = ?",
                (event["amount"], account),
            )
        elif kind == "rename":
            # Only a greater seq wins; a stale rename changes nothing and does not count in `applied`.
            cur.execute(
                "UPDATE accounts SET name = ?, name_seq = ?, applied = applied + 1 "
                "WHERE account = ? AND name_seq < ?",
                (event["name"], event["seq"], account, event["seq"]),
            )

    def get(self, account):
        """The account as the read endpoint shows it, or None if no valid event has mentioned it."""
        with self._lock:
            row = self._db.execute(
                "SELECT account, balance, name, applied FROM accounts WHERE account = ?", (account,)
            ).fetchone()
        if row is None:
            return None
        return {"account": row[0], "balance": row[1], "name": row[2], "applied": row[3]}
