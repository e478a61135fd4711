//! The sentinel files: the [`Store`] of `<state dir>/.post-deploy-state-<repo>/<work item>/`.
//!
//! Each window's folder holds `target.json` (written once, at arm), `window.json` (the
//! window's progress, rewritten whole at every tick), `lock` (held while a tick runs) and,
//! unless an artefacts dir was named, `16-post-deploy-log.md`. Writes go to a temporary file,
//! are synced, renamed into place and the folder synced; folders are 0700 and files 0600; a
//! symlink where state belongs is refused, never written through.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Read, StateFile, Store, StoreError, WindowKey, WindowLock};
use crate::id::{RepoName, WorkItem};

mod artefacts;
mod outputs;

use artefacts::check_artefacts_dir;

pub use outputs::{METRICS_RECORDS, PICTURE_FILE, picture_name};

/// The lock file.
pub const LOCK_FILE: &str = "lock";
/// The log artefact's name.
pub const LOG_FILE: &str = "16-post-deploy-log.md";
/// The largest state file that is read: a window's state is a few kilobytes whatever its
/// number of ticks, so a larger file is damaged, and is not read whole.
pub const MAX_STATE_FILE: u64 = 1024 * 1024;

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::io(action, path, source)
}

/// One window's folder.
#[derive(Debug, Clone)]
struct WindowDir {
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
        Err(source) => Err(StoreError::io("inspecting", path, source)),
    }
}

#[cfg(unix)]
fn private_dir(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => make_private(path),
        Err(source) => Err(StoreError::io("creating", path, source)),
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
        Err(source) => Err(StoreError::io("creating", &path, source)),
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
    fn new(state_dir: &Path, repo: &RepoName, work_item: &WorkItem) -> Self {
        Self {
            path: state_dir
                .join(repo_folder_name(repo))
                .join(work_item.as_str()),
        }
    }

    /// The folder.
    #[must_use]
    fn path(&self) -> &Path {
        &self.path
    }

    /// A file in the folder.
    #[must_use]
    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether the folder exists (and is no symlink).
    ///
    /// # Errors
    /// [`StoreError::Symlink`] when it or its parent is a symlink.
    fn exists(&self) -> Result<bool, StoreError> {
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
    fn create(&self) -> Result<(), StoreError> {
        if let Some(parent) = self.path.parent() {
            if let Some(state_dir) = parent.parent()
                && !state_dir.as_os_str().is_empty()
                && !state_dir.exists()
            {
                fs_err::create_dir_all(state_dir)
                    .map_err(|source| StoreError::io("creating", state_dir, source))?;
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
    fn try_lock(&self) -> Result<Option<WindowLock>, StoreError> {
        let path = self.file(LOCK_FILE);
        // A folder, FIFO or device where the lock belongs leaves the window unusable: named.
        refuse_irregular(&path)?;
        let file = private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WindowLock::new(file))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(StoreError::io("locking", &path, source)),
        }
    }

    /// Keeps `name` under a `<name>.damaged-<stamp>` name that is not taken yet; returns the
    /// name it is kept under. A regular file is hard-linked, so `name` itself stays in place
    /// until its replacement is written. Anything else (a folder, a FIFO, a device) is
    /// renamed: a folder cannot be hard-linked, and nothing can be written over one. `name`
    /// is then missing until it is replaced, which the driver treats as damaged too.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be kept.
    fn keep_aside(&self, name: &str, stamp: &str) -> Result<String, StoreError> {
        let path = self.file(name);
        let regular = match fs_err::symlink_metadata(&path) {
            Ok(meta) => meta.is_file(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(source) => return Err(StoreError::io("inspecting", &path, source)),
        };
        // A clock that stepped back can give a stamp that was used before: never overwrite
        // an earlier kept copy.
        for n in 0u32..100 {
            let kept_as = if n == 0 {
                format!("{name}.damaged-{stamp}")
            } else {
                format!("{name}.damaged-{stamp}-{n}")
            };
            let kept = if regular {
                std::fs::hard_link(&path, self.file(&kept_as))
            } else {
                rename_new(&path, &self.file(&kept_as))
            };
            match kept {
                Ok(()) => {
                    sync_dir(&self.path)?;
                    return Ok(kept_as);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    return Err(StoreError::io("keeping", &path, source));
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
    fn remove(&self, name: &str) -> Result<(), StoreError> {
        let path = self.file(name);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::io("removing", &path, source)),
        }
    }
}

/// Renames `from` to `to` unless `to` is taken (`AlreadyExists`). Only for the window's own
/// files, under its lock: nothing else creates `to` between the check and the rename.
fn rename_new(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(to) {
        Ok(_) => Err(std::io::ErrorKind::AlreadyExists.into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::rename(from, to),
        Err(e) => Err(e),
    }
}

/// Whose temporaries a folder may hold besides the writer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Temporaries {
    /// A window's own folder: its files are written under the window's lock, so a temporary
    /// of the file found there was left by a writer killed mid-write, and is removed.
    Stale,
    /// A small folder several processes write the same file in (the state dir, the metrics
    /// file's): a temporary of a writer that is no longer running (its process id, in the
    /// temporary's name, names no process here) is removed; a live writer's is left alone.
    Orphaned,
    /// A folder other windows write to at the same time, which may hold many files (a shared
    /// artefacts dir): their temporaries are left alone, and not looked for.
    Shared,
}

/// Numbers this process's temporaries, so that no two writers ever share one.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// The prefix of every temporary of `name`.
fn temporary_prefix(name: &str) -> String {
    format!(".{name}.tmp")
}

/// Creates (0600, never an existing file) a temporary for `dir/name` under a name no other
/// writer uses: `.<name>.tmp.<process id>.<n>`.
fn create_temporary(dir: &Path, name: &str) -> Result<(PathBuf, File), StoreError> {
    let prefix = temporary_prefix(name);
    let pid = std::process::id();
    let mut last = dir.join(&prefix);
    for _ in 0..100 {
        let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{prefix}.{pid}.{n}"));
        match private_file_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            // Left by a dead writer that had this process id: take the next number.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = tmp,
            Err(source) => return Err(StoreError::io("creating", &tmp, source)),
        }
    }
    Err(StoreError::io(
        "creating",
        &last,
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "every temporary name is taken",
        ),
    ))
}

/// Removes the temporaries of `dir/name` that writers killed mid-write left behind: all of
/// them in a window's own folder, under its lock ([`Temporaries::Stale`]); those of writers
/// no longer running in a folder others write to ([`Temporaries::Orphaned`]). A temporary
/// that cannot be removed is left, as it does no harm but its room.
fn remove_stale_temporaries(dir: &Path, name: &str, temporaries: Temporaries) {
    let prefix = temporary_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        let numbers = n
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .filter(|rest| rest.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        let stale = match temporaries {
            Temporaries::Stale => n == prefix || numbers.is_some(),
            Temporaries::Orphaned => numbers
                .and_then(|rest| rest.split('.').next())
                .is_some_and(writer_is_gone),
            Temporaries::Shared => false,
        };
        if stale && entry.file_type().is_ok_and(|t| !t.is_dir()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether the process `pid` (a temporary's writer) is known to run no more: where `/proc`
/// lists this machine's processes, it lists no `pid`. Elsewhere nothing is known, and no
/// temporary counts as orphaned.
fn writer_is_gone(pid: &str) -> bool {
    let proc = Path::new("/proc");
    !pid.is_empty() && proc.join("self").exists() && !proc.join(pid).exists()
}

/// Writes `bytes` to a new temporary of `dir/name`, synced; its path.
fn write_temporary(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let (tmp, mut file) = create_temporary(dir, name)?;
    let written = file
        .write_all(bytes)
        .map_err(io("writing", &tmp))
        .and_then(|()| file.sync_all().map_err(io("syncing", &tmp)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Writes `dir/name` atomically: temporary file (0600, a name of its own), fsync, rename,
/// fsync of `dir`.
///
/// # Errors
/// [`StoreError`] when it cannot be written; an old file is then untouched.
fn write_atomic(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    temporaries: Temporaries,
) -> Result<(), StoreError> {
    let path = dir.join(name);
    refuse_symlink(&path)?;
    if temporaries != Temporaries::Shared {
        remove_stale_temporaries(dir, name, temporaries);
    }
    let tmp = write_temporary(dir, name, bytes)?;
    if let Err(source) = std::fs::rename(&tmp, &path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::io("replacing", &path, source));
    }
    sync_dir(dir)
}

/// Writes `dir/name` whole unless it exists: `Ok(false)` when another writer made it first.
/// The temporary is linked in place, which fails rather than replaces; where links cannot be
/// made, the file is created (never over an existing one) and written in one write.
///
/// # Errors
/// [`StoreError`] when it cannot be written.
fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> Result<bool, StoreError> {
    let path = dir.join(name);
    refuse_symlink(&path)?;
    let tmp = write_temporary(dir, name, bytes)?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(_) => {
            let created = private_file_options()
                .write(true)
                .create_new(true)
                .open(&path);
            match created {
                Ok(mut file) => file.write_all(bytes).map_err(io("writing", &path))?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
                Err(source) => return Err(StoreError::io("creating", &path, source)),
            }
        }
    }
    sync_dir(dir)?;
    Ok(true)
}

/// What a file that is not a regular file is, for a person.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "something else"
    }
}

/// Refuses `path` when something other than a regular file stands there (a missing one is
/// fine: it is created). A symlink is refused as such.
fn refuse_irregular(path: &Path) -> Result<(), StoreError> {
    if !refuse_symlink(path)? {
        return Ok(());
    }
    match fs_err::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => Err(StoreError::NotRegular {
            path: path.to_owned(),
            kind: kind_of(meta.file_type()),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::io("inspecting", path, source)),
    }
}

/// Opens the log at `path` to read its end and append to it, creating it 0600, only when it
/// is a regular file. Checked before opening, and again on the opened handle: the open
/// itself never follows a symlink (`O_NOFOLLOW`) and never waits (`O_NONBLOCK`: opening a
/// FIFO to write would wait for a reader for ever, with the window's lock held), so nothing
/// swapped in between the check and the open is written either.
fn open_log(path: &Path) -> Result<File, StoreError> {
    refuse_irregular(path)?;
    let mut options = private_file_options();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(io("opening", path))?;
    let meta = file.metadata().map_err(io("inspecting", path))?;
    if !meta.is_file() {
        return Err(StoreError::NotRegular {
            path: path.to_owned(),
            kind: kind_of(meta.file_type()),
        });
    }
    Ok(file)
}

/// Appends one whole record to the log at `path` with a single write (O_APPEND), creating it
/// 0600; a log that is not a regular file is not written.
///
/// # Errors
/// [`StoreError`] when it cannot be written.
fn append(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = open_log(path)?;
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

/// Reads a state file of at most [`MAX_STATE_FILE`] bytes.
fn read_bytes(path: &Path) -> Result<Read, StoreError> {
    if !refuse_symlink(path)? {
        return Ok(Read::Missing);
    }
    // Only a regular file is state: opening a FIFO planted under the name would wait for a
    // writer forever, with the window's lock held.
    match fs_err::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => return Ok(Read::Unusable("not a regular file".to_owned())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::Missing),
        Err(source) => return Err(StoreError::io("inspecting", path, source)),
    }
    // And again on the handle, opened without waiting or following a symlink: nothing
    // swapped in since the check is read.
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::Missing),
        Err(source) => return Err(StoreError::io("reading", path, source)),
    };
    if !file.metadata().map_err(io("inspecting", path))?.is_file() {
        return Ok(Read::Unusable("not a regular file".to_owned()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_STATE_FILE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io("reading", path))?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_STATE_FILE) {
        return Ok(Read::Unusable(format!(
            "larger than {MAX_STATE_FILE} bytes, which no state file is"
        )));
    }
    Ok(Read::Bytes(bytes))
}

/// Every window folder under `state_dir`, sorted.
fn list_windows(state_dir: &Path) -> Result<Vec<WindowKey>, StoreError> {
    let mut found = Vec::new();
    let entries = match fs_err::read_dir(state_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(source) => return Err(StoreError::io("listing", state_dir, source)),
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
                found.push(WindowKey {
                    repo: repo.clone(),
                    work_item,
                });
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The windows' state as sentinel files under a state folder.
#[derive(Debug, Clone)]
pub struct FileStore {
    state_dir: PathBuf,
}

impl FileStore {
    /// The store under `state_dir` (created when a window is armed).
    #[must_use]
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
        }
    }

    /// The state folder.
    #[must_use]
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The folder of a window.
    #[must_use]
    pub fn window_path(&self, key: &WindowKey) -> PathBuf {
        self.dir(key).path
    }

    /// Where a window's log is: `artefacts_dir`, or the window's folder.
    #[must_use]
    pub fn log_path(&self, key: &WindowKey, artefacts_dir: Option<&Path>) -> PathBuf {
        artefacts_dir
            .map_or_else(|| self.window_path(key), Path::to_path_buf)
            .join(LOG_FILE)
    }

    fn dir(&self, key: &WindowKey) -> WindowDir {
        WindowDir::new(&self.state_dir, &key.repo, &key.work_item)
    }

    fn known_good_name(repo: &RepoName) -> String {
        format!(".post-deploy-known-good-{repo}.json")
    }

    /// Starts the log (see [`Store::start_log`]), making a missing artefacts folder.
    fn start_log_in(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        header: &str,
    ) -> Result<(), StoreError> {
        if let Some(artefacts) = artefacts_dir {
            fs_err::create_dir_all(artefacts).map_err(io("creating", artefacts))?;
        }
        let log = self.log_path(key, artefacts_dir);
        // A FIFO or a device where the log belongs is never replaced nor written.
        refuse_irregular(&log)?;
        let Some(artefacts) = artefacts_dir else {
            // The window's own folder, under its lock.
            return write_atomic(
                &self.window_path(key),
                LOG_FILE,
                header.as_bytes(),
                Temporaries::Stale,
            );
        };
        // An artefacts folder that other windows use holds their log: the first window to
        // come makes it whole, and every other one adds its section, also when they arm at
        // the same time.
        let has_text = |log: &Path| fs_err::metadata(log).is_ok_and(|m| m.len() > 0);
        if !has_text(&log) && write_new(artefacts, LOG_FILE, header.as_bytes())? {
            return Ok(());
        }
        if has_text(&log) {
            append(&log, format!("\n---\n\n{header}").as_bytes())
        } else {
            append(&log, header.as_bytes())
        }
    }
}

/// The folders of `path` that do not exist yet, outermost first.
fn missing_ancestors(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| fs_err::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

impl Store for FileStore {
    fn exists(&self, key: &WindowKey) -> Result<bool, StoreError> {
        self.dir(key).exists()
    }

    fn create(&self, key: &WindowKey) -> Result<(), StoreError> {
        self.dir(key).create()
    }

    fn try_lock(&self, key: &WindowKey) -> Result<Option<WindowLock>, StoreError> {
        self.dir(key).try_lock()
    }

    fn read(&self, key: &WindowKey, file: StateFile) -> Result<Read, StoreError> {
        read_bytes(&self.dir(key).file(file.name()))
    }

    fn write(&self, key: &WindowKey, file: StateFile, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(self.dir(key).path(), file.name(), bytes, Temporaries::Stale)
    }

    fn keep_aside(
        &self,
        key: &WindowKey,
        file: StateFile,
        stamp: &str,
    ) -> Result<String, StoreError> {
        self.dir(key).keep_aside(file.name(), stamp)
    }

    fn kept_aside(&self, key: &WindowKey, file: StateFile) -> Result<bool, StoreError> {
        let dir = self.dir(key);
        let prefix = format!("{}.damaged-", file.name());
        let entries = match fs_err::read_dir(dir.path()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(StoreError::io("listing", dir.path(), source)),
        };
        Ok(entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(&prefix)))
    }

    fn remove(&self, key: &WindowKey, file: StateFile) -> Result<(), StoreError> {
        self.dir(key).remove(file.name())
    }

    fn discard(&self, key: &WindowKey, files: &[StateFile], log: bool) -> Result<(), StoreError> {
        let dir = self.dir(key);
        for file in files {
            dir.remove(file.name())?;
        }
        if log {
            dir.remove(LOG_FILE)?;
        }
        // The lock last: it is held until the folder goes.
        dir.remove(LOCK_FILE)?;
        // Only empty folders go: anything else in them was not this arm's.
        let _ = std::fs::remove_dir(dir.path());
        if let Some(repo) = dir.path().parent() {
            let _ = std::fs::remove_dir(repo);
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<WindowKey>, StoreError> {
        list_windows(&self.state_dir)
    }

    fn check_artefacts_dir(&self, artefacts_dir: &Path) -> Result<(), String> {
        check_artefacts_dir(artefacts_dir)
    }

    fn start_log(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        header: &str,
    ) -> Result<(), StoreError> {
        // The folders this arm makes are removed again when it cannot start the log.
        let made = artefacts_dir.map(missing_ancestors).unwrap_or_default();
        let started = self.start_log_in(key, artefacts_dir, header);
        if started.is_err() {
            for folder in made.iter().rev() {
                let _ = std::fs::remove_dir(folder);
            }
        }
        started
    }

    fn append_log_row(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        row: &str,
        head: &str,
    ) -> Result<(), StoreError> {
        let log = self.log_path(key, artefacts_dir);
        let mut file = open_log(&log)?;
        let in_table = artefacts_dir.is_none() || ends_in_table(&mut file);
        let text = if in_table {
            row.to_owned()
        } else {
            format!("\n{head}{row}")
        };
        file.write_all(text.as_bytes())
            .map_err(io("appending to", &log))
    }

    fn append_log(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        text: &str,
    ) -> Result<(), StoreError> {
        append(&self.log_path(key, artefacts_dir), text.as_bytes())
    }

    fn try_lock_repo(&self, repo: &RepoName) -> Result<Option<WindowLock>, StoreError> {
        // The repo's folder itself is the lock: no file of its own, and the known-good
        // records beside it are replaced by rename, so they cannot carry one.
        let path = self.state_dir.join(repo_folder_name(repo));
        refuse_symlink(&path)?;
        let folder = File::open(&path).map_err(io("opening", &path))?;
        match folder.try_lock() {
            Ok(()) => Ok(Some(WindowLock::new(folder))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(StoreError::io("locking", &path, source)),
        }
    }

    fn read_known_good(&self, repo: &RepoName) -> Result<Read, StoreError> {
        read_bytes(&self.state_dir.join(Self::known_good_name(repo)))
    }

    fn write_known_good(&self, repo: &RepoName, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(
            &self.state_dir,
            &Self::known_good_name(repo),
            bytes,
            Temporaries::Orphaned,
        )
    }

    fn write_picture(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        svg: &str,
    ) -> Result<(), StoreError> {
        outputs::write_picture(self, key, artefacts_dir, svg)
    }

    fn try_lock_metrics(&self) -> Result<Option<WindowLock>, StoreError> {
        outputs::try_lock_metrics(&self.state_dir)
    }

    fn read_metrics(&self) -> Result<Read, StoreError> {
        read_bytes(&self.state_dir.join(METRICS_RECORDS))
    }

    fn write_metrics(&self, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(
            &self.state_dir,
            METRICS_RECORDS,
            bytes,
            Temporaries::Orphaned,
        )
    }

    fn write_metrics_file(&self, path: &Path, text: &str) -> Result<(), StoreError> {
        outputs::write_metrics_file(path, text)
    }
}

/// How much of the log's end is read to know whether it ends in a table.
const LOG_TAIL: u64 = 4096;

/// Whether the log's last line is a table row. Only its last [`LOG_TAIL`] bytes are read,
/// from a log [`open_log`] opened (a regular file).
fn ends_in_table(log: &mut File) -> bool {
    use std::io::{Seek as _, SeekFrom};
    let tail = log
        .metadata()
        .map_or(0, |m| m.len().saturating_sub(LOG_TAIL));
    if log.seek(SeekFrom::Start(tail)).is_err() {
        return false;
    }
    let mut bytes = Vec::new();
    if log.take(LOG_TAIL).read_to_end(&mut bytes).is_err() {
        return false;
    }
    String::from_utf8_lossy(&bytes)
        .lines()
        .last()
        .is_some_and(|l| l.starts_with('|'))
}
