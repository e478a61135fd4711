//! The docker CLI for the end-to-end tests on a real engine: run it, require success,
//! whether an engine with the fixture images is there at all (under `CI` a missing one fails
//! the test loudly; otherwise it is skipped with a note the test command counts), names no
//! other test uses, and what a Swarm service's spec says.

#![allow(dead_code, reason = "shared by several test files; each uses a part")]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// `docker ARGS`, to the end.
pub(crate) fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `docker ARGS`, which must succeed; its stdout, trimmed.
pub(crate) fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Whether the engine answers and holds `images`. With `CI` set, a missing engine fails the
/// test loudly; a missing image always does.
pub(crate) fn engine_with(images: &[&str]) -> bool {
    let ok = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `docker info` fails: the docker end-to-end tests cannot run (run .ci/docker-up)"
        );
        // Straight to the stream, past the test harness's capture, so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "note: docker end-to-end test SKIPPED: `docker info` fails (run .ci/docker-up; CI=true makes this fail)"
        );
        return false;
    }
    require_images(images);
    true
}

/// Fails the test unless this engine holds every one of `images`.
pub(crate) fn require_images(images: &[&str]) {
    for image in images {
        assert!(
            docker(&["image", "inspect", image]).status.success(),
            "fixture image {image} missing: run .ci/docker-up"
        );
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A name no other test (or run) uses: `prefix`, this process, a sequence number, `what`
/// (lowercase letters and digits only if those of `prefix` and `what` are, as compose v1
/// keeps project names).
pub(crate) fn unique(prefix: &str, what: &str) -> String {
    format!(
        "{prefix}{}x{}{what}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// `docker service inspect SERVICE`, the one object.
pub(crate) fn service_json(service: &str) -> Value {
    let text = docker_ok(&["service", "inspect", service]);
    serde_json::from_str::<Value>(&text).unwrap()[0].clone()
}

/// The image the service's spec runs.
pub(crate) fn spec_image(service: &str) -> String {
    service_json(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        .as_str()
        .unwrap()
        .to_owned()
}
