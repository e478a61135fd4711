//! `status`: every window, read without moving anything.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the driver, over its own vocabulary"
)]
use super::*;

/// How many of its latest ticks a window's status shows at a glance.
const STRIP_TICKS: usize = 12;

impl Monitor<'_> {
    /// Every window in the store, optionally only one repo's or one work item's.
    /// Read-only: a damaged file is reported, not moved.
    ///
    /// # Errors
    /// [`MonitorError`] when the windows cannot be listed.
    pub fn status(
        &self,
        repo: Option<&RepoName>,
        work_item: Option<&WorkItem>,
    ) -> Result<Vec<WindowStatus>, MonitorError> {
        let mut rows = Vec::new();
        for key in self.store.list()? {
            if repo.is_some_and(|x| *x != key.repo)
                || work_item.is_some_and(|x| *x != key.work_item)
            {
                continue;
            }
            rows.push(self.status_row(key));
        }
        Ok(rows)
    }

    pub(super) fn status_row(&self, key: WindowKey) -> WindowStatus {
        let target = store::peek::<WindowTarget>(&*self.store, &key, StateFile::Target);
        let progress = store::peek::<Progress>(&*self.store, &key, StateFile::Progress);
        let mut row = WindowStatus {
            repo: key.repo.clone(),
            work_item: key.work_item.clone(),
            phase: Phase::Watching.as_str().to_owned(),
            verdict: Verdict::Healthy,
            action: ActionKind::None,
            ticks: 0,
            armed_at: target.as_ref().ok().map(|t| t.armed_at),
            deadline: target.as_ref().ok().map(|t| t.deadline),
            reason: String::new(),
            rule: None,
            window_requests: 0,
            window_errors_5xx: 0,
            recent_requests: 0,
            recent_errors_5xx: 0,
            window_timed_requests: None,
            window_slow_requests: None,
            recent_timed_requests: None,
            recent_slow_requests: None,
            strip: String::new(),
        };
        let p = match &progress {
            Ok(p) => p,
            Err(e) => {
                row.reason = format!("{}: {e}", StateFile::Progress.name());
                if target.is_ok() {
                    // Damaged (or lost) state: finished for every command, its rollback
                    // known from the copy kept apart.
                    row.phase = Phase::Finished.as_str().to_owned();
                    self.kept_rollback(&key, &mut row);
                }
                return row;
            }
        };
        row.phase = p.phase.as_str().to_owned();
        row.ticks = p.ticks;
        row.rule = p.degraded_rule;
        if let Ok(t) = &target {
            row.deadline = Some(p.deadline(t));
            // The counts exactly as a tick of the window would print them.
            let counts = machine::progress_outcome(t, p, None, false);
            row.window_requests = counts.window_requests;
            row.window_errors_5xx = counts.window_errors_5xx;
            row.recent_requests = counts.recent_requests;
            row.recent_errors_5xx = counts.recent_errors_5xx;
            row.window_timed_requests = counts.window_timed_requests;
            row.window_slow_requests = counts.window_slow_requests;
            row.recent_timed_requests = counts.recent_timed_requests;
            row.recent_slow_requests = counts.recent_slow_requests;
            row.strip = crate::window::history::strip(
                &p.history,
                t.settings.ratio_threshold.get(),
                STRIP_TICKS,
            );
        }
        if let Some(o) = &p.outcome {
            row.verdict = o.verdict;
            row.action = o.action;
            row.reason = o.reason.clone();
            return row;
        }
        row.verdict = if p.ever_degraded {
            Verdict::Degraded
        } else {
            Verdict::Healthy
        };
        row.action = machine::window_action(p);
        row.reason = p
            .last
            .as_ref()
            .map_or_else(|| "armed, not ticked yet".to_owned(), |l| l.reason.clone());
        if let Err(e) = &target {
            row.reason = format!("{}: {e}", StateFile::Target.name());
        }
        row
    }

    /// The verdict, action and ticks of a window whose progress cannot be read, from the
    /// copy of its rollback record, when it made one.
    fn kept_rollback(&self, key: &WindowKey, row: &mut WindowStatus) {
        let Ok(copy) = store::peek::<RollbackCopy>(&*self.store, key, StateFile::Rollback) else {
            return;
        };
        let mut p = Progress::new(row.armed_at.unwrap_or_default());
        copy.restore(&mut p);
        row.verdict = if p.ever_degraded {
            Verdict::Degraded
        } else {
            Verdict::Healthy
        };
        row.action = machine::window_action(&p);
        row.ticks = p.ticks;
    }
}
