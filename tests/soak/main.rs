//! The soak (issue 13, resilience): the real daemonroll binary against a simulated fleet of 200
//! nodes while, from a seed, everything goes wrong at once; then the faults stop and the fleet must
//! converge within 10 s. Three seeds of 45 s here; `cargo bench --bench soak` runs the long one.
//!
//! The chaos (`chaos.rs`): a new template every 15 s (three back to back in 45 s), the controller
//! SIGKILLed every 20 s and started again 0.1–1.5 s later, a node event every 1.5 s on average
//! (half of them a node going NotReady for 2–20 s, a quarter a node joining — a new name or one
//! that left —, a quarter a node leaving; the fleet stays within 10 of its size), and the
//! simulator's faults: 5% of write requests fail (409, 429 or 500), and every watch is dropped
//! after 2–5 s (from the seed), one resume in ten answered 410 Expired. Watch faults start with
//! the controller (a rule applies to watches as they start); the rest when the chaos starts, after
//! the DaemonSet has rolled out.
//!
//! When the faults stop, the fault rules are cleared, every NotReady node is Ready again and the
//! controller runs. Converged means: the DaemonSet created at the start still exists (none lost or
//! replaced); every node (all eligible then) runs exactly one pod of it, of the latest template,
//! Ready and not terminating; no other pod of it exists; its status counts that for the current
//! generation.
//!
//! Checked over the whole timeline of writes (tests/controller/invariants.rs), every breach listed:
//! 1. never two pods of the DaemonSet on one node (no surge here);
//! 2. never more nodes unavailable than maxUnavailable (20), where a node is unavailable from
//!    daemonroll's delete of its available pod on a Ready node until it holds an available pod
//!    again, stops being Ready, or is removed. A node without an available pod for reasons of its
//!    own — NotReady (whose pods upstream's node lifecycle marks not Ready, and which upstream's
//!    controller replaces without spending budget), just joined, just back — is not charged: no
//!    controller can prevent that, and it learns of it only as fast as its watches. daemonroll's
//!    own count (upstream's rollingUpdate) includes every node charged here (a Ready node without
//!    an available pod), so within upstream's rule it never exceeds this count;
//! 3. every created pod carries its ownerReference, revision labels and node pinning;
//! 4. no status written again unchanged; within `--status-interval` (1 s) of the last write
//!    never, after it only if daemonroll may not have seen its own last write yet: it was less
//!    than 3 s ago (watch delivery, as for 6), or its DaemonSet watch had been answered 410 and
//!    it had not listed again (it compares with what it has seen; such rewrites are counted);
//! 6. no pod created for a node it cannot run on — removed, never existing, or with a taint the
//!    pod does not tolerate (the simulator's scheduler filters judge) — unless daemonroll could
//!    not know yet: the node changed less than 3 s before (watch delivery, generous for a loaded
//!    2-core machine: the longest seen without a 410 was 1.1 s), or after its node
//!    watch was answered 410 and before it listed the nodes again (the simulator's request
//!    journal shows both; such creates are counted as races);
//! 7. no write without a read of the object's current state: every update, patch or delete by
//!    daemonroll of a Pod, DaemonSet (status included) or ControllerRevision names the object by
//!    uid or resourceVersion, a precondition the API server checks against the stored object (from
//!    the simulator's journal of write requests; Event writes are reports and are not included).
//!
//! Each run prints its counts (`--nocapture`): faults injected by kind, restarts, node events,
//! writes applied and requests sent (with failures) by verb and resource, breaches, and the time
//! to converge. The three runs take turns, so that each has the machine's two cores to itself
//! as far as the other test binaries allow.

#[path = "../controller/fixtures.rs"]
mod fixtures;
#[path = "../controller/invariants.rs"]
mod invariants;
#[path = "../controller/pod_fields.rs"]
mod pod_fields;
#[path = "../controller/support.rs"]
mod support;

mod chaos;
mod checks;
mod report;
mod run;
mod schedule;

use run::{SoakSettings, soak};
use support::secs;

/// One soak at a time: each starts a 200-node simulator and the controller.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn soak_holds(seed: u64) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let report = soak(&SoakSettings::new(seed, secs(45))).await;
    eprintln!("{report}");
    assert!(report.breaches.is_empty(), "invariants broken:\n{report}");
    assert!(report.converged_in_time(), "too slow to converge:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_chaos_of_seed_1_no_invariant_breaks_and_the_fleet_converges_within_10_s() {
    soak_holds(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_chaos_of_seed_2_no_invariant_breaks_and_the_fleet_converges_within_10_s() {
    soak_holds(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_chaos_of_seed_3_no_invariant_breaks_and_the_fleet_converges_within_10_s() {
    soak_holds(3).await;
}
