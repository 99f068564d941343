//! Parsing and validating one record's value into an account event, as the lab's README defines them.
//!
//! Validation is complete before anything touches the store: an invalid record becomes a dead letter, never an
//! error that stops the consumer loop.

use serde_json::{Map, Value};

/// A valid event. Its `id` is the same on every redelivery: it is what makes a duplicate recognisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub account: String,
    pub change: Change,
}

/// What an event does to its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Credit { amount: i64 },
    Debit { amount: i64 },
    Rename { name: String, seq: i64 },
}

/// Why a record is not a valid event: the text goes into the dead letter's `error` header.
pub type Invalid = String;

/// Parses a record's value into a valid event, or says why it is not one.
pub fn parse(value: Option<&[u8]>) -> Result<Event, Invalid> {
    let value = value.ok_or("empty value")?;
    let json: Value = serde_json::from_slice(value).map_err(|_| "value is not JSON")?;
    let object = json.as_object().ok_or("value is not a JSON object")?;
    let id = text(object, "id")?;
    let kind = text(object, "type")?;
    let account = text(object, "account")?;
    let change = match kind.as_str() {
        "credit" => Change::Credit {
            amount: positive(object, "amount")?,
        },
        "debit" => Change::Debit {
            amount: positive(object, "amount")?,
        },
        "rename" => Change::Rename {
            name: text(object, "name")?,
            seq: positive(object, "seq")?,
        },
        other => return Err(format!("unknown type {other:?}")),
    };
    Ok(Event {
        id,
        account,
        change,
    })
}

/// A field that must be a non-empty string.
fn text(object: &Map<String, Value>, field: &str) -> Result<String, Invalid> {
    match object.get(field).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(format!("`{field}` must be a non-empty string")),
    }
}

/// A field that must be a positive integer. `as_i64` is `None` for `1.5`, `"5"` and `true`, and for numbers
/// too large to store, so each of those is a dead letter rather than a surprise in the store.
fn positive(object: &Map<String, Value>, field: &str) -> Result<i64, Invalid> {
    match object.get(field).and_then(Value::as_i64) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("`{field}` must be a positive integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_events_parse() {
        let credit = parse(Some(
            br#"{"id":"e1","type":"credit","account":"a","amount":5}"#,
        ));
        assert_eq!(
            credit,
            Ok(Event {
                id: "e1".into(),
                account: "a".into(),
                change: Change::Credit { amount: 5 },
            })
        );
        let rename = parse(Some(
            br#"{"id":"e2","type":"rename","account":"a","name":"Al","seq":2}"#,
        ));
        assert!(matches!(
            rename,
            Ok(Event {
                change: Change::Rename { seq: 2, .. },
                ..
            })
        ));
    }

    #[test]
    fn invalid_records_say_why() {
        for bad in [
            &br#"not json"#[..],
            br#"[1]"#,
            br#"{"id":"e","type":"credit","account":"a"}"#,
            br#"{"id":"e","type":"credit","account":"a","amount":0}"#,
            br#"{"id":"e","type":"debit","account":"a","amount":-3}"#,
            br#"{"id":"e","type":"debit","account":"a","amount":"3"}"#,
            br#"{"id":"e","type":"debit","account":"a","amount":1.5}"#,
            br#"{"id":"e","type":"debit","account":"","amount":1}"#,
            br#"{"id":"e","type":"refund","account":"a","amount":1}"#,
            br#"{"id":"e","type":"rename","account":"a","name":"","seq":1}"#,
        ] {
            assert!(
                parse(Some(bad)).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse(None).is_err());
    }
}
