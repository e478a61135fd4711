//! Prometheus as the source of a window's counts, end to end: the `post-deploy` binary against
//! a real Prometheus server that scrapes a loopback `/metrics` endpoint this test serves, with
//! counters and a latency histogram the test drives.
//!
//! The test starts its own `prometheus` (scraping every second, its storage in a temporary
//! folder, listening on a free loopback port). Without the program it fails when `CI` is set
//! and is skipped with a note otherwise (`.ci/test` installs it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "tests"
)]

#[path = "support/binary.rs"]
mod binary;
#[path = "support/loopback.rs"]
mod loopback;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use binary::Env;
use loopback::{Conn, Server};
use serde_json::Value;

/// What one window's label set of the served metrics does, per second since the server
/// started: requests, of which 5xx, and how long each request takes (seconds).
#[derive(Clone, Copy)]
struct Traffic {
    per_second: f64,
    errors_per_second: f64,
    duration_s: f64,
}

const BUCKETS: [f64; 4] = [0.1, 0.25, 0.5, 1.0];

/// The exposition text of every window's counters and histogram, `elapsed` seconds in.
fn metrics(windows: &BTreeMap<&'static str, Traffic>, elapsed: f64) -> String {
    let mut out = String::new();
    out.push_str("# TYPE app_requests_total counter\n");
    for (win, t) in windows {
        let all = (t.per_second * elapsed).floor();
        let errors = (t.errors_per_second * elapsed).floor();
        let _ = writeln!(
            out,
            "app_requests_total{{win=\"{win}\",code=\"200\"}} {}",
            all - errors
        );
        let _ = writeln!(
            out,
            "app_requests_total{{win=\"{win}\",code=\"500\"}} {errors}"
        );
    }
    out.push_str("# TYPE app_duration_seconds histogram\n");
    for (win, t) in windows {
        let all = (t.per_second * elapsed).floor();
        for le in BUCKETS {
            let n = if t.duration_s <= le { all } else { 0.0 };
            let _ = writeln!(
                out,
                "app_duration_seconds_bucket{{win=\"{win}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "app_duration_seconds_bucket{{win=\"{win}\",le=\"+Inf\"}} {all}"
        );
        let _ = writeln!(
            out,
            "app_duration_seconds_sum{{win=\"{win}\"}} {}",
            all * t.duration_s
        );
        let _ = writeln!(out, "app_duration_seconds_count{{win=\"{win}\"}} {all}");
    }
    out
}

/// `/metrics` as the windows' traffic says, and `/health` (anything else) a 200.
fn app(windows: BTreeMap<&'static str, Traffic>) -> Server {
    let started = Instant::now();
    Server::start(move |c: &mut Conn| {
        let Some(request) = c.read_request() else {
            return;
        };
        let body = if request.target.starts_with("/metrics") {
            metrics(&windows, started.elapsed().as_secs_f64())
        } else {
            "ok".to_owned()
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        if c.write(head.as_bytes()) {
            c.write_body(body.as_bytes());
        }
    })
}

/// The `prometheus` program, if installed.
fn prometheus_program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("prometheus"))
        .find(|p| p.is_file())
}

/// A running Prometheus server; killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `program` scraping `target` (`host:port`) every second; waits until it has
    /// scraped it.
    fn start(program: &Path, target: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = loopback::closed_port();
        let log = dir.path().join("prometheus.log");
        let child = Command::new(program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        server.wait_scraped();
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `up{job="app"}` is 1: the target was scraped.
    fn wait_scraped(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let query = format!("{}/api/v1/query?query=up", self.url());
        while Instant::now() < deadline {
            let answer = ureq::get(&query)
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok());
            if answer.is_some_and(|a| a.contains(r#""job":"app""#) && a.contains(r#","1"]"#)) {
                // Two more scrapes, so that increase() has samples to work with at arm.
                std::thread::sleep(Duration::from_secs(2));
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "prometheus never scraped the test's /metrics: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A window of repo `api` reading the label set `win` from the server at `url`.
fn arm(env: &mut Env, url: &str, health: &str, win: &str) {
    env.set("PROMETHEUS_URL", url)
        .set(
            "PROMETHEUS_REQUESTS",
            &format!(r#"app_requests_total{{win="{win}"}}"#),
        )
        .set(
            "PROMETHEUS_ERRORS",
            &format!(r#"app_requests_total{{win="{win}",code=~"5.."}}"#),
        )
        .set(
            "PROMETHEUS_LATENCY",
            &format!(r#"app_duration_seconds_bucket{{win="{win}"}}"#),
        );
    let out = env.json(
        &[
            "arm",
            "--repo",
            "api",
            "--work-item",
            win,
            "--health-url",
            health,
        ],
        0,
    );
    assert_eq!(out["armed"], true, "{out}");
}

fn tick(env: &Env, win: &str) -> Value {
    env.json(&["tick", "--repo", "api", "--work-item", win], 0)
}

#[test]
fn windows_judged_from_a_real_prometheus_server() {
    let Some(program) = prometheus_program() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `prometheus` is not installed: the Prometheus end-to-end test cannot \
             run (apt-get install prometheus; .ci/test does)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "note: Prometheus end-to-end test SKIPPED: no `prometheus` program (apt-get install \
             prometheus; CI=true makes this fail)"
        );
        return;
    };
    let fast = 0.05;
    let windows = BTreeMap::from([
        (
            "ratio",
            Traffic {
                per_second: 20.0,
                errors_per_second: 10.0,
                duration_s: fast,
            },
        ),
        (
            "latency",
            Traffic {
                per_second: 20.0,
                errors_per_second: 0.0,
                duration_s: 0.8,
            },
        ),
        (
            "quiet",
            Traffic {
                per_second: 0.5,
                errors_per_second: 0.5,
                duration_s: 0.8,
            },
        ),
        (
            "down",
            Traffic {
                per_second: 20.0,
                errors_per_second: 0.0,
                duration_s: fast,
            },
        ),
    ]);
    let served = app(windows);
    let mut prometheus = Prometheus::start(&program, &format!("127.0.0.1:{}", served.port()));
    let recorded = tempfile::tempdir().unwrap();
    let rollbacks = recorded.path().join("rollbacks");
    let mut env = Env::new();
    env.set("WINDOW_S", "60")
        .set("MIN_REQUESTS", "10")
        .set("LATENCY_MS", "300")
        .set(
            "ROLLBACK_CMD",
            &format!(
                "sh -c 'echo \"$POST_DEPLOY_WORK_ITEM\" >> {}'",
                rollbacks.display()
            ),
        );
    // The URL's credentials go to the server (which ignores them), never to any output.
    let url = prometheus
        .url()
        .replace("http://", "http://prom-user:s3cret-pw@");
    let health = served.url("/health");
    for win in ["ratio", "latency", "quiet", "down"] {
        arm(&mut env, &url, &health, win);
    }

    let mut seen: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    let rolled = |seen: &BTreeMap<&str, Vec<Value>>, win: &str| {
        seen.get(win)
            .is_some_and(|outs| outs.iter().any(|o| o["action"] == "ROLLBACK"))
    };
    loop {
        std::thread::sleep(Duration::from_millis(1100));
        for win in ["ratio", "latency", "quiet", "down"] {
            if !rolled(&seen, win) {
                seen.entry(win).or_default().push(tick(&env, win));
            }
        }
        let quiet_ticks = seen["quiet"].len();
        let down_counted = seen["down"]
            .iter()
            .any(|o| o["window_requests"].as_u64() > Some(10));
        if rolled(&seen, "ratio") && rolled(&seen, "latency") && quiet_ticks >= 6 && down_counted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "windows did not reach their verdicts: {seen:#?}"
        );
    }

    // The 5xx ratio Prometheus reported rolled one back.
    let ratio = seen["ratio"].last().unwrap();
    assert_eq!(ratio["verdict"], "DEGRADED", "{ratio}");
    assert!(
        ratio["reason"].as_str().unwrap().contains("5xx ratio"),
        "{ratio}"
    );
    // The latency histogram another.
    let latency = seen["latency"].last().unwrap();
    assert_eq!(latency["verdict"], "DEGRADED", "{latency}");
    let reason = latency["reason"].as_str().unwrap();
    assert!(
        reason.contains("window latency: the 0.95 quantile from Prometheus is"),
        "{latency}"
    );
    assert!(
        latency["window_latency_ms"].as_f64().unwrap() > 300.0,
        "{latency}"
    );
    assert!(latency["window_slow_requests"].is_null(), "{latency}");
    assert!(
        latency["window_timed_requests"].as_u64().unwrap() >= 10,
        "{latency}"
    );
    // Low traffic, however bad, is not judged.
    for out in &seen["quiet"] {
        assert_eq!(out["verdict"], "HEALTHY", "{out}");
        assert!(out["window_requests"].as_u64().unwrap() < 10, "{out}");
    }
    let quiet = seen["quiet"].last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(quiet.contains("5xx ratio not judged"), "{quiet}");
    assert!(quiet.contains("latency not judged"), "{quiet}");
    let recorded = std::fs::read_to_string(&rollbacks).unwrap();
    let mut lines: Vec<&str> = recorded.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["latency", "ratio"], "one rollback each, no other");

    // Prometheus stopped mid-window: a missing signal, never DEGRADED.
    prometheus.stop();
    std::thread::sleep(Duration::from_millis(1100));
    let down = tick(&env, "down");
    assert_eq!(down["verdict"], "HEALTHY", "{down}");
    assert_eq!(down["action"], "NONE", "{down}");
    let reason = down["reason"].as_str().unwrap();
    assert!(
        reason.contains("request count not read from Prometheus at http://127.0.0.1:"),
        "{down}"
    );
    for outs in seen.values() {
        for out in outs {
            assert!(!out.to_string().contains("s3cret"), "{out}");
        }
    }
    assert!(!down.to_string().contains("s3cret"), "{down}");
    let status = env.run(&["status"]);
    assert!(!String::from_utf8_lossy(&status.stdout).contains("s3cret"));
    let _ = std::io::stderr().flush();
}
