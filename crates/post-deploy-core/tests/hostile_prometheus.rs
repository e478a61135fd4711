//! A hostile Prometheus: answers of any size and shape, absurd counts, and a server that
//! echoes the credentials it was sent. Whatever it answers, a reason stays bounded, the state
//! files stay under their cap, the secret is never shown, and only sane counts above a
//! threshold make a window DEGRADED.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "tests"
)]

mod support;

use std::cell::RefCell;
use std::time::Duration;

use post_deploy_core::config::{Ratio, SecretUrl};
use post_deploy_core::prometheus::{PrometheusSource, Selector, probe_prometheus};
use post_deploy_core::store::MAX_STATE_FILE;
use post_deploy_core::text::{CUT_MARK, MAX_REASON};
use post_deploy_core::{
    HealthSample, HttpProbe, LatencyReading, LogSignal, ProbeError, TickOutcome, Verdict,
};
use proptest::prelude::*;
use support::Scenario;

type Answer = Result<(u16, Vec<u8>), ProbeError>;

/// Answers each query from a script.
struct Server {
    answers: RefCell<Vec<Answer>>,
}

impl HttpProbe for Server {
    fn get(&self, _url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
        Err(ProbeError("not a health probe".into()))
    }
    fn fetch(&self, _url: &str, _timeout: Duration, _max: usize) -> Answer {
        self.answers.borrow_mut().remove(0)
    }
}

/// An instant query's answer holding one sample whose value is `v`, as written.
fn value(v: &str) -> Answer {
    Ok((200, vector(v).into_bytes()))
}

fn vector(v: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1,"{v}"]}}]}}}}"#
    )
}

fn source(latency: bool) -> PrometheusSource {
    PrometheusSource {
        url: SecretUrl::new("http://bob:hunter22@prom:9090").unwrap(),
        requests: Selector::new("req_total").unwrap(),
        errors: Selector::new(r#"req_total{code=~"5.."}"#).unwrap(),
        latency: latency.then(|| Selector::new("dur_bucket").unwrap()),
    }
}

/// Asks for the counts (and the quantile) once, with these answers.
fn probe(answers: Vec<Answer>, latency: bool) -> LogSignal {
    let server = Server {
        answers: RefCell::new(answers),
    };
    probe_prometheus(
        &source(latency),
        Duration::from_secs(60),
        None,
        latency.then(|| Ratio::new(0.95).unwrap()),
        Duration::from_secs(1),
        &server,
    )
}

#[test]
fn a_huge_value_is_quoted_cut_never_whole() {
    let million_zeros = format!("1{}", "0".repeat(1_000_000));
    for body in [
        value(&million_zeros),
        value(&format!("x{million_zeros}")),
        Ok((
            200,
            format!(r#"{{"status":"success","data":"{million_zeros}"}}"#).into_bytes(),
        )),
        Ok((
            500,
            format!(r#"{{"status":"error","error":"{million_zeros}"}}"#).into_bytes(),
        )),
    ] {
        let LogSignal::Missing { why, .. } = probe(vec![body], false) else {
            panic!("not missing");
        };
        assert!(why.chars().count() < 500, "{} characters", why.len());
        assert!(why.contains("Prometheus at http://prom:9090"), "{why}");
        assert!(why.contains(CUT_MARK), "{why}");
    }
}

#[test]
fn counts_that_cannot_be_the_windows_are_the_servers_fault() {
    for (requests, errors, says) in [
        ("1e25", "1e21", "the request count 1e25 is above 2^53"),
        ("20", "1e30", "the 5xx count 1e30 is above 2^53"),
        ("9007199254740994", "0", "is above 2^53"),
        ("-1", "0", "the request count -1 is below 0"),
        ("20", "-0.5", "the 5xx count -0.5 is below 0"),
        (
            "20",
            "22",
            "the 5xx count 22 is more than 1% + 1 above the request count 20",
        ),
        (
            "1000",
            "1012",
            "the 5xx count 1012 is more than 1% + 1 above the request count 1000",
        ),
    ] {
        let got = probe(vec![value(requests), value(errors)], false);
        let LogSignal::Missing { why, read: None } = &got else {
            panic!("{requests}, {errors}: {got:?}");
        };
        assert!(why.contains(says), "{why}");
        assert!(why.contains("Prometheus at http://prom:9090/…"), "{why}");
        assert!(why.contains("the server's fault"), "{why}");
    }
    // Within 1% + 1 above (each series extrapolated on its own): the 5xx are the requests.
    for (requests, errors, want) in [
        ("20", "21", (20, 20)),
        ("1000", "1011", (1000, 1000)),
        ("9007199254740992", "9007199254740992", (1 << 53, 1 << 53)),
        ("0", "1", (0, 0)),
        ("-0", "0", (0, 0)),
    ] {
        let got = probe(vec![value(requests), value(errors)], false);
        let LogSignal::Totals { totals } = &got else {
            panic!("{requests}, {errors}: {got:?}");
        };
        assert_eq!((totals.requests, totals.errors_5xx), want);
    }
}

#[test]
fn a_quantile_that_is_no_duration_is_missing() {
    for (answer, says) in [
        ("-0.5", "-0.5 s is not a duration"),
        ("1e306", "1e306 s is not a duration"),
        ("+Inf", "not a finite number"),
    ] {
        let got = probe(vec![value("100"), value("0"), value(answer)], true);
        let LogSignal::Totals { totals } = &got else {
            panic!("{got:?}");
        };
        let Some(LatencyReading::Missing { why }) = &totals.latency else {
            panic!("{answer}: {totals:?}");
        };
        assert!(why.contains(says) && why.contains("Prometheus"), "{why}");
    }
}

#[test]
fn a_server_echoing_the_authorization_header_is_scrubbed() {
    // base64 of `bob:hunter22`, as the probe sends it.
    let token = "Ym9iOmh1bnRlcjIy";
    for echoed in [
        format!("Authorization: Basic {token}"),
        format!("bad header {token}="),
        format!("authorization=basic%20{token}"),
        "user bob%3Ahunter22 refused".to_owned(),
        format!("Basic {}", "x".repeat(280) + token),
    ] {
        let body = format!(r#"{{"status":"error","errorType":"auth","error":"{echoed}"}}"#);
        let LogSignal::Missing { why, .. } = probe(vec![Ok((401, body.into_bytes()))], false)
        else {
            panic!("not missing");
        };
        assert!(
            !why.contains("Ym9i") && !why.contains("hunter22") && !why.contains("bob"),
            "{why}"
        );
    }
}

/// base64 of `promuser:s3cretpw`, as the probe sends it in `Authorization: Basic`.
const TOKEN: &str = "cHJvbXVzZXI6czNjcmV0cHc=";

/// A value as a server may write it: counts, fractions, exponents, a `1` followed by many
/// zeros, signs, NaN and infinities, and any text.
fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..400).prop_map(|n| n.to_string()),
        (0.0f64..400.0).prop_map(|f| f.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        (1u32..10, 0u32..40, any::<bool>())
            .prop_map(|(m, e, neg)| format!("{}{m}e{e}", if neg { "-" } else { "" })),
        prop::sample::select(vec![0usize, 15, 16, 400, 20_000, 1_000_000])
            .prop_map(|zeros| format!("1{}", "0".repeat(zeros))),
        prop::sample::select(vec![
            "NaN",
            "+Inf",
            "-Inf",
            "-0",
            "9007199254740992",
            "9007199254740994",
            ""
        ])
        .prop_map(str::to_owned),
        "\\PC{0,40}",
    ]
}

/// JSON of any shape, built of the words the API's answers use.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let word = prop::sample::select(vec![
        "status",
        "success",
        "error",
        "data",
        "resultType",
        "vector",
        "scalar",
        "result",
        "value",
        "metric",
        "errorType",
        "x",
    ])
    .prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        word.clone().prop_map(Value::String),
        value_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// One answer: its status, its body, and the value the test knows it holds (`None`: not an
/// answer of one number).
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    number: Option<String>,
}

fn reply() -> impl Strategy<Value = Reply> {
    let status = prop::sample::select(vec![200u16, 200, 200, 204, 400, 422, 503]);
    prop_oneof![
        4 => (status.clone(), value_text(), any::<bool>()).prop_map(|(status, v, scalar)| {
            let data = if scalar {
                serde_json::json!({"resultType": "scalar", "result": [1.5, v]})
            } else {
                serde_json::json!({"resultType": "vector", "result": [{"metric": {}, "value": [1.5, v]}]})
            };
            let body = serde_json::json!({"status": "success", "data": data});
            Reply { status, body: body.to_string().into_bytes(), number: Some(v) }
        }),
        1 => (status.clone(), "\\PC{0,60}", prop::sample::select(vec![0usize, 1, 2_000])).prop_map(
            |(status, text, repeat)| {
                // A server that echoes the request's Authorization header in its error.
                let error = format!("{text} Authorization: Basic {TOKEN} {}", "e".repeat(repeat));
                let body = serde_json::json!({"status": "error", "errorType": text, "error": error});
                Reply { status, body: body.to_string().into_bytes(), number: None }
            }
        ),
        1 => (status.clone(), any_json()).prop_map(|(status, json)| Reply {
            status,
            body: json.to_string().into_bytes(),
            number: None,
        }),
        1 => (status, prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(status, body)| Reply {
            status,
            body,
            number: None,
        }),
    ]
}

/// The number a reply holds, when it is one finite number the server may mean.
fn finite(reply: &Reply) -> Option<f64> {
    let n: f64 = reply.number.as_deref()?.parse().ok()?;
    ((200..300).contains(&reply.status) && n.is_finite()).then_some(n)
}

/// The count a reply holds, when it is one a server can have counted.
fn sane_count(reply: &Reply) -> Option<u64> {
    let n = finite(reply)?;
    (0.0..=9_007_199_254_740_992.0)
        .contains(&n)
        .then(|| n.round() as u64)
}

/// What a window must never show: the password, the user info or the Basic token.
fn assert_no_secret(what: &str, text: &str) {
    for secret in ["s3cretpw", "promuser", TOKEN, "cHJvbXVzZXI6czNjcmV0cHc"] {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

fn hostile_scenario(on_files: bool) -> Scenario {
    let mut s = if on_files {
        Scenario::on_files()
    } else {
        Scenario::new()
    };
    s.set(
        "PROMETHEUS_URL",
        "http://promuser:s3cretpw@prom.internal:9090",
    )
    .set("PROMETHEUS_REQUESTS", r#"req_total{job="api"}"#)
    .set("PROMETHEUS_ERRORS", r#"err_total{job="api",code=~"5.."}"#)
    .set("PROMETHEUS_LATENCY", r#"dur_bucket{job="api"}"#)
    .set("LATENCY_MS", "500");
    s
}

/// After a tick: the reason under its bound, every file of the window under the state file
/// cap, no secret anywhere.
fn assert_bounded(s: &Scenario, out: &TickOutcome) {
    assert!(
        out.reason.chars().count() <= MAX_REASON,
        "a reason of {} characters",
        out.reason.chars().count()
    );
    assert_no_secret("the reason", &out.reason);
    for name in s.file_names() {
        let Some(bytes) = s.file(&name) else { continue };
        assert!(
            bytes.len() as u64 <= MAX_STATE_FILE,
            "{name} holds {} bytes",
            bytes.len()
        );
        assert_no_secret(
            &name,
            &String::from_utf8_lossy(&bytes).replace("promuser:s3cretpw@", ""),
        );
    }
    assert_no_secret("the log", &s.log());
    for alert in s.world.alerts.borrow().iter() {
        assert!(alert.reason.chars().count() <= MAX_REASON);
        assert_no_secret("an alert", &alert.text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the server answers, tick after tick: reasons bounded, state files under their
    /// cap, the secret never shown; DEGRADED (health passing all along) only from counts a
    /// server can have counted, with enough requests, above a threshold.
    #[test]
    fn a_hostile_prometheus_never_grows_the_state_nor_degrades_a_healthy_window(
        ticks in prop::collection::vec((reply(), reply(), reply()), 1..4),
        on_files in prop::bool::weighted(0.25),
    ) {
        let s = hostile_scenario(on_files);
        s.arm();
        // The quantile the window holds: the last one read.
        let mut quantile_ms: Option<f64> = None;
        for (requests, errors, latency) in ticks {
            *s.world.prometheus_raw.borrow_mut() = Some(support::RawProm {
                requests: (requests.status, requests.body.clone()),
                errors: (errors.status, errors.body.clone()),
                latency: (latency.status, latency.body.clone()),
            });
            // The counts the window may judge: both sane, the 5xx at most 1% + 1 above.
            let counts = match (sane_count(&requests), sane_count(&errors)) {
                (Some(r), Some(e))
                    if u128::from(e) * 100 <= u128::from(r) * 101 + 100 => Some((r, e.min(r))),
                _ => None,
            };
            if counts.is_some()
                && let Some(q) = finite(&latency).map(|q| q * 1000.0)
                && q.is_finite()
                && q >= 0.0
            {
                quantile_ms = Some(q);
            }
            let out = s.tick();
            assert_bounded(&s, &out);
            if counts.is_none() {
                prop_assert!(out.reason.contains("Prometheus"), "{}", out.reason);
            }
            if out.verdict == Verdict::Degraded {
                let (r, e) = counts.unwrap_or_else(|| panic!("DEGRADED from counts that are no counts: {}", out.reason));
                let ratio_fires = r >= 20 && (e as f64) > 0.05 * (r as f64);
                let latency_fires = r >= 20 && quantile_ms.is_some_and(|q| q > 500.0);
                prop_assert!(ratio_fires || latency_fires, "DEGRADED with {r} requests, {e} 5xx, {quantile_ms:?} ms: {}", out.reason);
                // Past the first degradation the window verifies a rollback: enough.
                break;
            }
            if out.finished {
                break;
            }
            s.world.advance(Duration::from_secs(30));
        }
    }
}
