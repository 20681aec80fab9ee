//! The fuzz targets' committed seeds (fuzz/seeds/, README "Fuzzing") replayed in `cargo test`
//! through the functions the targets call: every input ends in a result or a clear error, never a
//! panic. Seeds named `crash-*` once crashed a fuzz run; they stay as regression tests.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use daemonroll::report::preview::preview_dump;
use daemonroll::store::replay::replay_watch_events;

/// The fuzz targets' clock: 2026-11-25T12:00:00Z.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_608_000, 0).expect("a valid constant")
}

fn seeds(target: &str) -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected the seed corpus in {}", folder.display());
    files
}

/// The error and its causes, as the CLI prints them.
fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// A clear error names where the problem is (one of `places`: "document 3", "line 7", …) and
/// stays short enough to read in a terminal or an Event.
fn assert_clear(file: &Path, error: &dyn std::error::Error, places: &[&str]) {
    let text = error_text(error);
    assert!(
        places.iter().any(|place| text.contains(place)) && text.len() < 1024,
        "{}: unclear error ({} bytes): {text}",
        file.display(),
        text.len()
    );
}

#[test]
fn every_dump_seed_is_planned_or_refused_with_a_clear_error() {
    let mut planned = 0;
    for file in seeds("dump_reader") {
        let bytes = std::fs::read(&file).expect("a readable seed");
        match preview_dump(&bytes, now()) {
            Ok(preview) => {
                planned += preview.document.daemon_sets.len();
                serde_json::to_string(&preview.document).expect("the plan document renders");
            }
            Err(error) => assert_clear(&file, &error, &["document", "line"]),
        }
    }
    assert!(planned > 5, "most seeds plan something; planned {planned} DaemonSets");
}

#[test]
fn every_watch_seed_is_replayed_or_refused_with_a_clear_error() {
    let mut planned = 0;
    for file in seeds("json_snapshot") {
        let bytes = std::fs::read(&file).expect("a readable seed");
        match replay_watch_events(&bytes, now()) {
            Ok(replay) => {
                planned += replay.planned;
                for refusal in &replay.refused {
                    assert!(
                        refusal.len() < 1024,
                        "{}: refusal too long to read: {refusal}",
                        file.display()
                    );
                }
            }
            Err(error) => assert_clear(&file, &error, &["event"]),
        }
    }
    assert!(planned > 5, "most seeds plan something; planned {planned} DaemonSets");
}
