//! What the driver writes for people and tools besides the log: the window's picture after
//! every change, and the metrics file after every arm, tick and operator command. Neither
//! ever fails a command: a picture that cannot be written is named in the reason, a metrics
//! file that cannot be written is said once as a notice ([`Monitor::take_notices`]).

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the driver, over its own vocabulary"
)]
use super::*;

use crate::metrics::{Records, WindowView};
use crate::window::picture::{Picture, render};

impl Monitor<'_> {
    /// Rewrites the window's picture from its state; `Err` says why it could not be.
    pub(super) fn write_picture(
        &self,
        key: &WindowKey,
        target: &WindowTarget,
        progress: &Progress,
    ) -> Result<(), StoreError> {
        let svg = render(&Picture::of(target, progress));
        self.store
            .write_picture(key, target.artefacts_dir.as_deref(), &svg)
    }

    /// What a window just armed shows: its first picture (under the window's `lock`, then
    /// released) and the metrics with it; a note for the reason when the picture could not
    /// be written.
    pub(super) fn armed_outputs(
        &self,
        key: &WindowKey,
        target: &WindowTarget,
        lock: WindowLock,
    ) -> String {
        let picture = self.write_picture(key, target, &Progress::new(target.armed_at));
        drop(lock);
        self.publish_metrics(Some(key), None);
        match picture {
            Ok(()) => String::new(),
            Err(e) => format!("; picture not written: {e}"),
        }
    }

    /// Lists a watching window in the metrics records before a command runs on it, when it
    /// is not listed yet (it was armed while no metrics were kept): so it is counted when
    /// this command finishes it, also if a crash comes first.
    pub(super) fn metrics_enter(&self, switches: &Switches, key: &WindowKey, progress: &Progress) {
        if switches.metrics_file.is_none() || progress.phase != Phase::Watching {
            return;
        }
        let listed = self.load_records().is_ok_and(|r| {
            r.watching.contains_key(&crate::metrics::window_key(
                key.repo.as_str(),
                key.work_item.as_str(),
            ))
        });
        if !listed {
            self.publish_metrics(Some(key), None);
        }
    }

    /// Brings the metrics records up to the windows' saved states (`key`'s, and every
    /// watching one's) and rewrites the metrics file, when `ORCH_POST_DEPLOY_METRICS_FILE`
    /// is set; `ticked`: a tick ran then. A fault is kept as a notice, never an error.
    pub(super) fn publish_metrics(&self, key: Option<&WindowKey>, ticked: Option<DateTime<Utc>>) {
        // The switches as read for this call; a bad value already failed the command.
        let Ok(switches) = self.switches() else {
            return;
        };
        let Some(path) = switches.metrics_file else {
            return;
        };
        if let Err(why) = self.try_publish(&path, key, ticked) {
            self.notice(format!(
                "metrics file {} not written: {why}",
                path.display()
            ));
        }
    }

    fn try_publish(
        &self,
        path: &std::path::Path,
        key: Option<&WindowKey>,
        ticked: Option<DateTime<Utc>>,
    ) -> Result<(), String> {
        let _lock = self
            .wait_for(|| self.store.try_lock_metrics(), "the metrics records")
            .map_err(|e| e.to_string())?;
        let mut records = self.load_records()?;
        let mut keys: Vec<WindowKey> = records
            .watching
            .values()
            .filter_map(|w| {
                Some(WindowKey::new(
                    &RepoName::new(&w.repo).ok()?,
                    &WorkItem::new(&w.work_item).ok()?,
                ))
            })
            .collect();
        keys.extend(key.cloned());
        for k in keys {
            let view = self.window_view(&k);
            if view == WindowView::Unknown && !self.store.exists(&k).unwrap_or(true) {
                records.forget(k.repo.as_str(), k.work_item.as_str());
            }
            records.sync(k.repo.as_str(), k.work_item.as_str(), &view);
        }
        if let Some(at) = ticked {
            records.last_tick = Some(records.last_tick.map_or(at, |last| last.max(at)));
        }
        let mut bytes = serde_json::to_vec_pretty(&records).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        self.store
            .write_metrics(&bytes)
            .map_err(|e| format!("records not kept: {e}"))?;
        self.store
            .write_metrics_file(path, &records.text())
            .map_err(|e| e.to_string())
    }

    /// The metrics records; none yet: empty ones. Damaged ones are an error: counters are
    /// never started again from zero over them.
    fn load_records(&self) -> Result<Records, String> {
        match self.store.read_metrics().map_err(|e| e.to_string())? {
            store::Read::Missing => Ok(Records::new()),
            store::Read::Bytes(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{} is damaged ({e}); it is left as it is for a person to read",
                    store::METRICS_RECORDS
                )
            }),
            store::Read::Unusable(why) => Err(format!("{}: {why}", store::METRICS_RECORDS)),
        }
    }

    /// A window as the metrics see it, from its saved state.
    fn window_view(&self, key: &WindowKey) -> WindowView {
        let store = &*self.store;
        let Ok(target) = store::peek::<WindowTarget>(store, key, StateFile::Target) else {
            return match store::peek::<Progress>(store, key, StateFile::Progress) {
                // A window whose target was damaged finishes with its progress.
                Ok(p) if p.outcome.is_some() => WindowView::of_finished(&p),
                _ => WindowView::Unknown,
            };
        };
        match store::peek::<Progress>(store, key, StateFile::Progress) {
            Ok(progress) => WindowView::of(&target, &progress),
            Err(_) => WindowView::Unknown,
        }
    }

    /// Keeps `text` to be said once to the person running the command.
    pub(super) fn notice(&self, text: String) {
        let mut notices = self
            .notices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !notices.contains(&text) {
            notices.push(text);
        }
    }

    /// What the driver has to say besides its answers (a metrics file it could not write),
    /// each once; the binary writes them to stderr.
    #[must_use]
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .notices
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}
