//! Arbitrary text as a week's `module.md`: `+++`-fenced TOML front matter, then markdown rendered to HTML.
//! Parsing must end in a module or in diagnostics, never a panic, and every diagnostic must render.
#![no_main]

use std::path::Path;

use gauntlet::curriculum::Module;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match Module::parse_file(Path::new("week-01-fuzz/module.md"), text) {
        Ok(module) => assert!(!module.title.is_empty()),
        Err(problems) => {
            for p in problems {
                let _ = p.to_string();
            }
        }
    }
});
