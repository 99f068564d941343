//! `gauntlet prove` on the event labs, whose checks run beside the broker: the reference passes every check,
//! each mutant fails exactly its declared checks, each near miss passes every check.
//! scripts/test: needs the broker (tansu, scripts/ci-broker)

mod common;

proved! {
    w07_consumer_is_proved => "w07-consumer",
    w08_outbox_is_proved => "w08-outbox",
}
