//! The real effects behind the core's traits: the system clock, ureq, the docker CLI, a
//! webhook, and child processes.

pub mod clock;
pub mod docker;
pub mod http;
pub mod process;
pub mod webhook;
