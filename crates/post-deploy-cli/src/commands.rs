//! Running a parsed command: configuration, adapters, the core, output and exit codes.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use post_deploy_adapters::System;
use post_deploy_adapters::clock::SystemClock;
use post_deploy_core::access_log::{count_log, count_log_file};
use post_deploy_core::config::PREFIX;
use post_deploy_core::{
    ActionKind, ArmOutcome, ArmRequest, Clock, Config, ConfigError, LogFormat, Monitor,
    MonitorError, OperatorOutcome, TickOutcome, Verdict,
};
use serde::Serialize;

use crate::cli::{ArmArgs, Cli, Command, CountArgs, FormatArg, StatusArgs};
use crate::output;

/// How a command ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done (for `watch`: the window was never DEGRADED).
    Ok,
    /// 1: the command could not run (e.g. the state folder is unusable).
    Failed,
    /// 2: usage or configuration error.
    Usage,
    /// 3: `watch` rolled back and the target recovered.
    RolledBackRecovered,
    /// 3: `replay` found the window DEGRADED: it would have rolled back.
    WouldRollBack,
    /// 4: `watch` left a degradation standing.
    DegradedStanding,
    /// 4: an operator command was refused (or its rollback failed).
    Refused,
    /// 5: `watch`'s window was never DEGRADED, but blind.
    Blind,
    /// 130: interrupted; the window's state is whole.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::RolledBackRecovered | Self::WouldRollBack => 3,
            Self::DegradedStanding | Self::Refused => 4,
            Self::Blind => 5,
            Self::Interrupted => 130,
        }
    }
}

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The monitor refused an input, or could not use its state folder.
    #[error(transparent)]
    Monitor(#[from] MonitorError),
    /// A file could not be read.
    #[error("{0}")]
    Io(String),
    /// An input the command reads could not be read as what it should be (exit 2): a file
    /// that is missing or a directory, a damaged gzip stream, a malformed line of `replay`'s
    /// log or health trace; or `replay`'s `--svg` file cannot be written.
    #[error("{0}")]
    Input(String),
}

impl CliError {
    /// The exit code for this error.
    #[must_use]
    pub fn exit(&self) -> Exit {
        match self {
            Self::Config(_) | Self::Input(_) => Exit::Usage,
            Self::Monitor(MonitorError::Store(_) | MonitorError::Busy { .. }) | Self::Io(_) => {
                Exit::Failed
            }
            Self::Monitor(_) => Exit::Usage,
        }
    }
}

/// Loads the configuration from the process environment: only `ORCH_POST_DEPLOY_*`
/// variables are read; a value that is not UTF-8 is refused, naming the variable. Returns
/// the variables too: the switches are read from them again at every tick.
fn load_config(
    env: impl IntoIterator<Item = (OsString, OsString)>,
    cli: &Cli,
) -> Result<(Config, Vec<(String, String)>), CliError> {
    let mut vars = Vec::new();
    for (k, v) in env {
        let Some(k) = k
            .to_str()
            .filter(|k| k.starts_with(PREFIX))
            .map(str::to_owned)
        else {
            continue;
        };
        match v.into_string() {
            Ok(v) => vars.push((k, v)),
            Err(v) => {
                return Err(ConfigError::Invalid {
                    variable: k,
                    value: v.to_string_lossy().into_owned(),
                    expected: "a value in UTF-8".to_owned(),
                }
                .into());
            }
        }
    }
    let mut config = Config::from_vars(vars.iter().map(|(k, v)| (k, v)))?;
    if let Some(dir) = &cli.state_dir {
        config.state_dir.clone_from(dir);
    }
    Ok((config, vars))
}

/// Runs a parsed command with the environment `env`.
///
/// # Errors
/// [`CliError`] when the command could not run; its [`CliError::exit`] is the exit code.
pub fn run(
    cli: Cli,
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Exit, CliError> {
    let (config, vars) = load_config(env, &cli)?;
    if let Command::Count5xx(args) = &cli.command {
        return count(args, &config);
    }
    if let Command::Demo(args) = &cli.command {
        return crate::demo::run(args, &config);
    }
    if let Command::Replay(args) = &cli.command {
        return crate::replay::run(args, &config);
    }
    // The variables this process was given: its switches cannot change under it.
    let real = System::with_source(&config, move || vars.clone());
    let monitor = Monitor::new(config, real.effects()).with_switches_from(real.switchboard());
    let exit = run_monitor(&monitor, &real, cli.command);
    // What could not be written besides the answer (the metrics file), said once.
    for notice in monitor.take_notices() {
        output::note(&notice);
    }
    exit
}

/// Runs a command of the monitor's.
fn run_monitor(monitor: &Monitor<'_>, real: &System, command: Command) -> Result<Exit, CliError> {
    match command {
        Command::Arm(args) => {
            let out = monitor.arm(&arm_request(args))?;
            output::json(&out);
            Ok(Exit::Ok)
        }
        Command::Tick(pair) => {
            output::json(&monitor.tick(&pair.repo, &pair.work_item)?);
            Ok(Exit::Ok)
        }
        Command::Disarm(pair) => {
            let out = monitor.disarm(&pair.repo, &pair.work_item)?;
            output::json(&Disarmed::from(out));
            Ok(Exit::Ok)
        }
        Command::Extend(args) => {
            let by = Duration::from_secs(args.by);
            operator(monitor.extend(&args.pair.repo, &args.pair.work_item, by)?)
        }
        Command::Rollback(pair) => operator(monitor.rollback(&pair.repo, &pair.work_item)?),
        Command::Promote(pair) => operator(monitor.promote(&pair.repo, &pair.work_item)?),
        Command::KnownGood(args) => {
            let target = args.container.as_deref().or(args.service.as_deref());
            let rows = monitor.known_good(&args.repo, target)?;
            if args.json {
                output::json(&rows);
            } else {
                output::text(&crate::output_table::render_known_good(
                    &rows,
                    real.clock().now(),
                ));
            }
            Ok(Exit::Ok)
        }
        Command::Watch(args) => watch(monitor, real.clock(), args),
        Command::Status(args) => status(monitor, real.clock(), &args),
        Command::Count5xx(_) | Command::Demo(_) | Command::Replay(_) => Ok(Exit::Ok),
    }
}

/// An operator command's JSON, and its exit code: 0 done, 4 refused.
fn operator(out: OperatorOutcome) -> Result<Exit, CliError> {
    output::json(&out);
    Ok(if out.done { Exit::Ok } else { Exit::Refused })
}

fn arm_request(args: ArmArgs) -> ArmRequest {
    ArmRequest {
        repo: args.pair.repo,
        work_item: args.pair.work_item,
        health_url: args.health_url,
        container: args.container,
        service: args.service,
        previous_image: args.previous_image,
        // Recorded for the window's whole life: later ticks may run from another directory.
        artefacts_dir: args
            .artefacts_dir
            .map(|d| std::path::absolute(&d).unwrap_or(d)),
    }
}

/// `disarm`'s JSON: the window's result, and `disarmed`: the pair has a window and it is now
/// finished (by this call, or earlier).
#[derive(Debug, Serialize)]
struct Disarmed {
    disarmed: bool,
    #[serde(flatten)]
    tick: TickOutcome,
}

impl From<TickOutcome> for Disarmed {
    fn from(tick: TickOutcome) -> Self {
        Self {
            disarmed: tick.deadline.is_some(),
            tick,
        }
    }
}

/// The exit code of a finished `watch`.
#[must_use]
pub fn watch_exit(out: &TickOutcome) -> Exit {
    match (out.verdict, out.action, out.recovered) {
        (Verdict::Healthy, _, _) if out.blind == Some(true) => Exit::Blind,
        (Verdict::Healthy, _, _) => Exit::Ok,
        (Verdict::Degraded, ActionKind::Rollback, Some(true)) => Exit::RolledBackRecovered,
        (Verdict::Degraded, _, _) => Exit::DegradedStanding,
    }
}

/// `watch`: arms the window of `args`, then ticks it until it finishes (or Ctrl-C), with a
/// progress line per tick on stderr and the final outcome as JSON; the demo runs it too.
pub(crate) fn watch(
    monitor: &Monitor<'_>,
    clock: &SystemClock,
    args: ArmArgs,
) -> Result<Exit, CliError> {
    let armed: ArmOutcome = monitor.arm(&arm_request(args))?;
    let (repo, work_item) = (armed.repo.clone(), armed.work_item.clone());
    if !armed.applies {
        output::note(&format!("post-deploy: not watching: {}", armed.reason));
        // The final tick's shape, as for any watch: finished, nothing done, and why.
        let mut out = monitor.tick(&repo, &work_item)?;
        out.reason = format!("not watching: {}", armed.reason);
        output::json(&out);
        return Ok(Exit::Ok);
    }
    output::note(&format!("post-deploy: {}", armed.reason));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupted);
        // Without a handler, Ctrl-C would still leave whole state (every write is atomic);
        // with it, a tick in flight finishes first.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let live = std::io::stderr().is_terminal();
    loop {
        let out = monitor.tick(&repo, &work_item)?;
        progress_line(&out, clock.now(), live);
        if out.finished {
            if live {
                output::note("");
            }
            output::json(&out);
            return Ok(watch_exit(&out));
        }
        let wait = out.requeue_after.unwrap_or(Duration::from_secs(1));
        if sleep_unless(&interrupted, wait) {
            if live {
                output::note("");
            }
            output::note(&format!(
                "post-deploy: interrupted; the window of {repo} {work_item} stays armed: \
                 `post-deploy watch` or `post-deploy tick` goes on where it stopped"
            ));
            output::json(&out);
            return Ok(Exit::Interrupted);
        }
    }
}

/// Sleeps `wait`, waking early when `flag` is set; returns whether it was.
fn sleep_unless(flag: &AtomicBool, wait: Duration) -> bool {
    let step = Duration::from_millis(100);
    let mut left = wait;
    while !left.is_zero() {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        let nap = left.min(step);
        std::thread::sleep(nap);
        left = left.saturating_sub(nap);
    }
    flag.load(Ordering::SeqCst)
}

fn progress_line(out: &TickOutcome, now: DateTime<Utc>, live: bool) {
    let left = out
        .deadline
        .map(|d| d.signed_duration_since(now).num_seconds().max(0))
        .map_or_else(|| "-".to_owned(), |s| format!("{}m{:02}s", s / 60, s % 60));
    let ratio = post_deploy_core::access_log::ratio(out.window_errors_5xx, out.window_requests)
        .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", 100.0 * r));
    let line = format!(
        "post-deploy: tick {:>3} | {} left | {} | {} | failures in a row {} | window 5xx {ratio} ({}/{})",
        out.ticks,
        left,
        out.verdict,
        out.action,
        out.consecutive_failures,
        out.window_errors_5xx,
        out.window_requests
    );
    if live {
        let mut err = std::io::stderr().lock();
        let _ = std::io::Write::write_all(&mut err, format!("\r\x1b[2K{line}").as_bytes());
        let _ = std::io::Write::flush(&mut err);
    } else {
        output::note(&format!("{line} | {}", out.reason));
    }
}

fn status(monitor: &Monitor<'_>, clock: &SystemClock, args: &StatusArgs) -> Result<Exit, CliError> {
    let rows = monitor.status(args.repo.as_ref(), args.work_item.as_ref())?;
    if args.json {
        output::json(&rows);
    } else {
        output::text(&crate::output_table::render(&rows, clock.now()));
    }
    Ok(Exit::Ok)
}

/// `count-5xx`'s JSON.
#[derive(Debug, Serialize)]
struct Counted {
    total: u64,
    errors_5xx: u64,
    ratio: f64,
    unparsed: u64,
    /// Access lines with a duration.
    timed: u64,
    /// The durations' nearest-rank quantiles in milliseconds (within 1%); null without any.
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
}

/// Counts with the parser and the log keys the monitor uses.
fn count(args: &CountArgs, config: &Config) -> Result<Exit, CliError> {
    let format = match args.format {
        FormatArg::Auto => LogFormat::Auto,
        FormatArg::Clf => LogFormat::Clf,
        FormatArg::Json => LogFormat::Json,
        FormatArg::Uvicorn => LogFormat::Uvicorn,
        FormatArg::Logfmt => LogFormat::Logfmt,
    };
    let keys = config.window.log_keys.clone();
    let counts = match &args.file {
        Some(path) => {
            let unreadable =
                |e: std::io::Error| CliError::Input(format!("cannot read {}: {e}", path.display()));
            let file = std::fs::File::open(path).map_err(unreadable)?;
            if file.metadata().map_err(unreadable)?.is_dir() {
                return Err(CliError::Input(format!(
                    "cannot read {}: it is a directory, not a log",
                    path.display()
                )));
            }
            count_log_file(format, keys, file).map_err(unreadable)
        }
        None => count_log(format, keys, std::io::stdin())
            .map_err(|e| CliError::Input(format!("cannot read stdin: {e}"))),
    }?;
    let (counts, durations) = counts;
    let ratio = counts.ratio().unwrap_or(0.0);
    output::json(&Counted {
        total: counts.total,
        errors_5xx: counts.errors_5xx,
        ratio,
        unparsed: counts.unparsed,
        timed: durations.timed,
        p50_ms: durations.quantile(0.50),
        p95_ms: durations.quantile(0.95),
        p99_ms: durations.quantile(0.99),
    });
    Ok(Exit::Ok)
}
