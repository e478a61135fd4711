//! The metrics file as operators read it: Debian's `prometheus-node-exporter` with its
//! textfile collector pointed at the file's folder, and a real Prometheus server scraping it
//! every second, while windows arm, roll back and finish, with ticks killed by SIGKILL in
//! between. The `post_deploy_rollbacks_total` the server reports equals the rollbacks that
//! ran as the windows recorded them (each leaves a line in a file; one whose tick was killed
//! before it heard back is recorded as of unknown outcome, and counted), and every window
//! counts once as finished.
//!
//! Needs `prometheus` and `prometheus-node-exporter` (`.ci/test` installs both); without
//! them the test fails when `CI` is set and is skipped with a note otherwise.

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
#[path = "support/metrics.rs"]
mod metrics;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use binary::{BIN, Env, health};

fn program(name: &str) -> Option<PathBuf> {
    metrics::installed(name, "metrics end-to-end test", "")
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command, log: &Path) -> Running {
    Running(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// node_exporter with only its textfile collector, reading `folder`.
fn node_exporter(program: &Path, folder: &Path, log: &Path) -> (Running, u16) {
    let port = loopback::closed_port();
    let child = spawn(
        Command::new(program)
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!(
                "--collector.textfile.directory={}",
                folder.display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        log,
    );
    (child, port)
}

/// Prometheus scraping `target` every second, its storage under `dir`.
fn prometheus(program: &Path, target: &str, dir: &Path) -> (Running, u16) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = loopback::closed_port();
    let child = spawn(
        Command::new(program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        &dir.join("prometheus.log"),
    );
    (child, port)
}

/// The samples of `query` the server answers: (labels as JSON, value).
fn query(port: u16, query: &str) -> Option<Vec<(serde_json::Value, f64)>> {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let mut answer = ureq::get(&url).query("query", query).call().ok()?;
    let body: serde_json::Value =
        serde_json::from_str(&answer.body_mut().read_to_string().ok()?).ok()?;
    let result = body["data"]["result"].as_array()?;
    Some(
        result
            .iter()
            .filter_map(|r| Some((r["metric"].clone(), r["value"][1].as_str()?.parse().ok()?)))
            .collect(),
    )
}

/// Waits until `check` holds of the server's answer to `q`; the last answer.
fn wait_for(
    port: u16,
    q: &str,
    check: impl Fn(&[(serde_json::Value, f64)]) -> bool,
    logs: &[&Path],
) -> Vec<(serde_json::Value, f64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = Vec::new();
    while Instant::now() < deadline {
        if let Some(answer) = query(port, q) {
            if check(&answer) {
                return answer;
            }
            last = answer;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let logs: Vec<String> = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap_or_default())
        .collect();
    panic!("{q}: last answer {last:?}\n{}", logs.join("\n"));
}

#[test]
fn prometheus_reports_the_rollbacks_that_ran_through_node_exporter() {
    let (Some(exporter), Some(server)) =
        (program("prometheus-node-exporter"), program("prometheus"))
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let textfiles = work.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    let ran = work.path().join("rollbacks-ran");
    let exporter_log = work.path().join("node-exporter.log");
    let (_exporter, exporter_port) = node_exporter(&exporter, &textfiles, &exporter_log);
    let (_server, server_port) =
        prometheus(&server, &format!("127.0.0.1:{exporter_port}"), work.path());
    let logs = [exporter_log.as_path(), &work.path().join("prometheus.log")];
    // The collector answers before any file: its own error gauge is 0.
    wait_for(
        server_port,
        "node_textfile_scrape_error",
        |a| a.len() == 1 && a[0].1 == 0.0,
        &logs,
    );

    let mut env = Env::new();
    env.set("WINDOW_S", "4")
        .set("FAIL_THRESHOLD", "2")
        .set(
            "METRICS_FILE",
            textfiles.join("post-deploy.prom").to_str().unwrap(),
        )
        // Each rollback that runs leaves a line, and changes nothing: the window stays bad.
        .set(
            "ROLLBACK_CMD",
            &format!(
                "sh -c 'echo \"$POST_DEPLOY_WORK_ITEM\" >> {}'",
                ran.display()
            ),
        );
    let good = health(200);
    let bad = health(500);
    let items: Vec<String> = (0..8).map(|i| format!("w{i}")).collect();
    for (i, item) in items.iter().enumerate() {
        let url = if i % 2 == 0 {
            bad.url("/health")
        } else {
            good.url("/health")
        };
        env.json(
            &[
                "arm",
                "--repo",
                "api",
                "--work-item",
                item,
                "--health-url",
                &url,
            ],
            0,
        );
    }
    // Watching windows show while they watch.
    wait_for(
        server_port,
        "sum(post_deploy_window_watching)",
        |a| a.first().is_some_and(|s| s.1 == 8.0),
        &logs,
    );
    let summary = metrics::tick_all_with_kills(&env, BIN, &items, 11);
    assert!(!summary.ends_with("; 0 ticks killed"), "{summary}");
    // The rollbacks that ran, as the windows recorded them: done, failed, or (a tick killed
    // between writing its intent and hearing back) unknown, which is never run again.
    let states: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let state = std::fs::read(env.window_dir("api", item).join("window.json")).unwrap();
            let state: serde_json::Value = serde_json::from_slice(&state).unwrap();
            state["rollback"]["state"].as_str().map(str::to_owned)
        })
        .collect();
    assert_eq!(
        states.len(),
        4,
        "one rollback per bad window: {states:?}; {summary}"
    );
    assert!(states.iter().all(|s| s != "intended"), "{states:?}");
    let unknown = states.iter().filter(|s| *s == "unknown").count();
    // Each that ran for sure left its line; one whose tick was killed may or may not have.
    let ran_lines = std::fs::read_to_string(&ran).unwrap_or_default();
    let lines = ran_lines.lines().count();
    assert!(
        (4 - unknown..=4).contains(&lines),
        "{lines} lines, {unknown} unknown: {ran_lines}; {summary}"
    );

    let rollbacks = wait_for(
        server_port,
        r#"post_deploy_rollbacks_total{repo="api"}"#,
        |a| a.first().is_some_and(|s| s.1 >= 4.0),
        &logs,
    );
    assert_eq!(rollbacks[0].1, 4.0, "{summary}");
    let finished = wait_for(
        server_port,
        "sum(post_deploy_windows_finished_total)",
        |a| a.first().is_some_and(|s| s.1 >= 8.0),
        &logs,
    );
    assert_eq!(finished[0].1, 8.0, "{summary}");
    let degraded = query(
        server_port,
        r#"post_deploy_windows_finished_total{verdict="DEGRADED",action="ROLLBACK"}"#,
    )
    .unwrap();
    assert_eq!(degraded[0].1, 4.0);
    // No window watches any more; the collector never saw a half file.
    wait_for(
        server_port,
        "count(post_deploy_window_watching) or vector(0)",
        |a| a.first().is_some_and(|s| s.1 == 0.0),
        &logs,
    );
    let errors = query(server_port, "max_over_time(node_textfile_scrape_error[5m])").unwrap();
    assert_eq!(errors[0].1, 0.0);
    assert_eq!(metrics::names_in(&textfiles), ["post-deploy.prom"]);
}
