//! The `post-deploy` binary end to end on a real Docker Swarm, on its manager: a bad service
//! update rolled back and verified, a service updated or scaled to 0 by someone else
//! mid-window (`superseded`), and the orchestrator's own service, never updated.
//!
//! Needs a Docker engine that is a Swarm manager and the `post-deploy-fixture:*` images
//! (`.ci/docker-up` makes both). Without them these tests fail when `CI` is set and are
//! skipped with a note otherwise. Each test tags the fixture images under its own names, runs
//! its own services on their own ports, and removes them when it ends, passed or failed.

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

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/docker.rs"]
mod docker_cli;
#[path = "support/e2e.rs"]
mod e2e;

use docker_cli::{docker, docker_ok, require_images, service_json, spec_image};
use e2e::{Run, fixture_health, free_port, get_at};

/// How long one command of these tests may take.
const LIMIT: Duration = Duration::from_secs(120);

const HEALTHY: &str = "post-deploy-fixture:healthy";
const BAD_HEALTH: &str = "post-deploy-fixture:bad-health";

/// Whether the engine answers and is a Swarm manager. With `CI` set, either missing fails the
/// test loudly.
fn swarm() -> bool {
    let info = Command::new("docker")
        .args([
            "info",
            "--format",
            "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
        ])
        .stdin(Stdio::null())
        .output();
    let state = match &info {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => "no engine (`docker info` fails)".to_owned(),
    };
    if state != "active true" {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but this docker engine is not a Swarm manager ({state}): the Swarm \
             end-to-end tests cannot run (run .ci/docker-up)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "note: Swarm end-to-end test SKIPPED: not a Swarm manager ({state}); run \
             .ci/docker-up; CI=true makes this fail"
        );
        return false;
    }
    require_images(&[HEALTHY, BAD_HEALTH]);
    true
}

/// A name no other test (or run) uses.
fn unique(what: &str) -> String {
    docker_cli::unique("pdswarm", what)
}

/// What a test made on the engine, removed when it ends.
#[derive(Default)]
struct Cleanup {
    services: Vec<String>,
    tags: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for service in &self.services {
            let _ = docker(&["service", "rm", service]);
        }
        // The tasks' containers go with their service, a moment later.
        for service in &self.services {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                let left = docker(&[
                    "ps",
                    "-aq",
                    "--filter",
                    &format!("label=com.docker.swarm.service.name={service}"),
                ]);
                if left.stdout.iter().all(u8::is_ascii_whitespace) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        for tag in &self.tags {
            let _ = docker(&["rmi", "--no-prune", tag]);
        }
    }
}

impl Cleanup {
    /// Tags `source` as `<repo>:<tag>` for this test alone.
    fn tag(&mut self, source: &str, repo: &str, tag: &str) -> String {
        let name = format!("{repo}:{tag}");
        docker_ok(&["tag", source, &name]);
        self.tags.push(name.clone());
        name
    }

    /// A one-task service `name` on `image`, published on `port` of this host, quick to
    /// update and to stop; returns once it answers. Its task runs on this engine (the
    /// manager), wherever other nodes of the swarm are.
    fn service(&mut self, name: &str, image: &str, port: u16) {
        self.services.push(name.to_owned());
        docker_ok(&[
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--name",
            name,
            "--update-delay",
            "0s",
            "--update-monitor",
            "1s",
            "--rollback-monitor",
            "1s",
            "--stop-grace-period",
            "1s",
            "--constraint",
            "node.role==manager",
            "--publish",
            &format!("mode=host,published={port},target=8080"),
            image,
        ]);
        wait_variant(port, image_variant(image));
    }
}

/// An update of `service` to `image` by someone else (a deploy), waiting for it to converge.
fn deploy(service: &str, image: &str, port: u16) {
    docker_ok(&[
        "service",
        "update",
        "--detach=false",
        "--no-resolve-image",
        "--image",
        image,
        service,
    ]);
    wait_variant(port, image_variant(image));
}

fn image_variant(image: &str) -> &'static str {
    if image.ends_with(":bad") {
        "bad-health"
    } else {
        "healthy"
    }
}

/// One GET on loopback: status and body; `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_at(std::net::SocketAddr::from(([127, 0, 0, 1], port)), path)
}

/// Waits until the service on `port` answers as the fixture `variant`.
fn wait_variant(port: u16, variant: &str) {
    let start = Instant::now();
    while get(port, "/cgi-bin/version").map(|r| r.1).as_deref() != Some(variant) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the service on port {port} never answered as {variant}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Run {
    /// `watch` (or `arm`) of `service` with its health on `port`.
    fn service_window(
        &self,
        command: &str,
        item: &str,
        port: u16,
        service: &str,
        previous: &str,
    ) -> (i32, Value, String) {
        let url = fixture_health(port);
        self.window(command, item, &url, ("--service", service), previous)
    }

    fn tick(&self, item: &str) -> Value {
        let (code, out, stderr) = self.run(&["tick", "--repo", "e2e", "--work-item", item], LIMIT);
        assert_eq!(code, 0, "{out}\n{stderr}");
        out
    }
}

/// A bad update (healthy → bad-health) is rolled back through the service's previous spec:
/// health comes back and the spec runs the previous image again.
#[test]
fn a_bad_service_update_is_rolled_back_and_verified() {
    if !swarm() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("rollback");
    let prev = c.tag(HEALTHY, &u, "prev");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let port = free_port();
    c.service(&u, &prev, port);
    deploy(&u, &bad, port);
    assert_eq!(get(port, "/cgi-bin/health").map(|r| r.0), Some(503));

    let (code, out, stderr) =
        Run::new("pdswarm-not-the-orchestrator").service_window("watch", "a", port, &u, &prev);
    assert_eq!(code, 3, "{out}\n{stderr}");
    assert_eq!(
        (
            out["verdict"].as_str(),
            out["action"].as_str(),
            out["recovered"].as_bool()
        ),
        (Some("DEGRADED"), Some("ROLLBACK"), Some(true)),
        "{out}"
    );
    assert!(
        stderr.contains("docker service update --rollback"),
        "rolled back through the previous spec: {stderr}"
    );
    assert_eq!(spec_image(&u), prev);
    let status = &service_json(&u)["UpdateStatus"]["State"];
    assert_eq!(status, "rollback_completed");
    assert_eq!(
        get(port, "/cgi-bin/health"),
        Some((200, "ok (healthy)".to_owned()))
    );
}

/// Someone else updates the service mid-window: the window finishes `superseded` and never
/// touches the service again.
#[test]
fn a_service_update_by_someone_else_supersedes_the_window() {
    if !swarm() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("superseded");
    let v1 = c.tag(HEALTHY, &u, "v1");
    let v2 = c.tag(HEALTHY, &u, "v2");
    let port = free_port();
    c.service(&u, &v1, port);

    let run = Run::new("pdswarm-not-the-orchestrator");
    let (code, armed, stderr) = run.service_window("arm", "b", port, &u, &v1);
    assert_eq!(
        (code, &armed["armed"]),
        (0, &Value::Bool(true)),
        "{armed}\n{stderr}"
    );
    let first = run.tick("b");
    assert_eq!(first["finished"], false, "{first}");
    deploy(&u, &v2, port);
    let index = service_json(&u)["Version"]["Index"].clone();
    let out = run.tick("b");
    assert_eq!(out["finished"], true, "{out}");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("superseded: service {u} now runs {v2}")),
        "{reason}"
    );
    assert_eq!(out["action"], "NONE", "{out}");
    assert_eq!(spec_image(&u), v2);
    assert_eq!(service_json(&u)["Version"]["Index"], index, "not touched");
}

/// Someone else scales the service to 0 mid-window: its health fails, but its spec is not
/// the one the window armed on, so the window finishes `superseded` and the service is left
/// as they made it (0 replicas), never rolled back to the previous image.
#[test]
fn a_service_scaled_to_0_by_someone_else_supersedes_the_window() {
    if !swarm() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("scaled");
    // Another image than the current one, so a rollback to it could run.
    let prev = c.tag(BAD_HEALTH, &u, "prev");
    let cur = c.tag(HEALTHY, &u, "cur");
    let port = free_port();
    c.service(&u, &cur, port);

    let run = Run::new("pdswarm-not-the-orchestrator");
    let (code, armed, stderr) = run.service_window("arm", "s", port, &u, &prev);
    assert_eq!(
        (code, &armed["armed"]),
        (0, &Value::Bool(true)),
        "{armed}\n{stderr}"
    );
    let first = run.tick("s");
    assert_eq!(first["finished"], false, "{first}");
    docker_ok(&["service", "scale", "--detach=false", &format!("{u}=0")]);
    let index = service_json(&u)["Version"]["Index"].clone();
    let mut last = Value::Null;
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(1100));
        last = run.tick("s");
        if last["finished"] == true {
            break;
        }
    }
    assert_eq!(last["finished"], true, "{last}");
    let reason = last["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("superseded: the spec of service {u} was changed")),
        "{reason}"
    );
    assert_eq!(last["action"], "NONE", "{last}");
    let spec = service_json(&u);
    assert_eq!(spec["Version"]["Index"], index, "not touched");
    assert_eq!(spec["Spec"]["Mode"]["Replicated"]["Replicas"], 0);
    assert_eq!(spec_image(&u), cur);
}

/// The orchestrator's own service, by `ORCH_POST_DEPLOY_SELF_SERVICE` or because one of its
/// tasks is the orchestrator's own container, fails its health at once and has a previous
/// image to go back to: it only alerts, and its spec is never updated.
#[test]
fn the_self_service_is_never_updated() {
    if !swarm() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("self");
    let prev = c.tag(HEALTHY, &u, "prev");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let port = free_port();
    c.service(&u, &prev, port);
    deploy(&u, &bad, port);
    let before = service_json(&u)["Version"]["Index"].clone();
    let task = docker_ok(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label=com.docker.swarm.service.name={u}"),
    ]);
    let task = task.lines().next().unwrap().to_owned();

    let mut by_name = Run::new("pdswarm-not-the-orchestrator");
    by_name
        .set("SELF_SERVICE", &u)
        .set("FAIL_THRESHOLD", "1")
        .set("WINDOW_S", "4");
    let mut by_task = Run::new("pdswarm-not-the-orchestrator");
    by_task
        .set("SELF_CONTAINER", &task[..12])
        .set("FAIL_THRESHOLD", "1")
        .set("WINDOW_S", "4");
    for (what, run) in [("SELF_SERVICE", by_name), ("its task", by_task)] {
        let (code, out, stderr) = run.service_window("watch", "c", port, &u, &prev);
        assert_eq!(code, 4, "{what}: {out}\n{stderr}");
        assert_eq!(
            (out["verdict"].as_str(), out["action"].as_str()),
            (Some("DEGRADED"), Some("ALERT_ONLY")),
            "{what}: {out}"
        );
        assert_eq!(service_json(&u)["Version"]["Index"], before, "{what}");
        assert_eq!(spec_image(&u), bad, "{what}");
    }
}
