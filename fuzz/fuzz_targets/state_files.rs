//! Fuzzes the state files: any bytes as `window.json`, `target.json` or both of an armed
//! window (the first byte says which: `t` target, `b` both, anything else window), read
//! directly and then ticked twice with a failing target.
//!
//! The checks live in `crates/post-deploy-core/tests/fuzz_corpus.rs`, which replays
//! `fixtures/fuzz-corpus/state_files/` through them under the normal `cargo test`.

#![no_main]

#[path = "../../crates/post-deploy-core/tests/fuzz_corpus.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    checks::state_files(input);
});
