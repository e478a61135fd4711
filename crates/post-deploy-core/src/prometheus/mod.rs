//! Prometheus as the source of a window's counts: the queries a tick asks, and what it makes
//! of the answers.
//!
//! Each tick asks the server's HTTP API (`/api/v1/query`, instant queries) for the window's
//! totals so far: `sum(increase(SELECTOR[Ns]))` over the whole seconds since arm, for all
//! requests and for 5xx answers, and, for the latency rule, `histogram_quantile(Q, sum by (le)
//! (increase(SELECTOR[Ns])))`. They are totals over the window, not increments, so they
//! replace the window's counts ([`LogSignal::Totals`]). Every way a query can fail
//! (unreachable, an HTTP error, `status: error`, no series, NaN, an answer that is not the
//! JSON the API gives) is the monitor's own fault: the signal is missing for the tick, with a
//! reason that names `Prometheus` and what the server said, never the URL's user info.
//!
//! The HTTP goes through [`HttpProbe::fetch`]; this module builds the URLs and parses the
//! answers, and does no I/O of its own.

use std::time::Duration;

use serde::Deserialize;

use crate::signals::{LatencyReading, LogSignal, Millis, RecentTotals, WindowTotals};
use crate::traits::HttpProbe;
use crate::url::Secrets;
use crate::vocabulary::Ratio;

pub(crate) mod source;

pub use source::{MAX_SELECTOR_LEN, PrometheusSource, Selector, SelectorError};

/// The most of an answer read: 1 MiB. One instant query of one series answers in well under
/// a kilobyte; more is not the answer asked for.
pub const MAX_BODY: usize = 1024 * 1024;

/// The whole seconds of a window so far, at least 1: the range of its queries.
#[must_use]
pub fn range_seconds(since_arm: Duration) -> u64 {
    since_arm.as_secs().max(1)
}

/// `sum(increase(SELECTOR[Ns]))`: a counter's increase over the last `seconds`.
#[must_use]
pub fn increase_query(selector: &Selector, seconds: u64) -> String {
    format!("sum(increase({selector}[{seconds}s]))")
}

/// `histogram_quantile(Q, sum by (le) (increase(SELECTOR[Ns])))`: the quantile `q` of a
/// histogram's observations over the last `seconds`, in the histogram's unit (seconds).
#[must_use]
pub fn quantile_query(q: Ratio, selector: &Selector, seconds: u64) -> String {
    format!("histogram_quantile({q}, sum by (le) (increase({selector}[{seconds}s])))")
}

/// The instant-query URL of `query` on the server at `base`: its path with `/api/v1/query`
/// added, any query string it had kept, the query URL-encoded, the fragment left out.
#[must_use]
pub fn query_url(base: &str, query: &str) -> String {
    let base = base.split('#').next().unwrap_or_default();
    let (path, params) = base.split_once('?').unwrap_or((base, ""));
    let path = path.trim_end_matches('/');
    let params = if params.is_empty() {
        String::new()
    } else {
        format!("{params}&")
    };
    format!("{path}/api/v1/query?{params}query={}", encode(query))
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The API's envelope: `{"status": "success", "data": ...}` or `{"status": "error",
/// "errorType": ..., "error": ...}`.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<Sample>),
    Scalar(Value),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Sample {
    value: Value,
}

/// `[unix time, "value"]`: the value is a string, so that NaN and infinities survive JSON.
#[derive(Deserialize)]
struct Value(serde::de::IgnoredAny, String);

/// The one value an instant query answered, from the HTTP status and body the server gave.
///
/// # Errors
/// What went wrong, for the reason: an HTTP error (with the server's `error` text when it
/// gave one), `status: error` and its text, an answer that is not the API's JSON, no series,
/// or a value that is not a finite number. Text of the server's is quoted
/// ([`crate::text::quote`]): at most 300 characters.
pub fn parse_answer(status: u16, body: &[u8]) -> Result<f64, String> {
    parse_answer_scrubbed(status, body, &Secrets::none())
}

/// [`parse_answer`], with every form of `secrets` taken out of the server's text before it is
/// quoted: a server may echo the credentials it was sent.
///
/// # Errors
/// As [`parse_answer`].
pub fn parse_answer_scrubbed(status: u16, body: &[u8], secrets: &Secrets) -> Result<f64, String> {
    let envelope = serde_json::from_slice::<Envelope>(body);
    if !(200..300).contains(&status) {
        return Err(match envelope.ok().and_then(|e| e.error) {
            Some(error) => format!("HTTP {status}: {}", secrets.quote(&error)),
            None => format!("HTTP {status}"),
        });
    }
    // serde's message may quote the answer (a string of the wrong type, whole).
    let envelope = envelope.map_err(|e| {
        format!(
            "the answer is not the query API's JSON ({})",
            secrets.quote(&e.to_string())
        )
    })?;
    if envelope.status != "success" {
        let kind = envelope.error_type.unwrap_or_default();
        let error = envelope.error.unwrap_or_default();
        return Err(format!(
            "query failed ({}): {}",
            secrets.quote(&kind),
            secrets.quote(&error)
        ));
    }
    let value = match envelope.data {
        Some(Data::Vector(samples)) => samples
            .into_iter()
            .next()
            .map(|s| s.value)
            .ok_or_else(|| "no series matched".to_owned())?,
        Some(Data::Scalar(value)) => value,
        Some(Data::Matrix(_) | Data::String(_)) | None => {
            return Err("the answer is not one number".to_owned());
        }
    };
    let number: f64 = value
        .1
        .parse()
        .map_err(|_| format!("the value {:?} is not a number", secrets.quote(&value.1)))?;
    if number.is_finite() {
        Ok(number)
    } else if number.is_nan() {
        Err("the value is NaN (no data in the window)".to_owned())
    } else {
        Err(format!(
            "the value is {}, not a finite number",
            secrets.quote(&value.1)
        ))
    }
}

/// 2^53: the largest count a number of the API's answers holds exactly, and more requests
/// than any server has counted.
pub const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// `n` for a reason: short whatever its size (`1e25`, not 26 digits).
fn shown_number(n: f64) -> String {
    if n != 0.0 && !(1e-6..1e15).contains(&n.abs()) {
        format!("{n:e}")
    } else {
        n.to_string()
    }
}

/// A count the server answered, as a whole number: `increase()` extrapolates, so its totals
/// need not be whole.
///
/// # Errors
/// Why the number cannot be a count (the server's fault): it is below 0 or above
/// [`MAX_COUNT`].
pub fn count(n: f64) -> Result<u64, String> {
    if n < 0.0 {
        Err(format!("{} is below 0, which no count is", shown_number(n)))
    } else if n > MAX_COUNT {
        Err(format!(
            "{} is above 2^53, more than any server has counted",
            shown_number(n)
        ))
    } else {
        Ok(whole(n))
    }
}

/// The window's request and 5xx counts as the server answered them, checked together: a 5xx
/// count more than 1% + 1 above the request count is the server's fault; one above it by
/// less (`increase()` extrapolates each series on its own) is the request count.
///
/// # Errors
/// Why the two counts cannot be the window's.
pub fn consistent(requests: u64, errors_5xx: u64) -> Result<(u64, u64), String> {
    // errors > requests + 1% of requests + 1, exactly.
    let over = u128::from(errors_5xx).saturating_mul(100)
        > u128::from(requests).saturating_mul(101).saturating_add(100);
    if over {
        Err(format!(
            "the 5xx count {errors_5xx} is more than 1% + 1 above the request count {requests}"
        ))
    } else {
        Ok((requests, errors_5xx.min(requests)))
    }
}

/// A count as a whole number, `count` being in 0..=2^53.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "rounded, clamped to 0..=2^53 first; `as` saturates besides"
)]
fn whole(count: f64) -> u64 {
    count.round().clamp(0.0, MAX_COUNT) as u64
}

/// Asks the server one instant query.
fn ask(
    source: &PrometheusSource,
    query: &str,
    timeout: Duration,
    http: &dyn HttpProbe,
    secrets: &Secrets,
) -> Result<f64, String> {
    let url = query_url(source.url.expose(), query);
    let (status, body) = http
        .fetch(&url, timeout, MAX_BODY)
        .map_err(|e| secrets.quote(&e.to_string()))?;
    if body.len() > MAX_BODY {
        return Err(format!("the answer is larger than {MAX_BODY} bytes"));
    }
    parse_answer_scrubbed(status, &body, secrets)
}

/// The window's totals so far from the server: requests and 5xx over the `since_arm` (whole
/// seconds, at least 1), and, when `quantile` is given and a latency selector is set, that
/// quantile of the latency histogram. With a `recent` span shorter than that, the same
/// queries again over the span ([`WindowTotals::recent`]). Each query has `timeout` for its
/// whole exchange.
///
/// A failed request or 5xx query (of the window or of the span) makes the signal
/// [`LogSignal::Missing`], and so do counts that cannot be the window's ([`count`], [`consistent`]); a failed latency query, or a quantile
/// that is not a finite duration, leaves only the quantile missing
/// ([`LatencyReading::Missing`]). What the server said is quoted, never the URL's user info in
/// any form.
#[must_use]
pub fn probe_prometheus(
    source: &PrometheusSource,
    since_arm: Duration,
    recent: Option<Duration>,
    quantile: Option<Ratio>,
    timeout: Duration,
    http: &dyn HttpProbe,
) -> LogSignal {
    let seconds = range_seconds(since_arm);
    let ask_over = |range: u64| totals_over(source, range, quantile, timeout, http);
    let (requests, errors_5xx, latency) = match ask_over(seconds) {
        Ok(totals) => totals,
        Err(why) => return LogSignal::Missing { why, read: None },
    };
    let recent = match recent.map(|span| span.as_secs()) {
        Some(span) if span > 0 && span < seconds => match ask_over(span) {
            Ok((requests, errors_5xx, latency)) => Some(RecentTotals {
                requests,
                errors_5xx,
                latency,
            }),
            Err(why) => {
                return LogSignal::Missing {
                    why: format!("{why} (the recent span, {span} s)"),
                    read: None,
                };
            }
        },
        _ => None,
    };
    LogSignal::Totals {
        totals: WindowTotals {
            requests,
            errors_5xx,
            latency,
            recent,
        },
    }
}

/// Requests, 5xx answers and (when asked) the latency quantile over the last `seconds`; the
/// reason of the first count that could not be read or taken.
fn totals_over(
    source: &PrometheusSource,
    seconds: u64,
    quantile: Option<Ratio>,
    timeout: Duration,
    http: &dyn HttpProbe,
) -> Result<(u64, u64, Option<LatencyReading>), String> {
    let shown = source.url.redacted();
    let secrets = Secrets::of(source.url.expose());
    let why = |what: &str, e: &str| {
        format!("{what} not read from Prometheus at {shown} (monitor fault: {e})")
    };
    let absurd = |what: &str, e: &str| {
        format!("{what} not taken from Prometheus at {shown} (the server's fault: {e})")
    };
    let ask_count = |what: &str, selector: &Selector| {
        let n = ask(
            source,
            &increase_query(selector, seconds),
            timeout,
            http,
            &secrets,
        )
        .map_err(|e| why(what, &e))?;
        count(n).map_err(|e| absurd(what, &format!("the {what} {e}")))
    };
    let counts = ask_count("request count", &source.requests).and_then(|requests| {
        let errors_5xx = ask_count("5xx count", &source.errors)?;
        consistent(requests, errors_5xx).map_err(|e| absurd("5xx ratio", &e))
    });
    let (requests, errors_5xx) = counts?;
    let latency = match (quantile, &source.latency) {
        (Some(q), Some(selector)) => Some(
            match ask(
                source,
                &quantile_query(q, selector, seconds),
                timeout,
                http,
                &secrets,
            ) {
                Err(e) => LatencyReading::Missing {
                    why: why("latency quantile", &e),
                },
                Ok(s) => match Millis::from_seconds(s) {
                    Some(ms) => LatencyReading::Quantile { ms },
                    None => LatencyReading::Missing {
                        why: absurd(
                            "latency quantile",
                            &format!("{} s is not a duration", shown_number(s)),
                        ),
                    },
                },
            },
        ),
        _ => None,
    };
    Ok((requests, errors_5xx, latency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::HealthSample;
    use crate::traits::ProbeError;
    use crate::url::SecretUrl;
    use std::cell::RefCell;

    fn sel(s: &str) -> Selector {
        Selector::new(s).unwrap()
    }

    #[test]
    fn selectors_are_checked() {
        for good in [
            "http_requests_total",
            r#"http_requests_total{job="api",code=~"5.."}"#,
            r#"x{path="a}b{"}"#,
            r#"x{a='it\'s'}"#,
            "x{a=`raw \\`}",
        ] {
            assert!(Selector::new(good).is_ok(), "{good}");
        }
        let long = "x".repeat(MAX_SELECTOR_LEN + 1);
        for (bad, why) in [
            ("", SelectorError::Empty),
            (long.as_str(), SelectorError::TooLong),
            ("x{a=\"b\"}\n", SelectorError::Control('\n')),
            ("x{a=\"b}", SelectorError::OpenQuote),
            ("x{a=\"b\"", SelectorError::Braces),
            ("x}{", SelectorError::Braces),
            (r#"x{a="b\"}"#, SelectorError::OpenQuote),
        ] {
            assert_eq!(Selector::new(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn queries_and_their_urls() {
        let s = sel(r#"http_requests_total{job="api",code=~"5.."}"#);
        assert_eq!(range_seconds(Duration::ZERO), 1);
        assert_eq!(range_seconds(Duration::from_millis(90_700)), 90);
        let q = increase_query(&s, 90);
        assert_eq!(
            q,
            r#"sum(increase(http_requests_total{job="api",code=~"5.."}[90s]))"#
        );
        assert_eq!(
            quantile_query(Ratio::new(0.95).unwrap(), &sel("d_bucket"), 7),
            "histogram_quantile(0.95, sum by (le) (increase(d_bucket[7s])))"
        );
        assert_eq!(
            query_url("http://u:p@prom:9090/", "sum(x[5s])"),
            "http://u:p@prom:9090/api/v1/query?query=sum%28x%5B5s%5D%29"
        );
        assert_eq!(
            query_url("https://prom.example/sub?tenant=a#top", "up{a=\"b c\"}"),
            "https://prom.example/sub/api/v1/query?tenant=a&query=up%7Ba%3D%22b%20c%22%7D"
        );
        // What is encoded comes back whole.
        let url = query_url("http://prom", &q);
        let encoded = url.split_once("query=").unwrap().1;
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
        );
    }

    #[test]
    fn answers() {
        let ok = |v: &str| {
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.123,"{v}"]}}]}}}}"#
            )
        };
        assert_eq!(parse_answer(200, ok("41.5").as_bytes()), Ok(41.5));
        assert_eq!(parse_answer(200, ok("0").as_bytes()), Ok(0.0));
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(parse_answer(200, scalar.as_bytes()), Ok(3.0));
        let cases: Vec<(u16, String)> = vec![
            (200, ok("NaN")),
            (200, ok("+Inf")),
            (200, ok("twelve")),
            (
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_owned(),
            ),
            (
                400,
                r#"{"status":"error","errorType":"bad_data","error":"1:14: parse error: unexpected \"}\""}"#
                    .to_owned(),
            ),
            (
                200,
                r#"{"status":"error","errorType":"execution","error":"query timed out"}"#
                    .to_owned(),
            ),
            (503, "Service Unavailable".to_owned()),
            (200, "<html>login</html>".to_owned()),
            (
                200,
                r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.to_owned(),
            ),
        ];
        let text: Vec<String> = cases
            .iter()
            .map(|(status, body)| parse_answer(*status, body.as_bytes()).unwrap_err())
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }

    type Answer = Result<(u16, Vec<u8>), ProbeError>;

    /// Answers each query from a script, and records the URLs asked.
    struct Server {
        answers: RefCell<Vec<Answer>>,
        asked: RefCell<Vec<(String, usize)>>,
    }

    impl HttpProbe for Server {
        fn get(&self, _url: &str, _timeout: Duration) -> Result<HealthSample, ProbeError> {
            Err(ProbeError("not a health probe".into()))
        }
        fn fetch(
            &self,
            url: &str,
            _timeout: Duration,
            max_body: usize,
        ) -> Result<(u16, Vec<u8>), ProbeError> {
            self.asked.borrow_mut().push((url.to_owned(), max_body));
            self.answers.borrow_mut().remove(0)
        }
    }

    impl Server {
        fn new(answers: Vec<Answer>) -> Self {
            Self {
                answers: RefCell::new(answers),
                asked: RefCell::new(Vec::new()),
            }
        }

        /// `probe_prometheus` against this server: `source(latency)`, armed `since_arm_s`
        /// seconds ago, a 1 s timeout.
        fn probe(
            &self,
            latency: bool,
            since_arm_s: u64,
            recent: Option<Duration>,
            quantile: Option<Ratio>,
        ) -> LogSignal {
            probe_prometheus(
                &source(latency),
                Duration::from_secs(since_arm_s),
                recent,
                quantile,
                Duration::from_secs(1),
                self,
            )
        }
    }

    fn value(v: &str) -> Answer {
        Ok((
            200,
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1,"{v}"]}}]}}}}"#
            )
            .into_bytes(),
        ))
    }

    fn source(latency: bool) -> PrometheusSource {
        PrometheusSource {
            url: SecretUrl::new("http://bob:hunter22@prom:9090").unwrap(),
            requests: sel("req_total"),
            errors: sel(r#"req_total{code=~"5.."}"#),
            latency: latency.then(|| sel("dur_bucket")),
        }
    }

    #[test]
    fn totals_from_the_server() {
        let server = Server::new(vec![value("40.4"), value("3.6"), value("0.25")]);
        let q = Ratio::new(0.9).unwrap();
        let got = server.probe(true, 42, None, Some(q));
        assert_eq!(
            got,
            LogSignal::Totals {
                totals: WindowTotals {
                    requests: 40,
                    errors_5xx: 4,
                    latency: Some(LatencyReading::Quantile {
                        ms: Millis::new(250.0).unwrap()
                    }),
                    recent: None,
                }
            }
        );
        let asked = server.asked.borrow();
        assert_eq!(asked.len(), 3);
        assert!(asked.iter().all(|(_, cap)| *cap == MAX_BODY));
        assert!(
            asked[0]
                .0
                .ends_with("query=sum%28increase%28req_total%5B42s%5D%29%29")
        );
        assert!(asked[2].0.contains("histogram_quantile%280.9%2C"));
    }

    /// The recent span's counts are asked over the span; one that cannot be read leaves the
    /// whole signal missing (never the window's counts standing in for the span's), and a
    /// span as long as the time since arm is not asked again.
    #[test]
    fn the_recent_span_is_asked_over_its_range_and_its_failure_is_a_missing_signal() {
        let server = Server::new(vec![value("300"), value("6"), value("40"), value("4")]);
        let span = Some(Duration::from_secs(120));
        let got = server.probe(false, 600, span, None);
        let LogSignal::Totals { totals } = got else {
            panic!("{got:?}")
        };
        let recent = totals.recent.unwrap();
        assert_eq!(
            (totals.requests, recent.requests, recent.errors_5xx),
            (300, 40, 4)
        );
        let asked = server.asked.borrow();
        assert!(asked[2].0.contains("%5B120s%5D") && asked[1].0.contains("%5B600s%5D"));
        // The span's 5xx query fails.
        let server = Server::new(vec![value("300"), value("6"), value("40"), value("NaN")]);
        let got = server.probe(false, 600, span, None);
        let LogSignal::Missing { why, .. } = got else {
            panic!("{got:?}")
        };
        assert!(
            why.contains("5xx count") && why.contains("(the recent span, 120 s)"),
            "{why}"
        );
        // Armed 90 s ago: the span reaches back to arm, the window's counts are the span's.
        let server = Server::new(vec![value("30"), value("3")]);
        let got = server.probe(false, 90, span, None);
        assert!(matches!(
            got,
            LogSignal::Totals {
                totals: WindowTotals { recent: None, .. }
            }
        ));
        assert_eq!(server.asked.borrow().len(), 2);
    }

    #[test]
    fn every_failure_is_a_missing_signal_naming_prometheus_never_the_secret() {
        let huge = Ok((200, vec![b' '; MAX_BODY + 1]));
        for first in [
            Err(ProbeError(
                "connection refused: http://bob:hunter22@prom:9090/api/v1/query".into(),
            )),
            Ok((
                400,
                br#"{"status":"error","errorType":"bad_data","error":"unknown function"}"#.to_vec(),
            )),
            huge,
            value("NaN"),
        ] {
            let server = Server::new(vec![first]);
            let got = server.probe(false, 5, None, None);
            let LogSignal::Missing { why, .. } = got else {
                panic!("{got:?}")
            };
            assert!(why.contains("Prometheus at http://prom:9090/…"), "{why}");
            assert!(!why.contains("hunter22") && !why.contains("bob"), "{why}");
        }
        // A latency query that fails leaves the counts.
        let server = Server::new(vec![value("10"), value("0"), value("NaN")]);
        let got = server.probe(true, 5, None, Ratio::new(0.95));
        let LogSignal::Totals { totals } = got else {
            panic!("{got:?}")
        };
        assert_eq!((totals.requests, totals.errors_5xx), (10, 0));
        assert!(
            matches!(&totals.latency, Some(LatencyReading::Missing { why }) if why.contains("NaN")),
            "{totals:?}"
        );
    }

    #[test]
    fn the_source_round_trips_whole_and_debug_hides_the_secret() {
        let s = source(true);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("bob:hunter22@"));
        assert_eq!(serde_json::from_str::<PrometheusSource>(&json).unwrap(), s);
        assert!(!format!("{s:?}").contains("hunter22"));
        let bad = json.replace("req_total\"", "req_total{\"");
        assert!(serde_json::from_str::<PrometheusSource>(&bad).is_err());
    }
}
