//! Classification: the deterministic rule that turns a window's observations into a verdict.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Ratio, WindowSettings};
use crate::signals::Observations;

/// HEALTHY or DEGRADED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Neither rule fired (missing data is HEALTHY).
    Healthy,
    /// A rule fired.
    Degraded,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Healthy => "HEALTHY",
            Self::Degraded => "DEGRADED",
        })
    }
}

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
    /// Neither rule fired.
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
    },
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
            Self::WithinLimits {
                failures,
                fail_threshold,
                health_missing,
                errors_5xx,
                requests,
                min_requests,
                ratio_threshold,
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
                    )
                } else {
                    write!(
                        f,
                        "; window 5xx ratio {:.4} ({errors_5xx}/{requests} requests) is within {ratio_threshold}",
                        ratio(errors_5xx, requests)
                    )
                }
            }
        }
    }
}

/// Classifies a window's observations: DEGRADED iff consecutive failed probes >=
/// `fail_threshold` (on a tick whose probe was made), or requests >= `min_requests` and
/// 5xx / requests > `ratio_threshold`. Otherwise HEALTHY; missing data is HEALTHY.
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
    } else {
        Rule::WithinLimits {
            failures: obs.consecutive_failures,
            fail_threshold: settings.fail_threshold,
            health_missing: obs.health_missing,
            errors_5xx: obs.errors_5xx,
            requests: obs.requests,
            min_requests: settings.min_requests,
            ratio_threshold: settings.ratio_threshold,
        }
    };
    let verdict = match rule {
        Rule::WithinLimits { .. } => Verdict::Healthy,
        Rule::FailedProbes { .. } | Rule::ErrorRatio { .. } => Verdict::Degraded,
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
