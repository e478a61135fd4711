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

use crate::id::{IdError, RepoName};

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
    (SELF_SERVICE, "orchestrator"),
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
/// `ORCH_POST_DEPLOY_SELF_SERVICE`: the orchestrator's own Swarm service.
pub const SELF_SERVICE: &str = "ORCH_POST_DEPLOY_SELF_SERVICE";

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
            value: value.to_owned(),
            expected: expected.into(),
        }
    }
}

/// A ratio in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Ratio(f64);

impl Ratio {
    /// Parses a ratio; `None` for anything that is not a finite number in `0..=1`.
    #[must_use]
    pub fn new(value: f64) -> Option<Self> {
        (value.is_finite() && (0.0..=1.0).contains(&value)).then_some(Self(value))
    }

    /// The ratio as a number in `0..=1`.
    #[must_use]
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = f64::deserialize(d)?;
        Self::new(raw)
            .ok_or_else(|| serde::de::Error::custom(format!("ratio {raw} is not in 0..1")))
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What governs one window; recorded when it is armed and never re-read from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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

impl CommandLine {
    /// Splits `raw` into words; `None` when it is empty or its quotes do not balance.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
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

/// Why a URL was refused: it is not one the HTTP client can request as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Whitespace or a control character, around the URL or inside it.
    #[error("it holds whitespace or a control character ({0:?})")]
    Character(char),
    /// The URI grammar refuses it (the parser the HTTP client itself uses).
    #[error("it is not a URI ({0})")]
    Malformed(String),
    /// Not `http://` or `https://`.
    #[error("the scheme must be http or https")]
    Scheme,
    /// No host, or a host that is neither a name, an IPv4 address nor a bracketed IPv6 one.
    #[error("the host {0:?} is not a host name or an IP address")]
    Host(String),
    /// A port that is not a number from 1 to 65535.
    #[error("the port {0:?} is not a number from 1 to 65535")]
    Port(String),
}

/// An `http` or `https` URL that the HTTP client can request exactly as it is, and whose
/// secrets never appear in output: `Display` and `Debug` show only the scheme, host and port.
///
/// Parsed with the `http` crate's [`http::Uri`], the type ureq builds its requests from, and
/// then held to more than that grammar: the scheme is http or https; the host is a name
/// (letters, digits, `-`, `_`, dots between labels), an IPv4 address or a bracketed IPv6
/// address; a port is 1 to 65535; no whitespace or control character anywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Accepts an `http://` or `https://` URL the HTTP client can request as it is; `None`
    /// otherwise. [`SecretUrl::new`] says why.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::new(raw).ok()
    }

    /// Accepts an `http://` or `https://` URL the HTTP client can request as it is.
    ///
    /// # Errors
    /// [`UrlError`] saying what is wrong with it.
    pub fn new(raw: &str) -> Result<Self, UrlError> {
        if let Some(c) = raw.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Character(c));
        }
        let is_web = |s: &str| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https");
        if !raw
            .split_once("://")
            .is_some_and(|(scheme, _)| is_web(scheme))
        {
            return Err(UrlError::Scheme);
        }
        let uri: http::Uri = raw
            .parse()
            .map_err(|e: http::uri::InvalidUri| UrlError::Malformed(e.to_string()))?;
        if !uri.scheme_str().is_some_and(is_web) {
            return Err(UrlError::Scheme);
        }
        let authority = uri.authority().map(http::uri::Authority::as_str);
        let host_port = authority
            .map(|a| a.rsplit_once('@').map_or(a, |(_, host)| host))
            .unwrap_or_default();
        let (host, port) = split_host_port(host_port)?;
        if !is_host(host) {
            return Err(UrlError::Host(host.to_owned()));
        }
        if let Some(port) = port
            && !(port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p != 0))
        {
            return Err(UrlError::Port(port.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The whole URL, secrets included: for the HTTP client only, never for output.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]`, with any credentials, path, query and fragment left out.
    #[must_use]
    pub fn redacted(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("http", &self.0));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let hidden = rest.len() > host.len();
        format!(
            "{}://{host}{}",
            scheme.to_ascii_lowercase(),
            if hidden { "/…" } else { "" }
        )
    }

    /// The URL with its user info, if any, shown as `***`: path and query kept.
    #[must_use]
    pub fn without_userinfo(&self) -> String {
        hide_userinfo(&self.0)
    }
}

/// `raw` with the user info of its authority (`user:secret@`) shown as `***@`, whether or not
/// `raw` is a valid URL: how every message shows a URL, refused ones included.
#[must_use]
pub fn hide_userinfo(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or(rest);
    match authority.rfind('@').and_then(|at| rest.get(at..)) {
        Some(from_at) => format!("{scheme}://***{from_at}"),
        None => raw.to_owned(),
    }
}

/// `text` with every trace of `url`'s user info replaced: the whole URL by the URL shown with
/// `***`, the user info and its user and password (each when 3 characters or longer, shorter
/// ones being too common to replace without mangling the text) by `***`. For messages that
/// came from an HTTP client, which may quote the URL it was given.
#[must_use]
pub fn scrub_userinfo(text: &str, url: &str) -> String {
    let shown = hide_userinfo(url);
    if shown == url {
        return text.to_owned();
    }
    let mut out = text.replace(url, &shown);
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or(rest);
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        let mut secrets: Vec<&str> = vec![userinfo];
        if let Some((user, password)) = userinfo.split_once(':') {
            secrets.extend([password, user]);
        }
        for secret in secrets.into_iter().filter(|s| s.chars().count() >= 3) {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// Splits `host[:port]` (the host maybe a bracketed IPv6 address).
fn split_host_port(host_port: &str) -> Result<(&str, Option<&str>), UrlError> {
    let split = if host_port.starts_with('[') {
        host_port
            .find(']')
            .and_then(|close| host_port.split_at_checked(close.saturating_add(1)))
    } else {
        Some(
            host_port
                .find(':')
                .map_or((host_port, ""), |colon| host_port.split_at(colon)),
        )
    };
    let Some((host, rest)) = split else {
        return Err(UrlError::Host(host_port.to_owned()));
    };
    match rest.strip_prefix(':') {
        Some(port) => Ok((host, Some(port))),
        None if rest.is_empty() => Ok((host, None)),
        None => Err(UrlError::Host(host_port.to_owned())),
    }
}

/// A bracketed IPv6 address, or a DNS name or IPv4 address: labels of letters, digits, `-`
/// and `_`, not starting with `-`, separated by single dots (a trailing dot allowed).
fn is_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        })
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
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
        Ok(Self {
            window,
            switches,
            scope,
            state_dir,
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
                    "expected a program and its arguments, with balanced quotes",
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
        Ok(Switches {
            enabled,
            rollback,
            rollback_cmd,
            webhook_url,
            docker,
            compose,
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
        Ok(WindowSettings {
            window,
            interval,
            fail_threshold,
            ratio_threshold,
            min_requests,
            health_timeout,
        })
    }

    fn scope(vars: &Vars) -> Result<Scope, ConfigError> {
        let self_repo = match vars.get(SELF_REPO) {
            None => RepoName::new("orchestrator"),
            Some(v) => RepoName::new(v),
        }
        .map_err(|source| ConfigError::Identifier {
            variable: SELF_REPO.to_owned(),
            value: vars.raw(SELF_REPO).to_owned(),
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
                    value: vars.raw(REPOS).to_owned(),
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pairs.iter().copied())
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = load(&[]).unwrap();
        assert_eq!(c.window.window, Duration::from_secs(900));
        assert_eq!(c.window.interval, Duration::from_secs(30));
        assert_eq!(c.window.fail_threshold, 3);
        assert!((c.window.ratio_threshold.get() - 0.05).abs() < f64::EPSILON);
        assert_eq!(c.window.min_requests, 20);
        assert_eq!(c.window.health_timeout, Duration::from_secs(5));
        assert!(c.switches.enabled);
        assert_eq!(c.switches.rollback, RollbackMode::Auto);
        assert_eq!(c.switches.docker, "docker");
        assert_eq!(c.switches.compose, ComposeProgram::Auto);
        assert_eq!(c.scope.self_repo.as_str(), "orchestrator");
        assert_eq!(c.scope.self_container, "orchestrator");
        assert!(c.scope.repos.is_empty());
        assert_eq!(c.state_dir, PathBuf::from("."));
    }

    #[test]
    fn every_default_in_the_table_parses_to_the_default() {
        let c = Config::from_vars(VARIABLES.iter().copied()).unwrap();
        assert_eq!(c, load(&[]).unwrap());
    }

    #[test]
    fn kill_switch_words() {
        for off in ["false", "0", "no", "off", "OFF", "False", " No "] {
            assert!(!load(&[(ENABLED, off)]).unwrap().switches.enabled, "{off}");
        }
        for on in ["true", "1", "yes", "on", "TRUE"] {
            assert!(load(&[(ENABLED, on)]).unwrap().switches.enabled, "{on}");
        }
    }

    #[test]
    fn repo_list_and_applicability() {
        let c = load(&[(REPOS, " api , web,,")]).unwrap();
        let names: Vec<&str> = c.scope.repos.iter().map(RepoName::as_str).collect();
        assert_eq!(names, ["api", "web"]);
        assert!(c.applies(&RepoName::new("api").unwrap()).applies);
        assert!(!c.applies(&RepoName::new("orchestrator").unwrap()).applies);
        let empty = load(&[]).unwrap();
        assert!(
            empty
                .applies(&RepoName::new("orchestrator").unwrap())
                .applies
        );
        assert!(!empty.applies(&RepoName::new("api").unwrap()).applies);
        let off = load(&[(ENABLED, "off"), (REPOS, "api")]).unwrap();
        assert!(!off.applies(&RepoName::new("api").unwrap()).applies);
    }

    #[test]
    fn rollback_command_is_split_like_a_shell_but_kept_as_words() {
        let c = load(&[(
            ROLLBACK_CMD,
            r#"kubectl rollout undo "deploy/my app" --to-revision=$(id)"#,
        )])
        .unwrap();
        let cmd = c.switches.rollback_cmd.unwrap();
        assert_eq!(cmd.program(), "kubectl");
        assert_eq!(
            cmd.args(),
            ["rollout", "undo", "deploy/my app", "--to-revision=$(id)"]
        );
    }

    #[test]
    fn webhook_secrets_are_redacted() {
        let c = load(&[(
            WEBHOOK_URL,
            "https://user:pw@hooks.example.com:8443/services/T0/B0/SECRET?token=x",
        )])
        .unwrap();
        let url = c.switches.webhook_url.unwrap();
        assert_eq!(url.to_string(), "https://hooks.example.com:8443/…");
        assert!(!format!("{url:?}").contains("SECRET"));
        assert!(url.expose().contains("SECRET"));
    }

    /// The URL table of the webhook variable: the same parser as `--health-url`.
    #[test]
    fn webhook_urls_the_client_cannot_request_are_refused() {
        for bad in [
            "http://hooks.example.com/a b",
            "http://u:p@[::1/x",
            "http://[::1]x/",
            "http://:443/hook",
            "http://hooks.example.com:0/hook",
            "http://hooks.example.com:65536/hook",
            "http://hooks.example.com:/hook",
            "http://hooks..example.com/hook",
            "http://hooks.example.com/\u{7f}",
            "ftp://hooks.example.com/hook",
        ] {
            let err = load(&[(WEBHOOK_URL, bad)]).unwrap_err().to_string();
            assert!(err.contains(WEBHOOK_URL), "{bad:?}: {err}");
            assert!(!err.contains("u:p@"), "{bad:?}: user info shown: {err}");
            assert!(
                err.contains(&format!("{:?}", hide_userinfo(bad))),
                "{bad:?}: {err}"
            );
        }
        for good in [
            "https://user:pw@hooks.example.com:8443/services/T0?token=x",
            "http://[::1]:8080/hook",
            "http://127.0.0.1/hook",
            "HTTPS://hooks.example.com",
            // Blank around a variable's value is dropped, as for every variable.
            " https://hooks.example.com/hook ",
        ] {
            assert!(load(&[(WEBHOOK_URL, good)]).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn the_self_service_is_a_service_name() {
        assert_eq!(load(&[]).unwrap().scope.self_service, "orchestrator");
        let c = load(&[(SELF_SERVICE, "orch_stack_orchestrator")]).unwrap();
        assert_eq!(c.scope.self_service, "orch_stack_orchestrator");
        for bad in ["my service", "-x", "a/b", "x;rm"] {
            let e = load(&[(SELF_SERVICE, bad)]).unwrap_err().to_string();
            assert!(e.contains(SELF_SERVICE) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn user_info_is_shown_as_stars() {
        assert_eq!(
            hide_userinfo("http://user:s3cret@127.0.0.1:8080/health?x=1"),
            "http://***@127.0.0.1:8080/health?x=1"
        );
        assert_eq!(hide_userinfo("http://u:p@[::1/x"), "http://***@[::1/x");
        assert_eq!(hide_userinfo("http://a@b@c/x@y"), "http://***@c/x@y");
        assert_eq!(hide_userinfo("http://host/x@y"), "http://host/x@y");
        assert_eq!(hide_userinfo("not a url@all"), "not a url@all");
        let url = SecretUrl::parse("https://bob:hunter2@api.example.com/health").unwrap();
        assert_eq!(url.without_userinfo(), "https://***@api.example.com/health");
    }

    #[test]
    fn error_messages() {
        let cases: &[&[(&str, &str)]] = &[
            &[(ENABLED, "maybe")],
            &[(REPOS, "api,../etc")],
            &[(SELF_REPO, "-x")],
            &[(SELF_CONTAINER, "my container")],
            &[(WINDOW_S, "15m")],
            &[(WINDOW_S, "0")],
            &[(INTERVAL_S, "0")],
            &[(INTERVAL_S, "-5")],
            &[(WINDOW_S, "60"), (INTERVAL_S, "120")],
            &[(FAIL_THRESHOLD, "0")],
            &[(FAIL_THRESHOLD, "three")],
            &[(RATIO_5XX_THRESHOLD, "1.5")],
            &[(RATIO_5XX_THRESHOLD, "NaN")],
            &[(RATIO_5XX_THRESHOLD, "5%")],
            &[(MIN_REQUESTS, "-1")],
            &[(HEALTH_TIMEOUT_S, "0.5")],
            &[(ROLLBACK, "yolo")],
            &[(ROLLBACK_CMD, "deploy 'unbalanced")],
            &[(WEBHOOK_URL, "ftp://example.com/hook")],
            &[(WEBHOOK_URL, "example.com/hook")],
            &[(
                WEBHOOK_URL,
                "https://user:s3cret@hooks.example.com:99999/hook",
            )],
            &[(WEBHOOK_URL, "https://hooks.example.com/a b")],
            &[(COMPOSE, "\"")],
            &[(WINDOW_S, "99999999999999999999")],
        ];
        let text: Vec<String> = cases
            .iter()
            .map(|c| load(c).unwrap_err().to_string())
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    proptest! {
        #[test]
        fn arbitrary_maps_never_panic(map in proptest::collection::btree_map(
            prop_oneof![
                proptest::sample::select(VARIABLES.iter().map(|(k, _)| (*k).to_owned()).collect::<Vec<_>>()),
                "\\PC{0,30}",
            ],
            "\\PC{0,40}",
            0..20,
        )) {
            let _ = Config::from_vars(map.iter());
            let _ = Config::switches_from_vars(map.iter());
        }

        #[test]
        fn accepted_ratios_are_in_range(v in "\\PC{0,12}|[-+]?[0-9]{0,3}(\\.[0-9]{0,4})?(e[-+]?[0-9]{1,3})?") {
            if let Ok(c) = load(&[(RATIO_5XX_THRESHOLD, &v)]) {
                let r = c.window.ratio_threshold.get();
                prop_assert!((0.0..=1.0).contains(&r));
            }
        }
    }
}
