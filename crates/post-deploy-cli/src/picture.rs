//! `replay --svg`: the window's picture, written to the file named.

use std::path::Path;

use post_deploy_core::replay::ReplayReport;
use post_deploy_core::window::picture::{Picture, render};

/// Writes the picture of the replayed window to `path`: the one a live window draws of its
/// state, from the replayed window's state after its last tick.
///
/// # Errors
///
/// The file cannot be written; the message says why.
pub(crate) fn write(path: &Path, report: &ReplayReport) -> Result<(), String> {
    let svg = render(&Picture::of(&report.target, &report.progress));
    fs_err::write(path, svg).map_err(|e| e.to_string())
}
