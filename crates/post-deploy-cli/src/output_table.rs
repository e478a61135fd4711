//! The `status` table for people.

use chrono::{DateTime, Utc};
use post_deploy_core::WindowStatus;
use post_deploy_core::known_good::KnownGood;

/// "3m ago", "in 12m", "2h ago".
#[must_use]
pub(crate) fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = now.signed_duration_since(at).num_seconds();
    let (abs, past) = (secs.unsigned_abs(), secs >= 0);
    let span = match abs {
        0..60 => format!("{abs}s"),
        60..3600 => format!("{}m", abs / 60),
        3600..86_400 => format!("{}h{:02}m", abs / 3600, (abs % 3600) / 60),
        _ => format!("{}d", abs / 86_400),
    };
    if past {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// Renders rows as an aligned table; the last column (the reason) is not padded.
#[must_use]
pub(crate) fn render(rows: &[WindowStatus], now: DateTime<Utc>) -> String {
    if rows.is_empty() {
        return "no windows\n".to_owned();
    }
    let head = [
        "REPO",
        "WORK ITEM",
        "PHASE",
        "VERDICT",
        "ACTION",
        "RULE",
        "TICKS",
        "LATEST TICKS",
        "ARMED",
        "DEADLINE",
        "REASON",
    ];
    let body = rows
        .iter()
        .map(|r| {
            vec![
                r.repo.to_string(),
                r.work_item.to_string(),
                r.phase.clone(),
                r.verdict.to_string(),
                r.action.to_string(),
                r.rule.map_or_else(|| "-".to_owned(), |r| r.to_string()),
                r.ticks.to_string(),
                if r.strip.is_empty() {
                    "-".to_owned()
                } else {
                    r.strip.clone()
                },
                r.armed_at.map_or_else(|| "-".to_owned(), |t| age(t, now)),
                r.deadline.map_or_else(|| "-".to_owned(), |t| age(t, now)),
                r.reason.clone(),
            ]
        })
        .collect();
    table(&head, body)
}

/// The known-good images as a table for people.
#[must_use]
pub(crate) fn render_known_good(rows: &[KnownGood], now: DateTime<Utc>) -> String {
    if rows.is_empty() {
        return "no known-good images\n".to_owned();
    }
    let head = ["IMAGE", "IMAGE ID", "TARGET", "PROVED BY", "WHEN"];
    let body = rows
        .iter()
        .map(|r| {
            vec![
                r.image.clone(),
                r.image_id.clone(),
                r.target.clone(),
                r.work_item.to_string(),
                age(r.at, now),
            ]
        })
        .collect();
    table(&head, body)
}

/// Aligns `head` and `body` in columns; the last column is not padded.
fn table(head: &[&str], body: Vec<Vec<String>>) -> String {
    let mut table: Vec<Vec<String>> = vec![head.iter().map(|s| (*s).to_owned()).collect()];
    table.extend(body);
    let columns = head.len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            table
                .iter()
                .map(|row| row.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i.saturating_add(1) == columns {
                    cell.clone()
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
