//! The `post-deploy` binary on a real Docker engine, on a container with a big earlier log:
//! a tick reads what is new, not the whole log.
//!
//! Needs a Docker engine and the `post-deploy-fixture:healthy` image (`.ci/docker-up`).
//! Without an engine it fails when `CI` is set and is skipped with a note otherwise. Its
//! container has a name of its own and is removed when it ends, passed or failed.

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

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/docker.rs"]
mod docker_cli;

use docker_cli::{docker, docker_ok};

/// Whether the engine answers and holds the fixture images this file uses.
fn engine() -> bool {
    docker_cli::engine_with(&[HEALTHY])
}

const BIN: &str = env!("CARGO_BIN_EXE_post-deploy");
const HEALTHY: &str = "post-deploy-fixture:healthy";

/// The container, removed when the test ends.
struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.0]);
    }
}

/// A health endpoint outside the container, so the container's log holds only the test's
/// own lines: every GET answers 200.
fn health_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0_u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    port
}

/// A `docker` that runs the real one and notes each `docker logs` call: its arguments and
/// how many bytes it printed, one line per call.
fn spy(dir: &Path) -> (String, std::path::PathBuf) {
    let log = dir.join("logs-calls");
    let program = dir.join("docker-spy");
    std::fs::write(
        &program,
        format!(
            "#!/bin/bash\n\
             if [ \"$1\" = logs ]; then\n\
             out=$(mktemp)\n\
             docker \"$@\" >\"$out\"\n\
             rc=$?\n\
             echo \"$* bytes=$(wc -c <\"$out\")\" >>'{}'\n\
             cat \"$out\"; rm -f \"$out\"; exit $rc\n\
             fi\n\
             exec docker \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    (program.display().to_string(), log)
}

/// The bytes of each `docker logs` call noted since `from` calls, with its arguments.
fn calls_since(log: &Path, from: usize) -> Vec<(String, u64)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .skip(from)
        .map(|l| {
            let (args, bytes) = l.rsplit_once(" bytes=").unwrap();
            (args.to_owned(), bytes.trim().parse().unwrap())
        })
        .collect()
}

fn post_deploy(state: &Path, docker_program: &str, args: &[&str]) -> Value {
    let mut cmd = Command::new(BIN);
    cmd.args(args).arg("--state-dir").arg(state);
    for (k, _) in std::env::vars() {
        if k.starts_with("ORCH_POST_DEPLOY_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .envs([
            ("ORCH_POST_DEPLOY_REPOS", "e2e"),
            ("ORCH_POST_DEPLOY_INTERVAL_S", "1"),
            ("ORCH_POST_DEPLOY_WINDOW_S", "600"),
            ("ORCH_POST_DEPLOY_MIN_REQUESTS", "1000000"),
            (
                "ORCH_POST_DEPLOY_SELF_CONTAINER",
                "pde2e-not-the-orchestrator",
            ),
            ("ORCH_POST_DEPLOY_DOCKER", docker_program),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}: {stdout:?}; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn wait_for_file(container: &str, path: &str, limit: Duration) {
    let start = Instant::now();
    while !docker(&["exec", container, "test", "-e", path])
        .status
        .success()
    {
        assert!(
            start.elapsed() < limit,
            "{container}: {path} never appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Earlier log: 200 MB (13 400 lines of 15 000 bytes, not access lines), logged before the
/// window is armed. Then three batches of 200 access lines, 20 of them 503, each read by a
/// tick of its own: the window counts exactly those 600 and 60, and no tick receives more
/// from docker than a small multiple of what was new.
#[test]
fn a_tick_reads_what_is_new_not_the_whole_earlier_log() {
    if !engine() {
        return;
    }
    let name = format!("pde2e{}bigLog", std::process::id()).to_ascii_lowercase();
    let _removed = Removed(name.clone());
    let script = r#"
        yes "$(printf %15000s '' | tr ' ' x)" | head -n 13400
        touch /tmp/filled
        for phase in 1 2 3; do
          while [ ! -e /tmp/go$phase ]; do sleep 0.1; done
          i=0
          while [ $i -lt 200 ]; do
            s=200; [ $((i % 10)) -eq 0 ] && s=503
            echo "10.0.0.$phase - - [01/Dec/2025:04:00:00 +0000] \"GET /api/$i HTTP/1.1\" $s 12"
            i=$((i+1))
          done
          touch /tmp/done$phase
        done
        sleep 600
    "#;
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--log-driver",
        "json-file",
        // published, so the port's entry in `docker inspect` is not null
        "-p",
        "127.0.0.1::8080",
        "--entrypoint",
        "/bin/sh",
        HEALTHY,
        "-c",
        script,
    ]);
    wait_for_file(&name, "/tmp/filled", Duration::from_secs(120));
    // The last earlier lines are stamped a moment before the container moves on; the first
    // read also takes the two seconds before the cursor, which are then past.
    std::thread::sleep(Duration::from_secs(3));
    let id = docker_ok(&["inspect", "--format", "{{.Id}}", &name]);
    let size = std::fs::metadata(format!("/var/lib/docker/containers/{id}/{id}-json.log"))
        .map(|m| m.len());
    if let Ok(size) = size {
        assert!(size > 200_000_000, "the earlier log is only {size} bytes");
    }

    let dir = tempfile::tempdir().unwrap();
    let (program, log) = spy(dir.path());
    let url = format!("http://127.0.0.1:{}/health", health_server());
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let armed = post_deploy(
        &state,
        &program,
        &[
            "arm",
            "--repo",
            "e2e",
            "--work-item",
            "big",
            "--health-url",
            &url,
            "--container",
            &name,
        ],
    );
    assert_eq!(armed["armed"], true, "{armed}");

    let tick = || {
        post_deploy(
            &state,
            &program,
            &["tick", "--repo", "e2e", "--work-item", "big"],
        )
    };
    let mut last = Value::Null;
    for phase in 1..=3 {
        docker_ok(&["exec", &name, "touch", &format!("/tmp/go{phase}")]);
        wait_for_file(&name, &format!("/tmp/done{phase}"), Duration::from_secs(30));
        // Past the settle delay and the interval, so the tick probes and takes them all.
        std::thread::sleep(Duration::from_millis(2_200));
        let before = calls_since(&log, 0).len();
        last = tick();
        assert_eq!(last["verdict"], "HEALTHY", "{last}");
        let calls = calls_since(&log, before);
        assert!(!calls.is_empty(), "{last}");
        let received: u64 = calls.iter().map(|(_, b)| b).sum();
        // 200 lines of about 110 bytes are new: what came is that, not 200 MB, nor even one
        // of the earlier 15 000-byte lines more than the two seconds before the cursor hold.
        assert!(
            received < 64 * 1024,
            "tick {phase} received {received} bytes: {calls:?}"
        );
        assert!(
            calls.iter().all(|(args, _)| args.contains("--tail")),
            "{calls:?}"
        );
        let reason = last["reason"].as_str().unwrap_or_default();
        assert!(
            !reason.contains("may be missing") && !reason.contains("monitor fault"),
            "{last}"
        );
    }
    assert_eq!(last["window_requests"], 600, "{last}");
    assert_eq!(last["window_errors_5xx"], 60, "{last}");
    // One more tick: nothing new, nothing counted twice.
    std::thread::sleep(Duration::from_millis(1_100));
    let again = tick();
    assert_eq!(again["window_requests"], 600, "{again}");
    assert_eq!(again["window_errors_5xx"], 60, "{again}");
}
