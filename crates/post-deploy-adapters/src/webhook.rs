//! Alert delivery: a JSON line on stderr, and a POST to the webhook when one is set.
//!
//! The webhook URL is a secret (credentials, a token in the path or the query): it never
//! appears in any output, error or log. Messages name it by [`SecretUrl::redacted`] only, and
//! any text that came from ureq is scrubbed of the URL's secret parts before it is shown.
//! The POST has one time limit for the whole exchange ([`WEBHOOK_TIMEOUT`] by default), does
//! not follow redirects, and only a 2xx answer counts as delivered.

use std::time::Duration;

use post_deploy_core::config::SecretUrl;
use post_deploy_core::{Alert, AlertError, AlertSink};
use ureq::Agent;

use crate::http::USER_AGENT;

/// The time limit of one webhook POST, the whole exchange.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Alerts to stderr and, when set, a webhook.
#[derive(Debug)]
pub struct WebhookSink {
    target: Option<(SecretUrl, Agent)>,
}

impl WebhookSink {
    /// Delivers to stderr, and to `url` when set, within [`WEBHOOK_TIMEOUT`].
    #[must_use]
    pub fn new(url: Option<SecretUrl>) -> Self {
        Self::with_timeout(url, WEBHOOK_TIMEOUT)
    }

    /// Delivers to stderr, and to `url` when set, giving each POST `timeout` in all.
    #[must_use]
    pub fn with_timeout(url: Option<SecretUrl>, timeout: Duration) -> Self {
        let target = url.map(|url| {
            let config = Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .timeout_global(Some(timeout))
                .user_agent(USER_AGENT)
                .build();
            (url, Agent::new_with_config(config))
        });
        Self { target }
    }

    /// POSTs `body` to the webhook. The error is already redacted.
    fn post(url: &SecretUrl, agent: &Agent, body: &[u8]) -> Result<(), String> {
        let response = agent
            .post(url.expose())
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| {
                format!(
                    "webhook {} not reached: {}",
                    url.redacted(),
                    scrub(&describe(&e), url)
                )
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("webhook {} answered HTTP {status}", url.redacted()))
        }
    }
}

impl AlertSink for WebhookSink {
    fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        let line = serde_json::to_string(alert).map_err(|e| AlertError(e.to_string()))?;
        #[expect(clippy::print_stderr, reason = "alerts go to stderr by contract")]
        {
            eprintln!("post-deploy alert: {line}");
        }
        let Some((url, agent)) = &self.target else {
            return Ok(());
        };
        Self::post(url, agent, line.as_bytes()).map_err(|why| {
            #[expect(
                clippy::print_stderr,
                reason = "a failed delivery is reported on stderr, redacted"
            )]
            {
                eprintln!("post-deploy: alert not delivered: {why}");
            }
            AlertError(why)
        })
    }
}

/// What went wrong, in words that do not need the URL.
fn describe(e: &ureq::Error) -> String {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => "timed out".to_owned(),
        E::Io(io) => format!("I/O: {io}"),
        E::HostNotFound => "host not found (DNS)".to_owned(),
        // These can carry the URL itself; say only what kind of fault it was.
        E::BadUri(_) | E::Http(_) => "the URL cannot be used for a request".to_owned(),
        E::RequireHttpsOnly(_) => "https required".to_owned(),
        E::ConnectProxyFailed(_) | E::InvalidProxyUrl => "proxy failed".to_owned(),
        other => other.to_string(),
    }
}

/// `text` with every secret part of `url` (the whole URL, its credentials, path, query and
/// fragment, and their pieces) replaced by `…`.
fn scrub(text: &str, url: &SecretUrl) -> String {
    let mut out = text.to_owned();
    for secret in secret_parts(url.expose()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "…");
        }
    }
    out
}

/// The secret pieces of a raw URL, longest first so a whole part is replaced before its pieces.
fn secret_parts(raw: &str) -> Vec<String> {
    let rest = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(authority_len).unwrap_or((rest, ""));
    let mut parts = vec![raw.to_owned(), tail.to_owned()];
    if let Some((userinfo, _host)) = authority.rsplit_once('@') {
        parts.push(userinfo.to_owned());
        parts.extend(userinfo.split(':').map(str::to_owned));
    }
    parts.extend(tail.split(['/', '?', '#', '&', '=']).map(str::to_owned));
    // Pieces shorter than this are too common to hide without mangling the message.
    parts.retain(|p| p.chars().count() >= 3);
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts.dedup();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_credentials_path_and_query() {
        let url = SecretUrl::parse(
            "https://bob:hunter2@hooks.example.com/services/T0SECRET/B0SECRET?token=abc123xyz",
        )
        .unwrap();
        let text = format!(
            "bad uri: {} (user bob:hunter2, path /services/T0SECRET/B0SECRET, token=abc123xyz)",
            url.expose()
        );
        let clean = scrub(&text, &url);
        for secret in ["hunter2", "T0SECRET", "B0SECRET", "abc123xyz", "services"] {
            assert!(!clean.contains(secret), "{secret} left in {clean}");
        }
    }

    #[test]
    fn no_url_means_stderr_only() {
        let sink = WebhookSink::new(None);
        assert!(sink.target.is_none());
    }
}
