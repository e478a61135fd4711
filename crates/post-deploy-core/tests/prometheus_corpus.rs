//! The checks of the Prometheus answer fuzz target, and the replay of its regression corpus
//! (`fixtures/fuzz-corpus/prometheus_answer/`) through them.
//!
//! `fuzz/fuzz_targets/prometheus_answer.rs` includes this file and calls [`prometheus_answer`]
//! on every input, so an input the fuzzer once crashed on, added to the corpus, stays fixed
//! under the normal `cargo test`, without cargo-fuzz.

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

#[path = "../../../tests/support/corpus.rs"]
mod corpus;

use std::time::Duration;

use post_deploy_core::config::{Ratio, SecretUrl, Secrets};
use post_deploy_core::prometheus::{
    MAX_COUNT, PrometheusSource, Selector, count, parse_answer, parse_answer_scrubbed,
    probe_prometheus,
};
use post_deploy_core::text::{MAX_QUOTED, MAX_REASON};
use post_deploy_core::{HealthSample, HttpProbe, LatencyReading, LogSignal, ProbeError};

/// The statuses an input's first byte picks from.
const STATUSES: [u16; 8] = [200, 200, 204, 400, 401, 422, 500, 503];

/// The server's URL: its user info must never come out, in any form.
const URL: &str = "http://promuser:s3cretpw@prom.internal:9090";
const SECRETS: [&str; 4] = [
    "s3cretpw",
    "promuser",
    "cHJvbXVzZXI6czNjcmV0cHc",
    "czNjcmV0cHc",
];

/// Answers every query with the same status and body.
struct Server<'a>(u16, &'a [u8]);

impl HttpProbe for Server<'_> {
    fn get(&self, _url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
        Err(ProbeError("not a health probe".into()))
    }
    fn fetch(
        &self,
        _url: &str,
        _timeout: Duration,
        _max: usize,
    ) -> Result<(u16, Vec<u8>), ProbeError> {
        Ok((self.0, self.1.to_vec()))
    }
}

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
}

/// One input: its first byte picks the HTTP status ([`STATUSES`]), the rest is the body.
///
/// Checks: no panic; a value is finite, and only from a 2xx answer; an error is at most two
/// quotes and some words long, and shows nothing of the URL's user info when scrubbed; a count
/// taken is in 0..=2^53; the probe's signal is a missing one naming Prometheus within the
/// reason's bound, or totals whose 5xx are at most the requests, up to 2^53, with a quantile
/// that is a finite duration.
pub fn prometheus_answer(input: &[u8]) {
    let Some((&pick, body)) = input.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(pick) % STATUSES.len()];
    let secrets = Secrets::of(URL);
    for answer in [
        parse_answer(status, body),
        parse_answer_scrubbed(status, body, &secrets),
    ] {
        match answer {
            Ok(v) => {
                assert!(v.is_finite(), "{v}");
                assert!((200..300).contains(&status), "a value from HTTP {status}");
                if let Ok(n) = count(v) {
                    assert!(
                        (0.0..=MAX_COUNT).contains(&v) && n <= 1 << 53,
                        "{v} counted {n}"
                    );
                }
            }
            Err(why) => {
                assert!(
                    why.chars().count() <= 2 * MAX_QUOTED + 100,
                    "{} characters",
                    why.chars().count()
                );
            }
        }
    }
    if let Err(why) = parse_answer_scrubbed(status, body, &secrets) {
        assert_no_secret(&why);
    }
    let source = PrometheusSource {
        url: SecretUrl::new(URL).unwrap(),
        requests: Selector::new("req_total").unwrap(),
        errors: Selector::new(r#"req_total{code=~"5.."}"#).unwrap(),
        latency: Some(Selector::new("dur_bucket").unwrap()),
    };
    let signal = probe_prometheus(
        &source,
        Duration::from_secs(90),
        None,
        Ratio::new(0.95),
        Duration::from_secs(1),
        &Server(status, body),
    );
    match &signal {
        LogSignal::Missing { why, read: None } => {
            assert!(why.chars().count() <= MAX_REASON, "{why}");
            assert!(
                why.contains("Prometheus at http://prom.internal:9090"),
                "{why}"
            );
            assert_no_secret(why);
        }
        LogSignal::Totals { totals } => {
            assert!(totals.errors_5xx <= totals.requests, "{totals:?}");
            assert!(totals.requests <= 1 << 53, "{totals:?}");
            match &totals.latency {
                Some(LatencyReading::Quantile { ms }) => {
                    assert!(ms.get().is_finite() && ms.get() >= 0.0, "{ms:?}");
                }
                Some(LatencyReading::Missing { why }) => {
                    assert!(why.chars().count() <= MAX_REASON, "{why}");
                    assert_no_secret(why);
                }
                None => panic!("the quantile was asked: {totals:?}"),
                Some(other) => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prometheus_answer_corpus_replays() {
    corpus::replay("prometheus_answer", &prometheus_answer, 12);
}
