//! Arbitrary bytes as a watch stream: JSON objects applied to the controller's store, every
//! DaemonSet then snapshotted and planned in both modes. Any answer is fine except a panic, an
//! abort or a hang (README "Fuzzing").
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // 2026-11-25T12:00:00Z, the clock of the examples and the tests.
    let now = chrono::DateTime::from_timestamp(1_795_608_000, 0).unwrap_or_default();
    let _ = daemonroll::store::replay::replay_watch_events(bytes, now);
});
