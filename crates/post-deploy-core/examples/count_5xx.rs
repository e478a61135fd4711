//! Counts requests and 5xx answers in an access log: a stand-in for `post-deploy count-5xx`.
//!
//! ```text
//! count_5xx [--format auto|clf|json|uvicorn] [FILE]
//! ```
//!
//! Reads FILE, or stdin without one, through [`count_reader`], and prints one JSON object:
//! `total`, `errors_5xx`, `ratio` (null without requests) and `unparsed`.

use std::io::{self, Write as _};
use std::process::ExitCode;

use post_deploy_core::access_log::{LogFormat, count_reader};

fn run() -> Result<(), String> {
    let mut format = LogFormat::Auto;
    let mut path = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--format" {
            let value = args.next().ok_or("--format needs a value")?;
            let value = value.to_str().ok_or("--format: not UTF-8")?;
            format = value.parse().map_err(|e| format!("--format: {e}"))?;
        } else if path.is_none() {
            path = Some(arg);
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    let counts = match &path {
        Some(path) => count_reader(format, fs_err::File::open(path).map_err(|e| e.to_string())?),
        None => count_reader(format, io::stdin().lock()),
    }
    .map_err(|e| e.to_string())?;
    let report = serde_json::json!({
        "total": counts.total,
        "errors_5xx": counts.errors_5xx,
        "ratio": counts.ratio(),
        "unparsed": counts.unparsed,
    });
    writeln!(io::stdout().lock(), "{report}").map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(io::stderr().lock(), "count_5xx: {message}");
            ExitCode::from(2)
        }
    }
}
