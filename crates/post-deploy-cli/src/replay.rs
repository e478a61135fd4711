//! `replay`: a window's rules over a recorded log and health trace, printed as one JSON
//! object; the inputs opened here (stdin, gzip), the window run by the core.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use chrono::{DateTime, Utc};
use post_deploy_core::access_log::open_log;
use post_deploy_core::replay::{ReplayReport, ReplaySetup, ReplayTick, replay, replay_file};
use post_deploy_core::window::logbook;
use post_deploy_core::{ActionKind, Config, Verdict};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::ReplayArgs;
use crate::commands::{CliError, Exit};
use crate::output;

/// Opens `path` (`-`: stdin) for reading as its content: gzip (told by its first two bytes,
/// whatever the file's name) decompressed, through the one gzip reader,
/// [`open_log`](post_deploy_core::access_log::open_log).
///
/// # Errors
///
/// The file cannot be opened, is a directory, or its first bytes cannot be read; the message
/// names it.
pub(crate) fn open_input(path: &Path) -> Result<Box<dyn BufRead + Send>, String> {
    let unreadable = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(open_file(path)?)
    };
    let text = open_log(raw).map_err(unreadable)?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, text)))
}

/// The file at `path`, not a directory.
fn open_file(path: &Path) -> Result<std::fs::File, String> {
    let unreadable = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if file.metadata().map_err(unreadable)?.is_dir() {
        return Err(format!(
            "cannot read {}: it is a directory, not a log",
            path.display()
        ));
    }
    Ok(file)
}

/// What the window's log rows call it: the log's file name, as far as a work item can
/// spell it, or `stdin`.
fn window_name(path: &Path) -> String {
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|_| path.as_os_str() != "-")
        .unwrap_or_else(|| "stdin".to_owned())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    name.trim_start_matches('-').to_owned()
}

/// `replay`'s JSON.
#[derive(Debug, Serialize)]
struct Replayed {
    verdict: Verdict,
    action: ActionKind,
    rule: Value,
    reason: String,
    degraded_at: Option<DateTime<Utc>>,
    detected_after_s: Option<u64>,
    armed_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    lines: u64,
    unparsed: u64,
    ticks: Vec<Value>,
}

/// The keys of a tick's answer that say nothing about a replayed tick: the host's
/// scheduling and the window's name.
const HOST_KEYS: [&str; 6] = [
    "repo",
    "work_item",
    "finished",
    "requeue_after_s",
    "deadline",
    "probed",
];

/// A replayed tick as JSON: its time, and what a live tick prints (its verdict, rule,
/// reason and counts), `ticks` (ticks so far) named `tick`.
fn tick_json(tick: &ReplayTick) -> Value {
    let mut map = match serde_json::to_value(&tick.outcome) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for key in HOST_KEYS {
        map.remove(key);
    }
    if let Some(n) = map.remove("ticks") {
        map.insert("tick".to_owned(), n);
    }
    map.entry("rule").or_insert(Value::Null);
    map.insert("at".to_owned(), Value::String(stamp(tick.at)));
    Value::Object(map)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn replayed(report: &ReplayReport) -> Replayed {
    let ticks: Vec<Value> = report.ticks.iter().map(tick_json).collect();
    let degraded = report.degraded();
    let rule = degraded
        .and_then(|d| ticks.get(report.ticks.iter().position(|t| t == d)?))
        .and_then(|t| t.get("rule"))
        .cloned()
        .unwrap_or(Value::Null);
    Replayed {
        verdict: report.verdict(),
        action: report.action(),
        rule,
        reason: report.reason().to_owned(),
        degraded_at: degraded.map(|t| t.at),
        detected_after_s: report.detected_after().map(|d| d.as_secs()),
        armed_at: report.armed_at,
        deadline: report.deadline,
        lines: report.lines,
        unparsed: report.unparsed,
        ticks,
    }
}

/// Runs `replay`: exit 0 never DEGRADED, 3 DEGRADED; a bad input is an error (exit 2).
pub(crate) fn run(args: &ReplayArgs, config: &Config) -> Result<Exit, CliError> {
    if args.log.as_os_str() == "-" && args.health.as_deref().is_some_and(|h| h.as_os_str() == "-") {
        return Err(CliError::Input(
            "--log and --health cannot both be stdin (-)".to_owned(),
        ));
    }
    let log_error = |e: String| CliError::Input(format!("--log {e}"));
    // A file is handed over as one, so that a big one can be read in parts.
    let log = if args.log.as_os_str() == "-" {
        Err(open_input(&args.log).map_err(log_error)?)
    } else {
        Ok(open_file(&args.log).map_err(log_error)?)
    };
    let health = match &args.health {
        Some(path) => Some(open_input(path).map_err(|e| CliError::Input(format!("--health {e}")))?),
        None => None,
    };
    let setup = ReplaySetup {
        settings: config.window.clone(),
        from: args.from,
        name: window_name(&args.log),
    };
    let health = health.map(|h| -> Box<dyn BufRead> { h });
    let report = match log {
        Ok(file) => replay_file(&setup, file, health),
        Err(stdin) => replay(&setup, stdin, health),
    }
    .map_err(|e| CliError::Input(format!("replay: {e}")))?;
    if args.table {
        let mut table = logbook::table_head();
        for row in report.ticks.iter().filter_map(|t| t.log_row.as_deref()) {
            table.push_str(row);
        }
        output::note(table.trim_end());
    }
    if let Some(path) = &args.svg {
        crate::picture::write(path, &report)
            .map_err(|e| CliError::Input(format!("--svg {}: {e}", path.display())))?;
    }
    output::json(&replayed(&report));
    Ok(match report.verdict() {
        Verdict::Degraded => Exit::WouldRollBack,
        Verdict::Healthy => Exit::Ok,
    })
}
