//! The orchestration step: arm, tick, disarm and status over the injected effects.
//!
//! This is the only place that asks the [`Clock`] and carries decisions out. Each tick runs
//! under the window's lock and writes its state ahead of any rollback, so a crash at any
//! point loses nothing and never leads to a second rollback.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::alert::{Alert, AlertEvent, AlertSubject};
use crate::classify::{Classification, Verdict, classify};
use crate::config::{Config, RollbackMode, SecretUrl, UrlError, hide_userinfo, is_container_name};
use crate::decide::{Action, ActionKind, Facts, ImageCheck, RollbackPlan, decide_action};
use crate::id::{RepoName, WorkItem};
use crate::logbook;
use crate::rollback::{ROLLBACK_COMMAND_TIMEOUT, RollbackTarget, run_rollback};
use crate::signals::{HealthSignal, LogSignal, Observations, probe_signals};
use crate::store::{
    LOG_FILE, Loaded, PROGRESS_FILE, StoreError, TARGET_FILE, WindowDir, append, list_windows,
    write_atomic,
};
use crate::traits::{
    AlertSink, Clock, ContainerControl, ContainerInfo, HttpProbe, ResumedRollback,
};
use crate::window::{
    EndReason, LastTick, Outcome, Phase, Progress, RollbackRecord, RollbackState, STATE_VERSION,
    WindowTarget,
};

/// A fault that stops an arm, tick or disarm before it could run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The state folder could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The health URL is not an http or https URL the probe can request as it is.
    #[error("invalid --health-url {value:?}: {why}; expected an http:// or https:// URL")]
    HealthUrl {
        /// The refused value, its user info shown as `***`.
        value: String,
        /// What is wrong with it.
        #[source]
        why: UrlError,
    },
    /// The container name is not a docker container name.
    #[error("invalid --container {0:?}: expected a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)")]
    Container(String),
    /// Another tick held the window's lock for longer than any tick may run.
    #[error("the window at {} stayed locked by another tick for {} s", path.display(), waited.as_secs())]
    Busy {
        /// The window's folder.
        path: PathBuf,
        /// How long this call waited.
        waited: Duration,
    },
    /// The artefacts folder is a file, or lies under one: it can never hold the log.
    #[error("invalid --artefacts-dir {}: {why}", path.display())]
    ArtefactsDir {
        /// The folder, as given.
        path: PathBuf,
        /// What is in the way.
        why: String,
    },
    /// The previous image is not an image reference.
    #[error(
        "invalid --previous-image {0:?}: expected an image reference such as app:1.4 or sha256:…"
    )]
    PreviousImage(String),
}

/// A window's state as a tick or an operator command finds it under the lock.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per call, taken apart at once by its caller"
)]
enum Found {
    /// A window to go on with, and a note when its progress had to be replaced.
    Window {
        target: WindowTarget,
        progress: Progress,
        note: Option<String>,
    },
    /// No window, or one that can only replay its end: the answer, as it is.
    Ended(TickOutcome),
}

/// The steps of a tick, reported to a [`Trace`] as they complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// The window's lock is held and its state read.
    Loaded,
    /// The target was probed and classified.
    Probed,
    /// A rollback intent was written ahead of the rollback.
    IntentWritten,
    /// The rollback ran (successfully or not).
    RollbackRan,
    /// The tick's state was written.
    StateWritten,
    /// The log artefact was written.
    LogWritten,
}

/// An observer of a tick's steps (for tracing, metrics, or tests that crash at each step).
pub trait Trace {
    /// Called after each step completes.
    fn step(&self, step: Step);
}

/// The trace that observes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrace;

impl Trace for NoTrace {
    fn step(&self, _step: Step) {}
}

/// What a host injects.
#[derive(Clone, Copy)]
pub struct Effects<'a> {
    /// Health probes.
    pub http: &'a dyn HttpProbe,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// Container control.
    pub control: &'a dyn ContainerControl,
    /// Alert delivery.
    pub alerts: &'a dyn AlertSink,
}

/// Starting a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmRequest {
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// The health endpoint (http or https).
    pub health_url: String,
    /// The target container.
    pub container: Option<String>,
    /// The image to roll back to.
    pub previous_image: Option<String>,
    /// Where the log artefact goes (created when missing).
    pub artefacts_dir: Option<PathBuf>,
}

/// What arm did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmOutcome {
    /// The pair has a window (new or earlier).
    pub armed: bool,
    /// It had one before this call.
    pub already_armed: bool,
    /// The monitor applies to the repo.
    pub applies: bool,
    /// Why, for people.
    pub reason: String,
    /// When the window ends; `None` when not armed.
    pub deadline: Option<DateTime<Utc>>,
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
}

/// What one tick did, or the final result of a finished window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TickOutcome {
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// This tick's verdict; for a finished window, DEGRADED if it ever was.
    pub verdict: Verdict,
    /// This tick's action; for a finished window, the window's.
    pub action: ActionKind,
    /// The window has finished: the host stops ticking it.
    pub finished: bool,
    /// When to tick again; `None` when finished.
    #[serde(rename = "requeue_after_s", serialize_with = "ser_secs")]
    pub requeue_after: Option<Duration>,
    /// Why, with the numbers.
    pub reason: String,
    /// After a degradation, once finished: whether health came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
    /// This tick probed the target.
    pub probed: bool,
    /// Ticks that probed, this window.
    pub ticks: u64,
    /// Consecutive failed health probes.
    pub consecutive_failures: u32,
    /// Requests counted in the window so far.
    pub window_requests: u64,
    /// 5xx answers among them.
    pub window_errors_5xx: u64,
    /// When the window ends; `None` when no window.
    pub deadline: Option<DateTime<Utc>>,
}

#[expect(
    clippy::ref_option,
    reason = "serde's serialize_with passes a reference to the field"
)]
fn ser_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        // Whole seconds, rounded up so a host never ticks early.
        Some(d) => s.serialize_u64(d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))),
        None => s.serialize_none(),
    }
}

/// One window, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowStatus {
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
    /// `watching` or `finished`.
    pub phase: String,
    /// DEGRADED if the window ever was, else HEALTHY.
    pub verdict: Verdict,
    /// ROLLBACK if a rollback took effect, ALERT_ONLY after another degradation, else NONE.
    pub action: ActionKind,
    /// Ticks that probed.
    pub ticks: u64,
    /// When it was armed.
    pub armed_at: Option<DateTime<Utc>>,
    /// When it ends.
    pub deadline: Option<DateTime<Utc>>,
    /// The latest reason.
    pub reason: String,
}

/// Checks an `http://` or `https://` URL that the probe can request as it is.
#[must_use]
pub fn is_http_url(url: &str) -> bool {
    SecretUrl::parse(url).is_some()
}

/// An image reference as docker spells one: no shell, no option, no control characters.
#[must_use]
pub fn is_image_ref(image: &str) -> bool {
    !image.is_empty()
        && image.len() <= 512
        && !image.starts_with('-')
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
}

/// The observation-window monitor over a host's effects.
pub struct Monitor<'a> {
    config: Config,
    fx: Effects<'a>,
    trace: &'a dyn Trace,
}

impl<'a> Monitor<'a> {
    /// A monitor with this configuration and these effects.
    #[must_use]
    pub fn new(config: Config, fx: Effects<'a>) -> Self {
        Self {
            config,
            fx,
            trace: &NoTrace,
        }
    }

    /// Reports each tick's steps to `trace`.
    #[must_use]
    pub fn with_trace(mut self, trace: &'a dyn Trace) -> Self {
        self.trace = trace;
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn dir(&self, repo: &RepoName, work_item: &WorkItem) -> WindowDir {
        WindowDir::new(&self.config.state_dir, repo, work_item)
    }

    /// Arms a window for (repo, work item). Idempotent: a pair with a window keeps it.
    ///
    /// # Errors
    /// [`MonitorError`] for a bad URL, container or image (nothing written), or a state
    /// folder that cannot be used.
    pub fn arm(&self, req: &ArmRequest) -> Result<ArmOutcome, MonitorError> {
        if let Err(why) = SecretUrl::new(&req.health_url) {
            return Err(MonitorError::HealthUrl {
                value: hide_userinfo(&req.health_url),
                why,
            });
        }
        if let Some(c) = req.container.as_deref().filter(|c| !is_container_name(c)) {
            return Err(MonitorError::Container(c.to_owned()));
        }
        if let Some(i) = req.previous_image.as_deref().filter(|i| !is_image_ref(i)) {
            return Err(MonitorError::PreviousImage(i.to_owned()));
        }
        if let Some(artefacts) = &req.artefacts_dir {
            check_artefacts_dir(artefacts)?;
        }
        let base = ArmOutcome {
            armed: false,
            already_armed: false,
            applies: false,
            reason: String::new(),
            deadline: None,
            repo: req.repo.clone(),
            work_item: req.work_item.clone(),
        };
        let applicability = self.config.applies(&req.repo);
        if !applicability.applies {
            return Ok(ArmOutcome {
                reason: applicability.reason,
                ..base
            });
        }
        let dir = self.dir(&req.repo, &req.work_item);
        let already = |deadline| ArmOutcome {
            armed: true,
            already_armed: true,
            applies: true,
            reason: format!(
                "already armed: the window of {} {} is kept as it is",
                req.repo, req.work_item
            ),
            deadline,
            ..base.clone()
        };
        if let Some(deadline) = self.existing(&dir)? {
            return Ok(already(deadline));
        }
        dir.create()?;
        // Only one arm of a pair writes; a concurrent one waits for the lock and then finds it.
        let _lock = wait_for_lock(&dir)?;
        if let Some(deadline) = self.existing(&dir)? {
            return Ok(already(deadline));
        }
        let now = self.fx.clock.now();
        let settings = self.config.window;
        let deadline = add(now, settings.window);
        let (armed_image, image_note) = match req.container.as_deref() {
            None => (None, String::new()),
            Some(c) => match self.fx.control.inspect(c) {
                Ok(info) => (Some(info), String::new()),
                Err(e) => (
                    None,
                    format!("; image not recorded, fencing off for this window ({e})"),
                ),
            },
        };
        if let Some(artefacts) = &req.artefacts_dir {
            fs_err::create_dir_all(artefacts).map_err(|source| StoreError::Io {
                action: "creating",
                path: artefacts.clone(),
                source,
            })?;
        }
        let target = WindowTarget {
            version: STATE_VERSION,
            repo: req.repo.clone(),
            work_item: req.work_item.clone(),
            health_url: req.health_url.clone(),
            container: req.container.clone(),
            previous_image: req.previous_image.clone(),
            armed_image,
            artefacts_dir: req.artefacts_dir.clone(),
            settings,
            armed_at: now,
            deadline,
        };
        // The log first: the window exists only once target.json is whole.
        let log = log_path(&dir, &target);
        if let (Some(parent), Some(name)) = (log.parent(), log.file_name().and_then(|n| n.to_str()))
        {
            let header = logbook::header(&target);
            // An artefacts folder that other windows use holds their log: add a section.
            if req.artefacts_dir.is_some() && fs_err::metadata(&log).is_ok_and(|m| m.len() > 0) {
                append(&log, format!("\n---\n\n{header}").as_bytes())?;
            } else {
                write_atomic(parent, name, header.as_bytes())?;
            }
        }
        dir.save(PROGRESS_FILE, &Progress::new(now))?;
        dir.save(TARGET_FILE, &target)?;
        Ok(ArmOutcome {
            armed: true,
            already_armed: false,
            applies: true,
            reason: format!(
                "armed: watching for {} s, a tick every {} s; {}{image_note}",
                settings.window.as_secs(),
                settings.interval.as_secs(),
                applicability.reason
            ),
            deadline: Some(deadline),
            ..base
        })
    }

    /// `Some(deadline)` when the pair has a window already.
    fn existing(&self, dir: &WindowDir) -> Result<Option<Option<DateTime<Utc>>>, MonitorError> {
        if !dir.exists()? {
            return Ok(None);
        }
        let target = dir.file(TARGET_FILE);
        match fs_err::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(StoreError::Symlink { path: target }.into());
            }
            Ok(_) => return Ok(Some(peek::<WindowTarget>(&target).ok().map(|t| t.deadline))),
            Err(_) => {}
        }
        // A target kept aside as damaged still means the pair had a window.
        let had = fs_err::read_dir(dir.path())
            .map(|entries| {
                entries.flatten().any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("target.json.damaged-")
                })
            })
            .unwrap_or(false);
        Ok(had.then_some(None))
    }

    /// Ends a window early; later ticks report it finished, disarmed.
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be used.
    pub fn disarm(
        &self,
        repo: &RepoName,
        work_item: &WorkItem,
    ) -> Result<TickOutcome, MonitorError> {
        let dir = self.dir(repo, work_item);
        if !dir.exists()? {
            return Ok(self.not_armed(repo, work_item));
        }
        let _lock = wait_for_lock(&dir)?;
        let now = self.fx.clock.now();
        let (target, mut progress) = match self.load_window(&dir, repo, work_item, now)? {
            Found::Window {
                target, progress, ..
            } => (target, progress),
            Found::Ended(out) => return Ok(out),
        };
        if progress.phase == Phase::Watching {
            let last_verdict = progress.last.as_ref().map(|l| l.verdict);
            finish(
                &mut progress,
                EndReason::Disarmed,
                "disarmed by an operator".to_owned(),
                last_verdict,
                now,
            );
            dir.save(PROGRESS_FILE, &progress)?;
            self.log_outcome(&dir, &target, &progress);
        }
        Ok(replay(&target, &progress))
    }

    /// Reads a window's state under its lock. A damaged file is kept aside for a person and
    /// replaced in place, never removed first: a window whose `window.json` was damaged takes
    /// no action any more, and one whose `target.json` was damaged is finished.
    fn load_window(
        &self,
        dir: &WindowDir,
        repo: &RepoName,
        work_item: &WorkItem,
        now: DateTime<Utc>,
    ) -> Result<Found, MonitorError> {
        let stamp = damage_stamp(now);
        let target = match dir.load::<WindowTarget>(TARGET_FILE, &stamp)? {
            Loaded::Ok(t) if t.repo == *repo && t.work_item == *work_item => t,
            // A target.json copied from another window is as good as damaged.
            Loaded::Ok(_) => {
                let kept_as = dir.keep_aside(TARGET_FILE, &stamp)?;
                let detail = "it names another window";
                return self.target_damaged(dir, repo, work_item, &kept_as, detail, now);
            }
            Loaded::Damaged { kept_as, detail } => {
                return self.target_damaged(dir, repo, work_item, &kept_as, &detail, now);
            }
            Loaded::Missing => {
                // Finished windows whose target was damaged keep only their progress.
                if let Loaded::Ok(p) = dir.load::<Progress>(PROGRESS_FILE, &stamp)?
                    && let Some(o) = &p.outcome
                {
                    let out = self.replay_without_target(repo, work_item, &p, o);
                    return Ok(Found::Ended(out));
                }
                return Ok(Found::Ended(self.not_armed(repo, work_item)));
            }
        };
        let damaged = match dir.load::<Progress>(PROGRESS_FILE, &stamp)? {
            Loaded::Ok(progress) => {
                return Ok(Found::Window {
                    target,
                    progress,
                    note: None,
                });
            }
            // Arm writes window.json before target.json, so a window without one lost it.
            Loaded::Missing => (
                format!("{PROGRESS_FILE} (missing)"),
                format!(
                    "state file {PROGRESS_FILE} is missing; this window takes no action any more"
                ),
            ),
            Loaded::Damaged { kept_as, detail } => (
                kept_as.clone(),
                format!(
                    "state file {PROGRESS_FILE} was damaged ({detail}) and is kept as {kept_as}; \
                     this window takes no action any more"
                ),
            ),
        };
        let progress = Progress {
            damaged: Some(damaged.0),
            ..Progress::new(now)
        };
        // Replaces the damaged file in place: until this write lands, the next tick finds it
        // damaged again, never missing.
        dir.save(PROGRESS_FILE, &progress)?;
        Ok(Found::Window {
            target,
            progress,
            note: Some(damaged.1),
        })
    }

    fn not_armed(&self, repo: &RepoName, work_item: &WorkItem) -> TickOutcome {
        TickOutcome {
            repo: repo.clone(),
            work_item: work_item.clone(),
            verdict: Verdict::Healthy,
            action: ActionKind::None,
            finished: true,
            requeue_after: None,
            reason: format!("not armed: no window for {repo} {work_item}"),
            recovered: None,
            probed: false,
            ticks: 0,
            consecutive_failures: 0,
            window_requests: 0,
            window_errors_5xx: 0,
            deadline: None,
        }
    }

    /// One step of the window: probe, classify, decide, act, persist; or the final result
    /// again for a finished window.
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be used. A damaged state file is not an
    /// error: it is kept aside and the reason names it.
    pub fn tick(&self, repo: &RepoName, work_item: &WorkItem) -> Result<TickOutcome, MonitorError> {
        let dir = self.dir(repo, work_item);
        if !dir.exists()? {
            return Ok(self.not_armed(repo, work_item));
        }
        let Some(_lock) = try_lock_briefly(&dir)? else {
            return Ok(self.busy(&dir, repo, work_item));
        };
        let now = self.fx.clock.now();
        let (target, mut progress, note) = match self.load_window(&dir, repo, work_item, now)? {
            Found::Window {
                target,
                progress,
                note,
            } => (target, progress, note),
            Found::Ended(out) => return Ok(out),
        };
        let mut notes: Vec<String> = note.into_iter().collect();
        self.trace.step(Step::Loaded);
        if progress.phase == Phase::Finished {
            return Ok(replay(&target, &progress));
        }
        let switches = &self.config.switches;
        if !switches.enabled {
            let last = progress.last.as_ref().map(|l| l.verdict);
            finish(
                &mut progress,
                EndReason::Disabled,
                "post-deploy is disabled (ORCH_POST_DEPLOY_ENABLED): the window finished without acting".to_owned(),
                last,
                now,
            );
            dir.save(PROGRESS_FILE, &progress)?;
            self.log_outcome(&dir, &target, &progress);
            return Ok(replay(&target, &progress));
        }
        let mut alerts: Vec<Alert> = Vec::new();
        let settled = self.reconcile(&dir, &target, &mut progress, &mut alerts, now)?;
        notes.extend(settled.clone());
        self.deliver(&alerts);
        let mut row_note: Vec<String> = alerts
            .drain(..)
            .map(|a| format!("alert: {}", a.event))
            .collect();

        // A duplicate job: too soon after the previous probe.
        let interval = target.settings.interval;
        // A probe recorded later than now (the clock stepped back) is not recent: the window
        // goes on probing by the clock as it is now.
        if let Some(last) = progress.last_probe_at.filter(|last| *last <= now) {
            let elapsed = since(last, now);
            if elapsed < half(interval) {
                let wait = interval.saturating_sub(elapsed);
                let mut out = self.progress_outcome(&target, &progress, Some(wait), false);
                out.reason = format!(
                    "duplicate tick: the previous probe was {} s ago; the next is due in {} s",
                    elapsed.as_secs(),
                    wait.as_secs()
                );
                if let Some(settled) = &settled {
                    out.reason = format!("{}; {settled}", out.reason);
                }
                return Ok(out);
            }
        }

        // Fencing: a container on an image this window did not put there was superseded.
        let current = target
            .container
            .as_deref()
            .map(|c| self.fx.control.inspect(c));
        if let Some(mut reason) = fenced(&target, &progress, current.as_ref()) {
            if let Some(settled) = &settled {
                reason = format!("{reason}; {settled}");
            }
            let last = progress.last.as_ref().map(|l| l.verdict);
            finish(&mut progress, EndReason::Superseded, reason, last, now);
            dir.save(PROGRESS_FILE, &progress)?;
            self.log_outcome(&dir, &target, &progress);
            return Ok(replay(&target, &progress));
        }

        let signals = probe_signals(
            &target.health_url,
            target.settings.health_timeout,
            target.container.as_deref(),
            &progress.log_cursor,
            self.fx.http,
            self.fx.control,
        );
        progress.ticks = progress.ticks.saturating_add(1);
        progress.last_probe_at = Some(now);
        progress.observations = progress.observations.observe(&signals);
        progress.since_rollback = progress.since_rollback.map(|o| o.observe(&signals));
        if let LogSignal::Counted { cursor, .. } = &signals.logs {
            progress.log_cursor = cursor.clone();
        }
        if let HealthSignal::Missing { why } = &signals.health {
            notes.push(why.clone());
        }
        if let LogSignal::Missing { why } = &signals.logs {
            notes.push(why.clone());
        }
        if let Some(Err(e)) = &current {
            notes.push(format!("container not inspected (monitor fault: {e})"));
        }
        let classification = classify(&progress.observations, &target.settings, now);
        self.trace.step(Step::Probed);
        if classification.verdict == Verdict::Degraded && !progress.ever_degraded {
            progress.ever_degraded = true;
            progress.degraded_reason = Some(classification.rule.to_string());
        }

        let facts = self.facts(&target, &progress, &classification, current.as_ref());
        let decision = decide_action(&classification, &facts, now);
        let mut reason = classification.rule.to_string();
        match &decision.action {
            Action::None => {}
            Action::AlertOnly { reason: why } => {
                reason = format!("{reason}; alert only: {why}");
                if progress
                    .alerts_sent
                    .insert(crate::alert::AlertEvent::Degraded)
                {
                    alerts.push(self.alert(
                        &target,
                        AlertEvent::Degraded,
                        Verdict::Degraded,
                        ActionKind::AlertOnly,
                        &reason,
                        now,
                    ));
                }
            }
            Action::Rollback { plan } => {
                reason = format!("{reason}; rolling back");
                progress.rollback = Some(RollbackRecord {
                    plan: plan.clone(),
                    state: RollbackState::Intended,
                    decided_at: now,
                });
                if progress.alerts_sent.insert(AlertEvent::Degraded) {
                    alerts.push(self.alert(
                        &target,
                        AlertEvent::Degraded,
                        Verdict::Degraded,
                        ActionKind::Rollback,
                        &reason,
                        now,
                    ));
                }
                // Write-ahead: the intent is on disk before anything is run.
                dir.save(PROGRESS_FILE, &progress)?;
                self.trace.step(Step::IntentWritten);
                self.deliver(&alerts);
                row_note.extend(alerts.drain(..).map(|a| format!("alert: {}", a.event)));
                let result = run_rollback(
                    plan,
                    &rollback_target(&target),
                    self.fx.control,
                    ROLLBACK_COMMAND_TIMEOUT,
                );
                self.trace.step(Step::RollbackRan);
                let state = match result {
                    Ok(detail) => {
                        reason = format!("{reason}: {detail}");
                        row_note.push(format!("rolled back: {detail}"));
                        progress.since_rollback = Some(Observations::default());
                        RollbackState::Done { detail }
                    }
                    Err(detail) => {
                        reason = format!("{reason}: FAILED: {detail}");
                        row_note.push(format!("rollback FAILED: {detail}"));
                        if progress.alerts_sent.insert(AlertEvent::RollbackFailed) {
                            alerts.push(self.alert(
                                &target,
                                AlertEvent::RollbackFailed,
                                Verdict::Degraded,
                                ActionKind::Rollback,
                                &detail,
                                now,
                            ));
                        }
                        RollbackState::Failed { detail }
                    }
                };
                if let Some(record) = progress.rollback.as_mut() {
                    record.state = state;
                }
            }
        }
        for note in &notes {
            reason = format!("{reason}; {note}");
        }
        if progress
            .rollback
            .as_ref()
            .is_some_and(RollbackRecord::took_effect)
            && !matches!(decision.action, Action::Rollback { .. })
        {
            progress.verification_ticks = progress.verification_ticks.saturating_add(1);
        }
        progress.last = Some(LastTick {
            verdict: classification.verdict,
            action: decision.action.kind(),
            reason: reason.clone(),
            health: match &signals.health {
                HealthSignal::Sample { sample } => Some(sample.clone()),
                HealthSignal::Missing { .. } => None,
            },
        });

        self.check_finished(&target, &mut progress, &classification, &mut alerts, now);
        // A window that finishes on the tick that settled its rollback says how it was settled.
        if let (Some(outcome), Some(settled)) = (progress.outcome.as_mut(), &settled) {
            outcome.reason = format!("{}; {settled}", outcome.reason);
        }
        for a in &alerts {
            row_note.push(format!("alert: {}", a.event));
        }
        dir.save(PROGRESS_FILE, &progress)?;
        self.trace.step(Step::StateWritten);
        self.deliver(&alerts);

        let log = log_path(&dir, &target);
        let row = logbook::row(
            &target,
            now,
            &signals,
            &progress.observations,
            &classification,
            decision.action.kind(),
            &row_note.join(", "),
        );
        // The log is for people: a failure to write it never fails the tick, but is named.
        let log_note = append_row(&log, &row)
            .err()
            .map(|e| format!("; log artefact not written: {e}"));
        if progress.phase == Phase::Finished {
            self.log_outcome(&dir, &target, &progress);
        }
        self.trace.step(Step::LogWritten);

        if progress.phase == Phase::Finished {
            let mut out = replay(&target, &progress);
            out.reason.push_str(log_note.as_deref().unwrap_or_default());
            return Ok(out);
        }
        let until_deadline = since(now, target.deadline);
        let requeue = if until_deadline.is_zero() {
            interval
        } else {
            interval.min(until_deadline.max(half(interval)))
        };
        let mut out = self.progress_outcome(&target, &progress, Some(requeue), true);
        out.verdict = classification.verdict;
        out.action = decision.action.kind();
        out.reason = format!("{reason}{}", log_note.as_deref().unwrap_or_default());
        Ok(out)
    }

    fn facts(
        &self,
        target: &WindowTarget,
        progress: &Progress,
        classification: &Classification,
        current: Option<&Result<ContainerInfo, crate::traits::ControlError>>,
    ) -> Facts {
        let switches = &self.config.switches;
        let needs_images = classification.verdict == Verdict::Degraded
            && progress.rollback.is_none()
            && progress.damaged.is_none()
            && switches.rollback == RollbackMode::Auto
            && switches.rollback_cmd.is_none();
        let image_check = match (&target.previous_image, needs_images) {
            (Some(previous), true) => match self.fx.control.image_id(previous) {
                Ok(Some(previous_id)) => ImageCheck::Present {
                    previous_id,
                    current_id: current
                        .and_then(|c| c.as_ref().ok())
                        .map(|c| c.image_id.clone()),
                },
                Ok(None) => ImageCheck::Absent,
                Err(e) => ImageCheck::Unknown {
                    detail: e.to_string(),
                },
            },
            _ => ImageCheck::NotChecked,
        };
        Facts {
            repo: target.repo.clone(),
            container: target.container.clone(),
            // The target as the engine knows it, at arm and now: the self guard needs its id
            // and name, whichever of them the configuration and the target were given by.
            inspected: target
                .armed_image
                .iter()
                .chain(current.and_then(|c| c.as_ref().ok()))
                .cloned()
                .collect(),
            previous_image: target.previous_image.clone(),
            image_check,
            scope: self.config.scope.clone(),
            mode: switches.rollback,
            rollback_cmd: switches.rollback_cmd.clone(),
            rolled_back: progress.rollback.is_some(),
            state_damaged: progress.damaged.is_some(),
        }
    }

    /// A rollback found `Intended` was interrupted by a crash: settle it from what the engine
    /// shows, never by deciding it again. The built-in rollback is resumed through
    /// [`ContainerControl::resume_rollback`] (finished, or the failed container put back); what
    /// that does not settle, and a rollback command, is judged from what the container runs.
    /// Returns what was found, for the tick's reason.
    fn reconcile(
        &self,
        dir: &WindowDir,
        target: &WindowTarget,
        progress: &mut Progress,
        alerts: &mut Vec<Alert>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, MonitorError> {
        let Some(record) = progress.rollback.as_mut() else {
            return Ok(None);
        };
        if record.state != RollbackState::Intended {
            return Ok(None);
        }
        let state = match &record.plan {
            RollbackPlan::Docker {
                container,
                previous_image,
                previous_image_id,
            } => match self.fx.control.resume_rollback(container, previous_image) {
                Ok(ResumedRollback::Finished { detail }) => RollbackState::Done {
                    detail: format!("a crash interrupted the rollback; {detail}"),
                },
                Ok(ResumedRollback::Reverted { detail }) => RollbackState::Failed {
                    detail: format!("a crash interrupted the rollback; {detail}"),
                },
                Ok(ResumedRollback::NotSettled { detail }) => {
                    let why = if detail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({detail})")
                    };
                    self.judge_by_image(container, previous_image, previous_image_id, &why)
                }
                Err(e) => RollbackState::Unknown {
                    detail: format!(
                        "a crash interrupted the rollback of {container} and the engine cannot be asked ({e}); \
                         not run again"
                    ),
                },
            },
            RollbackPlan::Command { command } => RollbackState::Unknown {
                detail: format!(
                    "a crash interrupted the rollback command `{command}`; its outcome is unknown and it is not run again"
                ),
            },
        };
        let event = match &state {
            RollbackState::Unknown { .. } => Some(AlertEvent::RollbackUnknown),
            RollbackState::Failed { .. } => Some(AlertEvent::RollbackFailed),
            _ => None,
        };
        let note = match &state {
            RollbackState::Done { detail }
            | RollbackState::Failed { detail }
            | RollbackState::Unknown { detail } => detail.clone(),
            RollbackState::Intended => String::new(),
        };
        if let Some(event) = event
            && progress.alerts_sent.insert(event)
        {
            alerts.push(self.alert(
                target,
                event,
                Verdict::Degraded,
                ActionKind::Rollback,
                &note,
                now,
            ));
        }
        record.state = state;
        if record.took_effect() {
            progress.since_rollback = Some(Observations::default());
        }
        progress.ever_degraded = true;
        dir.save(PROGRESS_FILE, progress)?;
        Ok(Some(note))
    }

    /// An interrupted docker rollback judged from the image the container runs alone.
    fn judge_by_image(
        &self,
        container: &str,
        previous_image: &str,
        previous_image_id: &str,
        why: &str,
    ) -> RollbackState {
        match self.fx.control.inspect(container) {
            Ok(info) if info.image_id == previous_image_id => RollbackState::Done {
                detail: format!(
                    "a crash interrupted the rollback; reconciled: {container} runs the previous image {previous_image}{why}"
                ),
            },
            Ok(info) => RollbackState::Unknown {
                detail: format!(
                    "a crash interrupted the rollback of {container}; it runs {} and not the previous image \
                     {previous_image}{why}; not run again",
                    info.image_ref
                ),
            },
            Err(e) => RollbackState::Unknown {
                detail: format!(
                    "a crash interrupted the rollback of {container} and its image cannot be checked ({e}){why}; \
                     not run again"
                ),
            },
        }
    }

    fn check_finished(
        &self,
        target: &WindowTarget,
        progress: &mut Progress,
        classification: &Classification,
        alerts: &mut Vec<Alert>,
        now: DateTime<Utc>,
    ) {
        let settings = &target.settings;
        let past_deadline = now >= target.deadline;
        let verifying = progress
            .rollback
            .as_ref()
            .is_some_and(RollbackRecord::took_effect);
        let end = if verifying {
            let since = progress.since_rollback.unwrap_or_default();
            let healthy_since = classify(&since, settings, now).verdict == Verdict::Healthy;
            if since.consecutive_passes >= settings.fail_threshold && healthy_since {
                Some((
                    EndReason::Recovered,
                    format!(
                        "rolled back and recovered: {} consecutive health probes passed after the rollback",
                        since.consecutive_passes
                    ),
                ))
            } else if past_deadline && progress.verification_ticks >= settings.fail_threshold {
                Some((
                    EndReason::NotRecovered,
                    format!(
                        "rolled back but not recovered by the end of the window ({} verification ticks)",
                        progress.verification_ticks
                    ),
                ))
            } else {
                None
            }
        } else if past_deadline {
            Some((EndReason::Deadline, String::new()))
        } else {
            None
        };
        let Some((end, mut reason)) = end else { return };
        if end == EndReason::Deadline {
            reason = if progress.ever_degraded {
                let first = progress.degraded_reason.clone().unwrap_or_default();
                let now_state = if classification.verdict == Verdict::Healthy {
                    "healthy again"
                } else {
                    "still degraded"
                };
                let acted = match progress.rollback.as_ref().map(|r| &r.state) {
                    Some(RollbackState::Failed { detail }) => {
                        format!("the rollback failed: {detail}")
                    }
                    _ => "no rollback".to_owned(),
                };
                format!("window ended DEGRADED ({first}); {acted}; {now_state} at the deadline")
            } else {
                format!("window ended HEALTHY after {} ticks", progress.ticks)
            };
        }
        finish(progress, end, reason, Some(classification.verdict), now);
        if let Some(outcome) = progress.outcome.clone() {
            let event = match outcome.recovered {
                Some(true) => Some(AlertEvent::Recovered),
                Some(false) => Some(AlertEvent::NotRecovered),
                None => None,
            };
            if let Some(event) = event
                && progress.alerts_sent.insert(event)
            {
                alerts.push(self.alert(
                    target,
                    event,
                    outcome.verdict,
                    outcome.action,
                    &outcome.reason,
                    now,
                ));
            }
        }
    }

    fn target_damaged(
        &self,
        dir: &WindowDir,
        repo: &RepoName,
        work_item: &WorkItem,
        kept_as: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<Found, MonitorError> {
        let stamp = damage_stamp(now);
        let mut progress = match dir.load::<Progress>(PROGRESS_FILE, &stamp)? {
            Loaded::Ok(p) => p,
            _ => Progress::new(now),
        };
        if progress.outcome.is_none() {
            let last = progress.last.as_ref().map(|l| l.verdict);
            finish(
                &mut progress,
                EndReason::Damaged,
                format!(
                    "state file {TARGET_FILE} was damaged ({detail}) and is kept as {kept_as}; \
                     the window cannot go on and takes no action any more"
                ),
                last,
                now,
            );
            dir.save(PROGRESS_FILE, &progress)?;
        }
        // Only once the finished progress is on disk: it is kept aside already.
        dir.remove(TARGET_FILE)?;
        let outcome = progress.outcome.clone().unwrap_or_else(|| Outcome {
            verdict: Verdict::Healthy,
            action: ActionKind::None,
            recovered: None,
            end: EndReason::Damaged,
            reason: String::new(),
            at: now,
        });
        let out = self.replay_without_target(repo, work_item, &progress, &outcome);
        Ok(Found::Ended(out))
    }

    fn replay_without_target(
        &self,
        repo: &RepoName,
        work_item: &WorkItem,
        p: &Progress,
        o: &Outcome,
    ) -> TickOutcome {
        TickOutcome {
            verdict: o.verdict,
            action: o.action,
            reason: o.reason.clone(),
            recovered: o.recovered,
            ticks: p.ticks,
            consecutive_failures: p.observations.consecutive_failures,
            window_requests: p.observations.requests,
            window_errors_5xx: p.observations.errors_5xx,
            ..self.not_armed(repo, work_item)
        }
    }

    fn busy(&self, dir: &WindowDir, repo: &RepoName, work_item: &WorkItem) -> TickOutcome {
        let target = peek::<WindowTarget>(&dir.file(TARGET_FILE));
        let interval = target
            .as_ref()
            .map_or(Duration::from_secs(1), |t| t.settings.interval);
        TickOutcome {
            finished: false,
            requeue_after: Some(half(interval)),
            reason: "another tick of this window is running: this one did not probe or act"
                .to_owned(),
            deadline: target.ok().map(|t| t.deadline),
            ..self.not_armed(repo, work_item)
        }
    }

    fn progress_outcome(
        &self,
        target: &WindowTarget,
        progress: &Progress,
        requeue: Option<Duration>,
        probed: bool,
    ) -> TickOutcome {
        let last = progress.last.as_ref();
        TickOutcome {
            repo: target.repo.clone(),
            work_item: target.work_item.clone(),
            verdict: last.map_or(Verdict::Healthy, |l| l.verdict),
            action: ActionKind::None,
            finished: false,
            requeue_after: requeue,
            reason: last.map_or_else(String::new, |l| l.reason.clone()),
            recovered: None,
            probed,
            ticks: progress.ticks,
            consecutive_failures: progress.observations.consecutive_failures,
            window_requests: progress.observations.requests,
            window_errors_5xx: progress.observations.errors_5xx,
            deadline: Some(target.deadline),
        }
    }

    fn alert(
        &self,
        target: &WindowTarget,
        event: AlertEvent,
        verdict: Verdict,
        action: ActionKind,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Alert {
        Alert::new(
            event,
            &AlertSubject {
                repo: target.repo.clone(),
                work_item: target.work_item.clone(),
                container: target.container.clone(),
            },
            verdict,
            action,
            reason.to_owned(),
            now,
        )
    }

    /// Delivers alerts; a failed delivery never fails the tick.
    fn deliver(&self, alerts: &[Alert]) {
        for alert in alerts {
            let _ = self.fx.alerts.send(alert);
        }
    }

    fn log_outcome(&self, dir: &WindowDir, target: &WindowTarget, progress: &Progress) {
        if let Some(outcome) = &progress.outcome {
            let sent: Vec<String> = progress
                .alerts_sent
                .iter()
                .map(ToString::to_string)
                .collect();
            let _ = append(
                &log_path(dir, target),
                logbook::outcome(target, outcome, &sent).as_bytes(),
            );
        }
    }

    /// Every window under the state dir, optionally only one repo's or one work item's.
    /// Read-only: a damaged file is reported, not moved.
    ///
    /// # Errors
    /// [`MonitorError`] when the state dir cannot be listed.
    pub fn status(
        &self,
        repo: Option<&RepoName>,
        work_item: Option<&WorkItem>,
    ) -> Result<Vec<WindowStatus>, MonitorError> {
        let mut rows = Vec::new();
        for (r, w, dir) in list_windows(&self.config.state_dir)? {
            if repo.is_some_and(|x| *x != r) || work_item.is_some_and(|x| *x != w) {
                continue;
            }
            let target = peek::<WindowTarget>(&dir.file(TARGET_FILE));
            let progress = peek::<Progress>(&dir.file(PROGRESS_FILE));
            let mut row = WindowStatus {
                repo: r,
                work_item: w,
                phase: Phase::Watching.as_str().to_owned(),
                verdict: Verdict::Healthy,
                action: ActionKind::None,
                ticks: 0,
                armed_at: target.as_ref().ok().map(|t| t.armed_at),
                deadline: target.as_ref().ok().map(|t| t.deadline),
                reason: String::new(),
            };
            match (&target, &progress) {
                (_, Ok(p)) => {
                    row.phase = p.phase.as_str().to_owned();
                    row.ticks = p.ticks;
                    if let Some(o) = &p.outcome {
                        row.verdict = o.verdict;
                        row.action = o.action;
                        row.reason = o.reason.clone();
                    } else {
                        row.verdict = if p.ever_degraded {
                            Verdict::Degraded
                        } else {
                            Verdict::Healthy
                        };
                        row.action = window_action(p);
                        row.reason = p.last.as_ref().map_or_else(
                            || "armed, not ticked yet".to_owned(),
                            |l| l.reason.clone(),
                        );
                    }
                    if let Err(e) = &target
                        && p.outcome.is_none()
                    {
                        row.reason = format!("{TARGET_FILE}: {e}");
                    }
                }
                (_, Err(e)) => row.reason = format!("{PROGRESS_FILE}: {e}"),
            }
            rows.push(row);
        }
        Ok(rows)
    }
}

/// What the window did so far: ROLLBACK if a rollback took effect, ALERT_ONLY after any
/// other degradation, else NONE.
fn window_action(p: &Progress) -> ActionKind {
    if p.rollback.as_ref().is_some_and(RollbackRecord::took_effect) {
        ActionKind::Rollback
    } else if p.ever_degraded {
        ActionKind::AlertOnly
    } else {
        ActionKind::None
    }
}

fn finish(
    progress: &mut Progress,
    end: EndReason,
    reason: String,
    last: Option<Verdict>,
    now: DateTime<Utc>,
) {
    let verdict = if progress.ever_degraded {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    };
    let recovered = match end {
        _ if !progress.ever_degraded => None,
        EndReason::Recovered => Some(true),
        EndReason::NotRecovered => Some(false),
        _ => Some(last == Some(Verdict::Healthy)),
    };
    progress.phase = Phase::Finished;
    progress.outcome = Some(Outcome {
        verdict,
        action: window_action(progress),
        recovered,
        end,
        reason,
        at: now,
    });
}

fn replay(target: &WindowTarget, progress: &Progress) -> TickOutcome {
    let o = progress.outcome.as_ref();
    TickOutcome {
        repo: target.repo.clone(),
        work_item: target.work_item.clone(),
        verdict: o.map_or(Verdict::Healthy, |o| o.verdict),
        action: o.map_or(ActionKind::None, |o| o.action),
        finished: true,
        requeue_after: None,
        reason: o.map_or_else(String::new, |o| o.reason.clone()),
        recovered: o.and_then(|o| o.recovered),
        probed: false,
        ticks: progress.ticks,
        consecutive_failures: progress.observations.consecutive_failures,
        window_requests: progress.observations.requests,
        window_errors_5xx: progress.observations.errors_5xx,
        deadline: Some(target.deadline),
    }
}

fn fenced(
    target: &WindowTarget,
    progress: &Progress,
    current: Option<&Result<ContainerInfo, crate::traits::ControlError>>,
) -> Option<String> {
    let armed = target.armed_image.as_ref()?;
    let Some(Ok(now_running)) = current else {
        return None;
    };
    if now_running.image_id == armed.image_id {
        return None;
    }
    match progress.rollback.as_ref().map(|r| &r.plan) {
        // A rollback command owns its target: whatever it put there is this window's doing.
        Some(RollbackPlan::Command { .. }) => return None,
        Some(RollbackPlan::Docker {
            previous_image_id, ..
        }) if *previous_image_id == now_running.image_id => {
            return None;
        }
        _ => {}
    }
    Some(format!(
        "superseded: container {} now runs {} ({}), not the image at arm {} and not put there by this window",
        target.container.as_deref().unwrap_or_default(),
        now_running.image_ref,
        now_running.image_id,
        armed.image_ref
    ))
}

fn rollback_target(target: &WindowTarget) -> RollbackTarget<'_> {
    RollbackTarget {
        repo: &target.repo,
        work_item: &target.work_item,
        container: target.container.as_deref(),
        previous_image: target.previous_image.as_deref(),
    }
}

/// An artefacts folder that is a folder, or can be made one: neither it nor the nearest of
/// its ancestors that exists is anything but a folder (a symlink to one counts).
fn check_artefacts_dir(path: &Path) -> Result<(), MonitorError> {
    let refused = |why: String| MonitorError::ArtefactsDir {
        path: path.to_owned(),
        why,
    };
    for at in path.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        match fs_err::metadata(at) {
            Ok(meta) if meta.is_dir() => return Ok(()),
            Ok(_) if at == path => return Err(refused("it is a file, not a folder".to_owned())),
            Ok(_) => {
                return Err(refused(format!(
                    "{} is a file, so no folder can be made under it",
                    at.display()
                )));
            }
            // Not there, or under a file: the nearer ancestors say which.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) => {}
            // Unreadable (permissions): left to the create that follows, which names it.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Appends a tick's row, under a fresh table head when the log does not end in a table (in a
/// shared log, another window's section or outcome may have come since this window's last row).
fn append_row(log: &Path, row: &str) -> Result<(), StoreError> {
    let in_table = fs_err::read_to_string(log)
        .ok()
        .and_then(|text| text.lines().last().map(|l| l.starts_with('|')))
        .unwrap_or(false);
    if in_table {
        append(log, row.as_bytes())
    } else {
        append(log, format!("\n{}{row}", logbook::table_head()).as_bytes())
    }
}

fn log_path(dir: &WindowDir, target: &WindowTarget) -> PathBuf {
    target
        .artefacts_dir
        .as_deref()
        .unwrap_or_else(|| dir.path())
        .join(LOG_FILE)
}

fn add(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(at)
}

/// Takes the window's lock for a tick, which does not wait for another tick; but a lock seen
/// taken for less than [`LOCK_GLITCH`] is not another tick.
///
/// A process that another thread of the host starts inherits the lock's file for a moment,
/// between its fork and its exec; a tick that closed the file while that lasts leaves the lock
/// held by the child until the exec. Only a tick that holds the lock for longer than that
/// makes this one give up.
fn try_lock_briefly(dir: &WindowDir) -> Result<Option<crate::store::WindowLock>, MonitorError> {
    lock_within(dir, LOCK_GLITCH, Duration::from_millis(5))
}

/// How long a tick retries a lock that is taken before it concludes another tick holds it.
const LOCK_GLITCH: Duration = Duration::from_millis(100);

/// Waits for the window's lock: arm and disarm are operator actions that may wait for a tick
/// in flight (a rollback command runs for at most [`ROLLBACK_COMMAND_TIMEOUT`]), unlike a
/// tick, which waits no longer than [`LOCK_GLITCH`].
fn wait_for_lock(dir: &WindowDir) -> Result<crate::store::WindowLock, MonitorError> {
    let limit = ROLLBACK_COMMAND_TIMEOUT.saturating_add(Duration::from_secs(60));
    lock_within(dir, limit, Duration::from_millis(20))?.ok_or_else(|| MonitorError::Busy {
        path: dir.path().to_owned(),
        waited: limit,
    })
}

/// Takes the window's lock, trying again every `step` while it is taken, for `limit` in all;
/// `Ok(None)` when it stayed taken.
fn lock_within(
    dir: &WindowDir,
    limit: Duration,
    step: Duration,
) -> Result<Option<crate::store::WindowLock>, MonitorError> {
    let mut waited = Duration::ZERO;
    loop {
        if let Some(lock) = dir.try_lock()? {
            return Ok(Some(lock));
        }
        if waited >= limit {
            return Ok(None);
        }
        // Sleeping is not reading the clock: the wait is counted in steps.
        std::thread::sleep(step);
        waited = waited.saturating_add(step);
    }
}

/// Time from `from` to `to`, zero when `to` is not later.
fn since(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    to.signed_duration_since(from)
        .to_std()
        .unwrap_or(Duration::ZERO)
}

fn half(d: Duration) -> Duration {
    d.checked_div(2).unwrap_or(Duration::ZERO)
}

fn damage_stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
        .replace(':', "")
}

/// Reads a state file without moving it, for read-only views.
fn peek<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let meta = fs_err::symlink_metadata(path).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("is a symbolic link".to_owned());
    }
    match crate::store::read_state(path) {
        Ok(Some(Ok(value))) => Ok(value),
        Ok(Some(Err(e))) => Err(format!("damaged ({e})")),
        Ok(None) => Err(format!("{} is missing", path.display())),
        Err(e) => Err(e.to_string()),
    }
}
