//! The commands of the daemonroll binary (CLI edge: reads flags, files, the environment and the
//! clock; prints).

pub mod demo;
mod duration;
mod live;
pub mod plan;
pub mod plugin;
pub mod run;
pub mod sim;
pub mod watch;
