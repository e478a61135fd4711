//! The real HTTP adapters (`UreqProbe`, `WebhookSink`) against a real HTTP server on loopback
//! with scripted behaviours: good answers, bad statuses, redirects, refusals, silence, huge and
//! endless bodies, trickles, garbage and resets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::print_stderr,
    reason = "tests"
)]

mod support {
    pub(crate) mod loopback;
}

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use post_deploy_adapters::http::UreqProbe;
use post_deploy_adapters::webhook::WebhookSink;
use post_deploy_core::config::SecretUrl;
use post_deploy_core::{
    ActionKind, Alert, AlertEvent, AlertSink, AlertSubject, HealthSample, HttpProbe, ProbeFailure,
    RepoName, Verdict, WorkItem,
};
use support::loopback::{self, Conn, Server};

/// The probe limit in these tests: short, so a time-out test is quick.
const LIMIT: Duration = Duration::from_secs(1);
/// How far past the limit a probe may return. These bounds check the probe's own time limit
/// (the contract's `HEALTH_TIMEOUT_S`), not its speed: a probe that ignored the limit would
/// take the server's whole silence or trickle (10 s and more), far past `LIMIT + SLACK`. The
/// slack is three times the limit because the tests run beside others on two shared cores,
/// where a thread can wait a second or more to be scheduled; it is not a benchmark.
const SLACK: Duration = Duration::from_secs(3);

/// Set in a child run of this test binary (see [`in_child`]).
const CHILD: &str = "POST_DEPLOY_TEST_CHILD";

/// Runs the ignored test `name` of this binary alone in a child process, output not captured,
/// with `env`: what it prints on stderr and its peak memory are its own, not shared with the
/// tests running beside it here.
fn in_child(name: &str, env: &[(&str, String)]) -> std::process::Output {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} failed in its child process: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether this is the child run [`in_child`] asked for; a plain `--ignored` run is not.
fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn probe(url: &str) -> (HealthSample, Duration) {
    let started = Instant::now();
    let sample = UreqProbe::new()
        .get(url, LIMIT)
        .expect("a probe of a loopback URL is always made");
    let took = started.elapsed();
    eprintln!("probe {url}: {sample:?} after {took:?}");
    (sample, took)
}

fn failure(sample: &HealthSample) -> ProbeFailure {
    sample
        .outcome
        .clone()
        .expect_err("the probe should have failed")
}

// --- Health probe ----------------------------------------------------------------------

#[test]
fn a_200_passes_with_its_status_and_the_user_agent_names_the_program() {
    let server = Server::start(loopback::respond(
        200,
        &[("Content-Type", "text/plain")],
        b"ok",
    ));
    let (sample, _) = probe(&server.url("/health"));
    assert_eq!(sample.outcome, Ok(200));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].target, "/health");
    let ua = requests[0].header("user-agent").unwrap();
    assert_eq!(ua, format!("post-deploy/{}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn one_probe_serves_many_gets() {
    let server = Server::start(loopback::respond(204, &[], b""));
    let probe = UreqProbe::new();
    for _ in 0..3 {
        assert_eq!(
            probe.get(&server.url("/health"), LIMIT).unwrap().outcome,
            Ok(204)
        );
    }
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_500_is_a_failed_probe_with_status_500() {
    let server = Server::start(loopback::respond(500, &[], b"boom"));
    let (sample, _) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::Status { status: 500 });
}

#[test]
fn a_404_is_a_failed_probe_with_status_404() {
    let server = Server::start(loopback::respond(404, &[], b""));
    let (sample, _) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::Status { status: 404 });
}

#[test]
fn a_redirect_is_not_followed_and_fails_the_probe() {
    // /health redirects to /login, which would answer 200: following it would hide the fault.
    let server = Server::start(|c: &mut Conn| {
        let Some(request) = c.read_request() else {
            return;
        };
        let answer: &[u8] = if request.target == "/health" {
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlogin"
        };
        c.write(answer);
    });
    let (sample, _) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::Status { status: 301 });
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/health"]);
}

#[test]
fn a_closed_port_is_refused() {
    let port = loopback::closed_port();
    let (sample, _) = probe(&format!("http://127.0.0.1:{port}/health"));
    assert_eq!(failure(&sample), ProbeFailure::Refused);
}

#[test]
fn a_server_that_never_answers_times_out_within_the_limit() {
    let server = Server::start(loopback::silent());
    let (sample, took) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::TimedOut);
    assert!(
        took >= LIMIT - Duration::from_millis(50),
        "gave up early: {took:?}"
    );
    assert!(took < LIMIT + SLACK, "the limit did not hold: {took:?}");
}

#[test]
fn a_64_mib_body_passes_reading_only_the_cap() {
    const LEN: u64 = 64 * 1024 * 1024;
    let server = Server::start(loopback::big_body(LEN));
    let (sample, took) = probe(&server.url("/health"));
    assert_eq!(sample.outcome, Ok(200));
    assert!(took < LIMIT + SLACK, "{took:?}");
    // The probe stopped reading and closed: the server's writes failed long before the end.
    assert!(
        server.wait_connections_done(Duration::from_secs(10)),
        "the server is still sending"
    );
    let sent = server.body_bytes_sent();
    assert!(sent < LEN, "the whole body was sent ({sent} bytes)");
}

/// The probe of a 64 MiB body, in a process of its own: its peak resident size grows by far
/// less than the body. Measured in a child so that no test running beside it moves the peak.
/// Checked against the probe reading the whole body into memory (`take(u64::MAX)` into a
/// `Vec`): the peak grows by 64 MiB and more.
#[test]
fn a_64_mib_body_does_not_raise_the_probes_peak_memory() {
    const LEN: u64 = 64 * 1024 * 1024;
    let server = Server::start(loopback::big_body(LEN));
    let out = in_child(
        "child_probe_of_a_big_body",
        &[("POST_DEPLOY_TEST_URL", server.url("/health"))],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let grew: u64 = stdout
        .lines()
        .find_map(|l| l.split_once("peak memory grew by KiB: ").map(|(_, n)| n))
        .unwrap_or_else(|| panic!("no measure from the child: {stdout}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        grew < 16 * 1024,
        "the probe's peak memory grew by {grew} KiB"
    );
}

#[test]
#[ignore = "run in a child process by a_64_mib_body_does_not_raise_the_probes_peak_memory"]
fn child_probe_of_a_big_body() {
    if !is_child() {
        return;
    }
    let url = std::env::var("POST_DEPLOY_TEST_URL").unwrap();
    let before = vm_hwm_kib().expect("VmHWM in /proc/self/status");
    // A generous limit: this measures memory, not time.
    let sample = UreqProbe::new().get(&url, Duration::from_secs(60)).unwrap();
    let after = vm_hwm_kib().unwrap();
    assert_eq!(sample.outcome, Ok(200));
    println!("peak memory grew by KiB: {}", after.saturating_sub(before));
}

/// URLs the probe cannot request (empty, not a URL, no host, another scheme, a broken
/// authority, a control character): each is the monitor's own fault, an error that says why,
/// never a sample and never a panic. (arm refuses all of them before a window exists.)
/// Checked against `BadUri` and `Http` errors classed as failed probes of the target.
#[test]
fn urls_the_probe_cannot_request_are_the_monitors_fault() {
    let probe = UreqProbe::new();
    for (url, why) in [
        (
            "",
            "cannot build a request for the health URL: empty string",
        ),
        ("not a url", "cannot build a request for the health URL"),
        (
            "http://",
            "cannot build a request for the health URL: empty string",
        ),
        (
            "ftp://example.invalid/",
            "bad health URL: unknown scheme: ftp",
        ),
        ("http://[::1/x", "cannot build a request for the health URL"),
        (
            "http://\u{7f}/",
            "cannot build a request for the health URL",
        ),
    ] {
        match probe.get(url, Duration::from_millis(200)) {
            Err(e) => assert!(e.to_string().contains(why), "{url:?}: {e}"),
            Ok(sample) => panic!("{url:?} was probed: {sample:?}"),
        }
    }
}

#[test]
fn an_endless_chunked_body_passes() {
    let server = Server::start(loopback::endless_chunked());
    let (sample, took) = probe(&server.url("/health"));
    assert_eq!(sample.outcome, Ok(200));
    assert!(took < LIMIT + SLACK, "{took:?}");
    assert!(
        server.wait_connections_done(Duration::from_secs(10)),
        "the server is still sending"
    );
}

#[test]
fn a_trickled_body_times_out_within_the_limit() {
    let server = Server::start(loopback::trickle(Duration::from_millis(100)));
    let (sample, took) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::TimedOut);
    assert!(took < LIMIT + SLACK, "the limit did not hold: {took:?}");
    assert!(server.body_bytes_sent() > 0, "the trickle never started");
}

#[test]
fn a_garbage_status_line_is_a_failed_probe() {
    let server = Server::start(loopback::raw(b"SMTP READY, NOT HTTP\r\n\r\n"));
    let (sample, took) = probe(&server.url("/health"));
    assert!(
        matches!(failure(&sample), ProbeFailure::Other { .. }),
        "{sample:?}"
    );
    assert!(took < LIMIT + SLACK, "{took:?}");
}

#[test]
fn a_status_out_of_range_is_a_failed_probe() {
    let server = Server::start(loopback::raw(
        b"HTTP/1.1 999999 Nope\r\nContent-Length: 0\r\n\r\n",
    ));
    let (sample, _) = probe(&server.url("/health"));
    assert!(!sample.passed(), "{sample:?}");
}

#[test]
fn huge_headers_are_a_failed_probe() {
    let server = Server::start(loopback::huge_headers(1024 * 1024));
    let (sample, took) = probe(&server.url("/health"));
    assert!(
        matches!(
            failure(&sample),
            ProbeFailure::Other { .. } | ProbeFailure::Reset
        ),
        "{sample:?}"
    );
    assert!(took < LIMIT + SLACK, "{took:?}");
}

#[test]
fn a_reset_connection_is_a_failed_probe() {
    let server = Server::start(loopback::reset());
    let (sample, _) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::Reset);
}

#[test]
fn a_connection_closed_before_the_answer_is_a_reset() {
    let server = Server::start(loopback::close_after_request());
    let (sample, _) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::Reset);
}

#[test]
fn a_body_cut_short_is_a_reset() {
    let server = Server::start(loopback::raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little",
    ));
    let (sample, _) = probe(&server.url("/health"));
    assert_eq!(failure(&sample), ProbeFailure::Reset);
}

#[test]
fn an_unknown_host_is_a_failed_probe_not_a_monitor_fault() {
    let (sample, took) = probe("http://post-deploy-test.invalid/health");
    assert!(
        matches!(failure(&sample), ProbeFailure::Other { .. }),
        "{sample:?}"
    );
    assert!(took < LIMIT + SLACK, "{took:?}");
}

#[test]
fn https_to_a_plain_http_server_is_a_failed_probe() {
    // Exercises the rustls path (provider, roots) without the network: the handshake fails.
    // A plain HTTP server answers a ClientHello with a plain-text 400, as real ones do.
    let server = Server::start(|c: &mut Conn| {
        c.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        c.pause(Duration::from_millis(500));
    });
    let url = server.url("/health").replacen("http://", "https://", 1);
    let (sample, took) = probe(&url);
    assert!(
        matches!(
            failure(&sample),
            ProbeFailure::Other { .. } | ProbeFailure::Reset
        ),
        "{sample:?}"
    );
    assert!(took < LIMIT + SLACK, "{took:?}");
}

/// The process's peak resident size, KiB (Linux); `None` elsewhere.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// --- Webhook ---------------------------------------------------------------------------

const SECRETS: [&str; 4] = [
    "pw-S3CRET-pass",
    "alice",
    "hook-S3CRET-path",
    "tok-S3CRET-query",
];

fn secret_url(port: u16) -> SecretUrl {
    SecretUrl::parse(&format!(
        "http://alice:pw-S3CRET-pass@127.0.0.1:{port}/hooks/hook-S3CRET-path?token=tok-S3CRET-query"
    ))
    .unwrap()
}

fn alert() -> Alert {
    let subject = AlertSubject {
        repo: RepoName::new("shop").unwrap(),
        work_item: WorkItem::new("wi-42").unwrap(),
        container: Some("shop-web".to_owned()),
    };
    Alert::new(
        AlertEvent::Degraded,
        &subject,
        Verdict::Degraded,
        ActionKind::Rollback,
        "3 consecutive failed health probes (threshold 3)".to_owned(),
        Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
    )
}

fn assert_redacted(text: &str, port: u16) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "`{secret}` leaked in: {text}");
    }
    assert!(
        text.contains(&format!("127.0.0.1:{port}")),
        "the message should name the host: {text}"
    );
}

#[test]
fn the_webhook_receives_the_alert_as_json() {
    let server = Server::start(loopback::respond(200, &[], b"ok"));
    let sink = WebhookSink::new(Some(secret_url(server.port())));
    sink.send(&alert()).unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.target,
        "/hooks/hook-S3CRET-path?token=tok-S3CRET-query"
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    // The URL's credentials become Basic auth.
    assert_eq!(
        request.header("authorization"),
        Some("Basic YWxpY2U6cHctUzNDUkVULXBhc3M=")
    );
    let json: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(json["event"], "degraded");
    assert_eq!(json["repo"], "shop");
    assert_eq!(json["work_item"], "wi-42");
    assert_eq!(json["verdict"], "DEGRADED");
    assert_eq!(json["action"], "ROLLBACK");
    assert_eq!(
        json["reason"],
        "3 consecutive failed health probes (threshold 3)"
    );
    assert_eq!(json["container"], "shop-web");
    assert!(
        json["at"]
            .as_str()
            .unwrap()
            .starts_with("2025-01-02T03:04:05")
    );
    assert!(json["text"].as_str().unwrap().contains("shop wi-42"));
    assert_eq!(json, serde_json::to_value(alert()).unwrap());
}

#[test]
fn a_webhook_answering_500_is_an_error_that_hides_the_secrets() {
    let server = Server::start(loopback::respond(500, &[], b"no"));
    let port = server.port();
    let err = WebhookSink::new(Some(secret_url(port)))
        .send(&alert())
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("500"), "{text}");
    assert_redacted(&text, port);
    assert_redacted(&format!("{err:?}"), port);
}

#[test]
fn a_webhook_that_redirects_is_not_followed() {
    let server = Server::start(loopback::respond(302, &[("Location", "/elsewhere")], b""));
    let port = server.port();
    let err = WebhookSink::new(Some(secret_url(port)))
        .send(&alert())
        .unwrap_err();
    assert!(err.to_string().contains("302"), "{err}");
    assert_eq!(server.requests().len(), 1);
    assert_redacted(&err.to_string(), port);
}

#[test]
fn a_webhook_that_is_down_is_an_error_that_hides_the_secrets() {
    let port = loopback::closed_port();
    let err = WebhookSink::new(Some(secret_url(port)))
        .send(&alert())
        .unwrap_err();
    assert_redacted(&err.to_string(), port);
    assert_redacted(&format!("{err:?}"), port);
}

#[test]
fn a_silent_webhook_times_out_and_hides_the_secrets() {
    let server = Server::start(loopback::silent());
    let port = server.port();
    let started = Instant::now();
    let err = WebhookSink::with_timeout(Some(secret_url(port)), LIMIT)
        .send(&alert())
        .unwrap_err();
    assert!(started.elapsed() < LIMIT + SLACK, "{:?}", started.elapsed());
    let text = err.to_string();
    assert!(text.contains("timed out"), "{text}");
    assert_redacted(&text, port);
}

/// The one line on stderr that carries the alert, parsed.
fn alert_line(stderr: &str) -> serde_json::Value {
    let lines: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("post-deploy alert: "))
        .collect();
    assert_eq!(lines.len(), 1, "one alert line on stderr: {stderr}");
    serde_json::from_str(lines[0]).unwrap()
}

/// Checked against the sink's `eprintln!` of the alert removed: no alert line.
#[test]
fn without_a_webhook_an_alert_only_goes_to_stderr() {
    let out = in_child("child_sends_an_alert", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = alert_line(&stderr);
    assert_eq!(line["event"], "degraded", "{line}");
    assert_eq!(line["repo"], "shop");
    assert_eq!(line["work_item"], "wi-42");
    assert_eq!(line["verdict"], "DEGRADED");
    assert_eq!(line["action"], "ROLLBACK");
    assert!(
        line["text"].as_str().unwrap().contains("shop wi-42"),
        "{line}"
    );
    assert!(!stderr.contains("not delivered"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("post-deploy alert"),
        "the alert went to stdout"
    );
}

/// A failed delivery is reported on stderr, after the alert itself, without the URL's
/// secrets. Checked against the sink's `scrub` returning the text as it is.
#[test]
fn a_failed_delivery_is_reported_on_stderr_without_the_secrets() {
    let server = Server::start(loopback::respond(500, &[], b"no"));
    let port = server.port();
    let out = in_child(
        "child_sends_an_alert",
        &[("POST_DEPLOY_TEST_WEBHOOK_PORT", port.to_string())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(alert_line(&stderr)["event"], "degraded");
    let failure = stderr
        .lines()
        .find(|l| l.starts_with("post-deploy: alert not delivered: "))
        .unwrap_or_else(|| panic!("no failed delivery on stderr: {stderr}"));
    assert_redacted(failure, port);
    assert_redacted(&stderr, port);
    assert_eq!(server.requests().len(), 1);
}

#[test]
#[ignore = "run in a child process by the stderr tests of the webhook sink"]
fn child_sends_an_alert() {
    if !is_child() {
        return;
    }
    match std::env::var("POST_DEPLOY_TEST_WEBHOOK_PORT") {
        Err(_) => WebhookSink::new(None).send(&alert()).unwrap(),
        Ok(port) => {
            let url = secret_url(port.parse().unwrap());
            let err = WebhookSink::with_timeout(Some(url), LIMIT).send(&alert());
            assert!(err.is_err());
        }
    }
}

// --- Credentials ----------------------------------------------------------------------

/// `Basic` credentials of `user:password`, as a client sends them.
fn basic(user_password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = user_password.as_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A server that answers 200 to `Authorization: <expected>` and 401 to anything else.
fn protected(expected: String) -> Server {
    Server::start(move |c: &mut Conn| {
        if let Some(request) = c.read_request() {
            let status = if request.header("authorization") == Some(expected.as_str()) {
                "200 OK"
            } else {
                "401 Unauthorized"
            };
            let _ = c.write(
                format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    .as_bytes(),
            );
        }
    })
}

/// Percent-encoded user info (RFC 3986) is decoded before it is sent as Basic auth, as curl
/// sends it: `bob:p%40ss` arrives as `bob:p@ss`, and a protected health endpoint passes.
#[test]
fn percent_encoded_credentials_are_sent_decoded() {
    assert_eq!(basic("bob:p@ss"), "Basic Ym9iOnBAc3M=");
    for (userinfo, sent) in [
        ("bob:p%40ss", "bob:p@ss"),
        ("b%6Fb:p%23%3F%2F%20%25ss", "bob:p#?/ %ss"),
        ("bob%3Ax:pw", "bob:x:pw"),
        ("bob", "bob:"),
        ("bob:", "bob:"),
        ("bob:caf%C3%A9", "bob:café"),
        ("bob:plain", "bob:plain"),
    ] {
        let server = protected(basic(sent));
        let url = server
            .url("/health")
            .replace("http://", &format!("http://{userinfo}@"));
        assert!(SecretUrl::parse(&url).is_some(), "{url}");
        let (sample, _) = probe(&url);
        assert_eq!(sample.outcome, Ok(200), "{userinfo}: {sample:?}");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].target, "/health");
        assert_eq!(
            requests[0].header("authorization"),
            Some(basic(sent).as_str())
        );
    }
}

/// The webhook's user info is decoded the same way.
#[test]
fn the_webhooks_percent_encoded_credentials_are_sent_decoded() {
    let server = protected(basic("bob:p@ss"));
    let url = server
        .url("/hook?x=1")
        .replace("http://", "http://bob:p%40ss@");
    WebhookSink::new(Some(SecretUrl::parse(&url).unwrap()))
        .send(&alert())
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].target, "/hook?x=1");
}

// --- fetch: the answers of a Prometheus server ------------------------------------------

/// A fetch reads the status as given and the body whole, sends the basic auth of the URL's
/// user info, and does not follow redirects.
#[test]
fn fetch_reads_status_and_body_without_following_redirects() {
    let body = br#"{"status":"error","error":"bad_data"}"#;
    let server = Server::start(loopback::respond(400, &[], body));
    let url = server
        .url("/api/v1/query?query=up")
        .replace("http://", "http://bob:pw@");
    let (status, got) = UreqProbe::new().fetch(&url, LIMIT, 1024).unwrap();
    assert_eq!((status, got.as_slice()), (400, &body[..]));
    let request = &server.requests()[0];
    assert_eq!(request.target, "/api/v1/query?query=up");
    assert_eq!(request.header("authorization"), Some("Basic Ym9iOnB3"));
    let redirect = Server::start(loopback::respond(302, &[("Location", "/elsewhere")], b""));
    let (status, _) = UreqProbe::new()
        .fetch(&redirect.url("/"), LIMIT, 1024)
        .unwrap();
    assert_eq!(status, 302);
    assert_eq!(
        redirect.requests().len(),
        1,
        "the redirect was not followed"
    );
}

/// A body over the cap, an endless one, silence and a closed port: errors, within the limit.
#[test]
fn fetch_is_bounded_in_size_and_time() {
    let cases: Vec<(&str, Server)> = vec![
        ("huge", Server::start(loopback::big_body(10 * 1024 * 1024))),
        ("endless", Server::start(loopback::endless_chunked())),
        ("silent", Server::start(loopback::silent())),
        (
            "trickle",
            Server::start(loopback::trickle(Duration::from_millis(50))),
        ),
    ];
    for (what, server) in &cases {
        let started = Instant::now();
        let got = UreqProbe::new().fetch(&server.url("/"), LIMIT, 64 * 1024);
        assert!(got.is_err(), "{what}: {got:?}");
        assert!(
            started.elapsed() < LIMIT + SLACK,
            "{what}: {:?}",
            started.elapsed()
        );
    }
    let closed = format!("http://127.0.0.1:{}/", loopback::closed_port());
    assert!(UreqProbe::new().fetch(&closed, LIMIT, 1024).is_err());
}
