//! Known good: the images production proved, per (repo, container or service), so a rollback
//! goes to an image that ran a whole window without degrading, not merely to the one before.
//!
//! `<state dir>/.post-deploy-known-good-<repo>.json` holds a repo's list, newest first, at
//! most [`MAX_KNOWN_GOOD`] entries per repo. The list is pure data here; the driver reads and
//! writes it through the store under the repo's lock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::WorkItem;

/// The most entries a repo's list keeps.
pub const MAX_KNOWN_GOOD: usize = 20;

/// One image production proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownGood {
    /// The container or service the window watched.
    pub target: String,
    /// The image reference, as recorded at arm (for example `app:1.4`).
    pub image: String,
    /// Its id on the engine (`sha256:…`).
    pub image_id: String,
    /// The work item whose window proved it.
    pub work_item: WorkItem,
    /// When that window finished.
    pub at: DateTime<Utc>,
}

/// A repo's known-good images, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownGoodList {
    /// Newest first; at most [`MAX_KNOWN_GOOD`].
    pub entries: Vec<KnownGood>,
}

impl KnownGoodList {
    /// The list with `proved` recorded first. The same image proved again for the same target
    /// moves to the front instead of appearing twice; the oldest entries beyond
    /// [`MAX_KNOWN_GOOD`] are dropped.
    #[must_use]
    pub fn record(mut self, proved: KnownGood) -> Self {
        // An id unknown to the engine (a service's image on other nodes only) is no identity:
        // the reference is.
        self.entries.retain(|e| {
            !(e.target == proved.target
                && if proved.image_id.is_empty() || e.image_id.is_empty() {
                    e.image == proved.image
                } else {
                    e.image_id == proved.image_id
                })
        });
        self.entries.insert(0, proved);
        self.entries.truncate(MAX_KNOWN_GOOD);
        self
    }

    /// The entries of `target`, newest first.
    pub fn of<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a KnownGood> + 'a {
        self.entries.iter().filter(move |e| e.target == target)
    }

    /// The newest image proved for `target` that is not `running` (the image id the target
    /// runs now) and that `on_engine` says is there under its recorded reference.
    pub fn previous_for<'a>(
        &'a self,
        target: &'a str,
        running: Option<&str>,
        mut on_engine: impl FnMut(&KnownGood) -> bool,
    ) -> Option<&'a KnownGood> {
        self.of(target)
            .filter(|e| Some(e.image_id.as_str()) != running)
            .find(|e| on_engine(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(target: u8, image: u8, n: i64) -> KnownGood {
        KnownGood {
            target: format!("c{target}"),
            image: format!("app:{image}"),
            image_id: format!("sha256:{image}"),
            work_item: WorkItem::new(&format!("w{n}")).unwrap(),
            at: DateTime::from_timestamp(1_800_000_000 + n, 0).unwrap(),
        }
    }

    proptest! {
        #[test]
        fn the_list_stays_bounded_ordered_and_never_offers_what_runs_now(
            finishes in prop::collection::vec((0u8..3, 0u8..30), 0..80),
            running in 0u8..30,
        ) {
            let mut list = KnownGoodList::default();
            for (n, (target, image)) in finishes.iter().enumerate() {
                list = list.record(entry(*target, *image, n as i64));
                prop_assert!(list.entries.len() <= MAX_KNOWN_GOOD);
                // Newest first: each entry was recorded after the ones below it.
                prop_assert!(list.entries.windows(2).all(|w| w[0].at > w[1].at));
                // The newest finish is first.
                prop_assert_eq!(&list.entries[0].image, &format!("app:{image}"));
                // No (target, image) twice.
                let mut seen = std::collections::BTreeSet::new();
                prop_assert!(list.entries.iter().all(|e| seen.insert((e.target.clone(), e.image_id.clone()))));
            }
            let now = format!("sha256:{running}");
            for target in 0u8..3 {
                let name = format!("c{target}");
                if let Some(offered) = list.previous_for(&name, Some(&now), |_| true) {
                    prop_assert_ne!(&offered.image_id, &now);
                    prop_assert_eq!(&offered.target, &name);
                    // It is the newest such entry of that target.
                    let newest = list.of(&name).find(|e| e.image_id != now).unwrap();
                    prop_assert_eq!(offered, newest);
                }
            }
        }
    }

    /// A service's image that was on other nodes only has no id here: such entries are told
    /// apart by their references, not all taken for one image.
    #[test]
    fn images_without_an_id_are_kept_apart_by_reference() {
        let no_id = |image: u8, n: i64| KnownGood {
            image_id: String::new(),
            ..entry(0, image, n)
        };
        let list = KnownGoodList::default()
            .record(no_id(1, 1))
            .record(no_id(2, 2))
            .record(no_id(1, 3));
        let images: Vec<&str> = list.entries.iter().map(|e| e.image.as_str()).collect();
        assert_eq!(images, ["app:1", "app:2"]);
    }

    #[test]
    fn an_image_not_on_the_engine_is_skipped_for_an_older_one() {
        let list = KnownGoodList::default()
            .record(entry(0, 1, 1))
            .record(entry(0, 2, 2))
            .record(entry(0, 3, 3));
        let offered = list.previous_for("c0", Some("sha256:3"), |e| e.image != "app:2");
        assert_eq!(offered.map(|e| e.image.as_str()), Some("app:1"));
        assert!(list.previous_for("c9", None, |_| true).is_none());
    }
}
