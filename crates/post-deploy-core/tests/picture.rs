//! The window's picture, as a person sees it: windows run over fakes and simulated time,
//! their SVG rendered to pixels with resvg at 800 px wide, and the pixels checked where the
//! threshold line, a failed tick and the rollback mark must be; the SVG of four windows
//! (healthy, rolled back and recovered, blind, slow) kept as golden snapshots.
//!
//! `PICTURE_PNG_DIR=dir cargo test -p post-deploy-core --test picture` also writes the
//! PNGs there, to look at.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    missing_docs,
    reason = "tests"
)]

mod support;

use std::sync::OnceLock;

use post_deploy_core::store::MemoryStore;
use support::Scenario;

const LEFT: f64 = 64.0;
const RIGHT: f64 = 784.0;

fn picture(s: &Scenario) -> String {
    let memory: &MemoryStore = s.memory.as_ref().unwrap();
    memory
        .picture(&s.key(), s.artefacts_dir.as_deref())
        .expect("a picture was written")
}

fn fonts() -> &'static resvg::usvg::fontdb::Database {
    static FONTS: OnceLock<resvg::usvg::fontdb::Database> = OnceLock::new();
    FONTS.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_system_fonts();
        db
    })
}

/// The SVG rendered at its own size (800 px wide).
fn render(svg: &str, name: &str) -> resvg::tiny_skia::Pixmap {
    let mut options = resvg::usvg::Options::default();
    *options.fontdb_mut() = fonts().clone();
    let tree = resvg::usvg::Tree::from_str(svg, &options).expect("the SVG parses");
    let size = tree.size().to_int_size();
    assert_eq!(size.width(), 800);
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    if let Some(dir) = std::env::var_os("PICTURE_PNG_DIR") {
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        pixmap.save_png(path).unwrap();
    }
    pixmap
}

fn rgb(pixmap: &resvg::tiny_skia::Pixmap, x: f64, y: f64) -> (u8, u8, u8) {
    let p = pixmap.pixel(x.round() as u32, y.round() as u32).unwrap();
    (p.red(), p.green(), p.blue())
}

fn hex(colour: &str) -> (u8, u8, u8) {
    let c = u32::from_str_radix(colour.trim_start_matches('#'), 16).unwrap();
    ((c >> 16) as u8, (c >> 8) as u8, c as u8)
}

/// Whether some pixel within `r` of (x, y) is `colour`, give or take antialiasing.
fn near(pixmap: &resvg::tiny_skia::Pixmap, x: f64, y: f64, r: f64, colour: &str) -> bool {
    let (cr, cg, cb) = hex(colour);
    let close = |a: u8, b: u8| a.abs_diff(b) <= 24;
    let mut dy = -r;
    while dy <= r {
        let mut dx = -r;
        while dx <= r {
            let (pr, pg, pb) = rgb(pixmap, x + dx, y + dy);
            if close(pr, cr) && close(pg, cg) && close(pb, cb) {
                return true;
            }
            dx += 1.0;
        }
        dy += 1.0;
    }
    false
}

/// The `y` of a text element whose content is `text`.
fn text_y(svg: &str, text: &str) -> f64 {
    let line = svg
        .lines()
        .find(|l| l.starts_with("<text") && l.ends_with(&format!(">{text}</text>")))
        .unwrap_or_else(|| panic!("no text {text:?} in\n{svg}"));
    let y = line.split(" y=\"").nth(1).unwrap();
    y[..y.find('"').unwrap()].parse().unwrap()
}

/// Where `seconds` after arm lands across, over a span of `span` seconds.
fn x_at(seconds: f64, span: f64) -> f64 {
    LEFT + (RIGHT - LEFT) * seconds / span
}

fn healthy() -> Scenario {
    let s = Scenario::new();
    s.arm();
    s.run(|w, _| w.log_requests(30, 1));
    s
}

/// Health fails from the fourth tick (90 s) on, and a few more 5xx come: DEGRADED at the
/// third failure (150 s) with the window ratio just under its threshold, rolled back then,
/// recovered three passing ticks later.
fn rolled_back() -> Scenario {
    let s = Scenario::new();
    s.arm();
    let outs = s.run(|w, i| {
        let errors = match i {
            0..3 => 1,
            3..6 => 2,
            _ => 0,
        };
        w.log_requests(30, errors);
        if i == 3 {
            w.break_new_image();
        }
    });
    assert_eq!(outs.last().unwrap().recovered, Some(true));
    s
}

fn blind() -> Scenario {
    let s = Scenario::new();
    s.arm();
    s.run(|w, i| {
        w.docker_broken.set(i % 2 == 0);
        w.log_requests(30, 0);
    });
    s
}

/// The latency rule: requests turn slow from the fifth tick (120 s), until the share of
/// slow ones passes `1 - 0.9` and the window rolls back.
fn slow() -> Scenario {
    let mut s = Scenario::new();
    s.set("LATENCY_MS", "100")
        .set("LATENCY_QUANTILE", "0.9")
        .set("5XX_THRESHOLD", "0.2");
    s.arm();
    s.run(|w, i| {
        let now = w.now.get();
        let mut logs = w.logs.borrow_mut();
        for k in 0..30 {
            let slow = (4..8).contains(&i) && k % 3 == 0;
            let ms = if slow { 900 } else { 20 };
            let status = if k == 0 { 500 } else { 200 };
            logs.push((now, format!(r#"{{"status":{status},"duration_ms":{ms}}}"#)));
        }
    });
    s
}

#[test]
fn golden_pictures_of_four_windows() {
    for (name, s) in [
        ("healthy", healthy()),
        ("rolled_back", rolled_back()),
        ("blind", blind()),
        ("slow", slow()),
    ] {
        let svg = picture(&s);
        render(&svg, name);
        insta::assert_snapshot!(name, svg);
    }
}

#[test]
fn the_rendered_picture_shows_the_threshold_the_failed_ticks_and_the_rollback() {
    let s = rolled_back();
    let svg = picture(&s);
    let png = render(&svg, "rolled_back_pixels");
    // The window is 300 s; the ticks run at 0, 30, … s after arm.
    let span = 300.0;
    let vermillion = "#D55E00";
    // The threshold (5%) is drawn where the ratio axis puts 5% (its labels sit 4 px under
    // their grid lines), dashed: along it, in the first minute, the colour shows.
    let y0 = text_y(&svg, "0%") - 4.0;
    let y2 = text_y(&svg, "2%") - 4.0;
    let y5 = y0 + (y2 - y0) * 2.5;
    let on_threshold = (0..40)
        .map(|k| x_at(5.0 + f64::from(k), span))
        .filter(|x| near(&png, *x, y5, 1.0, vermillion))
        .count();
    assert!(
        on_threshold >= 10,
        "{on_threshold} threshold pixels at y {y5}"
    );
    // And not a little above it: it is a line, not a band.
    assert!(!near(&png, x_at(20.0, span), y5 - 12.0, 1.0, vermillion));
    // The health strip's cell of the first failed tick (90 s; the cell from 60 s) is
    // vermillion; the cell of the first tick after arm (0 s … 30 s) is not.
    let strip = text_y(&svg, "health") - 5.0;
    assert!(near(&png, x_at(75.0, span), strip, 1.0, vermillion));
    assert!(near(&png, x_at(15.0, span), strip, 1.0, "#009E73"));
    assert!(!near(&png, x_at(15.0, span), strip, 1.0, vermillion));
    // The rollback mark: an orange line at 150 s, down through the plot.
    let orange = "#E69F00";
    let mid_plot = y5 + 40.0;
    assert!(near(&png, x_at(150.0, span), mid_plot, 1.5, orange));
    assert!(!near(&png, x_at(120.0, span), mid_plot, 1.5, orange));
    // Its word is there.
    assert!(svg.contains(">rollback</text>"), "{svg}");
    assert!(svg.contains(">DEGRADED (health)</text>"), "{svg}");
    assert!(svg.contains(">recovered</text>"), "{svg}");
}

#[test]
fn the_picture_is_self_contained() {
    for s in [healthy(), rolled_back(), blind()] {
        let svg = picture(&s);
        for banned in [
            "<script",
            "href",
            "url(",
            "@import",
            "<foreignObject",
            "<image",
        ] {
            assert!(!svg.contains(banned), "{banned} in\n{svg}");
        }
    }
}

#[test]
fn a_window_of_many_ticks_keeps_its_state_small_and_its_picture_whole() {
    let mut s = Scenario::new();
    s.set("WINDOW_S", "12000").set("INTERVAL_S", "10");
    s.arm();
    let mut ticks = 0_u64;
    loop {
        s.world.log_requests(3, u64::from(ticks.is_multiple_of(50)));
        let out = s.tick();
        ticks += 1;
        if out.finished {
            break;
        }
        s.world.advance(out.requeue_after.unwrap());
    }
    assert!(ticks > 1100, "{ticks} ticks");
    let state = s.file("window.json").unwrap();
    assert!(
        state.len() < 256 * 1024,
        "window.json is {} bytes",
        state.len()
    );
    let progress: post_deploy_core::window::Progress = serde_json::from_slice(&state).unwrap();
    let held: u64 = progress.history.iter().map(|p| u64::from(p.ticks)).sum();
    assert_eq!(held, ticks);
    assert!(progress.history.len() <= post_deploy_core::window::history::MAX_POINTS);
    let svg = picture(&s);
    assert!(svg.len() < 512 * 1024, "the picture is {} bytes", svg.len());
    render(&svg, "long");
    // Time across in hours, up to the deadline (3 h 20 min after arm).
    assert!(svg.contains(">3 h</text>"), "{svg}");
}
