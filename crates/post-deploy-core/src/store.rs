//! The state folder: sentinel files written atomically, a lock per window, and damaged files
//! kept aside for a person.
//!
//! `<state dir>/.post-deploy-state-<repo>/<work item>/` holds `target.json` (written once, at
//! arm), `window.json` (the window's progress, rewritten whole at every tick), `lock` (held
//! while a tick runs) and, unless an artefacts dir was named, `16-post-deploy-log.md`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::id::{RepoName, WorkItem};

/// The file written once at arm.
pub const TARGET_FILE: &str = "target.json";
/// The file rewritten at every tick.
pub const PROGRESS_FILE: &str = "window.json";
/// The lock file.
pub const LOCK_FILE: &str = "lock";
/// The log artefact's name.
pub const LOG_FILE: &str = "16-post-deploy-log.md";
/// The largest state file that is read: a window's state is a few kilobytes whatever its
/// number of ticks, so a larger file is damaged, and is not read whole.
pub const MAX_STATE_FILE: u64 = 1024 * 1024;

/// A fault of the state folder.
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
    /// A state file could not be encoded.
    #[error("encoding {}: {source}", path.display())]
    Encode {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// What reading a state file found.
#[derive(Debug)]
pub enum Loaded<T> {
    /// No such file.
    Missing,
    /// The file, whole.
    Ok(T),
    /// The file could not be read as state; it was renamed to `kept_as` for a person.
    Damaged {
        /// The name it was kept under, in the same folder.
        kept_as: String,
        /// Why it was unreadable.
        detail: String,
    },
}

/// One window's folder.
#[derive(Debug, Clone)]
pub struct WindowDir {
    path: PathBuf,
}

/// The folder name of a repo's windows under the state dir.
#[must_use]
pub fn repo_folder_name(repo: &RepoName) -> String {
    format!(".post-deploy-state-{repo}")
}

fn refuse_symlink(path: &Path) -> Result<bool, StoreError> {
    match fs_err::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(StoreError::Symlink {
            path: path.to_owned(),
        }),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StoreError::Io {
            action: "inspecting",
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(unix)]
fn private_dir(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => make_private(path),
        Err(source) => Err(StoreError::Io {
            action: "creating",
            path: path.to_owned(),
            source,
        }),
    }
}

/// A folder made earlier (by hand, by an older version, under a loose umask) is made 0700
/// too: one that others can write to would let them swap a symlink in after our checks.
#[cfg(unix)]
fn make_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let seen = fs_err::symlink_metadata(path).map_err(io("inspecting", path))?;
    if !seen.is_dir() || seen.mode() & 0o077 == 0 {
        // Private already; a symlink or a file is refused by the caller.
        return Ok(());
    }
    // Through a handle checked to be the folder just inspected, never a symlink swapped in.
    let dir = File::open(path).map_err(io("opening", path))?;
    let opened = dir.metadata().map_err(io("inspecting", path))?;
    if (opened.dev(), opened.ino()) != (seen.dev(), seen.ino()) {
        return Err(StoreError::Symlink {
            path: path.to_owned(),
        });
    }
    dir.set_permissions(std::fs::Permissions::from_mode(0o700))
        .map_err(io("making private", path))
}

#[cfg(not(unix))]
fn private_dir(path: &Path) -> Result<(), StoreError> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io {
            action: "creating",
            path: path.to_owned(),
            source,
        }),
    }
}

fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

impl WindowDir {
    /// The folder of (`repo`, `work_item`) under `state_dir`, not yet touched.
    #[must_use]
    pub fn new(state_dir: &Path, repo: &RepoName, work_item: &WorkItem) -> Self {
        Self {
            path: state_dir
                .join(repo_folder_name(repo))
                .join(work_item.as_str()),
        }
    }

    /// Wraps an existing folder path (as found by a listing).
    #[must_use]
    pub fn from_path(path: PathBuf) -> Self {
        Self { path }
    }

    /// The folder.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in the folder.
    #[must_use]
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether the folder exists (and is no symlink).
    ///
    /// # Errors
    /// [`StoreError::Symlink`] when it or its parent is a symlink.
    pub fn exists(&self) -> Result<bool, StoreError> {
        if let Some(parent) = self.path.parent()
            && !refuse_symlink(parent)?
        {
            return Ok(false);
        }
        refuse_symlink(&self.path)
    }

    /// Creates the folder (0700) and its repo folder, refusing symlinks on the way.
    ///
    /// # Errors
    /// [`StoreError`] when a folder cannot be created or a symlink is in the way.
    pub fn create(&self) -> Result<(), StoreError> {
        if let Some(parent) = self.path.parent() {
            if let Some(state_dir) = parent.parent()
                && !state_dir.as_os_str().is_empty()
                && !state_dir.exists()
            {
                fs_err::create_dir_all(state_dir).map_err(|source| StoreError::Io {
                    action: "creating",
                    path: state_dir.to_owned(),
                    source,
                })?;
            }
            refuse_symlink(parent)?;
            private_dir(parent)?;
            refuse_symlink(parent)?;
        }
        refuse_symlink(&self.path)?;
        private_dir(&self.path)?;
        refuse_symlink(&self.path).map(drop)
    }

    /// Takes the window's lock without waiting. `Ok(None)`: another tick holds it.
    ///
    /// # Errors
    /// [`StoreError`] when the lock file cannot be opened.
    pub fn try_lock(&self) -> Result<Option<WindowLock>, StoreError> {
        let path = self.file(LOCK_FILE);
        refuse_symlink(&path)?;
        let file = private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WindowLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(StoreError::Io {
                action: "locking",
                path,
                source,
            }),
        }
    }

    /// Reads a state file; an unreadable one is copied aside (`<name>.damaged-<stamp>`) for a
    /// person and reported, never a panic. The damaged file itself stays where it is until
    /// the caller replaces it: a file that was damaged never becomes a missing one, so a
    /// crash or a full disk between keeping it and replacing it loses no record that the
    /// window was there and what it did.
    ///
    /// A file larger than [`MAX_STATE_FILE`] is damaged: no state this project writes comes
    /// near it, and reading it whole would cost its size in memory.
    ///
    /// # Errors
    /// [`StoreError`] only when the folder itself cannot be used.
    pub fn load<T: DeserializeOwned>(
        &self,
        name: &str,
        stamp: &str,
    ) -> Result<Loaded<T>, StoreError> {
        let path = self.file(name);
        if !refuse_symlink(&path)? {
            return Ok(Loaded::Missing);
        }
        let detail = match read_state(&path)? {
            None => return Ok(Loaded::Missing),
            Some(Ok(value)) => return Ok(Loaded::Ok(value)),
            Some(Err(detail)) => detail,
        };
        let kept_as = self.keep_aside(name, stamp)?;
        Ok(Loaded::Damaged { kept_as, detail })
    }

    /// Links `name` under a `<name>.damaged-<stamp>` name that is not taken yet, leaving
    /// `name` itself in place; returns the name it is kept under.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be linked.
    pub fn keep_aside(&self, name: &str, stamp: &str) -> Result<String, StoreError> {
        let path = self.file(name);
        // A clock that stepped back can give a stamp that was used before: never overwrite
        // an earlier kept copy.
        for n in 0u32..100 {
            let kept_as = if n == 0 {
                format!("{name}.damaged-{stamp}")
            } else {
                format!("{name}.damaged-{stamp}-{n}")
            };
            match std::fs::hard_link(&path, self.file(&kept_as)) {
                Ok(()) => {
                    sync_dir(&self.path)?;
                    return Ok(kept_as);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    return Err(StoreError::Io {
                        action: "keeping",
                        path,
                        source,
                    });
                }
            }
        }
        Err(StoreError::Io {
            action: "keeping",
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "every name to keep the damaged file under is taken",
            ),
        })
    }

    /// Removes `name` (a damaged file that was kept aside and is no longer needed).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be removed.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let path = self.file(name);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io {
                action: "removing",
                path,
                source,
            }),
        }
    }

    /// Writes a state file atomically: a temporary file, fsync, rename, fsync of the folder.
    /// A crash at any point leaves either the old file or the new one, whole.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written; the old file is then untouched.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let path = self.file(name);
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Encode {
            path: path.clone(),
            source,
        })?;
        bytes.push(b'\n');
        self.write_atomic(name, &bytes)
    }

    /// Writes `bytes` to `name` atomically (see [`WindowDir::save`]).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be written.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.path, name, bytes)
    }
}

/// Writes `dir/name` atomically: temporary file (0600), fsync, rename, fsync of `dir`.
///
/// # Errors
/// [`StoreError`] when it cannot be written; an old file is then untouched.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let path = dir.join(name);
    refuse_symlink(&path)?;
    // One temporary name per file: state files are written under the window's lock, so a
    // temporary found here was left by a writer killed mid-write, and is replaced.
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = private_file_options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io("creating", &tmp))?;
    file.write_all(bytes).map_err(io("writing", &tmp))?;
    file.sync_all().map_err(io("syncing", &tmp))?;
    drop(file);
    fs_err::rename(&tmp, &path).map_err(|source| StoreError::Io {
        action: "replacing",
        path: path.clone(),
        source,
    })?;
    sync_dir(dir)
}

/// Appends one whole record to `path` with a single write (O_APPEND), creating it 0600.
///
/// # Errors
/// [`StoreError`] when it cannot be written.
pub fn append(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    refuse_symlink(path)?;
    let mut file = private_file_options()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io("opening", path))?;
    file.write_all(bytes).map_err(io("appending to", path))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing", dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Reads and decodes a state file of at most [`MAX_STATE_FILE`] bytes: `None` when it is
/// missing, `Some(Err(why))` when it is damaged or too large.
///
/// # Errors
/// [`StoreError`] when it cannot be read at all.
pub fn read_state<T: DeserializeOwned>(
    path: &Path,
) -> Result<Option<Result<T, String>>, StoreError> {
    use std::io::Read;
    // Only a regular file is state: opening a FIFO planted under the name would wait for a
    // writer forever, with the window's lock held.
    match fs_err::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Ok(Some(Err("not a regular file".to_owned())));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                action: "inspecting",
                path: path.to_owned(),
                source,
            });
        }
    }
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                action: "reading",
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_FILE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io("reading", path))?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_STATE_FILE) {
        return Ok(Some(Err(format!(
            "larger than {MAX_STATE_FILE} bytes, which no state file is"
        ))));
    }
    Ok(Some(
        serde_json::from_slice::<T>(&bytes).map_err(|e| e.to_string()),
    ))
}

/// The held lock of one window; released when dropped, or when the process dies.
#[derive(Debug)]
pub struct WindowLock {
    _file: File,
}

/// Every window folder under `state_dir`, as (repo, work item, folder), sorted.
///
/// # Errors
/// [`StoreError`] when the state dir cannot be listed.
pub fn list_windows(state_dir: &Path) -> Result<Vec<(RepoName, WorkItem, WindowDir)>, StoreError> {
    let mut found = Vec::new();
    let entries = match fs_err::read_dir(state_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(source) => {
            return Err(StoreError::Io {
                action: "listing",
                path: state_dir.to_owned(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(repo) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".post-deploy-state-"))
        else {
            continue;
        };
        let Ok(repo) = RepoName::new(repo) else {
            continue;
        };
        if entry.file_type().map(|t| !t.is_dir()).unwrap_or(true) {
            continue;
        }
        let Ok(items) = fs_err::read_dir(entry.path()) else {
            continue;
        };
        for item in items.flatten() {
            let Some(Ok(work_item)) = item.file_name().to_str().map(WorkItem::new) else {
                continue;
            };
            if item.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                found.push((repo.clone(), work_item, WindowDir::from_path(item.path())));
            }
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(found)
}
