//! Child processes with a time limit, argv only, never a shell.
//!
//! Every program this binary runs (the docker CLI, compose, a rollback command) starts in
//! `command`, the one place allowed to build a [`Command`]. Both pipes are read by their
//! own threads, so a child that fills one pipe while we wait on the other cannot deadlock;
//! a child still running at its time limit is killed. On Unix each child gets its own
//! process group, so a Ctrl-C at the terminal does not cut a rollback off half way: the
//! `watch` loop lets the tick in flight finish instead.

use std::io::{self, BufRead as _, BufReader, Read, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use post_deploy_core::ControlError;

/// How much of a child's standard error is kept for messages.
pub const STDERR_TAIL_BYTES: usize = 4096;

/// How often a running child is polled for its exit.
const POLL: Duration = Duration::from_millis(5);

/// How long the pipes may stay open after the child exited (a grandchild may hold them).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Lines in flight between the pipe readers and the consumer of [`stream_lines`].
const LINES_IN_FLIGHT: usize = 1024;

/// One program to run: argv, added environment, working directory and time limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program (a name looked up in `PATH`, or a path).
    pub program: String,
    /// Its arguments, passed as they are: never through a shell.
    pub args: Vec<String>,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// The working directory; `None` keeps ours.
    pub cwd: Option<PathBuf>,
    /// The time limit: the child is killed when it runs longer.
    pub timeout: Duration,
}

impl Invocation {
    /// `program` with no arguments, limited to `timeout`.
    #[must_use]
    pub fn new(program: impl Into<String>, timeout: Duration) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            timeout,
        }
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds environment variables.
    #[must_use]
    pub fn envs(mut self, env: &[(String, String)]) -> Self {
        self.env.extend(env.iter().cloned());
        self
    }

    /// The program and its arguments, for messages.
    #[must_use]
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It exited with this code.
    Code(i32),
    /// It was ended by a signal (or ended without a code); what ended it, for people.
    Signalled(String),
}

impl Status {
    /// It exited 0.
    #[must_use]
    pub fn success(&self) -> bool {
        *self == Self::Code(0)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exit {code}"),
            Self::Signalled(detail) => f.write_str(detail),
        }
    }
}

/// Either the child finished, or it ran past its time limit and was killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended<T> {
    /// It finished on its own.
    Finished(T),
    /// It was killed at its time limit.
    TimedOut,
}

/// A finished child's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// How it ended.
    pub status: Status,
    /// Its standard output, up to the limit asked for (empty when forwarded).
    pub stdout: Vec<u8>,
    /// Standard output went past the limit; the rest was read and dropped.
    pub stdout_truncated: bool,
    /// The last [`STDERR_TAIL_BYTES`] of its standard error, lossily decoded and trimmed.
    pub stderr_tail: String,
}

/// Where a child's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdoutTo {
    /// Kept, up to this many bytes.
    Capture {
        /// The most bytes kept.
        limit: usize,
    },
    /// Copied to our standard error as it arrives (our stdout carries one JSON value).
    OurStderr,
}

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The one place a child process is built: argv only, stdin closed, our environment plus
/// the invocation's.
#[expect(
    clippy::disallowed_methods,
    reason = "the single place a child process is started: argv only, never a shell, always with a time limit"
)]
fn command(inv: &Invocation) -> Command {
    let mut cmd = Command::new(&inv.program);
    cmd.args(&inv.args)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    if let Some(dir) = &inv.cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Out of the terminal's foreground group: Ctrl-C reaches us, not a rollback half done.
        cmd.process_group(0);
    }
    cmd
}

fn spawn(inv: &Invocation) -> Result<Child, ControlError> {
    command(inv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ControlError::ProgramMissing {
            program: inv.program.clone(),
            detail: if e.kind() == io::ErrorKind::NotFound {
                format!("not found ({e})")
            } else {
                e.to_string()
            },
        })
}

fn pipes(child: &mut Child, inv: &Invocation) -> Result<(ChildStdout, ChildStderr), ControlError> {
    match (child.stdout.take(), child.stderr.take()) {
        (Some(out), Some(err)) => Ok((out, err)),
        _ => {
            kill(child);
            Err(failed(inv, "its output pipes were not opened".to_owned()))
        }
    }
}

fn failed(inv: &Invocation, detail: String) -> ControlError {
    ControlError::Failed {
        what: format!("`{}`", inv.display()),
        detail,
    }
}

/// A time limit that expires on its own thread, so no clock is read here.
struct Deadline {
    expired: Arc<AtomicBool>,
    // Dropping the sender wakes the timer thread, which then ends.
    _cancel: mpsc::Sender<()>,
}

impl Deadline {
    fn start(after: Duration) -> io::Result<Self> {
        let (cancel, wait) = mpsc::channel::<()>();
        let expired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&expired);
        thread::Builder::new()
            .name("post-deploy-deadline".to_owned())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(after) {
                    flag.store(true, Ordering::SeqCst);
                }
            })?;
        Ok(Self {
            expired,
            _cancel: cancel,
        })
    }

    fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` to exit; kills it when the deadline expires first (`Ok(None)`).
fn wait(
    child: &mut Child,
    deadline: &Deadline,
    inv: &Invocation,
) -> Result<Option<Status>, ControlError> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Some(status_of(status))),
            Ok(None) => {}
            Err(e) => {
                kill(child);
                return Err(failed(inv, format!("waiting for it failed: {e}")));
            }
        }
        if deadline.expired() {
            kill(child);
            return Ok(None);
        }
        thread::sleep(POLL);
    }
}

fn status_of(status: ExitStatus) -> Status {
    if let Some(code) = status.code() {
        return Status::Code(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return Status::Signalled(format!("was killed by signal {signal}"));
        }
    }
    Status::Signalled(format!("ended without an exit code ({status})"))
}

fn spawn_thread(name: &str, work: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(work)
        .map(drop)
}

/// The last `cap` bytes written to it.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
    cap: usize,
}

impl Tail {
    fn new(cap: usize) -> Self {
        Self {
            bytes: Vec::new(),
            cap,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trim in batches so a long stream does not shift the buffer at every chunk.
        if self.bytes.len() > self.cap.saturating_mul(2) {
            let excess = self.bytes.len().saturating_sub(self.cap);
            self.bytes.drain(..excess);
        }
    }

    fn text(&self) -> String {
        let start = self.bytes.len().saturating_sub(self.cap);
        String::from_utf8_lossy(self.bytes.get(start..).unwrap_or_default())
            .trim()
            .to_owned()
    }
}

/// Reads `r` to its end in chunks, handing each to `each`.
fn drain(mut r: impl Read, mut each: impl FnMut(&[u8])) {
    let mut buf = vec![0_u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => each(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

#[derive(Debug, Default)]
struct Collected {
    stdout: Vec<u8>,
    stdout_truncated: bool,
    stderr: Tail,
}

/// Runs `inv` to its end or its time limit, reading both pipes on their own threads.
///
/// # Errors
/// [`ControlError::ProgramMissing`] naming the program when it cannot be started;
/// [`ControlError::Failed`] when the child cannot be watched. A non-zero exit is not an
/// error here: it is in [`Captured::status`].
pub fn run(
    inv: &Invocation,
    stdout_to: StdoutTo,
    forward_stderr: bool,
) -> Result<Ended<Captured>, ControlError> {
    let deadline =
        Deadline::start(inv.timeout).map_err(|e| failed(inv, format!("no timer thread: {e}")))?;
    let mut child = spawn(inv)?;
    let (out, err) = pipes(&mut child, inv)?;
    let collected = Arc::new(Mutex::new(Collected {
        stderr: Tail::new(STDERR_TAIL_BYTES),
        ..Collected::default()
    }));
    let (done_tx, done_rx) = mpsc::channel::<()>();

    let (c, done) = (Arc::clone(&collected), done_tx.clone());
    let started = spawn_thread("post-deploy-stdout", move || {
        drain(out, |chunk| match stdout_to {
            StdoutTo::OurStderr => {
                let _ = io::stderr().lock().write_all(chunk);
            }
            StdoutTo::Capture { limit } => {
                let mut c = c.lock().unwrap_or_else(PoisonError::into_inner);
                let room = limit.saturating_sub(c.stdout.len());
                let keep = chunk.get(..room.min(chunk.len())).unwrap_or_default();
                c.stdout.extend_from_slice(keep);
                if keep.len() < chunk.len() {
                    c.stdout_truncated = true;
                }
            }
        });
        let _ = done.send(());
    })
    .and_then(|()| {
        let (c, done) = (Arc::clone(&collected), done_tx);
        spawn_thread("post-deploy-stderr", move || {
            drain(err, |chunk| {
                if forward_stderr {
                    let _ = io::stderr().lock().write_all(chunk);
                }
                c.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .stderr
                    .push(chunk);
            });
            let _ = done.send(());
        })
    });
    if let Err(e) = started {
        kill(&mut child);
        return Err(failed(inv, format!("no pipe reader thread: {e}")));
    }

    let Some(status) = wait(&mut child, &deadline, inv)? else {
        return Ok(Ended::TimedOut);
    };
    // Both readers end at the pipes' end; a grandchild holding a pipe gets a short grace.
    for _ in 0..2 {
        if done_rx.recv_timeout(PIPE_GRACE).is_err() {
            break;
        }
    }
    let c = collected.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(Ended::Finished(Captured {
        status,
        stdout: c.stdout.clone(),
        stdout_truncated: c.stdout_truncated,
        stderr_tail: c.stderr.text(),
    }))
}

/// Reads `r` line by line, each at most `max_line` bytes (the rest of a longer line is
/// dropped) and ending in `\n`, handing each to `emit` until it returns `false`.
fn read_lines(r: impl Read, max_line: usize, mut emit: impl FnMut(Vec<u8>) -> bool) {
    let mut reader = BufReader::with_capacity(64 * 1024, r);
    let mut line: Vec<u8> = Vec::new();
    loop {
        let (used, complete) = match reader.fill_buf() {
            Ok([]) => {
                if !line.is_empty() {
                    line.push(b'\n');
                    emit(line);
                }
                return;
            }
            Ok(buf) => {
                let end = buf.iter().position(|&b| b == b'\n');
                let used = end.map_or(buf.len(), |i| i.saturating_add(1));
                let room = max_line.saturating_sub(line.len());
                let take = used.min(room);
                line.extend_from_slice(buf.get(..take).unwrap_or_default());
                (used, end.is_some())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        reader.consume(used);
        if complete {
            if line.last() != Some(&b'\n') {
                line.push(b'\n');
            }
            if !emit(std::mem::take(&mut line)) {
                return;
            }
        }
    }
}

/// Runs `inv` and hands every line of its standard output and standard error, as it
/// arrives, to `on_line` on the calling thread. Lines are at most `max_line` bytes (longer
/// ones are cut) and end in `\n`. Nothing is buffered beyond a bounded queue: a child may
/// write millions of lines.
///
/// # Errors
/// As [`run`].
pub fn stream_lines(
    inv: &Invocation,
    max_line: usize,
    on_line: &mut dyn FnMut(Pipe, &[u8]),
) -> Result<Ended<Status>, ControlError> {
    let deadline =
        Deadline::start(inv.timeout).map_err(|e| failed(inv, format!("no timer thread: {e}")))?;
    let mut child = spawn(inv)?;
    let (out, err) = pipes(&mut child, inv)?;
    let (tx, rx) = mpsc::sync_channel::<(Pipe, Vec<u8>)>(LINES_IN_FLIGHT);
    let tx_err = tx.clone();
    let started = spawn_thread("post-deploy-stdout", move || {
        read_lines(out, max_line, |line| tx.send((Pipe::Stdout, line)).is_ok());
    })
    .and_then(|()| {
        spawn_thread("post-deploy-stderr", move || {
            read_lines(err, max_line, |line| {
                tx_err.send((Pipe::Stderr, line)).is_ok()
            });
        })
    });
    if let Err(e) = started {
        kill(&mut child);
        return Err(failed(inv, format!("no pipe reader thread: {e}")));
    }
    loop {
        if deadline.expired() {
            kill(&mut child);
            // Dropping the receiver ends the readers.
            return Ok(Ended::TimedOut);
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok((pipe, line)) => on_line(pipe, &line),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    Ok(match wait(&mut child, &deadline, inv)? {
        Some(status) => Ended::Finished(status),
        None => Ended::TimedOut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Invocation {
        Invocation::new("sh", timeout).args(["-c", script])
    }

    #[test]
    fn captures_stdout_exit_code_and_stderr_tail() {
        let inv = sh("echo out; echo err >&2; exit 3", Duration::from_secs(10));
        let Ended::Finished(c) = run(&inv, StdoutTo::Capture { limit: 1024 }, false).unwrap()
        else {
            panic!("timed out")
        };
        assert_eq!(c.status, Status::Code(3));
        assert_eq!(c.stdout, b"out\n");
        assert_eq!(c.stderr_tail, "err");
        assert!(!c.stdout_truncated);
    }

    #[test]
    fn arguments_are_never_interpreted_by_a_shell() {
        let inv = Invocation::new("printf", Duration::from_secs(10)).args([
            "%s|",
            "$(echo no)",
            "; rm -rf /",
            "`x`",
        ]);
        let Ended::Finished(c) = run(&inv, StdoutTo::Capture { limit: 1024 }, false).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            String::from_utf8(c.stdout).unwrap(),
            "$(echo no)|; rm -rf /|`x`|"
        );
    }

    #[test]
    fn environment_is_added() {
        let inv = sh("printf %s \"$PD_TEST_VAR\"", Duration::from_secs(10))
            .envs(&[("PD_TEST_VAR".to_owned(), "a b;c".to_owned())]);
        let Ended::Finished(c) = run(&inv, StdoutTo::Capture { limit: 1024 }, false).unwrap()
        else {
            panic!()
        };
        assert_eq!(c.stdout, b"a b;c");
    }

    #[test]
    fn big_output_on_both_pipes_does_not_deadlock_and_is_capped() {
        // 4 MiB on each pipe: far beyond a pipe buffer.
        let inv = sh(
            "head -c 4194304 /dev/zero | tr '\\0' x; head -c 4194304 /dev/zero | tr '\\0' y >&2",
            Duration::from_secs(60),
        );
        let Ended::Finished(c) = run(&inv, StdoutTo::Capture { limit: 1000 }, false).unwrap()
        else {
            panic!()
        };
        assert!(c.status.success());
        assert_eq!(c.stdout.len(), 1000);
        assert!(c.stdout_truncated);
        assert!(c.stderr_tail.len() <= STDERR_TAIL_BYTES);
        assert!(c.stderr_tail.ends_with('y'));
    }

    #[test]
    fn a_child_past_its_limit_is_killed() {
        let inv = sh("sleep 30", Duration::from_millis(200));
        assert_eq!(
            run(&inv, StdoutTo::Capture { limit: 10 }, false).unwrap(),
            Ended::TimedOut
        );
        let mut lines = 0;
        let streamed = stream_lines(
            &sh("echo a; sleep 30", Duration::from_millis(300)),
            100,
            &mut |_, _| lines += 1,
        );
        assert_eq!(streamed.unwrap(), Ended::TimedOut);
        assert_eq!(lines, 1);
    }

    #[test]
    fn a_missing_program_is_named() {
        let inv = Invocation::new("/nonexistent/pd-no-such-program", Duration::from_secs(5));
        match run(&inv, StdoutTo::OurStderr, false) {
            Err(ControlError::ProgramMissing { program, .. }) => {
                assert_eq!(program, "/nonexistent/pd-no-such-program")
            }
            other => panic!("{other:?}"),
        }
        match stream_lines(&inv, 10, &mut |_, _| {}) {
            Err(ControlError::ProgramMissing { program, .. }) => {
                assert_eq!(program, "/nonexistent/pd-no-such-program")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_signal_is_reported() {
        let inv = sh("kill -9 $$", Duration::from_secs(10));
        let Ended::Finished(c) = run(&inv, StdoutTo::Capture { limit: 10 }, false).unwrap() else {
            panic!()
        };
        assert!(
            matches!(c.status, Status::Signalled(ref d) if d.contains('9')),
            "{:?}",
            c.status
        );
    }

    #[test]
    fn lines_from_both_pipes_arrive_whole_and_long_lines_are_cut() {
        let inv = sh(
            "i=0; while [ $i -lt 5000 ]; do echo \"o$i\"; echo \"e$i\" >&2; i=$((i+1)); done; \
             head -c 100000 /dev/zero | tr '\\0' z; echo; printf tail",
            Duration::from_secs(60),
        );
        let (mut out, mut err, mut long, mut last) = (0, 0, 0, Vec::new());
        let status = stream_lines(&inv, 1000, &mut |pipe, line| {
            assert_eq!(line.last(), Some(&b'\n'));
            assert!(line.len() <= 1001);
            match pipe {
                Pipe::Stdout if line.starts_with(b"z") => long += 1,
                Pipe::Stdout => {
                    out += 1;
                    last = line.to_vec();
                }
                Pipe::Stderr => err += 1,
            }
        })
        .unwrap();
        assert_eq!(status, Ended::Finished(Status::Code(0)));
        assert_eq!((out, err, long), (5001, 5000, 1));
        assert_eq!(last, b"tail\n");
    }

    #[test]
    fn tail_keeps_the_end() {
        let mut t = Tail::new(4);
        for chunk in [&b"abc"[..], b"defg", b"hi"] {
            t.push(chunk);
        }
        assert_eq!(t.text(), "fghi");
    }
}
