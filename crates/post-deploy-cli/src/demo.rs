//! `post-deploy demo`: a self-contained run against a loopback target.
//!
//! A small HTTP server on 127.0.0.1 answers `/health` with 200, turns bad a few seconds into
//! the window (500), and heals when its `/admin/rollback` endpoint is POSTed. The window is
//! the real thing: real HTTP probes through ureq, the real state folder, and a real rollback
//! command (this binary, `demo --heal URL`) run as a child process.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use post_deploy_adapters::System;
use post_deploy_adapters::clock::monotonic_now;
use post_deploy_core::{Config, Monitor, RepoName, WorkItem};

use crate::cli::{ArmArgs, DemoArgs, PairArgs};
use crate::commands::{CliError, Exit, watch};
use crate::output;

/// The demo's target: healthy until `breaks_at` (if ever), then bad, until rolled back.
struct Target {
    breaks_at: Option<Instant>,
    bad: AtomicBool,
    rolled_back: AtomicBool,
}

impl Target {
    /// Whether `/health` answers badly now; the first time it does, says so.
    fn is_bad(&self) -> bool {
        if self.breaks_at.is_some_and(|at| monotonic_now() >= at)
            && !self.rolled_back.load(Ordering::SeqCst)
            && !self.bad.swap(true, Ordering::SeqCst)
        {
            output::note("post-deploy demo: ... production turns bad: /health now answers 500");
        }
        self.bad.load(Ordering::SeqCst)
    }
}

fn respond(mut stream: TcpStream, target: &Target) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut words = request_line.split_whitespace();
    let (method, path) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let (status, body) = match (method, path) {
        ("POST", "/admin/rollback") => {
            target.rolled_back.store(true, Ordering::SeqCst);
            target.bad.store(false, Ordering::SeqCst);
            (200, "rolled back to the previous release\n")
        }
        ("GET", "/health") if target.is_bad() => (500, "database connection pool exhausted\n"),
        ("GET", "/health") => (200, "ok\n"),
        _ => (404, "not found\n"),
    };
    let reason = match status {
        200 => "OK",
        500 => "Internal Server Error",
        _ => "Not Found",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn serve(listener: TcpListener, target: Arc<Target>) {
    for stream in listener.incoming().flatten() {
        let target = Arc::clone(&target);
        std::thread::spawn(move || respond(stream, &target));
    }
}

/// `post-deploy demo --heal URL`: the demo's rollback command.
fn heal(url: &str) -> Result<Exit, CliError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    agent
        .post(url)
        .send_empty()
        .map_err(|e| CliError::Io(format!("demo rollback: POST {url}: {e}")))?;
    output::note("demo rollback: the target is back on its previous release");
    Ok(Exit::Ok)
}

fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs the demo.
///
/// # Errors
/// [`CliError`] when the demo cannot run (no loopback socket, no state folder).
pub fn run(args: &DemoArgs, _config: &Config) -> Result<Exit, CliError> {
    if let Some(url) = &args.heal {
        return heal(url);
    }
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| CliError::Io(format!("demo target: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| CliError::Io(e.to_string()))?
        .port();
    let breaks_after = Duration::from_secs(args.interval.saturating_mul(3));
    let target = Arc::new(Target {
        breaks_at: monotonic_now().checked_add(breaks_after),
        bad: AtomicBool::new(false),
        rolled_back: AtomicBool::new(false),
    });
    {
        let target = Arc::clone(&target);
        std::thread::spawn(move || serve(listener, target));
    }
    let state: PathBuf =
        std::env::temp_dir().join(format!("post-deploy-demo-{}-{port}", std::process::id()));
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Io(format!("demo: locating this program: {e}")))?;
    let interval = args.interval.to_string();
    let window = (args.interval.saturating_mul(20)).to_string();
    let heal_cmd = format!(
        "{} demo --heal http://127.0.0.1:{port}/admin/rollback",
        quote(&exe.display().to_string())
    );
    let state_dir = state.display().to_string();
    let demo_vars: Vec<(String, String)> = [
        ("ORCH_POST_DEPLOY_REPOS", "shop"),
        ("ORCH_POST_DEPLOY_WINDOW_S", window.as_str()),
        ("ORCH_POST_DEPLOY_INTERVAL_S", interval.as_str()),
        ("ORCH_POST_DEPLOY_FAIL_THRESHOLD", "3"),
        ("ORCH_POST_DEPLOY_HEALTH_TIMEOUT_S", "2"),
        ("ORCH_POST_DEPLOY_STATE_DIR", state_dir.as_str()),
        ("ORCH_POST_DEPLOY_ROLLBACK_CMD", heal_cmd.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = Config::from_vars(demo_vars.iter().map(|(k, v)| (k, v)))?;
    let vars = demo_vars.clone();
    let real = System::with_source(&config, move || vars.clone());
    let monitor = Monitor::new(config, real.effects()).with_switches_from(real.switchboard());
    let repo = RepoName::new("shop").map_err(|e| CliError::Io(e.to_string()))?;
    let work_item = WorkItem::new("release-2").map_err(|e| CliError::Io(e.to_string()))?;
    output::note(&format!(
        "post-deploy demo: a deploy of `shop` reached done; its health endpoint is http://127.0.0.1:{port}/health"
    ));
    output::note(&format!(
        "post-deploy demo: state and the window's log go to {}",
        state.display()
    ));
    // The binary's own `watch`: arm, then tick until the window finishes.
    let exit = watch(
        &monitor,
        real.clock(),
        ArmArgs {
            pair: PairArgs {
                repo: repo.clone(),
                work_item: work_item.clone(),
            },
            health_url: format!("http://127.0.0.1:{port}/health"),
            container: None,
            service: None,
            previous_image: None,
            artefacts_dir: None,
        },
    )?;
    if exit == Exit::Interrupted {
        return Ok(exit);
    }
    let folder = state
        .join(format!(".post-deploy-state-{repo}"))
        .join(work_item.as_str());
    let log = folder.join(post_deploy_core::store::LOG_FILE);
    if let Ok(text) = fs_err::read_to_string(&log) {
        output::note(&format!("\n--- {} ---\n{text}", log.display()));
    }
    let picture = folder.join(post_deploy_core::store::PICTURE_FILE);
    if picture.is_file() {
        output::note(&format!(
            "post-deploy demo: the window's picture: {}",
            picture.display()
        ));
    }
    let healed = exit == Exit::RolledBackRecovered;
    output::note(if healed {
        "post-deploy demo: the degradation was caught, rolled back and verified as recovered."
    } else {
        "post-deploy demo: the window did not end with a verified rollback (see above)."
    });
    Ok(if healed { Exit::Ok } else { Exit::Failed })
}
