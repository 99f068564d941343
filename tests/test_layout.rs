//! How the test files are laid out for scripts/test, which runs them in two parts: first the files that do not
//! need the broker, while it may still be building on a fresh machine, then those that say
//! `//! scripts/test: needs the broker`. A file that uses the broker without saying so would run in the first
//! part and fail on a fresh machine only: this test finds it on any machine.

use std::path::Path;

const MARKER: &str = "//! scripts/test: needs the broker";
/// The opposite statement, for a file that names an event lab without grading it (a page that shows it).
const NO_BROKER: &str = "//! scripts/test: no broker";

/// What in a test file means it talks to the broker (on the host or as a lab's counterpart).
const USES_THE_BROKER: [&str; 6] = [
    "tansu::",
    "Tansu::start",
    "common/tansu.rs",
    "w07-consumer",
    "w08-outbox",
    "KafkaTarget",
];

#[test]
fn every_test_file_that_uses_the_broker_says_so() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut marked = 0;
    for dir in ["tests", "services/testsvc/tests"] {
        for entry in std::fs::read_dir(root.join(dir))
            .expect("test folder")
            .flatten()
        {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("rs")
                || path.file_name() == Some(std::ffi::OsStr::new("test_layout.rs"))
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            let says = text.lines().any(|l| l.starts_with(MARKER));
            marked += usize::from(says);
            // The proof of the event labs names them through `proved!`; a file that only validates the bundled
            // course (which holds them) does not start a broker.
            let uses = USES_THE_BROKER.iter().any(|u| text.contains(u))
                && !path.ends_with("validate.rs")
                && !path.ends_with("prove.rs");
            let denies = text.lines().any(|l| l.starts_with(NO_BROKER));
            if uses && !says && !denies {
                missing.push(path.display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "add `{MARKER}` to: {missing:?}");
    assert!(
        marked >= 8,
        "only {marked} files marked: did the marker change?"
    );
}
