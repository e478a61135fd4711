//! Writes the incident corpus `fixtures/incidents/`: recorded windows that `replay` must
//! judge as their manifests say.
//!
//! ```text
//! cargo run --example gen_incidents -p post-deploy-core -- [--out fixtures/incidents]
//! ```
//!
//! Each incident is a folder with `log` (or `log.gz` when it is over 64 KiB) as
//! `docker logs --timestamps` writes it, `health` where health matters (one probe every
//! 10 s: a stamp and a status or `fail`), and `expect.json`: what the incident is, the
//! variables it needs besides the defaults, the verdict and rule expected at the defaults,
//! when the incident starts (`onset_s`, seconds after arm) and the bound on detection
//! (`detect_within_s` after the onset). The same seed gives the same bytes.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "a generator of fixtures, run by hand: its sums and indices are over small known \
              ranges, and a panic only fails the run"
)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arm time of every incident: 2026-12-06T09:00:00Z.
const ARM: i64 = 1_796_547_600;

/// A window at the defaults: 900 s; the log goes on a minute past it.
const LENGTH_S: u32 = 960;

/// splitmix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// What the service does at one second of the window.
#[derive(Clone, Copy)]
struct State {
    /// Requests a second.
    rate: f64,
    /// Share answering 5xx.
    errors: f64,
    /// Share slower than 500 ms.
    slow: f64,
    /// Health probes that fail (no answer).
    health_fail: bool,
}

impl State {
    fn ok(rate: f64, errors: f64) -> Self {
        Self {
            rate,
            errors,
            slow: 0.01,
            health_fail: false,
        }
    }
}

/// One incident of the corpus.
pub(crate) struct Incident {
    pub(crate) name: &'static str,
    what: &'static str,
    /// Variables besides the defaults.
    env: &'static [(&'static str, &'static str)],
    verdict: &'static str,
    rule: Option<&'static str>,
    onset_s: u32,
    detect_within_s: u32,
    /// Write a health trace.
    pub(crate) health: bool,
    /// The service at second `t`.
    state: fn(u32, &mut Rng) -> State,
    /// Health at probe `i` (every 10 s), when not only `State::health_fail` says.
    probe: Option<fn(u32) -> bool>,
    /// Lines logged before arm (seconds), with `--from` at arm.
    boot_s: u32,
    /// Stamps of stdout and stderr interleaved out of order by up to this many seconds.
    shuffle_s: f64,
    /// Only these request numbers (from 0) answer 5xx, whatever `errors` says.
    unlucky: &'static [u64],
}

pub(crate) const INCIDENTS: &[Incident] = &[
    Incident {
        name: "sudden-outage",
        what: "every request fails from minute 5, and health with it",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("5xx"),
        onset_s: 300,
        detect_within_s: 60,
        health: true,
        state: |t, _| State {
            health_fail: t >= 300,
            ..State::ok(10.0, if t >= 300 { 1.0 } else { 0.005 })
        },
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "late-onset",
        what: "20 req/s, 0.5% errors, 8% from minute 10 (the window ends at 3%)",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("5xx_recent"),
        onset_s: 600,
        detect_within_s: 120,
        health: false,
        state: |t, _| State::ok(20.0, if t >= 600 { 0.08 } else { 0.005 }),
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "slow-burn",
        what: "errors climb steadily from 0.5% at arm to 15% at the deadline",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("5xx_recent"),
        onset_s: 0,
        detect_within_s: 450,
        health: false,
        state: |t, _| State::ok(10.0, 0.005 + 0.145 * f64::from(t) / 900.0),
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "brownout",
        what: "from minute 7, health flaps (two failed probes, one passing) and 6.5% errors",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("5xx_recent"),
        onset_s: 420,
        detect_within_s: 150,
        health: true,
        state: |t, _| State::ok(10.0, if t >= 420 { 0.065 } else { 0.005 }),
        // From probe 42 (t = 420 s), the probe ending each tick fails two ticks of three.
        probe: Some(|i| i < 42 || (i / 3) % 3 == 2),
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "latency-regression",
        what: "from minute 5, 30% of requests take over 500 ms (LATENCY_MS=500)",
        env: &[("ORCH_POST_DEPLOY_LATENCY_MS", "500")],
        verdict: "DEGRADED",
        rule: Some("latency_recent"),
        onset_s: 300,
        detect_within_s: 60,
        health: false,
        state: |t, _| State {
            slow: if t >= 300 { 0.30 } else { 0.01 },
            ..State::ok(10.0, 0.003)
        },
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "one-endpoint",
        what: "one endpoint of twenty (7% of traffic) fails from minute 4",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("5xx_recent"),
        onset_s: 240,
        detect_within_s: 120,
        health: false,
        // The failing endpoint's share is drawn per request (see `requests`).
        state: |t, _| State::ok(10.0, if t >= 240 { -0.07 } else { 0.003 }),
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "quiet-unlucky",
        what: "a quiet service (0.2 req/s): 3 of its first 24 requests fail, none after",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("5xx"),
        onset_s: 0,
        detect_within_s: 150,
        health: false,
        state: |_, _| State::ok(0.2, 0.0),
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[4, 11, 17],
    },
    Incident {
        name: "steady-floor",
        what: "a healthy service with a steady 3% error floor (threshold 5%)",
        env: &[],
        verdict: "HEALTHY",
        rule: None,
        onset_s: 0,
        detect_within_s: 0,
        health: true,
        state: |_, _| State::ok(10.0, 0.03),
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "bursty",
        what: "1 req/s with 15 s bursts of 40 req/s every 150 s; 1.5% errors, 3% in bursts",
        env: &[],
        verdict: "HEALTHY",
        rule: None,
        onset_s: 0,
        detect_within_s: 0,
        health: false,
        state: |t, _| {
            if t % 150 < 15 {
                State::ok(40.0, 0.03)
            } else {
                State::ok(1.0, 0.015)
            }
        },
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "traffic-to-zero",
        what: "at minute 5 the service hangs: no more requests, health probes time out",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("health"),
        onset_s: 300,
        detect_within_s: 120,
        health: true,
        state: |t, _| State {
            health_fail: t >= 300,
            ..State::ok(if t >= 300 { 0.0 } else { 10.0 }, 0.004)
        },
        probe: None,
        boot_s: 0,
        shuffle_s: 0.0,
        unlucky: &[],
    },
    Incident {
        name: "interleaved",
        what: "stdout and stderr interleaved, stamps out of order by up to 2 s; 30% errors \
               from minute 7.5",
        env: &[],
        verdict: "DEGRADED",
        rule: Some("5xx_recent"),
        onset_s: 450,
        detect_within_s: 60,
        health: false,
        state: |t, _| State::ok(10.0, if t >= 450 { 0.30 } else { 0.005 }),
        probe: None,
        boot_s: 0,
        shuffle_s: 2.0,
        unlucky: &[],
    },
    Incident {
        name: "clean-deploy",
        what: "a clean deploy: boot lines before arm, 8 req/s, 0.1% errors, health passing",
        env: &[],
        verdict: "HEALTHY",
        rule: None,
        onset_s: 0,
        detect_within_s: 0,
        health: true,
        state: |_, _| State::ok(8.0, 0.001),
        probe: None,
        boot_s: 15,
        shuffle_s: 0.0,
        unlucky: &[],
    },
];

const PATHS: &[&str] = &[
    "/api/orders",
    "/api/users/me",
    "/api/cart",
    "/api/search",
    "/static/app.js",
    "/api/items",
    "/api/prices",
    "/healthz",
    "/api/session",
    "/api/recommend",
    "/api/reviews",
    "/api/stock",
    "/api/shipping",
    "/api/returns",
    "/api/wishlist",
    "/api/coupons",
    "/api/ads",
    "/api/profile",
    "/api/notify",
];

fn stamp(at_ns: i64) -> String {
    let secs = at_ns.div_euclid(1_000_000_000);
    let nanos = at_ns.rem_euclid(1_000_000_000) as u32;
    chrono::DateTime::from_timestamp(secs, nanos)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default()
}

/// One access line: nginx's combined format with `$request_time`, or a JSON line.
fn access_line(rng: &mut Rng, path: &str, status: u16, ms: f64) -> String {
    // Few distinct values, so the corpus compresses well.
    let client = rng.next() % 8;
    let bytes = [512, 1024, 2048, 4096][(rng.next() % 4) as usize];
    if rng.chance(0.5) {
        format!(
            "10.1.0.{client} - - [06/Dec/2026:09:00:00 +0000] \"GET {path} HTTP/1.1\" {status} \
             {bytes} \"-\" \"Mozilla/5.0\" {:.3}",
            ms / 1000.0
        )
    } else {
        format!(
            "{{\"level\":\"info\",\"msg\":\"request\",\"method\":\"GET\",\"path\":\"{path}\",\
             \"status\":{status},\"duration_ms\":{ms:.0}}}"
        )
    }
}

/// The lines of second `t`, as (stamp in ns, line), in the order they are written.
fn second(inc: &Incident, rng: &mut Rng, t: u32, served: &mut u64) -> Vec<(i64, String)> {
    let state = (inc.state)(t, rng);
    let mut n = state.rate.floor() as u64;
    if rng.chance(state.rate - state.rate.floor()) {
        n += 1;
    }
    let base = (ARM + i64::from(t)) * 1_000_000_000;
    let mut lines = Vec::new();
    for i in 0..n {
        // Milliseconds, as docker's nanoseconds written with trailing zeros.
        let at = base + ((i as f64 + rng.unit()) / n as f64 * 1e3) as i64 * 1_000_000;
        let mut path = rng.pick(PATHS);
        // A negative error share: that share of traffic goes to one endpoint, which fails.
        let fails = if state.errors < 0.0 {
            if rng.chance(-state.errors) {
                path = "/api/checkout";
                true
            } else {
                rng.chance(0.003)
            }
        } else if inc.unlucky.is_empty() {
            rng.chance(state.errors)
        } else {
            inc.unlucky.contains(served)
        };
        *served += 1;
        let status = if fails {
            [500, 502, 503][(rng.next() % 3) as usize]
        } else {
            [200, 200, 200, 201, 304, 404][(rng.next() % 6) as usize]
        };
        let ms = if rng.chance(state.slow) {
            (600.0 + rng.unit() * 900.0).round()
        } else {
            (15.0 + rng.unit() * 150.0).round()
        };
        lines.push((at, access_line(rng, path, status, ms)));
        if fails && rng.chance(0.5) {
            // The application's own line about it, on stderr: not an access line.
            lines.push((
                at + 300_000,
                format!("ERROR upstream {path}: connection reset by peer"),
            ));
        }
    }
    if t.is_multiple_of(60) {
        lines.push((base + 1, "INFO cache stats hits=9812 misses=112".to_owned()));
    }
    lines
}

/// The log's text.
pub(crate) fn log_text(inc: &Incident, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    for b in 0..inc.boot_s {
        let at = (ARM - i64::from(inc.boot_s - b)) * 1_000_000_000;
        let _ = writeln!(
            out,
            "{} INFO booting: step {b} of {}",
            stamp(at),
            inc.boot_s
        );
    }
    let mut served = 0;
    let mut lines = Vec::new();
    for t in 0..LENGTH_S {
        lines.extend(second(inc, &mut rng, t, &mut served));
    }
    if inc.shuffle_s > 0.0 {
        // Written in an order up to `shuffle_s` apart from their stamps: sort by a key
        // jittered that much, as two streams merged late would be.
        let span = (inc.shuffle_s * 1e9) as i64;
        let mut keyed: Vec<(i64, (i64, String))> = lines
            .into_iter()
            .map(|l| ((l.0 + (rng.next() % span as u64) as i64), l))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        lines = keyed.into_iter().map(|(_, l)| l).collect();
    }
    for (at, line) in lines {
        let _ = writeln!(out, "{} {line}", stamp(at));
    }
    out
}

/// The health trace: a probe every 10 s from 10 s after arm.
pub(crate) fn health_text(inc: &Incident, seed: u64) -> String {
    let mut rng = Rng(seed ^ 0x4ea1);
    let mut out = String::new();
    for i in 1..=(LENGTH_S / 10) {
        let t = i * 10;
        let fails = match inc.probe {
            Some(pass) => !pass(i),
            None => (inc.state)(t, &mut rng).health_fail,
        };
        let what = if fails { "fail" } else { "200" };
        let at = (ARM + i64::from(t)) * 1_000_000_000 - 200_000_000;
        let _ = writeln!(out, "{} {what}", stamp(at));
    }
    out
}

pub(crate) fn manifest(inc: &Incident) -> String {
    let env: serde_json::Map<String, serde_json::Value> = inc
        .env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    let mut m = serde_json::json!({
        "what": inc.what,
        "env": env,
        "verdict": inc.verdict,
        "rule": inc.rule,
        "onset_s": inc.onset_s,
        "detect_within_s": inc.detect_within_s,
    });
    if inc.boot_s > 0 {
        m["from"] = serde_json::Value::from(stamp(ARM * 1_000_000_000));
    }
    let mut text = serde_json::to_string_pretty(&m).unwrap_or_default();
    text.push('\n');
    text
}

fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    if text.len() > 64 * 1024 {
        let file = std::fs::File::create(dir.join(format!("{name}.gz")))?;
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        gz.write_all(text.as_bytes())?;
        gz.finish()?;
        let _ = std::fs::remove_file(dir.join(name));
    } else {
        std::fs::write(dir.join(name), text)?;
        let _ = std::fs::remove_file(dir.join(format!("{name}.gz")));
    }
    Ok(())
}

/// The seed of the `i`th incident.
pub(crate) fn seed_of(i: usize) -> u64 {
    0x1dc1_de47 + i as u64
}

fn run() -> Result<(), String> {
    let mut out = PathBuf::from("fixtures/incidents");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().ok_or("--out needs a folder")?.into(),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    for (i, inc) in INCIDENTS.iter().enumerate() {
        let dir = out.join(inc.name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let seed = seed_of(i);
        let err = |e: std::io::Error| format!("{}: {e}", dir.display());
        write(&dir, "log", &log_text(inc, seed)).map_err(err)?;
        if inc.health {
            write(&dir, "health", &health_text(inc, seed)).map_err(err)?;
        }
        std::fs::write(dir.join("expect.json"), manifest(inc)).map_err(err)?;
    }
    Ok(())
}

#[allow(
    dead_code,
    reason = "the replay test includes this file to check the corpus"
)]
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "gen_incidents: {e}");
            ExitCode::from(2)
        }
    }
}
