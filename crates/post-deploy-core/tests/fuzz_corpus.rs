//! The checks of the state-file and configuration fuzz targets, and the replay of their
//! regression corpora (`fixtures/fuzz-corpus/{state_files,config}/`) through them.
//!
//! `fuzz/fuzz_targets/state_files.rs` and `fuzz/fuzz_targets/config.rs` include this file and
//! call [`state_files`] and [`config`] on every input, so an input the fuzzer once crashed on,
//! added to the corpus, stays fixed under the normal `cargo test`, without cargo-fuzz.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    dead_code,
    reason = "fuzz checks and tests: a panic is the finding"
)]

#[path = "support/mod.rs"]
mod support;

#[path = "../../../tests/support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};
use std::time::Duration;

use post_deploy_core::config::{
    CommandLine, ComposeProgram, MAX_SECONDS, PREFIX, is_container_name,
};
use post_deploy_core::store::{PROGRESS_FILE, TARGET_FILE};
use post_deploy_core::window::{Phase, Progress, WindowTarget};
use post_deploy_core::{Config, RepoName, WindowSettings};
use support::Scenario;

/// One state-file input: the first byte says which file the rest becomes, `t` `target.json`,
/// `b` both (the target before the first NUL byte and the progress after it, or the same bytes
/// as both when there is none), anything else `window.json`. The files replace those of a
/// freshly armed window whose target is failing (`FAIL_THRESHOLD=1`), which is then ticked
/// twice.
///
/// Checks: no panic, no tick error; a file that is not state (or a target of another window)
/// is kept aside byte for byte as `<name>.damaged-*` and its window never rolls back; a window
/// that already rolled back, was damaged or finished never rolls back; no window rolls back
/// twice; whatever parses is written back as it was read. Returns the number of rollbacks.
pub fn state_files(input: &[u8]) -> usize {
    let Some((&mode, content)) = input.split_first() else {
        return 0;
    };
    let (target_bytes, window_bytes) = match mode {
        b't' => (Some(content), None),
        b'b' => match content.iter().position(|&b| b == 0) {
            Some(nul) => (Some(&content[..nul]), Some(&content[nul + 1..])),
            None => (Some(content), Some(content)),
        },
        _ => (None, Some(content)),
    };

    // The types on their own, as the store reads them.
    let target = target_bytes.map(serde_json::from_slice::<WindowTarget>);
    let progress = window_bytes.map(serde_json::from_slice::<Progress>);
    if let Some(Ok(t)) = &target {
        round_trips(t);
    }
    if let Some(Ok(p)) = &progress {
        round_trips(p);
    }

    // The same files in a window's folder, under a tick.
    let mut s = Scenario::on_files();
    s.set("FAIL_THRESHOLD", "1");
    s.world.break_new_image();
    assert!(s.arm().armed);
    let dir = s.window_dir();
    let mut written_target = None;
    if let Some(bytes) = target_bytes {
        let bytes = match &target {
            // A target that names an artefacts dir would have the tick write its log there:
            // keep it in the sandbox.
            Some(Ok(t)) if t.artefacts_dir.is_some() => {
                let inside = WindowTarget {
                    artefacts_dir: Some(s.dir.path().join("artefacts")),
                    ..t.clone()
                };
                serde_json::to_vec(&inside).unwrap()
            }
            _ => bytes.to_vec(),
        };
        std::fs::write(dir.join(TARGET_FILE), &bytes).unwrap();
        written_target = Some(bytes);
    }
    if let Some(bytes) = window_bytes {
        std::fs::write(dir.join(PROGRESS_FILE), bytes).unwrap();
    }
    let target_bad = match &target {
        None => false,
        Some(Err(_)) => true,
        Some(Ok(t)) => t.repo != s.repo || t.work_item != s.work_item,
    };
    let window_bad = matches!(progress, Some(Err(_)));
    // The progress the tick starts from, when both files are state.
    let start = match &progress {
        Some(Ok(p)) => Some(p.clone()),
        Some(Err(_)) => None,
        None => Some(Progress::new(support::t0())),
    };
    let settled = start
        .as_ref()
        .is_some_and(|p| p.rollback.is_some() || p.damaged.is_some() || p.phase == Phase::Finished);

    s.world.advance(Duration::from_secs(120));
    let first = s.monitor().tick(&s.repo, &s.work_item);
    let first = first.unwrap_or_else(|e| panic!("the first tick failed: {e}"));
    if target_bad {
        assert!(first.finished, "a damaged target goes on: {first:?}");
        assert_eq!(
            kept(&dir, TARGET_FILE).as_ref(),
            written_target.as_ref(),
            "the damaged target is not kept as it was"
        );
    }
    if window_bad {
        assert_eq!(
            kept(&dir, PROGRESS_FILE).as_deref(),
            window_bytes,
            "the damaged progress is not kept as it was"
        );
    }
    let no_rollback = target_bad || window_bad || settled;
    if no_rollback {
        assert_eq!(s.world.rollbacks(), 0, "rolled back: {first:?}");
    }
    s.world.advance(Duration::from_secs(30));
    let second = s.monitor().tick(&s.repo, &s.work_item);
    let second = second.unwrap_or_else(|e| panic!("the second tick failed: {e}"));
    if no_rollback {
        assert_eq!(s.world.rollbacks(), 0, "rolled back: {second:?}");
    }
    assert!(
        s.world.rollbacks() <= 1,
        "rolled back twice: {:?}",
        s.world.mutations.borrow()
    );
    assert!(s.monitor().status(None, None).is_ok());
    s.world.rollbacks()
}

/// The bytes of the only `<name>.damaged-*` file in `dir`.
fn kept(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let prefix = format!("{name}.damaged-");
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    assert!(found.len() <= 1, "kept more than once: {found:?}");
    found.first().map(|p| std::fs::read(p).unwrap())
}

/// A state value is read back as it was written: a window never damages its own files.
fn round_trips<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = serde_json::to_vec_pretty(value).unwrap();
    let again: T = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "written state is not read back ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(&again, value);
}

/// One configuration input: `KEY=VALUE` lines (a line without `=` sets KEY to nothing), KEY
/// given whole or without the `ORCH_POST_DEPLOY_` prefix.
///
/// Checks: no panic; an error names a variable; a configuration that loads holds the
/// contract's bounds (interval at least 1 s, window at least the interval and at most 30 days,
/// ratio in 0..=1, fail threshold at least 1), reads its switches as
/// [`Config::switches_from_vars`] does, and records window settings that read back the same.
pub fn config(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let vars: Vec<(String, String)> = text
        .lines()
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            let key = if key.starts_with(PREFIX) {
                key.to_owned()
            } else {
                format!("{PREFIX}{key}")
            };
            (key, value.to_owned())
        })
        .collect();
    let pairs = || vars.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let loaded = Config::from_vars(pairs());
    let switches = Config::switches_from_vars(pairs());
    let c = match loaded {
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.starts_with(&format!("invalid {PREFIX}")),
                "the error names no variable: {message}"
            );
            if let Err(s) = switches {
                assert_eq!(s, e, "the switches fail otherwise than the whole");
            }
            return;
        }
        Ok(c) => c,
    };
    assert_eq!(switches.as_ref(), Ok(&c.switches));

    let w = &c.window;
    let max = Duration::from_secs(MAX_SECONDS);
    assert!(w.interval >= Duration::from_secs(1), "{w:?}");
    assert!(w.window >= w.interval && w.window <= max, "{w:?}");
    assert!(
        w.health_timeout >= Duration::from_secs(1) && w.health_timeout <= max,
        "{w:?}"
    );
    assert!((1..=10_000).contains(&w.fail_threshold), "{w:?}");
    let ratio = w.ratio_threshold.get();
    assert!(ratio.is_finite() && (0.0..=1.0).contains(&ratio), "{w:?}");
    // What arm records is what a tick reads.
    let recorded = serde_json::to_vec(w).unwrap();
    assert_eq!(
        serde_json::from_slice::<WindowSettings>(&recorded)
            .ok()
            .as_ref(),
        Some(w)
    );

    // Commands run as they were split; the webhook's secrets never show.
    let commands = c
        .switches
        .rollback_cmd
        .iter()
        .chain(match &c.switches.compose {
            ComposeProgram::Command(cmd) => Some(cmd),
            _ => None,
        });
    for cmd in commands {
        assert!(!cmd.program().is_empty());
        assert_eq!(CommandLine::parse(&cmd.to_string()).as_ref(), Some(cmd));
    }
    if let Some(url) = &c.switches.webhook_url {
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains('@'), "{shown}");
        }
    }
    assert!(!c.switches.docker.chars().any(char::is_control));

    assert!(is_container_name(&c.scope.self_container));
    let scope = &c.scope;
    for repo in &scope.repos {
        assert_eq!(RepoName::new(repo.as_str()).as_ref(), Ok(repo));
        assert_eq!(c.applies(repo).applies, c.switches.enabled, "{repo}");
    }
    let own = c.applies(&scope.self_repo).applies;
    let listed = scope.repos.is_empty() || scope.repos.contains(&scope.self_repo);
    assert_eq!(own, c.switches.enabled && listed);
}

#[test]
fn state_files_corpus_replays() {
    corpus::replay(
        "state_files",
        &|b| {
            state_files(b);
        },
        24,
    );
}

#[test]
fn config_corpus_replays() {
    corpus::replay("config", &config, 24);
}

/// The checks are not vacuous: the sandbox window rolls back when its files let it, and
/// not when they are damaged or name another window.
#[test]
fn the_sandbox_rolls_back_unless_its_files_forbid_it() {
    let fresh = serde_json::to_vec(&Progress::new(support::t0())).unwrap();
    assert_eq!(state_files(&[b"w".as_slice(), &fresh].concat()), 1);
    assert_eq!(state_files(b"w{"), 0);

    let armed = Scenario::on_files();
    armed.arm();
    let bytes = std::fs::read(armed.window_dir().join(TARGET_FILE)).unwrap();
    let mut target: WindowTarget = serde_json::from_slice(&bytes).unwrap();
    target.settings.fail_threshold = 1;
    let ours = serde_json::to_vec(&target).unwrap();
    assert_eq!(state_files(&[b"t".as_slice(), &ours].concat()), 1);
    assert_eq!(
        state_files(&[b"b".as_slice(), &ours, b"\0", &fresh].concat()),
        1
    );
    target.work_item = post_deploy_core::WorkItem::new("PR-43").unwrap();
    let theirs = serde_json::to_vec(&target).unwrap();
    assert_eq!(state_files(&[b"t".as_slice(), &theirs].concat()), 0);
}
