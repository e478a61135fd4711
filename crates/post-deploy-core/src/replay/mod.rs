//! Replay: what a window would have done over recorded signals, on a virtual clock.
//!
//! The lines of a container's log as `docker logs --timestamps` writes them (a stamp, one
//! space, the line) and, optionally, a health trace (a stamp, one space, an HTTP status or
//! `fail`) drive the same pure transition a live tick runs
//! ([`window::machine::transition`](crate::window::machine::transition)): a window armed at
//! `from` (default: the log's first stamp), ticked at arm + k x `INTERVAL_S` up to its
//! deadline, with each tick's signals made of the recorded lines and probes of its span. Nothing is touched: no state, no rollback, no alert; the rollback a
//! DEGRADED tick decides is answered "not run" and the replay ends there.
//!
//! It streams: lines are cut and counted as they are read (a second thread reads ahead, as
//! for `count-5xx`), each tick keeps only its counters, so memory does not grow with the log.
//! A big file is read in parts, one thread a part ([`replay_file`], `parts.rs`), with the
//! same answer.

mod health;
mod lines;
mod parts;
mod stamp;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_parts;

use std::fmt;
use std::io::{self, BufRead, Read};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use self::health::HealthTrace;
use self::lines::{Lines, Sink};
use crate::access_log::read_ahead::for_each_piece_while;
use crate::access_log::{AccessLogCounter, LogFormat};
use crate::classify::Verdict;
use crate::config::{CommandLine, ComposeProgram, RollbackMode, Scope, Switches, WindowSettings};
use crate::decide::ActionKind;
use crate::id::{IdError, RepoName, WorkItem};
use crate::outcome::TickOutcome;
use crate::signals::{HealthSignal, Signals, log_signal};
use crate::traits::{ContainerInfo, ControlError, LogCursor, ResumedRollback};
use crate::window::machine::{Command, Input as MachineInput, Observed, Transition, transition};
use crate::window::{Progress, STATE_VERSION, WindowTarget};

/// The buffer the log is read into (as `count-5xx` reads).
const READ_BUFFER_LEN: usize = 1 << 20;

/// What the rollback a DEGRADED tick decides is answered: it is not run.
pub const NOT_RUN: &str = "not run (replay)";

/// The name of the replayed window's repo, and of its container, in its reasons and rows.
const REPLAY: &str = "replay";

/// Which input a line or a read error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// The log (`--log`).
    Log,
    /// The health trace (`--health`).
    Health,
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Log => "--log",
            Self::Health => "--health",
        })
    }
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A line of an input is not what it must be.
    #[error("{input} line {line}: {why}")]
    Line {
        /// Which input.
        input: Input,
        /// Its number, from 1.
        line: u64,
        /// What is wrong, with the start of the line.
        why: String,
    },
    /// An input could not be read.
    #[error("reading {input}: {source}")]
    Read {
        /// Which input.
        input: Input,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Neither `--from` nor a stamped line says when the window was armed.
    #[error("--log holds no stamped line and --from was not given: there is no arm time")]
    NoArmTime,
    /// The window's ticks fall outside the calendar's range.
    #[error("a window armed at {0} ends outside the range of dates that can be written")]
    OutOfRange(DateTime<Utc>),
    /// The replayed window's name.
    #[error(transparent)]
    Name(#[from] IdError),
}

/// What a replay is given besides its inputs.
#[derive(Debug, Clone)]
pub struct ReplaySetup {
    /// What governs the window: as `arm` would record it from the same variables.
    pub settings: WindowSettings,
    /// Arm time; `None`: the log's first stamp.
    pub from: Option<DateTime<Utc>>,
    /// What the window's log rows call its work item (the log's name, say); `log` when it
    /// is not a valid work item.
    pub name: String,
}

/// One replayed tick.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayTick {
    /// Its time.
    pub at: DateTime<Utc>,
    /// What the window's transition answered, as a live tick answers.
    pub outcome: TickOutcome,
    /// Its row of the log artefact's table of ticks.
    pub log_row: Option<String>,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    /// Arm time.
    pub armed_at: DateTime<Utc>,
    /// The window's deadline.
    pub deadline: DateTime<Utc>,
    /// Every tick run, in order; the last is the first DEGRADED one when there is one.
    pub ticks: Vec<ReplayTick>,
    /// The log's lines (blank ones aside), those before arm and after the end included.
    pub lines: u64,
    /// Of those, the lines that are not access lines.
    pub unparsed: u64,
    /// The replayed window as armed (its settings, arm time and deadline).
    pub target: WindowTarget,
    /// The replayed window's state after its last tick, as a live window would have saved
    /// it: what its picture and log are drawn from.
    pub progress: Progress,
}

impl ReplayReport {
    /// The first DEGRADED tick: where the rollback would have run.
    #[must_use]
    pub fn degraded(&self) -> Option<&ReplayTick> {
        self.ticks
            .iter()
            .find(|t| t.outcome.verdict == Verdict::Degraded)
    }

    /// DEGRADED when a tick was.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        match self.degraded() {
            Some(_) => Verdict::Degraded,
            None => Verdict::Healthy,
        }
    }

    /// `ROLLBACK` at a DEGRADED tick (the guards that need an engine or a target do not
    /// apply), else `NONE`.
    #[must_use]
    pub fn action(&self) -> ActionKind {
        match self.degraded() {
            Some(_) => ActionKind::Rollback,
            None => ActionKind::None,
        }
    }

    /// The DEGRADED tick's reason, or the last tick's.
    #[must_use]
    pub fn reason(&self) -> &str {
        self.degraded()
            .or(self.ticks.last())
            .map_or("", |t| t.outcome.reason.as_str())
    }

    /// How long after arm the window became DEGRADED.
    #[must_use]
    pub fn detected_after(&self) -> Option<Duration> {
        self.degraded()
            .and_then(|t| t.at.signed_duration_since(self.armed_at).to_std().ok())
    }
}

/// Replays a window over the log `log` and the health trace `health`.
///
/// # Errors
///
/// [`ReplayError`]: an input that cannot be read, a log line without a stamp, a malformed
/// health line (each found wherever it is: the whole input is read), no arm time.
pub fn replay<'h>(
    setup: &ReplaySetup,
    log: impl Read + Send,
    health: Option<Box<dyn BufRead + 'h>>,
) -> Result<ReplayReport, ReplayError> {
    let mut lines = Lines::new(Stream {
        setup,
        window: None,
        health: health.map(HealthTrace::new),
        outside: counter(&setup.settings),
    });
    let mut failed = None;
    let read = for_each_piece_while(log, READ_BUFFER_LEN, |piece| match lines.piece(piece) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    read.map_err(|source| ReplayError::Read {
        input: Input::Log,
        source,
    })?;
    lines.finish()?;
    let stamped = lines.stamped;
    let Stream {
        window,
        mut health,
        outside,
        ..
    } = lines.sink;
    let mut window = match window {
        Some(window) => window,
        None => Window::arm(setup, setup.from.ok_or(ReplayError::NoArmTime)?)?,
    };
    window.run_ticks(health.as_mut(), |_| None)?;
    conclude(window, health, stamped, outside.counts_so_far().unparsed)
}

/// [`replay`] of a log file, gzip'd or not (read as its text): a regular, uncompressed file
/// of a few MiB or more is read in one part per core, each part's lines counted on a thread
/// of its own by the tick they fall in, and the ticks then run in order over the added
/// counts: the report of reading it in one stream, in about the time `count-5xx` takes over
/// the same file. Anything else is [`replay`].
///
/// # Errors
///
/// As [`replay`].
pub fn replay_file<'h>(
    setup: &ReplaySetup,
    log: std::fs::File,
    health: Option<Box<dyn BufRead + 'h>>,
) -> Result<ReplayReport, ReplayError> {
    let plan = crate::access_log::parts::Plan::for_this_machine();
    match parts::prepare(setup, &log, plan).map_err(|source| ReplayError::Read {
        input: Input::Log,
        source,
    })? {
        Some(prepared) => parts::replay(setup, &log, prepared, health.map(HealthTrace::new), plan),
        None => {
            let log = crate::access_log::open_log(log).map_err(|source| ReplayError::Read {
                input: Input::Log,
                source,
            })?;
            replay(setup, log, health)
        }
    }
}

/// The end of every replay, once its ticks ran: the rest of the health trace checked, and
/// the report.
fn conclude(
    window: Window,
    mut health: Option<HealthTrace<'_>>,
    stamped: u64,
    unparsed_outside: u64,
) -> Result<ReplayReport, ReplayError> {
    if let Some(health) = health.as_mut() {
        health.check_rest()?;
    }
    Ok(ReplayReport {
        armed_at: window.target.armed_at,
        deadline: window.target.deadline,
        lines: stamped,
        unparsed: window.unparsed.saturating_add(unparsed_outside),
        ticks: window.ticks,
        target: window.target,
        progress: window.progress,
    })
}

/// An access-log counter by the window's keys, timing requests when the latency rule is on.
fn counter(settings: &WindowSettings) -> AccessLogCounter {
    let counter = AccessLogCounter::with_keys(LogFormat::Auto, settings.log_keys.clone());
    match settings.latency_ms {
        Some(threshold_ms) => counter.with_latency(threshold_ms),
        None => counter,
    }
}

/// `at` in nanoseconds since the Unix epoch, saturated outside the years 1678 to 2261 (a
/// stamp outside them does not parse, so it compares as no stamp can).
fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The start of `line` for a message: at most 60 characters, quoted.
fn quote(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// Where the lines of a log read in one stream go: the window, armed at the first stamped
/// line (or `from`), ticked as the stamps pass its ticks' times.
struct Stream<'s, 'h> {
    setup: &'s ReplaySetup,
    /// `None` until arm time is known.
    window: Option<Window>,
    health: Option<HealthTrace<'h>>,
    /// Lines counted in no tick: before arm, after the end.
    outside: AccessLogCounter,
}

impl Sink for Stream<'_, '_> {
    fn line(&mut self, at: i64, body: &[u8], overlong: bool) -> Result<(), ReplayError> {
        let window = match self.window.take() {
            Some(window) => window,
            None => Window::arm(
                self.setup,
                self.setup
                    .from
                    .unwrap_or_else(|| DateTime::from_timestamp_nanos(at)),
            )?,
        };
        let window = self.window.insert(window);
        let counter = window.counter_for(at, self.health.as_mut(), &mut self.outside)?;
        if overlong {
            counter.count_overlong_line();
        } else {
            counter.count_line(body);
        }
        Ok(())
    }
}

/// The replayed window: the machine's inputs, and the tick being counted.
struct Window {
    target: WindowTarget,
    progress: Progress,
    switches: Switches,
    scope: Scope,
    /// The next tick, from 1.
    next: u64,
    /// The number of ticks up to the deadline.
    last: u64,
    /// The next tick's time.
    next_at: DateTime<Utc>,
    /// Arm time and the next tick's, in nanoseconds since the Unix epoch (saturated), for
    /// the comparisons made on every line.
    armed_ns: i64,
    next_ns: i64,
    /// The previous tick's time (arm before the first).
    previous_at: DateTime<Utc>,
    /// The lines of the tick being read.
    counter: AccessLogCounter,
    /// Lines counted in ticks that were not access lines.
    unparsed: u64,
    /// No more ticks: the last ran, or one was DEGRADED.
    ended: bool,
    ticks: Vec<ReplayTick>,
}

impl Window {
    /// A window armed at `armed_at`, as `arm` records one from the same settings, with
    /// switches under which a DEGRADED verdict rolls back whatever the environment says.
    fn arm(setup: &ReplaySetup, armed_at: DateTime<Utc>) -> Result<Self, ReplayError> {
        let settings = setup.settings.clone();
        let out_of_range = || ReplayError::OutOfRange(armed_at);
        let window = TimeDelta::from_std(settings.window).map_err(|_| out_of_range())?;
        let deadline = armed_at
            .checked_add_signed(window)
            .ok_or_else(out_of_range)?;
        let last = settings
            .window
            .as_secs()
            .checked_div(settings.interval.as_secs())
            .unwrap_or(0);
        let repo = RepoName::new(REPLAY)?;
        let target = WindowTarget {
            version: STATE_VERSION,
            repo: repo.clone(),
            work_item: WorkItem::new(&setup.name).or_else(|_| WorkItem::new("log"))?,
            health_url: format!("{REPLAY}:"),
            container: Some(REPLAY.to_owned()),
            service: None,
            previous_image: None,
            previous_image_source: None,
            armed_image: None,
            armed_spec: None,
            artefacts_dir: None,
            settings,
            prometheus: None,
            armed_at,
            deadline,
        };
        let mut window = Self {
            counter: counter(&target.settings),
            progress: Progress::new(armed_at),
            switches: Switches {
                enabled: true,
                rollback: RollbackMode::Auto,
                // A plan that is never carried out: the rollback's place in the window.
                rollback_cmd: CommandLine::parse(REPLAY),
                webhook_url: None,
                docker: String::new(),
                compose: ComposeProgram::Auto,
                metrics_file: None,
            },
            scope: Scope {
                repos: vec![repo],
                self_repo: RepoName::new("replay.self")?,
                self_container: "replay.self".to_owned(),
                self_service: "replay.self".to_owned(),
            },
            next: 1,
            last,
            next_at: armed_at,
            armed_ns: nanos(armed_at),
            next_ns: nanos(armed_at),
            previous_at: armed_at,
            unparsed: 0,
            ended: last == 0,
            ticks: Vec::new(),
            target,
        };
        window.next_at = window.tick_at(1)?;
        window.next_ns = nanos(window.next_at);
        Ok(window)
    }

    /// The time of tick `k`.
    fn tick_at(&self, k: u64) -> Result<DateTime<Utc>, ReplayError> {
        let armed_at = self.target.armed_at;
        let since_arm = u32::try_from(k)
            .ok()
            .and_then(|k| self.target.settings.interval.checked_mul(k))
            .and_then(|d| TimeDelta::from_std(d).ok())
            .ok_or(ReplayError::OutOfRange(armed_at))?;
        armed_at
            .checked_add_signed(since_arm)
            .ok_or(ReplayError::OutOfRange(armed_at))
    }

    /// Where a line stamped `at` counts: in no tick (before arm, after the end), or in the
    /// tick being read, after running every tick that falls before it.
    fn counter_for<'c>(
        &'c mut self,
        at: i64,
        mut health: Option<&mut HealthTrace<'_>>,
        outside: &'c mut AccessLogCounter,
    ) -> Result<&'c mut AccessLogCounter, ReplayError> {
        if at < self.armed_ns {
            return Ok(outside);
        }
        while !self.ended && at > self.next_ns {
            self.close_tick(health.as_deref_mut())?;
        }
        Ok(if self.ended {
            outside
        } else {
            &mut self.counter
        })
    }

    /// Runs the ticks left, in order, until the last or a DEGRADED one; `counted(k)` gives
    /// tick k's lines when they were counted elsewhere (else it keeps what it counted).
    fn run_ticks(
        &mut self,
        mut health: Option<&mut HealthTrace<'_>>,
        mut counted: impl FnMut(u64) -> Option<AccessLogCounter>,
    ) -> Result<(), ReplayError> {
        while !self.ended {
            if let Some(counter) = counted(self.next) {
                self.counter = counter;
            }
            self.close_tick(health.as_deref_mut())?;
        }
        Ok(())
    }

    /// Runs the next tick over the lines and the probe of its span.
    fn close_tick(&mut self, health: Option<&mut HealthTrace<'_>>) -> Result<(), ReplayError> {
        let now = self.next_at;
        let health = match health {
            None => HealthSignal::Missing {
                why: "health not replayed (no health trace given)".to_owned(),
            },
            Some(trace) => match trace.probe_in(self.previous_at, self.next == 1, now)? {
                Some(sample) => HealthSignal::Sample { sample },
                None => HealthSignal::Missing {
                    why: "no health probe recorded in this tick".to_owned(),
                },
            },
        };
        let (counts, durations) = self.counter.take();
        self.unparsed = self.unparsed.saturating_add(counts.unparsed);
        let signals = Signals {
            health,
            logs: log_signal(
                counts,
                &durations,
                LogCursor::at(now),
                &self.progress.observations,
                &self.target.settings,
            ),
        };
        let tick = self.run_machine(now, signals);
        let degraded = tick.outcome.verdict == Verdict::Degraded;
        self.ticks.push(tick);
        self.ended = degraded || self.next >= self.last;
        self.previous_at = now;
        self.next = self.next.saturating_add(1);
        if !self.ended {
            self.next_at = self.tick_at(self.next)?;
            self.next_ns = nanos(self.next_at);
        }
        Ok(())
    }

    /// The transition of one tick at `now`, as the driver runs it, with `signals` as what
    /// the probe observed and nothing carried out.
    fn run_machine(&mut self, now: DateTime<Utc>, signals: Signals) -> ReplayTick {
        let input = MachineInput {
            target: &self.target,
            progress: &self.progress,
            switches: &self.switches,
            scope: &self.scope,
            now,
            notes: &[],
        };
        let mut observed = Observed::default();
        // Each answer fills what was asked, so the machine never asks twice; the bound
        // only keeps a change of the machine from looping here.
        for _ in 0..16 {
            match transition(Command::Tick, &input, &observed) {
                Transition::Need(need) => answer(need, &signals, &mut observed),
                Transition::Rollback { .. } => observed.rollback = Some(Ok(NOT_RUN.to_owned())),
                Transition::Done(end) => {
                    let end = *end;
                    if let Some(progress) = end.progress {
                        self.progress = progress;
                    }
                    return ReplayTick {
                        at: now,
                        outcome: end.outcome,
                        log_row: end.log_row,
                    };
                }
            }
        }
        let mut outcome =
            crate::window::machine::progress_outcome(&self.target, &self.progress, None, false);
        outcome.reason = "the window's transition did not conclude".to_owned();
        ReplayTick {
            at: now,
            outcome,
            log_row: None,
        }
    }
}

/// What a replay observes when the machine asks: the recorded signals; the target as the
/// one container it always was (no fencing); nothing to resume or check.
fn answer(need: crate::window::machine::Need, signals: &Signals, observed: &mut Observed) {
    use crate::window::machine::Need;
    match need {
        Need::Signals => observed.signals = Some(signals.clone()),
        Need::Container => {
            observed.container = Some(Ok(ContainerInfo {
                id: String::new(),
                name: REPLAY.to_owned(),
                image_id: String::new(),
                image_ref: String::new(),
                running: true,
            }));
        }
        Need::Service => {
            observed.service = Some(Err(ControlError::ServiceNotFound(REPLAY.to_owned())));
        }
        Need::Resume => {
            observed.resumed = Some(Ok(ResumedRollback::NotSettled {
                detail: String::new(),
            }));
        }
        Need::ImageCheck => observed.image_check = Some(crate::decide::ImageCheck::NotChecked),
    }
}
