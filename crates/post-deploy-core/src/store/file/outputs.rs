//! What the file store writes besides a window's state: its picture, and the metrics (the
//! records behind them in the state folder, and the file node_exporter reads).

use std::fs::{File, TryLockError};
use std::path::Path;

use super::{FileStore, Temporaries, io, refuse_symlink, write_atomic};
use crate::store::{StoreError, WindowKey, WindowLock};

/// The picture's name in a window's own folder.
pub const PICTURE_FILE: &str = "16-post-deploy-window.svg";

/// The metrics records' name in the state folder.
pub const METRICS_RECORDS: &str = ".post-deploy-metrics.json";

/// The picture's name: [`PICTURE_FILE`] in the window's folder, or one naming the window in
/// an artefacts folder, which several windows may share.
#[must_use]
pub fn picture_name(key: &WindowKey, artefacts_dir: Option<&Path>) -> String {
    match artefacts_dir {
        None => PICTURE_FILE.to_owned(),
        Some(_) => format!("16-post-deploy-window-{}-{}.svg", key.repo, key.work_item),
    }
}

pub(super) fn write_picture(
    store: &FileStore,
    key: &WindowKey,
    artefacts_dir: Option<&Path>,
    svg: &str,
) -> Result<(), StoreError> {
    let name = picture_name(key, artefacts_dir);
    match artefacts_dir {
        // The window's own folder, under its lock.
        None => write_atomic(
            &store.window_path(key),
            &name,
            svg.as_bytes(),
            Temporaries::Stale,
        ),
        Some(dir) => write_atomic(dir, &name, svg.as_bytes(), Temporaries::Shared),
    }
}

/// The state folder itself is the lock of the metrics records: they are replaced by rename,
/// so they cannot carry one, and no file of its own is needed.
pub(super) fn try_lock_metrics(state_dir: &Path) -> Result<Option<WindowLock>, StoreError> {
    refuse_symlink(state_dir)?;
    let folder = File::open(state_dir).map_err(io("opening", state_dir))?;
    match folder.try_lock() {
        Ok(()) => Ok(Some(WindowLock::new(folder))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(source)) => Err(StoreError::io("locking", state_dir, source)),
    }
}

pub(super) fn write_metrics_file(path: &Path, text: &str) -> Result<(), StoreError> {
    let not_a_file = || {
        StoreError::io(
            "writing",
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the metrics file's name is not a file's name",
            ),
        )
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(not_a_file)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if fs_err::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(StoreError::io(
            "writing",
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a folder"),
        ));
    }
    // The temporary is `.<name>.tmp.<pid>.<n>`: never `*.prom`, so the collector skips it;
    // one a killed writer left is removed by the next write.
    write_atomic(dir, name, text.as_bytes(), Temporaries::Orphaned)
}
