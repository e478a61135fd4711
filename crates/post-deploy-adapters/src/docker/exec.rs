//! How docker is called: programs run through an [`Exec`] (the real one starts processes,
//! the tests' one records and answers), with a time limit and a cap on what is read, and the
//! one door mutating calls go through.

use std::time::Duration;

use post_deploy_core::ControlError;
use serde::Deserialize;

use super::DockerCli;
use super::inspect::{ContainerJson, ImageJson};
use super::self_guard::SelfIdentity;
use crate::process::{self, Captured, Ended, Invocation, Pipe, Status, StdoutTo};

/// A read: `inspect`, `image inspect`, `ps`, `compose version`.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// One mutating docker call (`stop` waits for the container's own stop timeout).
pub(super) const MUTATE_TIMEOUT: Duration = Duration::from_secs(90);
/// The most `inspect` output read.
pub(super) const OUTPUT_LIMIT: usize = 16 * 1024 * 1024;

/// Runs programs: the real one starts processes, the tests' one records and answers.
pub(super) trait Exec: Send + Sync {
    fn run(
        &self,
        inv: &Invocation,
        stdout: StdoutTo,
        forward_stderr: bool,
    ) -> Result<Ended<Captured>, ControlError>;

    fn stream(
        &self,
        inv: &Invocation,
        max_line: usize,
        on_line: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<Ended<Status>, ControlError>;
}

pub(super) struct RealExec;

impl Exec for RealExec {
    fn run(
        &self,
        inv: &Invocation,
        stdout: StdoutTo,
        forward_stderr: bool,
    ) -> Result<Ended<Captured>, ControlError> {
        process::run(inv, stdout, forward_stderr)
    }

    fn stream(
        &self,
        inv: &Invocation,
        max_line: usize,
        on_line: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<Ended<Status>, ControlError> {
        process::stream_lines(inv, max_line, on_line)
    }
}

impl DockerCli {
    pub(super) fn docker_call<I, S>(&self, args: I, timeout: Duration) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Invocation::new(self.board.docker(), timeout).args(args)
    }

    /// Runs `inv` and captures its output; a time-out is an error, a non-zero exit is not.
    pub(super) fn capture(&self, what: &str, inv: &Invocation) -> Result<Captured, ControlError> {
        match self.exec.run(
            inv,
            StdoutTo::Capture {
                limit: OUTPUT_LIMIT,
            },
            false,
        )? {
            Ended::Finished(c) => Ok(c),
            Ended::TimedOut => Err(ControlError::TimedOut {
                what: what.to_owned(),
                after: inv.timeout,
            }),
        }
    }

    /// Runs `inv`; a non-zero exit is [`ControlError::Failed`].
    pub(super) fn succeed(&self, what: &str, inv: &Invocation) -> Result<Captured, ControlError> {
        let c = self.capture(what, inv)?;
        if c.status.success() {
            Ok(c)
        } else {
            Err(failed(what, &c))
        }
    }

    /// The one door for mutating calls: refuses when any container it `touches` is the
    /// orchestrator's own.
    pub(super) fn mutate(
        &self,
        me: &SelfIdentity,
        touches: &[&str],
        what: &str,
        inv: &Invocation,
    ) -> Result<Captured, ControlError> {
        if let Some(hit) = touches.iter().find(|t| me.names(t)) {
            return Err(ControlError::SelfContainer((*hit).to_owned()));
        }
        self.succeed(what, inv)
    }

    pub(super) fn inspect_json(&self, container: &str) -> Result<ContainerJson, ControlError> {
        let what = format!("docker inspect {container}");
        let c = self.capture(
            &what,
            &self.docker_call(
                ["inspect", "--type", "container", "--", container],
                READ_TIMEOUT,
            ),
        )?;
        if !c.status.success() {
            return Err(if is_not_found(&c.stderr_tail) {
                ControlError::ContainerNotFound(container.to_owned())
            } else {
                failed(&what, &c)
            });
        }
        first_of(&what, &c)
    }

    pub(super) fn image_json(&self, image: &str) -> Result<Option<ImageJson>, ControlError> {
        let what = format!("docker image inspect {image}");
        let c = self.capture(
            &what,
            &self.docker_call(["image", "inspect", "--", image], READ_TIMEOUT),
        )?;
        if !c.status.success() {
            return if is_not_found(&c.stderr_tail) {
                Ok(None)
            } else {
                Err(failed(&what, &c))
            };
        }
        first_of(&what, &c).map(Some)
    }
}

pub(super) fn failed(what: &str, c: &Captured) -> ControlError {
    let tail = c.stderr_tail.trim();
    ControlError::Failed {
        what: what.to_owned(),
        detail: if tail.is_empty() {
            c.status.to_string()
        } else {
            // The end of its standard error says why; quoted, never whole.
            format!("{}: {}", c.status, post_deploy_core::text::quote_end(tail))
        },
    }
}

pub(super) fn is_not_found(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such container") || s.contains("no such object") || s.contains("no such image")
}

/// The first element of an `inspect` JSON array.
pub(super) fn first_of<T: for<'de> Deserialize<'de>>(
    what: &str,
    c: &Captured,
) -> Result<T, ControlError> {
    let bad = |detail: String| ControlError::BadOutput {
        what: what.to_owned(),
        detail,
    };
    if c.stdout_truncated {
        return Err(bad(format!("more than {OUTPUT_LIMIT} bytes")));
    }
    let all: Vec<T> = serde_json::from_slice(&c.stdout).map_err(|e| bad(e.to_string()))?;
    all.into_iter()
        .next()
        .ok_or_else(|| bad("an empty list".to_owned()))
}
