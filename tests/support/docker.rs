//! The docker CLI for the end-to-end tests on a real engine: run it, require success, and
//! whether an engine with the fixture images is there at all (under `CI` a missing one fails
//! the test loudly; otherwise it is skipped with a note the test command counts).

#![allow(dead_code, reason = "shared by several test files; each uses a part")]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

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
    for image in images {
        let out = docker(&["image", "inspect", image]);
        assert!(
            out.status.success(),
            "fixture image {image} missing: run .ci/docker-up"
        );
    }
    true
}
