//! Table-driven planner tests: each scenario mirrors an upstream unit test (cited per case) and
//! states the outcome of ONE real sync (manage first; the rolling update only when manage writes nothing).

mod outcomes;
mod scenario;
mod support;

mod coexist;
mod coexist_gates;
mod controls;
mod controls_combined;
mod differential;
mod eligibility;
mod history;
mod manage;
mod ordering;
mod rolling;
mod status;
