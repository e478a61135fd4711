//! The docker adapter's tests, per part; `fake` is an engine behind the docker CLI.

mod compose;
mod fake;
mod logs;
mod plan;
mod real_engine;
mod recreate;
mod registry;
mod self_guard;
mod swarm;
mod switches;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use post_deploy_core::config::{CommandLine, ComposeProgram};
use post_deploy_core::{
    CommandOutcome, ContainerControl, ControlError, LogCursor, ResumedRollback,
};
use proptest::prelude::*;
use serde_json::json;

use super::DockerCli;
use super::compose::*;
use super::exec::*;
use super::inspect::*;
use super::logs::*;
use super::plan::*;
use super::recreate::*;
use super::registry::*;
use super::self_guard::*;
use super::swarm_tasks::*;
use crate::clock::SystemClock;
use crate::process::{self, Captured, Ended, Invocation, Pipe, Status, StdoutTo};
use crate::switchboard::Switchboard;
use fake::*;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/docker")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn container(name: &str) -> ContainerJson {
    serde_json::from_str::<Vec<ContainerJson>>(&fixture(name))
        .unwrap()
        .remove(0)
}

fn image(name: &str) -> ImageJson {
    serde_json::from_str::<Vec<ImageJson>>(&fixture(name))
        .unwrap()
        .remove(0)
}

/// `flag value` pairs of an argv.
fn has(argv: &[String], flag: &str, value: &str) -> bool {
    argv.windows(2).any(|w| w[0] == flag && w[1] == value)
}

fn values<'a>(argv: &'a [String], flag: &str) -> Vec<&'a str> {
    argv.windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

/// What comes after `--`: the image, then the command.
fn after_dashes(argv: &[String]) -> &[String] {
    let i = argv.iter().position(|a| a == "--").unwrap();
    &argv[i + 1..]
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A horizon beyond every stamp of a test.
fn far() -> DateTime<Utc> {
    t("2100-01-01T00:00:00Z")
}
