//! The accounts, in SQLite under `DATA_DIR`: one file, transactions, durable across a SIGKILL.
//!
//! One connection shared by the consumer thread (writes) and the HTTP loop (reads), behind a mutex: simple, and
//! fast enough, since the consumer writes a whole batch in one transaction.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::{json, Value};

use crate::events::{Change, Event};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    account  TEXT PRIMARY KEY,
    balance  INTEGER NOT NULL DEFAULT 0,
    name     TEXT,
    name_seq INTEGER NOT NULL DEFAULT 0,  -- the seq of the rename applied last (0: none yet)
    applied  INTEGER NOT NULL DEFAULT 0   -- events that changed this account
);
";
// TODO(week 7): a table of processed event ids, e.g.
//   CREATE TABLE IF NOT EXISTS processed (id TEXT PRIMARY KEY);
// written in the same transaction as the effects (see `apply_batch`), so that an effect and "this id is done"
// are durable together or not at all.

pub struct Store {
    db: Mutex<Connection>,
}

impl Store {
    /// Opens (or creates) `accounts.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Store, crate::Error> {
        std::fs::create_dir_all(data_dir)?;
        let db = Connection::open(data_dir.join("accounts.db"))?;
        // WAL lets the HTTP reads run beside a write; FULL makes each COMMIT durable before it returns.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(SCHEMA)?;
        Ok(Store { db: Mutex::new(db) })
    }

    /// Applies valid events in one transaction: all of the batch is durable when this returns, or none of it.
    pub fn apply_batch(&self, events: &[Event]) -> rusqlite::Result<()> {
        let mut db = self.lock();
        // IMMEDIATE takes the write lock at BEGIN. Dropping `tx` without `commit` (the `?` below) rolls back.
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for event in events {
            // TODO(week 7): skip an event whose id is already processed, and record the id of every event you
            // process (stale renames too), here, inside this transaction. Delivery is at least once: the same
            // event arrives again as a copy, and again after a restart.
            apply(&tx, event)?;
        }
        tx.commit()
    }

    /// The account as the read endpoint shows it, or `None` if no valid event has mentioned it.
    pub fn get(&self, account: &str) -> rusqlite::Result<Option<Value>> {
        self.lock()
            .query_row(
                "SELECT account, balance, name, applied FROM accounts WHERE account = ?1",
                params![account],
                |row| {
                    Ok(json!({
                        "account": row.get::<_, String>(0)?,
                        "balance": row.get::<_, i64>(1)?,
                        "name": row.get::<_, Option<String>>(2)?,
                        "applied": row.get::<_, i64>(3)?,
                    }))
                },
            )
            .optional()
    }

    /// The connection. A thread that panicked while holding it cannot have left a transaction half-done (SQLite
    /// rolls back), so a poisoned lock is still safe to use.
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn apply(tx: &Transaction, event: &Event) -> rusqlite::Result<()> {
    let account = &event.account;
    // An account exists from the first valid event that mentions it.
    tx.execute(
        "INSERT OR IGNORE INTO accounts (account) VALUES (?1)",
        params![account],
    )?;
    match &event.change {
        Change::Credit { amount } => tx.execute(
            "UPDATE accounts SET balance = balance + ?1, applied = applied + 1 WHERE account = ?2",
            params![amount, account],
        )?,
        // Balances may go below zero: a debit before its credits is not an error.
        Change::Debit { amount } => tx.execute(
            "UPDATE accounts SET balance = balance - ?1, applied = applied + 1 WHERE account = ?2",
            params![amount, account],
        )?,
        // Only a greater seq wins; a stale rename changes nothing and does not count in `applied`.
        Change::Rename { name, seq } => tx.execute(
            "UPDATE accounts SET name = ?1, name_seq = ?2, applied = applied + 1 \
             WHERE account = ?3 AND name_seq < ?2",
            params![name, seq, account],
        )?,
    };
    Ok(())
}
