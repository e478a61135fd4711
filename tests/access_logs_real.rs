//! `count-5xx` on access logs captured from real servers (`fixtures/access-logs/real/`, written
//! by `scripts/capture-access-logs`): every fixture counted exactly, its durations' quantiles
//! within 1%, and the same counts from a gzip'd copy and from `docker logs --timestamps`
//! output on stdin (written here, and by a real engine when one is there).

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

#[path = "support/binary.rs"]
mod binary;
#[path = "support/docker.rs"]
mod docker_cli;
#[path = "support/loopback.rs"]
mod loopback;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use binary::{Env, one_json};
use serde_json::Value;

fn real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/access-logs/real")
}

fn expected() -> Vec<(String, Value)> {
    let text = std::fs::read(real().join("expected.json")).unwrap();
    let all: Value = serde_json::from_slice(&text).unwrap();
    let files: Vec<(String, Value)> = all["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Every log in the folder has its expectations, and there are the servers the capture
    // script runs.
    let mut logs: Vec<String> = std::fs::read_dir(real())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    logs.sort();
    let mut named: Vec<String> = files.iter().map(|(k, _)| k.clone()).collect();
    named.sort();
    assert_eq!(logs, named);
    assert!(files.len() >= 11, "{named:?}");
    files
}

/// The environment a fixture needs: its `ORCH_POST_DEPLOY_*` settings.
fn env_for(want: &Value) -> Env {
    let mut env = Env::new();
    for (key, value) in want.as_object().unwrap() {
        if key.starts_with("LOG_") {
            env.set(key, value.as_str().unwrap());
        }
    }
    env
}

/// `count-5xx` with `args`, `stdin` piped in.
fn count(env: &Env, args: &[&str], stdin: &[u8]) -> Value {
    let mut child = env
        .command(&[&["count-5xx"], args].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    one_json(&out, &format!("{args:?}"))
}

/// The counts and quantiles of `got` are those of `want`: counts exactly, quantiles within 1%.
fn check(name: &str, how: &str, got: &Value, want: &Value) {
    for key in ["total", "errors_5xx", "unparsed", "timed"] {
        assert_eq!(got[key], want[key], "{name} ({how}): {key} in {got}");
    }
    for key in ["p50_ms", "p95_ms", "p99_ms"] {
        match (got[key].as_f64(), want[key].as_f64()) {
            (None, None) => {}
            (Some(g), Some(w)) => {
                assert!(
                    (g - w).abs() <= w * 0.01,
                    "{name} ({how}): {key} {g}, want {w}"
                );
            }
            (g, w) => panic!("{name} ({how}): {key} {g:?}, want {w:?}"),
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// `bytes` as `docker logs --timestamps` prints them: each line after an RFC 3339 stamp with
/// nanoseconds in UTC and one space.
fn docker_stamped(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let nanos = (i % 1_000_000_000) * 7919;
        write!(
            out,
            "2026-12-07T00:{:02}:{:02}.{nanos:09}Z ",
            i / 60 % 60,
            i % 60
        )
        .unwrap();
        out.extend_from_slice(line);
    }
    out
}

#[test]
fn every_real_server_log_counts_exactly() {
    for (name, want) in expected() {
        let path = real().join(&name);
        let env = env_for(&want);
        let got = env.json(&["count-5xx", path.to_str().unwrap()], 0);
        check(&name, "file", &got, &want);
    }
}

#[test]
fn gzip_files_and_streams_and_docker_stamps_count_as_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, want) in expected() {
        let plain = std::fs::read(real().join(&name)).unwrap();
        let env = env_for(&want);
        let gz = dir.path().join(format!("{name}.1.gz"));
        std::fs::write(&gz, gzip(&plain)).unwrap();
        check(
            &name,
            "gzip file",
            &env.json(&["count-5xx", gz.to_str().unwrap()], 0),
            &want,
        );
        check(&name, "gzip stdin", &count(&env, &[], &gzip(&plain)), &want);
        let stamped = docker_stamped(&plain);
        check(&name, "docker logs -t", &count(&env, &[], &stamped), &want);
        check(
            &name,
            "docker logs -t, gzip",
            &count(&env, &[], &gzip(&stamped)),
            &want,
        );
    }
}

/// What each server's special case shows on its own log.
#[test]
fn what_the_real_logs_show() {
    let all = expected();
    let want = |name: &str| all.iter().find(|(n, _)| n == name).unwrap().1.clone();
    // Caddy writes an error record beside the access line of each request it answers with an
    // error of its own: 5 requests to a proxy whose upstream is down.
    let caddy = std::fs::read_to_string(real().join("caddy.log")).unwrap();
    let records = caddy
        .lines()
        .filter(|l| l.contains(r#""logger":"http.log.error"#) && l.contains(r#""status":50"#))
        .count();
    assert_eq!(records, 5);
    assert_eq!(want("caddy.log")["errors_5xx"], 50);
    // gunicorn's %(M)s is milliseconds: 200 ms requests read as 0.2 ms without the unit.
    let path = real().join("gunicorn-ms.log");
    let with_unit =
        env_for(&want("gunicorn-ms.log")).json(&["count-5xx", path.to_str().unwrap()], 0);
    let p95 = with_unit["p95_ms"].as_f64().unwrap();
    assert!((195.0..=260.0).contains(&p95), "{with_unit}");
    let without = Env::new().json(&["count-5xx", path.to_str().unwrap()], 0);
    assert!(without["p95_ms"].as_f64().unwrap() < 1.0, "{without}");
    // HAProxy and morgan: every request, slow ones near 200 ms at p95.
    for name in [
        "haproxy.log",
        "morgan-tiny.log",
        "morgan-short.log",
        "morgan-dev.log",
    ] {
        let got = Env::new().json(&["count-5xx", real().join(name).to_str().unwrap()], 0);
        assert_eq!(
            (got["total"].as_u64(), got["errors_5xx"].as_u64()),
            (Some(1000), Some(50)),
            "{name}"
        );
        let p95 = got["p95_ms"].as_f64().unwrap();
        assert!((195.0..=260.0).contains(&p95), "{name}: {got}");
    }
}

#[test]
fn input_that_cannot_be_read_is_an_error_never_a_zero() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new();
    let plain = std::fs::read(real().join("nginx.log")).unwrap();
    let gz = gzip(&plain);
    let truncated = dir.path().join("truncated.log.gz");
    std::fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();
    let mut corrupt = gz.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    let corrupted = dir.path().join("corrupt.log.gz");
    std::fs::write(&corrupted, &corrupt).unwrap();
    for (path, words) in [
        (truncated.as_path(), "gzip"),
        (corrupted.as_path(), "gzip"),
        (dir.path(), "directory"),
    ] {
        let out = env.run(&["count-5xx", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path:?}: {err}");
        assert!(out.stdout.is_empty(), "{path:?}: no counts printed");
        assert!(err.contains(words), "{path:?}: {err}");
        assert!(
            err.contains(path.to_str().unwrap()),
            "{path:?} named: {err}"
        );
    }
    let mut child = env
        .command(&["count-5xx"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&gz[..gz.len() / 2])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin"));
}

#[test]
fn an_unknown_clf_duration_unit_is_refused_naming_it() {
    let mut env = Env::new();
    env.set("LOG_CLF_DURATION_UNIT", "minutes");
    let path = real().join("gunicorn-ms.log");
    let out = env.run(&["count-5xx", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ORCH_POST_DEPLOY_LOG_CLF_DURATION_UNIT") && err.contains("minutes"),
        "{err}"
    );
}

/// A container that writes two of the captured logs, one on stdout and one on stderr:
/// `docker logs -t` of it piped in, plain and gzip'd, counts both logs' requests. Needs a
/// Docker engine and the `post-deploy-fixture:healthy` image (`.ci/docker-up`).
#[test]
fn a_real_docker_logs_timestamps_pipe_counts_as_the_files() {
    if !docker_cli::engine_with(&["post-deploy-fixture:healthy"]) {
        return;
    }
    let name = format!("pd-logs-real-{}", std::process::id());
    let mount = format!("{}:/l:ro", real().canonicalize().unwrap().display());
    let _ = docker_cli::docker(&["rm", "-f", &name]);
    docker_cli::docker_ok(&[
        "run",
        "--name",
        &name,
        "--entrypoint",
        "/bin/busybox",
        "-v",
        &mount,
        "post-deploy-fixture:healthy",
        "sh",
        "-c",
        "cat /l/caddy.log; cat /l/haproxy.log >&2",
    ]);
    let out = docker_cli::docker(&["logs", "--timestamps", &name]);
    let _ = docker_cli::docker(&["rm", "-f", &name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both = [out.stdout, out.stderr].concat();
    assert!(
        both.starts_with(b"20"),
        "stamped: {}",
        String::from_utf8_lossy(&both[..80])
    );
    let mut env = Env::new();
    env.set("LOG_DURATION_KEYS", "duration:s");
    let all = expected();
    let want = |name: &str| all.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let (caddy, haproxy) = (want("caddy.log"), want("haproxy.log"));
    let sum = |key: &str| caddy[key].as_u64().unwrap() + haproxy[key].as_u64().unwrap();
    for input in [both.clone(), gzip(&both)] {
        let got = count(&env, &[], &input);
        for key in ["total", "errors_5xx", "unparsed", "timed"] {
            assert_eq!(got[key].as_u64(), Some(sum(key)), "{key}: {got}");
        }
    }
}
