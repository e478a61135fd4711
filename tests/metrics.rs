//! `ORCH_POST_DEPLOY_METRICS_FILE` end to end: the `post-deploy` binary against a real HTTP
//! target on loopback, every metrics file it writes checked by `promtool check metrics`;
//! hostile metrics paths; counters through concurrent windows and ticks killed with SIGKILL.
//!
//! `promtool` comes with Debian's `prometheus` package, which `.ci/test` installs; without it
//! these tests fail when `CI` is set and skip with a note otherwise.

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
#[path = "support/tmpfs.rs"]
mod tmpfs;

use std::path::Path;
use std::time::Duration;

use binary::{BIN, Env, health};
use metrics::{check, names_in, sample, samples};

fn arm_args<'a>(url: &'a str, item: &'a str) -> Vec<&'a str> {
    vec!["--repo", "api", "--work-item", item, "--health-url", url]
}

fn pair(item: &str) -> Vec<&str> {
    vec!["--repo", "api", "--work-item", item]
}

/// A 3 s window, degraded after two failures, the metrics file at `file`.
fn env_with(file: &Path) -> Env {
    let mut env = Env::new();
    env.set("WINDOW_S", "3")
        .set("FAIL_THRESHOLD", "2")
        .set("METRICS_FILE", file.to_str().unwrap());
    env
}

/// Ticks `item` a second apart until it finishes; the last answer.
fn tick_to_the_end(env: &Env, item: &str) -> serde_json::Value {
    for _ in 0..30 {
        let out = env.json(&[vec!["tick"], pair(item)].concat(), 0);
        if out["finished"] == true {
            return out;
        }
        std::thread::sleep(Duration::from_millis(1000));
    }
    panic!("{item} never finished");
}

#[test]
fn the_metrics_file_follows_windows_that_arm_roll_back_and_finish() {
    let Some(promtool) = metrics::promtool() else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("post-deploy.prom");
    let mut env = env_with(&file);
    // Every rollback "succeeds" and changes nothing: the bad window stays degraded.
    env.set("ROLLBACK_CMD", "true");
    let good = health(200);
    let bad = health(500);
    let good_url = good.url("/health");
    let bad_url = bad.url("/health");

    env.json(&[vec!["arm"], arm_args(&good_url, "good")].concat(), 0);
    let text = check(&promtool, &file);
    assert_eq!(
        sample(
            &text,
            r#"post_deploy_window_watching{repo="api",work_item="good"}"#
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, "post_deploy_rollbacks_total"), None, "{text}");
    env.json(&[vec!["arm"], arm_args(&bad_url, "bad")].concat(), 0);
    assert_eq!(
        samples(&check(&promtool, &file), "post_deploy_window_watching").len(),
        2
    );

    let out = env.json(&[vec!["tick"], pair("good")].concat(), 0);
    assert_eq!(out["finished"], false);
    let text = check(&promtool, &file);
    assert!(sample(&text, "post_deploy_last_tick_timestamp_seconds").unwrap() > 1.7e9);

    let bad_end = tick_to_the_end(&env, "bad");
    assert_eq!(bad_end["action"], "ROLLBACK", "{bad_end}");
    let text = check(&promtool, &file);
    assert_eq!(
        sample(&text, r#"post_deploy_rollbacks_total{repo="api"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"post_deploy_windows_finished_total{repo="api",verdict="DEGRADED",action="ROLLBACK"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"post_deploy_window_watching{repo="api",work_item="bad"}"#
        ),
        None
    );

    let good_end = tick_to_the_end(&env, "good");
    assert_eq!(good_end["verdict"], "HEALTHY", "{good_end}");
    // A finished window ticked again, and an operator's refused command: counted once.
    env.json(&[vec!["tick"], pair("good")].concat(), 0);
    env.json(&[vec!["promote"], pair("good")].concat(), 4);
    env.json(&[vec!["disarm"], pair("bad")].concat(), 0);
    let text = check(&promtool, &file);
    assert_eq!(
        sample(
            &text,
            r#"post_deploy_windows_finished_total{repo="api",verdict="HEALTHY",action="NONE"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        samples(&text, "post_deploy_window_watching").is_empty(),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"post_deploy_rollbacks_total{repo="api"}"#),
        Some(1.0)
    );

    // Nothing else is written: the file in its folder, the records in the state folder.
    assert_eq!(names_in(folder.path()), ["post-deploy.prom"]);
    assert_eq!(
        names_in(env.state()),
        [".post-deploy-metrics.json", ".post-deploy-state-api"]
    );
}

#[test]
fn without_a_metrics_file_no_records_are_kept() {
    let env = Env::new();
    let good = health(200);
    let url = good.url("/health");
    env.json(&[vec!["arm"], arm_args(&url, "w")].concat(), 0);
    env.json(&[vec!["tick"], pair("w")].concat(), 0);
    assert_eq!(names_in(env.state()), [".post-deploy-state-api"]);
}

/// Runs arm and a tick with the metrics file at `file`: both run (exit 0, their JSON), and
/// stderr says once per command that the file was not written.
fn still_runs(env: &Env, url: &str, item: &str) {
    for args in [
        [vec!["arm"], arm_args(url, item)].concat(),
        [vec!["tick"], pair(item)].concat(),
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        binary::one_json(&out, "the command's answer");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.matches("metrics file").count(),
            1,
            "{args:?}: said once: {stderr}"
        );
    }
}

#[test]
fn a_metrics_file_that_cannot_be_written_never_fails_the_command() {
    let good = health(200);
    let url = good.url("/health");
    let place = tempfile::tempdir().unwrap();

    // In a folder that is not there: nothing creates it.
    let missing = place.path().join("no-such-folder").join("m.prom");
    still_runs(&env_with(&missing), &url, "missing");
    assert!(!place.path().join("no-such-folder").exists());

    // A folder where the file belongs: left as it is, empty.
    let folder = place.path().join("a-folder.prom");
    std::fs::create_dir(&folder).unwrap();
    still_runs(&env_with(&folder), &url, "folder");
    assert_eq!(names_in(&folder), Vec::<String>::new());

    // A symlink where the file belongs: never written through.
    let aside = place.path().join("aside");
    std::fs::write(&aside, "not metrics").unwrap();
    let link = place.path().join("link.prom");
    std::os::unix::fs::symlink(&aside, &link).unwrap();
    still_runs(&env_with(&link), &url, "symlink");
    assert_eq!(std::fs::read_to_string(&aside).unwrap(), "not metrics");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // Nothing else landed beside them: no temporary left behind.
    assert_eq!(
        names_in(place.path()),
        ["a-folder.prom", "aside", "link.prom"]
    );
}

#[test]
fn a_full_disk_under_the_metrics_file_never_fails_the_command_and_leaves_nothing() {
    let good = health(200);
    let url = good.url("/health");
    let place = tempfile::tempdir().unwrap();
    let Some(fs) = tmpfs::Tmpfs::mount(place.path(), "64k") else {
        return;
    };
    let filler = fs.fill();
    let file = place.path().join("m.prom");
    still_runs(&env_with(&file), &url, "full");
    assert_eq!(
        names_in(place.path()),
        ["filler"],
        "no half file, no temporary"
    );
    drop(filler);
}

#[test]
fn a_bad_metrics_file_value_is_refused_naming_it() {
    let env = {
        let mut env = Env::new();
        env.set("METRICS_FILE", "/var/lib/node_exporter/");
        env
    };
    let out = env.run(&["tick", "--repo", "api", "--work-item", "w"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ORCH_POST_DEPLOY_METRICS_FILE"), "{stderr}");
}

/// Windows ticked at the same time, ticks killed with SIGKILL at random moments in
/// between: every window that finished counts once, every rollback that ran once.
/// A writer killed between its temporary and the rename leaves the temporary behind; the
/// next write removes it (its process runs no more), and leaves a running writer's alone.
#[test]
fn a_killed_writers_temporary_is_removed_by_the_next_write() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("post-deploy.prom");
    let env = env_with(&file);
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let (dead, live) = (gone.id(), std::process::id());
    let planted = [
        (
            folder.path().to_path_buf(),
            format!(".post-deploy.prom.tmp.{dead}.0"),
        ),
        (
            folder.path().to_path_buf(),
            format!(".post-deploy.prom.tmp.{live}.4"),
        ),
        (
            env.state().to_path_buf(),
            format!("..post-deploy-metrics.json.tmp.{dead}.2"),
        ),
    ];
    for (dir, name) in &planted {
        std::fs::write(dir.join(name), "half").unwrap();
    }
    let good = health(200);
    env.json(
        &[vec!["arm"], arm_args(&good.url("/health"), "w1")].concat(),
        0,
    );
    assert_eq!(
        names_in(folder.path()),
        [
            format!(".post-deploy.prom.tmp.{live}.4"),
            "post-deploy.prom".to_owned()
        ]
    );
    assert_eq!(
        names_in(env.state()),
        [".post-deploy-metrics.json", ".post-deploy-state-api"]
    );
}

#[test]
fn counters_survive_concurrent_windows_and_killed_ticks() {
    let Some(promtool) = metrics::promtool() else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("post-deploy.prom");
    let mut env = env_with(&file);
    env.set("ROLLBACK_CMD", "true").set("WINDOW_S", "4");
    let good = health(200);
    let bad = health(500);
    let items: Vec<String> = (0..6).map(|i| format!("w{i}")).collect();
    for (i, item) in items.iter().enumerate() {
        let url = if i % 2 == 0 {
            bad.url("/health")
        } else {
            good.url("/health")
        };
        env.json(&[vec!["arm"], arm_args(&url, item)].concat(), 0);
    }
    let summary = metrics::tick_all_with_kills(&env, BIN, &items, 7);
    assert!(!summary.ends_with("; 0 ticks killed"), "{summary}");
    let text = check(&promtool, &file);
    let finished: f64 = samples(&text, "post_deploy_windows_finished_total")
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(finished, 6.0, "{summary}\n{text}");
    let rollbacks = sample(&text, r#"post_deploy_rollbacks_total{repo="api"}"#);
    assert_eq!(rollbacks, Some(3.0), "{summary}\n{text}");
    assert!(
        samples(&text, "post_deploy_window_watching").is_empty(),
        "{text}"
    );
}

/// A window armed while no metrics were kept is counted once it finishes under them, also
/// when the very tick that finishes it is its first with the metrics file set.
#[test]
fn a_window_armed_before_the_metrics_file_was_set_is_counted_when_it_finishes() {
    let Some(promtool) = metrics::promtool() else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("post-deploy.prom");
    let mut without = Env::new();
    without.set("WINDOW_S", "1");
    let good = health(200);
    let url = good.url("/health");
    without.json(&[vec!["arm"], arm_args(&url, "early")].concat(), 0);
    assert_eq!(names_in(without.state()), [".post-deploy-state-api"]);
    // The window's deadline passes; the next tick, the first with the file set, finishes it.
    std::thread::sleep(Duration::from_millis(1100));
    let mut with = without;
    with.set("METRICS_FILE", file.to_str().unwrap());
    let out = with.json(&[vec!["tick"], pair("early")].concat(), 0);
    assert_eq!(out["finished"], true, "{out}");
    with.json(&[vec!["tick"], pair("early")].concat(), 0);
    let text = check(&promtool, &file);
    assert_eq!(
        sample(
            &text,
            r#"post_deploy_windows_finished_total{repo="api",verdict="HEALTHY",action="NONE"}"#
        ),
        Some(1.0),
        "{text}"
    );
}
