//! Arbitrary bytes as a learner's upload. `inspect` must answer, accept or refuse, without panicking, within
//! the limits; and what it accepts, `unpack` must write in full, the same files and bytes, since the server
//! accepts a submission on the first and a worker grades it after the second.
#![no_main]

use gauntlet::archive::{inspect, unpack, ArchiveLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let limits = ArchiveLimits::default();
    let Ok(checked) = inspect(bytes, &limits) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    match unpack(bytes, &dir.path().join("project"), &limits) {
        Ok(written) => assert_eq!(written, checked, "unpack wrote other than inspect counted"),
        Err(e) => panic!("inspect accepted what unpack refused: {e:?}"),
    }
});
