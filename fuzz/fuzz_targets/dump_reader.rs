//! Arbitrary bytes as a `daemonroll plan -f` dump: read, planned in both modes, rendered. Any
//! answer is fine except a panic, an abort or a hang (README "Fuzzing").
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // 2026-11-25T12:00:00Z, the clock of the examples and the tests.
    let now = chrono::DateTime::from_timestamp(1_795_608_000, 0).unwrap_or_default();
    if let Ok(preview) = daemonroll::report::preview::preview_dump(bytes, now) {
        let _ = serde_json::to_string(&preview.document);
    }
});
