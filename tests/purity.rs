//! The planner, history, snapshot and store code is pure: no async, no clock, no environment, no I/O,
//! no printing. ARCHITECTURE.md makes this a rule; this test makes it a check. A file's unit tests
//! (from its `#[cfg(test)]` line on) may read a clock.

use std::path::Path;

const PURE_FOLDERS: [&str; 4] = ["src/planner", "src/history", "src/snapshot", "src/store"];

const FORBIDDEN: [(&str, &str); 12] = [
    ("async ", "async code"),
    (".await", "async code"),
    ("Utc::now", "a clock read"),
    ("Local::now", "a clock read"),
    ("SystemTime", "a clock read"),
    ("Instant::now", "a clock read"),
    ("std::env", "an environment read"),
    ("std::fs", "file I/O"),
    ("std::net", "network I/O"),
    ("kube::", "an API client"),
    ("println!", "printing (library code logs through tracing)"),
    ("tokio", "an async runtime"),
];

fn rust_files(folder: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(folder).expect("source folder is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn planner_history_snapshot_and_store_code_has_no_io_clock_or_async() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for folder in PURE_FOLDERS {
        rust_files(&root.join(folder), &mut files);
    }
    assert!(files.len() >= 10, "expected the pure modules' files, found {files:?}");
    let mut violations = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file is readable");
        let library_code = text.lines().take_while(|line| line.trim() != "#[cfg(test)]");
        for (number, line) in library_code.enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (pattern, what) in FORBIDDEN {
                if code.contains(pattern) {
                    violations.push(format!("{}:{}: {what} ({pattern:?})", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "impure code in pure modules:\n{}",
        violations.join("\n")
    );
}
