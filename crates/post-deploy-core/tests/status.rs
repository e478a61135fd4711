//! `status` at a glance: the counts a tick prints, and a strip of the latest ticks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    reason = "tests"
)]

mod support;

use std::time::Duration;

use support::Scenario;

#[test]
fn status_gives_the_counts_the_tick_printed_and_a_strip_of_its_latest_ticks() {
    let mut s = Scenario::new();
    s.set("LATENCY_MS", "100").set("WINDOW_S", "900");
    s.arm();
    let mut last = None;
    for i in 0..14 {
        // Quiet, then 10% 5xx from the ninth tick on.
        s.world.log_requests(40, if i >= 8 { 4 } else { 0 });
        last = Some(s.tick());
        s.world.advance(Duration::from_secs(30));
    }
    let last = last.unwrap();
    let rows = s.monitor().status(None, None).unwrap();
    let row = &rows[0];
    let json = serde_json::to_value(row).unwrap();
    let tick = serde_json::to_value(&last).unwrap();
    for key in [
        "window_requests",
        "window_errors_5xx",
        "recent_requests",
        "recent_errors_5xx",
        "window_timed_requests",
        "window_slow_requests",
        "recent_timed_requests",
        "recent_slow_requests",
    ] {
        assert_eq!(json[key], tick[key], "{key}: status {json}\ntick {tick}");
    }
    assert_eq!(row.window_requests, 14 * 40);
    // The latest 12 ticks (the 3rd to the 14th), oldest first, by the recent span's ratio
    // against 5%: none at first; at the 9th, its 120 s span holds 4 of 160 requests (2.5%:
    // half a bar, rounded up to the fifth); then 10% and more, full.
    assert_eq!(row.strip, "▁▁▁▁▁▁▅█████");
}
