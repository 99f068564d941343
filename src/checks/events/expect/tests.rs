use serde_json::json;

use super::*;
use crate::checks::events::Includes;

fn rec(partition: i32, offset: i64, key: &str, value: Value) -> ReadRecord {
    ReadRecord {
        partition,
        offset,
        key: Some(key.as_bytes().to_vec()),
        value: value.to_string().into_bytes(),
        headers: Vec::new(),
        timestamp_ms: None,
    }
}

fn notes() -> Vec<ReadRecord> {
    vec![
        rec(
            0,
            0,
            "n1",
            json!({"id": "a", "type": "note.created", "note_id": "n1", "version": 1}),
        ),
        rec(
            0,
            1,
            "n1",
            json!({"id": "b", "type": "note.updated", "note_id": "n1", "version": 2}),
        ),
        rec(
            1,
            0,
            "n2",
            json!({"id": "c", "type": "note.created", "note_id": "n2", "version": 1}),
        ),
    ]
}

fn no_lists() -> BTreeMap<String, Vec<Value>> {
    BTreeMap::new()
}

#[test]
fn where_selects_and_count_counts() {
    let e = RecordsExpect {
        filter: Some(json!({"type": "note.created"})),
        count: Some(2),
        ..Default::default()
    };
    assert!(judge(&e, "notes", &notes(), &no_lists()).is_ok());
    let e = RecordsExpect {
        count: Some(2),
        ..Default::default()
    };
    let why = judge(&e, "notes", &notes(), &no_lists()).expect_err("three records");
    assert_eq!(why, "expected 2 records in `notes`, found 3");
}

#[test]
fn ids_as_a_set_name_the_missing_and_the_unexpected() {
    let e = RecordsExpect {
        id: Some("/id".into()),
        ids: Some(vec!["a".into(), "b".into(), "x".into()]),
        ..Default::default()
    };
    let why = judge(&e, "notes", &notes(), &no_lists()).expect_err("x missing, c extra");
    assert!(
        why.contains("missing x") && why.contains("unexpected c"),
        "{why}"
    );
}

#[test]
fn each_once_catches_a_duplicate_and_one_id_per_allows_a_resend() {
    let mut rs = notes();
    rs.push(rec(
        0,
        2,
        "n1",
        json!({"id": "b", "type": "note.updated", "note_id": "n1", "version": 2}),
    ));
    let once = RecordsExpect {
        id: Some("/id".into()),
        each_once: true,
        ..Default::default()
    };
    let why = judge(&once, "notes", &rs, &no_lists()).expect_err("b twice");
    assert_eq!(why, "id b appears 2 times in `notes`, expected once");
    let per_change = RecordsExpect {
        id: Some("/id".into()),
        one_id_per: vec!["/note_id".into(), "/version".into()],
        ..Default::default()
    };
    assert!(judge(&per_change, "notes", &rs, &no_lists()).is_ok());
    rs.push(rec(
        0,
        3,
        "n1",
        json!({"id": "z", "type": "note.updated", "note_id": "n1", "version": 2}),
    ));
    let why = judge(&per_change, "notes", &rs, &no_lists()).expect_err("two ids for n1 v2");
    assert!(
        why.contains("/note_id = n1, /version = 2") && why.contains("b, z"),
        "{why}"
    );
}

#[test]
fn key_is_and_key_order() {
    let e = RecordsExpect {
        key_is: Some("/note_id".into()),
        key_order: Some("/version".into()),
        ..Default::default()
    };
    assert!(judge(&e, "notes", &notes(), &no_lists()).is_ok());
    let mut rs = notes();
    rs.push(rec(
        0,
        2,
        "n1",
        json!({"id": "d", "note_id": "n1", "version": 1}),
    ));
    let why = judge(&e, "notes", &rs, &no_lists()).expect_err("1 after 2");
    assert_eq!(why, "records of key n1 out of /version order: 2 then 1");
    let rs = vec![rec(
        0,
        0,
        "n9",
        json!({"id": "a", "note_id": "n1", "version": 1}),
    )];
    let why = judge(&e, "notes", &rs, &no_lists()).expect_err("wrong key");
    assert!(
        why.contains("has key `n9`, not its /note_id (`n1`)"),
        "{why}"
    );
}

#[test]
fn key_order_with_an_id_judges_a_resend_where_it_first_appeared() {
    let mut e = RecordsExpect {
        key_order: Some("/version".into()),
        ..Default::default()
    };
    // A relay restarted after a crash sends versions 1 and 2 of n1 again, then 3.
    let mut rs = notes();
    for (offset, id, version) in [(2, "a", 1), (3, "b", 2), (4, "e", 3)] {
        rs.push(rec(
            0,
            offset,
            "n1",
            json!({"id": id, "note_id": "n1", "version": version}),
        ));
    }
    let why =
        judge(&e, "notes", &rs, &no_lists()).expect_err("without ids, a resend looks out of order");
    assert_eq!(why, "records of key n1 out of /version order: 2 then 1");
    e.id = Some("/id".into());
    assert!(judge(&e, "notes", &rs, &no_lists()).is_ok());
    // A new event with an older version is out of order, resends or not.
    rs.push(rec(
        0,
        5,
        "n1",
        json!({"id": "f", "note_id": "n1", "version": 2}),
    ));
    let why = judge(&e, "notes", &rs, &no_lists()).expect_err("2 after 3");
    assert_eq!(why, "records of key n1 out of /version order: 3 then 2");
}

#[test]
fn includes_counts_acknowledged_writes_without_a_record() {
    let mut lists = BTreeMap::new();
    lists.insert(
        "acked".to_string(),
        vec![json!("n1"), json!("n2"), json!("n3")],
    );
    let e = RecordsExpect {
        filter: Some(json!({"type": "note.created"})),
        includes: Some(Includes {
            list: "acked".into(),
            at: "/note_id".into(),
        }),
        ..Default::default()
    };
    let why = judge(&e, "notes", &notes(), &lists).expect_err("n3 has no record");
    assert!(
        why.starts_with("1 of 3 acknowledged writes have no record"),
        "{why}"
    );
    assert!(why.ends_with("(e.g. n3)"), "{why}");
}

#[test]
fn none_with_where_ignores_other_records() {
    let e = RecordsExpect {
        filter: Some(json!({"type": "note.deleted"})),
        none: true,
        ..Default::default()
    };
    assert!(judge(&e, "notes", &notes(), &no_lists()).is_ok());
    let e = RecordsExpect {
        none: true,
        ..Default::default()
    };
    let why = judge(&e, "notes", &notes(), &no_lists()).expect_err("three records");
    assert!(
        why.starts_with("expected no record in `notes`, found 3"),
        "{why}"
    );
}
