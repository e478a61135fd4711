//! The `post-deploy` binary under crashes and load: ticks killed with SIGKILL at random points
//! never run a rollback twice nor leave a state file unreadable, and a thousand windows ticked
//! by sixteen concurrent workers lose and duplicate no tick.

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
#[path = "support/tmpfs.rs"]
mod tmpfs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use binary::{Env, health};
use serde_json::Value;
use tmpfs::Tmpfs;

/// The environment of these tests, a 5 s health timeout, with `vars` (`ORCH_POST_DEPLOY_`
/// left off the names) on top.
fn env_with(vars: &[(&str, &str)]) -> Env {
    let mut env = Env::new();
    env.set("HEALTH_TIMEOUT_S", "5");
    for (k, v) in vars {
        env.set(k, v);
    }
    env
}

impl Env {
    fn arm(&self, item: &str, url: &str) {
        let out = self.json(
            &[
                "arm",
                "--repo",
                "api",
                "--work-item",
                item,
                "--health-url",
                url,
            ],
            0,
        );
        assert_eq!(out["armed"], true, "{out}");
    }

    fn tick(&self, item: &str) -> Value {
        self.json(&["tick", "--repo", "api", "--work-item", item], 0)
    }

    /// The window's window.json, parsed: whole, whatever killed its writer.
    fn progress(&self, item: &str) -> Value {
        let path = self.repo_dir().join(item).join("window.json");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
    }

    fn repo_dir(&self) -> PathBuf {
        self.state().join(".post-deploy-state-api")
    }

    /// Every window folder is whole: its JSON state files parse, nothing was kept aside as
    /// damaged. Returns the temporary files left over by killed writers.
    fn assert_state_whole(&self, windows: usize) -> Vec<PathBuf> {
        let mut folders = 0;
        let mut leftovers = Vec::new();
        for entry in std::fs::read_dir(self.repo_dir()).unwrap() {
            let folder = entry.unwrap().path();
            folders += 1;
            for name in ["window.json", "target.json"] {
                let path = folder.join(name);
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                serde_json::from_slice::<Value>(&bytes)
                    .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            }
            for file in std::fs::read_dir(&folder).unwrap() {
                let name = file.unwrap().file_name().to_string_lossy().into_owned();
                assert!(!name.contains(".damaged-"), "{}: {name}", folder.display());
                if name.ends_with(".tmp") {
                    leftovers.push(folder.join(&name));
                    continue;
                }
                if name.ends_with(".json") {
                    let bytes = std::fs::read(folder.join(&name)).unwrap();
                    assert!(serde_json::from_slice::<Value>(&bytes).is_ok(), "{name}");
                }
            }
        }
        assert_eq!(folders, windows);
        leftovers
    }

    /// `status --json`: exits 0, one row per window; keyed by work item.
    fn status(&self) -> BTreeMap<String, Value> {
        let rows = self.json(&["status", "--json"], 0);
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| (r["work_item"].as_str().unwrap().to_owned(), r.clone()))
            .collect()
    }
}

/// xorshift64*: a tiny seeded generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Runs `work(i)` for every `i < n` on `threads` threads.
fn pool(n: usize, threads: usize, work: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    work(i);
                }
            });
        }
    });
}

// --- Crashes ----------------------------------------------------------------------------

const CRASH_WINDOWS: usize = 200;
/// Windows crashed at once; most of the time is spent sleeping, not on the CPU.
const CRASH_THREADS: usize = 12;
/// Ticks killed per window before it is ticked to the end.
const KILLS: usize = 3;
const SEED: u64 = 0x5EED_2026;

#[test]
fn ticks_killed_at_random_points_never_run_a_rollback_twice() {
    let started = Instant::now();
    let target = health(500);
    let url = target.url("/health");
    let markers = tempfile::tempdir().unwrap();
    // Each run appends a line to <markers>/<work item>, then takes its time, so many kills
    // land while it runs.
    let command = format!(
        "sh -c 'echo ran >> \"$0/$POST_DEPLOY_WORK_ITEM\"; sleep 0.3' '{}'",
        markers.path().display()
    );
    let env = env_with(&[
        ("FAIL_THRESHOLD", "1"),
        ("INTERVAL_S", "1"),
        ("WINDOW_S", "2"),
        ("ROLLBACK_CMD", &command),
    ]);
    let finals: Mutex<BTreeMap<String, Value>> = Mutex::new(BTreeMap::new());
    // What each killed tick left: the step it reached, read from the state, by count.
    let reached: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());
    pool(CRASH_WINDOWS, CRASH_THREADS, |i| {
        let item = format!("crash-{i:03}");
        env.arm(&item, &url);
        let mut rng = Rng::new(SEED ^ i as u64);
        for _ in 0..KILLS {
            let mut child = env
                .command(&["tick", "--repo", "api", "--work-item", &item])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(rng.below(401)));
            // SIGKILL: no handler, no unwinding, no flush.
            let _ = child.kill();
            let _ = child.wait();
            // What the killed tick left. The marker is read first: a command that started was
            // started by a tick that had written its intent, so the state read after it must
            // hold the rollback (write-ahead), whatever the moment of the kill.
            let ran = runs(&markers.path().join(&item));
            let progress = env.progress(&item);
            assert!(ran <= 1, "{item}: the rollback command ran {ran} times");
            let step = match progress["rollback"]["state"].as_str() {
                None => {
                    assert_eq!(
                        ran, 0,
                        "{item}: the command ran without its intent: {progress}"
                    );
                    if progress["last_probe_at"].is_null() {
                        "nothing saved"
                    } else {
                        "probed, no rollback"
                    }
                }
                Some("intended") => "intent written",
                Some("done" | "failed" | "unknown") => "rollback settled",
                Some(other) => panic!("{item}: rollback state {other}: {progress}"),
            };
            *reached.lock().unwrap().entry(step).or_default() += 1;
        }
        // Then ticked to the end, as a host would, never killed.
        for _ in 0..100 {
            let out = env.tick(&item);
            if out["finished"] == true {
                finals.lock().unwrap().insert(item, out);
                return;
            }
            // Sooner than `requeue_after_s`: the extra ticks are duplicates, which is fine.
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("{item} never finished");
    });
    // Commands orphaned by a killed tick may still be sleeping.
    std::thread::sleep(Duration::from_millis(600));

    let finals = finals.into_inner().unwrap();
    assert_eq!(finals.len(), CRASH_WINDOWS);
    let mut runs_seen = BTreeMap::<usize, usize>::new();
    for (item, out) in &finals {
        assert_eq!(out["finished"], true);
        assert_eq!(out["verdict"], "DEGRADED", "{item}: {out}");
        let marker = markers.path().join(item);
        let ran = std::fs::read_to_string(&marker)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        assert!(ran <= 1, "{item}: the rollback command ran {ran} times");
        *runs_seen.entry(ran).or_default() += 1;
        let progress: Value = serde_json::from_slice(
            &std::fs::read(env.repo_dir().join(item).join("window.json")).unwrap(),
        )
        .unwrap();
        // A rollback recorded as done ran exactly once; one whose outcome a crash left
        // unknown ran at most once and was not run again.
        match progress["rollback"]["state"].as_str() {
            Some("done") => assert_eq!(ran, 1, "{item}: {progress}"),
            Some("unknown") => {}
            other => panic!("{item}: rollback state {other:?}: {progress}"),
        }
        assert_eq!(progress["phase"], "finished");
    }
    let leftovers = env.assert_state_whole(CRASH_WINDOWS);
    let status = env.status();
    assert_eq!(status.len(), CRASH_WINDOWS);
    for (item, row) in &status {
        assert_eq!(row["phase"], "finished", "{item}: {row}");
    }
    // How many kills landed where depends on scheduling; it is reported, not asserted. What
    // each kill left was asserted above.
    let reached = reached.into_inner().unwrap();
    eprintln!(
        "crash: {CRASH_WINDOWS} windows, kills by the step the tick had reached {reached:?}, \
         rollback runs per window {runs_seen:?}, {} temporary files left by killed writers, \
         {:.1} s",
        leftovers.len(),
        started.elapsed().as_secs_f64()
    );
}

// --- Load -------------------------------------------------------------------------------

/// Windows under load. 1,000 fits the time budget on 2 cores (about a minute, see the
/// report); the work is in process start, fsync and the probe.
const LOAD_WINDOWS: usize = 1_000;
const WORKERS: usize = 16;
/// Rounds of ticking; each window is ticked by two workers at once in every round.
const ROUNDS: usize = 3;

#[test]
fn a_thousand_windows_ticked_by_sixteen_workers_lose_and_duplicate_no_tick() {
    let started = Instant::now();
    let target = health(200);
    let url = target.url("/health");
    let env = env_with(&[
        ("INTERVAL_S", "1"),
        ("WINDOW_S", "3600"),
        ("FAIL_THRESHOLD", "3"),
    ]);
    let item = |i: usize| format!("load-{i:04}");
    pool(LOAD_WINDOWS, WORKERS, |i| env.arm(&item(i), &url));
    let armed_in = started.elapsed();

    // Worker k ticks the windows i with i % 16 == k and those with (i + 1) % 16 == k, in
    // order, so two workers reach each window at about the same time.
    let probed: Mutex<BTreeMap<usize, u64>> = Mutex::new(BTreeMap::new());
    let invocations = AtomicUsize::new(0);
    let ticking = Instant::now();
    for _ in 0..ROUNDS {
        std::thread::scope(|s| {
            for k in 0..WORKERS {
                let (env, probed, invocations, item) = (&env, &probed, &invocations, &item);
                s.spawn(move || {
                    let share =
                        (0..LOAD_WINDOWS).filter(|i| i % WORKERS == k || (i + 1) % WORKERS == k);
                    for i in share {
                        let out = env.tick(&item(i));
                        invocations.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(out["finished"], false, "{out}");
                        assert_eq!(out["verdict"], "HEALTHY", "{out}");
                        if out["probed"] == true {
                            *probed.lock().unwrap().entry(i).or_default() += 1;
                        }
                    }
                });
            }
        });
    }
    let ticked_in = ticking.elapsed();
    let probed = probed.into_inner().unwrap();

    let status = env.status();
    assert_eq!(status.len(), LOAD_WINDOWS);
    let mut total = 0;
    for i in 0..LOAD_WINDOWS {
        let row = &status[&item(i)];
        let expected = probed.get(&i).copied().unwrap_or(0);
        assert_eq!(
            row["ticks"].as_u64(),
            Some(expected),
            "{}: ticks recorded vs ticks that reported probing",
            item(i)
        );
        assert!(expected >= 1, "{}: never probed", item(i));
        assert_eq!(row["phase"], "watching");
        total += expected;
    }
    // One probe per probing tick: none made without being recorded, none recorded twice.
    assert_eq!(target.requests().len() as u64, total);
    assert_eq!(
        invocations.load(Ordering::SeqCst),
        2 * ROUNDS * LOAD_WINDOWS
    );
    let leftovers = env.assert_state_whole(LOAD_WINDOWS);
    assert!(leftovers.is_empty(), "{leftovers:?}");
    eprintln!(
        "load: {LOAD_WINDOWS} windows armed in {:.1} s; {} ticks by {WORKERS} workers in \
         {:.1} s, {total} probed; {:.1} s in all",
        armed_in.as_secs_f64(),
        invocations.load(Ordering::SeqCst),
        ticked_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

// --- Damaged state files ----------------------------------------------------------------

/// A window armed with `FAIL_THRESHOLD=1` and a recording rollback command, ticked once: its
/// one rollback ran. Returns the marker file that counts runs.
fn rolled_back_once(env: &Env, item: &str, url: &str, markers: &std::path::Path) -> PathBuf {
    env.arm(item, url);
    let out = env.tick(item);
    assert_eq!(out["action"], "ROLLBACK", "{out}");
    let marker = markers.join(item);
    assert_eq!(runs(&marker), 1);
    marker
}

fn runs(marker: &std::path::Path) -> usize {
    std::fs::read_to_string(marker)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// Env for the damaged-file tests: a failing target, `FAIL_THRESHOLD=1`, and a rollback
/// command that records each run under `markers`.
fn recording_env(markers: &std::path::Path) -> Env {
    let command = format!(
        "sh -c 'echo ran >> \"$0/$POST_DEPLOY_WORK_ITEM\"' '{}'",
        markers.display()
    );
    env_with(&[
        ("FAIL_THRESHOLD", "1"),
        ("INTERVAL_S", "1"),
        ("WINDOW_S", "3"),
        ("ROLLBACK_CMD", &command),
    ])
}

#[test]
fn ticks_killed_while_handling_a_damaged_window_json_never_roll_back_twice() {
    const WINDOWS: usize = 40;
    let target = health(500);
    let url = target.url("/health");
    let markers = tempfile::tempdir().unwrap();
    let env = recording_env(markers.path());
    pool(WINDOWS, 8, |i| {
        let item = format!("damaged-{i:03}");
        let marker = rolled_back_once(&env, &item, &url, markers.path());
        let mut rng = Rng::new(SEED ^ 0xDA ^ i as u64);
        for _ in 0..KILLS {
            // Damaged again before every killed tick, so each kill can land in its handling.
            std::fs::write(env.repo_dir().join(&item).join("window.json"), b"garbage{").unwrap();
            std::thread::sleep(Duration::from_millis(500));
            let mut child = env
                .command(&["tick", "--repo", "api", "--work-item", &item])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
            let _ = child.kill();
            let _ = child.wait();
            // Wherever the kill landed, the rollback did not run again.
            assert_eq!(runs(&marker), 1, "{item}: the rollback ran again");
        }
        for _ in 0..100 {
            if env.tick(&item)["finished"] == true {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_eq!(runs(&marker), 1, "{item}: the rollback ran again");
    });
}

#[test]
fn a_damaged_window_json_on_a_full_disk_never_leads_to_a_second_rollback() {
    let target = health(500);
    let url = target.url("/health");
    let markers = tempfile::tempdir().unwrap();
    let env = recording_env(markers.path());
    let Some(disk) = Tmpfs::mount(env.state(), "1m") else {
        return;
    };
    let item = "full-disk";
    let marker = rolled_back_once(&env, item, &url, markers.path());
    let window = env.repo_dir().join(item).join("window.json");
    std::fs::write(&window, b"garbage{").unwrap();
    let filler = disk.fill();
    std::thread::sleep(Duration::from_millis(1100));
    // The disk is full: the tick cannot write, exits 1, and names the fault.
    let out = env.run(&["tick", "--repo", "api", "--work-item", item]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        window.exists(),
        "the damaged window.json was removed before its replacement landed"
    );
    std::fs::remove_file(filler).unwrap();
    // Space again: the window goes on, damaged, and never acts again.
    for _ in 0..20 {
        let out = env.tick(item);
        if out["finished"] == true {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(runs(&marker), 1, "the rollback ran again");
    drop(disk);
}
