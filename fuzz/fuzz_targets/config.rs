//! Fuzzes the configuration: `KEY=VALUE` lines (keys with or without the `ORCH_POST_DEPLOY_`
//! prefix) through `Config::from_vars` and `Config::switches_from_vars`.
//!
//! The checks live in `crates/post-deploy-core/tests/fuzz_corpus.rs`, which replays
//! `fixtures/fuzz-corpus/config/` through them under the normal `cargo test`.

#![no_main]

#[path = "../../crates/post-deploy-core/tests/fuzz_corpus.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    checks::config(input);
});
