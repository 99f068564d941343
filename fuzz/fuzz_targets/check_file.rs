//! Arbitrary text as a lab's check file (`labs/<lab>/checks/*.toml`). Parsing must end in checks or in
//! diagnostics, never a panic, and every diagnostic must render (they point at lines by byte offsets).
#![no_main]

use std::path::Path;

use gauntlet::checks::CheckSuite;
use libfuzzer_sys::fuzz_target;

/// The bundled course's pillars, so that checks naming them get past that rule to the kinds' own parsers.
const PILLARS: [&str; 7] = [
    "language",
    "cloud-native",
    "events",
    "api",
    "security",
    "performance",
    "ai",
];

fuzz_target!(|bytes: &[u8]| {
    // The loader reads files with `read_to_string`: text that is not UTF-8 never reaches the parser.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let pillars: Vec<String> = PILLARS.iter().map(|p| p.to_string()).collect();
    if let Err(problems) = CheckSuite::parse_file(Path::new("checks/fuzz.toml"), text, &pillars) {
        for p in problems {
            let _ = p.to_string();
        }
    }
});
