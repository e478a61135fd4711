//! Where windows keep their state: the [`Store`] trait, the sentinel files that implement it
//! ([`FileStore`]) and an in-memory store for tests and embedders ([`MemoryStore`]).
//!
//! A store holds bytes; what they mean (JSON, damaged or whole) is decided here once, by
//! [`load`], for every store alike. A damaged state file is kept aside for a person and stays
//! in place until its replacement is written, so it never becomes a missing one.

mod file;
mod memory;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::id::{RepoName, WorkItem};

pub use file::{
    FileStore, LOCK_FILE, LOG_FILE, MAX_STATE_FILE, METRICS_RECORDS, PICTURE_FILE, picture_name,
    repo_folder_name,
};
pub use memory::MemoryStore;

/// A fault of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or folder could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A symlink stands where a state folder or file belongs; nothing is written through it.
    #[error("refusing {}: it is a symbolic link, and state is never written through one", path.display())]
    Symlink {
        /// Where.
        path: PathBuf,
    },
    /// A file where state or the log belongs is not a regular file (a FIFO, a device, a
    /// folder): it is neither opened for writing nor read as state.
    #[error("refusing {}: it is {kind}, not a regular file", path.display())]
    NotRegular {
        /// Where.
        path: PathBuf,
        /// What it is (`a FIFO`, `a character device`, …).
        kind: &'static str,
    },
    /// A state file could not be encoded.
    #[error("encoding {what}: {source}")]
    Encode {
        /// Which file.
        what: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    /// An I/O fault while `action`ing `path`.
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Which window: a (repo, work item) pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowKey {
    /// The repo.
    pub repo: RepoName,
    /// The work item.
    pub work_item: WorkItem,
}

impl WindowKey {
    /// The key of (`repo`, `work_item`).
    #[must_use]
    pub fn new(repo: &RepoName, work_item: &WorkItem) -> Self {
        Self {
            repo: repo.clone(),
            work_item: work_item.clone(),
        }
    }
}

/// The file written once at arm.
pub const TARGET_FILE: &str = "target.json";
/// The file rewritten at every tick.
pub const PROGRESS_FILE: &str = "window.json";
/// A second copy of a window's rollback record, written ahead of `window.json` whenever the
/// record changes, so a damaged `window.json` never loses what the window did.
pub const ROLLBACK_FILE: &str = "rollback.json";

/// A window's state files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateFile {
    /// What the window watches: written once, at arm (`target.json`).
    Target,
    /// How far it got: rewritten whole at every tick (`window.json`).
    Progress,
    /// The window's rollback, kept apart from its progress (`rollback.json`).
    Rollback,
}

impl StateFile {
    /// The file's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Target => TARGET_FILE,
            Self::Progress => PROGRESS_FILE,
            Self::Rollback => ROLLBACK_FILE,
        }
    }
}

/// What reading a state file's bytes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// No such file.
    Missing,
    /// Its bytes.
    Bytes(Vec<u8>),
    /// Something that cannot be state: not a regular file, or too large to be one.
    Unusable(String),
}

/// A held window lock; released when dropped (or when the process dies).
pub struct WindowLock(#[expect(dead_code, reason = "held for its drop")] Box<dyn Send>);

impl WindowLock {
    /// A lock held for as long as `guard` lives.
    pub fn new(guard: impl Send + 'static) -> Self {
        Self(Box::new(guard))
    }
}

impl std::fmt::Debug for WindowLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WindowLock")
    }
}

/// Where windows keep their state. Every write of a state file is atomic: a crash at any
/// point leaves the old bytes or the new ones, whole.
pub trait Store {
    /// Whether the pair has a window's place at all.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be used (a symlink in the way, say).
    fn exists(&self, key: &WindowKey) -> Result<bool, StoreError>;

    /// Makes the window's place (at arm).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be made.
    fn create(&self, key: &WindowKey) -> Result<(), StoreError>;

    /// Takes the window's lock without waiting; `None`: someone else holds it.
    ///
    /// # Errors
    /// [`StoreError`] when the lock cannot be taken or asked about.
    fn try_lock(&self, key: &WindowKey) -> Result<Option<WindowLock>, StoreError>;

    /// Reads a state file's bytes.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be read at all.
    fn read(&self, key: &WindowKey, file: StateFile) -> Result<Read, StoreError>;

    /// Replaces a state file with `bytes`, atomically.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written; the old bytes are then untouched.
    fn write(&self, key: &WindowKey, file: StateFile, bytes: &[u8]) -> Result<(), StoreError>;

    /// Keeps a copy of a damaged state file for a person, under a name not taken yet that
    /// begins `<file>.damaged-<stamp>`, and leaves the file itself in place. Returns the name.
    ///
    /// # Errors
    /// [`StoreError`] when the copy cannot be kept.
    fn keep_aside(
        &self,
        key: &WindowKey,
        file: StateFile,
        stamp: &str,
    ) -> Result<String, StoreError>;

    /// Whether a damaged copy of `file` was kept aside before.
    ///
    /// # Errors
    /// [`StoreError`] when the window's place cannot be read.
    fn kept_aside(&self, key: &WindowKey, file: StateFile) -> Result<bool, StoreError>;

    /// Removes a state file (a damaged one, once kept aside and replaced by a finished state).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be removed.
    fn remove(&self, key: &WindowKey, file: StateFile) -> Result<(), StoreError>;

    /// Every window, sorted.
    ///
    /// # Errors
    /// [`StoreError`] when the windows cannot be listed.
    fn list(&self) -> Result<Vec<WindowKey>, StoreError>;

    /// Removes what an arm that failed under the window's lock wrote: the state `files`, the
    /// window's own log when `log` (it wrote one), its lock, then the window's place itself
    /// when nothing else is in it, so a failed arm leaves no window behind. What it did not
    /// write (a file planted in its way) stays.
    ///
    /// # Errors
    /// [`StoreError`] when a file cannot be removed.
    fn discard(&self, key: &WindowKey, files: &[StateFile], log: bool) -> Result<(), StoreError> {
        let _ = log;
        for file in files {
            self.remove(key, *file)?;
        }
        Ok(())
    }

    /// Checks, before anything is written, that a log can be kept in `artefacts_dir`.
    ///
    /// # Errors
    /// A description of what is in the way.
    fn check_artefacts_dir(&self, artefacts_dir: &Path) -> Result<(), String> {
        let _ = artefacts_dir;
        Ok(())
    }

    /// Starts the window's log with its `header` (at arm): in `artefacts_dir` when one is
    /// named, else beside the window's state. A log that other windows of the artefacts
    /// folder started is kept: the header opens a section of its own after theirs.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written.
    fn start_log(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        header: &str,
    ) -> Result<(), StoreError>;

    /// Appends a row to the window's log's table of ticks, opening the table again with `head`
    /// when the log does not end inside one (another window sharing the artefacts folder
    /// wrote a section since).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written.
    fn append_log_row(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        row: &str,
        head: &str,
    ) -> Result<(), StoreError>;

    /// Appends `text` to the window's log.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written.
    fn append_log(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        text: &str,
    ) -> Result<(), StoreError>;

    /// Takes the lock of a repo's known-good records without waiting; `None`: someone else
    /// holds it.
    ///
    /// # Errors
    /// [`StoreError`] when the lock cannot be taken or asked about.
    fn try_lock_repo(&self, repo: &RepoName) -> Result<Option<WindowLock>, StoreError>;

    /// Reads the known-good records of `repo`.
    ///
    /// # Errors
    /// [`StoreError`] when they cannot be read.
    fn read_known_good(&self, repo: &RepoName) -> Result<Read, StoreError>;

    /// Replaces the known-good records of `repo`, atomically.
    ///
    /// # Errors
    /// [`StoreError`] when they cannot be written.
    fn write_known_good(&self, repo: &RepoName, bytes: &[u8]) -> Result<(), StoreError>;

    /// Replaces the window's picture with `svg`, atomically, beside its log
    /// ([`picture_name`]).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written.
    fn write_picture(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        svg: &str,
    ) -> Result<(), StoreError>;

    /// Takes the lock of the metrics records without waiting; `None`: someone else holds it.
    ///
    /// # Errors
    /// [`StoreError`] when the lock cannot be taken or asked about.
    fn try_lock_metrics(&self) -> Result<Option<WindowLock>, StoreError>;

    /// Reads the metrics records ([`METRICS_RECORDS`]).
    ///
    /// # Errors
    /// [`StoreError`] when they cannot be read.
    fn read_metrics(&self) -> Result<Read, StoreError>;

    /// Replaces the metrics records, atomically.
    ///
    /// # Errors
    /// [`StoreError`] when they cannot be written.
    fn write_metrics(&self, bytes: &[u8]) -> Result<(), StoreError>;

    /// Replaces the metrics file at `path` (`ORCH_POST_DEPLOY_METRICS_FILE`) with `text`,
    /// atomically, through a temporary in the same folder whose name does not end in
    /// `.prom`; never through a symlink.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written; nothing is left behind.
    fn write_metrics_file(&self, path: &Path, text: &str) -> Result<(), StoreError>;
}

/// What loading a state file found.
#[derive(Debug)]
pub enum Loaded<T> {
    /// No such file.
    Missing,
    /// The file, whole.
    Ok(T),
    /// The file could not be read as state; a copy was kept aside as `kept_as`, and the file
    /// itself stays until it is replaced.
    Damaged {
        /// The name the copy was kept under.
        kept_as: String,
        /// Why it was unreadable.
        detail: String,
    },
}

/// Loads and decodes a state file; a damaged one is kept aside and reported, never a panic.
///
/// # Errors
/// [`StoreError`] only when the store itself cannot be used.
pub fn load<T: DeserializeOwned>(
    store: &dyn Store,
    key: &WindowKey,
    file: StateFile,
    stamp: &str,
) -> Result<Loaded<T>, StoreError> {
    let detail = match decode(store.read(key, file)?) {
        None => return Ok(Loaded::Missing),
        Some(Ok(value)) => return Ok(Loaded::Ok(value)),
        Some(Err(detail)) => detail,
    };
    let kept_as = store.keep_aside(key, file, stamp)?;
    Ok(Loaded::Damaged { kept_as, detail })
}

/// Reads a state file without keeping anything aside, for read-only views: `Err` says why it
/// could not be read.
pub fn peek<T: DeserializeOwned>(
    store: &dyn Store,
    key: &WindowKey,
    file: StateFile,
) -> Result<T, String> {
    match store.read(key, file) {
        Err(e) => Err(e.to_string()),
        Ok(read) => match decode(read) {
            None => Err(format!("{} is missing", file.name())),
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(format!("damaged ({e})")),
        },
    }
}

/// Encodes and writes a state file atomically.
///
/// # Errors
/// [`StoreError`] when it cannot be encoded or written.
pub fn save<T: Serialize>(
    store: &dyn Store,
    key: &WindowKey,
    file: StateFile,
    value: &T,
) -> Result<(), StoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Encode {
        what: file.name().to_owned(),
        source,
    })?;
    bytes.push(b'\n');
    store.write(key, file, &bytes)
}

fn decode<T: DeserializeOwned>(read: Read) -> Option<Result<T, String>> {
    match read {
        Read::Missing => None,
        Read::Unusable(why) => Some(Err(why)),
        // serde's message may quote the file (a string of the wrong type, whole): quoted.
        Read::Bytes(bytes) => {
            Some(serde_json::from_slice(&bytes).map_err(|e| crate::text::quote(&e.to_string())))
        }
    }
}
