//! The command line, as clap parses it.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use post_deploy_core::{RepoName, WorkItem};

/// Watches production right after a deploy and rolls it back when it degrades.
///
/// Configuration comes from ORCH_POST_DEPLOY_* environment variables (see the README);
/// every command prints one JSON value on stdout, and logs and progress on stderr.
#[derive(Debug, Parser)]
#[command(
    name = "post-deploy",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Where the `.post-deploy-state-<repo>/<work item>/` folders live (overrides
    /// ORCH_POST_DEPLOY_STATE_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start an observation window for (repo, work item) after a deploy reached `done`.
    #[command(
        after_help = "Example:\n  post-deploy arm --repo api --work-item PR-42 \\\n    \
        --health-url http://127.0.0.1:8080/health --container api --previous-image api:1.4\n\n\
        A Docker Swarm service instead of a container:\n  post-deploy arm --repo api \
        --work-item PR-42 \\\n    --health-url http://127.0.0.1:8080/health --service api_web"
    )]
    Arm(ArmArgs),
    /// Run one step of a window: probe, classify, decide, act; prints when to tick again.
    #[command(after_help = "Example:\n  post-deploy tick --repo api --work-item PR-42")]
    Tick(PairArgs),
    /// Arm, then tick every interval until the window finishes (for pipelines without a host).
    #[command(
        after_help = "Example:\n  post-deploy watch --repo api --work-item PR-42 \\\n    \
        --health-url http://127.0.0.1:8080/health --container api --previous-image api:1.4\n\n\
        A Docker Swarm service instead of a container:\n  post-deploy watch --repo api \
        --work-item PR-42 \\\n    --health-url http://127.0.0.1:8080/health --service api_web\n\n\
        Exit codes: 0 never DEGRADED; 3 rolled back and recovered; 4 a degradation was left \
        standing; 5 never DEGRADED but blind (the 5xx signal missing in more than half the \
        ticks); 2 usage or configuration."
    )]
    Watch(ArmArgs),
    /// Show every window under the state folder.
    #[command(after_help = "Example:\n  post-deploy status --repo api --json")]
    Status(StatusArgs),
    /// End a window early.
    #[command(after_help = "Example:\n  post-deploy disarm --repo api --work-item PR-42")]
    Disarm(PairArgs),
    /// Move a watching window's deadline later (at most 30 days from arm in all).
    #[command(
        after_help = "Example:\n  post-deploy extend --repo api --work-item PR-42 --by 600\n\n\
        Exit codes: 0 done; 4 refused (a finished window, or past 30 days); 2 usage."
    )]
    Extend(ExtendArgs),
    /// Roll a watching window back now, through the same guards and at-most-once path as an
    /// automatic rollback; the window then verifies recovery.
    #[command(
        after_help = "Example:\n  post-deploy rollback --repo api --work-item PR-42\n\n\
        Exit codes: 0 rolled back; 4 refused (a finished window, a guard, a window that \
        already rolled back) or the rollback failed; 2 usage."
    )]
    Rollback(PairArgs),
    /// End a watching window now as good; its image becomes known good when it never
    /// degraded.
    #[command(
        after_help = "Example:\n  post-deploy promote --repo api --work-item PR-42\n\n\
        Exit codes: 0 done; 4 refused (a finished window); 2 usage."
    )]
    Promote(PairArgs),
    /// List the images production proved for a repo, newest first.
    #[command(
        name = "known-good",
        after_help = "Example:\n  post-deploy known-good --repo api --container api --json\n  \
        post-deploy known-good --repo api --service api_web"
    )]
    KnownGood(KnownGoodArgs),
    /// Count requests and 5xx answers in access-log lines from FILE or stdin.
    #[command(
        name = "count-5xx",
        after_help = "Example:\n  docker logs api 2>&1 | post-deploy count-5xx"
    )]
    Count5xx(CountArgs),
    /// What would a window have done? Runs a window's rules over a recorded log (and health
    /// trace) on a virtual clock; touches nothing.
    #[command(
        after_help = "Example:\n  docker logs --timestamps api > api.log 2>&1\n  \
        post-deploy replay --log api.log --table\n  \
        ORCH_POST_DEPLOY_5XX_THRESHOLD=0.02 post-deploy replay --log api.log.gz \\\n    \
        --health health.log --from 2026-12-07T09:00:00Z\n\n\
        Exit codes: 0 never DEGRADED; 3 DEGRADED, would have rolled back; 2 usage, \
        configuration, or an input that cannot be read (the message names its line)."
    )]
    Replay(ReplayArgs),
    /// A self-contained run of about 10 seconds: a loopback target turns bad mid-window and
    /// a rollback command heals it.
    #[command(after_help = "Example:\n  post-deploy demo")]
    Demo(DemoArgs),
}

/// A window's identity.
#[derive(Debug, Args)]
pub struct PairArgs {
    /// The repo (1 to 128 of A-Z a-z 0-9 . _ -).
    #[arg(long, value_name = "R", value_parser = parse_repo, allow_hyphen_values = true)]
    pub repo: RepoName,
    /// The work item (1 to 128 of A-Z a-z 0-9 . _ -).
    #[arg(long, value_name = "W", value_parser = parse_work_item, allow_hyphen_values = true)]
    pub work_item: WorkItem,
}

/// What `arm` and `watch` take.
#[derive(Debug, Args)]
pub struct ArmArgs {
    /// The window's identity.
    #[command(flatten)]
    pub pair: PairArgs,
    /// The health endpoint to GET (http or https).
    #[arg(long, value_name = "URL")]
    pub health_url: String,
    /// The target container, for the 5xx ratio, fencing and the built-in rollback.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// The target Docker Swarm service instead of a container: the 5xx ratio from every
    /// task's logs, fencing on the image of its spec, `docker service update` to roll back.
    #[arg(long, value_name = "NAME", conflicts_with = "container")]
    pub service: Option<String>,
    /// The image to roll back to.
    #[arg(long, value_name = "IMAGE")]
    pub previous_image: Option<String>,
    /// Where to write 16-post-deploy-log.md (default: the window's state folder).
    #[arg(long, value_name = "DIR")]
    pub artefacts_dir: Option<PathBuf>,
}

/// What `extend` takes.
#[derive(Debug, Args)]
pub struct ExtendArgs {
    /// The window's identity.
    #[command(flatten)]
    pub pair: PairArgs,
    /// Seconds to move the deadline by.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub by: u64,
}

/// What `known-good` takes.
#[derive(Debug, Args)]
pub struct KnownGoodArgs {
    /// The repo.
    #[arg(long, value_name = "R", value_parser = parse_repo, allow_hyphen_values = true)]
    pub repo: RepoName,
    /// Only this container's images.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// Only this Docker Swarm service's images.
    #[arg(long, value_name = "NAME", conflicts_with = "container")]
    pub service: Option<String>,
    /// A JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What `status` takes.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this repo's windows.
    #[arg(long, value_name = "R", value_parser = parse_repo, allow_hyphen_values = true)]
    pub repo: Option<RepoName>,
    /// Only this work item's windows.
    #[arg(long, value_name = "W", value_parser = parse_work_item, allow_hyphen_values = true)]
    pub work_item: Option<WorkItem>,
    /// A JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Access-log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Any of the formats, line by line.
    Auto,
    /// Common and Combined Log Format.
    Clf,
    /// JSON lines with a status key (ORCH_POST_DEPLOY_LOG_STATUS_KEYS).
    Json,
    /// uvicorn and gunicorn access lines.
    Uvicorn,
    /// logfmt lines (`key=value` pairs) with a status key.
    Logfmt,
}

/// What `count-5xx` takes.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// The access-line format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// The log file (default: stdin).
    pub file: Option<PathBuf>,
}

/// What `replay` takes.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The log, as `docker logs --timestamps` writes it (`-`: stdin; gzip is read as its
    /// content).
    #[arg(long, value_name = "FILE")]
    pub log: PathBuf,
    /// The health trace: one probe a line, an RFC 3339 stamp, one space, an HTTP status or
    /// `fail`.
    #[arg(long, value_name = "FILE")]
    pub health: Option<PathBuf>,
    /// Arm time, RFC 3339 (default: the log's first stamp).
    #[arg(long, value_name = "STAMP", value_parser = parse_stamp)]
    pub from: Option<DateTime<Utc>>,
    /// Also write the log artefact's table of ticks to stderr.
    #[arg(long)]
    pub table: bool,
    /// Write the window's picture (SVG) to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// What `demo` takes.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds between ticks.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10))]
    pub interval: u64,
    /// The demo's rollback command: POST to this URL of the demo target.
    #[arg(long, value_name = "URL", hide = true)]
    pub heal: Option<String>,
}

fn parse_stamp(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 stamp such as 2026-12-07T09:00:00Z ({e})"))
}

fn parse_repo(s: &str) -> Result<RepoName, String> {
    RepoName::new(s).map_err(|e| e.to_string())
}

fn parse_work_item(s: &str) -> Result<WorkItem, String> {
    WorkItem::new(s).map_err(|e| e.to_string())
}
