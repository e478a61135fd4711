//! Configuration: every `ORCH_POST_DEPLOY_*` variable, parsed from a map the caller passes.
//!
//! The binary hands in its process environment; a host hands in its own map. Parsing turns the
//! strings into types that cannot hold a value the contract refuses, so a [`Config`] that
//! exists is a valid one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access_log::{DEFAULT_DURATION_KEYS, DEFAULT_STATUS_KEYS, DurationUnit, LogKeys};
use crate::id::{IdError, RepoName};
use crate::prometheus::source::{PrometheusSource, Selector};
pub use crate::vocabulary::Ratio;

mod judging;

pub use judging::Confidence;
use judging::{confidence, metrics_file, recent_span};

pub use crate::url::{
    Credentials, MAX_URL_LEN, SecretUrl, Secrets, UrlError, hide_userinfo, percent_decode,
    scrub_userinfo, split_credentials,
};

/// Prefix of every variable this crate reads.
pub const PREFIX: &str = "ORCH_POST_DEPLOY_";

/// The variables of the contract with their defaults, in the order `.env.example` lists them.
pub const VARIABLES: &[(&str, &str)] = &[
    (ENABLED, "true"),
    (REPOS, ""),
    (SELF_REPO, "orchestrator"),
    (SELF_CONTAINER, "orchestrator"),
    (WINDOW_S, "900"),
    (INTERVAL_S, "30"),
    (FAIL_THRESHOLD, "3"),
    (RATIO_5XX_THRESHOLD, "0.05"),
    (MIN_REQUESTS, "20"),
    (HEALTH_TIMEOUT_S, "5"),
    (STATE_DIR, "."),
    (ROLLBACK, "auto"),
    (ROLLBACK_CMD, ""),
    (WEBHOOK_URL, ""),
    (DOCKER, "docker"),
    (COMPOSE, "auto"),
    (LATENCY_MS, ""),
    (LATENCY_QUANTILE, "0.95"),
    (PROMETHEUS_URL, ""),
    (PROMETHEUS_REQUESTS, ""),
    (PROMETHEUS_ERRORS, ""),
    (PROMETHEUS_LATENCY, ""),
    (LOG_STATUS_KEYS, DEFAULT_STATUS_KEYS),
    (LOG_DURATION_KEYS, DEFAULT_DURATION_KEYS),
    (LOG_CLF_DURATION_UNIT, "us"),
    (SELF_SERVICE, "orchestrator"),
    (RECENT_S, "120"),
    (CONFIDENCE, "0"),
    (METRICS_FILE, ""),
];

/// `ORCH_POST_DEPLOY_ENABLED`: the kill switch.
pub const ENABLED: &str = "ORCH_POST_DEPLOY_ENABLED";
/// `ORCH_POST_DEPLOY_REPOS`: the repos the monitor applies to.
pub const REPOS: &str = "ORCH_POST_DEPLOY_REPOS";
/// `ORCH_POST_DEPLOY_SELF_REPO`: the orchestrator's own repo.
pub const SELF_REPO: &str = "ORCH_POST_DEPLOY_SELF_REPO";
/// `ORCH_POST_DEPLOY_SELF_CONTAINER`: the orchestrator's own container.
pub const SELF_CONTAINER: &str = "ORCH_POST_DEPLOY_SELF_CONTAINER";
/// `ORCH_POST_DEPLOY_WINDOW_S`: window length in seconds.
pub const WINDOW_S: &str = "ORCH_POST_DEPLOY_WINDOW_S";
/// `ORCH_POST_DEPLOY_INTERVAL_S`: time between ticks in seconds.
pub const INTERVAL_S: &str = "ORCH_POST_DEPLOY_INTERVAL_S";
/// `ORCH_POST_DEPLOY_FAIL_THRESHOLD`: consecutive failed probes that make DEGRADED.
pub const FAIL_THRESHOLD: &str = "ORCH_POST_DEPLOY_FAIL_THRESHOLD";
/// `ORCH_POST_DEPLOY_5XX_THRESHOLD`: the window 5xx ratio above which it is DEGRADED.
pub const RATIO_5XX_THRESHOLD: &str = "ORCH_POST_DEPLOY_5XX_THRESHOLD";
/// `ORCH_POST_DEPLOY_MIN_REQUESTS`: requests needed before the ratio is judged.
pub const MIN_REQUESTS: &str = "ORCH_POST_DEPLOY_MIN_REQUESTS";
/// `ORCH_POST_DEPLOY_HEALTH_TIMEOUT_S`: one health probe's time limit in seconds.
pub const HEALTH_TIMEOUT_S: &str = "ORCH_POST_DEPLOY_HEALTH_TIMEOUT_S";
/// `ORCH_POST_DEPLOY_STATE_DIR`: where the state folders live.
pub const STATE_DIR: &str = "ORCH_POST_DEPLOY_STATE_DIR";
/// `ORCH_POST_DEPLOY_ROLLBACK`: `auto` or `alert-only`.
pub const ROLLBACK: &str = "ORCH_POST_DEPLOY_ROLLBACK";
/// `ORCH_POST_DEPLOY_ROLLBACK_CMD`: a program run instead of the built-in docker rollback.
pub const ROLLBACK_CMD: &str = "ORCH_POST_DEPLOY_ROLLBACK_CMD";
/// `ORCH_POST_DEPLOY_WEBHOOK_URL`: where alerts are POSTed.
pub const WEBHOOK_URL: &str = "ORCH_POST_DEPLOY_WEBHOOK_URL";
/// `ORCH_POST_DEPLOY_DOCKER`: the docker CLI program.
pub const DOCKER: &str = "ORCH_POST_DEPLOY_DOCKER";
/// `ORCH_POST_DEPLOY_COMPOSE`: the compose program, or `auto`.
pub const COMPOSE: &str = "ORCH_POST_DEPLOY_COMPOSE";
/// `ORCH_POST_DEPLOY_LOG_STATUS_KEYS`: the keys that hold the status in JSON and logfmt lines.
pub const LOG_STATUS_KEYS: &str = "ORCH_POST_DEPLOY_LOG_STATUS_KEYS";
/// `ORCH_POST_DEPLOY_LOG_DURATION_KEYS`: the `key:unit` entries that hold a request's duration.
pub const LOG_DURATION_KEYS: &str = "ORCH_POST_DEPLOY_LOG_DURATION_KEYS";
/// `ORCH_POST_DEPLOY_LOG_CLF_DURATION_UNIT`: the unit of the integer after a CLF line's last
/// quoted field (`us`, `ms` or `s`).
pub const LOG_CLF_DURATION_UNIT: &str = "ORCH_POST_DEPLOY_LOG_CLF_DURATION_UNIT";

/// `ORCH_POST_DEPLOY_LATENCY_MS`: unset, the latency rule is off; set, the latency above
/// which the window's quantile makes it DEGRADED.
pub const LATENCY_MS: &str = "ORCH_POST_DEPLOY_LATENCY_MS";
/// `ORCH_POST_DEPLOY_LATENCY_QUANTILE`: the quantile the latency rule judges.
pub const LATENCY_QUANTILE: &str = "ORCH_POST_DEPLOY_LATENCY_QUANTILE";
/// `ORCH_POST_DEPLOY_PROMETHEUS_URL`: a Prometheus server the window's counts come from.
pub const PROMETHEUS_URL: &str = "ORCH_POST_DEPLOY_PROMETHEUS_URL";
/// `ORCH_POST_DEPLOY_PROMETHEUS_REQUESTS`: counter selector of all requests.
pub const PROMETHEUS_REQUESTS: &str = "ORCH_POST_DEPLOY_PROMETHEUS_REQUESTS";
/// `ORCH_POST_DEPLOY_PROMETHEUS_ERRORS`: counter selector of 5xx answers.
pub const PROMETHEUS_ERRORS: &str = "ORCH_POST_DEPLOY_PROMETHEUS_ERRORS";
/// `ORCH_POST_DEPLOY_PROMETHEUS_LATENCY`: histogram bucket selector for the latency rule.
pub const PROMETHEUS_LATENCY: &str = "ORCH_POST_DEPLOY_PROMETHEUS_LATENCY";

/// `ORCH_POST_DEPLOY_RECENT_S`: the recent span in seconds; `0` turns the recent rules off.
pub const RECENT_S: &str = "ORCH_POST_DEPLOY_RECENT_S";
/// `ORCH_POST_DEPLOY_CONFIDENCE`: `0`, or the confidence a ratio rule needs to fire.
pub const CONFIDENCE: &str = "ORCH_POST_DEPLOY_CONFIDENCE";
/// The recent span when `RECENT_S` is unset (and the interval is not longer).
pub const DEFAULT_RECENT_S: u64 = 120;
/// The lowest and highest `CONFIDENCE` accepted besides 0.
pub const CONFIDENCE_RANGE: std::ops::RangeInclusive<f64> = 0.5..=0.9999;

/// The lowest and highest `LATENCY_QUANTILE` accepted.
pub const QUANTILE_RANGE: std::ops::RangeInclusive<f64> = 0.5..=0.999;

/// `ORCH_POST_DEPLOY_SELF_SERVICE`: the orchestrator's own Swarm service.
pub const SELF_SERVICE: &str = "ORCH_POST_DEPLOY_SELF_SERVICE";

/// `ORCH_POST_DEPLOY_METRICS_FILE`: a file rewritten with the windows' metrics in the
/// Prometheus text format after every arm, tick and operator command.
pub const METRICS_FILE: &str = "ORCH_POST_DEPLOY_METRICS_FILE";

/// The longest window or interval accepted: 30 days. Longer is almost surely a unit mistake,
/// and the bound keeps every deadline computation far from overflow.
pub const MAX_SECONDS: u64 = 30 * 24 * 3600;

/// A configuration value that was refused. Every variant names the variable and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The value is not what the variable takes.
    #[error("invalid {variable}={value:?}: {expected}")]
    Invalid {
        /// The variable (or command-line flag) that held the value.
        variable: String,
        /// The refused value, as given.
        value: String,
        /// What the variable takes.
        expected: String,
    },
    /// A repo in a repo list, or the self repo, is not a valid identifier.
    #[error("invalid {variable}={value:?}: {source}")]
    Identifier {
        /// The variable that held the value.
        variable: String,
        /// The whole value, as given.
        value: String,
        /// Why the identifier was refused.
        #[source]
        source: IdError,
    },
    /// The window is shorter than the interval, so it would never tick.
    #[error(
        "invalid {WINDOW_S}={window_s:?}: the window must be at least one interval \
         ({INTERVAL_S}={interval_s:?})"
    )]
    WindowShorterThanInterval {
        /// The window, as given.
        window_s: String,
        /// The interval, as given.
        interval_s: String,
    },
}

impl ConfigError {
    fn invalid(variable: &str, value: &str, expected: impl Into<String>) -> Self {
        Self::Invalid {
            variable: variable.to_owned(),
            // A refused value is quoted, never whole: it may be megabytes.
            value: crate::text::clip(value),
            expected: expected.into(),
        }
    }
}

/// What governs one window; recorded when it is armed and never re-read from the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSettings {
    /// The window's length.
    #[serde(with = "secs")]
    pub window: Duration,
    /// Time between ticks.
    #[serde(with = "secs")]
    pub interval: Duration,
    /// Consecutive failed health probes that make DEGRADED; at least 1.
    pub fail_threshold: u32,
    /// The window 5xx ratio above which it is DEGRADED.
    pub ratio_threshold: Ratio,
    /// Fewer requests than this in the window: the ratio is not judged.
    pub min_requests: u64,
    /// One health probe's time limit.
    #[serde(with = "secs")]
    pub health_timeout: Duration,
    /// The keys JSON and logfmt access lines are read by. Recorded at arm like the
    /// thresholds, so a window's requests mean the same from its first tick to its last; a
    /// window armed before keys were recorded reads by the default keys.
    #[serde(default)]
    pub log_keys: LogKeys,
    /// `LATENCY_MS`: a positive number of milliseconds; `None`: the latency rule is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// `LATENCY_QUANTILE`: the quantile the latency rule judges (0.5..0.999).
    #[serde(default = "default_quantile")]
    pub latency_quantile: Ratio,
    /// `RECENT_S`: the recent span the ratio rules also judge; zero: the recent rules are
    /// off. A window armed before the span was recorded has none (zero).
    #[serde(default, with = "secs")]
    pub recent: Duration,
    /// `CONFIDENCE`: how sure a ratio rule must be that the true ratio is above its
    /// threshold; [`Confidence::OFF`] (also for a window armed before it was recorded): the
    /// measured ratio alone.
    #[serde(default)]
    pub confidence: Confidence,
}

impl WindowSettings {
    /// The recent span as the rules use it: `None` when the recent rules are off (zero) or the
    /// span is at least the window (then it is the window, and the window's rules judge it).
    #[must_use]
    pub fn recent_span(&self) -> Option<Duration> {
        (!self.recent.is_zero() && self.recent < self.window).then_some(self.recent)
    }
}

fn default_quantile() -> Ratio {
    Ratio(0.95)
}

impl Default for WindowSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(900),
            interval: Duration::from_secs(30),
            fail_threshold: 3,
            ratio_threshold: Ratio(0.05),
            min_requests: 20,
            health_timeout: Duration::from_secs(5),
            latency_ms: None,
            latency_quantile: default_quantile(),
            log_keys: LogKeys::default(),
            recent: Duration::ZERO,
            confidence: Confidence::OFF,
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = u64::deserialize(d)?;
        if secs > super::MAX_SECONDS {
            return Err(serde::de::Error::custom(format!(
                "{secs} s is more than 30 days"
            )));
        }
        Ok(Duration::from_secs(secs))
    }
}

/// `ORCH_POST_DEPLOY_ROLLBACK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RollbackMode {
    /// Roll back when DEGRADED and there is something to roll back to.
    Auto,
    /// Shadow mode: decide and report, never touch a container.
    AlertOnly,
}

/// A program and its arguments, split the way a POSIX shell splits words but never run
/// through a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLine {
    program: String,
    args: Vec<String>,
}

/// The longest command line accepted, in bytes: a window's state records it.
pub const MAX_COMMAND_LEN: usize = 8192;

impl CommandLine {
    /// Splits `raw` into words; `None` when it is empty, longer than [`MAX_COMMAND_LEN`] bytes
    /// or its quotes do not balance.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > MAX_COMMAND_LEN {
            return None;
        }
        let mut words = shell_words::split(raw).ok()?.into_iter();
        let program = words.next().filter(|p| !p.is_empty())?;
        Some(Self {
            program,
            args: words.collect(),
        })
    }

    /// The program to run.
    #[must_use]
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Its arguments.
    #[must_use]
    pub fn args(&self) -> &[String] {
        &self.args
    }
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect();
        f.write_str(&shell_words::join(words))
    }
}

/// `ORCH_POST_DEPLOY_COMPOSE`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComposeProgram {
    /// `docker compose` where that plugin answers, else `docker-compose`.
    Auto,
    /// This program (and leading arguments, e.g. `docker compose`).
    Command(CommandLine),
}

/// Where a linking host's variables come from: read afresh at every call for the operational
/// switches, as the binary reads its environment ([`crate::Monitor::with_switches_from`]).
pub trait VarSource {
    /// The variables as they are now; only `ORCH_POST_DEPLOY_*` ones are looked at.
    fn vars(&self) -> Vec<(String, String)>;
}

impl<F: Fn() -> Vec<(String, String)>> VarSource for F {
    fn vars(&self) -> Vec<(String, String)> {
        self()
    }
}

/// The operational switches: read afresh at every tick so an operator can flip them
/// mid-window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switches {
    /// The kill switch.
    pub enabled: bool,
    /// `auto` or `alert-only`.
    pub rollback: RollbackMode,
    /// A program run instead of the built-in docker rollback.
    pub rollback_cmd: Option<CommandLine>,
    /// Where alerts are POSTed.
    pub webhook_url: Option<SecretUrl>,
    /// The docker CLI program.
    pub docker: String,
    /// The compose program.
    pub compose: ComposeProgram,
    /// Where the windows' metrics are written for node_exporter's textfile collector.
    pub metrics_file: Option<PathBuf>,
}

/// Which repos the monitor applies to, and which repo and container are its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The repos the monitor applies to; empty: only the self-hosting repo.
    pub repos: Vec<RepoName>,
    /// The orchestrator's own repo: always ALERT_ONLY.
    pub self_repo: RepoName,
    /// The orchestrator's own container: never mutated.
    pub self_container: String,
    /// The orchestrator's own Swarm service: never updated.
    pub self_service: String,
}

/// Whether the monitor applies to a repo, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicability {
    /// It applies.
    pub applies: bool,
    /// Why, for people.
    pub reason: String,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// What governs a window armed now.
    pub window: WindowSettings,
    /// The operational switches.
    pub switches: Switches,
    /// Where the monitor applies.
    pub scope: Scope,
    /// Where `.post-deploy-state-<repo>/<work item>/` folders live.
    pub state_dir: PathBuf,
    /// A Prometheus server that a window armed now reads its counts from.
    pub prometheus: Option<PrometheusSource>,
}

/// Looks variables up in the caller's map; an empty or all-blank value counts as unset.
struct Vars(BTreeMap<String, String>);

impl Vars {
    /// Keeps the `ORCH_POST_DEPLOY_*` variables of `vars`.
    fn collect<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self(
            vars.into_iter()
                .filter(|(k, _)| k.as_ref().starts_with(PREFIX))
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn raw(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl Config {
    /// Loads the configuration from `vars`, e.g. `std::env::vars()` or a host's own map.
    /// Variables without the `ORCH_POST_DEPLOY_` prefix are ignored; unset or blank ones
    /// take their defaults.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable whose value is refused, and the value.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = Vars::collect(vars);
        let switches = Self::switches(&vars)?;
        let window = Self::window(&vars)?;
        let scope = Self::scope(&vars)?;
        let state_dir = PathBuf::from(vars.get(STATE_DIR).unwrap_or("."));
        let prometheus = Self::prometheus(&vars)?;
        Ok(Self {
            window,
            switches,
            scope,
            state_dir,
            prometheus,
        })
    }

    /// Loads only the operational switches, which a tick reads afresh.
    ///
    /// # Errors
    /// As [`Config::from_vars`], for the switch variables only.
    pub fn switches_from_vars<I, K, V>(vars: I) -> Result<Switches, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = Vars::collect(vars);
        Self::switches(&vars)
    }

    fn switches(vars: &Vars) -> Result<Switches, ConfigError> {
        let enabled = match vars.get(ENABLED) {
            None => true,
            Some(v) => parse_bool(v).ok_or_else(|| {
                ConfigError::invalid(
                    ENABLED,
                    vars.raw(ENABLED),
                    "expected true/false, 1/0, yes/no or on/off",
                )
            })?,
        };
        let rollback = match vars.get(ROLLBACK).map(str::to_ascii_lowercase).as_deref() {
            None | Some("auto") => RollbackMode::Auto,
            Some("alert-only") => RollbackMode::AlertOnly,
            Some(_) => {
                return Err(ConfigError::invalid(
                    ROLLBACK,
                    vars.raw(ROLLBACK),
                    "expected `auto` or `alert-only`",
                ));
            }
        };
        let rollback_cmd = match vars.get(ROLLBACK_CMD) {
            None => None,
            Some(v) => Some(CommandLine::parse(v).ok_or_else(|| {
                ConfigError::invalid(
                    ROLLBACK_CMD,
                    vars.raw(ROLLBACK_CMD),
                    "expected a program and its arguments, with balanced quotes, at most 8192 bytes",
                )
            })?),
        };
        let webhook_url = match vars.get(WEBHOOK_URL) {
            None => None,
            Some(v) => Some(SecretUrl::new(v).map_err(|why| {
                ConfigError::invalid(
                    WEBHOOK_URL,
                    &hide_userinfo(vars.raw(WEBHOOK_URL)),
                    format!("{why}; expected an http:// or https:// URL"),
                )
            })?),
        };
        let docker = match vars.get(DOCKER) {
            None => "docker".to_owned(),
            Some(v) if v.chars().any(char::is_control) => {
                return Err(ConfigError::invalid(
                    DOCKER,
                    vars.raw(DOCKER),
                    "expected a program name or path",
                ));
            }
            Some(v) => v.to_owned(),
        };
        let compose = match vars.get(COMPOSE) {
            None => ComposeProgram::Auto,
            Some(v) if v.eq_ignore_ascii_case("auto") => ComposeProgram::Auto,
            Some(v) => ComposeProgram::Command(CommandLine::parse(v).ok_or_else(|| {
                ConfigError::invalid(
                    COMPOSE,
                    vars.raw(COMPOSE),
                    "expected `auto` or a program and its arguments, e.g. `docker compose`",
                )
            })?),
        };
        let metrics_file = metrics_file(vars)?;
        Ok(Switches {
            enabled,
            rollback,
            rollback_cmd,
            webhook_url,
            docker,
            compose,
            metrics_file,
        })
    }

    fn window(vars: &Vars) -> Result<WindowSettings, ConfigError> {
        let d = WindowSettings::default();
        let window = seconds(vars, WINDOW_S, d.window)?;
        let interval = seconds(vars, INTERVAL_S, d.interval)?;
        if window < interval {
            return Err(ConfigError::WindowShorterThanInterval {
                window_s: vars.get(WINDOW_S).unwrap_or("900").to_owned(),
                interval_s: vars.get(INTERVAL_S).unwrap_or("30").to_owned(),
            });
        }
        let fail_threshold = match vars.get(FAIL_THRESHOLD) {
            None => d.fail_threshold,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        FAIL_THRESHOLD,
                        vars.raw(FAIL_THRESHOLD),
                        "expected a whole number of probes from 1 to 10000",
                    )
                })?,
        };
        let ratio_threshold = match vars.get(RATIO_5XX_THRESHOLD) {
            None => d.ratio_threshold,
            Some(v) => v.parse::<f64>().ok().and_then(Ratio::new).ok_or_else(|| {
                ConfigError::invalid(
                    RATIO_5XX_THRESHOLD,
                    vars.raw(RATIO_5XX_THRESHOLD),
                    "expected a ratio from 0 to 1, e.g. 0.05",
                )
            })?,
        };
        let min_requests = match vars.get(MIN_REQUESTS) {
            None => d.min_requests,
            Some(v) => v.parse::<u64>().ok().ok_or_else(|| {
                ConfigError::invalid(
                    MIN_REQUESTS,
                    vars.raw(MIN_REQUESTS),
                    "expected a whole number of requests",
                )
            })?,
        };
        let health_timeout = seconds(vars, HEALTH_TIMEOUT_S, d.health_timeout)?;
        let latency_ms = match vars.get(LATENCY_MS) {
            None => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|ms| ms.is_finite() && *ms > 0.0)
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            LATENCY_MS,
                            vars.raw(LATENCY_MS),
                            "expected a positive number of milliseconds, e.g. 500",
                        )
                    })?,
            ),
        };
        let latency_quantile = match vars.get(LATENCY_QUANTILE) {
            None => d.latency_quantile,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|q| QUANTILE_RANGE.contains(q))
                .and_then(Ratio::new)
                .ok_or_else(|| {
                    ConfigError::invalid(
                        LATENCY_QUANTILE,
                        vars.raw(LATENCY_QUANTILE),
                        "expected a quantile from 0.5 to 0.999, e.g. 0.95",
                    )
                })?,
        };
        let log_keys = log_keys(vars)?;
        Ok(WindowSettings {
            window,
            interval,
            fail_threshold,
            ratio_threshold,
            min_requests,
            health_timeout,
            latency_ms,
            latency_quantile,
            log_keys,
            recent: recent_span(vars, interval)?,
            confidence: confidence(vars)?,
        })
    }

    /// The Prometheus source: every variable set is checked; the URL and the two counter
    /// selectors go together.
    fn prometheus(vars: &Vars) -> Result<Option<PrometheusSource>, ConfigError> {
        let url = match vars.get(PROMETHEUS_URL) {
            None => None,
            Some(v) => Some(SecretUrl::new(v).map_err(|why| {
                ConfigError::invalid(
                    PROMETHEUS_URL,
                    &hide_userinfo(vars.raw(PROMETHEUS_URL)),
                    format!("{why}; expected an http:// or https:// URL"),
                )
            })?),
        };
        let selector = |name: &str, what: &str| -> Result<Option<Selector>, ConfigError> {
            vars.get(name)
                .map(|v| {
                    Selector::new(v).map_err(|why| {
                        ConfigError::invalid(
                            name,
                            vars.raw(name),
                            format!("{why}; expected {what}"),
                        )
                    })
                })
                .transpose()
        };
        let requests = selector(
            PROMETHEUS_REQUESTS,
            "a counter selector of all requests, e.g. http_requests_total{job=\"api\"}",
        )?;
        let errors = selector(
            PROMETHEUS_ERRORS,
            "a counter selector of 5xx answers, e.g. http_requests_total{code=~\"5..\"}",
        )?;
        let latency = selector(
            PROMETHEUS_LATENCY,
            "a histogram bucket selector, e.g. http_request_duration_seconds_bucket",
        )?;
        let together = format!(
            "unset, but a Prometheus source needs {PROMETHEUS_URL}, {PROMETHEUS_REQUESTS} and \
             {PROMETHEUS_ERRORS} set together"
        );
        match (url, requests, errors) {
            (None, None, None) if latency.is_none() => Ok(None),
            (Some(url), Some(requests), Some(errors)) => Ok(Some(PrometheusSource {
                url,
                requests,
                errors,
                latency,
            })),
            (None, ..) => Err(ConfigError::invalid(PROMETHEUS_URL, "", together)),
            (_, None, _) => Err(ConfigError::invalid(PROMETHEUS_REQUESTS, "", together)),
            (_, _, None) => Err(ConfigError::invalid(PROMETHEUS_ERRORS, "", together)),
        }
    }

    fn scope(vars: &Vars) -> Result<Scope, ConfigError> {
        let self_repo = match vars.get(SELF_REPO) {
            None => RepoName::new("orchestrator"),
            Some(v) => RepoName::new(v),
        }
        .map_err(|source| ConfigError::Identifier {
            variable: SELF_REPO.to_owned(),
            value: crate::text::clip(vars.raw(SELF_REPO)),
            source,
        })?;
        let self_container = match vars.get(SELF_CONTAINER) {
            None => "orchestrator".to_owned(),
            Some(v) if is_container_name(v) => v.to_owned(),
            Some(_) => {
                return Err(ConfigError::invalid(
                    SELF_CONTAINER,
                    vars.raw(SELF_CONTAINER),
                    "expected a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                ));
            }
        };
        let self_service = match vars.get(SELF_SERVICE) {
            None => "orchestrator".to_owned(),
            Some(v) if is_container_name(v) => v.to_owned(),
            Some(_) => {
                return Err(ConfigError::invalid(
                    SELF_SERVICE,
                    vars.raw(SELF_SERVICE),
                    "expected a service name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                ));
            }
        };
        let repos = vars
            .get(REPOS)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                RepoName::new(r).map_err(|source| ConfigError::Identifier {
                    variable: REPOS.to_owned(),
                    value: crate::text::clip(vars.raw(REPOS)),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scope {
            repos,
            self_repo,
            self_container,
            self_service,
        })
    }

    /// Whether the monitor applies to `repo`: the kill switch, then the repo list (empty: the
    /// self-hosting repo only).
    #[must_use]
    pub fn applies(&self, repo: &RepoName) -> Applicability {
        applicability(&self.switches, &self.scope, repo)
    }
}

/// Whether the monitor applies to `repo` under these switches and scope.
#[must_use]
pub fn applicability(switches: &Switches, scope: &Scope, repo: &RepoName) -> Applicability {
    let (applies, reason) = if !switches.enabled {
        (
            false,
            format!("post-deploy monitoring is disabled ({ENABLED})"),
        )
    } else if scope.repos.is_empty() {
        if *repo == scope.self_repo {
            (
                true,
                format!("{REPOS} is empty: monitoring the self-hosting repo {repo} only"),
            )
        } else {
            (
                false,
                format!(
                    "{REPOS} is empty: only the self-hosting repo {} is monitored, not {repo}",
                    scope.self_repo
                ),
            )
        }
    } else if scope.repos.contains(repo) {
        (true, format!("repo {repo} is listed in {REPOS}"))
    } else {
        (false, format!("repo {repo} is not listed in {REPOS}"))
    };
    Applicability { applies, reason }
}

/// A docker container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 255 characters.
#[must_use]
pub fn is_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 255
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `ORCH_POST_DEPLOY_LOG_STATUS_KEYS`, `ORCH_POST_DEPLOY_LOG_DURATION_KEYS` and
/// `ORCH_POST_DEPLOY_LOG_CLF_DURATION_UNIT`.
fn log_keys(vars: &Vars) -> Result<LogKeys, ConfigError> {
    let clf_unit = match vars.get(LOG_CLF_DURATION_UNIT) {
        None => DurationUnit::Us,
        Some(v) => DurationUnit::parse_clf(v).map_err(|why| {
            ConfigError::invalid(
                LOG_CLF_DURATION_UNIT,
                vars.raw(LOG_CLF_DURATION_UNIT),
                format!("{why}; expected us (Apache %D), ms (gunicorn %(M)s) or s"),
            )
        })?,
    };
    let keys = LogKeys::parse(vars.get(LOG_STATUS_KEYS), vars.get(LOG_DURATION_KEYS)).map_err(
        |(duration, why)| {
            let (variable, expected) = if duration {
                (
                    LOG_DURATION_KEYS,
                    "expected comma-separated `key:unit` entries, unit ns, us, ms or s, \
                     e.g. `Duration:ns,duration_ms:ms`",
                )
            } else {
                (
                    LOG_STATUS_KEYS,
                    "expected comma-separated keys or dotted paths, e.g. \
                     `status,http.response.status_code`",
                )
            };
            ConfigError::invalid(variable, vars.raw(variable), format!("{why}; {expected}"))
        },
    )?;
    Ok(keys.with_clf_unit(clf_unit))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn seconds(vars: &Vars, name: &str, default: Duration) -> Result<Duration, ConfigError> {
    match vars.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=MAX_SECONDS).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                ConfigError::invalid(
                    name,
                    vars.raw(name),
                    "expected a whole number of seconds from 1 to 2592000 (30 days)",
                )
            }),
    }
}

#[cfg(test)]
mod tests;
