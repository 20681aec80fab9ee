//! The simulator held to the real thing (issue 10 §3): each case sends the same requests to
//! `daemonroll::sim` and to a real kube-apiserver 1.37 (`tests/control-plane/`), and compares the
//! whole answers, status code and body, field by field, after the tolerances `normalise.rs` lists
//! with their reasons. A difference fails the case with one line per field:
//! `path: sim value vs real value`.
//!
//! Its own harness (`harness = false`): one control plane (about 7 s to start, most of the
//! machine's two cores while it runs) and one simulator serve every case, one case at a time,
//! which libtest cannot share between tests. Where the control plane is not built the binary
//! prints SKIPPED and passes, unless DAEMONROLL_REQUIRE_CONTROL_PLANE=1 (`.ci/run`).
//!
//! `cargo test --test sim_conformance -- WORDS` runs the cases whose names contain any of WORDS.

#[path = "../cluster/control_plane.rs"]
mod control_plane;

mod backends;
mod diff;
mod normalise;

mod daemon_sets;
mod errors;
mod events;
mod kubectl;
mod others;
mod pods;
mod watch;

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use backends::Backends;

type Case = (&'static str, for<'a> fn(&'a Backends) -> LocalBoxFuture<'a, ()>);

macro_rules! cases {
    ($($module:ident :: $case:ident),* $(,)?) => {
        vec![$((stringify!($case), |backends| Box::pin($module::$case(backends)) as LocalBoxFuture<'_, ()>)),*]
    };
}

fn cases() -> Vec<Case> {
    cases![
        daemon_sets::a_created_daemon_set_is_defaulted_as_kube_apiserver_defaults_it,
        daemon_sets::a_daemon_set_reads_back_as_it_was_created,
        daemon_sets::a_list_of_daemon_sets_is_a_daemon_set_list,
        daemon_sets::a_merge_patch_bumps_the_generation_of_a_spec_change,
        daemon_sets::a_strategic_merge_patch_merges_containers_by_name,
        daemon_sets::a_json_patch_applies_its_operations_in_order,
        daemon_sets::server_side_apply_creates_and_then_updates,
        daemon_sets::a_status_update_changes_only_the_status,
        daemon_sets::a_delete_answers_with_the_object_being_deleted,
        pods::a_pod_bound_to_a_node_is_defaulted_as_kube_apiserver_defaults_it,
        others::a_controller_revision_round_trips,
        others::a_namespace_is_created_active_with_its_name_label,
        others::a_deleted_namespace_answers_terminating,
        events::a_core_v1_event_reads_back_from_both_groups,
        events::an_events_k8s_io_event_reads_back_from_both_groups,
        errors::a_daemon_set_without_a_selector_is_invalid,
        errors::a_missing_object_is_a_not_found_status,
        errors::an_update_with_a_stale_resource_version_conflicts,
        errors::creating_an_existing_name_is_already_exists,
        watch::a_watch_sees_create_modify_and_delete,
        kubectl::daemon_sets_as_a_table_have_kube_apiservers_columns,
        kubectl::kubectl_get_ds_wide_prints_the_same_table,
        kubectl::kubectl_get_pods_prints_the_same_table,
        kubectl::kubectl_create_namespace_sends_protobuf_and_gets_the_same_namespace,
    ]
}

fn main() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    let selected: Vec<Case> = cases()
        .into_iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|filter| name.contains(filter.as_str())))
        .collect();
    if selected.is_empty() {
        println!("running 0 cases");
        return;
    }
    let control_plane::Binaries::Built(bin) = control_plane::binaries() else {
        return;
    };
    // A failed case prints its message (the differences), without a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let failed = runtime.block_on(run(bin, selected));
    if failed > 0 {
        std::process::exit(101);
    }
}

/// Runs every case against one simulator and one control plane; answers how many failed.
async fn run(bin: std::path::PathBuf, selected: Vec<Case>) -> usize {
    let backends = Backends::start(bin).await;
    println!("\nrunning {} cases", selected.len());
    let mut failures = Vec::new();
    for (name, case) in &selected {
        match AssertUnwindSafe(case(&backends)).catch_unwind().await {
            Ok(()) => println!("case {name} ... ok"),
            Err(_) => {
                println!("case {name} ... FAILED");
                failures.push(*name);
            }
        }
    }
    let passed = selected.len() - failures.len();
    if failures.is_empty() {
        println!("\ncase result: ok. {passed} passed; 0 failed\n");
    } else {
        println!("\nfailures:\n    {}", failures.join("\n    "));
        println!("\ncase result: FAILED. {passed} passed; {} failed\n", failures.len());
    }
    failures.len()
}
