//! The `post-deploy` binary end to end: every command, its JSON and its exit codes, against a
//! real HTTP server on loopback and real rollback commands run as child processes.

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
#[path = "support/loopback.rs"]
mod loopback;
#[path = "support/tmpfs.rs"]
mod tmpfs;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use binary::{BIN, Env};
use loopback::{Conn, Server};
use serde_json::Value;

/// A target: `/health` answers 500 while `bad`, 200 otherwise; `POST /admin/rollback` heals it.
fn target(bad: bool) -> (Server, Arc<AtomicBool>) {
    let flag = Arc::new(AtomicBool::new(bad));
    let state = Arc::clone(&flag);
    let server = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else { return };
        let status = match (req.method.as_str(), req.target.as_str()) {
            ("POST", "/admin/rollback") => {
                state.store(false, Ordering::SeqCst);
                200
            }
            ("GET", "/health") if state.load(Ordering::SeqCst) => 500,
            ("GET", "/health") => 200,
            _ => 404,
        };
        let _ = c.write(
            format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .as_bytes(),
        );
    });
    (server, flag)
}

fn arm_args<'a>(url: &'a str, item: &'a str) -> Vec<&'a str> {
    vec!["--repo", "api", "--work-item", item, "--health-url", url]
}

/// A rollback command that heals the target through this very binary (`demo --heal`).
fn healing_command(server: &Server) -> String {
    format!("'{BIN}' demo --heal {}", server.url("/admin/rollback"))
}

/// The environment of these tests: a 4 s window, degraded after two failures.
fn new_env() -> Env {
    let mut env = Env::new();
    env.set("WINDOW_S", "4").set("FAIL_THRESHOLD", "2");
    env
}

#[test]
fn help_and_version() {
    let env = new_env();
    let mut all = String::new();
    for cmd in [
        vec!["--help"],
        vec!["arm", "--help"],
        vec!["tick", "--help"],
        vec!["watch", "--help"],
        vec!["status", "--help"],
        vec!["disarm", "--help"],
        vec!["extend", "--help"],
        vec!["rollback", "--help"],
        vec!["promote", "--help"],
        vec!["known-good", "--help"],
        vec!["count-5xx", "--help"],
        vec!["replay", "--help"],
        vec!["demo", "--help"],
    ] {
        let out = Command::new(BIN).args(&cmd).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Example") || cmd == ["--help"],
            "{cmd:?} has an example"
        );
        all.push_str(&format!("$ post-deploy {}\n{text}\n", cmd.join(" ")));
    }
    insta::assert_snapshot!("help", all);
    let version = env.run(&["--version"]);
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("post-deploy {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_input_exits_2_names_the_value_and_writes_nothing() {
    let mut cases: Vec<(Env, Vec<&str>)> = Vec::new();
    let url = "http://127.0.0.1:9/health";
    for bad in [
        vec!["--repo", "../etc", "--work-item", "w", "--health-url", url],
        vec!["--repo", "api", "--work-item", "-rf", "--health-url", url],
        vec!["--repo", "api", "--work-item", "..", "--health-url", url],
        vec![
            "--repo",
            "api",
            "--work-item",
            "w",
            "--health-url",
            "ftp://example.com/health",
        ],
        vec![
            "--repo",
            "api",
            "--work-item",
            "w",
            "--health-url",
            url,
            "--container",
            "a b",
        ],
        vec![
            "--repo",
            "api",
            "--work-item",
            "w",
            "--health-url",
            url,
            "--previous-image",
            "$(touch /tmp/pwned)",
        ],
    ] {
        cases.push((new_env(), [vec!["arm"], bad].concat()));
    }
    for (name, value) in [
        ("INTERVAL_S", "0"),
        ("WINDOW_S", "abc"),
        ("5XX_THRESHOLD", "1.5"),
        ("ROLLBACK", "sometimes"),
        ("WEBHOOK_URL", "gopher://x"),
        ("ENABLED", "perhaps"),
        ("REPOS", "api,/etc"),
    ] {
        let mut env = new_env();
        env.set(name, value);
        cases.push((
            env,
            vec![
                "arm",
                "--repo",
                "api",
                "--work-item",
                "w",
                "--health-url",
                url,
            ],
        ));
    }
    let mut messages = Vec::new();
    for (env, args) in &cases {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        messages.push(err.lines().next().unwrap_or_default().to_owned());
        assert_eq!(
            std::fs::read_dir(env.state()).unwrap().count(),
            0,
            "{args:?}: nothing written"
        );
        assert!(!Path::new("/tmp/pwned").exists());
    }
    insta::assert_snapshot!("errors", messages.join("\n"));
    // tick takes the same identifier and configuration checks
    let env = new_env();
    assert_eq!(
        env.run(&["tick", "--repo", "a/b", "--work-item", "w"])
            .status
            .code(),
        Some(2)
    );
    let mut env = new_env();
    env.set("MIN_REQUESTS", "lots");
    let out = env.run(&["tick", "--repo", "api", "--work-item", "w"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ORCH_POST_DEPLOY_MIN_REQUESTS=\"lots\"")
    );
}

#[test]
fn arm_is_idempotent_and_not_applicable_repos_write_nothing() {
    let env = new_env();
    let (server, _) = target(false);
    let url = server.url("/health");
    let first = env.json(&[vec!["arm"], arm_args(&url, "PR-1")].concat(), 0);
    assert_eq!(
        (
            first["armed"].as_bool(),
            first["already_armed"].as_bool(),
            first["applies"].as_bool()
        ),
        (Some(true), Some(false), Some(true))
    );
    assert!(
        first["deadline"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .is_ok()
    );
    assert!(env.window_dir("api", "PR-1").join("target.json").exists());
    let second = env.json(&[vec!["arm"], arm_args(&url, "PR-1")].concat(), 0);
    assert_eq!(second["already_armed"], true);
    assert_eq!(second["deadline"], first["deadline"]);

    let other = env.json(
        &[
            "arm",
            "--repo",
            "web",
            "--work-item",
            "PR-1",
            "--health-url",
            &url,
        ],
        0,
    );
    assert_eq!(
        (other["armed"].as_bool(), other["applies"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(other["deadline"].is_null());
    assert!(!env.state().join(".post-deploy-state-web").exists());
}

#[test]
fn tick_of_a_pair_with_no_window() {
    let env = new_env();
    let out = env.json(&["tick", "--repo", "api", "--work-item", "nothing"], 0);
    assert_eq!(out["finished"], true);
    assert_eq!(out["action"], "NONE");
    assert!(out["requeue_after_s"].is_null());
    assert!(out["reason"].as_str().unwrap().contains("not armed"));
}

#[test]
fn tick_reports_and_requeues() {
    let mut env = new_env();
    env.set("INTERVAL_S", "30").set("WINDOW_S", "900");
    let (server, _) = target(false);
    let url = server.url("/health");
    env.json(&[vec!["arm"], arm_args(&url, "PR-2")].concat(), 0);
    let out = env.json(&["tick", "--repo", "api", "--work-item", "PR-2"], 0);
    assert_eq!(
        (
            out["verdict"].as_str(),
            out["action"].as_str(),
            out["finished"].as_bool()
        ),
        (Some("HEALTHY"), Some("NONE"), Some(false))
    );
    assert_eq!(out["requeue_after_s"], 30);
    // a duplicate job right after: no probe, the time left until the next one
    let dup = env.json(&["tick", "--repo", "api", "--work-item", "PR-2"], 0);
    assert_eq!(dup["probed"], false);
    assert!(dup["requeue_after_s"].as_u64().unwrap() <= 30);
    assert_eq!(server.requests().len(), 1, "one probe");
}

#[test]
fn watch_exit_codes() {
    // 0: never degraded
    let env = new_env();
    let (healthy, _) = target(false);
    let url = healthy.url("/health");
    let out = env.json(&[vec!["watch"], arm_args(&url, "ok")].concat(), 0);
    assert_eq!(
        (out["verdict"].as_str(), out["finished"].as_bool()),
        (Some("HEALTHY"), Some(true))
    );

    // 3: rolled back and recovered
    let mut env = new_env();
    let (bad, flag) = target(true);
    env.set("ROLLBACK_CMD", &healing_command(&bad))
        .set("WINDOW_S", "20");
    let url = bad.url("/health");
    let out = env.json(&[vec!["watch"], arm_args(&url, "heals")].concat(), 3);
    assert_eq!(
        (
            out["verdict"].as_str(),
            out["action"].as_str(),
            out["recovered"].as_bool()
        ),
        (Some("DEGRADED"), Some("ROLLBACK"), Some(true))
    );
    assert!(
        !flag.load(Ordering::SeqCst),
        "the rollback command healed the target"
    );

    // 4: shadow mode only alerts
    let mut env = new_env();
    let (bad, flag) = target(true);
    env.set("ROLLBACK_CMD", &healing_command(&bad))
        .set("ROLLBACK", "alert-only");
    let url = bad.url("/health");
    let out = env.json(&[vec!["watch"], arm_args(&url, "shadow")].concat(), 4);
    assert_eq!(
        (
            out["verdict"].as_str(),
            out["action"].as_str(),
            out["recovered"].as_bool()
        ),
        (Some("DEGRADED"), Some("ALERT_ONLY"), Some(false))
    );
    assert!(
        flag.load(Ordering::SeqCst),
        "shadow mode never ran the rollback"
    );

    // 4: a rollback that does not heal
    let mut env = new_env();
    let (bad, _) = target(true);
    env.set("ROLLBACK_CMD", "true");
    let url = bad.url("/health");
    let out = env.json(&[vec!["watch"], arm_args(&url, "stays-bad")].concat(), 4);
    assert_eq!(
        (out["action"].as_str(), out["recovered"].as_bool()),
        (Some("ROLLBACK"), Some(false))
    );

    // 0 and nothing written: not applicable
    let env = new_env();
    let out = env.json(
        &[
            "watch",
            "--repo",
            "web",
            "--work-item",
            "w",
            "--health-url",
            &url,
        ],
        0,
    );
    assert_eq!(
        (out["finished"].as_bool(), out["action"].as_str()),
        (Some(true), Some("NONE"))
    );
    assert!(
        out["reason"].as_str().unwrap().contains("not listed"),
        "{out}"
    );
    assert!(!env.state().join(".post-deploy-state-web").exists());
}

#[test]
fn eight_concurrent_ticks_run_the_rollback_command_exactly_once() {
    let mut env = new_env();
    let (bad, _) = target(true);
    let marker = env.state().join("rollbacks.txt");
    env.set("FAIL_THRESHOLD", "1")
        .set("INTERVAL_S", "30")
        .set("WINDOW_S", "900")
        .set(
            "ROLLBACK_CMD",
            &format!("sh -c 'echo ran >> \"{}\"; sleep 1'", marker.display()),
        );
    let url = bad.url("/health");
    env.json(&[vec!["arm"], arm_args(&url, "race")].concat(), 0);
    let children: Vec<_> = (0..8)
        .map(|_| {
            env.command(&["tick", "--repo", "api", "--work-item", "race"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Value> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0));
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect();
    let ran = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(
        ran.lines().count(),
        1,
        "the rollback command ran exactly once"
    );
    assert_eq!(outs.iter().filter(|o| o["action"] == "ROLLBACK").count(), 1);
    assert_eq!(outs.iter().filter(|o| o["probed"] == true).count(), 1);
}

#[test]
fn status_disarm_and_the_table() {
    let mut env = new_env();
    env.set("REPOS", "api,web")
        .set("INTERVAL_S", "30")
        .set("WINDOW_S", "900");
    let (server, _) = target(false);
    let url = server.url("/health");
    env.json(&[vec!["arm"], arm_args(&url, "PR-1")].concat(), 0);
    env.json(
        &[
            "arm",
            "--repo",
            "web",
            "--work-item",
            "PR-9",
            "--health-url",
            &url,
        ],
        0,
    );
    env.json(&["tick", "--repo", "api", "--work-item", "PR-1"], 0);
    let disarmed = env.json(&["disarm", "--repo", "web", "--work-item", "PR-9"], 0);
    assert_eq!(disarmed["disarmed"], true);
    assert_eq!(disarmed["finished"], true);
    let after = env.json(&["tick", "--repo", "web", "--work-item", "PR-9"], 0);
    assert!(after["reason"].as_str().unwrap().contains("disarmed"));

    let rows = env.json(&["status", "--json"], 0);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        for key in [
            "repo",
            "work_item",
            "phase",
            "verdict",
            "action",
            "ticks",
            "armed_at",
            "deadline",
            "reason",
        ] {
            assert!(row.get(key).is_some(), "status row has {key}: {row}");
        }
    }
    assert_eq!(
        (
            rows[0]["repo"].as_str(),
            rows[0]["phase"].as_str(),
            rows[0]["ticks"].as_u64()
        ),
        (Some("api"), Some("watching"), Some(1))
    );
    assert_eq!(
        (rows[1]["repo"].as_str(), rows[1]["phase"].as_str()),
        (Some("web"), Some("finished"))
    );
    let only = env.json(&["status", "--json", "--repo", "web"], 0);
    assert_eq!(only.as_array().unwrap().len(), 1);

    let table = env.run(&["status"]);
    assert_eq!(table.status.code(), Some(0));
    let table = String::from_utf8(table.stdout).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"(in )?\d+(s|m|h\d\dm|d)( ago)?", "[age]");
    settings.bind(|| insta::assert_snapshot!("status_table", table));
}

#[test]
fn a_damaged_state_file_is_named_and_the_tick_still_exits_0() {
    let env = new_env();
    let (server, _) = target(true);
    let url = server.url("/health");
    env.json(&[vec!["arm"], arm_args(&url, "dmg")].concat(), 0);
    std::fs::write(
        env.window_dir("api", "dmg").join("window.json"),
        "{\"version\": 1, \"phase\": ",
    )
    .unwrap();
    let out = env.json(&["tick", "--repo", "api", "--work-item", "dmg"], 0);
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.contains("window.json") && reason.contains("damaged"),
        "{reason}"
    );
    let status = env.run(&["status"]);
    assert_eq!(status.status.code(), Some(0));
}

/// A window that rolled back, its `window.json` then damaged: whichever command reads it
/// first, `extend` or `promote`, finds it finished (exit 4); `status` shows it finished,
/// before and after, with the rollback it made; every later command agrees.
#[test]
fn a_damaged_window_is_finished_for_every_command_and_keeps_its_rollback() {
    let mut env = new_env();
    env.set("WINDOW_S", "120").set("ROLLBACK_CMD", "true");
    let (server, _) = target(true);
    let url = server.url("/health");
    let first_readers: [&[&str]; 2] = [&["extend", "--by", "60"], &["promote"]];
    for (item, first) in ["ext", "pro"].into_iter().zip(first_readers) {
        let pair = ["--repo", "api", "--work-item", item];
        env.json(&[vec!["arm"], arm_args(&url, item)].concat(), 0);
        let mut last = Value::Null;
        for _ in 0..10 {
            last = env.json(&[&["tick"][..], &pair].concat(), 0);
            if last["action"] == "ROLLBACK" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        assert_eq!(
            (last["action"].as_str(), last["finished"].as_bool()),
            (Some("ROLLBACK"), Some(false)),
            "{last}"
        );
        std::fs::write(
            env.window_dir("api", item).join("window.json"),
            "{\"version\": 1, \"phase\": ",
        )
        .unwrap();
        let status = |when: &str| {
            let rows = env.json(&[&["status", "--json"][..], &pair].concat(), 0);
            let row = &rows[0];
            assert_eq!(
                (
                    row["phase"].as_str(),
                    row["verdict"].as_str(),
                    row["action"].as_str()
                ),
                (Some("finished"), Some("DEGRADED"), Some("ROLLBACK")),
                "{when} {first:?}: {row}"
            );
            assert!(row["ticks"].as_u64().unwrap() >= 2, "{when}: {row}");
        };
        status("before any command read it");
        let out = env.json(&[first, &pair[..]].concat(), 4);
        assert_eq!(out["done"], false, "{first:?}: {out}");
        assert!(
            out["reason"].as_str().unwrap().contains("damaged"),
            "{first:?}: {out}"
        );
        status("after");
        let tick = env.json(&[&["tick"][..], &pair].concat(), 0);
        assert_eq!(
            (tick["finished"].as_bool(), tick["action"].as_str()),
            (Some(true), Some("ROLLBACK")),
            "{tick}"
        );
        let again: [&[&str]; 3] = [&["extend", "--by", "60"], &["promote"], &["rollback"]];
        for command in again {
            let out = env.json(&[command, &pair[..]].concat(), 4);
            assert_eq!(out["done"], false, "{command:?}: {out}");
        }
    }
}

/// A folder, a FIFO or a device where `window.json` or `target.json` belongs is damaged
/// state: it is kept aside (renamed, since a folder cannot be hard-linked) and replaced, the
/// reason names it, and the tick exits 0, at once and at every later tick. A folder where the
/// lock belongs leaves the folder unusable: exit 1, naming the lock.
#[test]
fn a_folder_fifo_or_device_in_place_of_a_state_file_is_kept_aside() {
    use std::os::unix::fs::FileTypeExt as _;
    let (server, _) = target(true);
    let url = server.url("/health");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    for name in ["window.json", "target.json"] {
        for kind in ["folder", "fifo", "device"] {
            let what = format!("{kind} as {name}");
            let env = new_env();
            env.json(&[vec!["arm"], arm_args(&url, "w")].concat(), 0);
            let path = env.window_dir("api", "w").join(name);
            std::fs::remove_file(&path).unwrap();
            let made = match kind {
                "folder" => std::fs::create_dir(&path).is_ok(),
                "fifo" => Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap()
                    .success(),
                _ => Command::new("mknod")
                    .arg(&path)
                    .args(["c", "1", "3"])
                    .status()
                    .is_ok_and(|s| s.success()),
            };
            if !made {
                assert!(kind == "device" && !root, "{what}: could not make it");
                continue;
            }
            for n in 0..2 {
                let out = env.run(&["tick", "--repo", "api", "--work-item", "w"]);
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{what}, tick {n}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let json = binary::one_json(&out, &what);
                if n == 0 {
                    let reason = json["reason"].as_str().unwrap();
                    assert!(
                        reason.contains(name) && reason.contains("damaged"),
                        "{what}: {reason}"
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            let kept: Vec<_> = std::fs::read_dir(env.window_dir("api", "w"))
                .unwrap()
                .map(|e| e.unwrap())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(&format!("{name}.damaged-"))
                })
                .collect();
            assert_eq!(kept.len(), 1, "{what}: kept once: {kept:?}");
            let kept_type = kept[0].file_type().unwrap();
            assert!(
                kept_type.is_dir() || kept_type.is_fifo() || kept_type.is_char_device(),
                "{what}: the very thing is kept"
            );
        }
    }

    let env = new_env();
    env.json(&[vec!["arm"], arm_args(&url, "w")].concat(), 0);
    let lock = env.window_dir("api", "w").join("lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).unwrap();
    let out = env.run(&["tick", "--repo", "api", "--work-item", "w"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(lock.to_str().unwrap()) && err.contains("a folder"),
        "names the lock: {err}"
    );
}

#[test]
fn count_5xx_reads_files_and_stdin() {
    let log = "10.0.0.1 - - [27/Nov/2026:03:20:00 +0000] \"GET / HTTP/1.1\" 200 12\n\
               10.0.0.1 - - [27/Nov/2026:03:20:01 +0000] \"GET /api HTTP/1.1\" 503 0\n\
               {\"status\": 500, \"path\": \"/x\"}\n\
               INFO:     127.0.0.1:5000 - \"GET /health HTTP/1.1\" 200 OK\n\
               starting worker 3\n";
    let env = new_env();
    let file = env.state().join("access.log");
    std::fs::write(&file, log).unwrap();
    let out = env.json(&["count-5xx", file.to_str().unwrap()], 0);
    assert_eq!(
        (
            out["total"].as_u64(),
            out["errors_5xx"].as_u64(),
            out["unparsed"].as_u64()
        ),
        (Some(4), Some(2), Some(1))
    );
    assert!((out["ratio"].as_f64().unwrap() - 0.5).abs() < 1e-9);

    let mut child = env
        .command(&["count-5xx", "--format", "clf"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), log.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["total"].as_u64(), v["errors_5xx"].as_u64()),
        (Some(2), Some(1))
    );

    let missing = env.run(&["count-5xx", "/nonexistent/access.log"]);
    assert_ne!(missing.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/access.log"));
}

#[test]
fn count_5xx_prints_durations_and_their_quantiles() {
    let env = new_env();
    let file = env.state().join("access.log");
    // No duration anywhere: timed 0, quantiles null.
    std::fs::write(&file, "{\"status\":200}\n").unwrap();
    let out = env.json(&["count-5xx", file.to_str().unwrap()], 0);
    assert_eq!(out["timed"], 0);
    for key in ["p50_ms", "p95_ms", "p99_ms"] {
        assert!(out[key].is_null(), "{key}: {out}");
    }
    // 100 lines of 1..=100 ms in four formats, and one without a duration.
    let mut log = String::new();
    for ms in 1..=100u32 {
        log.push_str(&match ms % 4 {
            0 => format!("{{\"status\":200,\"duration_ms\":{ms}}}\n"),
            1 => format!("at=info status=200 latency_ms={ms}\n"),
            2 => format!(
                "10.0.0.1 - - [27/Nov/2026:03:20:00 +0000] \"GET / HTTP/1.1\" 200 12 \"-\" \"c\" {}\n",
                ms * 1000
            ),
            _ => format!("{{\"status\":200,\"request_time\":{}}}\n", f64::from(ms) / 1000.0),
        });
    }
    log.push_str("INFO:     127.0.0.1:5000 - \"GET / HTTP/1.1\" 200 OK\n");
    std::fs::write(&file, log).unwrap();
    let out = env.json(&["count-5xx", file.to_str().unwrap()], 0);
    assert_eq!(out["total"], 101, "{out}");
    assert_eq!(out["timed"], 100, "{out}");
    for (key, want) in [("p50_ms", 50.0), ("p95_ms", 95.0), ("p99_ms", 99.0)] {
        let got = out[key].as_f64().unwrap();
        assert!((got - want).abs() <= want * 0.01, "{key}: {got}");
    }
}

/// A file big enough to be counted in parts on several cores counts what its lines say, and
/// exactly what the same bytes give through stdin (one stream).
#[test]
fn count_5xx_counts_a_big_file_as_its_lines_say() {
    let env = new_env();
    let file = env.state().join("big.log");
    let (mut log, mut total, mut errors) = (String::new(), 0u64, 0u64);
    let mut i = 0u32;
    while log.len() < 12 << 20 {
        let status = if i.is_multiple_of(13) { 502 } else { 200 };
        let ms = i % 250 + 1;
        log.push_str(&match i % 3 {
            0 => format!("at=info method=GET path=\"/o {i}\" status={status} latency_ms={ms}\n"),
            1 => format!(
                "10.0.0.1 - - [27/Nov/2026:03:20:00 +0000] \"GET /{i} HTTP/1.1\" {status} 12 \"-\" \"c\" {}\n",
                ms * 1000
            ),
            _ => format!("{{\"status\":{status},\"duration_ms\":{ms}}}\n"),
        });
        total += 1;
        errors += u64::from(status == 502);
        i += 1;
    }
    std::fs::write(&file, &log).unwrap();
    let out = env.json(&["count-5xx", file.to_str().unwrap()], 0);
    assert_eq!(out["total"].as_u64(), Some(total), "{out}");
    assert_eq!(out["errors_5xx"].as_u64(), Some(errors), "{out}");
    assert_eq!(out["timed"].as_u64(), Some(total), "{out}");
    let mut child = env
        .command(&["count-5xx"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, log.as_bytes()));
    let piped = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let piped: Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert_eq!(piped, out);
}

#[test]
fn the_demo_ends_with_a_rollback_and_recovery() {
    let out = Command::new(BIN)
        .arg("demo")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["verdict"].as_str(),
            v["action"].as_str(),
            v["recovered"].as_bool()
        ),
        (Some("DEGRADED"), Some("ROLLBACK"), Some(true))
    );
    assert!(err.contains("production turns bad"), "{err}");
    assert!(
        err.contains("## Outcome"),
        "the log artefact is printed: {err}"
    );
    // The window's picture, and where it is.
    let picture = err
        .lines()
        .find_map(|l| l.strip_prefix("post-deploy demo: the window's picture: "))
        .unwrap_or_else(|| panic!("the picture's path is printed: {err}"));
    assert!(picture.ends_with("16-post-deploy-window.svg"), "{picture}");
    let svg = std::fs::read_to_string(picture).unwrap();
    assert!(
        svg.starts_with("<svg ") && svg.contains(">rollback</text>"),
        "{svg}"
    );
    assert!(svg.contains(">recovered</text>"), "{svg}");
}

#[test]
fn ctrl_c_leaves_the_window_whole_and_a_later_tick_goes_on() {
    let mut env = new_env();
    env.set("WINDOW_S", "60");
    let (server, _) = target(false);
    let url = server.url("/health");
    let child = env
        .command(&[vec!["watch"], arm_args(&url, "interrupted")].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for two probes, then interrupt as a terminal would.
    for _ in 0..100 {
        if server.requests().len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(last["finished"], false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("stays armed"));
    let ticks = last["ticks"].as_u64().unwrap();
    // The state is whole: a later tick goes on from where watch stopped.
    std::thread::sleep(std::time::Duration::from_millis(600));
    let next = env.json(&["tick", "--repo", "api", "--work-item", "interrupted"], 0);
    assert_eq!(next["ticks"].as_u64(), Some(ticks + 1), "{next}");
    assert_eq!(next["finished"], false);
}

/// `http://user:pw@host…` with the user info shown as `***`, as every message shows a URL.
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://***{}", &rest[at..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// The URL table: arm takes exactly the health URLs that the probe can request as they are.
#[test]
fn arm_takes_exactly_the_health_urls_the_probe_can_use() {
    let bad = [
        "http://127.0.0.1:1/health ",
        " http://127.0.0.1:1/health",
        "http://127.0.0.1:1/he alth",
        "http://127.0.0.1:1/health\t",
        "http://127.0.0.1:1/\u{a0}health",
        "http://127.0.0.1:1/health\n",
        "http://u:p@[::1/x",
        "http://[::1/x",
        "http://[::g]/x",
        "http://[::1]x/",
        "http://:80/health",
        "http://u:p@/health",
        "http://",
        "http:///health",
        "http://exa%41mple/",
        "http://exa_mple..com/",
        "http://127.0.0.1:0/health",
        "http://127.0.0.1:65536/health",
        "http://127.0.0.1:99999/health",
        "http://127.0.0.1:/health",
        "http://127.0.0.1:+80/health",
        "ftp://127.0.0.1/health",
        "127.0.0.1:8080/health",
        "//127.0.0.1/health",
        "",
    ];
    for url in bad {
        let env = new_env();
        let out = env.run(&[vec!["arm"], arm_args(url, "w")].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url:?}: {err}");
        assert!(out.stdout.is_empty(), "{url:?}");
        assert!(
            err.contains(&format!("{:?}", shown(url))) && err.contains("--health-url"),
            "{url:?}: the message names the flag and the value: {err}"
        );
        assert!(
            !err.contains("u:p@"),
            "{url:?}: the user info is shown as ***: {err}"
        );
        assert_eq!(
            std::fs::read_dir(env.state()).unwrap().count(),
            0,
            "{url:?}: nothing written"
        );
    }

    let (server, _) = target(false);
    let port = server.port();
    let closed = loopback::closed_port();
    let good = [
        format!("http://user:pa%40ss@127.0.0.1:{port}/health"),
        format!("http://127.0.0.1:{port}/health?check=deep&x=1"),
        format!("HTTP://localhost:{port}/health"),
        format!("http://127.0.0.1:{port}"),
        format!("http://[::1]:{closed}/health"),
        format!("https://u@127.0.0.1:{closed}/health#top"),
    ];
    for (n, url) in good.iter().enumerate() {
        let env = new_env();
        let item = format!("w{n}");
        let armed = env.json(&[vec!["arm"], arm_args(url, &item)].concat(), 0);
        assert_eq!(armed["armed"], true, "{url}");
        // and the probe can use it: a sample (passed or failed), never a monitor fault
        let tick = env.json(&["tick", "--repo", "api", "--work-item", &item], 0);
        assert_eq!(tick["probed"], true, "{url}: {tick}");
        let reason = tick["reason"].as_str().unwrap();
        assert!(!reason.contains("monitor fault"), "{url}: {reason}");
    }
    assert!(
        server.requests().len() >= 4,
        "the loopback target was probed: {:?}",
        server.requests()
    );
}

/// An `--artefacts-dir` that is a file, or lies under one, is a usage error found before
/// anything is written.
#[test]
fn an_artefacts_dir_that_is_a_file_is_refused_before_anything_is_written() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    for bad in [file.clone(), file.join("sub"), file.join("sub/deeper")] {
        let env = new_env();
        let out = env.run(
            &[
                vec!["arm"],
                arm_args("http://127.0.0.1:9/health", "w"),
                vec!["--artefacts-dir", bad.to_str().unwrap()],
            ]
            .concat(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", bad.display());
        assert!(out.stdout.is_empty());
        assert!(
            err.contains("--artefacts-dir") && err.contains(bad.to_str().unwrap()),
            "the message names the path: {err}"
        );
        assert_eq!(
            std::fs::read_dir(env.state()).unwrap().count(),
            0,
            "{}: no window folder",
            bad.display()
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// Two windows that share an `--artefacts-dir` share its one log: each has its own section,
/// and each row names its window.
#[test]
fn two_windows_sharing_an_artefacts_dir_keep_both_logs() {
    let env = new_env();
    let (server, _) = target(false);
    let url = server.url("/health");
    let artefacts = tempfile::tempdir().unwrap();
    let dir = artefacts.path().to_str().unwrap();
    for item in ["PR-1", "PR-2"] {
        env.json(
            &[
                vec!["arm"],
                arm_args(&url, item),
                vec!["--artefacts-dir", dir],
            ]
            .concat(),
            0,
        );
    }
    for item in ["PR-1", "PR-2", "PR-1"] {
        env.json(&["tick", "--repo", "api", "--work-item", item], 0);
        std::thread::sleep(std::time::Duration::from_millis(600));
    }
    env.json(&["disarm", "--repo", "api", "--work-item", "PR-1"], 0);
    env.json(&["tick", "--repo", "api", "--work-item", "PR-2"], 0);
    let log = std::fs::read_to_string(artefacts.path().join("16-post-deploy-log.md")).unwrap();
    for item in ["PR-1", "PR-2"] {
        assert_eq!(
            log.matches(&format!("# post-deploy: api {item}\n")).count(),
            1,
            "{item}'s header, once: {log}"
        );
        let rows = log
            .lines()
            .filter(|l| l.starts_with("| 20") && l.contains(&format!("| api {item} |")))
            .count();
        assert_eq!(rows, 2, "{item}'s rows: {log}");
    }
    assert!(log.contains("## Outcome of api PR-1"), "{log}");
    // every row is in a table: a row never follows anything but a table line
    let lines: Vec<&str> = log.lines().collect();
    for pair in lines.windows(2) {
        if pair[1].starts_with('|') && !pair[1].starts_with("| time |") {
            assert!(
                pair[0].starts_with('|'),
                "a row out of its table: {pair:?}\n{log}"
            );
        }
    }
}

/// The operator's commands through the binary: their JSON, exit 0 when done and 4 when
/// refused, and the messages people read.
#[test]
fn operator_commands_answer_done_or_refused_with_why() {
    let env = new_env();
    let (server, _) = target(true);
    let url = server.url("/health");
    let pair = ["--repo", "api", "--work-item", "op"];
    fn with<'a>(cmd: &[&'a str], pair: &[&'a str]) -> Vec<&'a str> {
        [cmd, pair].concat()
    }
    let with = |cmd: &[&'static str]| with(cmd, &pair);
    env.json(&[&with(&["arm"])[..], &["--health-url", &url]].concat(), 0);
    let mut messages = Vec::new();
    let mut note = |what: &str, out: &serde_json::Value| {
        messages.push(format!(
            "{what}: done={} {}",
            out["done"],
            out["reason"].as_str().unwrap()
        ));
    };
    let out = env.json(&[&with(&["extend"])[..], &["--by", "60"]].concat(), 0);
    assert_eq!(out["done"], true);
    note("extend --by 60", &out);
    let out = env.json(&[&with(&["extend"])[..], &["--by", "2592000"]].concat(), 4);
    assert_eq!(out["done"], false);
    note("extend --by 2592000", &out);
    // No container and no rollback command: nothing to roll back to.
    let out = env.json(&with(&["rollback"]), 4);
    note("rollback", &out);
    let out = env.json(&with(&["promote"]), 0);
    assert_eq!(
        (out["done"].clone(), out["finished"].clone()),
        (true.into(), true.into())
    );
    note("promote", &out);
    let out = env.json(&with(&["promote"]), 4);
    note("promote again", &out);
    let out = env.json(&["rollback", "--repo", "api", "--work-item", "none"], 4);
    note("rollback of no window", &out);
    // `extend --by 0` is a usage error.
    assert_eq!(
        env.run(&[&with(&["extend"])[..], &["--by", "0"]].concat())
            .status
            .code(),
        Some(2)
    );
    // No container was named: nothing was proved.
    let listed = env.json(&["known-good", "--repo", "api", "--json"], 0);
    assert_eq!(listed, serde_json::json!([]));
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]");
    settings.bind(|| insta::assert_snapshot!("operator_messages", messages.join("\n")));
}
/// An operator's rollback on a window whose signals say HEALTHY, killed while its command
/// runs: the next tick settles it as unknown, and its `rollback_unknown` alert says what the
/// window says, HEALTHY with action ROLLBACK, as `status` does.
#[test]
fn an_interrupted_operator_rollback_alerts_the_windows_own_verdict() {
    let mut env = new_env();
    env.set("WINDOW_S", "120")
        .set("ROLLBACK_CMD", "sh -c 'kill -9 $PPID; sleep 5'");
    let (server, _) = target(false);
    let url = server.url("/health");
    let pair = ["--repo", "api", "--work-item", "opk"];
    env.json(&[vec!["arm"], arm_args(&url, "opk")].concat(), 0);
    let first = env.json(&[&["tick"][..], &pair].concat(), 0);
    assert_eq!(first["verdict"], "HEALTHY", "{first}");
    let killed = env.run(&[&["rollback"][..], &pair].concat());
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed.status),
        Some(9),
        "the rollback command killed the operator's command: {killed:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = env.run(&[&["tick"][..], &pair].concat());
    let tick = binary::one_json(&out, "tick");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(tick["verdict"], "HEALTHY", "{tick}");
    let alert: Value = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("post-deploy alert: "))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|a| a["event"] == "rollback_unknown")
        .unwrap_or_else(|| panic!("a rollback_unknown alert: {stderr}"));
    assert_eq!(
        (alert["verdict"].as_str(), alert["action"].as_str()),
        (Some("HEALTHY"), Some("ROLLBACK")),
        "{alert}"
    );
    let rows = env.json(&[&["status", "--json"][..], &pair].concat(), 0);
    assert_eq!(
        (rows[0]["verdict"].as_str(), rows[0]["action"].as_str()),
        (Some("HEALTHY"), Some("ROLLBACK")),
        "{rows}"
    );
}

/// Twelve windows armed at once with one `--artefacts-dir` that does not exist yet: every
/// arm exits 0 and every window's section is in the one log, whichever arm made it.
#[test]
fn twelve_concurrent_arms_share_one_fresh_artefacts_dir() {
    let env = new_env();
    let scratch = tempfile::tempdir().unwrap();
    let artefacts = scratch.path().join("fresh").join("artefacts");
    let dir = artefacts.to_str().unwrap();
    let url = "http://127.0.0.1:9/health";
    let items: Vec<String> = (0..12).map(|n| format!("PR-{n}")).collect();
    let children: Vec<_> = items
        .iter()
        .map(|item| {
            env.command(
                &[
                    vec!["arm"],
                    arm_args(url, item),
                    vec!["--artefacts-dir", dir],
                ]
                .concat(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for (item, child) in items.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{item}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let log = std::fs::read_to_string(artefacts.join("16-post-deploy-log.md")).unwrap();
    for item in &items {
        assert_eq!(
            log.matches(&format!("# post-deploy: api {item}\n")).count(),
            1,
            "{item}'s header, once: {log}"
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(&artefacts)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    let mut expected: Vec<String> = items
        .iter()
        .map(|item| format!("16-post-deploy-window-api-{item}.svg"))
        .collect();
    expected.push("16-post-deploy-log.md".to_owned());
    expected.sort();
    assert_eq!(
        left, expected,
        "the log, each window's picture, no temporary"
    );
}

/// A temporary left by a writer killed mid-write does not pile up in a window's folder: the
/// next write of that file clears it. In a shared artefacts dir, another writer's temporary
/// is never touched.
#[test]
fn temporaries_left_by_a_killed_writer_do_not_pile_up() {
    let env = new_env();
    let (server, _) = target(false);
    let url = server.url("/health");
    let artefacts = tempfile::tempdir().unwrap();
    let others = artefacts.path().join(".16-post-deploy-log.md.tmp.4242.0");
    std::fs::write(&others, "another writer's").unwrap();
    env.json(
        &[
            vec!["arm"],
            arm_args(&url, "w"),
            vec!["--artefacts-dir", artefacts.path().to_str().unwrap()],
        ]
        .concat(),
        0,
    );
    let dir = env.window_dir("api", "w");
    let stale = [
        ".window.json.tmp",
        ".window.json.tmp.4242.0",
        ".window.json.tmp.4243.17",
    ];
    for name in stale {
        std::fs::write(dir.join(name), "{\"half\": ").unwrap();
    }
    env.json(&["tick", "--repo", "api", "--work-item", "w"], 0);
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "stale temporaries left: {left:?}");
    assert_eq!(
        std::fs::read_to_string(&others).unwrap(),
        "another writer's",
        "a shared folder's temporaries are left alone"
    );
}

/// An `--artefacts-dir` that is a symlink to nothing, or lies in `/proc` (`/proc/self` is a
/// different folder in every process, and no log can be written there), is a usage error
/// found before anything is written.
#[test]
fn a_dangling_or_proc_artefacts_dir_is_refused_before_anything_is_written() {
    let scratch = tempfile::tempdir().unwrap();
    let dangling = scratch.path().join("dangling");
    std::os::unix::fs::symlink(scratch.path().join("nowhere"), &dangling).unwrap();
    for bad in [
        dangling.clone(),
        dangling.join("sub"),
        "/proc/self".into(),
        "/proc/self/post-deploy".into(),
        "/sys/kernel".into(),
    ] {
        let env = new_env();
        let out = env.run(
            &[
                vec!["arm"],
                arm_args("http://127.0.0.1:9/health", "w"),
                vec!["--artefacts-dir", bad.to_str().unwrap()],
            ]
            .concat(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", bad.display());
        assert!(
            err.contains("--artefacts-dir") && err.contains(bad.to_str().unwrap()),
            "the message names the path: {err}"
        );
        assert_eq!(
            std::fs::read_dir(env.state()).unwrap().count(),
            0,
            "{}: no window folder",
            bad.display()
        );
    }
    assert!(!scratch.path().join("nowhere").exists());
}
/// An `--artefacts-dir` whose name cannot be a folder (a component over 255 bytes, a path
/// over PATH_MAX) is refused with exit 2 and writes nothing; one that cannot be created or
/// written (a folder where its log belongs, a read-only file system) fails arm with exit 1,
/// naming the folder, and leaves nothing behind: no window folder, no `status` row.
#[test]
fn a_failed_or_refused_arm_leaves_no_window_behind() {
    let scratch = tempfile::tempdir().unwrap();
    let long_name = scratch.path().join("a".repeat(300)).join("logs");
    let mut long_path = scratch.path().to_path_buf();
    for _ in 0..45 {
        long_path.push("b".repeat(100));
    }
    let log_is_a_folder = scratch.path().join("taken");
    std::fs::create_dir_all(log_is_a_folder.join("16-post-deploy-log.md")).unwrap();
    let read_only = scratch.path().join("ro");
    std::fs::create_dir(&read_only).unwrap();
    let disk = tmpfs::Tmpfs::mount(&read_only, "1m").inspect(tmpfs::Tmpfs::read_only);
    let mut cases = vec![
        (long_name, 2, "255"),
        (long_path, 2, "4095"),
        (log_is_a_folder.clone(), 1, "not a regular file"),
    ];
    if disk.is_some() {
        cases.push((read_only.join("new/logs"), 1, "Read-only file system"));
    }
    for (dir, code, why) in cases {
        let env = new_env();
        let out = env.run(
            &[
                vec!["arm"],
                arm_args("http://127.0.0.1:9/health", "w"),
                vec!["--artefacts-dir", dir.to_str().unwrap()],
            ]
            .concat(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        let full = dir.to_str().unwrap();
        let shown = &full[..full.len().min(60)];
        assert_eq!(out.status.code(), Some(code), "{shown}: {err}");
        assert!(out.stdout.is_empty());
        assert!(err.contains(why), "{shown}: {err}");
        assert!(err.contains(shown), "the message names the folder: {err}");
        assert_eq!(
            std::fs::read_dir(env.state()).unwrap().count(),
            0,
            "{shown}: nothing written to the state folder"
        );
        assert_eq!(env.json(&["status", "--json"], 0), serde_json::json!([]));
        // A tick finds no window.
        let tick = env.json(&["tick", "--repo", "api", "--work-item", "w"], 0);
        assert!(
            tick["reason"].as_str().unwrap().contains("not armed"),
            "{tick}"
        );
    }
    assert!(log_is_a_folder.join("16-post-deploy-log.md").is_dir());
    drop(disk);
}

// --- An unusable state folder: exit 1 -------------------------------------------------------

/// Runs `args` and asserts the contract's exit 1 for a state folder that cannot be used, with
/// the fault named on stderr and nothing on stdout.
fn assert_exit_1(env: &Env, args: &[&str], fault: &str) {
    let out = env.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.contains(fault), "{args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A state folder under a file (ENOTDIR): every command that needs it exits 1, exactly.
/// Checked against the binary mapping store errors to exit 2 (and to 0).
#[test]
fn a_state_folder_under_a_file_exits_1() {
    let server = binary::health(500);
    let url = server.url("/health");
    let mut env = new_env();
    let file = env.state().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let under = file.join("state");
    env.set("STATE_DIR", under.to_str().unwrap());
    for args in [
        [vec!["arm"], arm_args(&url, "w")].concat(),
        vec!["tick", "--repo", "api", "--work-item", "w"],
        vec!["disarm", "--repo", "api", "--work-item", "w"],
        [vec!["watch"], arm_args(&url, "w")].concat(),
    ] {
        let out = env.program(BIN).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("Not a directory"), "{args:?}: {stderr}");
    }
    assert!(server.requests().is_empty(), "a probe was made");
}

/// A read-only state folder (a read-only tmpfs: root ignores modes, not a read-only mount):
/// a tick of an armed window exits 1 without probing, arm and disarm exit 1; status, which
/// only reads, still answers. Then a full one: arm exits 1.
#[test]
fn a_read_only_or_full_state_folder_exits_1_and_the_tick_does_not_run() {
    let server = binary::health(500);
    let url = server.url("/health");
    let env = new_env();
    let Some(disk) = tmpfs::Tmpfs::mount(env.state(), "1m") else {
        return;
    };
    let armed = env.json(&[vec!["arm"], arm_args(&url, "w")].concat(), 0);
    assert_eq!(armed["armed"], true, "{armed}");
    disk.read_only();
    assert_exit_1(
        &env,
        &["tick", "--repo", "api", "--work-item", "w"],
        "Read-only file system",
    );
    assert!(server.requests().is_empty(), "the tick probed");
    assert_exit_1(
        &env,
        &[vec!["arm"], arm_args(&url, "v")].concat(),
        "Read-only file system",
    );
    assert_exit_1(
        &env,
        &["disarm", "--repo", "api", "--work-item", "w"],
        "Read-only file system",
    );
    let status = env.json(&["status", "--json"], 0);
    assert_eq!(status.as_array().unwrap().len(), 1, "{status}");
    drop(disk);

    let Some(disk) = tmpfs::Tmpfs::mount(env.state(), "1m") else {
        return;
    };
    let _filler = disk.fill();
    assert_exit_1(
        &env,
        &[vec!["arm"], arm_args(&url, "full")].concat(),
        "No space left",
    );
    // The failed arm left nothing behind: no window folder, no status row.
    assert!(!env.window_dir("api", "full").exists());
    assert_eq!(env.json(&["status", "--json"], 0), serde_json::json!([]));
}
