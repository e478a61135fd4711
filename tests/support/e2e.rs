//! The binary run end to end against a real engine: a temporary state folder, the
//! `ORCH_POST_DEPLOY_*` environment it runs with (nothing inherited), a time limit, and
//! exactly one JSON value on stdout. Each end-to-end file adds its own shortcuts in an
//! `impl Run` of its own.

#![allow(dead_code, reason = "shared by several test files; each uses a part")]

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_post-deploy");

pub(crate) struct Run {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
    extra: Vec<(String, String)>,
}

impl Run {
    /// Repo `e2e`, a tick a second, a 20 s window, two failed probes to degrade, a 2 s
    /// health timeout, the 5xx ratio never judged; neither the orchestrator's container nor
    /// its service is named `not_self` (nothing these tests run is the orchestrator, unless
    /// one says so).
    pub(crate) fn new(not_self: &str) -> Self {
        let mut run = Self {
            dir: tempfile::tempdir().unwrap(),
            vars: Vec::new(),
            extra: Vec::new(),
        };
        run.set("REPOS", "e2e")
            .set("INTERVAL_S", "1")
            .set("WINDOW_S", "20")
            .set("FAIL_THRESHOLD", "2")
            .set("HEALTH_TIMEOUT_S", "2")
            .set("MIN_REQUESTS", "1000000")
            .set("SELF_CONTAINER", not_self)
            .set("SELF_SERVICE", not_self);
        run
    }

    /// Sets `ORCH_POST_DEPLOY_<name>`, replacing any earlier value.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> &mut Self {
        let name = format!("ORCH_POST_DEPLOY_{name}");
        self.vars.retain(|(k, _)| *k != name);
        self.vars.push((name, value.to_owned()));
        self
    }

    /// A variable outside ours (e.g. what a compose file interpolates).
    pub(crate) fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn state(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the binary to its end, killed after `limit`; exit code, the one JSON value on
    /// stdout, stderr.
    pub(crate) fn run(&self, args: &[&str], limit: Duration) -> (i32, Value, String) {
        let out = self.finish(args, limit, Duration::from_millis(50));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            stdout.lines().count(),
            1,
            "{args:?}: one JSON value on stdout, got {stdout:?}; stderr:\n{stderr}"
        );
        let json = serde_json::from_str(&stdout).unwrap();
        (out.status.code().unwrap_or(-1), json, stderr)
    }

    /// `COMMAND` (`watch` or `arm`) of repo `e2e`'s `item` with the health URL `url`, the
    /// target `(flag, name)` (`--container` or `--service`) and the previous image, run to
    /// its end within two minutes.
    pub(crate) fn window(
        &self,
        command: &str,
        item: &str,
        url: &str,
        (flag, target): (&str, &str),
        previous: &str,
    ) -> (i32, Value, String) {
        self.run(
            &[
                command,
                "--repo",
                "e2e",
                "--work-item",
                item,
                "--health-url",
                url,
                flag,
                target,
                "--previous-image",
                previous,
            ],
            Duration::from_secs(120),
        )
    }

    /// Runs the binary expecting it to be SIGKILLed (by something it runs) before it
    /// answers; stderr.
    pub(crate) fn run_killed(&self, args: &[&str], limit: Duration) -> String {
        let out = self.finish(args, limit, Duration::from_millis(20));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{args:?} was not killed where the test meant it to be: {:?}; stdout {}; stderr:\n{stderr}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// Runs the binary with `args` in this environment until it ends, looking every `poll`;
    /// a run past `limit` is killed and fails the test.
    fn finish(&self, args: &[&str], limit: Duration, poll: Duration) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).arg("--state-dir").arg(self.state());
        for (k, _) in std::env::vars() {
            if k.starts_with("ORCH_POST_DEPLOY_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.vars.iter().chain(&self.extra).map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{args:?} ran past {limit:?}; stderr:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(poll);
        }
        child.wait_with_output().unwrap()
    }
}

/// The line of a run's stderr that says why the window rolls back (empty when none does).
pub(crate) fn rollback_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.contains("rolling back"))
        .unwrap_or_default()
}

/// The health URL of a fixture image published on `port`.
pub(crate) fn fixture_health(port: u16) -> String {
    format!("http://127.0.0.1:{port}/cgi-bin/health")
}

/// A port on loopback that nothing listens on as this returns.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `GET path` at `addr` (HTTP/1.0, `Host` its IP): status and body; `None` when nothing
/// answers.
pub(crate) fn get_at(addr: std::net::SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let host = addr.ip();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_owned())
        .unwrap_or_default();
    Some((status, body))
}
