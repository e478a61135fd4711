//! `post-deploy replay` end to end: the incident corpus (`fixtures/incidents/`) judged as each
//! manifest says, the README's table of what it catches reproduced, and the command's inputs,
//! switches and exit codes.

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

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_post-deploy");

/// The corpus's generator, to check that it remakes the corpus.
#[allow(dead_code, reason = "only the generator's texts are used here")]
#[path = "../crates/post-deploy-core/examples/gen_incidents.rs"]
mod gen_incidents;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary with `args` and only the variables `vars` (nothing inherited).
fn replay(args: &[&str], vars: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("replay").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("ORCH_POST_DEPLOY_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(vars.iter().copied());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// One incident of the corpus, and its manifest.
struct Incident {
    name: String,
    dir: PathBuf,
    expect: Value,
}

fn corpus() -> Vec<Incident> {
    let mut all: Vec<Incident> = std::fs::read_dir(root().join("fixtures/incidents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|dir| Incident {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            expect: serde_json::from_slice(&std::fs::read(dir.join("expect.json")).unwrap())
                .unwrap(),
            dir,
        })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

impl Incident {
    /// Replays it, with the manifest's variables and `extra`.
    fn run(&self, extra: &[(&str, &str)]) -> (Output, Value) {
        let log = ["log.gz", "log"]
            .iter()
            .map(|n| self.dir.join(n))
            .find(|p| p.exists())
            .unwrap();
        let mut args = vec!["--log".to_owned(), log.display().to_string()];
        let health = self.dir.join("health");
        if health.exists() {
            args.extend(["--health".to_owned(), health.display().to_string()]);
        }
        if let Some(from) = self.expect["from"].as_str() {
            args.extend(["--from".to_owned(), from.to_owned()]);
        }
        let mut vars: Vec<(String, String)> = self.expect["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = replay(&args, &vars, None);
        let answer = json(&out);
        (out, answer)
    }

    /// What the table says of one replay: the verdict, the rule and the time from onset.
    fn cell(&self, answer: &Value) -> String {
        match answer["verdict"].as_str().unwrap() {
            "HEALTHY" => "HEALTHY".to_owned(),
            _ => {
                let after = answer["detected_after_s"].as_i64().unwrap()
                    - self.expect["onset_s"].as_i64().unwrap();
                format!(
                    "DEGRADED `{}` {after:+} s",
                    answer["rule"].as_str().unwrap_or("?")
                )
            }
        }
    }
}

#[test]
fn the_corpus_has_every_shape_the_project_promises_to_judge() {
    let names: Vec<String> = corpus().into_iter().map(|i| i.name).collect();
    for shape in [
        "sudden-outage",
        "late-onset",
        "slow-burn",
        "brownout",
        "latency-regression",
        "one-endpoint",
        "quiet-unlucky",
        "steady-floor",
        "bursty",
        "traffic-to-zero",
        "interleaved",
        "clean-deploy",
    ] {
        assert!(
            names.iter().any(|n| n == shape),
            "{shape} missing from {names:?}"
        );
    }
}

#[test]
fn the_generator_remakes_the_corpus() {
    use std::io::Read as _;
    let read = |dir: &Path, name: &str| -> Option<String> {
        if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
            return Some(text);
        }
        let gz = std::fs::read(dir.join(format!("{name}.gz"))).ok()?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .unwrap();
        Some(text)
    };
    let incidents = gen_incidents::INCIDENTS;
    assert_eq!(incidents.len(), corpus().len());
    for (i, inc) in incidents.iter().enumerate() {
        let dir = root().join("fixtures/incidents").join(inc.name);
        let seed = gen_incidents::seed_of(i);
        assert!(
            read(&dir, "log") == Some(gen_incidents::log_text(inc, seed)),
            "{}: the log is not what gen_incidents makes",
            inc.name
        );
        let health = inc.health.then(|| gen_incidents::health_text(inc, seed));
        assert!(read(&dir, "health") == health, "{}: health", inc.name);
        assert_eq!(
            read(&dir, "expect.json"),
            Some(gen_incidents::manifest(inc)),
            "{}",
            inc.name
        );
    }
}

#[test]
fn every_incident_is_judged_as_its_manifest_says() {
    let mut wrong = Vec::new();
    for inc in corpus() {
        let (out, answer) = inc.run(&[]);
        let e = &inc.expect;
        let degraded = e["verdict"] == "DEGRADED";
        let code = out.status.code().unwrap();
        let detected = answer["detected_after_s"].as_i64();
        let onset = e["onset_s"].as_i64().unwrap();
        let bound = onset + e["detect_within_s"].as_i64().unwrap();
        let ok = answer["verdict"] == e["verdict"]
            && answer["rule"] == e["rule"]
            && code == if degraded { 3 } else { 0 }
            && answer["action"] == if degraded { "ROLLBACK" } else { "NONE" }
            && match detected {
                Some(after) => degraded && after <= bound,
                None => !degraded && answer["degraded_at"].is_null(),
            };
        if !ok {
            wrong.push(format!(
                "{}: expected {} {} by {bound} s, got {} {} after {:?} s (exit {code}): {}",
                inc.name,
                e["verdict"],
                e["rule"],
                answer["verdict"],
                answer["rule"],
                detected,
                answer["reason"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The table of the README's "What it catches", from the corpus at three settings.
fn table() -> String {
    let mut out = String::from(
        "| incident | what happens | defaults | `RECENT_S=0` (the window rule alone) | \
         `CONFIDENCE=0.95` |\n|---|---|---|---|---|\n",
    );
    for inc in corpus() {
        let cells: Vec<String> = [
            &[][..],
            &[("ORCH_POST_DEPLOY_RECENT_S", "0")][..],
            &[("ORCH_POST_DEPLOY_CONFIDENCE", "0.95")][..],
        ]
        .iter()
        .map(|extra| inc.cell(&inc.run(extra).1))
        .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            inc.name,
            inc.expect["what"].as_str().unwrap(),
            cells.join(" | ")
        );
    }
    out
}

#[test]
fn the_readme_shows_what_the_corpus_gives() {
    let table = table();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let written = root().join("target/incidents-table.md");
    let _ = std::fs::write(&written, &table);
    assert!(
        readme.contains(&table),
        "README.md's table of incidents differs from what replay gives now; the table is in \
         {}:\n{table}",
        written.display()
    );
}

fn stamped(lines: &[&str]) -> Vec<u8> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("2026-12-07T09:00:{:02}.000000000Z {l}\n", i * 2))
        .collect::<String>()
        .into_bytes()
}

const OK: &str = "10.0.0.1 - - [07/Dec/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 200 12";
const BAD: &str = "10.0.0.1 - - [07/Dec/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 503 12";

#[test]
fn stdin_gzip_and_the_table() {
    let lines: Vec<&str> = (0..25).map(|i| if i % 2 == 0 { BAD } else { OK }).collect();
    let log = stamped(&lines);
    let vars = [
        ("ORCH_POST_DEPLOY_WINDOW_S", "60"),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "10"),
    ];
    let plain = replay(&["--log", "-", "--table"], &vars, Some(&log));
    assert_eq!(plain.status.code(), Some(3), "{plain:?}");
    let answer = json(&plain);
    assert_eq!(answer["verdict"], "DEGRADED");
    assert_eq!(answer["action"], "ROLLBACK");
    assert_eq!(answer["degraded_at"], "2026-12-07T09:00:40Z");
    assert_eq!(answer["detected_after_s"], 40);
    assert_eq!(answer["lines"], 25);
    let ticks = answer["ticks"].as_array().unwrap();
    assert_eq!(ticks.len(), 4);
    assert_eq!(ticks[0]["at"], "2026-12-07T09:00:10Z");
    assert_eq!(ticks[3]["window_requests"], 21);
    assert_eq!(ticks[3]["window_errors_5xx"], 11);
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(stderr.contains("| time | window | health |"), "{stderr}");
    assert_eq!(stderr.matches("| stdin |").count(), 0);
    assert_eq!(stderr.matches("| replay stdin |").count(), 4, "{stderr}");
    // The same log gzip'd, from a file whose name says nothing of it, reads the same.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("yesterday.log");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&log).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let zipped = replay(&["--log", gz.to_str().unwrap()], &vars, None);
    let mut a = json(&zipped);
    let mut b = answer.clone();
    for v in [&mut a, &mut b] {
        v["reason"] = Value::Null;
        for t in v["ticks"].as_array_mut().unwrap() {
            t["reason"] = Value::Null;
        }
    }
    assert_eq!(a, b);
    // Healthy: exit 0, action NONE, nulls.
    let healthy = replay(&["--log", "-"], &vars, Some(&stamped(&[OK; 30])));
    assert_eq!(healthy.status.code(), Some(0));
    let h = json(&healthy);
    assert_eq!(
        (
            &h["verdict"],
            &h["action"],
            &h["degraded_at"],
            &h["detected_after_s"]
        ),
        (
            &Value::from("HEALTHY"),
            &Value::from("NONE"),
            &Value::Null,
            &Value::Null
        )
    );
    assert_eq!(h["ticks"].as_array().unwrap().len(), 6);
}

/// A log file big enough to be read in parts on several cores replays as the same bytes do
/// through stdin (one stream), up to the window's name in its reasons.
#[test]
fn a_big_file_replays_as_its_stream() {
    let mut log = String::new();
    let mut i = 0u64;
    while log.len() < 10 << 20 {
        let ms = i * 2;
        // Errors from 150 s on: a late onset, caught by the recent span.
        let line = if ms > 150_000 && i.is_multiple_of(3) {
            BAD
        } else {
            OK
        };
        writeln!(
            log,
            "2026-12-07T09:{:02}:{:02}.{:03}000000Z {line}",
            ms / 60_000,
            ms / 1000 % 60,
            ms % 1000
        )
        .unwrap();
        i += 1;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.log");
    std::fs::write(&file, &log).unwrap();
    let vars = [
        ("ORCH_POST_DEPLOY_WINDOW_S", "300"),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "10"),
        ("ORCH_POST_DEPLOY_RECENT_S", "30"),
    ];
    let from_file = replay(&["--log", file.to_str().unwrap()], &vars, None);
    let from_stdin = replay(&["--log", "-"], &vars, Some(log.as_bytes()));
    assert_eq!(from_file.status.code(), Some(3), "{from_file:?}");
    let (mut a, mut b) = (json(&from_file), json(&from_stdin));
    assert_eq!(a["lines"].as_u64(), Some(i));
    assert_eq!(a["rule"], "5xx_recent", "{a}");
    for v in [&mut a, &mut b] {
        v["reason"] = Value::Null;
        for t in v["ticks"].as_array_mut().unwrap() {
            t["reason"] = Value::Null;
        }
    }
    assert_eq!(a, b);
}

#[test]
fn switches_do_not_change_the_verdict_and_every_set_variable_is_checked() {
    let lines: Vec<&str> = (0..25).map(|i| if i % 2 == 0 { BAD } else { OK }).collect();
    let log = stamped(&lines);
    let base = [
        ("ORCH_POST_DEPLOY_WINDOW_S", "60"),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "10"),
    ];
    let mut switched = base.to_vec();
    switched.extend([
        ("ORCH_POST_DEPLOY_ENABLED", "false"),
        ("ORCH_POST_DEPLOY_ROLLBACK", "alert-only"),
        ("ORCH_POST_DEPLOY_ROLLBACK_CMD", "/bin/false"),
        ("ORCH_POST_DEPLOY_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
        ("ORCH_POST_DEPLOY_DOCKER", "no-such-docker"),
        ("ORCH_POST_DEPLOY_PROMETHEUS_URL", "http://127.0.0.1:9"),
        (
            "ORCH_POST_DEPLOY_PROMETHEUS_REQUESTS",
            "http_requests_total",
        ),
        (
            "ORCH_POST_DEPLOY_PROMETHEUS_ERRORS",
            "http_requests_total{code=~\"5..\"}",
        ),
    ]);
    let a = replay(&["--log", "-"], &base, Some(&log));
    let b = replay(&["--log", "-"], &switched, Some(&log));
    assert_eq!(a.status.code(), Some(3));
    assert_eq!(b.status.code(), Some(3));
    assert_eq!(json(&a), json(&b));
    for (k, v) in [
        ("ORCH_POST_DEPLOY_ROLLBACK", "sometimes"),
        ("ORCH_POST_DEPLOY_WEBHOOK_URL", "ftp://x"),
        ("ORCH_POST_DEPLOY_5XX_THRESHOLD", "2"),
        ("ORCH_POST_DEPLOY_PROMETHEUS_URL", "not a url"),
    ] {
        let out = replay(&["--log", "-"], &[(k, v)], Some(&log));
        assert_eq!(out.status.code(), Some(2), "{k}={v}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(k), "{k}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn bad_inputs_exit_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let health = dir.path().join("health");
    std::fs::write(
        &health,
        "2026-12-07T09:00:05Z 200\n2026-12-07T09:00:06Z maybe\n",
    )
    .unwrap();
    let log = stamped(&[OK, OK]);
    for (args, stdin, says) in [
        (
            vec!["--log", "-"],
            b"2026-12-07T09:00:00Z ok\nGET / 200\n".to_vec(),
            "--log line 2: expected an RFC 3339 stamp",
        ),
        (
            vec!["--log", "-", "--health", health.to_str().unwrap()],
            log.clone(),
            "--health line 2: expected an RFC 3339 stamp, one space, and an HTTP status or `fail`",
        ),
        (
            vec!["--log", "/nonexistent/x.log"],
            Vec::new(),
            "/nonexistent/x.log",
        ),
        (
            vec!["--log", "-", "--from", "yesterday"],
            log.clone(),
            "yesterday",
        ),
        (vec!["--log", "-"], Vec::new(), "no arm time"),
        (
            vec!["--log", "-"],
            vec![0x1f, 0x8b, 0x08, 0x00, 0x01],
            "--log",
        ),
    ] {
        let out = replay(&args, &[], Some(&stdin));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn svg_writes_the_windows_picture() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("window.svg");
    let log = stamped(&[BAD; 30]);
    let vars = [
        ("ORCH_POST_DEPLOY_WINDOW_S", "60"),
        ("ORCH_POST_DEPLOY_INTERVAL_S", "10"),
    ];
    let out = replay(
        &["--log", "-", "--svg", svg.to_str().unwrap()],
        &vars,
        Some(&log),
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{text}");
    assert!(text.contains("replay stdin"), "{text}");
    assert!(text.contains("DEGRADED"), "{text}");
    // A picture that cannot be written: exit 2, naming the file.
    let bad = dir.path().join("no/such/dir/w.svg");
    let out = replay(
        &["--log", "-", "--svg", bad.to_str().unwrap()],
        &vars,
        Some(&log),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--svg"));
}

#[test]
fn it_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = stamped(&[BAD; 30]);
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .args(["replay", "--log", "-"])
        .env("ORCH_POST_DEPLOY_STATE_DIR", dir.path())
        .env("ORCH_POST_DEPLOY_ROLLBACK_CMD", "touch rolled-back")
        .env(
            "ORCH_POST_DEPLOY_METRICS_FILE",
            dir.path().join("windows.prom"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&log).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
