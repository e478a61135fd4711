//! Alert delivery: a JSON line on stderr, and a POST to the webhook when one is set.
//!
//! The webhook URL is a secret (credentials, a token in the path or the query): it never
//! appears in any output, error or log. Messages name it by [`SecretUrl::redacted`] only, and
//! any text that came from ureq is scrubbed of the URL's secret parts before it is shown.
//! The POST has one time limit for the whole exchange ([`WEBHOOK_TIMEOUT`] by default), does
//! not follow redirects, and only a 2xx answer counts as delivered.

use std::time::Duration;

use post_deploy_core::config::{ComposeProgram, SecretUrl, split_credentials};
use post_deploy_core::{Alert, AlertError, AlertSink};
use ureq::Agent;

use crate::http::{USER_AGENT, basic_auth};
use crate::switchboard::Switchboard;

/// The time limit of one webhook POST, the whole exchange.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Alerts to stderr and, when set, a webhook.
#[derive(Debug)]
pub struct WebhookSink {
    /// The URL, as the switches are now.
    board: Switchboard,
    agent: Agent,
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
        Self::switched(
            Switchboard::fixed_parts("docker".to_owned(), ComposeProgram::Auto, url),
            timeout,
        )
    }

    /// Delivers to stderr, and to the URL the switches of `board` name at each alert
    /// (`ORCH_POST_DEPLOY_WEBHOOK_URL`) when set, giving each POST `timeout` in all.
    #[must_use]
    pub fn switched(board: Switchboard, timeout: Duration) -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(timeout))
            .user_agent(USER_AGENT)
            .build();
        Self {
            board,
            agent: Agent::new_with_config(config),
        }
    }

    /// POSTs `body` to the webhook. The error is already redacted.
    fn post(url: &SecretUrl, agent: &Agent, body: &[u8]) -> Result<(), String> {
        // Credentials decoded and sent by hand, as the health probe sends them.
        let (target, credentials) = split_credentials(url.expose());
        let mut request = agent.post(&target);
        if let Some(credentials) = &credentials {
            request = request.header("Authorization", &basic_auth(credentials));
        }
        let response = request
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| {
                format!(
                    "webhook {} not reached: {}",
                    url.redacted(),
                    post_deploy_core::text::quote(&scrub(&describe(&e), url))
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
        let Some(url) = self.board.webhook_url() else {
            return Ok(());
        };
        Self::post(&url, &self.agent, line.as_bytes()).map_err(|why| {
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

    fn alert() -> Alert {
        let subject = post_deploy_core::AlertSubject {
            repo: post_deploy_core::RepoName::new("shop").unwrap(),
            work_item: post_deploy_core::WorkItem::new("wi-42").unwrap(),
            container: None,
        };
        Alert::new(
            post_deploy_core::AlertEvent::Degraded,
            &subject,
            post_deploy_core::Verdict::Degraded,
            post_deploy_core::ActionKind::AlertOnly,
            "a test".to_owned(),
            chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        )
    }

    /// Flipping `WEBHOOK_URL` in the host's variables is seen by the alert after the next
    /// read of the switches (the driver's, at a tick), and not before.
    #[test]
    fn a_flipped_webhook_url_is_used_by_the_next_alert() {
        use std::sync::{Arc, Mutex};

        use post_deploy_core::config::{VarSource as _, WEBHOOK_URL};

        // A port nothing listens on: a POST there fails, and says so.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            closed.local_addr().unwrap().port()
        );
        drop(closed);
        let vars: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let source = {
            let vars = Arc::clone(&vars);
            move || vars.lock().unwrap().clone()
        };
        let board = Switchboard::new(
            post_deploy_core::Config::switches_from_vars(vars.lock().unwrap().clone()).unwrap(),
            source,
        );
        let sink = WebhookSink::switched(board.clone(), Duration::from_secs(5));
        assert_eq!(sink.send(&alert()), Ok(()));

        *vars.lock().unwrap() = vec![(WEBHOOK_URL.to_owned(), url)];
        assert_eq!(sink.send(&alert()), Ok(()), "not read before the tick");
        let _ = board.vars();
        let err = sink.send(&alert()).unwrap_err();
        assert!(
            err.0.contains("webhook") && err.0.contains("not reached"),
            "{err}"
        );

        vars.lock().unwrap().clear();
        let _ = board.vars();
        assert_eq!(sink.send(&alert()), Ok(()));
    }
}
