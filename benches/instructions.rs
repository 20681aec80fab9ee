//! The planner benchmarks' workloads for an instruction counter (callgrind): on a shared VM, wall
//! time varies by ±15% between runs, instruction counts by less than 0.1%. Each workload runs 20
//! times; BENCHMARKS.md has the commands and the figures.

mod support;

use std::hint::black_box;

use daemonroll::planner;
use daemonroll::snapshot::Snapshot;
use support::{daemon_set, exclusion_affinity, mid_rollout, nodes, now};

const RUNS: usize = 20;

fn main() {
    let mut status = Snapshot::new(daemon_set(Some(exclusion_affinity()), "agent:v1"), now());
    status.nodes = nodes(10_000);
    let rollout = mid_rollout(10_000);
    let mut checksum = 0usize;
    for _ in 0..RUNS {
        let counts = planner::status_pass(black_box(&status), "hash");
        checksum += counts.map_or(0, |c| c.desired_number_scheduled as usize);
    }
    for _ in 0..RUNS {
        checksum += black_box(planner::plan(black_box(&rollout))).creates.len();
    }
    println!("{checksum}");
}
