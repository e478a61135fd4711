//! A fake engine behind the docker CLI: it answers the calls the adapter makes as docker
//! would, records them, and notes every call that names the orchestrator's own container.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FakeContainer {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) image_ref: String,
    pub(super) image_id: String,
    pub(super) running: bool,
    pub(super) labels: BTreeMap<String, String>,
}

/// A Swarm service: its spec's image, its previous spec's, the state of its last update, and
/// what `docker service logs` streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FakeService {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) image: String,
    pub(super) previous: Option<String>,
    pub(super) state: Option<String>,
    /// Spec version: bumped by every update.
    pub(super) version: u64,
    /// Stamped lines (`2026-…Z text`), every task's.
    pub(super) logs: Vec<String>,
}

/// A Swarm task on a node other than this engine's: the manager lists and inspects it, this
/// engine has no container of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FakeTask {
    pub(super) id: String,
    pub(super) service_id: String,
    pub(super) node_id: String,
    /// 0: a global service's task.
    pub(super) slot: u64,
    /// Its container's id on its node; empty: not started yet.
    pub(super) container_id: String,
    pub(super) state: String,
}

#[derive(Debug, Default)]
pub(super) struct Engine {
    pub(super) services: Vec<FakeService>,
    /// Tasks on other nodes.
    pub(super) remote_tasks: Vec<FakeTask>,
    /// Task ids `docker service ps` lists that are gone by the time they are inspected.
    pub(super) vanished_tasks: Vec<String>,
    /// `docker inspect --type task` fails outright.
    pub(super) task_inspect_fails: bool,
    /// The orchestrator's own service: an update of it is a violation.
    pub(super) self_service_id: String,
    /// Updates end paused instead of converging.
    pub(super) pause_updates: bool,
    pub(super) containers: Vec<FakeContainer>,
    pub(super) images: BTreeMap<String, String>,
    pub(super) self_id: String,
    pub(super) calls: Vec<Vec<String>>,
    pub(super) violations: Vec<String>,
    pub(super) next: u64,
    pub(super) untagged: Vec<String>,
    /// Each container's log as `docker logs --timestamps` prints it, oldest first.
    pub(super) logs: BTreeMap<String, Vec<String>>,
    /// `HostConfig.LogConfig` as `docker inspect` prints it; empty: json-file.
    pub(super) log_config: String,
    /// What registries hold: image reference → the id of its config.
    pub(super) registry: BTreeMap<String, String>,
    /// Registries that speak plain HTTP only: as the real CLI, `docker manifest inspect`
    /// without `--insecure` says "no such manifest" of them.
    pub(super) http_registries: Vec<String>,
    /// The engine's insecure registry ranges (`docker info`).
    pub(super) insecure_cidrs: Vec<String>,
    /// Every registry is down.
    pub(super) registry_down: bool,
}

impl Engine {
    /// As docker resolves a reference: full id, then name, then a unique id prefix.
    pub(super) fn find(&self, r: &str) -> Option<usize> {
        let r = r.strip_prefix('/').unwrap_or(r);
        if r.is_empty() {
            return None;
        }
        let by = |f: &dyn Fn(&FakeContainer) -> bool| {
            let hits: Vec<usize> = (0..self.containers.len())
                .filter(|&i| f(&self.containers[i]))
                .collect();
            (hits.len() == 1).then(|| hits[0])
        };
        by(&|c| c.id == r)
            .or_else(|| by(&|c| c.name == r))
            .or_else(|| by(&|c| c.id.starts_with(r)))
    }

    /// As docker resolves a service reference: id, name, then a unique id prefix.
    pub(super) fn find_service(&self, r: &str) -> Option<usize> {
        let by = |f: &dyn Fn(&FakeService) -> bool| {
            let hits: Vec<usize> = (0..self.services.len())
                .filter(|&i| f(&self.services[i]))
                .collect();
            (hits.len() == 1).then(|| hits[0])
        };
        by(&|s| s.id == r)
            .or_else(|| by(&|s| s.name == r))
            .or_else(|| by(&|s| !r.is_empty() && s.id.starts_with(r)))
    }

    /// Every task of the service `service_id`, as the manager knows them: this engine's task
    /// containers (labelled with the service's id) and the other nodes' tasks.
    pub(super) fn tasks_of(&self, service_id: &str) -> Vec<FakeTask> {
        let local = self
            .containers
            .iter()
            .filter(|c| {
                c.labels
                    .get("com.docker.swarm.service.id")
                    .map(String::as_str)
                    == Some(service_id)
            })
            .map(|c| FakeTask {
                id: format!("t{}", c.id),
                service_id: service_id.to_owned(),
                node_id: "manager0node".into(),
                slot: 1,
                container_id: c.id.clone(),
                state: if c.running { "running" } else { "shutdown" }.into(),
            });
        local
            .chain(
                self.remote_tasks
                    .iter()
                    .filter(|t| t.service_id == service_id)
                    .cloned(),
            )
            .collect()
    }

    pub(super) fn image(&self, r: &str) -> Option<String> {
        self.images.get(r).cloned().or_else(|| {
            self.images
                .values()
                .chain(&self.untagged)
                .find(|id| *id == r)
                .cloned()
        })
    }

    /// `docker manifest inspect --verbose [--insecure] -- REF`, as the CLI answers it.
    fn manifest(&self, args: &[String], image: &str) -> (i32, String, String) {
        let registry = image.split_once('/').map_or("docker.io", |(r, _)| r);
        if self.registry_down {
            return (
                1,
                String::new(),
                format!(
                    "failed to configure transport: error pinging v2 registry: Get \
                     \"https://{registry}/v2/\": dial tcp {registry}: connect: connection refused"
                ),
            );
        }
        let insecure = args.iter().any(|a| a == "--insecure");
        let found = self.registry.get(image);
        match found {
            Some(id) if insecure || !self.http_registries.iter().any(|r| r == registry) => (
                0,
                json!({
                    "Ref": image,
                    "Descriptor": {
                        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000001",
                        "size": 1359,
                        "platform": {"architecture": "amd64", "os": "linux"}
                    },
                    "SchemaV2Manifest": {"schemaVersion": 2, "config": {"digest": id}},
                })
                .to_string(),
                String::new(),
            ),
            _ => (1, String::new(), format!("no such manifest: {image}")),
        }
    }

    pub(super) fn check(&mut self, call: &[String], r: &str) {
        if self
            .find(r)
            .is_some_and(|i| self.containers[i].id == self.self_id)
        {
            self.violations
                .push(format!("{call:?} names the self container"));
        }
    }

    pub(super) fn answer(
        &mut self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> (i32, String, String) {
        let mut call = vec![program.to_owned()];
        call.extend(args.iter().cloned());
        self.calls.push(call.clone());
        let last = args.last().cloned().unwrap_or_default();
        let no_such =
            |what: &str, r: &str| (1, String::new(), format!("Error: No such {what}: {r}"));
        if program == "docker-compose" && args.iter().any(|a| a == "version") {
            return (
                0,
                "docker-compose version 1.29.2\n".to_owned(),
                String::new(),
            );
        }
        if program == "docker-compose" {
            let project = args
                .windows(2)
                .find(|w| w[0] == "-p")
                .map(|w| w[1].clone())
                .unwrap_or_default();
            for c in &mut self.containers {
                if c.labels.get(LABEL_PROJECT) == Some(&project)
                    && c.labels.get(LABEL_SERVICE) == Some(&last)
                {
                    if c.id == self.self_id {
                        self.violations
                            .push(format!("{call:?} recreates the self container"));
                    }
                    c.image_id = self.images.get(&c.image_ref).cloned().unwrap_or_default();
                    c.running = true;
                }
            }
            return (0, String::new(), String::new());
        }
        if program == "failing-compose" {
            let up = args.iter().any(|a| a == "up");
            return (
                i32::from(up),
                String::new(),
                if up {
                    "ERROR: boom".into()
                } else {
                    String::new()
                },
            );
        }
        if program != "docker" {
            // a rollback command
            if let Some((_, v)) = env.iter().find(|(k, _)| k == "POST_DEPLOY_CONTAINER") {
                self.check(&call, &v.clone());
            }
            return (0, String::new(), String::new());
        }
        let verb: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
        match verb.as_slice() {
            ["inspect", ..] if has(args, "--format", "{{json .HostConfig.LogConfig}}") => {
                match self.find(&last) {
                    Some(_) if self.log_config.is_empty() => (
                        0,
                        r#"{"Type":"json-file","Config":{}}"#.to_owned(),
                        String::new(),
                    ),
                    Some(_) => (0, self.log_config.clone(), String::new()),
                    None => no_such("container", &last),
                }
            }
            ["inspect", "--type"] if has(args, "--type", "task") && self.task_inspect_fails => (
                1,
                String::new(),
                "Cannot connect to the Docker daemon".into(),
            ),
            ["inspect", "--type"] if has(args, "--type", "task") => {
                let ids = args.iter().skip_while(|a| *a != "--").skip(1);
                let all: Vec<FakeTask> = self
                    .services
                    .iter()
                    .flat_map(|s| self.tasks_of(&s.id))
                    .collect();
                let mut found = Vec::new();
                let mut missing = String::new();
                for id in ids {
                    match all.iter().find(|t| t.id == *id) {
                        Some(t) => found.push(json!({
                            "ID": t.id, "ServiceID": t.service_id, "NodeID": t.node_id,
                            "Slot": t.slot, "Name": null,
                            "Status": {"State": t.state, "ContainerStatus": {"ContainerID": t.container_id}}
                        })),
                        None => missing.push_str(&format!(
                            "Error response from daemon: task {id} not found\n"
                        )),
                    }
                }
                (
                    i32::from(!missing.is_empty()),
                    json!(found).to_string(),
                    missing,
                )
            }
            ["inspect", ..] => match self.find(&last) {
                Some(i) => {
                    let c = &self.containers[i];
                    let j = json!([{
                        "Id": c.id, "Name": format!("/{}", c.name), "Image": c.image_id,
                        "State": {"Running": c.running, "Status": if c.running { "running" } else { "exited" }},
                        "Config": {"Image": c.image_ref, "Labels": c.labels, "Env": ["A=1"], "Cmd": null},
                        "HostConfig": {"NetworkMode": "default", "RestartPolicy": {"Name": "always"}},
                        "NetworkSettings": {"Networks": {"bridge": {"Aliases": null}}},
                        "Mounts": []
                    }]);
                    (0, j.to_string(), String::new())
                }
                None => no_such("container", &last),
            },
            ["info", "--format"] => (
                0,
                json!({
                    "registry": {
                        "IndexConfigs": {"docker.io": {"Name": "docker.io", "Secure": true}},
                        "InsecureRegistryCIDRs": self.insecure_cidrs,
                    },
                    "os": "linux",
                    "arch": "x86_64",
                })
                .to_string(),
                String::new(),
            ),
            ["manifest", "inspect"] => self.manifest(args, &last),
            ["image", "inspect"] => match self.image(&last) {
                Some(id) => (
                    0,
                    json!([{"Id": id, "Config": {}}]).to_string(),
                    String::new(),
                ),
                None => no_such("image", &last),
            },
            ["service", "inspect"] => match self.find_service(&last) {
                Some(i) => {
                    let s = &self.services[i];
                    let spec = |image: &str| json!({"Name": s.name, "TaskTemplate": {"ContainerSpec": {"Image": image}}});
                    let j = json!([{
                        "ID": s.id,
                        "Version": {"Index": s.version},
                        "Spec": spec(&s.image),
                        "PreviousSpec": s.previous.as_deref().map(spec),
                        "UpdateStatus": s.state.as_ref().map(|st| json!({"State": st, "Message": "update ".to_owned() + st})),
                    }]);
                    (0, j.to_string(), String::new())
                }
                None => (
                    1,
                    "[]".to_owned(),
                    format!("Error: no such service: {last}"),
                ),
            },
            ["service", "update"] => {
                let Some(i) = self.find_service(&last) else {
                    return (1, String::new(), format!("Error: no such service: {last}"));
                };
                let id = self.services[i].id.clone();
                let runs_self = self
                    .tasks_of(&id)
                    .iter()
                    .any(|t| !self.self_id.is_empty() && t.container_id == self.self_id);
                if id == self.self_service_id || runs_self {
                    self.violations
                        .push(format!("{call:?} updates the self service"));
                }
                let paused = self.pause_updates;
                let s = &mut self.services[i];
                if args.iter().any(|a| a == "--rollback") {
                    let Some(previous) = s.previous.take() else {
                        return (
                            1,
                            String::new(),
                            "Error: service has no previous spec".into(),
                        );
                    };
                    s.previous = Some(std::mem::replace(&mut s.image, previous));
                    s.state = Some(
                        if paused {
                            "rollback_paused"
                        } else {
                            "rollback_completed"
                        }
                        .into(),
                    );
                } else if let Some(image) = values(args, "--image").first() {
                    s.previous = Some(std::mem::replace(&mut s.image, (*image).to_owned()));
                    s.state = Some(if paused { "paused" } else { "completed" }.into());
                } else {
                    return (1, String::new(), format!("unknown call {call:?}"));
                }
                s.version += 1;
                (
                    0,
                    format!("{id}\nverify: Service converged\n"),
                    String::new(),
                )
            }
            ["service", "ps"] => match self.find_service(&last) {
                Some(i) => {
                    let ids: Vec<String> = self
                        .tasks_of(&self.services[i].id)
                        .into_iter()
                        .map(|t| t.id)
                        .chain(self.vanished_tasks.iter().cloned())
                        .collect();
                    (0, ids.join("\n"), String::new())
                }
                None => (1, String::new(), format!("Error: no such service: {last}")),
            },
            ["service", "logs"] => match self.find_service(&last) {
                Some(i) => (0, self.services[i].logs.join("\n"), String::new()),
                None => (1, String::new(), format!("no such task or service: {last}")),
            },
            ["compose", ..] => (
                1,
                String::new(),
                "docker: 'compose' is not a docker command.".to_owned(),
            ),
            ["ps", ..] => {
                let wanted: Vec<(String, String)> = args
                    .windows(2)
                    .filter(|w| w[0] == "--filter")
                    .filter_map(|w| {
                        w[1].strip_prefix("label=")?
                            .split_once('=')
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    })
                    .collect();
                // `name=^/PREFIX`: the only name filter the adapter uses
                let prefixes: Vec<String> = args
                    .windows(2)
                    .filter(|w| w[0] == "--filter")
                    .filter_map(|w| w[1].strip_prefix("name=^/").map(str::to_owned))
                    .collect();
                let rows: Vec<String> = self
                    .containers
                    .iter()
                    .filter(|c| wanted.iter().all(|(k, v)| c.labels.get(k) == Some(v)))
                    .filter(|c| prefixes.iter().all(|p| c.name.starts_with(p.as_str())))
                    .map(|c| json!({"ID": c.id, "Names": c.name}).to_string())
                    .collect();
                (0, rows.join("\n"), String::new())
            }
            ["rename", ..] => {
                let (old, new) = (&args[args.len() - 2], &last);
                self.check(&call, old);
                if self.containers.iter().any(|c| c.name == *new) {
                    return (1, String::new(), format!("Error: name {new} is in use"));
                }
                match self.find(old) {
                    Some(i) => {
                        self.containers[i].name.clone_from(new);
                        (0, String::new(), String::new())
                    }
                    None => no_such("container", old),
                }
            }
            ["stop" | "start" | "update" | "rm", ..] => {
                self.check(&call, &last);
                match self.find(&last) {
                    Some(i) if verb[0] == "rm" => {
                        self.containers.remove(i);
                        (0, String::new(), String::new())
                    }
                    Some(i) => {
                        if verb[0] != "update" {
                            self.containers[i].running = verb[0] == "start";
                        }
                        (0, String::new(), String::new())
                    }
                    None => no_such("container", &last),
                }
            }
            ["network", "connect"] => {
                self.check(&call, &last);
                (0, String::new(), String::new())
            }
            ["create", ..] => {
                let name = args
                    .windows(2)
                    .find(|w| w[0] == "--name")
                    .map(|w| w[1].clone())
                    .unwrap_or_default();
                self.check(&call, &name);
                let image = after_dashes(args).first().cloned().unwrap_or_default();
                if self.containers.iter().any(|c| c.name == name) {
                    return (1, String::new(), format!("Conflict: name {name} in use"));
                }
                let Some(image_id) = self.image(&image) else {
                    return no_such("image", &image);
                };
                self.next += 1;
                let id = format!("{:064x}", 0xfeed_0000_u64 + self.next);
                let labels = args
                    .windows(2)
                    .take_while(|w| w[0] != "--")
                    .filter(|w| w[0] == "--label")
                    .filter_map(|w| w[1].split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                self.containers.push(FakeContainer {
                    id: id.clone(),
                    name,
                    image_ref: image,
                    image_id,
                    running: false,
                    labels,
                });
                (0, format!("{id}\n"), String::new())
            }
            ["tag", ..] => {
                let (src, dst) = (&args[args.len() - 2], &last);
                match self.image(src) {
                    Some(id) => {
                        // an image whose last tag moves stays, by its id
                        self.untagged.extend(self.images.insert(dst.clone(), id));
                        (0, String::new(), String::new())
                    }
                    None => no_such("image", src),
                }
            }
            // As docker does, `--since` is inclusive: every line stamped at or after it.
            ["logs", ..] => match self.find(&last) {
                Some(i) => {
                    let all = self
                        .logs
                        .get(&self.containers[i].name)
                        .cloned()
                        .unwrap_or_default();
                    let tail = values(args, "--tail")
                        .first()
                        .map_or(all.len(), |n| n.parse::<usize>().unwrap());
                    let since = values(args, "--since").first().map(|s| t(s));
                    let out: Vec<String> = all[all.len().saturating_sub(tail)..]
                        .iter()
                        .filter(|l| since.is_none_or(|s| split_stamp(l.as_bytes()).unwrap().0 >= s))
                        .cloned()
                        .collect();
                    (0, out.concat(), String::new())
                }
                None => no_such("container", &last),
            },
            _ => (1, String::new(), format!("unknown call {call:?}")),
        }
    }
}

pub(super) struct FakeExec(pub(super) Mutex<Engine>);

impl Exec for FakeExec {
    fn run(&self, inv: &Invocation, _: StdoutTo, _: bool) -> Result<Ended<Captured>, ControlError> {
        if inv.program == "missing-compose" {
            return Err(ControlError::ProgramMissing {
                program: inv.program.clone(),
                detail: "not found".into(),
            });
        }
        let (code, stdout, stderr) =
            self.0
                .lock()
                .unwrap()
                .answer(&inv.program, &inv.args, &inv.env);
        Ok(Ended::Finished(Captured {
            status: Status::Code(code),
            stdout: stdout.into_bytes(),
            stdout_truncated: false,
            stderr_tail: stderr,
        }))
    }

    fn stream(
        &self,
        inv: &Invocation,
        _: usize,
        on_line: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<Ended<Status>, ControlError> {
        let (code, stdout, stderr) =
            self.0
                .lock()
                .unwrap()
                .answer(&inv.program, &inv.args, &inv.env);
        for line in stdout.split_inclusive('\n') {
            on_line(Pipe::Stdout, line.as_bytes());
        }
        if !stderr.is_empty() {
            on_line(Pipe::Stderr, format!("{stderr}\n").as_bytes());
        }
        Ok(Ended::Finished(Status::Code(code)))
    }
}

pub(super) fn fake(engine: Engine, self_container: &str) -> (DockerCli, Arc<FakeExec>) {
    let exec = Arc::new(FakeExec(Mutex::new(engine)));
    let cli = DockerCli {
        board: Switchboard::fixed_parts("docker".into(), ComposeProgram::Auto, None),
        self_container: self_container.into(),
        self_service: "orchestrator".into(),
        exec: exec.clone(),
        settle: Duration::ZERO,
        clock: Arc::new(SystemClock),
    };
    (cli, exec)
}

/// A service `name` with id `id` on `image`, whose previous spec ran `previous`.
pub(super) fn fs(id: &str, name: &str, image: &str, previous: Option<&str>) -> FakeService {
    FakeService {
        id: id.to_owned(),
        name: name.to_owned(),
        image: image.to_owned(),
        previous: previous.map(str::to_owned),
        state: None,
        version: 1,
        logs: Vec::new(),
    }
}

/// A task container of the service `service_id`.
pub(super) fn task(id: &str, name: &str, service_id: &str) -> FakeContainer {
    let mut c = fc(id, name, None);
    c.labels.insert(
        "com.docker.swarm.service.id".to_owned(),
        service_id.to_owned(),
    );
    c
}

pub(super) fn compose_file() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images/compose.yaml")
        .display()
        .to_string()
}

pub(super) fn fc(id: &str, name: &str, service: Option<(&str, &str)>) -> FakeContainer {
    let mut labels = BTreeMap::new();
    if let Some((p, s)) = service {
        labels.insert(LABEL_PROJECT.to_owned(), p.to_owned());
        labels.insert(LABEL_SERVICE.to_owned(), s.to_owned());
        labels.insert(LABEL_WORKING_DIR.to_owned(), "/nonexistent".to_owned());
        labels.insert(LABEL_CONFIG_FILES.to_owned(), compose_file());
    }
    FakeContainer {
        id: id.to_owned(),
        name: name.to_owned(),
        image_ref: "app:cur".into(),
        image_id: "sha256:cur".into(),
        running: true,
        labels,
    }
}

pub(super) fn images() -> BTreeMap<String, String> {
    [("app:cur", "sha256:cur"), ("app:prev", "sha256:prev")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}
