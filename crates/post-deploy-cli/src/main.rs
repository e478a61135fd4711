//! The `post-deploy` binary: parse the command line, run it, map the result to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    post_deploy_cli::main_with(std::env::args_os(), std::env::vars_os())
}
