//! The sentinel files under a state folder, as the binary keeps them: damaged files kept
//! aside in place, hostile file types, sizes no state has.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    reason = "tests"
)]

mod support;

use std::time::Duration;

use post_deploy_core::ActionKind;
use post_deploy_core::store::{self, FileStore, Loaded, StateFile};
use support::Scenario;

#[test]
fn a_damaged_progress_file_stays_in_place_until_its_replacement_is_written() {
    // The damaged file is kept aside by a link; until the replacement lands, window.json is
    // the damaged file, never absent, so a crash there cannot make a fresh window.
    let mut s = Scenario::on_files();
    s.set("FAIL_THRESHOLD", "1");
    s.world.rollback_heals.set(false);
    s.world.break_new_image();
    s.arm();
    assert_eq!(s.tick().action, ActionKind::Rollback);
    let files = FileStore::new(s.dir.path());
    std::fs::write(s.window_dir().join("window.json"), b"garbage{").unwrap();
    let found =
        store::load::<serde_json::Value>(&files, &s.key(), StateFile::Progress, "stamp").unwrap();
    assert!(matches!(found, Loaded::Damaged { .. }));
    assert_eq!(
        std::fs::read(s.window_dir().join("window.json")).unwrap(),
        b"garbage{"
    );
    assert_eq!(
        std::fs::read(s.window_dir().join("window.json.damaged-stamp")).unwrap(),
        b"garbage{"
    );
    // The same stamp again (a clock stepped back) never overwrites the first copy.
    let again =
        store::load::<serde_json::Value>(&files, &s.key(), StateFile::Progress, "stamp").unwrap();
    match again {
        Loaded::Damaged { kept_as, .. } => {
            assert_eq!(kept_as, "window.json.damaged-stamp-1");
        }
        other => panic!("{other:?}"),
    }
    s.world.advance(Duration::from_secs(30));
    let outs = s.run(|_, _| {});
    assert_eq!(s.world.rollbacks(), 1);
    assert!(outs.last().unwrap().finished);
}

#[test]
fn an_oversized_state_file_is_damaged_and_not_read_whole() {
    let s = Scenario::on_files();
    s.arm();
    s.tick();
    // Valid JSON, but far larger than any state: a string of 2 MiB.
    let big = format!("{{\"padding\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    std::fs::write(s.window_dir().join("window.json"), big).unwrap();
    s.world.advance(Duration::from_secs(30));
    let out = s.tick();
    assert!(
        out.reason.contains("damaged") && out.reason.contains("larger than"),
        "{}",
        out.reason
    );
    let status = s.monitor().status(None, None).unwrap();
    assert_eq!(status.len(), 1);
}

#[cfg(unix)]
#[cfg(unix)]
#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test plants a FIFO with mkfifo(1); the core itself runs no program"
)]
fn a_fifo_planted_as_a_state_file_is_damaged_and_never_waited_on() {
    let s = Scenario::on_files();
    s.arm();
    s.tick();
    let window = s.window_dir().join("window.json");
    std::fs::remove_file(&window).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&window)
        .status()
        .unwrap();
    assert!(made.success());
    s.world.advance(Duration::from_secs(30));
    // Opening the FIFO for reading would block this thread for ever.
    let out = s.tick();
    assert!(
        out.reason.contains("damaged") && out.reason.contains("not a regular file"),
        "{}",
        out.reason
    );
    assert!(s.monitor().status(None, None).is_ok());
}

/// A damaged `window.json` whose decoding error would quote most of it (a string where a number
/// belongs): the tick's reason and `status` quote it, never whole.
#[test]
fn a_damaged_file_is_quoted_in_reasons_never_whole() {
    let s = Scenario::on_files();
    s.arm();
    let huge = format!(r#"{{"version": "{}"}}"#, "v".repeat(900_000));
    s.set_file("window.json", Some(huge.as_bytes()));
    let rows = s.monitor().status(None, None).unwrap();
    assert!(
        rows.iter().all(|r| r.reason.chars().count() <= 1000),
        "{:?}",
        rows.iter().map(|r| r.reason.len()).collect::<Vec<_>>()
    );
    let out = s.tick();
    assert!(out.reason.contains("damaged"), "{}", out.reason);
    assert!(
        out.reason.chars().count() <= 1000,
        "{} bytes",
        out.reason.len()
    );
    assert!(s.file("window.json").unwrap().len() < 64 * 1024);
}
