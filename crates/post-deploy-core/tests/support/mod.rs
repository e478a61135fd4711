//! Fakes for the core's injected traits, and a scenario driver over simulated time.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    reason = "test support: each test file uses part of it"
)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use post_deploy_core::config::CommandLine;
use post_deploy_core::store::{MemoryStore, WindowKey};
use post_deploy_core::{
    Alert, AlertError, AlertSink, ArmOutcome, ArmRequest, Clock, CommandOutcome, Config,
    ContainerControl, ContainerInfo, ControlError, Effects, HealthSample, HttpProbe, LogCursor,
    Monitor, ProbeError, ProbeFailure, RepoName, ResumedRollback, ServiceInfo, ServiceRollback,
    Step, TickOutcome, Trace, WorkItem,
};

pub const NEW_IMAGE: &str = "sha256:new";
pub const OLD_IMAGE: &str = "sha256:old";

/// The simulated world: a clock, a target whose health depends on the image it runs, its
/// access log, and a record of every mutating call.
pub struct World {
    pub now: Cell<DateTime<Utc>>,
    /// The image the container runs.
    pub image: RefCell<String>,
    /// Health per image: does `/health` pass on it?
    pub healthy_images: RefCell<Vec<String>>,
    /// Explicit health answers, taken first (true: pass).
    pub health_script: RefCell<VecDeque<bool>>,
    /// The monitor's own HTTP fault.
    pub http_broken: Cell<bool>,
    /// docker missing.
    pub docker_broken: Cell<bool>,
    /// (time, line) access log.
    pub logs: RefCell<Vec<(DateTime<Utc>, String)>>,
    /// What the next log reads say for the tick's reason.
    pub log_note: RefCell<Option<String>>,
    /// Every mutating call: rollbacks and commands.
    pub mutations: RefCell<Vec<String>>,
    /// Whether the previous image is on the engine.
    pub previous_present: Cell<bool>,
    /// The rollback (docker or command) fails.
    pub rollback_fails: Cell<bool>,
    /// The rollback heals: it puts the previous image in place.
    pub rollback_heals: Cell<bool>,
    /// Panic inside the rollback, after its effect (a crash during it).
    pub crash_during_rollback: Cell<bool>,
    /// Alerts delivered.
    pub alerts: RefCell<Vec<Alert>>,
    /// Alert delivery fails.
    pub alerts_broken: Cell<bool>,
    /// How an interrupted built-in rollback is settled; `None`: as a control without one.
    /// `Finished` puts the previous image in place.
    pub resume: RefCell<Option<ResumedRollback>>,
    /// Every resumption asked for.
    pub resumes: RefCell<Vec<String>>,
    /// Every log read: the cursor it was given, the cursor it answered, the lines it passed on.
    pub log_reads: RefCell<Vec<(LogCursor, LogCursor, u64)>>,
    /// What a Prometheus server answers to `fetch`; `None`: it cannot be reached.
    pub prometheus: RefCell<Option<Prom>>,
    /// What a server answers, as it sent it (status, body), before `prometheus` is asked.
    pub prometheus_raw: RefCell<Option<RawProm>>,
    /// Every URL fetched.
    pub fetched: RefCell<Vec<String>>,
    /// The Swarm service `api-svc` runs `image`; its spec names it as `api:1.0` or `api:1.1`
    /// unless someone else set this spec image.
    pub spec_override: RefCell<Option<String>>,
    /// The image of the service's previous spec.
    pub previous_spec: RefCell<Option<String>>,
    /// The service's task containers.
    pub service_tasks: RefCell<Vec<ContainerInfo>>,
    /// The fingerprint of the service's spec the fake engine reports.
    pub spec: RefCell<String>,
    /// What the services' registry answers for (image, id of its config); it is
    /// [`REGISTRY`].
    pub registry: RefCell<Vec<(String, String)>>,
    /// The registry does not answer.
    pub registry_down: Cell<bool>,
    /// Images removed from this engine (they may still be in the registry).
    pub removed_images: RefCell<Vec<String>>,
}

/// The registry a service's images come from in these tests.
pub const REGISTRY: &str = "registry.test:5000";

/// A Prometheus server's answers: the window's totals of the counter selected by a selector
/// holding `err_total` (5xx) or not (requests), and the histogram quantile in seconds (NaN:
/// no requests). `error`: every query answers `status: error` with this text.
#[derive(Debug, Clone, Default)]
pub struct Prom {
    pub requests: f64,
    pub errors: f64,
    pub latency_s: f64,
    pub error: Option<String>,
}

impl Prom {
    fn answer(&self, url: &str) -> (u16, Vec<u8>) {
        if let Some(error) = &self.error {
            let body =
                serde_json::json!({"status": "error", "errorType": "bad_data", "error": error});
            return (400, body.to_string().into_bytes());
        }
        let value = if url.contains("histogram_quantile") {
            self.latency_s
        } else if url.contains("err_total") {
            self.errors
        } else {
            self.requests
        };
        let text = if value.is_nan() {
            "NaN".to_owned()
        } else {
            value.to_string()
        };
        let body = serde_json::json!({
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.0, text]}]},
        });
        (200, body.to_string().into_bytes())
    }
}

/// A Prometheus server's answers as it sent them, status and body, to the queries of the
/// selector holding `err_total` (5xx), of a histogram, or of the other selector (requests).
#[derive(Debug, Clone)]
pub struct RawProm {
    pub requests: (u16, Vec<u8>),
    pub errors: (u16, Vec<u8>),
    pub latency: (u16, Vec<u8>),
}

impl RawProm {
    fn answer(&self, url: &str) -> (u16, Vec<u8>) {
        if url.contains("histogram_quantile") {
            self.latency.clone()
        } else if url.contains("err_total") {
            self.errors.clone()
        } else {
            self.requests.clone()
        }
    }
}

/// The Swarm service the world knows.
pub const SERVICE: &str = "api-svc";

/// A task container of the service.
pub fn task(id: &str, name: &str) -> ContainerInfo {
    ContainerInfo {
        id: id.to_owned(),
        name: name.to_owned(),
        image_id: String::new(),
        image_ref: String::new(),
        running: true,
    }
}

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

impl World {
    pub fn new() -> Self {
        Self {
            now: Cell::new(t0()),
            image: RefCell::new(NEW_IMAGE.to_owned()),
            healthy_images: RefCell::new(vec![NEW_IMAGE.to_owned(), OLD_IMAGE.to_owned()]),
            health_script: RefCell::new(VecDeque::new()),
            http_broken: Cell::new(false),
            docker_broken: Cell::new(false),
            log_note: RefCell::new(None),
            logs: RefCell::new(Vec::new()),
            mutations: RefCell::new(Vec::new()),
            previous_present: Cell::new(true),
            rollback_fails: Cell::new(false),
            rollback_heals: Cell::new(true),
            crash_during_rollback: Cell::new(false),
            alerts: RefCell::new(Vec::new()),
            alerts_broken: Cell::new(false),
            resume: RefCell::new(None),
            resumes: RefCell::new(Vec::new()),
            log_reads: RefCell::new(Vec::new()),
            prometheus: RefCell::new(None),
            prometheus_raw: RefCell::new(None),
            fetched: RefCell::new(Vec::new()),
            spec_override: RefCell::new(None),
            previous_spec: RefCell::new(Some("api:1.0".to_owned())),
            service_tasks: RefCell::new(vec![task("7a5c0000aaaa", "api-svc.1.t1")]),
            spec: RefCell::new("spec-at-arm".to_owned()),
            registry: RefCell::new(Vec::new()),
            registry_down: Cell::new(false),
            removed_images: RefCell::new(Vec::new()),
        }
    }

    /// The deployed image is broken: health fails on it.
    pub fn break_new_image(&self) {
        self.healthy_images.borrow_mut().retain(|i| i != NEW_IMAGE);
    }

    pub fn advance(&self, d: Duration) {
        self.now
            .set(self.now.get() + chrono::Duration::from_std(d).unwrap());
    }

    /// Logs `n` requests with `errors` 5xx among them, stamped now.
    pub fn log_requests(&self, n: u64, errors: u64) {
        let now = self.now.get();
        let mut logs = self.logs.borrow_mut();
        for i in 0..n {
            let status = if i < errors { 503 } else { 200 };
            logs.push((
                now,
                format!(
                    "10.0.0.1 - - [27/Nov/2026:03:20:00 +0000] \"GET /api HTTP/1.1\" {status} 12"
                ),
            ));
        }
    }

    pub fn rollbacks(&self) -> usize {
        self.mutations.borrow().len()
    }

    pub fn alert_events(&self) -> Vec<String> {
        self.alerts
            .borrow()
            .iter()
            .map(|a| a.event.to_string())
            .collect()
    }
}

impl Clock for World {
    fn now(&self) -> DateTime<Utc> {
        self.now.get()
    }
}

impl HttpProbe for World {
    fn get(&self, _url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
        if self.http_broken.get() {
            return Err(ProbeError("no network namespace".into()));
        }
        let pass = match self.health_script.borrow_mut().pop_front() {
            Some(p) => p,
            None => self.healthy_images.borrow().contains(&self.image.borrow()),
        };
        Ok(if pass {
            HealthSample::pass(200, Duration::from_millis(12))
        } else {
            HealthSample::fail(
                ProbeFailure::Status { status: 503 },
                Duration::from_millis(30),
            )
        })
    }

    fn fetch(
        &self,
        url: &str,
        _timeout: Duration,
        _max_body: usize,
    ) -> Result<(u16, Vec<u8>), ProbeError> {
        self.fetched.borrow_mut().push(url.to_owned());
        if let Some(raw) = &*self.prometheus_raw.borrow() {
            return Ok(raw.answer(url));
        }
        match &*self.prometheus.borrow() {
            Some(prom) => Ok(prom.answer(url)),
            None => Err(ProbeError(format!("connection refused ({url})"))),
        }
    }
}

impl ContainerControl for World {
    fn inspect(&self, container: &str) -> Result<ContainerInfo, ControlError> {
        if self.docker_broken.get() {
            return Err(ControlError::ProgramMissing {
                program: "docker".into(),
                detail: "not found".into(),
            });
        }
        // The adapter's contract, modelled: the lines after `cursor` (ties at its instant
        // counted), and the cursor after them. The real de-duplication is the docker adapter's
        // `LogTally`, tested there; what the core must do is hand back the cursor it was given.
        if container != "api-1" {
            return Err(ControlError::ContainerNotFound(container.into()));
        }
        let image_id = self.image.borrow().clone();
        let image_ref = if image_id == OLD_IMAGE {
            "api:1.0"
        } else {
            "api:1.1"
        }
        .to_owned();
        Ok(ContainerInfo {
            id: "0123456789abcdef".to_owned(),
            name: container.to_owned(),
            image_id,
            image_ref,
            running: true,
        })
    }

    fn inspect_service(&self, service: &str) -> Result<ServiceInfo, ControlError> {
        if self.docker_broken.get() {
            return Err(ControlError::ProgramMissing {
                program: "docker".into(),
                detail: "not found".into(),
            });
        }
        if service != SERVICE {
            return Err(ControlError::ServiceNotFound(service.into()));
        }
        let image_id = self.image.borrow().clone();
        let image = self.spec_override.borrow().clone().unwrap_or_else(|| {
            if image_id == OLD_IMAGE {
                "api:1.0"
            } else {
                "api:1.1"
            }
            .to_owned()
        });
        Ok(ServiceInfo {
            id: "5e41ce0123456789".to_owned(),
            name: service.to_owned(),
            image_id: if self.spec_override.borrow().is_some() {
                String::new()
            } else {
                image_id
            },
            image,
            previous_spec_image: self.previous_spec.borrow().clone(),
            tasks: self.service_tasks.borrow().clone(),
            spec: self.spec.borrow().clone(),
        })
    }

    fn read_service_logs(
        &self,
        service: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        if service != SERVICE {
            return Err(ControlError::ServiceNotFound(service.into()));
        }
        self.read_logs(service, cursor, sink)
    }

    fn rollback_service(
        &self,
        service: &str,
        previous_image: &str,
    ) -> Result<ServiceRollback, ControlError> {
        self.mutations
            .borrow_mut()
            .push(format!("service rollback {service} {previous_image}"));
        if self.rollback_fails.get() {
            return Err(ControlError::Failed {
                what: "docker service update".into(),
                detail: "update paused".into(),
            });
        }
        let how = if self.previous_spec.borrow().as_deref() == Some(previous_image) {
            ServiceRollback::PreviousSpec
        } else {
            ServiceRollback::Image
        };
        if self.rollback_heals.get() {
            *self.image.borrow_mut() = OLD_IMAGE.to_owned();
            *self.spec_override.borrow_mut() = None;
            *self.previous_spec.borrow_mut() = Some("api:1.1".to_owned());
        }
        assert!(
            !self.crash_during_rollback.get(),
            "crash during the service rollback"
        );
        Ok(how)
    }

    fn image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        if self.docker_broken.get() {
            return Err(ControlError::ProgramMissing {
                program: "docker".into(),
                detail: "not found".into(),
            });
        }
        if self.removed_images.borrow().iter().any(|i| i == image) {
            return Ok(None);
        }
        Ok(match image {
            "api:1.0" => self.previous_present.get().then(|| OLD_IMAGE.to_owned()),
            "api:1.1" => Some(NEW_IMAGE.to_owned()),
            _ => None,
        })
    }

    /// As the docker adapter: this engine's image, else the registry's word.
    fn service_image_id(&self, image: &str) -> Result<Option<String>, ControlError> {
        if let Some(id) = self.image_id(image)? {
            return Ok(Some(id));
        }
        if self.registry_down.get() {
            return Err(ControlError::Failed {
                what: format!("the registry {REGISTRY} (asked for {image})"),
                detail: "connection refused".into(),
            });
        }
        Ok(self
            .registry
            .borrow()
            .iter()
            .find(|(i, _)| i == image)
            .map(|(_, id)| id.clone()))
    }

    fn read_logs(
        &self,
        _container: &str,
        cursor: &LogCursor,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<LogCursor, ControlError> {
        if self.docker_broken.get() {
            return Err(ControlError::ProgramMissing {
                program: "docker".into(),
                detail: "not found".into(),
            });
        }
        let mut next = cursor.clone();
        let mut passed = 0;
        let mut seen_at_since = 0;
        for (at, line) in self.logs.borrow().iter() {
            if *at < cursor.since {
                continue;
            }
            if *at == cursor.since {
                seen_at_since += 1;
                if seen_at_since <= cursor.seen_at_since {
                    continue;
                }
            }
            sink(line.as_bytes());
            sink(b"\n");
            passed += 1;
            if *at == next.since {
                next.seen_at_since += 1;
            } else {
                next = LogCursor {
                    seen_at_since: 1,
                    ..LogCursor::at(*at)
                };
            }
        }
        self.log_reads
            .borrow_mut()
            .push((cursor.clone(), next.clone(), passed));
        next.note = self.log_note.borrow().clone();
        Ok(next)
    }

    fn rollback(&self, container: &str, previous_image: &str) -> Result<(), ControlError> {
        self.mutations
            .borrow_mut()
            .push(format!("rollback {container} {previous_image}"));
        if self.rollback_fails.get() {
            return Err(ControlError::Failed {
                what: "docker run".into(),
                detail: "exit 125".into(),
            });
        }
        if self.rollback_heals.get() {
            *self.image.borrow_mut() = OLD_IMAGE.to_owned();
        }
        assert!(
            !self.crash_during_rollback.get(),
            "crash during the rollback"
        );
        Ok(())
    }

    fn resume_rollback(
        &self,
        container: &str,
        previous_image: &str,
    ) -> Result<ResumedRollback, ControlError> {
        self.resumes
            .borrow_mut()
            .push(format!("resume {container} {previous_image}"));
        match self.resume.borrow().clone() {
            None => Ok(ResumedRollback::NotSettled {
                detail: String::new(),
            }),
            Some(r) => {
                if matches!(r, ResumedRollback::Finished { .. }) {
                    *self.image.borrow_mut() = OLD_IMAGE.to_owned();
                }
                Ok(r)
            }
        }
    }

    fn run_command(
        &self,
        command: &CommandLine,
        env: &[(String, String)],
        _timeout: Duration,
    ) -> Result<CommandOutcome, ControlError> {
        let repo = env
            .iter()
            .find(|(k, _)| k == "POST_DEPLOY_REPO")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        self.mutations
            .borrow_mut()
            .push(format!("command {command} for {repo}"));
        if self.rollback_heals.get() {
            *self.image.borrow_mut() = OLD_IMAGE.to_owned();
        }
        assert!(
            !self.crash_during_rollback.get(),
            "crash during the rollback command"
        );
        Ok(CommandOutcome::Exited {
            code: i32::from(self.rollback_fails.get()),
            stderr_tail: String::new(),
        })
    }
}

impl AlertSink for World {
    fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        self.alerts.borrow_mut().push(alert.clone());
        if self.alerts_broken.get() {
            Err(AlertError("webhook down".into()))
        } else {
            Ok(())
        }
    }
}

/// Panics when a given step completes: a crash at that point of the tick.
pub struct CrashAt(pub Cell<Option<Step>>);

impl Trace for CrashAt {
    fn step(&self, step: Step) {
        if self.0.get() == Some(step) {
            self.0.set(None);
            panic!("crash after {step:?}");
        }
    }
}

/// A scenario: a world, a store (in memory, or files under a state folder), and the
/// configuration.
pub struct Scenario {
    pub world: World,
    pub dir: tempfile::TempDir,
    /// The in-memory store the monitor keeps its windows in; `None`: files under `dir`.
    pub memory: Option<MemoryStore>,
    pub vars: Vec<(String, String)>,
    pub repo: RepoName,
    pub work_item: WorkItem,
    pub container: Option<String>,
    pub service: Option<String>,
    pub previous_image: Option<String>,
    pub artefacts_dir: Option<PathBuf>,
}

impl Scenario {
    /// INTERVAL 30 s, WINDOW 300 s, FAIL_THRESHOLD 3, MIN_REQUESTS 20, ratio 0.05; repo `api`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            world: World::new(),
            vars: vec![
                ("ORCH_POST_DEPLOY_REPOS".into(), "api".into()),
                ("ORCH_POST_DEPLOY_WINDOW_S".into(), "300".into()),
                ("ORCH_POST_DEPLOY_INTERVAL_S".into(), "30".into()),
                (
                    "ORCH_POST_DEPLOY_STATE_DIR".into(),
                    dir.path().display().to_string(),
                ),
            ],
            dir,
            memory: Some(MemoryStore::new()),
            repo: RepoName::new("api").unwrap(),
            work_item: WorkItem::new("PR-42").unwrap(),
            container: Some("api-1".into()),
            service: None,
            previous_image: Some("api:1.0".into()),
            artefacts_dir: None,
        }
    }

    /// As `new`, watching the Swarm service `api-svc` instead of a container.
    pub fn service() -> Self {
        Self {
            container: None,
            service: Some(SERVICE.into()),
            ..Self::new()
        }
    }

    /// As `new`, with the windows in files under the state folder, as the binary keeps them.
    pub fn on_files() -> Self {
        Self {
            memory: None,
            ..Self::new()
        }
    }

    pub fn key(&self) -> WindowKey {
        WindowKey::new(&self.repo, &self.work_item)
    }

    /// The bytes of a file of the window, in whichever store it lives.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        match &self.memory {
            Some(m) => m.file(&self.key(), name),
            None => std::fs::read(self.window_dir().join(name)).ok(),
        }
    }

    /// Writes (or, with `None`, removes) a file of the window, as a person could.
    pub fn set_file(&self, name: &str, bytes: Option<&[u8]>) {
        match (&self.memory, bytes) {
            (Some(m), _) => m.set_file(&self.key(), name, bytes),
            (None, Some(bytes)) => std::fs::write(self.window_dir().join(name), bytes).unwrap(),
            (None, None) => std::fs::remove_file(self.window_dir().join(name)).unwrap(),
        }
    }

    /// The names of the window's files, sorted.
    pub fn file_names(&self) -> Vec<String> {
        match &self.memory {
            Some(m) => m.file_names(&self.key()),
            None => {
                let mut names: Vec<String> = std::fs::read_dir(self.window_dir())
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                names
            }
        }
    }

    /// The window's log artefact.
    pub fn log(&self) -> String {
        let artefacts = self.artefacts_dir.as_deref();
        match &self.memory {
            Some(m) => m.log(&self.key(), artefacts),
            None => std::fs::read_to_string(
                artefacts
                    .map_or_else(|| self.window_dir(), std::path::Path::to_path_buf)
                    .join("16-post-deploy-log.md"),
            )
            .unwrap(),
        }
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        let name = format!("ORCH_POST_DEPLOY_{name}");
        self.vars.retain(|(k, _)| *k != name);
        self.vars.push((name, value.to_owned()));
        self
    }

    pub fn config(&self) -> Config {
        Config::from_vars(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap()
    }

    pub fn monitor(&self) -> Monitor<'_> {
        let w = &self.world;
        let monitor = Monitor::new(
            self.config(),
            Effects {
                http: w,
                clock: w,
                control: w,
                alerts: w,
            },
        );
        match &self.memory {
            Some(m) => monitor.with_store(m.clone()),
            None => monitor,
        }
    }

    pub fn arm(&self) -> ArmOutcome {
        self.monitor()
            .arm(&ArmRequest {
                repo: self.repo.clone(),
                work_item: self.work_item.clone(),
                health_url: "http://api.internal/health".into(),
                container: self.container.clone(),
                service: self.service.clone(),
                previous_image: self.previous_image.clone(),
                artefacts_dir: self.artefacts_dir.clone(),
            })
            .unwrap()
    }

    pub fn tick(&self) -> TickOutcome {
        self.monitor().tick(&self.repo, &self.work_item).unwrap()
    }

    /// Ticks as a host would, waiting `requeue_after` between ticks, until finished; runs
    /// `each` before every tick with the tick's index.
    pub fn run(&self, mut each: impl FnMut(&World, usize)) -> Vec<TickOutcome> {
        let mut outs = Vec::new();
        for i in 0..1000 {
            each(&self.world, i);
            let out = self.tick();
            let finished = out.finished;
            let wait = out.requeue_after;
            outs.push(out);
            if finished {
                return outs;
            }
            self.world.advance(wait.unwrap());
        }
        panic!("the window never finished");
    }

    pub fn window_dir(&self) -> PathBuf {
        self.dir.path().join(".post-deploy-state-api").join("PR-42")
    }
}
