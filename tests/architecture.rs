//! The rules of ARCHITECTURE.md that a reader of the source can check, checked:
//! - the planner, history, snapshot, store and report code is pure: no async, no clock, no environment, no
//!   I/O, no printing (a file's unit tests, from its `#[cfg(test)]` line on, may read a clock);
//! - the library's folders form a stack in which every import points down ("Folders and what
//!   they may import"): every `crate::` path in `src/` is read, and one that points up or
//!   sideways fails, as does any import into or out of the simulator.

use std::path::{Path, PathBuf};

fn rust_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).expect("source folder is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

const PURE_FOLDERS: [&str; 5] = ["src/planner", "src/history", "src/snapshot", "src/store", "src/report"];

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

/// `pattern` occurs in `code` and does not run on into a longer identifier (`.await` forbids
/// `x.await`, not the field `x.awaiting_recreate`).
fn contains_token(code: &str, pattern: &str) -> bool {
    let ends_in_word = pattern.ends_with(|c: char| c.is_alphanumeric() || c == '_');
    code.match_indices(pattern).any(|(at, _)| {
        let next = code[at + pattern.len()..].chars().next();
        !ends_in_word || !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn contains_token_finds_whole_tokens_only() {
    assert!(contains_token("let x = fut.await;", ".await"));
    assert!(contains_token("fut.await?", ".await"));
    assert!(!contains_token("snapshot.awaiting_recreate", ".await"));
    assert!(contains_token("tokio::spawn", "tokio"));
    assert!(contains_token("Utc::now()", "Utc::now"));
}

#[test]
fn the_pure_folders_have_no_io_clock_or_async() {
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
                if contains_token(code, pattern) {
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

/// Each folder's layer: a folder may import folders of lower layers only. `sim` has no layer: it
/// imports nothing of the controller, and nothing of the library imports it.
const LAYERS: [(&str, u8); 9] = [
    ("kube", 0),
    ("history", 0),
    ("snapshot", 1),
    ("planner", 2),
    ("store", 3),
    ("report", 3),
    ("executor", 4),
    ("controller", 5),
    ("ops", 6),
];

fn layer(folder: &str) -> Option<u8> {
    LAYERS.iter().find(|(name, _)| *name == folder).map(|(_, layer)| *layer)
}

/// The folders `code` names as `crate::<folder>`.
fn imported_folders(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .filter(|(at, _)| !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Why `from` may not import `to`, or None when it may.
fn violation(from: &str, to: &str) -> Option<String> {
    if from == to {
        return None;
    }
    if from == "sim" || to == "sim" {
        return Some("the simulator and the controller's code never import each other".into());
    }
    match (layer(from), layer(to)) {
        (Some(from_layer), Some(to_layer)) if to_layer < from_layer => None,
        (Some(from_layer), Some(to_layer)) => Some(format!(
            "{from} (layer {from_layer}) may import only lower layers, not {to} (layer {to_layer})"
        )),
        _ => Some(format!(
            "{from} or {to} has no layer: add it to LAYERS and ARCHITECTURE.md"
        )),
    }
}

fn violations_in(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut files = Vec::new();
    rust_files(root, &mut files);
    for file in files {
        let relative = file.strip_prefix(root).expect("under src");
        let Some(folder) = relative.parent().and_then(|p| p.components().next()) else {
            continue; // lib.rs and main.rs sit above the stack
        };
        let folder = folder.as_os_str().to_string_lossy().to_string();
        if folder == "cli" {
            continue; // the binary's commands sit above the stack
        }
        let text = std::fs::read_to_string(&file).expect("source file is readable");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for to in imported_folders(code) {
                if let Some(why) = violation(&folder, &to) {
                    found.push(format!("{}:{}: {why}", file.display(), number + 1));
                }
            }
        }
    }
    found
}

#[test]
fn every_import_in_the_library_points_down_the_stack() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = violations_in(&root);
    assert!(
        violations.is_empty(),
        "imports against the stack:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_upward_sideways_and_simulator_imports() {
    assert_eq!(
        imported_folders("use crate::planner::plan; x = crate::kube::Api"),
        ["planner", "kube"]
    );
    assert!(imported_folders("use daemonroll_crate::x").is_empty());
    assert!(violation("executor", "planner").is_none());
    assert!(violation("planner", "executor").is_some(), "upward");
    assert!(violation("store", "report").is_some(), "sideways");
    assert!(violation("sim", "snapshot").is_some());
    assert!(violation("ops", "sim").is_some());
}
