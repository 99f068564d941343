//! Each w07 defect switch (labs/w07-consumer/mutants.toml) against a real broker: the wrong consumer breaks
//! the property its mutant stands for, the way the lab's checks observe it (an account's balance, the DLQ, the
//! group's offsets, the rate).
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

#[path = "../src/json.rs"]
#[allow(dead_code)]
mod json;
#[path = "../src/kafka.rs"]
mod kafka;
#[path = "../src/kafka_conn.rs"]
mod kafka_conn;
#[path = "../src/kafka_murmur.rs"]
#[allow(dead_code)]
mod kafka_murmur;
#[path = "../src/kafka_producer.rs"]
mod kafka_producer;
#[path = "../src/kafka_records.rs"]
mod kafka_records;
#[path = "../src/kafka_types.rs"]
mod kafka_types;
mod support;
#[path = "support/w07.rs"]
mod w07;

use std::time::Duration;

use w07::*;

#[test]
fn no_dedupe_applies_copies_and_redeliveries_again() {
    let mut lab = Lab::start("no-dedupe");
    lab.produce(&[
        credit("d1", "dup", 5),
        credit("d1", "dup", 5),
        credit("d2", "dup", 1),
    ]);
    let (ok, a) = lab.settle("dup", 11, 3, WAIT);
    assert!(ok, "{a:?}");
}

#[test]
fn commit_before_apply_loses_events_in_a_crash_and_is_slow() {
    let mut lab = Lab::start("commit-before-apply");
    let (ok, a) = crash_mid_stream(&mut lab);
    assert!(!ok, "no event lost: {a:?}");
    assert!(a.1 < 60, "{a:?}");
    // The lost events stay lost: their offsets were committed before they were applied.
    assert_eq!(lab.lag_after(WAIT), 0);
    assert!(!lab.settle("crash", 60, 60, Duration::from_secs(3)).0);
}

#[test]
fn state_in_memory_forgets_everything_before_a_crash() {
    let mut lab = Lab::start("state-in-memory");
    let (ok, a) = crash_mid_stream(&mut lab);
    assert!(!ok, "{a:?}");
    assert!(
        a.1 <= 40,
        "the twenty events before the crash are gone: {a:?}"
    );
}

#[test]
fn rename_ignores_seq_lets_the_last_arrival_win() {
    let mut lab = Lab::start("rename-ignores-seq");
    lab.produce(&[
        rename("s1", "ren", "Second", 2),
        rename("s2", "ren", "First", 1),
        credit("s3", "ren", 1),
    ]);
    let (ok, a) = lab.settle("ren", 1, 3, WAIT);
    assert!(ok && a.2.as_deref() == Some("First"), "{a:?}");
}

#[test]
fn rejects_overdraft_dead_letters_a_debit_below_zero() {
    let mut lab = Lab::start("rejects-overdraft");
    lab.produce(&[debit("q1", "ord", 30), credit("q2", "ord", 10)]);
    let (ok, a) = lab.settle("ord", 10, 1, WAIT);
    assert!(ok, "{a:?}");
    assert_eq!(lab.dead_letters().len(), 1);
}

#[test]
fn no_commit_leaves_the_group_without_offsets_but_the_state_right() {
    let mut lab = Lab::start("no-commit");
    lab.produce(&[credit("g1", "lag", 2), credit("g2", "lag", 2)]);
    assert!(lab.settle("lag", 4, 2, WAIT).0);
    assert_eq!(lab.lag_after(Duration::from_secs(3)), 2);
    lab.svc.kill_and_restart();
    lab.produce(&[credit("g3", "lag", 2)]);
    assert!(lab.settle("lag", 6, 3, WAIT).0, "its state file resumes it");
}

#[test]
fn poison_dropped_sends_no_dead_letter() {
    let mut lab = Lab::start("poison-dropped");
    lab.produce(&poison("psn"));
    assert!(lab.settle("psn", 15, 2, WAIT).0);
    assert!(lab.dead_letters().is_empty());
}

#[test]
fn dlq_twice_sends_each_dead_letter_twice() {
    let mut lab = Lab::start("dlq-twice");
    lab.produce(&poison("psn"));
    assert!(lab.settle("psn", 15, 2, WAIT).0);
    assert_eq!(lab.dead_letters().len(), 16);
}

#[test]
fn poison_stuck_stops_at_the_first_invalid_record() {
    let mut lab = Lab::start("poison-stuck");
    lab.produce(&poison("psn"));
    let (ok, a) = lab.settle("psn", 15, 2, Duration::from_secs(5));
    assert!(!ok && a.1 == 10, "{a:?}");
    lab.produce(&[credit("later", "psn", 1)]);
    assert!(
        !lab.settle("psn", 11, 2, Duration::from_secs(3)).0,
        "nothing after it"
    );
}

#[test]
fn slow_consumer_is_below_the_floor() {
    let mut lab = Lab::start("slow-consumer");
    let rate = throughput(&mut lab);
    eprintln!("slow-consumer: {rate:.1} events/s");
    assert!(rate < 50.0, "{rate}");
}

#[test]
fn unknown_account_200_invents_accounts() {
    let lab = Lab::start("unknown-account-200");
    let a = lab.account("nobody");
    assert_eq!((a.0, a.1, a.3), (200, 0, 0));
}
