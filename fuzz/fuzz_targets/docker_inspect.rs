//! Fuzzes `docker inspect` output through everything the built-in rollback derives from it:
//! the inspect parsing, the self-container check, and the argv of the plain-container
//! recreate and of the compose rollback (`parse_inspect_for_fuzzing`).
//!
//! The checks live in `tests/docker_inspect_corpus.rs`, which replays
//! `fixtures/fuzz-corpus/docker_inspect/` through them under the normal `cargo test`.

#![no_main]

#[path = "../../tests/docker_inspect_corpus.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    checks::check(input);
});
