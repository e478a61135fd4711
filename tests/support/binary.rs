//! The `post-deploy` binary run end to end as a child process: a temporary state folder, the
//! `ORCH_POST_DEPLOY_*` environment it runs with (and nothing inherited), and a scripted
//! `/health` target on loopback. Needs `mod loopback` (`support/loopback.rs`) beside it.

#![allow(dead_code, reason = "shared by several test files; each uses a part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::loopback::{Conn, Server};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_post-deploy");

/// A state folder, an optional working directory of its own, and the environment the binary
/// runs with.
pub(crate) struct Env {
    dir: tempfile::TempDir,
    cwd: Option<tempfile::TempDir>,
    vars: Vec<(String, String)>,
}

impl Env {
    /// Repo `api` only, probed every second, no docker, a 2 s health timeout; commands run in
    /// the test's own working directory.
    pub(crate) fn new() -> Self {
        let mut env = Self {
            dir: tempfile::tempdir().unwrap(),
            cwd: None,
            vars: Vec::new(),
        };
        env.set("REPOS", "api")
            .set("INTERVAL_S", "1")
            .set("HEALTH_TIMEOUT_S", "2")
            // No docker in these tests: a program that is not there is the monitor's own
            // fault and never the target's.
            .set("DOCKER", "post-deploy-test-no-docker");
        env
    }

    /// As `new`, with commands run in an empty working directory of their own, so a stray
    /// relative write is seen too.
    pub(crate) fn with_cwd() -> Self {
        let mut env = Self::new();
        env.cwd = Some(tempfile::tempdir().unwrap());
        env
    }

    /// Sets `ORCH_POST_DEPLOY_<name>`, replacing any earlier value.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> &mut Self {
        let name = format!("ORCH_POST_DEPLOY_{name}");
        self.vars.retain(|(k, _)| *k != name);
        self.vars.push((name, value.to_owned()));
        self
    }

    pub(crate) fn state(&self) -> &Path {
        self.dir.path()
    }

    /// The working directory of its own, if `with_cwd` made one.
    pub(crate) fn cwd(&self) -> Option<&Path> {
        self.cwd.as_ref().map(tempfile::TempDir::path)
    }

    /// The binary with `args` and `--state-dir`, in this environment.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.program(BIN);
        cmd.args(args).arg("--state-dir").arg(self.state());
        cmd
    }

    /// `program` with this environment: no inherited `ORCH_POST_DEPLOY_*`, ours instead.
    pub(crate) fn program(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars() {
            if k.starts_with("ORCH_POST_DEPLOY_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = self.cwd() {
            cmd.current_dir(cwd);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs to the end; asserts the exit code and parses stdout as exactly one JSON value.
    pub(crate) fn json(&self, args: &[&str], code: i32) -> Value {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        one_json(&out, &format!("{args:?}"))
    }

    pub(crate) fn window_dir(&self, repo: &str, item: &str) -> PathBuf {
        self.state()
            .join(format!(".post-deploy-state-{repo}"))
            .join(item)
    }
}

/// Stdout holds exactly one JSON value, on one line: that value.
pub(crate) fn one_json(out: &Output, what: &str) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "exactly one JSON value on stdout: {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

/// `/health` answers `status`, always.
pub(crate) fn health(status: u16) -> Server {
    Server::start(move |c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write(
                format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    .as_bytes(),
            );
        }
    })
}
