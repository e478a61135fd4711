//! The operator's commands: `disarm`, `extend`, `rollback` and `promote`, each under the
//! window's lock (waiting for a tick in flight), each followed by the metrics.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the driver, over its own vocabulary"
)]
use super::*;

impl Monitor<'_> {
    /// Ends a window early; later ticks report it finished, disarmed.
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be used.
    pub fn disarm(
        &self,
        repo: &RepoName,
        work_item: &WorkItem,
    ) -> Result<TickOutcome, MonitorError> {
        let key = WindowKey::new(repo, work_item);
        if !self.store.exists(&key)? {
            return Ok(not_armed(repo, work_item));
        }
        let lock = self.wait_for_lock(&key)?;
        let answer = self.run(Command::Disarm, &key)?;
        drop(lock);
        self.publish_metrics(Some(&key), None);
        Ok(answer.outcome)
    }

    /// An operator moves a watching window's deadline `by` later (at most 30 days from arm in
    /// all).
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be used.
    pub fn extend(
        &self,
        repo: &RepoName,
        work_item: &WorkItem,
        by: Duration,
    ) -> Result<OperatorOutcome, MonitorError> {
        self.operator(Command::Extend(by), repo, work_item)
    }

    /// An operator asks for the rollback now: the same guards and at-most-once path as an
    /// automatic one; the window then verifies recovery.
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be used.
    pub fn rollback(
        &self,
        repo: &RepoName,
        work_item: &WorkItem,
    ) -> Result<OperatorOutcome, MonitorError> {
        self.operator(Command::Rollback, repo, work_item)
    }

    /// An operator ends a watching window now as good (its image is known good when it
    /// never degraded).
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be used.
    pub fn promote(
        &self,
        repo: &RepoName,
        work_item: &WorkItem,
    ) -> Result<OperatorOutcome, MonitorError> {
        self.operator(Command::Promote, repo, work_item)
    }

    /// Runs an operator's command under the window's lock, waiting for a tick in flight.
    fn operator(
        &self,
        command: Command,
        repo: &RepoName,
        work_item: &WorkItem,
    ) -> Result<OperatorOutcome, MonitorError> {
        let key = WindowKey::new(repo, work_item);
        let answer = if self.store.exists(&key)? {
            let lock = self.wait_for_lock(&key)?;
            let answer = self.run(command, &key)?;
            drop(lock);
            answer
        } else {
            let outcome = not_armed(repo, work_item);
            let refused = Some(outcome.reason.clone());
            Answer { outcome, refused }
        };
        self.publish_metrics(Some(&key), None);
        let Answer { outcome, refused } = answer;
        Ok(OperatorOutcome {
            repo: outcome.repo,
            work_item: outcome.work_item,
            done: refused.is_none(),
            reason: refused.unwrap_or(outcome.reason),
            finished: outcome.finished,
            deadline: outcome.deadline,
        })
    }
}
