//! Health probes over ureq: one GET, the status as seen, the body capped, one time limit.
//!
//! - The time limit bounds the whole exchange (DNS, connect, TLS, request, response head and
//!   the capped body read), through ureq's `timeout_global`: a server that never answers, or
//!   trickles its body, is a [`ProbeFailure::TimedOut`] within the limit.
//! - `http_status_as_error(false)`: 4xx and 5xx come back as a status, so the core sees it.
//! - At most [`BODY_CAP`] bytes of the body are read, into a sink; then the body is dropped and
//!   its connection closed. A 2xx with a huge or endless body is still a pass, in little memory.
//! - Redirects are **not followed**: a 3xx is a failed probe ([`ProbeFailure::Status`]). A health
//!   endpoint that redirects (to a login page, to another host, from http to https) is not
//!   answering as a health endpoint; following it would report the health of something else.
//! - Connections are not kept between probes: each probe connects afresh, as a new client would,
//!   and a stale pooled connection cannot turn into a false "reset". The one [`ureq::Agent`] is
//!   kept for its configuration and TLS roots (webpki roots, rustls with ring).
//! - Credentials in the URL's user info are percent-decoded (RFC 3986) and sent as
//!   `Authorization: Basic`, as curl sends them: `http://bob:p%40ss@host/` authenticates as
//!   `bob` with the password `p@ss`. ureq would send the user info as written, so the
//!   request is made to the URL without it, with the header set here.
//! - Proxies: ureq's defaults (`HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`, honouring `NO_PROXY`).
//! - `Err(ProbeError)` only when no request could be built for the URL (the monitor's own
//!   fault); every way the target can answer badly (refused, reset, timed out, garbage, TLS,
//!   DNS) is a failed [`HealthSample`].

use std::io::{self, Read};
use std::time::{Duration, Instant};

use post_deploy_core::config::{Credentials, split_credentials};
use post_deploy_core::{HealthSample, HttpProbe, ProbeError, ProbeFailure};
use ureq::Agent;

/// How much of a health answer's body is read, at most: 64 KiB.
pub const BODY_CAP: u64 = 64 * 1024;

/// The `User-Agent` of probes and webhook posts: `post-deploy/<version>`.
pub const USER_AGENT: &str = concat!("post-deploy/", env!("CARGO_PKG_VERSION"));

/// Health probes with ureq: GET, status as seen, body capped, redirects not followed.
#[derive(Debug)]
pub struct UreqProbe {
    agent: Agent,
}

impl Default for UreqProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl UreqProbe {
    /// A probe with its own agent.
    #[must_use]
    pub fn new() -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .user_agent(USER_AGENT)
            .build();
        Self {
            agent: Agent::new_with_config(config),
        }
    }
}

/// The one clock read of a probe: latency is measured on the monotonic clock.
fn started() -> Instant {
    crate::clock::monotonic_now()
}

impl HttpProbe for UreqProbe {
    fn get(&self, url: &str, timeout: Duration) -> Result<HealthSample, ProbeError> {
        let start = started();
        let outcome = exchange(&self.agent, url, timeout);
        let latency = start.elapsed();
        match outcome {
            Ok(status) if (200..300).contains(&status) => Ok(HealthSample::pass(status, latency)),
            Ok(status) => Ok(HealthSample::fail(ProbeFailure::Status { status }, latency)),
            Err(e) => match classify(e) {
                Classified::Target(failure) => Ok(HealthSample::fail(failure, latency)),
                Classified::Monitor(detail) => Err(ProbeError(detail)),
            },
        }
    }

    /// A GET for its answer (a Prometheus query): the same agent, so redirects are not
    /// followed and a 4xx or 5xx comes back as its status; `timeout` bounds the whole
    /// exchange; a body longer than `max_body` is an error, read no further than that.
    fn fetch(
        &self,
        url: &str,
        timeout: Duration,
        max_body: usize,
    ) -> Result<(u16, Vec<u8>), ProbeError> {
        fetch(&self.agent, url, timeout, max_body).map_err(|e| {
            ProbeError(match e {
                ureq::Error::Timeout(_) => {
                    format!("no whole answer within {} s", timeout.as_secs())
                }
                ureq::Error::BodyExceedsLimit(_) => {
                    format!("the answer is longer than {max_body} bytes")
                }
                other => other.to_string(),
            })
        })
    }
}

/// GETs `url` and reads its body, at most `max_body` bytes.
fn fetch(
    agent: &Agent,
    url: &str,
    timeout: Duration,
    max_body: usize,
) -> Result<(u16, Vec<u8>), ureq::Error> {
    let mut response = agent
        .get(url)
        .header("Accept", "application/json")
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(u64::try_from(max_body).unwrap_or(u64::MAX))
        .read_to_vec()?;
    Ok((status, body))
}

/// The `Authorization` value for the credentials of a URL's user info, decoded.
pub(crate) fn basic_auth(credentials: &Credentials) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials.user_password())
    )
}

/// GETs `url` and, for a 2xx, reads up to [`BODY_CAP`] bytes of the body. The status.
fn exchange(agent: &Agent, url: &str, timeout: Duration) -> Result<u16, ureq::Error> {
    let (url, credentials) = split_credentials(url);
    let mut request = agent.get(&url);
    if let Some(credentials) = &credentials {
        request = request.header("Authorization", &basic_auth(credentials));
    }
    let mut response = request
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        // The whole answer must arrive in time; a body past the cap is not read at all.
        let mut body = response.body_mut().as_reader().take(BODY_CAP);
        io::copy(&mut body, &mut io::sink()).map_err(ureq::Error::from)?;
    }
    Ok(status)
}

/// Whose fault a ureq error is.
enum Classified {
    /// The target answered badly, or not at all.
    Target(ProbeFailure),
    /// The monitor could not make the request.
    Monitor(String),
}

fn classify(e: ureq::Error) -> Classified {
    use ureq::Error as E;
    let other = |detail: String| Classified::Target(ProbeFailure::Other { detail });
    match e {
        E::Timeout(_) => Classified::Target(ProbeFailure::TimedOut),
        E::Io(io) => Classified::Target(io_failure(&io)),
        E::StatusCode(status) => Classified::Target(ProbeFailure::Status { status }),
        E::HostNotFound => other("host not found (DNS)".to_owned()),
        E::ConnectionFailed => other("connection failed".to_owned()),
        E::Protocol(p) => other(format!("malformed HTTP answer: {p}")),
        E::LargeResponseHeader(..) => other("response headers too large".to_owned()),
        E::Tls(t) => other(format!("TLS: {t}")),
        E::Rustls(t) => other(format!("TLS: {t}")),
        E::Pem(_) => other("TLS: bad certificate data".to_owned()),
        E::TooManyRedirects | E::RedirectFailed => other("redirect not followed".to_owned()),
        E::BodyExceedsLimit(_) => other("body over the limit".to_owned()),
        E::BadUri(detail) => Classified::Monitor(format!("bad health URL: {detail}")),
        E::Http(h) => {
            Classified::Monitor(format!("cannot build a request for the health URL: {h}"))
        }
        E::RequireHttpsOnly(_) | E::InvalidProxyUrl | E::ConnectProxyFailed(_) | E::TlsRequired => {
            Classified::Monitor(format!("cannot make the probe: {e}"))
        }
        other_error => other(other_error.to_string()),
    }
}

fn io_failure(e: &io::Error) -> ProbeFailure {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => ProbeFailure::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
            ProbeFailure::Reset
        }
        K::TimedOut | K::WouldBlock => ProbeFailure::TimedOut,
        _ => ProbeFailure::Other {
            detail: format!("I/O: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use post_deploy_core::config::SecretUrl;
    use proptest::prelude::*;

    #[test]
    fn a_url_without_a_host_is_the_monitors_fault_or_a_failed_probe_never_a_panic() {
        let probe = UreqProbe::new();
        for url in [
            "",
            "not a url",
            "http://",
            "ftp://example.invalid/",
            "http://[::1/x",
            "http://\u{7f}/",
        ] {
            // Never a passing probe: the monitor's fault, or a failed sample.
            if let Ok(sample) = probe.get(url, Duration::from_millis(200)) {
                assert!(sample.outcome.is_err(), "{url:?}: {sample:?}");
            }
        }
        assert!(probe.get("http://", Duration::from_millis(200)).is_err());
    }

    /// A port on loopback that nothing listens on: probes there are refused at once.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// What arm accepts and what it refuses, against what this probe does with it: every
    /// accepted URL is requested (a sample, failed or not), never the monitor's fault.
    #[test]
    fn every_url_arm_accepts_is_one_the_probe_can_request() {
        let probe = UreqProbe::new();
        let port = closed_port();
        let accepted = [
            format!("http://127.0.0.1:{port}/health"),
            format!("http://user:s3cret@127.0.0.1:{port}/health"),
            format!("http://user:pa%40ss@127.0.0.1:{port}/health?deep=1&x=%20"),
            format!("http://user@127.0.0.1:{port}"),
            format!("http://[::1]:{port}/health"),
            format!("https://[::1]:{port}/health#top"),
            format!("HTTPS://localhost:{port}/h/é"),
            format!("http://localhost.:{port}/health"),
            format!("http://127.0.0.1:0{port}/health"),
        ];
        for url in &accepted {
            assert!(SecretUrl::parse(url).is_some(), "arm accepts {url}");
            let sample = probe.get(url, Duration::from_secs(2));
            assert!(sample.is_ok(), "{url}: {sample:?}");
        }
        let refused = [
            format!("http://127.0.0.1:{port}/health "),
            format!("http://127.0.0.1:{port}/he alth"),
            "http://u:p@[::1/x".to_owned(),
            "http://127.0.0.1:99999/health".to_owned(),
            "http://127.0.0.1:0/health".to_owned(),
            "http://:80/health".to_owned(),
            "http://[::1]x/".to_owned(),
            "ftp://127.0.0.1/health".to_owned(),
        ];
        for url in &refused {
            assert!(SecretUrl::parse(url).is_none(), "arm refuses {url:?}");
        }
    }

    fn url_piece(chars: &'static str, max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(chars.chars().collect::<Vec<_>>()),
            0..max,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Any URL arm accepts is one this probe requests: `get` never answers with the
        /// monitor-fault `Err` for it. Hosts are loopback names, so every request stays here.
        #[test]
        fn no_accepted_url_is_a_monitor_fault(
            scheme in proptest::sample::select(vec!["http", "http", "https", "HTTP", "ftp", ""]),
            userinfo in proptest::option::of(prop_oneof![
                3 => url_piece("abcXYZ019:-._~!$&'()*+,;=", 12),
                1 => url_piece("abcXYZ019:%@-._~!$&'()*+,;= [", 12),
            ]),
            host in proptest::sample::select(vec![
                "127.0.0.1", "[::1]", "localhost", "LocalHost", "[::1", "::1", "", "127.0.0.1.",
            ]),
            port in prop_oneof![
                Just(None),
                (0u32..70_000).prop_map(|p| Some(p.to_string())),
                proptest::option::of(url_piece("0123456789+-a", 7)),
            ],
            path in prop_oneof![
                3 => url_piece("abz09/%?#&=.-_~é{}|", 16).prop_map(|p| format!("/{p}")),
                1 => url_piece("abz09/%?#&=.-_~é{}|\\^` \t\"<>[]\u{a0}\u{7f}", 16),
            ],
        ) {
            let mut url = format!("{scheme}://");
            if let Some(u) = &userinfo {
                url.push_str(u);
                url.push('@');
            }
            url.push_str(host);
            if let Some(p) = &port {
                url.push(':');
                url.push_str(p);
            }
            url.push_str(&path);
            if SecretUrl::parse(&url).is_some() {
                let probe = UreqProbe::new();
                let got = probe.get(&url, Duration::from_millis(500));
                prop_assert!(got.is_ok(), "{url:?}: {got:?}");
            }
        }
    }

    #[test]
    fn user_agent_names_the_program_and_version() {
        assert!(USER_AGENT.starts_with("post-deploy/"));
        assert!(USER_AGENT.len() > "post-deploy/".len());
    }
}
