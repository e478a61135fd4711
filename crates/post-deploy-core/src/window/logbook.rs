//! `16-post-deploy-log.md`: the window's log for people.
//!
//! Windows that share an artefacts folder share its one log: each window adds its own section
//! (header and outcome) and every row names its window, so rows of windows ticking at the same
//! time can be told apart.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{Outcome, WindowTarget};
use crate::classify::{Classification, RuleName};
use crate::config::hide_userinfo;
use crate::decide::ActionKind;
use crate::signals::{HealthSignal, LogSignal, Observations, Signals};

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Keeps a cell on one line and out of the table's way.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The log's header and the tick table's head, written at arm.
#[must_use]
pub fn header(target: &WindowTarget) -> String {
    let s = &target.settings;
    let mut out = String::new();
    let _ = writeln!(out, "# post-deploy: {} {}\n", target.repo, target.work_item);
    let _ = writeln!(out, "## Target\n");
    // target.json keeps the credentials for the probe; the log is for people, and uploaded.
    let _ = writeln!(
        out,
        "- Health URL: {}",
        cell(&hide_userinfo(&target.health_url))
    );
    match &target.service {
        Some(service) => {
            let _ = writeln!(out, "- Service: {service}");
        }
        None => {
            let _ = writeln!(
                out,
                "- Container: {}",
                target.container.as_deref().unwrap_or("(none)")
            );
        }
    }
    let _ = writeln!(
        out,
        "- Previous image: {}",
        target.previous_image.as_deref().unwrap_or("(none)")
    );
    if let Some(source) = &target.prometheus {
        let _ = writeln!(
            out,
            "- Counts from Prometheus: {} (requests `{}`, 5xx `{}`{})",
            cell(&source.url.without_userinfo()),
            cell(source.requests.as_str()),
            cell(source.errors.as_str()),
            source
                .latency
                .as_ref()
                .map_or_else(String::new, |l| format!(", latency `{}`", cell(l.as_str())))
        );
    }
    let _ = writeln!(
        out,
        "- Image at arm: {}",
        target.armed_image.as_ref().map_or_else(
            || "(not recorded)".to_owned(),
            |i| format!("{} ({})", i.image_ref, i.image_id)
        )
    );
    let _ = writeln!(out, "\n## Thresholds\n");
    let _ = writeln!(
        out,
        "- Window: {} s, one tick every {} s",
        s.window.as_secs(),
        s.interval.as_secs()
    );
    let _ = writeln!(
        out,
        "- DEGRADED at {} consecutive failed health probes",
        s.fail_threshold
    );
    let _ = writeln!(
        out,
        "- DEGRADED when the window 5xx ratio is above {} over at least {} requests",
        s.ratio_threshold, s.min_requests
    );
    if let Some(span) = s.recent_span() {
        let _ = writeln!(
            out,
            "- DEGRADED when the 5xx ratio of the last {} s is above {} over at least {} \
             requests",
            span.as_secs(),
            s.ratio_threshold,
            s.min_requests
        );
    }
    if s.confidence.is_on() {
        let _ = writeln!(
            out,
            "- A ratio is above its threshold only with confidence {}: P[Binomial(n, \
             threshold) >= k] below {}",
            s.confidence,
            1.0 - s.confidence.get()
        );
    }
    if let Some(ms) = s.latency_ms {
        let _ = writeln!(
            out,
            "- DEGRADED when the window's {} quantile latency is above {ms} ms, over at least {} \
             requests",
            s.latency_quantile, s.min_requests
        );
    }
    let _ = writeln!(
        out,
        "- Health probe time limit: {} s",
        s.health_timeout.as_secs()
    );
    let _ = writeln!(out, "\n## Window\n");
    let _ = writeln!(out, "- Armed at: {}", stamp(target.armed_at));
    let _ = writeln!(out, "- Deadline: {}", stamp(target.deadline));
    let key = crate::store::WindowKey::new(&target.repo, &target.work_item);
    let picture = crate::store::picture_name(&key, target.artefacts_dir.as_deref());
    let _ = writeln!(out, "- Picture: [{picture}]({picture})");
    let _ = writeln!(out, "\n## Ticks\n");
    out.push_str(&table_head());
    out
}

/// The head of the tick table: written under a header, and again before a row whenever
/// another window's section came in between (a shared log).
#[must_use]
pub fn table_head() -> String {
    "| time | window | health | latency | 5xx in tick | window 5xx ratio | recent 5xx ratio | window latency | verdict | rule | action | note |\n\
     |---|---|---|---|---|---|---|---|---|---|---|---|\n"
        .to_owned()
}

/// What a row or an outcome calls its window: `repo work-item`.
fn window_name(target: &WindowTarget) -> String {
    format!("{} {}", target.repo, target.work_item)
}

/// One tick's row.
#[must_use]
pub fn row(
    target: &WindowTarget,
    at: DateTime<Utc>,
    signals: &Signals,
    window: &Observations,
    classification: &Classification,
    action: ActionKind,
    note: &str,
) -> String {
    let (health, latency) = match &signals.health {
        HealthSignal::Sample { sample } => (
            match &sample.outcome {
                Ok(status) => format!("{status} pass"),
                Err(why) => format!("FAIL: {why}"),
            },
            format!("{} ms", sample.latency.as_millis()),
        ),
        HealthSignal::Missing { .. } => ("missing".to_owned(), "-".to_owned()),
    };
    let tick_5xx = match &signals.logs {
        LogSignal::Counted { counts, .. } => format!("{}/{}", counts.errors_5xx, counts.total),
        // Prometheus gives the window's totals, in the ratio column.
        LogSignal::NoContainer | LogSignal::Totals { .. } => "-".to_owned(),
        LogSignal::Missing { .. } => "missing".to_owned(),
    };
    let ratio = crate::access_log::ratio(window.errors_5xx, window.requests).map_or_else(
        || "-".to_owned(),
        |r| {
            let pct = 100.0 * r;
            format!("{pct:.1}% ({}/{})", window.errors_5xx, window.requests)
        },
    );
    let recent = window.recent.map_or_else(
        || "-".to_owned(),
        |r| {
            crate::access_log::ratio(r.errors_5xx, r.requests).map_or_else(
                || format!("- (0 in {} s)", r.seconds),
                |ratio| {
                    let pct = 100.0 * ratio;
                    format!(
                        "{pct:.1}% ({}/{} in {} s)",
                        r.errors_5xx, r.requests, r.seconds
                    )
                },
            )
        },
    );
    let window_latency = latency_cell(target, window);
    let rule = classification
        .rule
        .name()
        .map_or_else(|| "-".to_owned(), |r| r.to_string());
    format!(
        "| {} | {} | {} | {latency} | {tick_5xx} | {ratio} | {recent} | {window_latency} | {} | {rule} | {action} | {} |\n",
        stamp(at),
        window_name(target),
        cell(&health),
        classification.verdict,
        cell(note),
    )
}

/// The window's latency as the latency rule sees it: `-` when the rule is off; slow among
/// timed requests; or the quantile a Prometheus histogram gave.
fn latency_cell(target: &WindowTarget, window: &Observations) -> String {
    let s = &target.settings;
    let Some(threshold) = s.latency_ms else {
        return "-".to_owned();
    };
    if target
        .prometheus
        .as_ref()
        .is_some_and(|p| p.latency.is_some())
    {
        return window.latency_ms.map_or_else(
            || format!("p{} missing", s.latency_quantile),
            |ms| format!("p{} {ms}", s.latency_quantile),
        );
    }
    format!("{}/{} > {threshold} ms", window.slow, window.timed)
}

/// The outcome section, written once when the window finishes.
#[must_use]
pub fn outcome(
    target: &WindowTarget,
    outcome: &Outcome,
    rule: Option<RuleName>,
    alerts: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n## Outcome of {}\n", window_name(target));
    let _ = writeln!(out, "- Finished at: {}", stamp(outcome.at));
    let _ = writeln!(out, "- Verdict: **{}**", outcome.verdict);
    if let Some(rule) = rule {
        let _ = writeln!(out, "- Rule: {rule}");
    }
    let _ = writeln!(out, "- Action: **{}**", outcome.action);
    if let Some(recovered) = outcome.recovered {
        let _ = writeln!(out, "- Recovered: {}", if recovered { "yes" } else { "no" });
    }
    if outcome.blind {
        let _ = writeln!(out, "- Blind: yes");
    }
    let _ = writeln!(out, "- Reason: {}", cell(&outcome.reason));
    if !alerts.is_empty() {
        let _ = writeln!(out, "- Alerts sent: {}", alerts.join(", "));
    }
    out
}
