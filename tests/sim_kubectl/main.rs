//! The real kubectl against the simulated API server: each command's output and its effect on
//! the stored objects. Skips (loudly) only when kubectl is not installed; `.ci/run` installs it.

mod harness;

mod events;
mod generators;
mod objects;
