//! The long soak (issue 13): the chaos, invariants and convergence of `tests/soak` (the same
//! modules), for minutes instead of 45 s, against the release binary. Results are in BENCHMARKS.md
//! ("Soak").
//!
//! Run: `cargo bench --bench soak -- --minutes 10 --seed 1` (defaults: 10 minutes, seed 1). Prints
//! the counts; exits 1 on a breach or a fleet that did not converge within 10 s.

#[path = "../tests/controller/fixtures.rs"]
mod fixtures;
#[path = "../tests/controller/invariants.rs"]
mod invariants;
#[path = "../tests/controller/pod_fields.rs"]
mod pod_fields;
#[path = "../tests/controller/support.rs"]
mod support;

#[path = "../tests/soak/chaos.rs"]
mod chaos;
#[path = "../tests/soak/report.rs"]
mod report;
#[path = "../tests/soak/run.rs"]
mod run;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use run::{SoakSettings, soak};

/// `--minutes N` and `--seed N`; anything else (cargo passes `--bench`) is ignored.
fn arguments() -> Result<(u64, u64), String> {
    let mut minutes = 10;
    let mut seed = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let target = match arg.as_str() {
            "--minutes" => &mut minutes,
            "--seed" => &mut seed,
            _ => continue,
        };
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        *target = value
            .parse()
            .map_err(|_| format!("{arg} takes a whole number, not {value:?}"))?;
    }
    Ok((minutes, seed))
}

fn main() -> ExitCode {
    let (minutes, seed) = match arguments() {
        Ok(parsed) => parsed,
        Err(problem) => {
            eprintln!("soak: {problem}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("soak: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let settings = SoakSettings::new(seed, Duration::from_secs(minutes * 60));
    let started = Instant::now();
    let report = runtime.block_on(soak(&settings));
    println!("{report}");
    println!("  wall time: {:.0} s", started.elapsed().as_secs_f64());
    if report.breaches.is_empty() && report.converged_in_time() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
