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

use crate::access_log::{DEFAULT_DURATION_KEYS, DEFAULT_STATUS_KEYS, LogKeys};
use crate::id::{IdError, RepoName};
use crate::prometheus::{PrometheusSource, Selector};

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
/// `ORCH_POST_DEPLOY_LOG_STATUS_KEYS`: the keys that hold the status in JSON and logfmt lines.
pub const LOG_STATUS_KEYS: &str = "ORCH_POST_DEPLOY_LOG_STATUS_KEYS";
/// `ORCH_POST_DEPLOY_LOG_DURATION_KEYS`: the `key:unit` entries that hold a request's duration.
pub const LOG_DURATION_KEYS: &str = "ORCH_POST_DEPLOY_LOG_DURATION_KEYS";

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

/// The lowest and highest `LATENCY_QUANTILE` accepted.
pub const QUANTILE_RANGE: std::ops::RangeInclusive<f64> = 0.5..=0.999;

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
    /// Whitespace or a control character in what may be its password: the character is not
    /// shown.
    #[error("its user info holds whitespace or a control character")]
    UserInfoCharacter,
    /// What follows `scheme://` is no host before the user info's last `@`: a `#`, `?` or
    /// `/` in a password ends the host part early unless written `%23`, `%3F`, `%2F`. What
    /// was read as the host or port may be a piece of the password, so it is not shown.
    #[error(
        "its host or port cannot be read before the user info's last `@` (a `#`, `?` or `/` in a password is written %23, %3F or %2F)"
    )]
    UserInfo,
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
        // What may be a password is never quoted in an error, not even one character of it.
        let hidden = userinfo_span(raw);
        let is_hidden = |at: usize| hidden.as_ref().is_some_and(|span| span.contains(&at));
        if let Some((at, c)) = raw
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(if is_hidden(at) {
                UrlError::UserInfoCharacter
            } else {
                UrlError::Character(c)
            });
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
        // An `@` past the authority: what the authority holds may be the start of a password
        // (`http://admin:hunter#2@host/`), so no piece of it is quoted.
        let quotable = !at_past_authority(raw);
        let hide = |e: UrlError| if quotable { e } else { UrlError::UserInfo };
        let (host, port) = split_host_port(host_port).map_err(hide)?;
        if !is_host(host) {
            return Err(hide(UrlError::Host(host.to_owned())));
        }
        if let Some(port) = port
            && !(port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p != 0))
        {
            return Err(hide(UrlError::Port(port.to_owned())));
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
        // With an `@` past the authority, the authority may be a piece of a password.
        let host = if at_past_authority(&self.0) {
            "***"
        } else {
            authority.rsplit('@').next().unwrap_or_default()
        };
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

/// Whether `name` is a URI scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`).
fn is_scheme(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Where a person's user info in `raw` may be, whatever its password holds: from after
/// `scheme://` (from the start when `raw` has no scheme) to the value's last `@`.
///
/// This is wider than RFC 3986's user info, which ends at the first `/`, `?` or `#`: a
/// password written without percent-encoding (`http://admin:hunter#2@host/`) would then be
/// shown in part. A path or query holding an `@` is hidden with it; that is the price of
/// never showing a character of a password.
fn userinfo_span(raw: &str) -> Option<std::ops::Range<usize>> {
    let start = raw
        .find("://")
        .filter(|&i| raw.get(..i).is_some_and(is_scheme))
        .map_or(0, |i| i.saturating_add(3));
    let at = raw.rfind('@')?;
    (at >= start).then_some(start..at)
}

/// Where `raw`'s authority ends as an HTTP client reads it (RFC 3986): at the first `/`, `?`
/// or `#` after `scheme://`.
fn authority_end(raw: &str) -> usize {
    let start = raw.find("://").map_or(0, |i| i.saturating_add(3));
    let rest = raw.get(start..).unwrap_or_default();
    start.saturating_add(rest.find(['/', '?', '#']).unwrap_or(rest.len()))
}

/// Whether `raw` has an `@` past its authority: then what the authority holds may be a piece
/// of a password that was not percent-encoded.
fn at_past_authority(raw: &str) -> bool {
    raw.rfind('@').is_some_and(|at| at >= authority_end(raw))
}

/// `raw` with everything that may be its user info (`user:secret@`) shown as `***@`, whether
/// or not `raw` is a valid URL: how every message shows a URL, refused ones included. All
/// between `scheme://` and the value's last `@` is hidden, so no character of a password is
/// shown, whatever it holds (`#`, `?`, `/`, `@`, spaces, `%`).
#[must_use]
pub fn hide_userinfo(raw: &str) -> String {
    match userinfo_span(raw) {
        Some(span) => format!(
            "{}***{}",
            raw.get(..span.start).unwrap_or_default(),
            raw.get(span.end..).unwrap_or_default()
        ),
        None => raw.to_owned(),
    }
}

/// `text` with every trace of `url`'s user info replaced: the whole URL by the URL shown with
/// `***`, the user info and its user and password, as written and percent-decoded (each when
/// 3 characters or longer, shorter ones being too common to replace without mangling the
/// text), by `***`. For messages that came from an HTTP client, which may quote the URL it
/// was given.
#[must_use]
pub fn scrub_userinfo(text: &str, url: &str) -> String {
    let Some(span) = userinfo_span(url) else {
        return text.to_owned();
    };
    let mut out = text.replace(url, &hide_userinfo(url));
    let userinfo = url.get(span).unwrap_or_default();
    let mut secrets: Vec<String> = vec![userinfo.to_owned()];
    if let Some((user, password)) = userinfo.split_once(':') {
        secrets.extend([password.to_owned(), user.to_owned()]);
    }
    let decoded: Vec<String> = secrets
        .iter()
        .filter_map(|s| String::from_utf8(percent_decode(s)).ok())
        .collect();
    secrets.extend(decoded);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets.iter().filter(|s| s.chars().count() >= 3) {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

/// `s` percent-decoded (RFC 3986): `%XX` is the byte `XX`; a `%` not followed by two hex
/// digits stays as it is.
#[must_use]
pub fn percent_decode(s: &str) -> Vec<u8> {
    let hex = |c: u8| char::from(c).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%'
            && let Some(([high, low], after)) = tail.split_first_chunk::<2>()
            && let (Some(high), Some(low)) = (hex(*high), hex(*low))
            && let Some(byte) = high
                .checked_mul(16)
                .and_then(|h| h.checked_add(low))
                .and_then(|v| u8::try_from(v).ok())
        {
            out.push(byte);
            rest = after;
            continue;
        }
        out.push(b);
        rest = tail;
    }
    out
}

/// The credentials of a URL's user info, decoded, as an HTTP client sends them: the bytes of
/// `user:password` for `Authorization: Basic`. Never shown: `Debug` says only that there are
/// some.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(Vec<u8>);

impl Credentials {
    /// `user:password`, each percent-decoded (RFC 3986); `user:` when there is no password.
    #[must_use]
    pub fn user_password(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// `raw` split, as an HTTP client requests it (RFC 3986), into the URL without its user info
/// and the user info's credentials, percent-decoded: `http://bob:p%40ss@host/` is requested as
/// `http://host/` with the credentials `bob:p@ss`, as curl sends them. `None` when it has no
/// user info.
#[must_use]
pub fn split_credentials(raw: &str) -> (String, Option<Credentials>) {
    let start = raw.find("://").map_or(0, |i| i.saturating_add(3));
    let end = authority_end(raw);
    let authority = raw.get(start..end).unwrap_or_default();
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (raw.to_owned(), None);
    };
    let url = format!(
        "{}{host}{}",
        raw.get(..start).unwrap_or_default(),
        raw.get(end..).unwrap_or_default()
    );
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut token = percent_decode(user);
    token.push(b':');
    token.extend(percent_decode(password));
    (url, Some(Credentials(token)))
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

/// `ORCH_POST_DEPLOY_LOG_STATUS_KEYS` and `ORCH_POST_DEPLOY_LOG_DURATION_KEYS`.
fn log_keys(vars: &Vars) -> Result<LogKeys, ConfigError> {
    LogKeys::parse(vars.get(LOG_STATUS_KEYS), vars.get(LOG_DURATION_KEYS)).map_err(
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
    )
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
    fn log_keys_are_read_and_refused_naming_the_variable() {
        let c = load(&[]).unwrap();
        assert_eq!(c.window.log_keys, LogKeys::default());
        let c = load(&[
            (
                LOG_STATUS_KEYS,
                " DownstreamStatus, http.response.status_code ",
            ),
            (LOG_DURATION_KEYS, "Duration:ns,event.duration:ns"),
        ])
        .unwrap();
        assert_eq!(
            c.window.log_keys.status_list(),
            "DownstreamStatus,http.response.status_code"
        );
        assert_eq!(
            c.window.log_keys.duration_list(),
            "Duration:ns,event.duration:ns"
        );
        for (variable, value) in [
            (LOG_STATUS_KEYS, "status,,code"),
            (LOG_STATUS_KEYS, "http..status"),
            (LOG_STATUS_KEYS, "status code"),
            (LOG_DURATION_KEYS, "Duration"),
            (LOG_DURATION_KEYS, "Duration:min"),
            (LOG_DURATION_KEYS, "a:ms,:s"),
        ] {
            let err = load(&[(variable, value)]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid {variable}={value:?}: ")),
                "{err}"
            );
        }
        // Recorded with the window; a window armed before keys were recorded reads by the
        // default keys.
        let json = serde_json::to_value(&c.window).unwrap();
        assert_eq!(
            json["log_keys"]["status"],
            serde_json::json!(["DownstreamStatus", "http.response.status_code"])
        );
        let mut old = serde_json::to_value(WindowSettings::default()).unwrap();
        old.as_object_mut().unwrap().remove("log_keys");
        let old: WindowSettings = serde_json::from_value(old).unwrap();
        assert_eq!(old.log_keys, LogKeys::default());
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
        // Up to the value's last `@`, so that no character of a password can show, whatever
        // it holds; a path with an `@` is hidden with it.
        assert_eq!(hide_userinfo("http://a@b@c/x@y"), "http://***@y");
        assert_eq!(hide_userinfo("http://host/x@y"), "http://***@y");
        assert_eq!(hide_userinfo("http://host/x"), "http://host/x");
        assert_eq!(hide_userinfo("not a url@all"), "***@all");
        assert_eq!(hide_userinfo("us@er://x"), "***@er://x");
        // Every piece of these passwords holds a `Q`, which nothing else shown holds.
        for password in [
            "Qhunter#Q2x",
            "Qhun?Qter",
            "Qhun/Qter",
            "Qp@Qss#Qw@Qrd",
            "Qsec Qret",
            "Qpa%Qss",
            "Qa#Qb?Qc/Qd@Qe Qf%Qg",
            "Qx://Qy",
            "Q1234#Qx",
        ] {
            for raw in [
                format!("http://admin:{password}@127.0.0.1:8080/h?q=1"),
                format!("https://admin:{password}@host"),
                format!("admin:{password}@host/h"),
                format!("http:/admin:{password}@host/h"),
            ] {
                let shown = hide_userinfo(&raw);
                assert!(
                    shown.contains("***@") && !shown.contains('Q'),
                    "{raw}: {shown}"
                );
                match SecretUrl::new(&raw) {
                    Err(e) => assert!(!e.to_string().contains('Q'), "{raw}: {e}"),
                    Ok(url) => {
                        for shown in [url.to_string(), format!("{url:?}"), url.without_userinfo()] {
                            assert!(!shown.contains('Q'), "{raw}: {shown}");
                        }
                    }
                }
            }
        }
    }

    /// A password of digits before a `#` reads as a valid port: the URL is accepted (the
    /// client would request host `admin`, port 1234), and the port is never shown.
    #[test]
    fn a_password_that_reads_as_a_port_is_never_shown() {
        let url = SecretUrl::parse("http://admin:1234#x@api.example.com/h").unwrap();
        for shown in [url.to_string(), format!("{url:?}"), url.without_userinfo()] {
            assert!(
                !shown.contains("1234") && !shown.contains("admin"),
                "{shown}"
            );
        }
        assert_eq!(url.to_string(), "http://***/…");
    }

    #[test]
    fn credentials_are_percent_decoded_and_left_out_of_the_url() {
        let split = |raw: &str| {
            let (url, credentials) = split_credentials(raw);
            (url, credentials.map(|c| c.user_password().to_vec()))
        };
        assert_eq!(
            split("http://bob:p%40ss@host:8080/h?x=%40#f"),
            (
                "http://host:8080/h?x=%40#f".to_owned(),
                Some(b"bob:p@ss".to_vec())
            )
        );
        assert_eq!(
            split("https://b%6Fb@[::1]/"),
            ("https://[::1]/".to_owned(), Some(b"bob:".to_vec()))
        );
        assert_eq!(
            split("http://host/x@y"),
            ("http://host/x@y".to_owned(), None)
        );
        assert_eq!(
            split("http://u:%zz%4@h"),
            ("http://h".to_owned(), Some(b"u:%zz%4".to_vec()))
        );
        assert_eq!(percent_decode("%C3%A9%2f%"), "é/%".as_bytes());
        let (_, credentials) = split_credentials("http://u:secret@h/");
        assert_eq!(format!("{credentials:?}"), "Some(Credentials(***))");
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

    #[test]
    fn latency_and_prometheus_variables() {
        let c = load(&[]).unwrap();
        assert_eq!(c.window.latency_ms, None);
        assert!((c.window.latency_quantile.get() - 0.95).abs() < f64::EPSILON);
        assert_eq!(c.prometheus, None);
        let c = load(&[
            (LATENCY_MS, "250.5"),
            (LATENCY_QUANTILE, "0.999"),
            (PROMETHEUS_URL, "https://bob:s3cret@prom.example:9090/"),
            (PROMETHEUS_REQUESTS, r#"http_requests_total{job="api"}"#),
            (
                PROMETHEUS_ERRORS,
                r#"http_requests_total{job="api",code=~"5.."}"#,
            ),
            (PROMETHEUS_LATENCY, "http_request_duration_seconds_bucket"),
        ])
        .unwrap();
        assert_eq!(c.window.latency_ms, Some(250.5));
        let source = c.prometheus.unwrap();
        assert_eq!(
            source.errors.as_str(),
            r#"http_requests_total{job="api",code=~"5.."}"#
        );
        assert!(!format!("{source:?}").contains("s3cret"));
        // A latency selector is checked and kept even when LATENCY_MS is not set.
        let cases: &[&[(&str, &str)]] = &[
            &[(LATENCY_MS, "0")],
            &[(LATENCY_MS, "-5")],
            &[(LATENCY_MS, "fast")],
            &[(LATENCY_MS, "inf")],
            &[(LATENCY_QUANTILE, "0.4")],
            &[(LATENCY_QUANTILE, "1")],
            &[(LATENCY_QUANTILE, "95")],
            &[(PROMETHEUS_URL, "ftp://bob:s3cret@prom:9090")],
            &[(PROMETHEUS_URL, "http://prom:9090")],
            &[
                (PROMETHEUS_URL, "http://prom:9090"),
                (PROMETHEUS_REQUESTS, "up"),
            ],
            &[(PROMETHEUS_REQUESTS, "up"), (PROMETHEUS_ERRORS, "up")],
            &[(PROMETHEUS_LATENCY, "d_bucket")],
            &[(PROMETHEUS_REQUESTS, "x{job=\"api\"")],
            &[(PROMETHEUS_ERRORS, "x{job=\"api}")],
            &[(PROMETHEUS_LATENCY, "x\ty")],
        ];
        let text: Vec<String> = cases
            .iter()
            .map(|c| load(c).unwrap_err().to_string())
            .collect();
        let text = text.join("\n");
        assert!(!text.contains("s3cret"));
        insta::assert_snapshot!(text);
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
