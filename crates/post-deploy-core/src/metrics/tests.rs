use chrono::TimeZone as _;
use proptest::prelude::*;

use super::*;

fn deadline() -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000, 0).single().unwrap()
}

fn watching(rolled_back: bool) -> WindowView {
    WindowView::Watching {
        requests: 40,
        errors_5xx: 3,
        degraded: rolled_back,
        deadline: deadline(),
        rolled_back,
    }
}

fn finished(rolled_back: bool, blind: bool) -> WindowView {
    WindowView::Finished {
        verdict: if rolled_back {
            Verdict::Degraded
        } else {
            Verdict::Healthy
        },
        action: if rolled_back {
            ActionKind::Rollback
        } else {
            ActionKind::None
        },
        rolled_back,
        blind,
    }
}

fn finished_total(r: &Records) -> u64 {
    r.finished.iter().map(|f| f.count).sum()
}

#[test]
fn the_text_has_every_family_before_any_sample() {
    insta::assert_snapshot!(Records::new().text());
}

#[test]
fn the_text_of_watching_and_finished_windows() {
    let mut r = Records::new();
    r.sync("shop", "w1", &watching(false));
    r.sync("shop", "w2", &watching(true));
    r.sync("shop", "w3", &watching(false));
    r.sync("shop", "w3", &finished(false, true));
    r.last_tick = Some(deadline());
    insta::assert_snapshot!(r.text());
}

#[test]
fn a_window_finished_once_is_counted_once_however_often_it_is_synced() {
    let mut r = Records::new();
    r.sync("shop", "w1", &watching(false));
    r.sync("shop", "w1", &watching(true));
    r.sync("shop", "w1", &watching(true));
    for _ in 0..3 {
        r.sync("shop", "w1", &finished(true, false));
    }
    assert_eq!(finished_total(&r), 1);
    assert_eq!(r.rollbacks.get("shop"), Some(&1));
    assert!(r.watching.is_empty());
}

#[test]
fn a_rollback_seen_only_once_finished_is_still_counted() {
    let mut r = Records::new();
    r.sync("shop", "w1", &watching(false));
    // A crash after the rollback and before the next write: the window is seen finished.
    r.sync("shop", "w1", &finished(true, false));
    assert_eq!(r.rollbacks.get("shop"), Some(&1));
}

proptest! {
    /// Whatever the order of windows' syncs and however many are lost to crashes, each
    /// window that was seen watching and then finished counts once in the finished counter
    /// and its rollback once, and none that was not seen finished counts.
    #[test]
    fn counters_count_each_window_once(
        plan in prop::collection::vec((0_usize..6, 0_u8..4, any::<bool>()), 0..200),
    ) {
        let mut r = Records::new();
        // Per window: 0 watching, 1 rolled back, 2 finished.
        let mut stage = [0_u8; 6];
        let mut seen_watching = [false; 6];
        let mut rolled = [false; 6];
        let mut seen_finished = [false; 6];
        for (w, step, lost) in plan {
            let name = format!("w{w}");
            match step {
                0 => {}
                1 if stage[w] == 0 => { stage[w] = 1; rolled[w] = true; }
                2 | 3 if stage[w] < 2 => stage[w] = 2,
                _ => {}
            }
            if lost {
                continue;
            }
            let view = if stage[w] == 2 {
                finished(rolled[w], false)
            } else {
                watching(stage[w] == 1)
            };
            if stage[w] < 2 {
                seen_watching[w] = true;
            } else if seen_watching[w] {
                seen_finished[w] = true;
            }
            r.sync("shop", &name, &view);
        }
        let expected = seen_finished.iter().filter(|s| **s).count() as u64;
        prop_assert_eq!(finished_total(&r), expected);
        let expected_rollbacks = (0..6)
            .filter(|w| rolled[*w] && seen_watching[*w] && (seen_finished[*w] || r.watching.get(&format!("shop/w{w}")).is_some_and(|e| e.rollback_counted)))
            .count() as u64;
        prop_assert_eq!(r.rollbacks.get("shop").copied().unwrap_or(0), expected_rollbacks);
    }
}
