//! The driver's side of known good: recording what a window proved, under the repo's lock,
//! and finding the image an `arm` without `--previous-image` rolls back to.

#[allow(
    clippy::wildcard_imports,
    reason = "a part of the driver, over its own vocabulary"
)]
use super::*;

impl Monitor<'_> {
    /// The newest known-good image of the request's container or service that is on the
    /// engine under its recorded reference (for a service: or that its registry answers for)
    /// and is not what the target runs now.
    pub(super) fn known_good_previous(
        &self,
        req: &ArmRequest,
        running: Option<&ContainerInfo>,
    ) -> Option<String> {
        let target = req.container.as_deref().or(req.service.as_deref())?;
        let list = self.known_good_list(&req.repo).ok()?;
        if req.container.is_none() {
            return self.known_good_service_image(&list, target, running);
        }
        let running = running.map(|r| r.image_id.as_str());
        let control = self.fx.control;
        let on_engine = |e: &KnownGood| {
            control
                .image_id(&e.image)
                .is_ok_and(|id| id.as_deref() == Some(e.image_id.as_str()))
        };
        list.previous_for(target, running, on_engine)
            .map(|e| e.image.clone())
    }

    /// [`known_good_previous`](Self::known_good_previous) of a Swarm service: its nodes pull
    /// the image, so an image its registry answers for counts, and the image's id on this
    /// engine may be unknown (empty) on either side. What the service runs now is told by the
    /// reference of its spec (a digest pins it) or, both known, by the id.
    fn known_good_service_image(
        &self,
        list: &KnownGoodList,
        service: &str,
        running: Option<&ContainerInfo>,
    ) -> Option<String> {
        let control = self.fx.control;
        let runs = |e: &KnownGood| {
            running.is_some_and(|r| {
                same_service_image(&r.image_ref, &e.image)
                    || (!e.image_id.is_empty() && r.image_id == e.image_id)
            })
        };
        let available = |e: &KnownGood| {
            control
                .service_image_id(&e.image)
                .is_ok_and(|id| id.is_some_and(|id| e.image_id.is_empty() || id == e.image_id))
        };
        list.of(service)
            .filter(|e| !runs(e))
            .find(|e| available(e))
            .map(|e| e.image.clone())
    }

    /// A repo's known-good images (none yet: an empty list).
    pub(super) fn known_good_list(&self, repo: &RepoName) -> Result<KnownGoodList, MonitorError> {
        match self.store.read_known_good(repo)? {
            store::Read::Missing => Ok(KnownGoodList::default()),
            store::Read::Bytes(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
            store::Read::Unusable(_) => Ok(KnownGoodList::default()),
        }
    }

    /// The known-good images of `repo`, newest first; only `target`'s (a container or
    /// service) when one is named.
    ///
    /// # Errors
    /// [`MonitorError`] when the state folder cannot be read.
    pub fn known_good(
        &self,
        repo: &RepoName,
        target: Option<&str>,
    ) -> Result<Vec<KnownGood>, MonitorError> {
        let list = self.known_good_list(repo)?;
        Ok(list
            .entries
            .into_iter()
            .filter(|e| target.is_none_or(|t| e.target == t))
            .collect())
    }

    /// Records an image a window proved, under the repo's lock: windows of one repo that
    /// finish at once each add theirs.
    pub(super) fn record_known_good(
        &self,
        repo: &RepoName,
        proved: KnownGood,
    ) -> Result<(), MonitorError> {
        let _lock = self.wait_for(|| self.store.try_lock_repo(repo), repo.as_str())?;
        let list = self.known_good_list(repo)?.record(proved);
        let mut bytes = serde_json::to_vec_pretty(&list).map_err(|source| StoreError::Encode {
            what: format!("known-good images of {repo}"),
            source,
        })?;
        bytes.push(b'\n');
        self.store.write_known_good(repo, &bytes)?;
        Ok(())
    }
}
