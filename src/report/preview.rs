//! `daemonroll plan -f` after the file is read, as one call: dump bytes → Snapshots → plans (both
//! modes) → the pods a sync would create → both renderings. The fuzz target `dump_reader` and its
//! corpus replay (`tests/fuzz_corpus.rs`) call it, so that what they exercise is the real path (pure).

use super::json::PlanDocument;
use super::table;
use crate::planner::{self, new_pod::daemon_pod};
use crate::snapshot::Timestamp;
use crate::snapshot::dump::{Dump, DumpError};

/// What one preview produced.
#[derive(Debug)]
pub struct Preview {
    /// The `plan -o json` document.
    pub document: PlanDocument,
    /// The `plan` table, every node listed.
    pub table: String,
    /// DaemonSet-wide problems, as `plan -o json` prints them on stderr.
    pub problems: Vec<String>,
}

/// Plans every DaemonSet of the dump at `now`, in replacement mode as `plan` does, and in coexist
/// mode as `run --mode coexist` would; builds the pod of every planned create.
pub fn preview_dump(bytes: &[u8], now: Timestamp) -> Result<Preview, DumpError> {
    let dump = Dump::parse_bytes(bytes)?;
    let snapshots = dump.snapshots(now);
    let plans: Vec<_> = snapshots.iter().map(planner::plan).collect();
    for plan in &plans {
        for node in &plan.creates {
            daemon_pod(plan.daemon_set, &plan.update_revision, node);
        }
    }
    for snapshot in &snapshots {
        planner::coexist::plan(snapshot);
    }
    let problems = plans
        .iter()
        .flat_map(|plan| {
            let key = plan.daemon_set.key();
            plan.problems
                .iter()
                .map(move |problem| format!("DaemonSet {key}: {problem}"))
        })
        .collect();
    Ok(Preview {
        document: PlanDocument::from_plans(&plans),
        table: table::render(&plans, true),
        problems,
    })
}
