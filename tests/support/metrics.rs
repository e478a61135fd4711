//! Reading the metrics file the binary writes: `promtool check metrics` on it, its samples,
//! and ticking windows while killing some ticks. Needs `mod binary` beside it.

#![allow(dead_code, reason = "shared by several test files; each uses a part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::binary::Env;

/// `promtool`, if installed; `None` with a skip note, which fails the test when `CI` is set.
pub(crate) fn promtool() -> Option<PathBuf> {
    installed("promtool", "metrics test", " (Debian's prometheus package)")
}

/// The program `name` on `PATH` or in `/usr/bin`, if installed; `None` with a note that
/// `test` is skipped, which fails the test (saying `hint`) when `CI` is set.
pub(crate) fn installed(name: &str, test: &str, hint: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {name} is not installed{hint}"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("note: {test} SKIPPED: {name} is not installed\n").as_bytes(),
        );
    }
    found
}

/// The metrics file's text, after `promtool check metrics` found nothing in it.
pub(crate) fn check(promtool: &Path, file: &Path) -> String {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {said}\n{text}"
    );
    text
}

/// The value of the sample named exactly `series` (name and labels as written).
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Every sample of `family`: its series (name and labels) and value.
pub(crate) fn samples(text: &str, family: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The names in `dir`, sorted.
pub(crate) fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A small deterministic generator, so a failure can be run again.
pub(crate) struct Lcg(u64);

impl Lcg {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Ticks every window of `items` at once, round after round a second apart, killing about
/// one tick in three with SIGKILL after a random moment, until every window has finished;
/// a summary of the rounds for a failure's message.
pub(crate) fn tick_all_with_kills(env: &Env, _bin: &str, items: &[String], seed: u64) -> String {
    let mut rng = Lcg::new(seed);
    let mut left: Vec<String> = items.to_vec();
    let mut summary = String::new();
    let mut killed = 0;
    for round in 0..60 {
        if left.is_empty() {
            return format!("{summary}; {killed} ticks killed");
        }
        let children: Vec<_> = left
            .iter()
            .map(|item| {
                let child = env
                    .command(&["tick", "--repo", "api", "--work-item", item])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                (item.clone(), child, rng.below(3) == 0, rng.below(400))
            })
            .collect();
        let mut still = Vec::new();
        for (item, mut child, kill, after_ms) in children {
            if kill {
                std::thread::sleep(Duration::from_millis(after_ms));
                let _ = child.kill();
                let _ = child.wait();
                killed += 1;
                still.push(item);
                continue;
            }
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let finished = serde_json::from_str::<serde_json::Value>(text.trim())
                .is_ok_and(|v| v["finished"] == true);
            if !finished {
                still.push(item);
            }
        }
        summary.push_str(&format!("round {round}: {} left; ", still.len()));
        left = still;
        std::thread::sleep(Duration::from_millis(1000));
    }
    panic!("windows never finished: {summary}");
}
