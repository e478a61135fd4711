//! The `post-deploy` binary's shell: parses the command line, loads the configuration, wires
//! the real adapters of `post-deploy-adapters` (ureq, the system clock, the docker CLI, a
//! webhook) into the core, and prints one JSON value per command.

pub mod cli;
mod commands;
pub mod demo;
mod output;
mod output_table;
mod picture;
mod replay;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use commands::{CliError, Exit, run, watch_exit};

/// Everything the binary does: parse `args`, run with `env`, print, and return the exit code.
pub fn main_with(
    args: impl IntoIterator<Item = OsString>,
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(mut e) => {
            clip_values(&mut e);
            // clap prints help and version to stdout (exit 0) and errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let code = match run(cli, env) {
        Ok(exit) => exit.code(),
        Err(e) => {
            output::error(&e);
            e.exit().code()
        }
    };
    ExitCode::from(code)
}

/// Cuts every value a command-line error quotes (a refused value, an unknown argument) as
/// reasons quote outside text ([`post_deploy_core::text::clip`]): an argument may be 128 KiB.
fn clip_values(e: &mut clap::Error) {
    use clap::error::ContextValue;
    use post_deploy_core::text::clip;
    let clipped: Vec<_> = e
        .context()
        .filter_map(|(kind, value)| match value {
            ContextValue::String(s) => Some((kind, ContextValue::String(clip(s)))),
            ContextValue::Strings(v) => Some((
                kind,
                ContextValue::Strings(v.iter().map(|s| clip(s)).collect()),
            )),
            _ => None,
        })
        .collect();
    for (kind, value) in clipped {
        e.insert(kind, value);
    }
}
