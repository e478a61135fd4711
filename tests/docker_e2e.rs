//! The `post-deploy` binary end to end on a real Docker engine: plain and compose rollbacks,
//! the orchestrator's own container, the 5xx ratio from real container logs, a healthy
//! target, a superseded window and a missing previous image.
//!
//! Needs a Docker engine and the `post-deploy-fixture:*` images (`.ci/docker-up`). Without
//! an engine these tests fail when `CI` is set and are skipped with a note otherwise. Each
//! test tags the fixture images under its own names, uses its own containers, compose project
//! and state folder, and removes them when it ends, passed or failed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::print_stderr,
    missing_docs,
    unreachable_pub,
    reason = "tests"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/docker.rs"]
mod docker_cli;
#[path = "support/e2e.rs"]
mod e2e;

use docker_cli::{docker, docker_ok};
use e2e::{Run, fixture_health, get_at, rollback_line};

/// Whether the engine answers and holds the fixture images this file uses.
fn engine() -> bool {
    docker_cli::engine_with(&[HEALTHY, BAD_HEALTH, BAD_API])
}

const HEALTHY: &str = "post-deploy-fixture:healthy";
const BAD_HEALTH: &str = "post-deploy-fixture:bad-health";
const BAD_API: &str = "post-deploy-fixture:bad-api";

/// A name no other test (or run) uses: lowercase letters and digits only, as compose v1
/// keeps project names.
fn unique(what: &str) -> String {
    docker_cli::unique("pde2e", what)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// What a test made on the engine, removed when it ends.
#[derive(Default)]
struct Cleanup {
    containers: Vec<String>,
    tags: Vec<String>,
    /// Compose projects, with the environment their file needs.
    projects: Vec<(String, Vec<(String, String)>)>,
    /// Networks, removed after the containers.
    networks: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (project, env) in &self.projects {
            let _ = Command::new("docker-compose")
                .args([
                    "-p",
                    project,
                    "-f",
                    "fixtures/images/compose.yaml",
                    "down",
                    "--timeout",
                    "1",
                ])
                .current_dir(workspace())
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output();
        }
        for name in &self.containers {
            // the container and any failed one parked by a rollback
            let parked = docker(&[
                "ps",
                "-aq",
                "--filter",
                &format!("name=^/{name}-post-deploy-failed-"),
            ]);
            let mut all: Vec<String> = String::from_utf8_lossy(&parked.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            all.push(name.clone());
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(all.iter().map(String::as_str));
            let _ = docker(&args);
        }
        for network in &self.networks {
            let _ = docker(&["network", "rm", network]);
        }
        for tag in &self.tags {
            let _ = docker(&["rmi", "--no-prune", tag]);
        }
    }
}

impl Cleanup {
    /// Tags `source` as `<unique>:<tag>` for this test alone.
    fn tag(&mut self, source: &str, repo: &str, tag: &str) -> String {
        let name = format!("{repo}:{tag}");
        docker_ok(&["tag", source, &name]);
        self.tags.push(name.clone());
        name
    }

    /// A plain container on `image`, published on a loopback port, with settings a rollback
    /// must keep.
    fn run_plain(&mut self, name: &str, image: &str) -> String {
        self.containers.push(name.to_owned());
        docker_ok(&[
            "run",
            "-d",
            "--name",
            name,
            "-p",
            "127.0.0.1::8080",
            "-e",
            "FIXTURE_MESSAGE=kept across rollback",
            "--label",
            "post-deploy.e2e=plain",
            "--restart",
            "unless-stopped",
            image,
        ])
    }
}

fn inspect(container: &str) -> Value {
    let text = docker_ok(&["inspect", "--type", "container", container]);
    serde_json::from_str::<Value>(&text).unwrap()[0].clone()
}

fn image_id(image: &str) -> String {
    docker_ok(&["image", "inspect", "--format", "{{.Id}}", image])
}

fn published_port(container: &str) -> u16 {
    let out = docker_ok(&["port", container, "8080/tcp"]);
    let first = out.lines().next().unwrap();
    first.rsplit(':').next().unwrap().parse().unwrap()
}

/// One GET on loopback: status and body; `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_at(std::net::SocketAddr::from(([127, 0, 0, 1], port)), path)
}

/// Waits until the fixture's httpd answers on `port`.
fn wait_ready(port: u16) {
    wait_ready_at(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
}

/// Waits until the fixture's httpd answers at `addr`.
fn wait_ready_at(addr: std::net::SocketAddr) {
    let start = Instant::now();
    while get_at(addr, "/cgi-bin/version").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the fixture at {addr} never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where a container's port 8080 answers on the network `net` (its address there).
fn address_on(container: &str, net: &str) -> std::net::SocketAddr {
    let ip = inspect(container)["NetworkSettings"]["Networks"][net]["IPAddress"]
        .as_str()
        .unwrap()
        .parse::<std::net::IpAddr>()
        .unwrap();
    std::net::SocketAddr::new(ip, 8080)
}

impl Run {
    fn watch(
        &self,
        item: &str,
        port: u16,
        container: &str,
        previous: &str,
    ) -> (i32, Value, String) {
        let url = fixture_health(port);
        self.window("watch", item, &url, ("--container", container), previous)
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn env_of(c: &Value) -> Vec<String> {
    c["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

/// (a) A plain container fails its health checks: it is recreated on the previous image with
/// its port, environment, labels and restart policy, and the failed one is kept, stopped.
#[test]
fn plain_container_rolls_back_to_the_previous_image() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("plain");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    let old_id = c.run_plain(&u, &bad);
    let port = published_port(&u);
    wait_ready(port);

    let (code, out, stderr) = Run::new("pde2e-not-the-orchestrator").watch("a", port, &u, &prev);
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

    let now = inspect(&u);
    assert_ne!(now["Id"], old_id.as_str());
    assert_eq!(now["Image"].as_str().unwrap(), image_id(&prev));
    assert_eq!(now["Config"]["Image"], prev.as_str());
    assert_eq!(now["State"]["Running"], true);
    assert_eq!(published_port(&u), port, "the port mapping is kept");
    assert!(env_of(&now).contains(&"FIXTURE_MESSAGE=kept across rollback".to_owned()));
    assert_eq!(now["Config"]["Labels"]["post-deploy.e2e"], "plain");
    assert_eq!(now["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped");
    assert_eq!(
        get(port, "/cgi-bin/health"),
        Some((200, "ok (healthy)".to_owned()))
    );
    assert_eq!(
        get(port, "/cgi-bin/env").map(|r| r.1),
        Some("kept across rollback".to_owned())
    );

    // the failed container is kept, stopped, renamed, and will not come back by itself
    let old = inspect(&old_id);
    assert!(
        old["Name"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/{u}-post-deploy-failed-")),
        "{}",
        old["Name"]
    );
    assert_eq!(old["State"]["Running"], false);
    assert_eq!(old["HostConfig"]["RestartPolicy"]["Name"], "no");
}

/// (b) A compose service: the previous image is tagged as the service's image and compose
/// recreates the service.
#[test]
fn compose_service_rolls_back_through_compose() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let project = unique("compose");
    let prev = c.tag(HEALTHY, &project, "prev");
    let current = c.tag(BAD_HEALTH, &project, "current");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let compose_env = vec![
        ("FIXTURE_IMAGE".to_owned(), current.clone()),
        ("FIXTURE_HOST_PORT".to_owned(), port.to_string()),
        ("FIXTURE_MESSAGE".to_owned(), "from compose e2e".to_owned()),
    ];
    c.projects.push((project.clone(), compose_env.clone()));
    // relative -f, as people type it: compose v1 records it relative to here
    let up = Command::new("docker-compose")
        .args([
            "-p",
            &project,
            "-f",
            "fixtures/images/compose.yaml",
            "up",
            "-d",
        ])
        .current_dir(workspace())
        .envs(compose_env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let id = docker_ok(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    let name = inspect(&id)["Name"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    wait_ready(port);

    let mut run = Run::new("pde2e-not-the-orchestrator");
    for (k, v) in &compose_env {
        run.env(k, v);
    }
    let (code, out, stderr) = run.watch("b", port, &name, &prev);
    assert_eq!(code, 3, "{out}\n{stderr}");
    assert_eq!(out["action"], "ROLLBACK");

    let now = inspect(&name);
    assert_ne!(now["Id"].as_str().unwrap(), id);
    assert_eq!(now["Image"].as_str().unwrap(), image_id(&prev));
    assert_eq!(
        image_id(&current),
        image_id(&prev),
        "the service's image reference now names the previous image"
    );
    assert_eq!(
        now["Config"]["Labels"]["com.docker.compose.project"],
        project.as_str()
    );
    assert!(env_of(&now).contains(&"FIXTURE_MESSAGE=from compose e2e".to_owned()));
    assert_eq!(
        get(port, "/cgi-bin/health"),
        Some((200, "ok (healthy)".to_owned()))
    );
}

/// (c) The orchestrator's own container degrades: alert only, never restarted.
#[test]
fn the_orchestrators_own_container_is_never_touched() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("self");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    c.run_plain(&u, &bad);
    let port = published_port(&u);
    wait_ready(port);
    let before = inspect(&u);

    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("SELF_CONTAINER", &u).set("WINDOW_S", "5");
    let (code, out, stderr) = run.watch("c", port, &u, &prev);
    assert_eq!(code, 4, "{out}\n{stderr}");
    assert_eq!(
        (out["verdict"].as_str(), out["action"].as_str()),
        (Some("DEGRADED"), Some("ALERT_ONLY")),
        "{out}"
    );

    let after = inspect(&u);
    assert_eq!(after["Id"], before["Id"]);
    assert_eq!(after["State"]["StartedAt"], before["State"]["StartedAt"]);
    assert_eq!(after["RestartCount"], before["RestartCount"]);
    assert_eq!(after["Image"], before["Image"]);
    assert_eq!(after["State"]["Running"], true);
}

/// (d) Health passes but the API answers 500: the 5xx ratio read from the container's own
/// logs alone makes it DEGRADED, and it rolls back.
#[test]
fn the_5xx_ratio_alone_rolls_back() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("ratio");
    let bad = c.tag(BAD_API, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    c.run_plain(&u, &bad);
    let port = published_port(&u);
    wait_ready(port);
    assert_eq!(get(port, "/cgi-bin/health").map(|r| r.0), Some(200));

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sent = 0_u32;
            while !stop.load(Ordering::SeqCst) {
                // refused while the container is recreated: keep going
                let _ = get(port, &format!("/cgi-bin/api?i={sent}"));
                sent += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            sent
        })
    };
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("MIN_REQUESTS", "5");
    let (code, out, stderr) = run.watch("d", port, &u, &prev);
    stop.store(true, Ordering::SeqCst);
    let sent = load.join().unwrap();
    assert_eq!(code, 3, "{out}\n{stderr}");
    assert_eq!(out["action"], "ROLLBACK");
    // the rule that fired is the ratio's, not the health probes'
    let degraded_line = rollback_line(&stderr);
    assert!(
        degraded_line.contains("5xx ratio") && degraded_line.contains("is above"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("2 consecutive failed health probes"),
        "{stderr}"
    );
    assert!(sent > 5);
    assert_eq!(inspect(&u)["Image"].as_str().unwrap(), image_id(&prev));
    assert_eq!(get(port, "/cgi-bin/api").map(|r| r.0), Some(200));
}

/// (e) A healthy container is left alone.
#[test]
fn a_healthy_container_is_left_alone() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("healthy");
    let current = c.tag(HEALTHY, &u, "current");
    let prev = c.tag(BAD_HEALTH, &u, "prev");
    let id = c.run_plain(&u, &current);
    let port = published_port(&u);
    wait_ready(port);

    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "4").set("MIN_REQUESTS", "1");
    let (code, out, stderr) = run.watch("e", port, &u, &prev);
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(
        (out["verdict"].as_str(), out["action"].as_str()),
        (Some("HEALTHY"), Some("NONE")),
        "{out}"
    );
    // the health probes themselves are access lines read from the logs
    assert!(out["window_requests"].as_u64().unwrap() >= 3, "{out}");
    assert_eq!(out["window_errors_5xx"], 0);
    let now = inspect(&u);
    assert_eq!(now["Id"].as_str().unwrap(), id);
    assert_eq!(now["Image"].as_str().unwrap(), image_id(&current));
}

/// (f) A newer deploy replaced the container after arm: the window finishes, superseded, and
/// acts no more. The health URL is refused from the start and `FAIL_THRESHOLD` is 1, with the
/// previous image on the engine: without the fencing the first tick would roll the newer
/// container back (checked by making `fenced` answer `None`: the container is recreated on
/// the previous image).
#[test]
fn a_window_is_superseded_by_a_newer_deploy() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("superseded");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    let newer = c.tag(BAD_API, &u, "newer");
    c.run_plain(&u, &bad);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("FAIL_THRESHOLD", "1");
    // A port nothing listens on: every probe of this window fails, refused.
    let refused = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = fixture_health(refused);
    let pair = ["--repo", "e2e", "--work-item", "f"];
    let (code, armed, _) = run.run(
        &[
            &["arm"][..],
            &pair,
            &[
                "--health-url",
                &url,
                "--container",
                &u,
                "--previous-image",
                &prev,
            ],
        ]
        .concat(),
        Duration::from_secs(60),
    );
    assert_eq!((code, armed["armed"].as_bool()), (0, Some(true)), "{armed}");

    docker_ok(&["rm", "-f", &u]);
    let newer_id = c.run_plain(&u, &newer);
    for i in 0..3 {
        let (code, out, stderr) =
            run.run(&[&["tick"][..], &pair].concat(), Duration::from_secs(60));
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(out["finished"], true, "tick {i}: {out}");
        assert_ne!(out["action"], "ROLLBACK", "tick {i}: {out}");
        assert!(
            out["reason"].as_str().unwrap().contains("superseded"),
            "tick {i}: {out}"
        );
        assert!(!stderr.contains("post-deploy alert"), "tick {i}: {stderr}");
        // more than half an interval: not a duplicate
        std::thread::sleep(Duration::from_millis(700));
    }
    let now = inspect(&u);
    assert_eq!(
        now["Id"].as_str().unwrap(),
        newer_id,
        "a superseded window acts no more"
    );
    assert_eq!(now["Image"].as_str().unwrap(), image_id(&newer));
    let parked = docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("name=^/{u}-post-deploy-failed-"),
    ]);
    assert!(parked.trim().is_empty(), "a container was parked: {parked}");
}

/// (g) The previous image is not on the engine: alert only, the container untouched.
#[test]
fn a_missing_previous_image_only_alerts() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("missing");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let id = c.run_plain(&u, &bad);
    let port = published_port(&u);
    wait_ready(port);
    let before = inspect(&u);

    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "4");
    let (code, out, stderr) = run.watch("g", port, &u, &format!("{u}:never-built"));
    assert_eq!(code, 4, "{out}\n{stderr}");
    assert_eq!(
        (out["verdict"].as_str(), out["action"].as_str()),
        (Some("DEGRADED"), Some("ALERT_ONLY")),
        "{out}"
    );
    let after = inspect(&u);
    assert_eq!(after["Id"].as_str().unwrap(), id);
    assert_eq!(after["State"]["StartedAt"], before["State"]["StartedAt"]);
    assert_eq!(after["Name"], before["Name"]);
}

/// A stand-in for the docker CLI: forwards every call to `docker`, logs the mutating ones, and
/// right after the first mutating call whose verb is `$PDE2E_KILL_AFTER` (`network connect` is
/// `network-connect`) SIGKILLs the process that made it, as a crash at that point would. The
/// docker call itself has finished: the engine is left exactly as that step leaves it.
const CRASHING_DOCKER: &str = r#"#!/bin/sh
docker "$@"
rc=$?
verb="$1"
[ "$1" = network ] && verb="network-$2"
case "$verb" in
  rename|create|network-connect|network-disconnect|stop|start|restart|kill|update|rm)
    echo "$*" >> "$PDE2E_LOG"
    if [ "$verb" = "$PDE2E_KILL_AFTER" ] && [ ! -e "$PDE2E_LOG.killed" ]; then
      : > "$PDE2E_LOG.killed"
      kill -KILL "$PPID"
    fi ;;
esac
exit $rc
"#;

/// How the next tick is expected to settle the interrupted rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// The replacement runs the previous image, on the same port.
    Finished,
    /// The previous image is gone: the parked container runs under the name again.
    PutBack,
}

/// A tick is SIGKILLed right after one step of the plain recreate (`kill_after`, a docker
/// verb); the next tick settles the rollback from what the engine shows: a container runs
/// under the name, on the previous image or the parked one, and the reason says which. The
/// window rolls back once: no later tick parks the container again or decides a rollback.
fn a_crash_in_the_recreate_is_settled_by_the_next_tick(kill_after: &str, settled: Settled) {
    use std::os::unix::fs::PermissionsExt as _;
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique(&format!("kill{}", kill_after.replace('-', "")));
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    // two networks, so the recreate has a `network connect` step
    let (net_a, net_b) = (format!("{u}a"), format!("{u}b"));
    for n in [&net_a, &net_b] {
        docker_ok(&["network", "create", n]);
        c.networks.push(n.clone());
    }
    c.containers.push(u.clone());
    let old_id = docker_ok(&[
        "run",
        "-d",
        "--name",
        &u,
        "--network",
        &net_a,
        "-p",
        "127.0.0.1::8080",
        "-e",
        "FIXTURE_MESSAGE=kept across rollback",
        "--restart",
        "unless-stopped",
        &bad,
    ]);
    docker_ok(&["network", "connect", &net_b, &u]);
    let port = published_port(&u);
    wait_ready(port);

    let tools = tempfile::tempdir().unwrap();
    let wrapper = tools.path().join("crashing-docker");
    std::fs::write(&wrapper, CRASHING_DOCKER).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let calls = tools.path().join("calls");

    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("FAIL_THRESHOLD", "1").set("WINDOW_S", "60");
    let url = fixture_health(port);
    let pair = ["--repo", "e2e", "--work-item", "k"];
    let arm = [
        &["arm"][..],
        &pair,
        &[
            "--health-url",
            &url,
            "--container",
            &u,
            "--previous-image",
            &prev,
        ],
    ]
    .concat();
    let (code, armed, _) = run.run(&arm, Duration::from_secs(60));
    assert_eq!((code, armed["armed"].as_bool()), (0, Some(true)), "{armed}");

    // The tick decides the rollback and dies right after `kill_after`.
    run.set("DOCKER", wrapper.to_str().unwrap())
        .env("PDE2E_LOG", calls.to_str().unwrap())
        .env("PDE2E_KILL_AFTER", kill_after);
    let tick = [&["tick"][..], &pair].concat();
    let stderr = run.run_killed(&tick, Duration::from_secs(120));
    let made = std::fs::read_to_string(&calls).unwrap();
    assert!(
        made.lines()
            .last()
            .is_some_and(|l| l.replace("network ", "network-").starts_with(kill_after)),
        "killed after {made:?}; stderr:\n{stderr}"
    );
    if settled == Settled::PutBack {
        docker_ok(&["rmi", "--no-prune", &prev]);
    }

    // The next tick, with the real engine behind the same stand-in (no kill now).
    std::fs::write(&calls, "").unwrap();
    run.env("PDE2E_KILL_AFTER", "never");
    let (code, out, stderr) = run.run(&tick, Duration::from_secs(120));
    assert_eq!(code, 0, "{out}\n{stderr}");
    let reason = out["reason"].as_str().unwrap();
    let now = inspect(&u);
    assert_eq!(now["State"]["Running"], true, "{reason}\n{now}");
    let parked = docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("name=^/{u}-post-deploy-failed-"),
    ]);
    match settled {
        Settled::Finished => {
            // what the engine showed after that step
            let how = match kill_after {
                "rename" => "recreated it from the parked container",
                "create" | "network-connect" | "stop" => "started the replacement it had created",
                _ => "the engine showed it running",
            };
            assert!(
                reason.contains(&format!(
                    "finished the interrupted rollback: {u} runs the previous image {prev} ({how})"
                )),
                "{reason}"
            );
            assert_eq!(now["Image"].as_str().unwrap(), image_id(&prev));
            assert_ne!(now["Id"].as_str().unwrap(), old_id);
            assert_eq!(published_port(&u), port, "the port mapping is kept");
            let networks = now["NetworkSettings"]["Networks"].as_object().unwrap();
            assert!(
                networks.contains_key(&net_a) && networks.contains_key(&net_b),
                "{networks:?}"
            );
            assert!(env_of(&now).contains(&"FIXTURE_MESSAGE=kept across rollback".to_owned()));
            wait_ready(port);
            assert_eq!(
                get(port, "/cgi-bin/health"),
                Some((200, "ok (healthy)".to_owned()))
            );
            // the failed container is the one parked, stopped
            assert_eq!(parked.lines().count(), 1, "{parked}");
            let old = inspect(&old_id);
            assert!(
                old["Name"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("/{u}-post-deploy-failed-")),
                "{}",
                old["Name"]
            );
            assert_eq!(old["State"]["Running"], false);
            assert_eq!(old["HostConfig"]["RestartPolicy"]["Name"], "no");
        }
        Settled::PutBack => {
            assert!(
                reason.contains(&format!(
                    "put the parked container back: {u} runs {bad} again"
                )),
                "{reason}"
            );
            assert_eq!(now["Id"].as_str().unwrap(), old_id);
            assert!(parked.is_empty(), "{parked}");
        }
    }
    // Settling never parks the container again: at most one rollback.
    let settling = std::fs::read_to_string(&calls).unwrap();
    assert!(
        !settling
            .lines()
            .any(|l| l.starts_with(&format!("rename -- {u} "))),
        "{settling}"
    );

    // A later tick decides no second rollback and touches nothing. (A window that finished
    // replays its action: ROLLBACK when the rollback was finished.)
    std::fs::write(&calls, "").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (code, later, stderr) = run.run(&tick, Duration::from_secs(60));
    assert_eq!(code, 0, "{later}\n{stderr}");
    if later["finished"] == true {
        assert_eq!(later["probed"], false, "{later}");
        let rolled_back = if settled == Settled::Finished {
            "ROLLBACK"
        } else {
            "ALERT_ONLY"
        };
        assert_eq!(later["action"], rolled_back, "{later}");
    } else {
        assert_ne!(later["action"], "ROLLBACK", "{later}");
        if later["action"] == "ALERT_ONLY" {
            assert!(
                later["reason"]
                    .as_str()
                    .unwrap()
                    .contains("already rolled back"),
                "{later}"
            );
        }
    }
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), "", "{later}");
    assert_eq!(inspect(&u)["Id"], now["Id"]);
}

/// (h) Killed after parking the failed container under another name, still running.
#[test]
fn a_crash_after_the_rename_is_finished_by_the_next_tick() {
    a_crash_in_the_recreate_is_settled_by_the_next_tick("rename", Settled::Finished);
}

/// (h) Killed after creating the replacement, not yet connected or started.
#[test]
fn a_crash_after_the_create_is_finished_by_the_next_tick() {
    a_crash_in_the_recreate_is_settled_by_the_next_tick("create", Settled::Finished);
}

/// (h) Killed after connecting the replacement to its second network.
#[test]
fn a_crash_after_the_network_connect_is_finished_by_the_next_tick() {
    a_crash_in_the_recreate_is_settled_by_the_next_tick("network-connect", Settled::Finished);
}

/// (h) Killed after stopping the failed container.
#[test]
fn a_crash_after_the_stop_is_finished_by_the_next_tick() {
    a_crash_in_the_recreate_is_settled_by_the_next_tick("stop", Settled::Finished);
}

/// (h) Killed after starting the replacement, before the rollback was recorded.
#[test]
fn a_crash_after_the_start_is_finished_by_the_next_tick() {
    a_crash_in_the_recreate_is_settled_by_the_next_tick("start", Settled::Finished);
}

/// (h) Killed after the last step, telling the parked container not to restart.
#[test]
fn a_crash_after_the_last_step_is_finished_by_the_next_tick() {
    a_crash_in_the_recreate_is_settled_by_the_next_tick("update", Settled::Finished);
}

/// (h) Killed after the rename, and the previous image is gone before the next tick: the
/// rollback cannot be finished, so the parked container is put back and runs again.
#[test]
fn a_crash_that_cannot_be_finished_puts_the_parked_container_back() {
    a_crash_in_the_recreate_is_settled_by_the_next_tick("rename", Settled::PutBack);
}

/// The orchestrator's own container, named one way in `ORCH_POST_DEPLOY_SELF_CONTAINER` and
/// another (its id prefix, or its name) by `--container`, is recognised as itself when the
/// window decides: ALERT_ONLY for the self-hosting reason, not a rollback the docker
/// adapter then refuses (`rollback_failed`).
#[test]
fn the_orchestrators_own_container_by_id_prefix_or_name_only_alerts() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("selfid");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    c.run_plain(&u, &bad);
    let port = published_port(&u);
    wait_ready(port);
    let before = inspect(&u);
    let id = before["Id"].as_str().unwrap().to_owned();
    let prefix = &id[..12];

    for (n, (self_container, target)) in [
        (u.as_str(), prefix),
        (prefix, u.as_str()),
        (id.as_str(), u.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        let mut run = Run::new("pde2e-not-the-orchestrator");
        run.set("SELF_CONTAINER", self_container)
            .set("WINDOW_S", "4");
        let (code, out, stderr) = run.watch(&format!("c{n}"), port, target, &prev);
        assert_eq!(code, 4, "{self_container} / {target}: {out}\n{stderr}");
        assert_eq!(
            (out["verdict"].as_str(), out["action"].as_str()),
            (Some("DEGRADED"), Some("ALERT_ONLY")),
            "{self_container} / {target}: {out}"
        );
        assert!(
            !stderr.contains("rollback_failed") && !stderr.contains("rollback FAILED"),
            "{self_container} / {target}: decided as self, not refused by the adapter: {stderr}"
        );
        assert!(
            stderr.contains("the orchestrator's own: it is never rolled back"),
            "{self_container} / {target}: {stderr}"
        );
    }
    let after = inspect(&u);
    assert_eq!(after["Id"], before["Id"]);
    assert_eq!(after["State"]["StartedAt"], before["State"]["StartedAt"]);
    assert_eq!(after["Image"], before["Image"]);
}

/// A window whose container vanishes right after arm cannot read the 5xx ratio it was armed
/// to read: with health passing all along, it ends HEALTHY but blind: `watch` exits 5, the
/// final JSON says `blind: true` and why, and one `blind` alert goes out.
#[test]
fn a_container_that_vanishes_after_arm_makes_a_blind_window() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let front = unique("blindfront");
    let gone = unique("blindgone");
    let healthy = c.tag(HEALTHY, &front, "ok");
    c.run_plain(&front, &healthy);
    c.run_plain(&gone, &healthy);
    let port = published_port(&front);
    wait_ready(port);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "6").set("MIN_REQUESTS", "1");
    let (code, out, stderr) = std::thread::scope(|scope| {
        let watching = scope.spawn(|| run.watch("blind", port, &gone, &healthy));
        // The first tick reads its logs at arm; every later one finds no container.
        std::thread::sleep(Duration::from_millis(1500));
        docker_ok(&["rm", "-f", &gone]);
        watching.join().unwrap()
    });
    assert_eq!(code, 5, "{out}\n{stderr}");
    assert_eq!(out["verdict"], "HEALTHY", "{out}");
    assert_eq!(out["blind"], true, "{out}");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.contains("BLIND") && reason.contains(&gone),
        "{reason}"
    );
    assert_eq!(
        stderr.matches("\"event\":\"blind\"").count(),
        1,
        "one blind alert: {stderr}"
    );
}

/// Replaces container `name` with one on `image`: a deploy.
fn deploy(c: &mut Cleanup, name: &str, image: &str) -> u16 {
    let _ = Command::new("docker").args(["rm", "-f", name]).output();
    c.containers.retain(|n| n != name);
    c.run_plain(name, image);
    let port = published_port(name);
    wait_ready(port);
    port
}

/// A healthy window proves its image; a bad deploy later, armed without `--previous-image`,
/// rolls back to that image, not to the one before it, which no window ever proved.
#[test]
fn a_bad_deploy_rolls_back_to_the_image_production_proved() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("kgood");
    let proved = c.tag(HEALTHY, &u, "v1");
    let unproved = c.tag(BAD_API, &u, "v2");
    let bad = c.tag(BAD_HEALTH, &u, "v3");
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "3");
    let url = fixture_health;
    // v1 runs a whole window without degrading.
    let port = deploy(&mut c, &u, &proved);
    let (code, out, stderr) = run.run(
        &[
            "watch",
            "--repo",
            "e2e",
            "--work-item",
            "v1",
            "--health-url",
            &url(port),
            "--container",
            &u,
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    let (_, listed, _) = run.run(
        &["known-good", "--repo", "e2e", "--container", &u, "--json"],
        Duration::from_secs(10),
    );
    assert_eq!(listed[0]["image"], proved.as_str(), "{listed}");
    assert_eq!(listed[0]["work_item"], "v1", "{listed}");
    // v2 is deployed with no window; then v3, which fails its health checks.
    deploy(&mut c, &u, &unproved);
    let port = deploy(&mut c, &u, &bad);
    let (code, armed, stderr) = run.run(
        &[
            "arm",
            "--repo",
            "e2e",
            "--work-item",
            "v3",
            "--health-url",
            &url(port),
            "--container",
            &u,
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(armed["previous_image"], proved.as_str(), "{armed}");
    assert_eq!(armed["previous_image_source"], "known_good", "{armed}");
    let mut last = Value::Null;
    for _ in 0..40 {
        let (_, out, _) = run.run(
            &["tick", "--repo", "e2e", "--work-item", "v3"],
            Duration::from_secs(60),
        );
        last = out;
        if last["finished"] == true {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(last["action"], "ROLLBACK", "{last}");
    assert_eq!(inspect(&u)["Image"].as_str().unwrap(), image_id(&proved));
}

/// `extend` keeps a window watching past its old deadline; `promote` then ends it as good
/// and records its image.
#[test]
fn extend_keeps_a_window_watching_and_promote_records_it() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("extend");
    let ok = c.tag(HEALTHY, &u, "ok");
    let port = deploy(&mut c, &u, &ok);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "2");
    let url = fixture_health(port);
    let pair = ["--repo", "e2e", "--work-item", "ext"];
    let (code, _, stderr) = run.run(
        &[
            &["arm"][..],
            &pair,
            &["--health-url", &url, "--container", &u],
        ]
        .concat(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, out, stderr) = run.run(
        &[&["extend"][..], &pair, &["--by", "120"]].concat(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(out["done"], true, "{out}");
    std::thread::sleep(Duration::from_secs(3));
    let (_, tick, _) = run.run(&[&["tick"][..], &pair].concat(), Duration::from_secs(30));
    assert_eq!(
        tick["finished"], false,
        "past the old deadline it still watches: {tick}"
    );
    let (code, out, stderr) = run.run(&[&["promote"][..], &pair].concat(), Duration::from_secs(30));
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert!(out["done"] == true && out["finished"] == true, "{out}");
    let (_, listed, _) = run.run(
        &["known-good", "--repo", "e2e", "--json"],
        Duration::from_secs(10),
    );
    assert_eq!(listed[0]["image"], ok.as_str(), "{listed}");
    // A finished window refuses them all: exit 4.
    for command in ["extend", "promote", "rollback"] {
        let extra: &[&str] = if command == "extend" {
            &["--by", "60"]
        } else {
            &[]
        };
        let (code, out, _) = run.run(
            &[&[command][..], &pair, extra].concat(),
            Duration::from_secs(30),
        );
        assert_eq!(
            (code, out["done"].clone()),
            (4, Value::Bool(false)),
            "{command}: {out}"
        );
    }
}

/// A container whose logs cannot be read (`--log-driver none`): three ticks with the 5xx
/// signal missing, then `promote`. A window blind so far is not proved by a promote: it ends
/// with `blind: true` and its `blind` alert, and its image is not recorded as known good.
#[test]
fn promote_of_a_blind_window_ends_it_blind_and_records_nothing() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("blindpromote");
    let ok = c.tag(HEALTHY, &u, "ok");
    c.containers.push(u.clone());
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &u,
        "--log-driver",
        "none",
        "-p",
        "127.0.0.1::8080",
        &ok,
    ]);
    let port = published_port(&u);
    wait_ready(port);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "600");
    let url = fixture_health(port);
    let pair = ["--repo", "e2e", "--work-item", "blindp"];
    let (code, _, stderr) = run.run(
        &[
            &["arm"][..],
            &pair,
            &["--health-url", &url, "--container", &u],
        ]
        .concat(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(1100));
        let (code, tick, _) = run.run(&[&["tick"][..], &pair].concat(), Duration::from_secs(30));
        assert_eq!(
            (code, tick["finished"].clone()),
            (0, Value::Bool(false)),
            "{tick}"
        );
        assert_eq!(tick["probed"], true, "{tick}");
    }
    let (code, out, stderr) = run.run(&[&["promote"][..], &pair].concat(), Duration::from_secs(30));
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert!(out["done"] == true && out["finished"] == true, "{out}");
    assert_eq!(
        stderr.matches("\"event\":\"blind\"").count(),
        1,
        "one blind alert: {stderr}"
    );
    let (_, end, _) = run.run(&[&["tick"][..], &pair].concat(), Duration::from_secs(30));
    assert_eq!(end["blind"], true, "{end}");
    assert!(
        end["reason"].as_str().unwrap().contains("3 of 3"),
        "the reason says how often the signal was missing: {end}"
    );
    let (_, listed, _) = run.run(
        &["known-good", "--repo", "e2e", "--json"],
        Duration::from_secs(10),
    );
    assert_eq!(listed, serde_json::json!([]), "nothing proved");
}

/// An operator's `rollback` runs once, even when ticks and other `rollback`s race it.
#[test]
fn an_operator_rollback_runs_once_when_ticks_race_it() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("oprb");
    let bad = c.tag(BAD_API, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    let port = deploy(&mut c, &u, &bad);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    // The signals never decide a rollback themselves in this window.
    run.set("FAIL_THRESHOLD", "1000").set("WINDOW_S", "600");
    let url = fixture_health(port);
    let pair = ["--repo", "e2e", "--work-item", "race"];
    let (code, _, stderr) = run.run(
        &[
            &["arm"][..],
            &pair,
            &[
                "--health-url",
                &url,
                "--container",
                &u,
                "--previous-image",
                &prev,
            ],
        ]
        .concat(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    let results: Vec<(i32, Value, String)> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..6)
            .map(|i| {
                let run = &run;
                let pair = &pair;
                scope.spawn(move || {
                    let command = if i % 2 == 0 { "rollback" } else { "tick" };
                    run.run(
                        &[&[command][..], &pair[..]].concat(),
                        Duration::from_secs(180),
                    )
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let done: Vec<_> = results
        .iter()
        .filter(|(_, out, _)| out["done"] == true)
        .collect();
    assert_eq!(done.len(), 1, "exactly one rollback done: {results:?}");
    let parked = docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^/{u}-post-deploy-failed-"),
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(parked.lines().count(), 1, "one container parked: {parked}");
    assert_eq!(inspect(&u)["Image"].as_str().unwrap(), image_id(&prev));
}
/// A container on a user network whose image exposes a port that is not published (`docker
/// inspect` shows `"8080/tcp": null`, as for most services behind a reverse proxy): arm
/// records its image, the self guard knows it by its id prefix, and a degradation recreates
/// it on the previous image, on the same network, its port still unpublished.
#[test]
fn a_container_with_an_unpublished_port_rolls_back() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("unpub");
    let bad = c.tag(BAD_HEALTH, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    let net = format!("{u}n");
    docker_ok(&["network", "create", &net]);
    c.networks.push(net.clone());
    c.containers.push(u.clone());
    let old_id = docker_ok(&[
        "run",
        "-d",
        "--name",
        &u,
        "--network",
        &net,
        "-e",
        "FIXTURE_MESSAGE=kept across rollback",
        &bad,
    ]);
    let before = inspect(&u);
    assert!(
        before["NetworkSettings"]["Ports"]["8080/tcp"].is_null(),
        "the image exposes 8080 and nothing publishes it: {}",
        before["NetworkSettings"]["Ports"]
    );
    let addr = address_on(&u, &net);
    wait_ready_at(addr);
    let url = format!("http://{addr}/cgi-bin/health");
    let arm_args = |item: &'static str| -> Vec<String> {
        [
            "arm",
            "--repo",
            "e2e",
            "--work-item",
            item,
            "--health-url",
            &url,
            "--container",
            &u,
            "--previous-image",
            &prev,
        ]
        .map(str::to_owned)
        .to_vec()
    };

    // The orchestrator's own container, named by its id prefix: known as itself.
    let mut own = Run::new("pde2e-not-the-orchestrator");
    own.set("SELF_CONTAINER", &old_id[..12])
        .set("FAIL_THRESHOLD", "1");
    let armed = arm_args("s");
    let (code, out, stderr) = own.run(&strs(&armed), Duration::from_secs(60));
    assert_eq!(
        (code, out["armed"].as_bool()),
        (0, Some(true)),
        "{out}\n{stderr}"
    );
    let tick = ["tick", "--repo", "e2e", "--work-item", "s"];
    let (code, out, stderr) = own.run(&tick, Duration::from_secs(60));
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(
        (out["verdict"].as_str(), out["action"].as_str()),
        (Some("DEGRADED"), Some("ALERT_ONLY")),
        "{out}\n{stderr}"
    );
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .contains("the orchestrator's own"),
        "{out}"
    );
    assert_eq!(inspect(&u)["Id"].as_str().unwrap(), old_id);

    // Any other container: the image is recorded at arm, and the rollback recreates it.
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("FAIL_THRESHOLD", "1");
    let armed = arm_args("a");
    let (code, out, stderr) = run.run(&strs(&armed), Duration::from_secs(60));
    assert_eq!(
        (code, out["armed"].as_bool()),
        (0, Some(true)),
        "{out}\n{stderr}"
    );
    let reason = out["reason"].as_str().unwrap();
    assert!(
        !reason.contains("not recorded") && !reason.contains("unreadable"),
        "{reason}"
    );
    let tick = ["tick", "--repo", "e2e", "--work-item", "a"];
    let (code, out, stderr) = run.run(&tick, Duration::from_secs(120));
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(
        (out["verdict"].as_str(), out["action"].as_str()),
        (Some("DEGRADED"), Some("ROLLBACK")),
        "{out}\n{stderr}"
    );
    assert!(
        !stderr.contains("rollback_failed") && !stderr.contains("unreadable"),
        "{stderr}"
    );

    let now = inspect(&u);
    assert_ne!(now["Id"].as_str().unwrap(), old_id);
    assert_eq!(now["Image"].as_str().unwrap(), image_id(&prev));
    assert_eq!(now["State"]["Running"], true);
    let networks = now["NetworkSettings"]["Networks"].as_object().unwrap();
    assert_eq!(
        networks.keys().collect::<Vec<_>>(),
        [&net],
        "on the same network alone"
    );
    assert!(
        now["NetworkSettings"]["Ports"]["8080/tcp"].is_null(),
        "still not published: {}",
        now["NetworkSettings"]["Ports"]
    );
    assert!(env_of(&now).contains(&"FIXTURE_MESSAGE=kept across rollback".to_owned()));
    let addr = address_on(&u, &net);
    wait_ready_at(addr);
    assert_eq!(
        get_at(addr, "/cgi-bin/health"),
        Some((200, "ok (healthy)".to_owned()))
    );
    let old = inspect(&old_id);
    assert!(
        old["Name"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/{u}-post-deploy-failed-")),
        "{}",
        old["Name"]
    );
    assert_eq!(old["State"]["Running"], false);
}
/// A plain container on `image` running `script` with the image's busybox `sh` as PID 1,
/// published on a loopback port. A rollback recreates it with the same command, so what the
/// script logs may depend on the image (`/etc/fixture-variant`).
fn run_script(c: &mut Cleanup, name: &str, image: &str, script: &str) {
    c.containers.push(name.to_owned());
    docker_ok(&[
        "run",
        "-d",
        "--name",
        name,
        "-p",
        "127.0.0.1::8080",
        image,
        "/bin/sh",
        "-c",
        script,
    ]);
}

/// A plain container of the bad API image that runs `script` (which may log by
/// `/etc/fixture-variant`), watched as `item` with `MIN_REQUESTS=5` and `vars`: the window
/// must roll it back to the healthy image and recover (exit 3, the container on the previous
/// image). The final JSON, and the line of stderr that said why it rolled back.
fn scripted_rollback(item: &str, script: &str, vars: &[(&str, &str)]) -> (Value, String) {
    let mut c = Cleanup::default();
    let u = unique(item);
    let bad = c.tag(BAD_API, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    run_script(&mut c, &u, &bad, script);
    let port = published_port(&u);
    wait_ready(port);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("MIN_REQUESTS", "5");
    for (name, value) in vars {
        run.set(name, value);
    }
    let (code, out, stderr) = run.watch(item, port, &u, &prev);
    assert_eq!(code, 3, "{out}\n{stderr}");
    assert_eq!(out["action"], "ROLLBACK");
    assert_eq!(inspect(&u)["Image"].as_str().unwrap(), image_id(&prev));
    let why = rollback_line(&stderr).to_owned();
    assert!(!why.is_empty(), "{stderr}");
    (out, why)
}

/// (logfmt) The service logs its requests as logfmt lines, as Heroku's router does, and the
/// bad image answers 503: the ratio read from those lines rolls it back, and the previous
/// image's lines say 200.
#[test]
fn logfmt_access_lines_with_5xx_roll_back() {
    if !engine() {
        return;
    }
    let script = r#"trap 'exit 0' TERM INT
/bin/httpd -f -p 8080 -h /www &
if [ "$(cat /etc/fixture-variant)" = bad-api ]; then s=503; else s=200; fi
while :; do
  echo "at=info method=GET path=\"/api/orders\" host=shop.example fwd=\"192.0.2.1\" dyno=web.1 connect=0ms service=12ms status=$s bytes=20 protocol=http"
  sleep 0.1
done"#;
    let (_, why) = scripted_rollback("logfmt", script, &[]);
    assert!(why.contains("5xx ratio"), "{why}");
}

/// (latency) The new image answers every request with 200, but its JSON access lines say
/// each took 900 ms: with `LATENCY_MS=500` the latency rule fires from the logs alone and
/// the window rolls back to the previous image, whose lines say 40 ms (recovered).
#[test]
fn slow_json_access_lines_roll_back() {
    if !engine() {
        return;
    }
    let script = r#"trap 'exit 0' TERM INT
/bin/httpd -f -p 8080 -h /www &
if [ "$(cat /etc/fixture-variant)" = bad-api ]; then ms=900; else ms=40; fi
while :; do
  echo "{\"level\":\"info\",\"path\":\"/api/orders\",\"status\":200,\"duration_ms\":$ms}"
  sleep 0.1
done"#;
    let (out, why) = scripted_rollback("slowjson", script, &[("LATENCY_MS", "500")]);
    assert_eq!(out["window_errors_5xx"], 0, "{out}");
    assert!(why.contains("latency"), "{why}");
}

/// (blind) The service logs plenty, but not one access line in any known format (and its
/// health endpoint is a static file, which the server does not log): the 5xx signal is
/// missing at every tick, not zero, and the window ends blind.
#[test]
fn logs_without_access_lines_end_the_window_blind() {
    if !engine() {
        return;
    }
    let mut c = Cleanup::default();
    let u = unique("blind");
    let current = c.tag(HEALTHY, &u, "current");
    let prev = c.tag(BAD_HEALTH, &u, "prev");
    let script = r#"trap 'exit 0' TERM INT
mkdir -p /tmp/www && echo ok > /tmp/www/health
/bin/httpd -f -p 8080 -h /tmp/www &
while :; do
  echo "worker: processed a batch of 20 jobs in 12 ms"
  sleep 0.1
done"#;
    run_script(&mut c, &u, &current, script);
    let port = published_port(&u);
    wait_ready(port);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "10").set("MIN_REQUESTS", "3");
    let url = format!("http://127.0.0.1:{port}/health");
    let (code, out, stderr) = run.window("watch", "blind", &url, ("--container", &u), &prev);
    assert!(
        stderr.contains("not one an access line")
            && stderr.contains("status keys status, status_code"),
        "the missing signal names what was looked for:\n{stderr}"
    );
    assert_eq!(code, 5, "{out}\n{stderr}");
    assert_eq!(out["verdict"], "HEALTHY");
    assert_eq!(out["action"], "NONE");
    assert_eq!(out["blind"], true, "{out}");
    assert!(
        out["reason"].as_str().unwrap_or_default().contains("5xx"),
        "{out}"
    );
    assert!(
        stderr.contains("\"event\":\"blind\"") || stderr.contains("blind"),
        "a blind alert: {stderr}"
    );
    assert_eq!(out["window_requests"], 0);
}

/// (late onset) The shape a window ratio dilutes: healthy JSON traffic for 20 s, then every
/// 12th request answers 500 (8.3% against 5%) until the end of a 45 s window. The window's
/// ratio stays under 2% at the onset, so only the recent span (`RECENT_S=4`, a tick a
/// second) sees it: DEGRADED by `5xx_recent` within a few seconds of the onset, and rolled
/// back to the image whose lines all say 200.
#[test]
fn a_late_onset_is_caught_by_the_recent_span_and_rolled_back() {
    if !engine() {
        return;
    }
    let script = r#"trap 'exit 0' TERM INT
/bin/httpd -f -p 8080 -h /www &
v=$(cat /etc/fixture-variant); i=0; start=$(date +%s)
while :; do
  i=$((i+1)); s=200
  if [ "$v" = bad-api ] && [ $(( $(date +%s) - start )) -ge 20 ] && [ $((i % 12)) -eq 0 ]; then s=500; fi
  echo "{\"path\":\"/api/orders\",\"status\":$s,\"duration_ms\":3}"
  sleep 0.1
done"#;
    let mut c = Cleanup::default();
    let u = unique("lateonset");
    let bad = c.tag(BAD_API, &u, "bad");
    let prev = c.tag(HEALTHY, &u, "prev");
    run_script(&mut c, &u, &bad, script);
    let started: chrono::DateTime<chrono::Utc> = inspect(&u)["State"]["StartedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let port = published_port(&u);
    wait_ready(port);
    let mut run = Run::new("pde2e-not-the-orchestrator");
    run.set("WINDOW_S", "45")
        .set("RECENT_S", "4")
        .set("MIN_REQUESTS", "20");
    let (code, out, stderr) = run.watch("late", port, &u, &prev);
    assert_eq!(code, 3, "{out}\n{stderr}");
    assert_eq!(out["action"], "ROLLBACK");
    assert_eq!(out["rule"], "5xx_recent", "{out}");
    let why = rollback_line(&stderr);
    assert!(why.contains("5xx_recent: recent 5xx ratio"), "{stderr}");
    assert_eq!(inspect(&u)["Image"].as_str().unwrap(), image_id(&prev));
    // When: the first DEGRADED row of the log artefact, against the onset 20 s after start.
    let log = std::fs::read_to_string(
        run.state()
            .join(".post-deploy-state-e2e/late/16-post-deploy-log.md"),
    )
    .unwrap();
    let row = log
        .lines()
        .find(|l| l.contains("| DEGRADED | 5xx_recent |"))
        .unwrap_or_else(|| panic!("{log}"));
    let at: chrono::DateTime<chrono::Utc> = row
        .trim_start_matches("| ")
        .split(" |")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let after = (at - started).num_milliseconds() as f64 / 1000.0 - 20.0;
    // The span (4 s) fills with bad traffic, plus a tick and the settle delay.
    assert!(
        (0.0..=8.0).contains(&after),
        "detected {after} s after the onset\n{log}"
    );
    // The window's own ratio was under the threshold when the recent span fired.
    assert!(row.contains("| 5xx_recent |"), "{row}");
    eprintln!("late onset detected {after:.1} s after the onset: {row}");
}
