//! The `post-deploy` binary end to end on a real Docker Swarm of two nodes and a registry:
//! a service with a task on each node, its images in the registry and not on the manager's
//! engine; a bad update rolled back once from the registry, its 5xx lines read from the tasks
//! of both nodes and counted exactly, converged on both nodes and verified; a second window
//! superseded by a newer update; the orchestrator's own service never updated; with the
//! registry stopped, the rollback refused rather than an update to an image no node can pull;
//! and `arm` finding a known-good image that only the registry still has.
//!
//! Needs what `.ci/swarm-nodes up` makes (after `.ci/docker-up`): a worker node in its own
//! network namespace at 10.213.0.2 joined to this engine's swarm, and a registry at
//! 10.213.0.1:5000 both engines trust. Without them these tests fail when `CI` is set and
//! are skipped with a note otherwise. Each test pushes its own images under its own names,
//! runs its own services on their own ports, and removes the services when it ends.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/docker.rs"]
mod docker_cli;
#[path = "support/e2e.rs"]
mod e2e;

use docker_cli::{docker, docker_ok, require_images, service_json, spec_image};
use e2e::{Run, free_port, get_at};

/// How long one command of these tests may take.
const LIMIT: Duration = Duration::from_secs(120);
/// The registry `.ci/swarm-nodes up` starts.
const REGISTRY: &str = "10.213.0.1:5000";
/// The port of the registry the registry-stopped test starts and stops for itself.
const OWN_REGISTRY_PORT: u16 = 5001;
/// The worker's address, where its tasks publish their ports.
const WORKER: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 2);
const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// The worker's node name.
const WORKER_NAME: &str = "pd-node2";

const HEALTHY: &str = "post-deploy-fixture:healthy";
const BAD_API: &str = "post-deploy-fixture:bad-api";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/swarm-nodes")
}

/// Whether the two-node swarm and its registry are up. With `CI` set, their absence fails the
/// test loudly.
fn two_nodes() -> bool {
    let status = Command::new("bash")
        .arg(script())
        .arg("status")
        .stdin(Stdio::null())
        .output();
    let line = match &status {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(e) => e.to_string(),
    };
    let up = status.as_ref().is_ok_and(|o| o.status.success()) && line.ends_with(" up");
    if !up {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the two-node swarm is not up ({line}): run .ci/swarm-nodes up"
        );
        let _ = writeln!(
            std::io::stderr(),
            "note: two-node Swarm end-to-end test SKIPPED: {line}; run .ci/swarm-nodes up; \
             CI=true makes this fail"
        );
        return false;
    }
    require_images(&[HEALTHY, BAD_API]);
    true
}

/// A name no other test (or run) uses.
fn unique(what: &str) -> String {
    docker_cli::unique("pdnodes", what)
}

/// What a test made, removed when it ends, passed or failed.
#[derive(Default)]
struct Cleanup {
    services: Vec<String>,
    tags: Vec<String>,
    registry_port: Option<u16>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for service in &self.services {
            let _ = docker(&["service", "rm", service]);
        }
        for tag in &self.tags {
            let _ = docker(&["rmi", "--no-prune", tag]);
        }
        if let Some(port) = self.registry_port {
            let _ = Command::new("bash")
                .arg(script())
                .args(["registry-down", &port.to_string()])
                .status();
        }
    }
}

impl Cleanup {
    /// Pushes `source` to `registry` as `<repo>:<tag>` and removes that reference from this
    /// engine again: the nodes pull it from the registry.
    /// The tests' pushes go one at a time: the same layers pushed to several repositories of
    /// the registry at once are a race of the registry's own, not of this project.
    fn push(&mut self, registry: &str, source: &str, repo: &str, tag: &str) -> String {
        static ONE_PUSH: Mutex<()> = Mutex::new(());
        let name = format!("{registry}/{repo}:{tag}");
        docker_ok(&["tag", source, &name]);
        self.tags.push(name.clone());
        {
            let _one = ONE_PUSH.lock().unwrap_or_else(PoisonError::into_inner);
            docker_ok(&["push", "-q", &name]);
        }
        forget(&name);
        name
    }

    /// `HEALTHY` pushed to the registry as `<name>:<good>` and `BAD_API` as `<name>:bad`,
    /// and the service `name` on the first, published on a free port: the two images and
    /// the port.
    fn registry_service(&mut self, name: &str, good: &str) -> (String, String, u16) {
        let good = self.push(REGISTRY, HEALTHY, name, good);
        let bad = self.push(REGISTRY, BAD_API, name, "bad");
        let port = free_port();
        self.service(name, &good, port);
        (good, bad, port)
    }

    /// A service `name` on `image` with one task on each node, published on `port` of
    /// each node; returns once both answer.
    fn service(&mut self, name: &str, image: &str, port: u16) {
        self.services.push(name.to_owned());
        docker_ok(&[
            "service",
            "create",
            "--detach=false",
            "--quiet",
            "--name",
            name,
            "--replicas",
            "2",
            "--replicas-max-per-node",
            "1",
            "--update-delay",
            "0s",
            "--update-monitor",
            "1s",
            "--rollback-monitor",
            "1s",
            "--stop-grace-period",
            "1s",
            "--publish",
            &format!("mode=host,published={port},target=8080"),
            image,
        ]);
        let nodes: BTreeSet<String> = running_nodes(name);
        let manager = docker_ok(&["info", "--format", "{{.Name}}"]);
        assert_eq!(
            nodes,
            BTreeSet::from([manager, WORKER_NAME.to_owned()]),
            "a task on each node"
        );
        wait_both(port, variant(image));
    }
}

/// Builds `tag`: `base` with a label of its own, so an image of its own.
fn build_labelled(base: &str, tag: &str) {
    let mut child = Command::new("docker")
        .args([
            "build",
            "-q",
            "--label",
            &format!("pdnodes={tag}"),
            "-t",
            tag,
            "-",
        ])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("FROM {base}\n").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "docker build of {tag}");
}

/// Removes every reference of `image` from this engine (its tag and the digest a pull by
/// the service left), so that only the registry has it under that name.
fn forget(image: &str) {
    let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
    let refs = docker_ok(&[
        "image",
        "ls",
        "--digests",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}",
        repo,
    ]);
    for r in refs.split_whitespace() {
        if !r.ends_with(":<none>") && !r.ends_with("@<none>") {
            let _ = docker(&["rmi", "--no-prune", r]);
        }
    }
    assert!(
        !docker(&["image", "inspect", image]).status.success(),
        "{image} is still on this engine"
    );
}

/// The nodes the service's running tasks are on.
fn running_nodes(service: &str) -> BTreeSet<String> {
    docker_ok(&[
        "service",
        "ps",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Node}}",
        service,
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

/// An update of `service` to `image` by someone else (a deploy), waiting for it to converge
/// on both nodes.
fn deploy(service: &str, image: &str, port: u16) {
    docker_ok(&[
        "service",
        "update",
        "--detach=false",
        "--quiet",
        "--image",
        image,
        service,
    ]);
    wait_both(port, variant(image));
}

fn variant(image: &str) -> &'static str {
    if image.contains(":bad") {
        "bad-api"
    } else {
        "healthy"
    }
}

/// One GET: status and body; `None` when nothing answers.
fn get(ip: Ipv4Addr, port: u16, path: &str) -> Option<(u16, String)> {
    get_at(SocketAddr::new(IpAddr::V4(ip), port), path)
}

/// Waits until the tasks on both nodes answer as the fixture `variant`.
fn wait_both(port: u16, variant: &str) {
    for ip in [LOCAL, WORKER] {
        let start = Instant::now();
        while get(ip, port, "/cgi-bin/version").map(|r| r.1).as_deref() != Some(variant) {
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "the task on {ip}:{port} never answered as {variant}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `n` requests of the API on the task at `ip`; every one answers `status`.
fn hit_api(ip: Ipv4Addr, port: u16, n: usize, status: u16) {
    for i in 0..n {
        let got = get(ip, port, &format!("/cgi-bin/api?i={i}")).map(|r| r.0);
        assert_eq!(got, Some(status), "request {i} to {ip}:{port}");
    }
}

/// Requests on the tasks of both nodes: 7 on the manager's, 5 on the worker's, all 5xx.
const ON_MANAGER: usize = 7;
const ON_WORKER: usize = 5;
const BAD_REQUESTS: u64 = 12;

impl Run {
    /// A window on the service whose health is the manager's task's `/cgi-bin/health` on
    /// `port`; judged on 5xx only, from 12 requests on (the two nodes' requests together,
    /// never one node's alone).
    fn on_service(not_self: &str) -> Self {
        let mut run = Self::new(not_self);
        run.set("MIN_REQUESTS", &BAD_REQUESTS.to_string())
            .set("5XX_THRESHOLD", "0.5")
            .set("WINDOW_S", "30");
        run
    }

    fn arm_service(&self, item: &str, port: u16, service: &str, previous: &str) {
        let url = format!("http://127.0.0.1:{port}/cgi-bin/health");
        let (code, out, stderr) = self.window("arm", item, &url, ("--service", service), previous);
        assert_eq!(
            (code, &out["armed"]),
            (0, &Value::Bool(true)),
            "{out}\n{stderr}"
        );
    }

    fn tick(&self, item: &str) -> Value {
        let (code, out, stderr) = self.run(&["tick", "--repo", "e2e", "--work-item", item], LIMIT);
        assert_eq!(code, 0, "{out}\n{stderr}");
        out
    }

    /// Ticks `item` a second apart until it finishes; every tick's answer.
    fn tick_to_the_end(&self, item: &str) -> Vec<Value> {
        self.tick_until(item, |out| out["finished"] == true)
    }

    /// Ticks `item` a second apart until an answer is `done`; every tick's answer.
    fn tick_until(&self, item: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
        let start = Instant::now();
        let mut ticks = Vec::new();
        loop {
            let out = self.tick(item);
            let stop = done(&out);
            ticks.push(out);
            if stop {
                return ticks;
            }
            assert!(start.elapsed() < LIMIT, "never finished: {ticks:?}");
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Arms `item` on `service` with the health URL `url`, sends `BAD_REQUESTS` failing API
    /// requests to its task on the worker, and ticks until DEGRADED; that tick, which only
    /// alerts.
    fn degraded_on_the_worker(
        &self,
        item: &str,
        url: &str,
        service: &str,
        previous: &str,
        port: u16,
    ) -> Value {
        let (code, out, stderr) = self.window("arm", item, url, ("--service", service), previous);
        assert_eq!(
            (code, &out["armed"]),
            (0, &Value::Bool(true)),
            "{out}\n{stderr}"
        );
        hit_api(WORKER, port, BAD_REQUESTS as usize, 500);
        std::thread::sleep(Duration::from_millis(2500));
        let ticks = self.tick_until(item, |t| t["verdict"] == "DEGRADED");
        let degraded = ticks.last().unwrap().clone();
        assert_eq!(degraded["action"], "ALERT_ONLY", "{degraded}");
        degraded
    }
}

/// 12 failing API requests, on the tasks of both nodes; then long enough for their lines to
/// be read (past the adapter's settle time).
fn bad_traffic(port: u16) {
    hit_api(LOCAL, port, ON_MANAGER, 500);
    hit_api(WORKER, port, ON_WORKER, 500);
    std::thread::sleep(Duration::from_millis(2500));
}

/// A bad update from the registry is rolled back once, to an image the manager's engine does
/// not have: the 5xx lines of both nodes' tasks counted exactly, both nodes back on the
/// previous image, recovery verified. Then a second window, superseded by a newer update;
/// then the same bad update on the orchestrator's own service, never updated.
#[test]
fn a_bad_update_from_the_registry_is_rolled_back_on_both_nodes() {
    if !two_nodes() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("rollback");
    let (prev, bad, port) = c.registry_service(&u, "prev");
    deploy(&u, &bad, port);
    forget(&prev);

    let run = Run::on_service("pdnodes-not-the-orchestrator");
    run.arm_service("a", port, &u, &prev);
    bad_traffic(port);
    let ticks = run.tick_to_the_end("a");
    let first = &ticks[0];
    assert_eq!(first["action"], "ROLLBACK", "{first}");
    // Both nodes' lines, each once: 7 + 5 (fewer than 12 is not even judged).
    assert_eq!(first["window_errors_5xx"], BAD_REQUESTS, "{first}");
    assert_eq!(first["window_requests"], BAD_REQUESTS, "{first}");
    let last = ticks.last().unwrap();
    assert_eq!(
        (
            last["verdict"].as_str(),
            last["action"].as_str(),
            last["recovered"].as_bool()
        ),
        (Some("DEGRADED"), Some("ROLLBACK"), Some(true)),
        "{last}"
    );
    // Read again and again, never counted twice: the health probes' lines are 200s.
    assert_eq!(last["window_errors_5xx"], BAD_REQUESTS, "{last}");
    let rollbacks = ticks
        .iter()
        .filter(|t| t["reason"].as_str().unwrap().contains("rolled back to"))
        .count();
    assert_eq!(rollbacks, 1, "{ticks:?}");
    // The window's own rollback changed the service's spec: never taken for someone else's.
    assert!(
        ticks
            .iter()
            .all(|t| !t["reason"].as_str().unwrap().contains("superseded")),
        "{ticks:?}"
    );
    assert_eq!(
        service_json(&u)["UpdateStatus"]["State"],
        "rollback_completed"
    );
    assert!(spec_image(&u).starts_with(&format!("{prev}@sha256:")));
    wait_both(port, "healthy");
    hit_api(LOCAL, port, 1, 200);
    hit_api(WORKER, port, 1, 200);
    assert_eq!(running_nodes(&u).len(), 2);

    // A second window, superseded by a newer update from the registry (an image of its own:
    // the same content under another tag is the same image to a digest-pinned spec).
    let v3 = format!("{u}:v3");
    build_labelled(HEALTHY, &v3);
    c.tags.push(v3.clone());
    let newer = c.push(REGISTRY, &v3, &u, "v3");
    run.arm_service("b", port, &u, &prev);
    let watching = run.tick("b");
    assert_eq!(watching["finished"], false, "{watching}");
    deploy(&u, &newer, port);
    let index = service_json(&u)["Version"]["Index"].clone();
    let out = run.tick("b");
    assert_eq!(
        (&out["finished"], &out["action"]),
        (&Value::Bool(true), &Value::from("NONE")),
        "{out}"
    );
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("superseded: service {u} now runs {newer}")),
        "{reason}"
    );
    assert_eq!(service_json(&u)["Version"]["Index"], index, "not touched");

    // The same bad update, on the orchestrator's own service: alert only, never updated.
    deploy(&u, &bad, port);
    let index = service_json(&u)["Version"]["Index"].clone();
    let own = Run::on_service(&u);
    own.arm_service("c", port, &u, &newer);
    bad_traffic(port);
    let ticks = own.tick_until("c", |t| t["verdict"] == "DEGRADED");
    let degraded = ticks.last().unwrap();
    assert_eq!(degraded["action"], "ALERT_ONLY", "{degraded}");
    assert!(
        degraded["reason"]
            .as_str()
            .unwrap()
            .contains("is the orchestrator's own"),
        "{degraded}"
    );
    assert_eq!(service_json(&u)["Version"]["Index"], index, "never updated");
    assert!(spec_image(&u).starts_with(&format!("{bad}@sha256:")));
}

/// The previous image is in a registry that has stopped, and not on the manager's engine: the
/// rollback is refused (alert only, the reason names the registry), and the service is left
/// on the bad image rather than updated to one no node can pull.
#[test]
fn with_the_registry_stopped_the_rollback_is_refused() {
    if !two_nodes() {
        return;
    }
    let mut c = Cleanup::default();
    c.registry_port = Some(OWN_REGISTRY_PORT);
    let registry = format!("10.213.0.1:{OWN_REGISTRY_PORT}");
    let own_registry = |verb: &str| {
        let ok = Command::new("bash")
            .arg(script())
            .args([verb, &OWN_REGISTRY_PORT.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, ".ci/swarm-nodes {verb} {OWN_REGISTRY_PORT}");
    };
    own_registry("registry-up");
    let u = unique("stopped");
    let prev = c.push(&registry, HEALTHY, &u, "prev");
    let bad = c.push(&registry, BAD_API, &u, "bad");
    let port = free_port();
    c.service(&u, &prev, port);
    deploy(&u, &bad, port);
    forget(&prev);
    own_registry("registry-down");
    let index = service_json(&u)["Version"]["Index"].clone();

    let run = Run::on_service("pdnodes-not-the-orchestrator");
    run.arm_service("a", port, &u, &prev);
    bad_traffic(port);
    let mut ticks = run.tick_until("a", |t| t["verdict"] == "DEGRADED");
    std::thread::sleep(Duration::from_secs(1));
    ticks.push(run.tick("a"));
    let first = &ticks[0];
    assert_eq!(
        (first["verdict"].as_str(), first["action"].as_str()),
        (Some("DEGRADED"), Some("ALERT_ONLY")),
        "{first}"
    );
    assert_eq!(first["window_errors_5xx"], BAD_REQUESTS, "{first}");
    let reason = first["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("cannot check the images (the registry {registry}")),
        "{reason}"
    );
    assert_eq!(ticks.last().unwrap()["action"], "ALERT_ONLY");
    assert_eq!(service_json(&u)["Version"]["Index"], index, "never updated");
    assert!(spec_image(&u).starts_with(&format!("{bad}@sha256:")));
    wait_both(port, "bad-api");
}

/// A window that proves a registry image records it as known good; after a bad update, with
/// that image gone from the manager's engine, `arm` without `--previous-image` finds it
/// because its registry answers for it, and the window rolls back to it.
#[test]
fn arm_finds_a_known_good_image_its_registry_answers_for() {
    if !two_nodes() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("known");
    let (good, bad, port) = c.registry_service(&u, "good");
    let proved = spec_image(&u);

    let mut run = Run::on_service("pdnodes-not-the-orchestrator");
    run.set("WINDOW_S", "4");
    run.arm_service("proof", port, &u, &good);
    let last = run.tick_to_the_end("proof").pop().unwrap();
    assert_eq!(
        (last["verdict"].as_str(), last["action"].as_str()),
        (Some("HEALTHY"), Some("NONE")),
        "{last}"
    );
    let (_, listed, _) = run.run(
        &["known-good", "--repo", "e2e", "--service", &u, "--json"],
        LIMIT,
    );
    assert_eq!(listed[0]["image"], proved.as_str(), "{listed}");

    deploy(&u, &bad, port);
    forget(&good);
    assert!(!docker(&["image", "inspect", &proved]).status.success());
    run.set("WINDOW_S", "30");
    let url = format!("http://127.0.0.1:{port}/cgi-bin/health");
    let (code, armed, stderr) = run.run(
        &[
            "arm",
            "--repo",
            "e2e",
            "--work-item",
            "next",
            "--health-url",
            &url,
            "--service",
            &u,
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(armed["previous_image"], proved.as_str(), "{armed}");
    assert_eq!(armed["previous_image_source"], "known_good", "{armed}");
    bad_traffic(port);
    let ticks = run.tick_until("next", |t| t["verdict"] == "DEGRADED");
    assert_eq!(ticks.last().unwrap()["action"], "ROLLBACK", "{ticks:?}");
    assert_eq!(spec_image(&u), proved);
    wait_both(port, "healthy");
}

/// The worker's engine, as `.ci/swarm-nodes up` starts it.
const WORKER_SOCK: &str = "unix:///run/post-deploy-node2.sock";

/// The orchestrator's own container is a task of the service on the WORKER node, configured
/// as `ORCH_POST_DEPLOY_SELF_CONTAINER` by the id prefix a task container's hostname is (how
/// a process in a task knows its container); the manager's engine has no such container. A
/// bad update: DEGRADED, alert only, the service never updated.
#[test]
fn a_service_whose_task_on_the_worker_is_the_self_container_is_never_updated() {
    if !two_nodes() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("selfworker");
    let prev = c.push(REGISTRY, HEALTHY, &u, "prev");
    let bad = c.push(REGISTRY, BAD_API, &u, "bad");
    let port = free_port();
    c.services.push(u.clone());
    docker_ok(&[
        "service",
        "create",
        "--detach=false",
        "--quiet",
        "--name",
        &u,
        "--replicas",
        "1",
        "--constraint",
        &format!("node.hostname=={WORKER_NAME}"),
        "--update-delay",
        "0s",
        "--stop-grace-period",
        "1s",
        "--publish",
        &format!("mode=host,published={port},target=8080"),
        &prev,
    ]);
    docker_ok(&[
        "service",
        "update",
        "--detach=false",
        "--quiet",
        "--image",
        &bad,
        &u,
    ]);
    let start = Instant::now();
    while get(WORKER, port, "/cgi-bin/version")
        .map(|r| r.1)
        .as_deref()
        != Some("bad-api")
    {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the worker's task"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(running_nodes(&u), BTreeSet::from([WORKER_NAME.to_owned()]));
    let on_worker = docker_ok(&[
        "-H",
        WORKER_SOCK,
        "ps",
        "--quiet",
        "--no-trunc",
        "--filter",
        &format!("label=com.docker.swarm.service.name={u}"),
        "--filter",
        "status=running",
    ]);
    let container = on_worker.trim();
    assert_eq!(
        container.len(),
        64,
        "one running task container: {on_worker}"
    );
    let hostname = &container[..12];
    assert!(
        !docker(&["inspect", "--type", "container", hostname])
            .status
            .success(),
        "the manager's engine does not have the worker's container"
    );
    let index = service_json(&u)["Version"]["Index"].clone();

    let mut run = Run::on_service("pdnodes-not-the-orchestrator");
    run.set("SELF_CONTAINER", hostname);
    let url = format!("http://{WORKER}:{port}/cgi-bin/health");
    let degraded = run.degraded_on_the_worker("w", &url, &u, &prev, port);
    let reason = degraded["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("container {hostname} is the orchestrator's own")),
        "{reason}"
    );
    assert_eq!(service_json(&u)["Version"]["Index"], index, "never updated");
    assert!(spec_image(&u).starts_with(&format!("{bad}@sha256:")));

    // The same, with the self container named by its task container's name on the worker
    // (`SERVICE.SLOT.TASK`), which no engine but the worker's resolves.
    let name = docker_ok(&[
        "-H",
        WORKER_SOCK,
        "inspect",
        "--format",
        "{{.Name}}",
        container,
    ]);
    let name = name.trim().trim_start_matches('/');
    assert!(name.starts_with(&format!("{u}.1.")), "{name}");
    let mut by_name = Run::on_service("pdnodes-not-the-orchestrator");
    by_name.set("SELF_CONTAINER", name);
    by_name.degraded_on_the_worker("n", &url, &u, &prev, port);
    assert_eq!(service_json(&u)["Version"]["Index"], index, "never updated");
}
