//! A hostile Prometheus, end to end: the `post-deploy` binary against a loopback server that
//! answers the query API with a value of a million digits, counts no server can have counted,
//! 5xx far above the requests, and errors that echo the `Authorization` header it received.
//! The window goes on working through all of it (a failing health probe still makes it
//! DEGRADED and rolls back once), and the credential shows nowhere: not on stdout, not in
//! `status --json`, `window.json` or the log artefact.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "tests"
)]

#[path = "support/binary.rs"]
mod binary;
#[path = "support/loopback.rs"]
mod loopback;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU16, Ordering};
use std::time::Duration;

use binary::Env;
use loopback::{Conn, Server};
use serde_json::Value;

/// base64 of `promuser:s3cretpw`, as the probe sends it, and its start.
const TOKEN: &str = "cHJvbXVzZXI6czNjcmV0cHc=";
const SECRETS: [&str; 3] = ["s3cretpw", "cHJvbXVzZXI6", "czNjcmV0cHc"];

/// How the server answers.
const MILLION_ZEROS: u8 = 0;
const HUGE_COUNTS: u8 = 1;
const ERRORS_OVER_REQUESTS: u8 = 2;
const ECHO_AUTHORIZATION: u8 = 3;

/// One answer of the query API holding `value`.
fn vector(value: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000,"{value}"]}}]}}}}"#
    )
}

/// The hostile server: answers every query as `mode` says.
fn hostile(mode: Arc<AtomicU8>) -> Server {
    Server::start(move |c: &mut Conn| {
        let Some(request) = c.read_request() else {
            return;
        };
        let errors = request.target.contains("err_total");
        let (status, body) = match mode.load(Ordering::SeqCst) {
            MILLION_ZEROS => (200, vector(&format!("1{}", "0".repeat(1_000_000)))),
            HUGE_COUNTS => (200, vector(if errors { "1e21" } else { "1e25" })),
            ERRORS_OVER_REQUESTS => (200, vector(if errors { "1e30" } else { "20" })),
            _ => {
                let auth = request.header("authorization").unwrap_or("none");
                let error = format!("unauthorized: the header was Authorization: {auth}");
                let body =
                    serde_json::json!({"status": "error", "errorType": "auth", "error": error});
                (401, body.to_string())
            }
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        if c.write(head.as_bytes()) {
            c.write_body(body.as_bytes());
        }
    })
}

/// `/health` answers whatever `status` holds.
fn health(status: Arc<AtomicU16>) -> Server {
    Server::start(move |c: &mut Conn| {
        if c.read_request().is_some() {
            let status = status.load(Ordering::SeqCst);
            let _ = c.write(
                format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    .as_bytes(),
            );
        }
    })
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

fn tick(env: &Env) -> Value {
    // Past half an interval (1 s): not a duplicate tick.
    std::thread::sleep(Duration::from_millis(600));
    let out = env.json(&["tick", "--repo", "api", "--work-item", "hostile"], 0);
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.chars().count() <= 1000,
        "{} characters",
        reason.len()
    );
    assert_no_secret("the tick", &out.to_string());
    out
}

#[test]
fn a_hostile_prometheus_neither_stops_the_window_nor_rolls_it_back_nor_leaks_the_credential() {
    let mode = Arc::new(AtomicU8::new(MILLION_ZEROS));
    let prometheus = hostile(Arc::clone(&mode));
    let status = Arc::new(AtomicU16::new(200));
    let target = health(Arc::clone(&status));
    let recorded = tempfile::tempdir().unwrap();
    let rollbacks = recorded.path().join("rollbacks");
    let mut env = Env::new();
    env.set("WINDOW_S", "60")
        .set("FAIL_THRESHOLD", "2")
        .set("MIN_REQUESTS", "10")
        .set(
            "PROMETHEUS_URL",
            &prometheus
                .url("")
                .replace("http://", "http://promuser:s3cretpw@"),
        )
        .set("PROMETHEUS_REQUESTS", r#"req_total{job="api"}"#)
        .set("PROMETHEUS_ERRORS", r#"err_total{job="api",code=~"5.."}"#)
        .set(
            "ROLLBACK_CMD",
            &format!("sh -c 'echo rolled >> {}'", rollbacks.display()),
        );
    let armed = env.json(
        &[
            "arm",
            "--repo",
            "api",
            "--work-item",
            "hostile",
            "--health-url",
            &target.url("/health"),
        ],
        0,
    );
    assert_eq!(armed["armed"], true, "{armed}");
    let window_json = env.window_dir("api", "hostile").join("window.json");

    let mut ticks = 0;
    for (m, says) in [
        (MILLION_ZEROS, "0000…[cut], not a finite number"),
        (HUGE_COUNTS, "the request count 1e25 is above 2^53"),
        (ERRORS_OVER_REQUESTS, "the 5xx count 1e30 is above 2^53"),
        (
            ECHO_AUTHORIZATION,
            "unauthorized: the header was Authorization: Basic ***",
        ),
    ] {
        mode.store(m, Ordering::SeqCst);
        let out = tick(&env);
        ticks += 1;
        let reason = out["reason"].as_str().unwrap();
        assert_eq!(out["verdict"], "HEALTHY", "{out}");
        assert_eq!(out["action"], "NONE", "{out}");
        assert_eq!(out["ticks"], ticks, "the window goes on: {out}");
        assert!(
            reason.contains("Prometheus at http://127.0.0.1:"),
            "{reason}"
        );
        assert!(reason.contains(says), "{reason}");
        assert!(!reason.contains("damaged"), "{reason}");
        let state = std::fs::metadata(&window_json).unwrap().len();
        assert!(state < 64 * 1024, "window.json holds {state} bytes");
    }
    // The server did receive the credential, in the header the probe sends.
    assert!(
        prometheus
            .requests()
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("Basic {TOKEN}"))),
        "the credential was sent"
    );

    // The target fails its health probes: DEGRADED at the threshold, one rollback.
    status.store(503, Ordering::SeqCst);
    let first = tick(&env);
    assert_eq!(first["verdict"], "HEALTHY", "{first}");
    let second = tick(&env);
    assert_eq!(second["verdict"], "DEGRADED", "{second}");
    assert_eq!(second["action"], "ROLLBACK", "{second}");
    assert!(
        second["reason"]
            .as_str()
            .unwrap()
            .starts_with("health: 2 consecutive failed health probes"),
        "{second}"
    );
    assert_eq!(std::fs::read_to_string(&rollbacks).unwrap(), "rolled\n");

    let status_json = env.run(&["status", "--json"]);
    assert_eq!(status_json.status.code(), Some(0));
    assert_no_secret(
        "status --json",
        &String::from_utf8_lossy(&status_json.stdout),
    );
    assert_no_secret(
        "window.json",
        &std::fs::read_to_string(&window_json).unwrap(),
    );
    let log = env
        .window_dir("api", "hostile")
        .join("16-post-deploy-log.md");
    assert_no_secret("the log artefact", &std::fs::read_to_string(log).unwrap());
}
