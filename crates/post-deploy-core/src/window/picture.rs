//! The window as a picture: a self-contained SVG (no script, no external font or link),
//! legible at 800 px wide, written from the window's data by [`render`], a pure function.
//!
//! Time runs across from arm to the deadline (or the last tick, when later). Under the
//! title and legend, a strip shows each tick's health (pass, fail, missing), then the
//! words of the marks (DEGRADED with its rule, the rollback, recovery, superseded, blind,
//! the deadline) over vertical lines, and a plot of the window's and the recent span's 5xx
//! ratio against the threshold (dashed), and with the latency rule the window's share of
//! slow requests against `1 - LATENCY_QUANTILE` (dashed). Colours are Okabe and Ito's,
//! which survive the common colour-blindnesses; a line's meaning never rests on colour
//! alone (the legend names each, thresholds are dashed, marks carry a word).

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use super::history::{TickHealth, TickPoint};
use super::{EndReason, Progress, RollbackState, WindowTarget};

/// The picture's width, in pixels.
pub const WIDTH: f64 = 800.0;

const LEFT: f64 = 64.0;
const RIGHT: f64 = 784.0;
const FONT: &str = "DejaVu Sans, Verdana, Arial, sans-serif";
const TEXT_SIZE: f64 = 12.0;
/// A wide estimate of a character's advance at [`TEXT_SIZE`], so estimated boxes that do not
/// meet never hold text that does.
const CHAR_WIDTH: f64 = TEXT_SIZE * 0.64;
/// The same for a capital letter in bold.
const CAPITAL_WIDTH: f64 = TEXT_SIZE * 0.8;
const LINE: f64 = 16.0;
const STRIP_HEIGHT: f64 = 14.0;
const PLOT_HEIGHT: f64 = 200.0;

/// Okabe–Ito colours.
mod colour {
    pub(super) const BLACK: &str = "#000000";
    pub(super) const ORANGE: &str = "#E69F00";
    pub(super) const SKY_BLUE: &str = "#56B4E9";
    pub(super) const GREEN: &str = "#009E73";
    pub(super) const BLUE: &str = "#0072B2";
    pub(super) const VERMILLION: &str = "#D55E00";
    pub(super) const PURPLE: &str = "#CC79A7";
    /// Not a hue: a missing probe is an absence.
    pub(super) const GREY: &str = "#BBBBBB";
    pub(super) const AXIS: &str = "#555555";
}

/// What a mark says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarkKind {
    /// The window became DEGRADED.
    Degraded,
    /// The rollback ran (or was decided).
    Rollback,
    /// Health came back after the rollback.
    Recovered,
    /// The window ended another way: not recovered, superseded, disarmed, promoted, …
    Ended,
    /// A signal it was armed to read was missing in more than half of its ticks.
    Blind,
    /// The deadline.
    Deadline,
}

impl MarkKind {
    fn colour(self) -> &'static str {
        match self {
            Self::Degraded => colour::VERMILLION,
            Self::Rollback => colour::ORANGE,
            Self::Recovered => colour::GREEN,
            Self::Ended | Self::Blind | Self::Deadline => colour::BLACK,
        }
    }

    fn dashed(self) -> bool {
        matches!(self, Self::Deadline)
    }
}

/// An event on the time axis, with its word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: MarkKind,
    /// The word shown (`DEGRADED (5xx)`, `rollback`, …).
    pub label: String,
}

/// Everything the picture shows, as data: built from a window's state by [`Picture::of`],
/// or by `replay` from its ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// What the picture is of (`repo work-item`).
    pub title: String,
    /// A line under the title: how the window ended, or where it stands.
    pub subtitle: String,
    /// Time zero.
    pub armed_at: DateTime<Utc>,
    /// The deadline.
    pub deadline: DateTime<Utc>,
    /// `5XX_THRESHOLD`.
    pub ratio_threshold: f64,
    /// `1 - LATENCY_QUANTILE` when the latency rule judges the share of slow requests.
    pub slow_limit: Option<f64>,
    /// The ticks.
    pub points: Vec<TickPoint>,
    /// The events.
    pub marks: Vec<Mark>,
}

impl Picture {
    /// The picture of a window as its state says.
    #[must_use]
    pub fn of(target: &WindowTarget, progress: &Progress) -> Self {
        let s = &target.settings;
        let from_logs = target
            .prometheus
            .as_ref()
            .is_none_or(|p| p.latency.is_none());
        let slow_limit = s
            .latency_ms
            .filter(|_| from_logs)
            .map(|_| 1.0 - s.latency_quantile.get());
        let deadline = progress.deadline(target);
        Self {
            title: format!("{} {}", target.repo, target.work_item),
            subtitle: subtitle(progress),
            armed_at: target.armed_at,
            deadline,
            ratio_threshold: s.ratio_threshold.get(),
            slow_limit,
            points: progress.history.clone(),
            marks: marks(progress, deadline),
        }
    }
}

fn subtitle(progress: &Progress) -> String {
    let ticks = progress.ticks;
    match &progress.outcome {
        None => format!("watching: {ticks} ticks so far"),
        Some(o) => {
            let recovered = match o.recovered {
                Some(true) => ", recovered",
                Some(false) => ", not recovered",
                None => "",
            };
            let blind = if o.blind { ", blind" } else { "" };
            format!(
                "finished {}: {} {}{recovered}{blind} after {ticks} ticks",
                stamp(o.at),
                o.verdict,
                o.action
            )
        }
    }
}

/// The marks a window's state holds.
fn marks(progress: &Progress, deadline: DateTime<Utc>) -> Vec<Mark> {
    let mut marks = Vec::new();
    if let Some(at) = progress.degraded_at {
        let label = progress
            .degraded_rule
            .map_or_else(|| "DEGRADED".to_owned(), |r| format!("DEGRADED ({r})"));
        marks.push(Mark {
            at,
            kind: MarkKind::Degraded,
            label,
        });
    }
    if let Some(r) = &progress.rollback {
        let how = match r.state {
            RollbackState::Failed { .. } => " FAILED",
            RollbackState::Unknown { .. } => " (outcome unknown)",
            RollbackState::Intended | RollbackState::Done { .. } => "",
        };
        let who = if r.by_operator { " by operator" } else { "" };
        marks.push(Mark {
            at: r.decided_at,
            kind: MarkKind::Rollback,
            label: format!("rollback{who}{how}"),
        });
    }
    if let Some(o) = &progress.outcome {
        let ended = match o.end {
            EndReason::Deadline => None,
            EndReason::Recovered => Some((MarkKind::Recovered, "recovered")),
            EndReason::NotRecovered => Some((MarkKind::Ended, "not recovered")),
            EndReason::Superseded => Some((MarkKind::Ended, "superseded")),
            EndReason::Disarmed => Some((MarkKind::Ended, "disarmed")),
            EndReason::Disabled => Some((MarkKind::Ended, "disabled")),
            EndReason::Damaged => Some((MarkKind::Ended, "state damaged")),
            EndReason::Promoted => Some((MarkKind::Ended, "promoted")),
        };
        if let Some((kind, word)) = ended {
            marks.push(Mark {
                at: o.at,
                kind,
                label: word.to_owned(),
            });
        }
        if o.blind {
            marks.push(Mark {
                at: o.at,
                kind: MarkKind::Blind,
                label: "blind".to_owned(),
            });
        }
    }
    marks.push(Mark {
        at: deadline,
        kind: MarkKind::Deadline,
        label: "deadline".to_owned(),
    });
    marks
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Text as XML character data.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A wide estimate of `text`'s width: capitals (and bold words are mostly capitals here)
/// take more room than the rest.
fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| {
            if c.is_uppercase() {
                CAPITAL_WIDTH
            } else {
                CHAR_WIDTH
            }
        })
        .sum()
}

/// Seconds from `from` to `to`, negative when `to` is earlier.
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let d = to.signed_duration_since(from);
    // Milliseconds fit an f64 exactly for any span a window can have.
    #[expect(
        clippy::cast_precision_loss,
        reason = "milliseconds of a window's span"
    )]
    let ms = d.num_milliseconds() as f64;
    ms / 1000.0
}

/// Where time and ratios land on the canvas.
struct Scale {
    start: DateTime<Utc>,
    span_s: f64,
    plot_top: f64,
    y_max: f64,
}

impl Scale {
    fn x(&self, at: DateTime<Utc>) -> f64 {
        let t = seconds(self.start, at).clamp(0.0, self.span_s);
        LEFT + (RIGHT - LEFT) * t / self.span_s
    }

    fn y(&self, ratio: f64) -> f64 {
        let r = ratio.clamp(0.0, self.y_max);
        self.plot_top + PLOT_HEIGHT * (1.0 - r / self.y_max)
    }
}

/// A round step for about `max_ticks` ticks over `span`, from `steps`; past the last of
/// them, that step times 2, 5, 10, 20, 50, ... So a span of any length (a damaged
/// `target.json` may name a deadline thousands of years away) gets a handful of ticks.
fn round_step(span: f64, steps: &[f64], max_ticks: f64) -> f64 {
    if let Some(step) = steps.iter().copied().find(|s| span / s <= max_ticks) {
        return step;
    }
    let mut step = steps.last().copied().unwrap_or(1.0);
    for factor in [2.0, 2.5, 2.0].into_iter().cycle().take(MAX_STEP_WIDENINGS) {
        if span / step <= max_ticks {
            break;
        }
        step *= factor;
    }
    step
}

/// How often [`round_step`] widens the last step: ten decades, far past any span a date can
/// have.
const MAX_STEP_WIDENINGS: usize = 60;

/// The most ticks an axis draws, whatever its scale says.
const MAX_AXIS_TICKS: f64 = 32.0;

const TIME_STEPS: [f64; 18] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    10800.0, 21600.0, 43200.0, 86400.0,
];
const RATIO_STEPS: [f64; 13] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0,
];

fn time_label(t: f64, step: f64, span: f64) -> String {
    if step < 60.0 {
        format!("{t:.0} s")
    } else if span < 7200.0 {
        format!("{:.0} min", t / 60.0)
    } else if step < 86400.0 {
        let h = t / 3600.0;
        if (h - h.round()).abs() < 1e-9 {
            format!("{h:.0} h")
        } else {
            format!("{h:.1} h")
        }
    } else {
        format!("{:.0} d", t / 86400.0)
    }
}

fn percent(r: f64, step: f64) -> String {
    if step >= 0.01 {
        format!("{:.0}%", r * 100.0)
    } else {
        format!("{:.1}%", r * 100.0)
    }
}

/// Words placed in rows so that no two overlap: each goes in the first row where it fits.
fn place_labels(marks: &[(f64, &Mark)]) -> Vec<(f64, usize, bool)> {
    let mut rows: Vec<f64> = Vec::new();
    let mut placed = Vec::with_capacity(marks.len());
    for (x, mark) in marks {
        let w = text_width(&mark.label);
        // Right of the line, or left of it near the right edge.
        let (x0, anchor_end) = if x + 3.0 + w > RIGHT {
            (x - 3.0 - w, true)
        } else {
            (x + 3.0, false)
        };
        let row = match rows.iter().position(|end| *end + 6.0 <= x0) {
            Some(row) => row,
            None => {
                rows.push(f64::NEG_INFINITY);
                rows.len().saturating_sub(1)
            }
        };
        if let Some(end) = rows.get_mut(row) {
            *end = x0 + w;
        }
        placed.push((x0, row, anchor_end));
    }
    placed
}

/// The picture as SVG text.
#[must_use]
pub fn render(picture: &Picture) -> String {
    let end = picture
        .points
        .iter()
        .map(|p| p.at)
        .chain(picture.marks.iter().map(|m| m.at))
        .chain(std::iter::once(picture.deadline))
        .max()
        .unwrap_or(picture.deadline);
    let span_s = seconds(picture.armed_at, end).max(1.0);
    let mut marks: Vec<(f64, &Mark)> = Vec::new();
    let provisional = Scale {
        start: picture.armed_at,
        span_s,
        plot_top: 0.0,
        y_max: 1.0,
    };
    for m in &picture.marks {
        marks.push((provisional.x(m.at), m));
    }
    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    let placed = place_labels(&marks);
    let label_rows = placed
        .iter()
        .map(|p| p.1)
        .max()
        .map_or(0, |r| r.saturating_add(1));
    let legend = legend(picture);
    let legend_rows = legend
        .iter()
        .map(|i| i.row)
        .max()
        .map_or(1, |r| r.saturating_add(1));

    let title_y = 22.0;
    let legend_y = title_y + 2.0 * LINE;
    let strip_y = legend_y + row_f(legend_rows) * LINE + 4.0;
    // A second strip when the 5xx signal went missing at some tick (a blind window shows
    // where).
    let data_strip = picture.points.iter().any(|p| p.ratio_missing);
    let strips_end = if data_strip {
        strip_y + 2.0 * STRIP_HEIGHT + 4.0
    } else {
        strip_y + STRIP_HEIGHT
    };
    let labels_y = strips_end + LINE;
    let plot_top = labels_y + row_f(label_rows) * LINE + 4.0;
    let height = plot_top + PLOT_HEIGHT + 2.5 * LINE + 8.0;

    let y_top = picture
        .points
        .iter()
        .flat_map(|p| [p.window_ratio(), p.recent_ratio(), p.slow_share()])
        .flatten()
        .chain([picture.ratio_threshold])
        .chain(picture.slow_limit)
        .fold(0.0_f64, f64::max)
        .max(0.005)
        * 1.1;
    let y_step = round_step(y_top, &RATIO_STEPS, 5.0);
    let y_max = (y_top / y_step).ceil() * y_step;
    let scale = Scale {
        start: picture.armed_at,
        span_s,
        plot_top,
        y_max,
    };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0}" height="{height:.0}" viewBox="0 0 {WIDTH:.0} {height:.0}" font-family="{FONT}" font-size="{TEXT_SIZE:.0}">"#
    );
    let _ = writeln!(
        svg,
        r#"<title>post-deploy window {}</title>"#,
        esc(&picture.title)
    );
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{WIDTH:.0}" height="{height:.0}" fill="#FFFFFF"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="{title_y}" font-size="15" font-weight="bold">post-deploy window: {}</text>"#,
        esc(&picture.title)
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="{:.1}" fill="{}">{}</text>"##,
        title_y + LINE,
        colour::AXIS,
        esc(&picture.subtitle)
    );
    draw_legend(&mut svg, &legend, legend_y);
    draw_strip(&mut svg, picture, &scale, strip_y, Strip::Health);
    if data_strip {
        draw_strip(
            &mut svg,
            picture,
            &scale,
            strip_y + STRIP_HEIGHT + 4.0,
            Strip::Data,
        );
    }
    draw_axes(&mut svg, &scale, y_step);
    draw_series(&mut svg, picture, &scale);
    draw_marks(&mut svg, &marks, &placed, strip_y, labels_y, &scale);
    svg.push_str("</svg>\n");
    svg
}

fn row_f(rows: usize) -> f64 {
    f64::from(u32::try_from(rows).unwrap_or(u32::MAX))
}

/// One entry of the legend: a swatch (a line, dashed or not, or a block) and its words.
struct LegendItem {
    label: &'static str,
    colour: &'static str,
    style: Swatch,
    x: f64,
    row: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Swatch {
    Line,
    Dashed,
    Block,
}

fn legend(picture: &Picture) -> Vec<LegendItem> {
    let mut items = vec![
        ("health: pass", colour::GREEN, Swatch::Block),
        ("fail", colour::VERMILLION, Swatch::Block),
        ("missing", colour::GREY, Swatch::Block),
    ];
    if picture.points.iter().any(|p| p.ratio_missing) {
        items.push(("5xx data: read", colour::BLUE, Swatch::Block));
    }
    items.push(("window 5xx ratio", colour::BLUE, Swatch::Line));
    if picture.points.iter().any(|p| p.recent_requests.is_some()) {
        items.push(("recent 5xx ratio", colour::SKY_BLUE, Swatch::Line));
    }
    items.push(("5xx threshold", colour::VERMILLION, Swatch::Dashed));
    if picture.slow_limit.is_some() {
        items.push(("slow share", colour::PURPLE, Swatch::Line));
        items.push(("slow limit", colour::PURPLE, Swatch::Dashed));
    }
    let mut x = LEFT;
    let mut row = 0_usize;
    let mut out = Vec::new();
    for (label, colour, style) in items {
        let w = 22.0 + text_width(label) + 14.0;
        if x + w > RIGHT && x > LEFT {
            x = LEFT;
            row = row.saturating_add(1);
        }
        out.push(LegendItem {
            label,
            colour,
            style,
            x,
            row,
        });
        x += w;
    }
    out
}

fn draw_legend(svg: &mut String, items: &[LegendItem], top: f64) {
    for item in items {
        let y = top + row_f(item.row) * LINE;
        let x = item.x;
        match item.style {
            Swatch::Block => {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{x:.1}" y="{:.1}" width="16" height="10" fill="{}"/>"#,
                    y - 9.0,
                    item.colour
                );
            }
            Swatch::Line | Swatch::Dashed => {
                let dash = if item.style == Swatch::Dashed {
                    r#" stroke-dasharray="5 3""#
                } else {
                    ""
                };
                let width = if item.colour == colour::BLUE { 4 } else { 2 };
                let _ = writeln!(
                    svg,
                    r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="{width}"{dash}/>"#,
                    y - 4.0,
                    x + 16.0,
                    y - 4.0,
                    item.colour
                );
            }
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{y:.1}">{}</text>"#,
            x + 22.0,
            esc(item.label)
        );
    }
}

/// Which strip: each tick's health probe, or whether its 5xx signal was read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strip {
    Health,
    Data,
}

fn draw_strip(svg: &mut String, picture: &Picture, scale: &Scale, top: f64, strip: Strip) {
    let name = match strip {
        Strip::Health => "health",
        Strip::Data => "5xx data",
    };
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{name}</text>"#,
        LEFT - 6.0,
        top + STRIP_HEIGHT - 3.0
    );
    // Runs of ticks of one health are one block: a dense window is not striped.
    let mut runs: Vec<(f64, f64, TickHealth)> = Vec::new();
    let mut from = picture.armed_at;
    for p in &picture.points {
        let x0 = scale.x(from);
        let x1 = scale.x(p.at).max(x0 + 1.0);
        let health = match strip {
            Strip::Health => p.health.worst(),
            Strip::Data if p.ratio_missing => TickHealth::Missing,
            Strip::Data => TickHealth::Pass,
        };
        match runs.last_mut() {
            Some(run) if run.2 == health => run.1 = x1,
            _ => runs.push((x0, x1, health)),
        }
        from = from.max(p.at);
    }
    for (x0, x1, health) in runs {
        let fill = match health {
            TickHealth::Pass if strip == Strip::Data => colour::BLUE,
            TickHealth::Pass => colour::GREEN,
            TickHealth::Fail => colour::VERMILLION,
            TickHealth::Missing => colour::GREY,
        };
        let _ = writeln!(
            svg,
            r#"<rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{STRIP_HEIGHT}" fill="{fill}"/>"#,
            x1 - x0
        );
    }
}

fn draw_axes(svg: &mut String, scale: &Scale, y_step: f64) {
    let bottom = scale.plot_top + PLOT_HEIGHT;
    let axis = colour::AXIS;
    // Horizontal grid and the ratio axis.
    let mut k = 0.0_f64;
    while k * y_step <= scale.y_max + y_step * 1e-6 && k <= MAX_AXIS_TICKS {
        let r = k * y_step;
        let y = scale.y(r);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="#E5E5E5" stroke-width="1"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{axis}">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            percent(r, y_step)
        );
        k += 1.0;
    }
    // Time ticks.
    let t_step = round_step(scale.span_s, &TIME_STEPS, 8.0);
    let mut k = 0.0_f64;
    while k * t_step <= scale.span_s + 1e-6 && k <= MAX_AXIS_TICKS {
        let t = k * t_step;
        let x = LEFT + (RIGHT - LEFT) * t / scale.span_s;
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="{axis}" stroke-width="1"/>"#,
            bottom + 5.0
        );
        let label = time_label(t, t_step, scale.span_s);
        // A label that would run past the picture's edge ends at its tick instead.
        let anchor = if x + text_width(&label) / 2.0 > WIDTH - 2.0 {
            "end"
        } else {
            "middle"
        };
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="{anchor}" fill="{axis}">{label}</text>"#,
            bottom + 5.0 + LINE,
        );
        k += 1.0;
    }
    let _ = writeln!(
        svg,
        r#"<line x1="{LEFT}" y1="{bottom:.1}" x2="{RIGHT}" y2="{bottom:.1}" stroke="{axis}" stroke-width="1"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<line x1="{LEFT}" y1="{:.1}" x2="{LEFT}" y2="{bottom:.1}" stroke="{axis}" stroke-width="1"/>"#,
        scale.plot_top
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{axis}">time since arm ({})</text>"#,
        f64::midpoint(LEFT, RIGHT),
        bottom + 5.0 + 2.0 * LINE,
        esc(&stamp(scale.start))
    );
    let _ = writeln!(
        svg,
        r#"<text x="14" y="{:.1}" text-anchor="middle" fill="{axis}" transform="rotate(-90 14 {:.1})">share of requests</text>"#,
        scale.plot_top + PLOT_HEIGHT / 2.0,
        scale.plot_top + PLOT_HEIGHT / 2.0
    );
}

fn polyline(svg: &mut String, points: &[(f64, f64)], colour: &str, width: f64) {
    if points.is_empty() {
        return;
    }
    let mut coords = String::new();
    for (x, y) in points {
        let _ = write!(coords, "{x:.1},{y:.1} ");
    }
    let _ = writeln!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"/>"#,
        coords.trim_end()
    );
    // A lone point is still seen.
    if let [(x, y)] = points {
        let _ = writeln!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{colour}"/>"#
        );
    }
}

fn threshold(svg: &mut String, scale: &Scale, ratio: f64, colour: &str) {
    let y = scale.y(ratio);
    let _ = writeln!(
        svg,
        r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/>"#
    );
}

fn draw_series(svg: &mut String, picture: &Picture, scale: &Scale) {
    threshold(svg, scale, picture.ratio_threshold, colour::VERMILLION);
    if let Some(limit) = picture.slow_limit {
        threshold(svg, scale, limit, colour::PURPLE);
        let slow: Vec<_> = picture
            .points
            .iter()
            .filter_map(|p| Some((scale.x(p.at), scale.y(p.slow_share()?))))
            .collect();
        polyline(svg, &slow, colour::PURPLE, 2.0);
    }
    // The window's line wide, the recent span's narrow on top of it: where they agree, both
    // are still seen.
    let window: Vec<_> = picture
        .points
        .iter()
        .filter_map(|p| Some((scale.x(p.at), scale.y(p.window_ratio()?))))
        .collect();
    polyline(svg, &window, colour::BLUE, 4.0);
    let recent: Vec<_> = picture
        .points
        .iter()
        .filter_map(|p| Some((scale.x(p.at), scale.y(p.recent_ratio()?))))
        .collect();
    polyline(svg, &recent, colour::SKY_BLUE, 1.5);
}

fn draw_marks(
    svg: &mut String,
    marks: &[(f64, &Mark)],
    placed: &[(f64, usize, bool)],
    strip_y: f64,
    labels_y: f64,
    scale: &Scale,
) {
    let bottom = scale.plot_top + PLOT_HEIGHT;
    for ((x, mark), (x0, row, anchor_end)) in marks.iter().zip(placed) {
        let c = mark.kind.colour();
        let dash = if mark.kind.dashed() {
            r#" stroke-dasharray="3 3""#
        } else {
            ""
        };
        // Through the strips and through the plot, not through the words between them: no
        // line crosses another mark's word.
        for (from, to) in [
            (strip_y - 2.0, labels_y - LINE + 2.0),
            (scale.plot_top, bottom),
        ] {
            let _ = writeln!(
                svg,
                r#"<line x1="{x:.1}" y1="{from:.1}" x2="{x:.1}" y2="{to:.1}" stroke="{c}" stroke-width="2"{dash}/>"#,
            );
        }
        let y = labels_y + row_f(*row) * LINE;
        let (tx, anchor) = if *anchor_end {
            (x0 + text_width(&mark.label), "end")
        } else {
            (*x0, "start")
        };
        let _ = writeln!(
            svg,
            r#"<text x="{tx:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{c}" font-weight="bold">{}</text>"#,
            esc(&mark.label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_axis_of_any_span_gets_a_handful_of_round_ticks() {
        // A window's 15 minutes, a month, and the thousands of years a damaged target.json
        // can name: never more than the ticks asked for, each a round step.
        for (span, expected) in [
            (900.0, 120.0),
            (30.0 * 86400.0, 5.0 * 86400.0),
            (8000.0 * 365.25 * 86400.0, 5.0e5 * 86400.0),
        ] {
            let step = round_step(span, &TIME_STEPS, 8.0);
            assert_eq!(step, expected, "span {span}");
            assert!(span / step <= 8.0, "span {span}: step {step}");
        }
        assert_eq!(
            time_label(5.0 * 86400.0, 5.0 * 86400.0, 30.0 * 86400.0),
            "5 d"
        );
        assert_eq!(time_label(7200.0, 3600.0, 86400.0), "2 h");
    }
}
