//! Benchmarks of the decision core and the window machinery.
//!
//! - `classify_and_decide`: one classification plus one decision, as every tick makes.
//! - `tick`: one whole in-process tick over in-memory fakes (probe, classify, decide, state
//!   write, log row), with the state folder on tmpfs where there is one so that fsync is
//!   nearly free: the cost of the monitor itself.
//! - `tick_in_memory`: the same over the in-memory store: the driver and the transition.
//! - `tick_late`: the same after 300 earlier ticks, and `tick_among_many`: the same with 1,000
//!   other windows in the state dir; neither should cost more than `tick`.
//! - `state_save` / `state_load`: one atomic write (fsync included) and one read of
//!   `window.json`.
//!
//! - `binomial_tail`: one `P[Binomial(n, t) >= k]` of `CONFIDENCE`, k one standard deviation
//!   above the mean, for n from 60 to 10^9 (a tick computes at most four).
//!
//! Run: `cargo bench -p post-deploy-core --bench window`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub,
    reason = "benchmarks"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use divan::{Bencher, black_box};
use post_deploy_core::config::{Config, RollbackMode};
use post_deploy_core::store::{self, FileStore, StateFile, Store as _, WindowKey};
use post_deploy_core::window::Progress;
use post_deploy_core::{Facts, ImageCheck};
use post_deploy_core::{Observations, RepoName, WindowSettings, WorkItem, classify, decide_action};
use support::Scenario;

fn main() {
    divan::main();
}

#[divan::bench(args = [(60, 0.05), (1_000_000, 0.05), (1_000_000_000, 0.05), (1_000_000_000, 0.5)])]
fn binomial_tail(bencher: Bencher<'_, '_>, (n, t): (u64, f64)) {
    let sd = (n as f64 * t * (1.0 - t)).sqrt();
    let k = (n as f64 * t + sd) as u64;
    bencher.bench(|| post_deploy_core::binomial::tail_at_least(black_box(n), black_box(k), t));
}

#[divan::bench]
fn classify_and_decide(bencher: Bencher<'_, '_>) {
    let settings = WindowSettings::default();
    let scope = Config::from_vars([("ORCH_POST_DEPLOY_REPOS", "api")])
        .unwrap()
        .scope;
    let facts = Facts {
        repo: RepoName::new("api").unwrap(),
        container: Some("api-1".into()),
        service: None,
        inspected: Vec::new(),
        previous_image: Some("api:1.0".into()),
        image_check: ImageCheck::Present {
            previous_id: "sha256:old".into(),
            current_id: Some("sha256:new".into()),
        },
        scope,
        mode: RollbackMode::Auto,
        rollback_cmd: None,
        rolled_back: false,
        state_damaged: false,
    };
    // A full window's worth of observations, cycled: healthy, failing, ratio-degraded.
    let windows: Vec<Observations> = (0..30u32)
        .map(|i| Observations {
            consecutive_failures: i % 4,
            consecutive_passes: 0,
            health_missing: false,
            requests: u64::from(i) * 40,
            errors_5xx: u64::from(i) * 3,
            ..Observations::default()
        })
        .collect();
    let now = support::t0();
    bencher.counter(windows.len()).bench(|| {
        for obs in &windows {
            let c = classify(black_box(obs), &settings, now);
            black_box(decide_action(&c, &facts, now));
        }
    });
}

/// A state dir on tmpfs when the machine has one: fsync there is nearly free.
fn scenario() -> Scenario {
    let mut s = Scenario::on_files();
    if std::path::Path::new("/dev/shm").is_dir() {
        s.dir = tempfile::tempdir_in("/dev/shm").unwrap();
        let dir = s.dir.path().display().to_string();
        s.set("STATE_DIR", &dir);
    }
    s.set("WINDOW_S", "2592000");
    s
}

fn bench_tick(bencher: Bencher<'_, '_>, s: &Scenario) {
    bencher.bench_local(|| {
        // Past half an interval, so that every tick probes.
        s.world.advance(Duration::from_secs(30));
        s.world.log_requests(4, 0);
        black_box(s.tick())
    });
}

#[divan::bench]
fn tick(bencher: Bencher<'_, '_>) {
    let s = scenario();
    s.arm();
    bench_tick(bencher, &s);
}

/// The same tick over the in-memory store: the driver and the transition alone, no files.
#[divan::bench]
fn tick_in_memory(bencher: Bencher<'_, '_>) {
    let mut s = Scenario::new();
    s.set("WINDOW_S", "2592000");
    s.arm();
    bench_tick(bencher, &s);
}

#[divan::bench]
fn tick_late(bencher: Bencher<'_, '_>) {
    let s = scenario();
    s.arm();
    for _ in 0..300 {
        s.world.advance(Duration::from_secs(30));
        s.tick();
    }
    bench_tick(bencher, &s);
}

#[divan::bench]
fn tick_among_many(bencher: Bencher<'_, '_>) {
    let mut s = scenario();
    for i in 0..1000 {
        s.work_item = WorkItem::new(&format!("other-{i}")).unwrap();
        s.arm();
    }
    s.work_item = WorkItem::new("PR-42").unwrap();
    s.arm();
    bench_tick(bencher, &s);
}

#[divan::bench]
fn state_save(bencher: Bencher<'_, '_>) {
    let (_dir, files, key) = one_window();
    let progress = Progress::new(support::t0());
    bencher.bench_local(|| {
        store::save(&files, &key, StateFile::Progress, black_box(&progress)).unwrap();
    });
}

#[divan::bench]
fn state_load(bencher: Bencher<'_, '_>) {
    let (_dir, files, key) = one_window();
    store::save(
        &files,
        &key,
        StateFile::Progress,
        &Progress::new(support::t0()),
    )
    .unwrap();
    bencher.bench_local(|| {
        black_box(store::load::<Progress>(&files, &key, StateFile::Progress, "x").unwrap())
    });
}

/// A file store with one window's folder made.
fn one_window() -> (tempfile::TempDir, FileStore, WindowKey) {
    let dir = tempfile::tempdir().unwrap();
    let files = FileStore::new(dir.path());
    let key = WindowKey::new(
        &RepoName::new("api").unwrap(),
        &WorkItem::new("PR-42").unwrap(),
    );
    files.create(&key).unwrap();
    (dir, files, key)
}
