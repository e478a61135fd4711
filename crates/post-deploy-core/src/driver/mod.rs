//! The driver: arm, tick, disarm and status over the injected effects and a [`Store`].
//!
//! The only place that asks the [`Clock`], takes locks and carries decisions out. A tick
//! takes the window's lock, loads its state, and runs the pure [`transition`] until it is
//! done, doing what each step asks: observe, write a rollback intent ahead and roll back,
//! then save, deliver alerts and log. A crash at any point loses nothing the saved state
//! does not say, and never leads to a second rollback.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::classify::Verdict;
use crate::config::{
    Config, ConfigError, SecretUrl, Switches, UrlError, VarSource, hide_userinfo, is_container_name,
};
use crate::decide::{ActionKind, ImageCheck, RollbackPlan};
use crate::id::{RepoName, WorkItem};
use crate::known_good::{KnownGood, KnownGoodList};
use crate::outcome::{ArmOutcome, OperatorOutcome, TickOutcome, WindowStatus};
use crate::prometheus::probe_prometheus;
use crate::rollback::{ROLLBACK_COMMAND_TIMEOUT, RollbackTarget, run_rollback};
use crate::signals::probe_signals;
use crate::store::{self, FileStore, Loaded, StateFile, Store, StoreError, WindowKey, WindowLock};
use crate::traits::ContainerInfo;
use crate::traits::same_service_image;
use crate::traits::{AlertSink, Clock, ContainerControl, HttpProbe, ResumedRollback};
use crate::window::logbook;
use crate::window::machine::{self, Command, Input, Need, Observed, Transition, half};
use crate::window::{
    EndReason, Outcome, Phase, PreviousImageSource, Progress, RollbackCopy, STATE_VERSION,
    WindowTarget,
};

/// A fault that stops an arm, tick or disarm before it could run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The state folder could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A switch read for this call has a value that is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
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
    /// The service name is not a Swarm service name.
    #[error("invalid --service {0:?}: expected a service name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)")]
    Service(String),
    /// Both a container and a service were named: a window watches one of them.
    #[error("--container and --service name two targets: a window watches at most one of them")]
    TwoTargets,
    /// Another tick held the window's lock for longer than any tick may run.
    #[error("the window {key} stayed locked by another tick for {} s", waited.as_secs())]
    Busy {
        /// The window.
        key: String,
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

/// The steps of a tick, reported to a [`Trace`] as they complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// The window's lock is held and its state read.
    Loaded,
    /// The target was probed.
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
pub(crate) struct NoTrace;

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
    /// The target Docker Swarm service, instead of a container.
    pub service: Option<String>,
    /// The image to roll back to.
    pub previous_image: Option<String>,
    /// Where the log artefact goes (created when missing).
    pub artefacts_dir: Option<PathBuf>,
}

/// An image reference as docker spells one: no shell, no option, no control characters.
#[must_use]
pub(crate) fn is_image_ref(image: &str) -> bool {
    !image.is_empty()
        && image.len() <= 512
        && !image.starts_with('-')
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
}

/// What a call answers, and why an operator's command was refused.
struct Answer {
    outcome: TickOutcome,
    refused: Option<String>,
}

mod known_good;
mod load;
mod lock;
mod names;
mod operator;
mod outputs;
mod service_logs;
mod status;

use names::artefacts_name;
use service_logs::ServiceLogs;

/// A window's state as a call finds it under the lock.
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

/// The observation-window monitor: the driver of the window's [`transition`](machine::transition) over a host's effects.
pub struct Monitor<'a> {
    config: Config,
    fx: Effects<'a>,
    store: Box<dyn Store + 'a>,
    vars: Option<&'a dyn VarSource>,
    trace: &'a dyn Trace,
    notices: std::sync::Mutex<Vec<String>>,
}

impl<'a> Monitor<'a> {
    /// A monitor with this configuration and these effects, keeping its windows in files
    /// under the configuration's state folder, and the switches as loaded.
    #[must_use]
    pub fn new(config: Config, fx: Effects<'a>) -> Self {
        let store = Box::new(FileStore::new(config.state_dir.clone()));
        Self {
            config,
            fx,
            store,
            vars: None,
            trace: &NoTrace,
            notices: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Keeps the windows in `store` instead.
    #[must_use]
    pub fn with_store(mut self, store: impl Store + 'a) -> Self {
        self.store = Box::new(store);
        self
    }

    /// Reads the operational switches from `vars` afresh at every call, as the binary does
    /// from its environment, so a host can flip them mid-window.
    #[must_use]
    pub fn with_switches_from(mut self, vars: &'a dyn VarSource) -> Self {
        self.vars = Some(vars);
        self
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

    /// The switches for this call: read afresh from the host's source, or as loaded.
    fn switches(&self) -> Result<Switches, MonitorError> {
        match self.vars {
            Some(vars) => Ok(Config::switches_from_vars(vars.vars())?),
            None => Ok(self.config.switches.clone()),
        }
    }

    /// Arms a window for (repo, work item). Idempotent: a pair with a window keeps it.
    ///
    /// # Errors
    /// [`MonitorError`] for a bad URL, container or image (nothing written), or a state
    /// folder that cannot be used.
    pub fn arm(&self, req: &ArmRequest) -> Result<ArmOutcome, MonitorError> {
        if let Err(why) = SecretUrl::new(&req.health_url) {
            return Err(MonitorError::HealthUrl {
                value: crate::text::clip(&hide_userinfo(&req.health_url)),
                why,
            });
        }
        if let Some(c) = req.container.as_deref().filter(|c| !is_container_name(c)) {
            return Err(MonitorError::Container(crate::text::clip(c)));
        }
        if let Some(s) = req.service.as_deref().filter(|s| !is_container_name(s)) {
            return Err(MonitorError::Service(crate::text::clip(s)));
        }
        if req.container.is_some() && req.service.is_some() {
            return Err(MonitorError::TwoTargets);
        }
        if let Some(i) = req.previous_image.as_deref().filter(|i| !is_image_ref(i)) {
            return Err(MonitorError::PreviousImage(crate::text::clip(i)));
        }
        if let Some(path) = &req.artefacts_dir {
            artefacts_name(path)
                .and_then(|()| self.store.check_artefacts_dir(path))
                .map_err(|why| MonitorError::ArtefactsDir {
                    path: path.clone(),
                    why,
                })?;
        }
        let switches = self.switches()?;
        let applicability = crate::config::applicability(&switches, &self.config.scope, &req.repo);
        let base = ArmOutcome {
            armed: false,
            already_armed: false,
            applies: applicability.applies,
            reason: applicability.reason.clone(),
            deadline: None,
            previous_image: None,
            previous_image_source: None,
            repo: req.repo.clone(),
            work_item: req.work_item.clone(),
        };
        if !applicability.applies {
            return Ok(base);
        }
        let key = WindowKey::new(&req.repo, &req.work_item);
        if let Some(found) = self.existing(&key)? {
            self.publish_metrics(Some(&key), None);
            return Ok(already_armed(base, found));
        }
        self.store.create(&key)?;
        // Only one arm of a pair writes; a concurrent one waits for the lock and then finds it.
        let lock = self.wait_for_lock(&key)?;
        if let Some(found) = self.existing(&key)? {
            return Ok(already_armed(base, found));
        }
        // The pair has no window and this arm holds its lock: what it cannot finish, it
        // removes, so a failed arm leaves no window behind.
        let (target, image_note) = self.new_target(req);
        self.start_window(&key, &target)?;
        let picture = self.armed_outputs(&key, &target, lock);
        let settings = &target.settings;
        Ok(ArmOutcome {
            armed: true,
            reason: format!(
                "armed: watching for {} s, a tick every {} s; {}{image_note}{picture}",
                settings.window.as_secs(),
                settings.interval.as_secs(),
                applicability.reason
            ),
            deadline: Some(target.deadline),
            previous_image: target.previous_image.clone(),
            previous_image_source: target.previous_image_source,
            ..base
        })
    }

    /// Writes a new window: the log first, then `window.json`, then `target.json`; the window
    /// exists only once `target.json` is whole. What cannot be finished is discarded: what
    /// this arm wrote goes, and the window's place with it when nothing else is there.
    fn start_window(&self, key: &WindowKey, target: &WindowTarget) -> Result<(), MonitorError> {
        let fail = |e: StoreError, files: &[StateFile], log: bool| {
            let _ = self.store.discard(key, files, log);
            MonitorError::Store(e)
        };
        let artefacts = target.artefacts_dir.as_deref();
        self.store
            .start_log(key, artefacts, &logbook::header(target))
            .map_err(|e| fail(e, &[], false))?;
        // The window's own log is this arm's; a shared artefacts log keeps its section.
        let log = artefacts.is_none();
        let progress = Progress::new(target.armed_at);
        store::save(&*self.store, key, StateFile::Progress, &progress)
            .map_err(|e| fail(e, &[], log))?;
        store::save(&*self.store, key, StateFile::Target, target)
            .map_err(|e| fail(e, &[StateFile::Progress], log))?;
        Ok(())
    }

    /// The target a new window records, and a note when the container was not inspected.
    fn new_target(&self, req: &ArmRequest) -> (WindowTarget, String) {
        let now = self.fx.clock.now();
        let settings = self.config.window.clone();
        let mut armed_spec = None;
        let inspected = match (req.container.as_deref(), req.service.as_deref()) {
            (Some(c), _) => Some(self.fx.control.inspect(c)),
            (None, Some(s)) => Some(self.fx.control.inspect_service(s).map(|s| {
                armed_spec = Some(s.spec.clone()).filter(|spec| !spec.is_empty());
                s.as_target()
            })),
            (None, None) => None,
        };
        let (armed_image, image_note) = match inspected {
            None => (None, String::new()),
            Some(Ok(info)) => (Some(info), String::new()),
            Some(Err(e)) => (
                None,
                format!("; image not recorded, fencing off for this window ({e})"),
            ),
        };
        // Every field of the request, by name: a field added to one and not the other does
        // not compile.
        let (previous_image, previous_image_source) = match &req.previous_image {
            Some(flag) => (Some(flag.clone()), Some(PreviousImageSource::Flag)),
            None => match self.known_good_previous(req, armed_image.as_ref()) {
                Some(image) => (Some(image), Some(PreviousImageSource::KnownGood)),
                None => (None, None),
            },
        };
        let ArmRequest {
            repo,
            work_item,
            health_url,
            container,
            service,
            previous_image: _,
            artefacts_dir,
        } = req.clone();
        let target = WindowTarget {
            version: STATE_VERSION,
            repo,
            work_item,
            health_url,
            container,
            service,
            previous_image,
            previous_image_source,
            armed_image,
            armed_spec,
            artefacts_dir,
            deadline: add(now, settings.window),
            settings,
            prometheus: self.config.prometheus.clone(),
            armed_at: now,
        };
        (target, image_note)
    }

    /// What an earlier arm of the pair recorded, when the pair has a window already.
    fn existing(&self, key: &WindowKey) -> Result<Option<Existing>, MonitorError> {
        if !self.store.exists(key)? {
            return Ok(None);
        }
        if self.store.read(key, StateFile::Target)? != store::Read::Missing {
            let store = &*self.store;
            let Ok(target) = store::peek::<WindowTarget>(store, key, StateFile::Target) else {
                return Ok(Some(Existing::default()));
            };
            let progress = store::peek::<Progress>(store, key, StateFile::Progress).ok();
            return Ok(Some(Existing {
                deadline: Some(progress.map_or(target.deadline, |p| p.deadline(&target))),
                previous_image: target.previous_image,
                previous_image_source: target.previous_image_source,
            }));
        }
        // A target kept aside as damaged still means the pair had a window.
        Ok(self
            .store
            .kept_aside(key, StateFile::Target)?
            .then(Existing::default))
    }

    /// One step of the window: probe, classify, decide, act, persist; or the final result
    /// again for a finished window.
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be used. A damaged state file is not an
    /// error: it is kept aside and the reason names it.
    pub fn tick(&self, repo: &RepoName, work_item: &WorkItem) -> Result<TickOutcome, MonitorError> {
        let key = WindowKey::new(repo, work_item);
        if !self.store.exists(&key)? {
            self.publish_metrics(None, None);
            return Ok(not_armed(repo, work_item));
        }
        let Some(lock) = self.lock_briefly(&key)? else {
            self.publish_metrics(Some(&key), None);
            return Ok(self.busy(&key));
        };
        let outcome = self.run(Command::Tick, &key)?.outcome;
        drop(lock);
        let ticked = outcome.probed.then(|| self.fx.clock.now());
        self.publish_metrics(Some(&key), ticked);
        Ok(outcome)
    }

    /// Runs `command` on a locked window: load it, then the transition until it is done.
    fn run(&self, command: Command, key: &WindowKey) -> Result<Answer, MonitorError> {
        let now = self.fx.clock.now();
        let switches = self.switches()?;
        let (target, progress, note) = match self.load_window(key, now)? {
            Found::Window {
                target,
                progress,
                note,
            } => (target, progress, note),
            Found::Ended(outcome) => {
                let refused = Some(outcome.reason.clone());
                return Ok(Answer { outcome, refused });
            }
        };
        self.trace.step(Step::Loaded);
        self.metrics_enter(&switches, key, &progress);
        let notes: Vec<String> = note.into_iter().collect();
        let input = Input {
            target: &target,
            progress: &progress,
            switches: &switches,
            scope: &self.config.scope,
            now,
            notes: &notes,
        };
        let mut observed = Observed::default();
        loop {
            match machine::transition(command, &input, &observed) {
                Transition::Need(need) => self.observe(need, &input, &mut observed),
                Transition::Rollback {
                    intent,
                    alerts,
                    plan,
                } => {
                    // Write-ahead: the intent is on disk before anything is run.
                    self.save_rollback_copy(key, &progress, &intent)?;
                    store::save(&*self.store, key, StateFile::Progress, &intent)?;
                    self.trace.step(Step::IntentWritten);
                    self.deliver(&alerts);
                    let result = self.roll_back(&plan, &target);
                    self.trace.step(Step::RollbackRan);
                    observed.rollback = Some(result);
                }
                Transition::Done(end) => {
                    if let Some(next) = &end.progress {
                        self.save_rollback_copy(key, &progress, next)?;
                    }
                    return self.conclude(key, &target, *end);
                }
            }
        }
    }

    /// Writes `next`'s rollback record apart from its progress when it differs from the
    /// one loaded, ahead of `window.json`: a damaged `window.json` never loses it.
    fn save_rollback_copy(
        &self,
        key: &WindowKey,
        loaded: &Progress,
        next: &Progress,
    ) -> Result<(), MonitorError> {
        match RollbackCopy::of(next) {
            Some(copy) if next.rollback != loaded.rollback => {
                Ok(store::save(&*self.store, key, StateFile::Rollback, &copy)?)
            }
            _ => Ok(()),
        }
    }

    /// Observes what the transition asked for.
    fn observe(&self, need: Need, input: &Input<'_>, observed: &mut Observed) {
        let target = input.target;
        match need {
            Need::Resume => {
                let resumed = match input.progress.rollback.as_ref().map(|r| &r.plan) {
                    Some(RollbackPlan::Docker {
                        container,
                        previous_image,
                        ..
                    }) => self.fx.control.resume_rollback(container, previous_image),
                    _ => Ok(ResumedRollback::NotSettled {
                        detail: String::new(),
                    }),
                };
                observed.resumed = Some(resumed);
            }
            Need::Container => {
                let container = target.container.as_deref().unwrap_or_default();
                observed.container = Some(self.fx.control.inspect(container));
            }
            Need::Service => {
                let service = target.service.as_deref().unwrap_or_default();
                observed.service = Some(self.fx.control.inspect_service(service));
            }
            Need::Signals => {
                let settings = &target.settings;
                // A service's logs are those of every task: the same read, another source.
                let service_logs = ServiceLogs(self.fx.control);
                let control: &dyn ContainerControl = if target.service.is_some() {
                    &service_logs
                } else {
                    self.fx.control
                };
                // With Prometheus as the source, the target's logs are not read.
                let logs_of = match &target.prometheus {
                    None => target.target_name(),
                    Some(_) => None,
                };
                let mut signals = probe_signals(
                    &target.health_url,
                    settings,
                    logs_of,
                    &input.progress.log_cursor,
                    &input.progress.observations,
                    self.fx.http,
                    control,
                );
                if let Some(source) = &target.prometheus {
                    let since_arm = input
                        .now
                        .signed_duration_since(target.armed_at)
                        .to_std()
                        .unwrap_or(Duration::ZERO);
                    let quantile = settings.latency_ms.map(|_| settings.latency_quantile);
                    signals.logs = probe_prometheus(
                        source,
                        since_arm,
                        settings.recent_span(),
                        quantile,
                        settings.health_timeout,
                        self.fx.http,
                    );
                }
                observed.signals = Some(signals);
                self.trace.step(Step::Probed);
            }
            Need::ImageCheck => {
                let previous = target.previous_image.as_deref().unwrap_or_default();
                // A service's nodes pull the image: its registry's word counts too.
                let found = if target.service.is_some() {
                    self.fx.control.service_image_id(previous)
                } else {
                    self.fx.control.image_id(previous)
                };
                observed.image_check = Some(match found {
                    Ok(Some(previous_id)) => ImageCheck::Present {
                        previous_id,
                        current_id: None,
                    },
                    Ok(None) => ImageCheck::Absent,
                    Err(e) => ImageCheck::Unknown {
                        detail: crate::text::quote(&e.to_string()),
                    },
                });
            }
        }
    }

    fn roll_back(&self, plan: &RollbackPlan, target: &WindowTarget) -> Result<String, String> {
        let rollback_target = RollbackTarget {
            repo: &target.repo,
            work_item: &target.work_item,
            container: target.container.as_deref(),
            service: target.service.as_deref(),
            previous_image: target.previous_image.as_deref(),
        };
        run_rollback(
            plan,
            &rollback_target,
            self.fx.control,
            ROLLBACK_COMMAND_TIMEOUT,
        )
    }

    /// Saves, delivers and logs the end of a call; a log that cannot be written is named in
    /// the reason, never a failure.
    fn conclude(
        &self,
        key: &WindowKey,
        target: &WindowTarget,
        end: machine::End,
    ) -> Result<Answer, MonitorError> {
        let machine::End {
            progress,
            alerts,
            log_row,
            log_section,
            known_good,
            refused,
            mut outcome,
        } = end;
        // Before the finished state: a crash in between records it again, never loses it.
        if let Some(proved) = known_good
            && let Err(e) = self.record_known_good(&key.repo, proved)
        {
            outcome
                .reason
                .push_str(&format!("; known-good image not recorded: {e}"));
        }
        if let Some(progress) = &progress {
            store::save(&*self.store, key, StateFile::Progress, progress)?;
        }
        self.trace.step(Step::StateWritten);
        if let Some(progress) = &progress
            && let Err(e) = self.write_picture(key, target, progress)
        {
            outcome
                .reason
                .push_str(&format!("; picture not written: {e}"));
        }
        self.deliver(&alerts);
        let artefacts = target.artefacts_dir.as_deref();
        let head = logbook::table_head();
        let written = log_row
            .map_or(Ok(()), |row| {
                self.store.append_log_row(key, artefacts, &row, &head)
            })
            .and_then(|()| {
                log_section.map_or(Ok(()), |text| self.store.append_log(key, artefacts, &text))
            });
        // The log is for people: a failure to write it never fails the tick, but is named.
        if let Err(e) = written {
            outcome
                .reason
                .push_str(&format!("; log artefact not written: {e}"));
        }
        self.trace.step(Step::LogWritten);
        crate::text::bound_reason_in_place(&mut outcome.reason);
        Ok(Answer { outcome, refused })
    }

    /// The answer to a tick that found another tick of the window running: what the window
    /// says so far, and to come back in half an interval.
    fn busy(&self, key: &WindowKey) -> TickOutcome {
        let store = &*self.store;
        let reason =
            "another tick of this window is running: this one did not probe or act".to_owned();
        let Ok(target) = store::peek::<WindowTarget>(store, key, StateFile::Target) else {
            return TickOutcome {
                finished: false,
                requeue_after: Some(Duration::from_secs(1)),
                reason,
                ..not_armed(&key.repo, &key.work_item)
            };
        };
        let progress = store::peek::<Progress>(store, key, StateFile::Progress)
            .unwrap_or_else(|_| Progress::new(target.armed_at));
        let interval = half(target.settings.interval);
        TickOutcome {
            reason,
            ..machine::progress_outcome(&target, &progress, Some(interval), false)
        }
    }

    /// Delivers alerts; a failed delivery never fails the tick.
    fn deliver(&self, alerts: &[crate::alert::Alert]) {
        for alert in alerts {
            let _ = self.fx.alerts.send(alert);
        }
    }
}

/// What an earlier arm recorded, as `arm` answers it again.
#[derive(Default)]
struct Existing {
    deadline: Option<DateTime<Utc>>,
    previous_image: Option<String>,
    previous_image_source: Option<PreviousImageSource>,
}

fn already_armed(base: ArmOutcome, found: Existing) -> ArmOutcome {
    ArmOutcome {
        armed: true,
        already_armed: true,
        applies: true,
        reason: format!(
            "already armed: the window of {} {} is kept as it is",
            base.repo, base.work_item
        ),
        deadline: found.deadline,
        previous_image: found.previous_image,
        previous_image_source: found.previous_image_source,
        ..base
    }
}

fn not_armed(repo: &RepoName, work_item: &WorkItem) -> TickOutcome {
    TickOutcome {
        repo: repo.clone(),
        work_item: work_item.clone(),
        verdict: Verdict::Healthy,
        action: ActionKind::None,
        finished: true,
        requeue_after: None,
        reason: format!("not armed: no window for {repo} {work_item}"),
        recovered: None,
        blind: None,
        probed: false,
        ticks: 0,
        consecutive_failures: 0,
        window_requests: 0,
        window_errors_5xx: 0,
        recent_requests: 0,
        recent_errors_5xx: 0,
        rule: None,
        window_timed_requests: None,
        window_slow_requests: None,
        window_latency_ms: None,
        recent_timed_requests: None,
        recent_slow_requests: None,
        deadline: None,
    }
}

fn replay_without_target(key: &WindowKey, p: &Progress, o: &Outcome) -> TickOutcome {
    TickOutcome {
        verdict: o.verdict,
        action: o.action,
        reason: o.reason.clone(),
        recovered: o.recovered,
        ticks: p.ticks,
        consecutive_failures: p.observations.consecutive_failures,
        window_requests: p.observations.requests,
        window_errors_5xx: p.observations.errors_5xx,
        recent_requests: p
            .observations
            .recent
            .map_or(p.observations.requests, |r| r.requests),
        recent_errors_5xx: p
            .observations
            .recent
            .map_or(p.observations.errors_5xx, |r| r.errors_5xx),
        rule: p.degraded_rule,
        ..not_armed(&key.repo, &key.work_item)
    }
}

fn add(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(at)
}

fn damage_stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
        .replace(':', "")
}
