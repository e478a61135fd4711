//! Against the real engine, when one answers.

use super::*;

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// Whether a docker engine answers. Under CI a missing engine fails the test.
fn engine_available() -> bool {
    let answers = matches!(
        process::run(
            &Invocation::new("docker", Duration::from_secs(20)).args(["info"]),
            StdoutTo::Capture { limit: 1 << 20 },
            false
        ),
        Ok(Ended::Finished(Captured {
            status: Status::Code(0),
            ..
        }))
    );
    if !answers {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `docker info` fails: docker tests cannot run"
        );
        // Straight to the stream, past the test harness's capture, so the skip is seen.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"note: docker test SKIPPED: `docker info` fails (run .ci/docker-up; CI=true makes this fail)\n",
        );
    }
    answers
}

fn docker(args: &[&str]) -> Captured {
    match process::run(
        &Invocation::new("docker", Duration::from_secs(60)).args(args.iter().copied()),
        StdoutTo::Capture { limit: 1 << 20 },
        false,
    )
    .unwrap()
    {
        Ended::Finished(c) => c,
        Ended::TimedOut => panic!("docker {args:?} timed out"),
    }
}

struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        docker(&["rm", "-f", &self.0]);
    }
}

/// On the real engine, across many reads while the container writes on both streams,
/// every line is read exactly once, without its timestamp.
#[test]
fn real_engine_logs_are_read_once_across_reads() {
    if !engine_available() {
        return;
    }
    let name = format!(
        "pdunit-logs-{}-{}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    );
    let _guard = Removed(name.clone());
    let script = "i=0; while [ $i -lt 3000 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done; sleep 300";
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--entrypoint",
        "/bin/sh",
        "post-deploy-fixture:healthy",
        "-c",
        script,
    ]);
    assert!(run.status.success(), "{}", run.stderr_tail);
    let cli = DockerCli::new("docker".into(), ComposeProgram::Auto, "orchestrator".into());
    let mut cursor = LogCursor::at(t("2000-01-01T00:00:00Z"));
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..400 {
        let mut chunk = Vec::new();
        cursor = cli
            .read_logs(&name, &cursor, &mut |text| chunk.extend_from_slice(text))
            .unwrap();
        seen.extend(String::from_utf8(chunk).unwrap().lines().map(str::to_owned));
        if seen.len() >= 6000 {
            break;
        }
    }
    // one more read after everything was written adds nothing
    cursor = cli
        .read_logs(&name, &cursor, &mut |text| {
            seen.push(String::from_utf8_lossy(text).trim().to_owned())
        })
        .unwrap();
    let _ = cursor;
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 6000, "lines counted twice or lost");
    assert_eq!(unique.len(), 6000);
    assert!(unique.contains(&"out 0".to_owned()) && unique.contains(&"err 2999".to_owned()));
}

#[test]
fn real_engine_inspect_and_missing_things() {
    if !engine_available() {
        return;
    }
    let cli = DockerCli::new("docker".into(), ComposeProgram::Auto, "orchestrator".into());
    assert_eq!(
        cli.inspect("pdunit-no-such-container"),
        Err(ControlError::ContainerNotFound(
            "pdunit-no-such-container".into()
        ))
    );
    assert_eq!(cli.image_id("pdunit-no-such-image:1"), Ok(None));
    assert!(
        cli.image_id("post-deploy-fixture:healthy")
            .unwrap()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn run_command_reports_how_it_ended() {
    let cli = DockerCli::new(
        "/nonexistent/docker".into(),
        ComposeProgram::Auto,
        "orchestrator".into(),
    );
    let cmd = |raw: &str| CommandLine::parse(raw).unwrap();
    let env = vec![(
        "POST_DEPLOY_PREVIOUS_IMAGE".to_owned(),
        "app:1; rm -rf /".to_owned(),
    )];
    let out = cli.run_command(
        &cmd("sh -c 'echo to-stderr-not-stdout; echo \"$POST_DEPLOY_PREVIOUS_IMAGE\" >&2; exit 7'"),
        &env,
        Duration::from_secs(10),
    );
    assert_eq!(
        out,
        Ok(CommandOutcome::Exited {
            code: 7,
            stderr_tail: "app:1; rm -rf /".into()
        })
    );
    assert_eq!(
        cli.run_command(&cmd("sleep 30"), &[], Duration::from_millis(200)),
        Ok(CommandOutcome::TimedOut)
    );
    assert!(matches!(
        cli.run_command(&cmd("sh -c 'kill -9 $$'"), &[], Duration::from_secs(10)),
        Ok(CommandOutcome::Signalled { .. })
    ));
    assert!(
        matches!(cli.run_command(&cmd("pd-no-such-rollback"), &[], Duration::from_secs(5)), Err(ControlError::ProgramMissing { program, .. }) if program == "pd-no-such-rollback")
    );
    let me = vec![(
        "POST_DEPLOY_CONTAINER".to_owned(),
        "orchestrator".to_owned(),
    )];
    assert_eq!(
        cli.run_command(&cmd("true"), &me, Duration::from_secs(5)),
        Err(ControlError::SelfContainer("orchestrator".into()))
    );
    assert_eq!(
        cli.rollback("orchestrator", "app:1"),
        Err(ControlError::SelfContainer("orchestrator".into()))
    );
    assert_eq!(
        cli.rollback("/orchestrator", "app:1"),
        Err(ControlError::SelfContainer("/orchestrator".into()))
    );
}

/// Runs `script` in a container of its own with a json-file log rotated at `max_size` into
/// `max_file` files; the name and its guard.
fn rotating(what: &str, script: &str, max_size: &str, max_file: &str) -> (String, Removed) {
    let name = format!(
        "pdunit-{what}-{}-{}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    );
    let guard = Removed(name.clone());
    let size = format!("max-size={max_size}");
    let files = format!("max-file={max_file}");
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--log-driver",
        "json-file",
        "--log-opt",
        &size,
        "--log-opt",
        &files,
        "--entrypoint",
        "/bin/sh",
        "post-deploy-fixture:healthy",
        "-c",
        script,
    ]);
    assert!(run.status.success(), "{}", run.stderr_tail);
    (name, guard)
}

/// Reads the container's log while it rotates, several times per rotation: each numbered
/// line is read exactly once, and nothing is said to be missing.
#[test]
fn real_engine_logs_across_rotations_are_read_once() {
    if !engine_available() {
        return;
    }
    // 5000 lines of about 100 bytes (about 170 in the file) over about 15 s: a 128 KiB file
    // rotates half a dozen times, and the two or three kept hold more than the settle delay and the
    // time between reads.
    let script = "i=0; while [ $i -lt 5000 ]; do \
                  echo \"line $i $(printf %80s '' | tr ' ' p)\"; i=$((i+1)); \
                  [ $((i % 100)) -eq 0 ] && sleep 0.2; done; touch /tmp/done; sleep 300";
    let (name, _guard) = rotating("rotate", script, "128k", "3");
    let cli = DockerCli::new("docker".into(), ComposeProgram::Auto, "orchestrator".into());
    let mut cursor = LogCursor::at(t("2000-01-01T00:00:00Z"));
    let mut seen: Vec<u32> = Vec::new();
    let mut notes = Vec::new();
    let mut done_at = None;
    for _ in 0..600 {
        let mut chunk = Vec::new();
        cursor = cli
            .read_logs(&name, &cursor, &mut |text| chunk.extend_from_slice(text))
            .unwrap();
        notes.extend(cursor.note.take());
        seen.extend(
            String::from_utf8(chunk)
                .unwrap()
                .lines()
                .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u32>().unwrap()),
        );
        if done_at.is_none()
            && docker(&["exec", &name, "test", "-e", "/tmp/done"])
                .status
                .success()
        {
            done_at = Some(crate::clock::monotonic_now());
        }
        // past the settle delay after the last line, everything is in
        if done_at.is_some_and(|d| d.elapsed() > Duration::from_millis(1_500)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    cursor = cli
        .read_logs(&name, &cursor, &mut |text| {
            seen.extend(
                String::from_utf8_lossy(text)
                    .lines()
                    .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u32>().unwrap()),
            );
        })
        .unwrap();
    notes.extend(cursor.note.take());
    // the log did rotate: its first lines are gone from what the engine keeps
    let kept = docker(&["logs", "--tail", "100000", &name]);
    assert!(kept.status.success());
    let all = docker(&["logs", &name]);
    assert!(
        !String::from_utf8_lossy(&all.stdout).contains("line 0 "),
        "no rotation"
    );
    let unique: BTreeSet<u32> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 5000, "lines counted twice or lost; {notes:?}");
    assert_eq!(unique.len(), 5000);
    assert!(notes.is_empty(), "{notes:?}");
}

/// The log rotates past the cursor between two reads: the engine cannot show the lines it
/// deleted, and the read says lines may be missing; what it kept is read once.
#[test]
fn real_engine_logs_rotated_past_the_cursor_say_lines_may_be_missing() {
    if !engine_available() {
        return;
    }
    let script = "echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; i=0; \
                  while [ $i -lt 3000 ]; do echo \"line $i $(printf %80s '' | tr ' ' p)\"; \
                  i=$((i+1)); done; touch /tmp/done; sleep 300";
    let (name, _guard) = rotating("rotated", script, "16k", "2");
    let cli = DockerCli::new("docker".into(), ComposeProgram::Auto, "orchestrator".into());
    std::thread::sleep(Duration::from_millis(1_500));
    let mut first = Vec::new();
    let cursor = cli
        .read_logs(
            &name,
            &LogCursor::at(t("2000-01-01T00:00:00Z")),
            &mut |text| first.extend_from_slice(text),
        )
        .unwrap();
    assert_eq!(first, b"first\n");
    assert_eq!(cursor.note, None);
    assert!(
        docker(&["exec", &name, "touch", "/tmp/go"])
            .status
            .success()
    );
    let start = crate::clock::monotonic_now();
    while !docker(&["exec", &name, "test", "-e", "/tmp/done"])
        .status
        .success()
    {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1_500));
    let mut lines = 0_usize;
    let next = cli
        .read_logs(&name, &cursor, &mut |text| {
            lines += text.split(|b| *b == b'\n').count() - 1
        })
        .unwrap();
    // 3000 lines of about 100 bytes went through 16 KiB files, two kept
    assert!(lines > 0 && lines < 3000, "{lines}");
    assert!(
        next.note
            .as_deref()
            .is_some_and(|n| n.contains("lines may be missing")),
        "{next:?}"
    );
}
