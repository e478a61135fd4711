//! The replay of a regression corpus of `fixtures/fuzz-corpus/` through a fuzz target's checks,
//! shared by the tests of the core and of the adapters (included by path: no crate depends on
//! another for it).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The folder of the corpus `name`, from the including crate (under `crates/`).
pub(crate) fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/fuzz-corpus")
        .join(name)
}

/// Runs every file of the corpus `name` through `check`; names the files that fail, and fails
/// when the corpus has fewer than `at_least` files.
pub(crate) fn replay(name: &str, check: &dyn Fn(&[u8]), at_least: usize) {
    let dir = corpus(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap();
            catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "corpus files fail: {failed:#?}");
    assert!(
        files.len() >= at_least,
        "the corpus at {} has only {} files",
        dir.display(),
        files.len()
    );
}
