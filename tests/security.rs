//! The `post-deploy` binary's security boundaries, end to end: hostile identifiers, symlinks
//! planted in the state folder, the modes of state files, secrets in the webhook URL, and
//! rollback commands that are split into words and never run through a shell.

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

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use binary::{BIN, Env, health};
use loopback::{Conn, Server};
use serde_json::Value;

/// The environment of these tests: commands run in an empty working directory of their own (so
/// a stray relative write is seen too), a 3 s window, degraded at the first failure.
fn new_env() -> Env {
    let mut env = Env::with_cwd();
    env.set("WINDOW_S", "3").set("FAIL_THRESHOLD", "1");
    env
}

impl Env {
    fn assert_nothing_written_in_cwd(&self) {
        assert_eq!(std::fs::read_dir(self.cwd().unwrap()).unwrap().count(), 0);
    }

    /// Both the state folder and the working directory are still empty.
    fn assert_nothing_written(&self, what: &str) {
        for dir in [self.state(), self.cwd().unwrap()] {
            let found: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(
                found.is_empty(),
                "{what}: wrote {found:?} in {}",
                dir.display()
            );
        }
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Never a panic, whatever the input: Rust's panic exit code is 101.
fn assert_no_panic(out: &Output, what: &str) {
    assert_ne!(out.status.code(), Some(101), "{what}: {}", stderr(out));
    assert!(!stderr(out).contains("panicked"), "{what}: {}", stderr(out));
}

/// Every path under `dir`, depth first, without following symlinks.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                todo.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

// --- The identifier boundary -----------------------------------------------------------

/// Values that must never become a folder name.
fn hostile_ids() -> Vec<String> {
    let mut ids: Vec<String> = [
        "..",
        ".",
        "../x",
        "../../etc",
        "a/b",
        "/etc",
        "-rf",
        "--help",
        "café",
        "日本",
        "a b",
        " ",
        "$(id)",
        "`id`",
        "a;b",
        "a|b",
        "~root",
        "*",
        "",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    ids.push("x".repeat(129));
    ids.push("é".repeat(64)); // 128 bytes, 64 characters: still not allowed
    ids
}

/// Every command that takes an identifier, with `value` as the repo or as the work item.
fn commands_with(value: &str, url: &str) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for (repo, item) in [(value, "w"), ("api", value)] {
        let pair = vec![
            "--repo".to_owned(),
            repo.to_owned(),
            "--work-item".to_owned(),
            item.to_owned(),
        ];
        let arm = [
            pair.clone(),
            vec!["--health-url".to_owned(), url.to_owned()],
        ]
        .concat();
        all.push([vec!["arm".to_owned()], arm.clone()].concat());
        all.push([vec!["watch".to_owned()], arm].concat());
        all.push([vec!["tick".to_owned()], pair.clone()].concat());
        all.push([vec!["disarm".to_owned()], pair].concat());
    }
    for flag in ["--repo", "--work-item"] {
        all.push(vec!["status".to_owned(), flag.to_owned(), value.to_owned()]);
        all.push(vec![
            "status".to_owned(),
            "--json".to_owned(),
            format!("{flag}={value}"),
        ]);
    }
    all
}

#[test]
fn hostile_identifiers_exit_2_name_the_value_and_write_nothing() {
    let server = health(200);
    let url = server.url("/health");
    let mut runs = 0;
    for value in hostile_ids() {
        for args in commands_with(&value, &url) {
            // Known gap, checked by `status_names_a_hyphen_value` below.
            if args[0] == "status" && args[2] == value && value.starts_with('-') {
                continue;
            }
            let env = new_env();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = env.run(&args);
            runs += 1;
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
            let err = stderr(&out);
            let named = if value.is_empty() {
                err.contains("\"\"") || err.contains("''")
            } else {
                err.contains(&value)
            };
            assert!(named, "{args:?}: the message names {value:?}: {err}");
            env.assert_nothing_written(&format!("{args:?}"));
        }
    }
    assert!(server.requests().is_empty(), "nothing was probed");
    assert!(runs > 200);
}

#[test]
fn status_names_a_hyphen_value() {
    let env = new_env();
    for flag in ["--repo", "--work-item"] {
        let out = env.run(&["status", flag, "-rf"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("-rf"), "{}", stderr(&out));
    }
    env.assert_nothing_written("status");
}

#[test]
fn hostile_repos_in_the_environment_are_refused_naming_variable_and_value() {
    for (var, value) in [
        ("REPOS", "api,.."),
        ("REPOS", "api,a/b"),
        ("REPOS", "-rf"),
        ("REPOS", "api,$(id)"),
        ("SELF_REPO", "../orchestrator"),
        ("SELF_REPO", "."),
    ] {
        let mut env = new_env();
        env.set(var, value);
        let out = env.run(&[
            "arm",
            "--repo",
            "api",
            "--work-item",
            "w",
            "--health-url",
            "http://127.0.0.1:9/health",
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{var}={value}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains(&format!("ORCH_POST_DEPLOY_{var}")) && err.contains(value),
            "{var}={value}: {err}"
        );
        env.assert_nothing_written(&format!("{var}={value}"));
    }
}

// --- Symlinks in the state folder ------------------------------------------------------

const STATE_FILES: [&str; 4] = [
    "window.json",
    "target.json",
    "lock",
    "16-post-deploy-log.md",
];

/// Where a planted symlink points: an existing file or folder, or nothing (dangling).
struct Outside {
    _dir: tempfile::TempDir,
    path: PathBuf,
    original: Option<Vec<PathBuf>>,
}

impl Outside {
    /// An existing folder holding one file, or (dangling) a path that does not exist.
    fn folder(exists: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("victim");
        if exists {
            std::fs::create_dir(&path).unwrap();
            std::fs::write(path.join("keep"), "ORIGINAL").unwrap();
        }
        let original = exists.then(|| walk(&path));
        Self {
            _dir: dir,
            path,
            original,
        }
    }

    /// An existing file, or (dangling) a path that does not exist.
    fn file(exists: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("victim");
        if exists {
            std::fs::write(&path, "ORIGINAL").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        Self {
            _dir: dir,
            path,
            original: None,
        }
    }

    /// Nothing was written through the symlink: a file is as it was, a folder holds what it
    /// held, a dangling target was not created.
    fn assert_untouched(&self, what: &str) {
        let meta = std::fs::symlink_metadata(&self.path);
        match (&self.original, meta) {
            (Some(before), Ok(m)) if m.is_dir() => {
                assert_eq!(walk(&self.path), *before, "{what}: the folder changed");
                assert_eq!(
                    std::fs::read_to_string(self.path.join("keep")).unwrap(),
                    "ORIGINAL"
                );
            }
            (None, Ok(m)) if m.is_file() => {
                assert_eq!(
                    std::fs::read_to_string(&self.path).unwrap(),
                    "ORIGINAL",
                    "{what}: the file was written through the symlink"
                );
                assert_eq!(
                    m.permissions().mode() & 0o777,
                    0o644,
                    "{what}: chmod through it"
                );
            }
            (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            (_, other) => panic!("{what}: the symlink's target changed: {other:?}"),
        }
        // A dangling target stays dangling.
        if self.original.is_none() && !self.path.exists() {
            assert!(std::fs::symlink_metadata(&self.path).is_err(), "{what}");
        }
    }

    fn exists(&self) -> bool {
        self.path.exists()
    }
}

const LOG: &str = "16-post-deploy-log.md";

/// What the contract says a command does over a planted symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The state folder cannot be used: exit 1, and stderr names the symlink.
    Refused,
    /// The command ran (the symlink is the log artefact, which is not state): this exit code,
    /// and the JSON reason names the symlink.
    Ran(i32),
    /// The command had nothing to write through it: this exit code, one JSON answer.
    Quiet(i32),
}

/// What `cmd` must do over a symlinked `name` when the window is `armed` (a real target.json).
fn expected(cmd: &str, name: &str, armed: bool) -> Expect {
    match (cmd, armed, name == LOG) {
        // Arm of an armed pair writes nothing: already armed.
        ("arm", true, _) => Expect::Quiet(0),
        // Arm was refused, so there is no window: "not armed", nothing written.
        ("tick" | "disarm", false, true) => Expect::Quiet(0),
        // A tick and a disarm run; the log row is not written, and the reason says so.
        ("tick" | "disarm", true, true) => Expect::Ran(0),
        // The window was disarmed just before: watch replays it (a degradation left standing)
        // and writes nothing.
        ("watch", true, true) => Expect::Quiet(4),
        _ => Expect::Refused,
    }
}

fn assert_expected(out: &Output, name: &str, expect: Expect, what: &str) {
    let shown = format!(
        "{what}: expected {expect:?}, exit {:?}\n{}\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    match expect {
        Expect::Refused => {
            assert_eq!(out.status.code(), Some(1), "{shown}");
            assert!(
                stderr(out).contains(name) && stderr(out).contains("symbolic link"),
                "{shown}"
            );
            assert!(out.stdout.is_empty(), "{shown}");
        }
        Expect::Ran(code) => {
            assert_eq!(out.status.code(), Some(code), "{shown}");
            let reason = binary::one_json(out, what)["reason"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                reason.contains(name) && reason.contains("symbolic link"),
                "{shown}"
            );
        }
        Expect::Quiet(code) => {
            assert_eq!(out.status.code(), Some(code), "{shown}");
            binary::one_json(out, what);
        }
    }
}

fn arm_args(url: &str) -> Vec<&str> {
    vec!["--repo", "api", "--work-item", "w", "--health-url", url]
}

/// Runs arm, tick, disarm and watch over a planted symlink: each does what the contract says
/// (`expected`: exit 1 naming it, or, for the log artefact, the command's own exit code with
/// the reason naming it), none writes through it, and none panics.
fn assert_refused(env: &Env, outside: &Outside, name: &str, url: &str) {
    let runs: Vec<Vec<&str>> = vec![
        [vec!["arm"], arm_args(url)].concat(),
        vec!["tick", "--repo", "api", "--work-item", "w"],
        vec!["disarm", "--repo", "api", "--work-item", "w"],
        [vec!["watch"], arm_args(url)].concat(),
    ];
    for args in runs {
        let what = format!("{name} -> {} ({})", outside.path.display(), args[0]);
        let armed = std::fs::symlink_metadata(env.window_dir("api", "w").join("target.json"))
            .is_ok_and(|m| m.is_file());
        let out = env.run(&args);
        assert_no_panic(&out, &what);
        assert_expected(&out, name, expected(args[0], name, armed), &what);
        outside.assert_untouched(&what);
    }
    let status = env.run(&["status", "--json"]);
    assert_no_panic(&status, "status");
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    outside.assert_untouched(&format!("{name}: status"));
}

#[test]
fn a_symlinked_state_folder_is_refused_and_nothing_is_written_through_it() {
    let server = health(500);
    let url = server.url("/health");
    for exists in [true, false] {
        // the repo folder
        let env = new_env();
        let outside = Outside::folder(exists);
        let link = env.state().join(".post-deploy-state-api");
        std::os::unix::fs::symlink(&outside.path, &link).unwrap();
        assert_refused(&env, &outside, ".post-deploy-state-api", &url);
        assert_eq!(outside.exists(), exists);

        // the work item folder
        let env = new_env();
        let outside = Outside::folder(exists);
        let repo = env.state().join(".post-deploy-state-api");
        std::fs::create_dir(&repo).unwrap();
        std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&outside.path, repo.join("w")).unwrap();
        assert_refused(&env, &outside, ".post-deploy-state-api/w", &url);
        assert_eq!(outside.exists(), exists);
    }
}

#[test]
fn a_symlinked_state_file_before_arm_is_never_written_through() {
    let server = health(500);
    let url = server.url("/health");
    for name in STATE_FILES {
        for exists in [true, false] {
            let env = new_env();
            let outside = Outside::file(exists);
            let dir = env.window_dir("api", "w");
            std::fs::create_dir_all(&dir).unwrap();
            std::os::unix::fs::symlink(&outside.path, dir.join(name)).unwrap();
            assert_refused(&env, &outside, name, &url);
            assert_eq!(outside.exists(), exists, "{name}");
            assert!(
                std::fs::symlink_metadata(dir.join(name))
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{name}: the planted symlink is left for a person"
            );
        }
    }
}

#[test]
fn a_symlinked_state_file_after_arm_is_never_written_through() {
    let server = health(500);
    let url = server.url("/health");
    for name in STATE_FILES {
        for exists in [true, false] {
            let env = new_env();
            let armed = env.run(&[vec!["arm"], arm_args(&url)].concat());
            assert_eq!(armed.status.code(), Some(0), "{}", stderr(&armed));
            let dir = env.window_dir("api", "w");
            let outside = Outside::file(exists);
            let _ = std::fs::remove_file(dir.join(name));
            std::os::unix::fs::symlink(&outside.path, dir.join(name)).unwrap();
            assert_refused(&env, &outside, name, &url);
            assert_eq!(outside.exists(), exists, "{name}");
        }
    }
}

#[test]
fn a_symlinked_log_in_the_artefacts_dir_is_never_written_through() {
    let server = health(500);
    let url = server.url("/health");
    for exists in [true, false] {
        let env = new_env();
        let artefacts = env.state().join("artefacts");
        std::fs::create_dir(&artefacts).unwrap();
        let outside = Outside::file(exists);
        std::os::unix::fs::symlink(&outside.path, artefacts.join("16-post-deploy-log.md")).unwrap();
        let artefacts = artefacts.to_str().unwrap();
        // Arm refuses (the log is written at arm), so tick and disarm find no window.
        for (args, expect) in [
            (
                [
                    vec!["arm"],
                    arm_args(&url),
                    vec!["--artefacts-dir", artefacts],
                ]
                .concat(),
                Expect::Refused,
            ),
            (
                vec!["tick", "--repo", "api", "--work-item", "w"],
                Expect::Quiet(0),
            ),
            (
                vec!["disarm", "--repo", "api", "--work-item", "w"],
                Expect::Quiet(0),
            ),
        ] {
            let what = format!("{args:?}");
            let out = env.run(&args);
            assert_no_panic(&out, &what);
            assert_expected(&out, LOG, expect, &what);
            outside.assert_untouched(&what);
        }
        assert!(!env.window_dir("api", "w").join("target.json").exists());
        assert_eq!(outside.exists(), exists);
    }
}

#[test]
fn arm_names_a_symlinked_target_json() {
    let env = new_env();
    let outside = Outside::file(true);
    let dir = env.window_dir("api", "w");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&outside.path, dir.join("target.json")).unwrap();
    let out = env.run(&[vec!["arm"], arm_args("http://127.0.0.1:9/health")].concat());
    assert_expected(&out, "target.json", Expect::Refused, "arm");
    outside.assert_untouched("arm");
}

#[test]
fn a_symlinked_log_is_named() {
    let server = health(500);
    let env = new_env();
    let outside = Outside::file(true);
    let dir = env.window_dir("api", "w");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&outside.path, dir.join("16-post-deploy-log.md")).unwrap();
    assert_refused(&env, &outside, LOG, &server.url("/health"));
}

// --- Modes ------------------------------------------------------------------------------

/// State folders are 0700 and state files 0600, whatever the umask.
#[test]
fn state_folders_are_0700_and_state_files_0600() {
    let server = health(500);
    let url = server.url("/health");
    let mut env = new_env();
    env.set("WINDOW_S", "900");
    let artefacts = env.state().join("artefacts");
    let artefacts = artefacts.to_str().unwrap().to_owned();
    for umask in ["022", "000"] {
        let item = format!("umask{umask}");
        let with_artefacts = format!("art{umask}");
        // A shell only to set the umask of the binary it then execs, argv passed through.
        let run = |args: &[&str]| {
            let out = env
                .program("sh")
                .args(["-c", "umask \"$0\"; exec \"$@\"", umask, BIN])
                .args(args)
                .arg("--state-dir")
                .arg(env.state())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            out
        };
        run(&[vec!["arm"], arm_args_for(&url, &item)].concat());
        run(&["tick", "--repo", "api", "--work-item", &item]);
        run(&[
            vec!["arm"],
            arm_args_for(&url, &with_artefacts),
            vec!["--artefacts-dir", &artefacts],
        ]
        .concat());
        run(&["tick", "--repo", "api", "--work-item", &with_artefacts]);
        // A damaged window.json is kept aside; the new one is private again.
        std::fs::write(env.window_dir("api", &item).join("window.json"), "{").unwrap();
        run(&["tick", "--repo", "api", "--work-item", &item]);
        run(&["disarm", "--repo", "api", "--work-item", &item]);
    }
    let repo = env.state().join(".post-deploy-state-api");
    let mut seen = (0, 0);
    for path in [vec![repo.clone()], walk(&repo)].concat() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if path.to_string_lossy().contains(".damaged-") {
            // The test's own write, kept aside as it was.
            continue;
        }
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            seen.0 += 1;
        } else {
            assert!(meta.is_file(), "{}", path.display());
            assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
            seen.1 += 1;
        }
    }
    for name in [
        "window.json",
        "target.json",
        "lock",
        "16-post-deploy-log.md",
    ] {
        let path = env.window_dir("api", "umask000").join(name);
        assert!(path.exists(), "{}", path.display());
    }
    let log = Path::new(&artefacts).join("16-post-deploy-log.md");
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600,
        "the log artefact in an artefacts dir"
    );
    assert!(seen.0 >= 5 && seen.1 >= 12, "{seen:?}");
}

/// Folders that were there before (made by hand, by an older version, under a loose umask)
/// are made private at arm: a repo folder others can write to would let them swap a window
/// folder for a symlink after the checks.
#[test]
fn loose_state_folders_made_earlier_are_made_0700_at_arm() {
    let server = health(200);
    let url = server.url("/health");
    let env = new_env();
    let repo = env.state().join(".post-deploy-state-api");
    std::fs::create_dir_all(repo.join("w")).unwrap();
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(repo.join("w"), std::fs::Permissions::from_mode(0o755)).unwrap();
    for item in ["w", "w2"] {
        let out = env.run(&[vec!["arm"], arm_args_for(&url, item)].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    for dir in [repo.clone(), repo.join("w"), repo.join("w2")] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
    }
}

fn arm_args_for<'a>(url: &'a str, item: &'a str) -> Vec<&'a str> {
    vec!["--repo", "api", "--work-item", item, "--health-url", url]
}

// --- Planted files ----------------------------------------------------------------------

/// Runs the binary, killed and failed after `limit`: a command that hangs is the finding.
fn run_within(env: &Env, args: &[&str], limit: std::time::Duration) -> Output {
    let mut child = env
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{args:?} hung past {limit:?}; stderr: {}", stderr(&out));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Plants `kind` (`fifo`, or `device`: a character device like `/dev/null`) at `path`;
/// `false` when this system does not let the test make it (a device needs root).
fn plant(kind: &str, path: &Path) -> bool {
    let _ = std::fs::remove_file(path);
    let made = match kind {
        "fifo" => std::process::Command::new("mkfifo").arg(path).status(),
        _ => std::process::Command::new("mknod")
            .arg(path)
            .args(["c", "1", "3"])
            .status(),
    };
    made.is_ok_and(|s| s.success())
}

/// A FIFO or a character device planted as the log artefact, in the window's folder or in a
/// shared artefacts dir, is never written: opening a FIFO to append waits for a reader for
/// ever (with the window's lock held), and a device is no log. The tick runs, exits 0 within
/// seconds, and its reason says the log was not written, naming it; the planted file stays.
#[test]
fn a_fifo_or_device_planted_as_the_log_is_not_written() {
    use std::io::Write as _;
    use std::os::unix::fs::FileTypeExt as _;
    let server = health(200);
    let url = server.url("/health");
    for kind in ["fifo", "device"] {
        for shared in [false, true] {
            let what = format!("{kind}, shared artefacts dir: {shared}");
            let env = new_env();
            let artefacts = env.state().join("artefacts");
            let artefacts_arg = artefacts.to_str().unwrap().to_owned();
            let mut arm = [vec!["arm"], arm_args(&url)].concat();
            if shared {
                arm.extend(["--artefacts-dir", &artefacts_arg]);
            }
            let out = env.run(&arm);
            assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
            let log = if shared {
                artefacts.clone()
            } else {
                env.window_dir("api", "w")
            }
            .join("16-post-deploy-log.md");
            if !plant(kind, &log) {
                let root = std::process::Command::new("id")
                    .arg("-u")
                    .output()
                    .is_ok_and(|o| o.stdout == b"0\n");
                assert!(kind == "device" && !root, "{what}: could not plant it");
                // Straight to the stream, past the test harness's capture, so it is seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: {what} not tested: making a device needs root"
                );
                continue;
            }
            let out = run_within(
                &env,
                &["tick", "--repo", "api", "--work-item", "w"],
                std::time::Duration::from_secs(20),
            );
            assert_no_panic(&out, &what);
            assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
            let json = binary::one_json(&out, &what);
            let reason = json["reason"].as_str().unwrap();
            assert!(
                reason.contains("log artefact not written")
                    && reason.contains("16-post-deploy-log.md"),
                "{what}: {reason}"
            );
            let still = std::fs::symlink_metadata(&log).unwrap().file_type();
            assert!(
                still.is_fifo() || still.is_char_device(),
                "{what}: the planted file was replaced"
            );
        }
    }
}

// --- Secrets ----------------------------------------------------------------------------

const SECRETS: [&str; 4] = [
    "s3cr3t-pass",
    "SECRETPATH",
    "SECRETTOKEN",
    // user:s3cr3t-pass in base64, as a Basic authorization header would carry it
    "dXNlcjpzM2NyM3QtcGFzcw",
];

fn assert_no_secret(text: &str, what: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

#[test]
fn the_webhook_url_never_appears_in_output_status_or_files() {
    let target = health(500);
    let hook = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 40\r\nConnection: close\r\n\r\nerror at /hooks/T000/SECRETPATH (sorry)\n",
            );
        }
    });
    for port in [hook.port(), loopback::closed_port()] {
        let mut env = new_env();
        env.set(
            "WEBHOOK_URL",
            &format!(
                "http://user:s3cr3t-pass@127.0.0.1:{port}/hooks/T000/SECRETPATH?token=SECRETTOKEN"
            ),
        );
        let url = target.url("/health");
        let out = env.run(&[vec!["watch"], arm_args(&url)].concat());
        // A degradation with nothing to roll back to is left standing: 4.
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        let (so, se) = (stdout(&out), stderr(&out));
        assert!(se.contains("alert"), "alerts were attempted: {se}");
        assert!(
            se.contains(&format!("127.0.0.1:{port}")),
            "the failure names the host: {se}"
        );
        assert_no_secret(&so, "watch stdout");
        assert_no_secret(&se, "watch stderr");
        // and a later tick, replaying the finished window
        let tick = env.run(&["tick", "--repo", "api", "--work-item", "w"]);
        assert_no_secret(&stdout(&tick), "tick stdout");
        assert_no_secret(&stderr(&tick), "tick stderr");
        for args in [vec!["status"], vec!["status", "--json"]] {
            let status = env.run(&args);
            assert_eq!(status.status.code(), Some(0));
            assert_no_secret(&stdout(&status), &format!("{args:?} stdout"));
            assert_no_secret(&stderr(&status), &format!("{args:?} stderr"));
        }
        let files = walk(env.state());
        assert!(files.len() >= 4, "{files:?}");
        for path in files.iter().filter(|p| p.is_file()) {
            let bytes = std::fs::read(path).unwrap();
            assert_no_secret(
                &String::from_utf8_lossy(&bytes),
                &path.display().to_string(),
            );
        }
        env.assert_nothing_written_in_cwd();
    }
    // The alert did reach the webhook, secrets and all: the test is not vacuous.
    let posts = hook.requests();
    assert!(!posts.is_empty());
    assert!(
        posts
            .iter()
            .all(|r| r.method == "POST" && r.target == "/hooks/T000/SECRETPATH?token=SECRETTOKEN")
    );
}

// --- No shell ---------------------------------------------------------------------------

#[test]
fn hostile_previous_images_are_refused_at_arm() {
    let scratch = tempfile::tempdir().unwrap();
    let pwned = scratch.path().join("pwned");
    let p = pwned.display();
    for image in [
        format!("$(touch {p})"),
        format!("`touch {p}`"),
        ";rm -rf /".to_owned(),
        format!("app:1 && touch {p}"),
        format!("app:1;touch {p}"),
        format!("app:1|touch {p}"),
        "--help".to_owned(),
        "-v".to_owned(),
        "app:1\nx".to_owned(),
        String::new(),
    ] {
        for cmd in ["arm", "watch"] {
            let env = new_env();
            let out = env.run(&[
                cmd,
                "--repo",
                "api",
                "--work-item",
                "w",
                "--health-url",
                "http://127.0.0.1:9/health",
                "--previous-image",
                &image,
            ]);
            assert_eq!(out.status.code(), Some(2), "{image:?}: {}", stderr(&out));
            let first = image.lines().next().unwrap_or_default();
            assert!(
                stderr(&out).contains(first),
                "names {image:?}: {}",
                stderr(&out)
            );
            env.assert_nothing_written(&image);
            assert!(!pwned.exists(), "{image:?}");
        }
    }
}

/// A rollback command that writes its own argv, one word a line, to `argv`, followed by
/// `hostile`: whatever `hostile` holds must arrive as words, never run.
fn recording_command(argv: &Path, hostile: &str) -> String {
    format!(
        "sh -c 'printf \"%s\\n\" \"$@\" > \"$0\"; env | grep ^POST_DEPLOY_ | sort >> \"$0\"' '{}' {hostile}",
        argv.display()
    )
}

#[test]
fn rollback_command_words_are_argv_never_a_shell() {
    let target = health(500);
    let url = target.url("/health");
    let scratch = tempfile::tempdir().unwrap();
    let pwned = scratch.path().join("pwned");
    let p = pwned.display().to_string();
    let cases: Vec<(String, Vec<String>)> = vec![
        (format!(";touch {p}"), vec![";touch".into(), p.clone()]),
        (
            format!("; touch {p}"),
            vec![";".into(), "touch".into(), p.clone()],
        ),
        (
            format!("$(touch {p})"),
            vec!["$(touch".into(), format!("{p})")],
        ),
        (format!("\"$(touch {p})\""), vec![format!("$(touch {p})")]),
        (
            format!("`touch {p}`"),
            vec!["`touch".into(), format!("{p}`")],
        ),
        (
            format!("&& touch {p}"),
            vec!["&&".into(), "touch".into(), p.clone()],
        ),
        (
            format!("|| touch {p}"),
            vec!["||".into(), "touch".into(), p.clone()],
        ),
        (
            format!("| tee {p}"),
            vec!["|".into(), "tee".into(), p.clone()],
        ),
        (format!("> {p}"), vec![">".into(), p.clone()]),
        (format!("'$(touch {p})'"), vec![format!("$(touch {p})")]),
    ];
    for (i, (hostile, words)) in cases.iter().enumerate() {
        let mut env = new_env();
        let argv = scratch.path().join(format!("argv-{i}"));
        env.set("ROLLBACK_CMD", &recording_command(&argv, hostile));
        let item = format!("shell-{i}");
        let armed = env.run(&[
            "arm",
            "--repo",
            "api",
            "--work-item",
            &item,
            "--health-url",
            &url,
            "--container",
            "api-1",
            "--previous-image",
            "app:1.4",
        ]);
        assert_eq!(armed.status.code(), Some(0), "{}", stderr(&armed));
        let out = env.run(&["tick", "--repo", "api", "--work-item", &item]);
        assert_eq!(out.status.code(), Some(0), "{hostile}: {}", stderr(&out));
        let tick: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(tick["action"], "ROLLBACK", "{hostile}: {tick}");
        let recorded = std::fs::read_to_string(&argv)
            .unwrap_or_else(|e| panic!("{hostile}: the command did not run ({e}): {tick}"));
        let mut lines = recorded.lines();
        let got: Vec<&str> = lines.by_ref().take(words.len()).collect();
        assert_eq!(got, *words, "{hostile}: the words arrive as argv");
        let env_lines: Vec<&str> = lines.collect();
        for expected in [
            "POST_DEPLOY_CONTAINER=api-1".to_owned(),
            "POST_DEPLOY_PREVIOUS_IMAGE=app:1.4".to_owned(),
            "POST_DEPLOY_REPO=api".to_owned(),
            format!("POST_DEPLOY_WORK_ITEM={item}"),
        ] {
            assert!(
                env_lines.contains(&expected.as_str()),
                "{hostile}: {recorded}"
            );
        }
        assert!(!pwned.exists(), "{hostile}: a shell ran it");
    }
}

#[test]
fn a_rollback_program_spelled_as_shell_syntax_is_run_as_a_program_name() {
    let target = health(500);
    let url = target.url("/health");
    let scratch = tempfile::tempdir().unwrap();
    let pwned = scratch.path().join("pwned");
    let p = pwned.display();
    for (i, command) in [
        format!("$(touch {p})"),
        format!("`touch {p}`"),
        format!(";touch {p}"),
        format!("touch {p}&&true"),
    ]
    .iter()
    .enumerate()
    {
        let mut env = new_env();
        env.set("ROLLBACK_CMD", command);
        let item = format!("prog-{i}");
        let armed = env.run(&[vec!["arm"], arm_args_for(&url, &item)].concat());
        assert_eq!(armed.status.code(), Some(0), "{}", stderr(&armed));
        let out = env.run(&["tick", "--repo", "api", "--work-item", &item]);
        assert_no_panic(&out, command);
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
        let tick: Value = serde_json::from_slice(&out.stdout).unwrap();
        if i == 3 {
            // `touch` with the arguments `<p>&&true`: the program runs, the `&&` is a word.
            assert!(!pwned.exists(), "{command}");
            assert!(scratch.path().join(format!("{}&&true", "pwned")).exists());
            continue;
        }
        assert!(
            tick["reason"].as_str().unwrap().contains("FAILED"),
            "{command}: no such program: {tick}"
        );
        assert!(!pwned.exists(), "{command}: a shell ran it");
    }
}

#[test]
fn a_rollback_command_with_unbalanced_quotes_is_refused() {
    let mut env = new_env();
    env.set("ROLLBACK_CMD", "echo 'unterminated");
    let out = env.run(&[vec!["arm"], arm_args("http://127.0.0.1:9/health")].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ORCH_POST_DEPLOY_ROLLBACK_CMD"),
        "{}",
        stderr(&out)
    );
    env.assert_nothing_written("unbalanced quotes");
}

/// The user info of the health URL stays in `target.json` (0600), where the probe needs it,
/// and nowhere else: no stdout, stderr, status, alert, webhook payload, log header or row.
#[test]
fn the_health_urls_user_info_never_appears_outside_target_json() {
    let failing = health(500);
    let hook = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    let artefacts = tempfile::tempdir().unwrap();
    let urls = [
        // a target that answers, badly
        failing
            .url("/health")
            .replace("http://", "http://user:s3cret@"),
        // a refused connection: the probe's error must not echo the URL
        format!(
            "http://user:s3cret@127.0.0.1:{}/health",
            loopback::closed_port()
        ),
    ];
    let mut env = new_env();
    env.set("WEBHOOK_URL", &hook.url("/hook"));
    let mut outputs = Vec::new();
    for (n, url) in urls.iter().enumerate() {
        let item = format!("w{n}");
        let art = artefacts.path().join(&item);
        let arm = env.run(&[
            "arm",
            "--repo",
            "api",
            "--work-item",
            &item,
            "--health-url",
            url,
            "--artefacts-dir",
            art.to_str().unwrap(),
        ]);
        assert_eq!(arm.status.code(), Some(0), "{}", stderr(&arm));
        let tick = env.run(&["tick", "--repo", "api", "--work-item", &item]);
        assert_eq!(tick.status.code(), Some(0), "{}", stderr(&tick));
        let json: Value = serde_json::from_slice(&tick.stdout).unwrap();
        assert_eq!(json["verdict"], "DEGRADED", "{json}");
        assert!(
            stderr(&tick).contains("post-deploy alert"),
            "{}",
            stderr(&tick)
        );
        outputs.extend([arm, tick]);
        // the window finishes: the outcome and its alert
        std::thread::sleep(std::time::Duration::from_millis(3100));
        outputs.push(env.run(&["tick", "--repo", "api", "--work-item", &item]));
        outputs.push(env.run(&["disarm", "--repo", "api", "--work-item", &item]));
        let log = std::fs::read_to_string(art.join("16-post-deploy-log.md")).unwrap();
        assert!(
            log.contains("http://***@127.0.0.1:"),
            "the header shows the URL: {log}"
        );
    }
    outputs.push(env.run(&["status"]));
    outputs.push(env.run(&["status", "--json"]));
    for out in &outputs {
        for text in [stdout(out), stderr(out)] {
            assert!(
                !text.contains("s3cret"),
                "output leaks the user info: {text}"
            );
        }
    }
    let mut files = walk(env.state());
    files.extend(walk(artefacts.path()));
    let checked: Vec<_> = files
        .iter()
        .filter(|p| p.is_file() && p.file_name().unwrap() != "target.json")
        .collect();
    assert!(checked.len() >= 6, "{checked:?}");
    for path in checked {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert!(
            !text.contains("s3cret"),
            "{} leaks the user info: {text}",
            path.display()
        );
    }
    let posts = hook.requests();
    assert!(posts.len() >= 2, "alerts were posted: {posts:?}");
    for post in posts {
        assert!(!String::from_utf8_lossy(&post.body).contains("s3cret"));
    }
    // the probe itself still carries the credentials (ureq sends them as Basic auth)
    let target_json =
        std::fs::read_to_string(env.window_dir("api", "w0").join("target.json")).unwrap();
    assert!(target_json.contains("user:s3cret@"));
    assert!(!failing.requests().is_empty());
}

/// Passwords written as they are, not percent-encoded, with the characters that end an
/// authority early (`#`, `?`, `/`), more `@`, whitespace and `%`. Every piece of every one
/// starts with `ZQ`, which nothing else in the output holds.
const HOSTILE_PASSWORDS: [&str; 8] = [
    "ZQhunter#ZQ2x",
    "ZQhunter?ZQ2x",
    "ZQhunter/ZQ2x",
    "ZQhun@ZQter:ZQx#ZQ2x",
    "ZQhunter ZQ2x",
    "ZQhun%ZQter#ZQ2x",
    "ZQa#ZQb?ZQc/ZQd@ZQe ZQf%ZQg",
    "ZQhunter\tZQ2x",
];

/// A URL refused for its hostile password never shows any piece of the password: not for
/// `--health-url`, not for `ORCH_POST_DEPLOY_WEBHOOK_URL`. Exit 2, and the message names
/// the flag or variable and shows the URL with `***`.
#[test]
fn a_refused_url_never_shows_its_password() {
    let port = loopback::closed_port();
    for password in HOSTILE_PASSWORDS {
        let url = format!("http://admin:{password}@127.0.0.1:{port}/h");
        let env = new_env();
        let out = env.run(&[
            "arm",
            "--repo",
            "api",
            "--work-item",
            "w",
            "--health-url",
            &url,
        ]);
        assert_eq!(out.status.code(), Some(2), "{password:?}: {}", stderr(&out));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!text.contains("ZQ"), "{password:?} shown: {text}");
        assert!(
            text.contains("--health-url") && text.contains("***"),
            "{password:?}: {text}"
        );
        env.assert_nothing_written(password);

        let mut env = new_env();
        env.set("WEBHOOK_URL", &url);
        for args in [
            [vec!["arm"], arm_args("http://127.0.0.1:9/h")].concat(),
            vec!["tick", "--repo", "api", "--work-item", "w"],
            vec!["status"],
        ] {
            let out = env.run(&args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{password:?} {args:?}: {}",
                stderr(&out)
            );
            let text = format!("{}{}", stdout(&out), stderr(&out));
            assert!(!text.contains("ZQ"), "{password:?} {args:?} shown: {text}");
            assert!(
                text.contains("ORCH_POST_DEPLOY_WEBHOOK_URL") && text.contains("***"),
                "{password:?}: {text}"
            );
        }
        env.assert_nothing_written(password);
    }
}

/// Percent-encoded user info is sent decoded, as curl sends it: a health endpoint that
/// wants `bob:p@ss` passes with `http://bob:p%40ss@…`, and a healthy deploy stays HEALTHY.
#[test]
fn percent_encoded_health_credentials_are_sent_decoded() {
    // base64 of bob:p@ss
    let expected = "Basic Ym9iOnBAc3M=";
    let server = Server::start(move |c: &mut Conn| {
        if let Some(request) = c.read_request() {
            let status = if request.header("authorization") == Some(expected) {
                "200 OK"
            } else {
                "401 Unauthorized"
            };
            let _ = c.write(
                format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    .as_bytes(),
            );
        }
    });
    let url = server
        .url("/health")
        .replace("http://", "http://bob:p%40ss@");
    let env = new_env();
    let armed = env.json(&[vec!["arm"], arm_args(&url)].concat(), 0);
    assert_eq!(armed["armed"], true, "{armed}");
    let tick = env.json(&["tick", "--repo", "api", "--work-item", "w"], 0);
    assert_eq!(
        (
            tick["verdict"].as_str(),
            tick["consecutive_failures"].as_u64()
        ),
        (Some("HEALTHY"), Some(0)),
        "{tick}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), Some(expected));
    assert_eq!(requests[0].target, "/health");
}

/// An argument of 100 KB (the kernel takes up to 128 KiB): refused, and quoted in the error,
/// never echoed whole, whether clap or the identifier's check refuses it.
#[test]
fn huge_arguments_are_quoted_in_errors_never_echoed_whole() {
    let env = Env::new();
    let huge = "w".repeat(100_000);
    let bad_char = format!("{huge}/");
    let unknown = format!("--{huge}");
    for args in [
        vec!["tick", "--repo", "api", "--work-item", bad_char.as_str()],
        vec!["tick", "--repo", "api", "--work-item", huge.as_str()],
        vec!["tick", "--repo", bad_char.as_str(), "--work-item", "w"],
        vec!["tick", "--repo", "api", unknown.as_str()],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.len() < 2000, "{} bytes on stderr", stderr.len());
        assert!(stderr.contains("…[cut]"), "{stderr}");
    }
    assert!(!env.state().join(".post-deploy-state-api").exists());
}
