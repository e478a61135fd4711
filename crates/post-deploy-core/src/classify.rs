//! Classification: the deterministic rule that turns a window's observations into a verdict.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::WindowSettings;
use crate::signals::Observations;
use crate::vocabulary::Ratio;
pub use crate::vocabulary::Verdict;

/// The rule behind a verdict, with its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// Consecutive failed health probes reached the threshold.
    FailedProbes {
        /// Failed probes in a row.
        failures: u32,
        /// `FAIL_THRESHOLD`.
        threshold: u32,
    },
    /// The window's 5xx ratio is above the threshold, over enough requests.
    ErrorRatio {
        /// 5xx answers in the window.
        errors_5xx: u64,
        /// Requests in the window.
        requests: u64,
        /// `5XX_THRESHOLD`.
        threshold: Ratio,
    },
    /// The window's latency quantile is above `LATENCY_MS`, from its access lines: more of
    /// its timed requests were slower than `LATENCY_MS` than the quantile allows.
    Latency {
        /// Timed requests slower than `LATENCY_MS`.
        slow: u64,
        /// Requests with a known duration in the window.
        timed: u64,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
    },
    /// The window's latency quantile from a Prometheus histogram is above `LATENCY_MS`.
    LatencyQuantile {
        /// The quantile, in milliseconds.
        quantile_ms: f64,
        /// Requests in the window.
        requests: u64,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
    },
    /// No rule fired.
    WithinLimits {
        /// Failed probes in a row.
        failures: u32,
        /// `FAIL_THRESHOLD`.
        fail_threshold: u32,
        /// The latest health probe was missing.
        health_missing: bool,
        /// 5xx answers in the window.
        errors_5xx: u64,
        /// Requests in the window.
        requests: u64,
        /// `MIN_REQUESTS`.
        min_requests: u64,
        /// `5XX_THRESHOLD`.
        ratio_threshold: Ratio,
        /// Where the latency rule stands.
        #[serde(default)]
        latency: LatencyCheck,
    },
}

/// Where the latency rule stands when it did not fire.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "latency", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LatencyCheck {
    /// `LATENCY_MS` is not set.
    #[default]
    Off,
    /// From access lines: slow among timed requests.
    Timed {
        /// Timed requests slower than `LATENCY_MS`.
        slow: u64,
        /// Requests with a known duration in the window.
        timed: u64,
        /// `MIN_REQUESTS`.
        min_requests: u64,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
    },
    /// From a Prometheus histogram: the window's quantile.
    Quantile {
        /// The quantile, in milliseconds.
        quantile_ms: f64,
        /// Requests in the window.
        requests: u64,
        /// `MIN_REQUESTS`.
        min_requests: u64,
        /// `LATENCY_QUANTILE`.
        quantile: Ratio,
        /// `LATENCY_MS`.
        threshold_ms: f64,
    },
}

impl fmt::Display for LatencyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Off => Ok(()),
            Self::Timed {
                timed,
                min_requests,
                ..
            } if timed < min_requests || timed == 0 => write!(
                f,
                "; latency not judged: {timed} timed requests, fewer than {}",
                min_requests.max(1)
            ),
            Self::Timed {
                slow,
                timed,
                quantile,
                threshold_ms,
                ..
            } => write!(
                f,
                "; window latency: {slow}/{timed} timed requests slower than {threshold_ms} ms \
                 ({:.1}%): the {quantile} quantile is within {threshold_ms} ms",
                percent(slow, timed)
            ),
            Self::Quantile {
                requests,
                min_requests,
                ..
            } if requests < min_requests => write!(
                f,
                "; latency not judged: {requests} requests, fewer than {min_requests}"
            ),
            Self::Quantile {
                quantile_ms,
                requests,
                quantile,
                threshold_ms,
                ..
            } => write!(
                f,
                "; window latency: the {quantile} quantile from Prometheus is {quantile_ms:.1} \
                 ms ({requests} requests), within {threshold_ms} ms"
            ),
        }
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    100.0 * ratio(part, whole)
}

/// A verdict, the rule that gave it, and when.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// HEALTHY or DEGRADED.
    pub verdict: Verdict,
    /// Why.
    pub rule: Rule,
    /// When it was classified.
    pub at: DateTime<Utc>,
}

fn ratio(errors: u64, requests: u64) -> f64 {
    crate::access_log::ratio(errors, requests).unwrap_or(0.0)
}

/// `errors / requests > threshold`. The quotient is correctly rounded, as is the threshold
/// parsed from its decimal text, so a ratio exactly at the threshold (29/100 against 0.29)
/// compares equal and is not above it; a product `threshold * requests` would not be exact.
fn above(errors: u64, requests: u64, threshold: Ratio) -> bool {
    requests > 0 && ratio(errors, requests) > threshold.get()
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::FailedProbes {
                failures,
                threshold,
            } => {
                write!(
                    f,
                    "{failures} consecutive failed health probes (threshold {threshold})"
                )
            }
            Self::ErrorRatio {
                errors_5xx,
                requests,
                threshold,
            } => write!(
                f,
                "window 5xx ratio {:.4} ({errors_5xx}/{requests} requests) is above {threshold}",
                ratio(errors_5xx, requests)
            ),
            Self::Latency {
                slow,
                timed,
                quantile,
                threshold_ms,
            } => write!(
                f,
                "window latency: {slow}/{timed} timed requests slower than {threshold_ms} ms \
                 ({:.1}%): the {quantile} quantile is above {threshold_ms} ms",
                percent(slow, timed)
            ),
            Self::LatencyQuantile {
                quantile_ms,
                requests,
                quantile,
                threshold_ms,
            } => write!(
                f,
                "window latency: the {quantile} quantile from Prometheus is {quantile_ms:.1} ms \
                 ({requests} requests), above {threshold_ms} ms"
            ),
            Self::WithinLimits {
                failures,
                fail_threshold,
                health_missing,
                errors_5xx,
                requests,
                min_requests,
                ratio_threshold,
                latency,
            } => {
                if health_missing {
                    write!(f, "health probe missing this tick (not a failure)")?;
                } else {
                    write!(
                        f,
                        "{failures} consecutive failed health probes (threshold {fail_threshold})"
                    )?;
                }
                if requests < min_requests {
                    write!(
                        f,
                        "; 5xx ratio not judged: {requests} requests, fewer than {min_requests}"
                    )?;
                } else {
                    write!(
                        f,
                        "; window 5xx ratio {:.4} ({errors_5xx}/{requests} requests) is within {ratio_threshold}",
                        ratio(errors_5xx, requests)
                    )?;
                }
                write!(f, "{latency}")
            }
        }
    }
}

/// `slow / timed > 1 - quantile`, computed as `(timed - slow) / timed < quantile`: both
/// sides correctly rounded, as for the 5xx ratio, so a window with exactly as many slow
/// requests as the quantile allows (5 of 100 at 0.95) is not above it, and one more is.
fn too_slow(slow: u64, timed: u64, quantile: Ratio) -> bool {
    timed > 0 && ratio(timed.saturating_sub(slow), timed) < quantile.get()
}

/// Where the latency rule stands for `obs`: off, from access lines, or from Prometheus.
fn latency_check(obs: &Observations, settings: &WindowSettings) -> LatencyCheck {
    let Some(threshold_ms) = settings.latency_ms else {
        return LatencyCheck::Off;
    };
    let quantile = settings.latency_quantile;
    let min_requests = settings.min_requests;
    match obs.latency_ms {
        Some(ms) => LatencyCheck::Quantile {
            quantile_ms: ms.get(),
            requests: obs.requests,
            min_requests,
            quantile,
            threshold_ms,
        },
        None => LatencyCheck::Timed {
            slow: obs.slow,
            timed: obs.timed,
            min_requests,
            quantile,
            threshold_ms,
        },
    }
}

/// The latency rule, when it fires.
fn latency_rule(check: LatencyCheck) -> Option<Rule> {
    match check {
        LatencyCheck::Timed {
            slow,
            timed,
            min_requests,
            quantile,
            threshold_ms,
        } => (timed >= min_requests && too_slow(slow, timed, quantile)).then_some(Rule::Latency {
            slow,
            timed,
            quantile,
            threshold_ms,
        }),
        LatencyCheck::Quantile {
            quantile_ms,
            requests,
            min_requests,
            quantile,
            threshold_ms,
        } => (requests >= min_requests && requests > 0 && quantile_ms > threshold_ms).then_some(
            Rule::LatencyQuantile {
                quantile_ms,
                requests,
                quantile,
                threshold_ms,
            },
        ),
        LatencyCheck::Off => None,
    }
}

/// Classifies a window's observations: DEGRADED iff consecutive failed probes >=
/// `fail_threshold` (on a tick whose probe was made), or requests >= `min_requests` and
/// 5xx / requests > `ratio_threshold`, or, with `LATENCY_MS` set, timed requests >=
/// `min_requests` and slow / timed > 1 - `LATENCY_QUANTILE` (from a Prometheus histogram:
/// requests >= `min_requests` and its quantile above `LATENCY_MS`). Otherwise HEALTHY;
/// missing data is HEALTHY.
///
/// Pure: the same inputs give the same classification; `now` only stamps it.
#[must_use]
pub fn classify(
    obs: &Observations,
    settings: &WindowSettings,
    now: DateTime<Utc>,
) -> Classification {
    let failed_probes = !obs.health_missing && obs.consecutive_failures >= settings.fail_threshold;
    // `above` refuses a zero-request window whatever MIN_REQUESTS says.
    let judged = obs.requests >= settings.min_requests;
    let rule = if failed_probes {
        Rule::FailedProbes {
            failures: obs.consecutive_failures,
            threshold: settings.fail_threshold,
        }
    } else if judged && above(obs.errors_5xx, obs.requests, settings.ratio_threshold) {
        Rule::ErrorRatio {
            errors_5xx: obs.errors_5xx,
            requests: obs.requests,
            threshold: settings.ratio_threshold,
        }
    } else if let Some(rule) = latency_rule(latency_check(obs, settings)) {
        rule
    } else {
        Rule::WithinLimits {
            failures: obs.consecutive_failures,
            fail_threshold: settings.fail_threshold,
            health_missing: obs.health_missing,
            errors_5xx: obs.errors_5xx,
            requests: obs.requests,
            min_requests: settings.min_requests,
            ratio_threshold: settings.ratio_threshold,
            latency: latency_check(obs, settings),
        }
    };
    let verdict = match rule {
        Rule::WithinLimits { .. } => Verdict::Healthy,
        Rule::FailedProbes { .. }
        | Rule::ErrorRatio { .. }
        | Rule::Latency { .. }
        | Rule::LatencyQuantile { .. } => Verdict::Degraded,
    };
    Classification {
        verdict,
        rule,
        at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn settings(fail: u32, ratio: f64, min: u64) -> WindowSettings {
        WindowSettings {
            fail_threshold: fail,
            ratio_threshold: Ratio::new(ratio).unwrap(),
            min_requests: min,
            ..WindowSettings::default()
        }
    }

    fn obs(failures: u32, requests: u64, errors: u64) -> Observations {
        Observations {
            consecutive_failures: failures,
            requests,
            errors_5xx: errors,
            ..Observations::default()
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn boundaries() {
        let s = settings(3, 0.05, 20);
        let v = |o: Observations| classify(&o, &s, now()).verdict;
        assert_eq!(v(obs(2, 0, 0)), Verdict::Healthy);
        assert_eq!(v(obs(3, 0, 0)), Verdict::Degraded);
        // exactly at the threshold is not above it
        assert_eq!(v(obs(0, 20, 1)), Verdict::Healthy);
        assert_eq!(v(obs(0, 20, 2)), Verdict::Degraded);
        // one request under the minimum: not judged, even at 100 %
        assert_eq!(v(obs(0, 19, 19)), Verdict::Healthy);
        assert_eq!(v(obs(0, 100, 5)), Verdict::Healthy);
        assert_eq!(v(obs(0, 100, 6)), Verdict::Degraded);
        // a missing probe cannot fire the failure rule
        let missing = Observations {
            health_missing: true,
            ..obs(5, 0, 0)
        };
        assert_eq!(v(missing), Verdict::Healthy);
    }

    /// At exactly `MIN_REQUESTS` the ratio is judged, and the reason says it was (a
    /// cargo-mutants survivor: `<` for `<=` in the reason's text went unseen).
    #[test]
    fn at_min_requests_the_reason_judges_the_ratio() {
        let s = settings(3, 0.05, 20);
        let at_min = classify(&obs(0, 20, 1), &s, now()).rule.to_string();
        assert!(
            at_min.contains("(1/20 requests) is within 0.05"),
            "{at_min}"
        );
        assert!(!at_min.contains("not judged"), "{at_min}");
        let below = classify(&obs(0, 19, 1), &s, now()).rule.to_string();
        assert!(
            below.contains("not judged: 19 requests, fewer than 20"),
            "{below}"
        );
    }

    #[test]
    fn reasons_name_the_rule_and_numbers() {
        let s = settings(3, 0.05, 20);
        let text = [obs(3, 0, 0), obs(0, 40, 10), obs(1, 10, 10), obs(0, 40, 1)]
            .iter()
            .map(|o| {
                format!(
                    "{}: {}",
                    classify(o, &s, now()).verdict,
                    classify(o, &s, now()).rule
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(text);
    }

    /// `errors > threshold * requests` in floating point: the product a reader might write.
    fn product_says_above(errors: u64, requests: u64, threshold: f64) -> bool {
        let (e, r) = (errors as f64, requests as f64);
        e > threshold * r
    }

    /// Every ratio exactly at a threshold of three decimals, over up to 1,000 requests: not
    /// above it. Among them are cases where the product `threshold * requests` rounds below
    /// `errors` (29/100 against 0.29), so a classifier written with the product, or with `>=`,
    /// fails here.
    #[test]
    fn a_ratio_exactly_at_the_threshold_is_not_above_it_where_the_product_would_say_so() {
        let mut product_disagrees = Vec::new();
        let mut exact_cases = 0;
        for milli in 1u64..1000 {
            let threshold = milli as f64 / 1000.0;
            let s = settings(3, threshold, 0);
            for requests in (1u64..=1000).filter(|r| r * milli % 1000 == 0) {
                let errors = requests * milli / 1000;
                exact_cases += 1;
                let at = classify(&obs(0, requests, errors), &s, now());
                assert_eq!(
                    at.verdict,
                    Verdict::Healthy,
                    "{errors}/{requests} vs {threshold}"
                );
                // One more error is above it.
                let over = classify(&obs(0, requests, errors + 1), &s, now());
                assert_eq!(
                    over.verdict,
                    Verdict::Degraded,
                    "{}/{requests} vs {threshold}",
                    errors + 1
                );
                if product_says_above(errors, requests, threshold) {
                    product_disagrees.push((errors, requests, milli));
                }
            }
        }
        assert_eq!(exact_cases, 7_500);
        assert!(
            product_disagrees.contains(&(29, 100, 290)),
            "{product_disagrees:?}"
        );
        assert!(product_disagrees.len() > 100, "{}", product_disagrees.len());
    }

    /// A ratio exactly at the threshold, or one error either side of it, as requests,
    /// errors and a threshold of three decimals that make it so.
    fn at_the_threshold() -> impl Strategy<Value = (u64, u64, u32)> {
        (0u32..=1000, 1u64..2000, -1i64..=1).prop_map(|(milli, k, nudge)| {
            // the fewest requests at which milli/1000 is a whole number of errors
            let step = 1000 / gcd(u64::from(milli), 1000);
            let requests = step * k;
            let exact = requests * u64::from(milli) / 1000;
            let errors = exact.saturating_add_signed(nudge).min(requests);
            (requests, errors, milli)
        })
    }

    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }

    fn latency_settings(ms: f64, quantile_milli: u32, min: u64) -> WindowSettings {
        WindowSettings {
            latency_ms: Some(ms),
            latency_quantile: Ratio::new(f64::from(quantile_milli) / 1000.0).unwrap(),
            ..settings(3, 0.05, min)
        }
    }

    fn timed(timed: u64, slow: u64) -> Observations {
        Observations {
            timed,
            slow,
            ..Observations::default()
        }
    }

    #[test]
    fn latency_boundaries_and_reasons() {
        let s = latency_settings(500.0, 950, 20);
        let c = |o: Observations| classify(&o, &s, now());
        // 5 of 100 slow is what p95 allows; 6 is one too many.
        assert_eq!(c(timed(100, 5)).verdict, Verdict::Healthy);
        assert_eq!(c(timed(100, 6)).verdict, Verdict::Degraded);
        // under MIN_REQUESTS timed requests: not judged, even all slow
        assert_eq!(c(timed(19, 19)).verdict, Verdict::Healthy);
        // the rule off: slow requests are not judged
        let off = settings(3, 0.05, 20);
        assert_eq!(
            classify(&timed(100, 100), &off, now()).verdict,
            Verdict::Healthy
        );
        // from Prometheus: the quantile against LATENCY_MS, over MIN_REQUESTS requests
        let prom = |requests: u64, ms: f64| Observations {
            requests,
            latency_ms: crate::signals::Millis::new(ms),
            ..Observations::default()
        };
        assert_eq!(c(prom(20, 500.0)).verdict, Verdict::Healthy);
        assert_eq!(c(prom(20, 500.1)).verdict, Verdict::Degraded);
        assert_eq!(c(prom(19, 5000.0)).verdict, Verdict::Healthy);
        let text = [
            timed(100, 6),
            timed(100, 5),
            timed(3, 3),
            prom(40, 812.5),
            prom(40, 120.0),
            prom(4, 812.5),
        ]
        .iter()
        .map(|o| {
            let got = c(*o);
            format!("{}: {}", got.verdict, got.rule)
        })
        .collect::<Vec<_>>()
        .join("\n");
        insta::assert_snapshot!(text);
    }

    proptest! {
        #[test]
        fn fires_exactly_on_the_contract_rule_at_the_threshold(
            (requests, errors, ratio_milli) in at_the_threshold(),
            failures in 0u32..3, min in 0u64..60,
        ) {
            let s = settings(3, f64::from(ratio_milli) / 1000.0, min);
            let got = classify(&obs(failures, requests, errors), &s, now());
            let ratio_rule = requests >= min
                && u128::from(errors) * 1000 > u128::from(ratio_milli) * u128::from(requests);
            prop_assert_eq!(got.verdict == Verdict::Degraded, ratio_rule, "{:?}", got);
        }

        /// The latency rule fires exactly when more of the timed requests were slow than the
        /// quantile allows (checked in integers), and never under MIN_REQUESTS. Half the cases
        /// sit on the boundary on purpose: exactly as many slow as allowed, or one more.
        #[test]
        fn latency_fires_exactly_at_its_boundary(
            quantile_milli in 500u32..=999,
            hundreds in 1u64..50,
            on_boundary: bool,
            one_more: bool,
            any_slow in 0u64..5000,
            min in 0u64..3000,
        ) {
            // A whole number of slow requests at the boundary: timed a multiple of 1000.
            let timed_n = hundreds * 1000;
            let allowed = timed_n * u64::from(1000 - quantile_milli) / 1000;
            let slow = if on_boundary { allowed + u64::from(one_more) } else { any_slow.min(timed_n) };
            let s = latency_settings(250.0, quantile_milli, min);
            let got = classify(&timed(timed_n, slow), &s, now());
            // slow / timed > (1000 - q) / 1000, in integers.
            let over = u128::from(slow) * 1000 > u128::from(1000 - quantile_milli) * u128::from(timed_n);
            let expected = timed_n >= min && over;
            prop_assert_eq!(got.verdict == Verdict::Degraded, expected, "{:?}", got);
            if on_boundary {
                prop_assert_eq!(got.verdict == Verdict::Degraded, one_more && timed_n >= min);
            }
            if got.verdict == Verdict::Degraded {
                prop_assert!(matches!(got.rule, Rule::Latency { .. }), "{:?}", got.rule);
            }
        }

        /// Under MIN_REQUESTS timed requests the latency rule never fires, whatever the counts.
        #[test]
        fn latency_never_judged_under_min_requests(
            min in 1u64..500, short in 1u64..500, slow_pct in 0u64..=100, quantile_milli in 500u32..=999,
        ) {
            let timed_n = min.saturating_sub(short);
            let slow = timed_n * slow_pct / 100;
            let s = latency_settings(100.0, quantile_milli, min);
            prop_assert_eq!(classify(&timed(timed_n, slow), &s, now()).verdict, Verdict::Healthy);
        }

        #[test]
        fn fires_exactly_on_the_contract_rule(
            failures in 0u32..10, missing: bool, requests in 0u64..500, errors_pct in 0u64..=100,
            fail in 1u32..6, ratio_milli in 0u32..=1000, min in 0u64..60,
        ) {
            let errors = requests * errors_pct / 100;
            let ratio = f64::from(ratio_milli) / 1000.0;
            let s = settings(fail, ratio, min);
            let o = Observations { health_missing: missing, ..obs(failures, requests, errors) };
            let got = classify(&o, &s, now());
            // The rule as integers: errors/requests > ratio_milli/1000.
            let ratio_rule = requests >= min && requests > 0
                && u128::from(errors) * 1000 > u128::from(ratio_milli) * u128::from(requests);
            let expected = (!missing && failures >= fail) || ratio_rule;
            prop_assert_eq!(got.verdict == Verdict::Degraded, expected, "{:?}", got);
            // pure: the same inputs, the same answer, whatever the time
            let later = classify(&o, &s, now() + chrono::Duration::hours(5));
            prop_assert_eq!(got.verdict, later.verdict);
            prop_assert_eq!(got.rule, later.rule);
        }
    }
}
