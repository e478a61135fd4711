//! Fuzzes the Prometheus answer parser: any bytes as the body of an answer to an instant query
//! (the first byte picks the HTTP status), through `parse_answer`, `parse_answer_scrubbed` and
//! `probe_prometheus`.
//!
//! The checks live in `crates/post-deploy-core/tests/prometheus_corpus.rs`, which replays
//! `fixtures/fuzz-corpus/prometheus_answer/` through them under the normal `cargo test`.

#![no_main]

#[path = "../../crates/post-deploy-core/tests/prometheus_corpus.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    checks::prometheus_answer(input);
});
