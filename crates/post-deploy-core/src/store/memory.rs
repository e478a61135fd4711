//! A [`Store`] in memory: for scenario tests, and for embedders that keep no files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Read, StateFile, Store, StoreError, WindowKey, WindowLock};
use crate::id::RepoName;

#[derive(Debug, Default)]
struct Inner {
    files: BTreeMap<(WindowKey, String), Vec<u8>>,
    windows: BTreeSet<WindowKey>,
    locks: BTreeSet<WindowKey>,
    repo_locks: BTreeSet<RepoName>,
    logs: BTreeMap<PathBuf, String>,
    known_good: BTreeMap<RepoName, Vec<u8>>,
    pictures: BTreeMap<PathBuf, String>,
    metrics: Option<Vec<u8>>,
    metrics_locked: bool,
    metrics_files: BTreeMap<PathBuf, String>,
}

/// Windows kept in memory. Clones share the same windows, so a test can look into the store
/// a monitor uses, and change it, as a person could change files.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

/// Releases a window's lock in a [`MemoryStore`] when dropped.
struct Held {
    inner: Arc<Mutex<Inner>>,
    key: WindowKey,
}

impl Drop for Held {
    fn drop(&mut self) {
        lock(&self.inner).locks.remove(&self.key);
    }
}

/// Releases a repo's lock in a [`MemoryStore`] when dropped.
struct HeldRepo {
    inner: Arc<Mutex<Inner>>,
    repo: RepoName,
}

impl Drop for HeldRepo {
    fn drop(&mut self) {
        lock(&self.inner).repo_locks.remove(&self.repo);
    }
}

/// Releases the metrics records' lock in a [`MemoryStore`] when dropped.
struct HeldMetrics {
    inner: Arc<Mutex<Inner>>,
}

impl Drop for HeldMetrics {
    fn drop(&mut self) {
        lock(&self.inner).metrics_locked = false;
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A panic while the map was held leaves it whole: every change is one insert or remove.
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// The bytes of a file of a window (`target.json`, `window.json`, or a kept copy).
    #[must_use]
    pub fn file(&self, key: &WindowKey, name: &str) -> Option<Vec<u8>> {
        self.inner()
            .files
            .get(&(key.clone(), name.to_owned()))
            .cloned()
    }

    /// Puts `bytes` under a file name of a window (`None`: removes it), as a person could.
    pub fn set_file(&self, key: &WindowKey, name: &str, bytes: Option<&[u8]>) {
        let mut inner = self.inner();
        let at = (key.clone(), name.to_owned());
        match bytes {
            Some(bytes) => {
                inner.files.insert(at, bytes.to_vec());
            }
            None => {
                inner.files.remove(&at);
            }
        }
    }

    /// The names of a window's files, sorted.
    #[must_use]
    pub fn file_names(&self, key: &WindowKey) -> Vec<String> {
        self.inner()
            .files
            .keys()
            .filter(|(k, _)| k == key)
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// A window's log text: its artefacts dir's, or its own.
    #[must_use]
    pub fn log(&self, key: &WindowKey, artefacts_dir: Option<&Path>) -> String {
        self.inner()
            .logs
            .get(&log_key(key, artefacts_dir))
            .cloned()
            .unwrap_or_default()
    }

    /// The window's picture, as last written; `None` before one was.
    #[must_use]
    pub fn picture(&self, key: &WindowKey, artefacts_dir: Option<&Path>) -> Option<String> {
        let name = super::picture_name(key, artefacts_dir);
        let at = artefacts_dir.map_or_else(|| window_folder(key), Path::to_path_buf);
        self.inner().pictures.get(&at.join(name)).cloned()
    }

    /// The metrics file written at `path`, as last written.
    #[must_use]
    pub fn metrics_file(&self, path: &Path) -> Option<String> {
        self.inner().metrics_files.get(path).cloned()
    }
}

fn window_folder(key: &WindowKey) -> PathBuf {
    PathBuf::from(format!("{}/{}", key.repo, key.work_item))
}

fn log_key(key: &WindowKey, artefacts_dir: Option<&Path>) -> PathBuf {
    artefacts_dir.map_or_else(
        || PathBuf::from(format!("{}/{}", key.repo, key.work_item)),
        Path::to_path_buf,
    )
}

impl Store for MemoryStore {
    fn exists(&self, key: &WindowKey) -> Result<bool, StoreError> {
        Ok(self.inner().windows.contains(key))
    }

    fn create(&self, key: &WindowKey) -> Result<(), StoreError> {
        self.inner().windows.insert(key.clone());
        Ok(())
    }

    fn discard(&self, key: &WindowKey, files: &[StateFile], log: bool) -> Result<(), StoreError> {
        let mut inner = self.inner();
        for file in files {
            inner.files.remove(&(key.clone(), file.name().to_owned()));
        }
        if log {
            inner.logs.remove(&log_key(key, None));
        }
        if !inner.files.keys().any(|(k, _)| k == key) {
            inner.windows.remove(key);
        }
        Ok(())
    }

    fn try_lock(&self, key: &WindowKey) -> Result<Option<WindowLock>, StoreError> {
        if !self.inner().locks.insert(key.clone()) {
            return Ok(None);
        }
        Ok(Some(WindowLock::new(Held {
            inner: Arc::clone(&self.inner),
            key: key.clone(),
        })))
    }

    fn read(&self, key: &WindowKey, file: StateFile) -> Result<Read, StoreError> {
        Ok(self
            .file(key, file.name())
            .map_or(Read::Missing, Read::Bytes))
    }

    fn write(&self, key: &WindowKey, file: StateFile, bytes: &[u8]) -> Result<(), StoreError> {
        self.set_file(key, file.name(), Some(bytes));
        Ok(())
    }

    fn keep_aside(
        &self,
        key: &WindowKey,
        file: StateFile,
        stamp: &str,
    ) -> Result<String, StoreError> {
        let mut inner = self.inner();
        let bytes = inner
            .files
            .get(&(key.clone(), file.name().to_owned()))
            .cloned()
            .unwrap_or_default();
        let mut n = 0u32;
        loop {
            let kept_as = if n == 0 {
                format!("{}.damaged-{stamp}", file.name())
            } else {
                format!("{}.damaged-{stamp}-{n}", file.name())
            };
            if let std::collections::btree_map::Entry::Vacant(free) =
                inner.files.entry((key.clone(), kept_as.clone()))
            {
                free.insert(bytes);
                return Ok(kept_as);
            }
            n = n.saturating_add(1);
        }
    }

    fn kept_aside(&self, key: &WindowKey, file: StateFile) -> Result<bool, StoreError> {
        let prefix = format!("{}.damaged-", file.name());
        Ok(self
            .file_names(key)
            .iter()
            .any(|name| name.starts_with(&prefix)))
    }

    fn remove(&self, key: &WindowKey, file: StateFile) -> Result<(), StoreError> {
        self.set_file(key, file.name(), None);
        Ok(())
    }

    fn list(&self) -> Result<Vec<WindowKey>, StoreError> {
        Ok(self.inner().windows.iter().cloned().collect())
    }

    fn start_log(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        header: &str,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner();
        let log = inner.logs.entry(log_key(key, artefacts_dir)).or_default();
        if artefacts_dir.is_some() && !log.is_empty() {
            log.push_str(&format!("\n---\n\n{header}"));
        } else {
            *log = header.to_owned();
        }
        Ok(())
    }

    fn append_log_row(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        row: &str,
        head: &str,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner();
        let log = inner.logs.entry(log_key(key, artefacts_dir)).or_default();
        if !log.lines().last().is_some_and(|l| l.starts_with('|')) {
            log.push_str(&format!("\n{head}"));
        }
        log.push_str(row);
        Ok(())
    }

    fn append_log(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        text: &str,
    ) -> Result<(), StoreError> {
        self.inner()
            .logs
            .entry(log_key(key, artefacts_dir))
            .or_default()
            .push_str(text);
        Ok(())
    }

    fn try_lock_repo(&self, repo: &RepoName) -> Result<Option<WindowLock>, StoreError> {
        if !self.inner().repo_locks.insert(repo.clone()) {
            return Ok(None);
        }
        Ok(Some(WindowLock::new(HeldRepo {
            inner: Arc::clone(&self.inner),
            repo: repo.clone(),
        })))
    }

    fn read_known_good(&self, repo: &RepoName) -> Result<Read, StoreError> {
        Ok(self
            .inner()
            .known_good
            .get(repo)
            .cloned()
            .map_or(Read::Missing, Read::Bytes))
    }

    fn write_known_good(&self, repo: &RepoName, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner().known_good.insert(repo.clone(), bytes.to_vec());
        Ok(())
    }

    fn write_picture(
        &self,
        key: &WindowKey,
        artefacts_dir: Option<&Path>,
        svg: &str,
    ) -> Result<(), StoreError> {
        let name = super::picture_name(key, artefacts_dir);
        let at = artefacts_dir.map_or_else(|| window_folder(key), Path::to_path_buf);
        self.inner().pictures.insert(at.join(name), svg.to_owned());
        Ok(())
    }

    fn try_lock_metrics(&self) -> Result<Option<WindowLock>, StoreError> {
        let mut inner = self.inner();
        if inner.metrics_locked {
            return Ok(None);
        }
        inner.metrics_locked = true;
        Ok(Some(WindowLock::new(HeldMetrics {
            inner: Arc::clone(&self.inner),
        })))
    }

    fn read_metrics(&self) -> Result<Read, StoreError> {
        Ok(self
            .inner()
            .metrics
            .clone()
            .map_or(Read::Missing, Read::Bytes))
    }

    fn write_metrics(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner().metrics = Some(bytes.to_vec());
        Ok(())
    }

    fn write_metrics_file(&self, path: &Path, text: &str) -> Result<(), StoreError> {
        self.inner()
            .metrics_files
            .insert(path.to_owned(), text.to_owned());
        Ok(())
    }
}
