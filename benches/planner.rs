//! Planner benchmarks; results and the command that reproduces them are in BENCHMARKS.md.
//!
//! (a) upstream's BenchmarkUpdateDaemonSetStatus workload (daemon_controller benchmark_test.go):
//!     nodes labelled hostname/zone/region, no pods, without affinity and with the 6-term NotIn
//!     "exclusion" affinity; the per-node eligibility + status pass.
//! (b) a full plan mid-rollout: one pod per node, half of them on the new revision.

mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use daemonroll::planner;
use daemonroll::snapshot::Snapshot;
use support::{daemon_set, exclusion_affinity, mid_rollout, nodes, now};

fn status_pass(c: &mut Criterion) {
    let mut group = c.benchmark_group("update_daemon_set_status");
    for (label, affinity) in [
        ("no-affinity", None),
        ("exclusion-affinity", Some(exclusion_affinity())),
    ] {
        for count in [1_000, 10_000] {
            let mut snapshot = Snapshot::new(daemon_set(affinity.clone(), "agent:v1"), now());
            snapshot.nodes = nodes(count);
            assert_eq!(
                planner::status_pass(&snapshot, "hash").map(|s| s.desired_number_scheduled),
                Some(count as i32)
            );
            group.bench_with_input(BenchmarkId::new(label, count), &snapshot, |b, snapshot| {
                b.iter(|| planner::status_pass(black_box(snapshot), "hash"))
            });
        }
    }
    group.finish();
}

fn full_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_mid_rollout");
    for count in [1_000, 5_000, 10_000] {
        let snapshot = mid_rollout(count);
        let plan = planner::plan(&snapshot);
        assert_eq!(
            plan.deletes.len(),
            (count / 10).min(250),
            "10% of the nodes, capped at the burst of 250"
        );
        group.bench_with_input(BenchmarkId::from_parameter(count), &snapshot, |b, snapshot| {
            b.iter(|| planner::plan(black_box(snapshot)))
        });
    }
    group.finish();
}

criterion_group!(benches, status_pass, full_plan);
criterion_main!(benches);
