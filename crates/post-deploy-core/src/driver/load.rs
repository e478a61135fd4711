//! Loading a window under its lock: damaged files kept aside and replaced in place, never
//! removed first.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the driver, over its own vocabulary"
)]
use super::*;

impl Monitor<'_> {
    /// Reads a window's state under its lock. A damaged file is kept aside for a person and
    /// replaced in place, never removed first: a window whose `window.json` was damaged takes
    /// no action any more, and one whose `target.json` was damaged is finished.
    pub(super) fn load_window(
        &self,
        key: &WindowKey,
        now: DateTime<Utc>,
    ) -> Result<Found, MonitorError> {
        let stamp = damage_stamp(now);
        let store = &*self.store;
        let target = match store::load::<WindowTarget>(store, key, StateFile::Target, &stamp)? {
            Loaded::Ok(t) if t.repo == key.repo && t.work_item == key.work_item => t,
            // A target.json copied from another window is as good as damaged.
            Loaded::Ok(_) => {
                let kept_as = store.keep_aside(key, StateFile::Target, &stamp)?;
                let detail = "it names another window";
                return self.target_damaged(key, &kept_as, detail, now);
            }
            Loaded::Damaged { kept_as, detail } => {
                return self.target_damaged(key, &kept_as, &detail, now);
            }
            Loaded::Missing => {
                // Finished windows whose target was damaged keep only their progress.
                if let Loaded::Ok(p) =
                    store::load::<Progress>(store, key, StateFile::Progress, &stamp)?
                    && let Some(o) = &p.outcome
                {
                    return Ok(Found::Ended(replay_without_target(key, &p, o)));
                }
                return Ok(Found::Ended(not_armed(&key.repo, &key.work_item)));
            }
        };
        let name = StateFile::Progress.name();
        let damaged = match store::load::<Progress>(store, key, StateFile::Progress, &stamp)? {
            Loaded::Ok(progress) => {
                return Ok(Found::Window {
                    target,
                    progress,
                    note: None,
                });
            }
            // Arm writes window.json before target.json, so a window without one lost it.
            Loaded::Missing => (
                format!("{name} (missing)"),
                format!("state file {name} is missing"),
            ),
            Loaded::Damaged { kept_as, detail } => (
                kept_as.clone(),
                format!("state file {name} was damaged ({detail}) and is kept as {kept_as}"),
            ),
        };
        let mut progress = Progress {
            damaged: Some(damaged.0),
            ..Progress::new(now)
        };
        let mut note = damaged.1;
        // The record of a rollback the window made is never lost with its progress.
        let copy = StateFile::Rollback.name();
        match store::load::<RollbackCopy>(store, key, StateFile::Rollback, &stamp)? {
            Loaded::Missing => {}
            Loaded::Ok(kept) => {
                kept.restore(&mut progress);
                note.push_str(&format!("; its rollback is known from {copy}"));
            }
            Loaded::Damaged { kept_as, detail } => note.push_str(&format!(
                "; {copy} was damaged too ({detail}) and is kept as {kept_as}"
            )),
        }
        // Replaces the damaged file in place: until this write lands, the next call finds it
        // damaged again, never missing.
        store::save(store, key, StateFile::Progress, &progress)?;
        Ok(Found::Window {
            target,
            progress,
            note: Some(note),
        })
    }

    /// A window whose `target.json` is damaged finishes: its finished progress is written,
    /// then the damaged target (kept aside already) is removed.
    pub(super) fn target_damaged(
        &self,
        key: &WindowKey,
        kept_as: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<Found, MonitorError> {
        let stamp = damage_stamp(now);
        let store = &*self.store;
        let mut progress = match store::load::<Progress>(store, key, StateFile::Progress, &stamp)? {
            Loaded::Ok(p) => p,
            _ => Progress::new(now),
        };
        if progress.outcome.is_none() {
            let last = progress.last.as_ref().map(|l| l.verdict);
            let target = StateFile::Target.name();
            machine::finish(
                &mut progress,
                EndReason::Damaged,
                format!(
                    "state file {target} was damaged ({detail}) and is kept as {kept_as}; \
                     the window cannot go on and takes no action any more"
                ),
                last,
                now,
            );
            store::save(store, key, StateFile::Progress, &progress)?;
        }
        store.remove(key, StateFile::Target)?;
        let outcome = progress.outcome.clone().unwrap_or_else(|| Outcome {
            verdict: Verdict::Healthy,
            action: ActionKind::None,
            recovered: None,
            end: EndReason::Damaged,
            reason: String::new(),
            at: now,
            blind: false,
        });
        Ok(Found::Ended(replay_without_target(
            key, &progress, &outcome,
        )))
    }
}
