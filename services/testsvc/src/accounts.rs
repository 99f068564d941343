//! The w07 domain: account events, their validation and effects, and the consumer's durable state.
//!
//! The state is one JSON file, `$DATA_DIR/w07-state.json`: accounts, processed event ids, the dead-lettered
//! source offsets and the next offset of every partition. It is replaced whole (write, fsync, rename, fsync
//! the folder), so the effects of a batch, the ids that make redeliveries harmless and the consumer's
//! progress move together: a crash leaves the state of one batch boundary, and consuming resumes exactly there.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::json::{self, Json};
use crate::routes::defect;

/// One account as `GET /accounts/{account}` shows it, plus the seq of the last rename applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    pub balance: i64,
    pub name: Option<String>,
    pub seq: i64,
    pub applied: u64,
}

/// A valid event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub account: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Credit(i64),
    Debit(i64),
    Rename { name: String, seq: i64 },
}

/// What handling a valid event did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Applied,
    Duplicate,
    Stale,
}

/// Parses a record value into an event, or the reason it is invalid (the DLQ's `error` header).
pub fn parse(value: Option<&[u8]>) -> Result<Event, String> {
    let text = value
        .and_then(|v| std::str::from_utf8(v).ok())
        .ok_or("the value is not UTF-8 text")?;
    let doc = json::parse(text).ok_or("the value is not JSON")?;
    if !matches!(doc, Json::Obj(_)) {
        return Err("the value is not a JSON object".into());
    }
    let id = text_field(&doc, "id")?;
    let account = text_field(&doc, "account")?;
    let kind = match doc.get("type") {
        Some(Json::Str(t)) if t == "credit" => Kind::Credit(positive(&doc, "amount")?),
        Some(Json::Str(t)) if t == "debit" => Kind::Debit(positive(&doc, "amount")?),
        Some(Json::Str(t)) if t == "rename" => Kind::Rename {
            name: text_field(&doc, "name")?,
            seq: positive(&doc, "seq")?,
        },
        Some(Json::Str(t)) => return Err(format!("unknown type `{t}`")),
        Some(_) => return Err("`type` is not a string".into()),
        None => return Err("`type` is missing".into()),
    };
    Ok(Event { id, account, kind })
}

fn text_field(doc: &Json, name: &str) -> Result<String, String> {
    match doc.get(name) {
        Some(Json::Str(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Json::Str(_)) => Err(format!("`{name}` is empty")),
        Some(_) => Err(format!("`{name}` is not a string")),
        None => Err(format!("`{name}` is missing")),
    }
}

fn positive(doc: &Json, name: &str) -> Result<i64, String> {
    match doc.get(name) {
        Some(Json::Num(n)) if n.fract() == 0.0 && *n >= 1.0 && *n <= 9.0e15 => Ok(*n as i64),
        Some(Json::Num(_)) => Err(format!("`{name}` is not a positive integer")),
        Some(_) => Err(format!("`{name}` is not a number")),
        None => Err(format!("`{name}` is missing")),
    }
}

/// Everything the consumer keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub accounts: BTreeMap<String, Account>,
    pub processed: HashSet<String>,
    /// Source records already sent to the dead-letter topic, as (partition, offset).
    pub dead: BTreeSet<(i32, i64)>,
    /// partition -> the next offset to consume.
    pub next: BTreeMap<i32, i64>,
}

impl State {
    /// Applies a valid event once: a known id changes nothing, a rename only with a greater seq.
    /// `rejects-overdraft` (a defect) refuses a debit below zero: `Err` makes it a dead letter.
    pub fn apply(&mut self, e: &Event) -> Result<Outcome, String> {
        if self.processed.contains(&e.id) && !defect("no-dedupe") {
            return Ok(Outcome::Duplicate);
        }
        if let Kind::Debit(amount) = e.kind {
            let balance = self.accounts.get(&e.account).map_or(0, |a| a.balance);
            if defect("rejects-overdraft") && balance < amount {
                return Err("insufficient funds".into());
            }
        }
        self.processed.insert(e.id.clone());
        let account = self.accounts.entry(e.account.clone()).or_default();
        match &e.kind {
            Kind::Credit(n) => account.balance += n,
            Kind::Debit(n) => account.balance -= n,
            Kind::Rename { name, seq } => {
                if *seq <= account.seq && !defect("rename-ignores-seq") {
                    return Ok(Outcome::Stale);
                }
                account.name = Some(name.clone());
                account.seq = *seq;
            }
        }
        account.applied += 1;
        Ok(Outcome::Applied)
    }

    /// The state as the JSON document of the state file.
    pub fn to_json(&self) -> String {
        let accounts: Vec<String> = self
            .accounts
            .iter()
            .map(|(k, a)| {
                format!(
                    "{}:{{\"balance\":{},\"name\":{},\"seq\":{},\"applied\":{}}}",
                    json::string(k),
                    a.balance,
                    a.name.as_deref().map_or("null".into(), json::string),
                    a.seq,
                    a.applied
                )
            })
            .collect();
        let mut processed: Vec<&String> = self.processed.iter().collect();
        processed.sort();
        let processed: Vec<String> = processed.into_iter().map(|s| json::string(s)).collect();
        let dead: Vec<String> = self
            .dead
            .iter()
            .map(|(p, o)| format!("[{p},{o}]"))
            .collect();
        let next: Vec<String> = self
            .next
            .iter()
            .map(|(p, o)| format!("\"{p}\":{o}"))
            .collect();
        format!(
            "{{\"accounts\":{{{}}},\"processed\":[{}],\"dead\":[{}],\"next\":{{{}}}}}",
            accounts.join(","),
            processed.join(","),
            dead.join(","),
            next.join(",")
        )
    }

    /// Reads a state file's document; `None` when it is not one.
    pub fn from_json(text: &str) -> Option<State> {
        let doc = json::parse(text)?;
        let mut s = State::default();
        let Json::Obj(accounts) = doc.get("accounts")? else {
            return None;
        };
        for (k, a) in accounts {
            s.accounts.insert(
                k.clone(),
                Account {
                    balance: num(a.get("balance")?)?,
                    name: match a.get("name")? {
                        Json::Str(n) => Some(n.clone()),
                        _ => None,
                    },
                    seq: num(a.get("seq")?)?,
                    applied: num(a.get("applied")?)? as u64,
                },
            );
        }
        let Json::Arr(processed) = doc.get("processed")? else {
            return None;
        };
        for id in processed {
            let Json::Str(id) = id else { return None };
            s.processed.insert(id.clone());
        }
        let Json::Arr(dead) = doc.get("dead")? else {
            return None;
        };
        for d in dead {
            let Json::Arr(pair) = d else { return None };
            s.dead
                .insert((num(pair.first()?)? as i32, num(pair.get(1)?)?));
        }
        let Json::Obj(next) = doc.get("next")? else {
            return None;
        };
        for (p, o) in next {
            s.next.insert(p.parse().ok()?, num(o)?);
        }
        Some(s)
    }
}

fn num(v: &Json) -> Option<i64> {
    match v {
        Json::Num(n) => Some(*n as i64),
        _ => None,
    }
}

/// Where the state lives: `$DATA_DIR/w07-state.json`; `None` without `DATA_DIR`.
pub fn state_file() -> Option<PathBuf> {
    std::env::var_os("DATA_DIR").map(|d| PathBuf::from(d).join("w07-state.json"))
}

/// The saved state; empty when there is none. A file that cannot be read is an error: starting empty would
/// re-apply every event.
pub fn load(path: &Path) -> Result<State, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            State::from_json(&text).ok_or_else(|| format!("{} is not a state file", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Replaces the state file atomically: a temporary file, fsync, rename over the old one, fsync the folder.
pub fn save(path: &Path, state: &State) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(state.to_json().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(v: &str) -> Result<Event, String> {
        parse(Some(v.as_bytes()))
    }

    #[test]
    fn validates_like_the_readme() {
        assert!(ev(r#"{"id":"a","type":"credit","account":"x","amount":5}"#).is_ok());
        assert!(ev(r#"{"id":"a","type":"rename","account":"x","name":"N","seq":2}"#).is_ok());
        for bad in [
            "not json",
            "[1]",
            r#"{"type":"credit","account":"x","amount":5}"#,
            r#"{"id":"a","type":"credit","account":"x","amount":0}"#,
            r#"{"id":"a","type":"debit","account":"x","amount":-3}"#,
            r#"{"id":"a","type":"credit","account":"x","amount":"5"}"#,
            r#"{"id":"a","type":"credit","account":"x","amount":1.5}"#,
            r#"{"id":"a","type":"refund","account":"x","amount":5}"#,
            r#"{"id":"a","type":"credit","amount":5}"#,
            r#"{"id":"a","type":"rename","account":"x","name":"","seq":1}"#,
            r#"{"id":"a","type":"rename","account":"x","name":"N"}"#,
        ] {
            assert!(ev(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn applies_once_and_renames_by_seq() {
        let mut s = State::default();
        let c = ev(r#"{"id":"c","type":"credit","account":"x","amount":5}"#).unwrap();
        assert_eq!(s.apply(&c), Ok(Outcome::Applied));
        assert_eq!(s.apply(&c), Ok(Outcome::Duplicate));
        let r2 = ev(r#"{"id":"r2","type":"rename","account":"x","name":"B","seq":2}"#).unwrap();
        let r1 = ev(r#"{"id":"r1","type":"rename","account":"x","name":"A","seq":1}"#).unwrap();
        assert_eq!(s.apply(&r2), Ok(Outcome::Applied));
        assert_eq!(s.apply(&r1), Ok(Outcome::Stale));
        let a = &s.accounts["x"];
        assert_eq!((a.balance, a.name.as_deref(), a.applied), (5, Some("B"), 2));
    }

    #[test]
    fn state_round_trips_through_its_file() {
        let mut s = State::default();
        s.apply(&ev(r#"{"id":"c\"1","type":"debit","account":"x y","amount":7}"#).unwrap())
            .unwrap();
        s.dead.insert((2, 41));
        s.next.insert(0, 12);
        s.next.insert(2, 42);
        let dir = std::env::temp_dir().join(format!("w07-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w07-state.json");
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
