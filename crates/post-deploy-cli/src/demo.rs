//! `post-deploy demo`: a self-contained run against a loopback target.

use post_deploy_core::Config;

use crate::cli::DemoArgs;
use crate::commands::{CliError, Exit};

/// Runs the demo.
///
/// # Errors
/// [`CliError`] when the demo cannot run.
pub fn run(_args: &DemoArgs, _config: &Config) -> Result<Exit, CliError> {
    Err(CliError::Io("the demo is not built yet".to_owned()))
}
