//! A tmpfs mounted over a test's folder (the tests run as root in CI): a read-only or a full
//! file system, which root's permissions cannot fake.

#![allow(dead_code, reason = "shared by several test files; each uses a part")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a folder, unmounted when dropped.
pub(crate) struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `1m`) on `at`; `None`, with a skip note on stderr,
    /// where this process may not mount, which fails the test when `CI` is set.
    pub(crate) fn mount(at: &Path, size: &str) -> Option<Self> {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "post-deploy-test",
            ])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but a tmpfs cannot be mounted: this test cannot run (it needs root)"
            );
            // Straight to the stream, past the test harness's capture, so the skip is seen.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"note: tmpfs test SKIPPED: cannot mount a tmpfs (needs root; CI=true makes this fail)\n",
            );
            return None;
        }
        Some(Self(at.to_owned()))
    }

    /// Makes it read-only.
    pub(crate) fn read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remounting {} read-only", self.0.display());
    }

    /// Fills it; the returned file frees it when removed.
    pub(crate) fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
