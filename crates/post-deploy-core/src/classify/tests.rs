use super::*;
use crate::signals::SpanCounts;
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

fn confident(c: f64, min: u64) -> WindowSettings {
    WindowSettings {
        confidence: crate::config::Confidence::new(c).unwrap(),
        ..settings(3, 0.5, min)
    }
}

/// `P[Binomial(n, t) >= k] < 1 - c`, strictly: at exactly 1 - c the rule does not fire.
/// P[Bin(2, 0.5) >= 2] = 0.25, P[Bin(4, 0.5) >= 4] = 1/16, P[Bin(10, 0.5) >= 9] = 11/1024:
/// binary fractions, as are 1 - 0.75, 1 - 0.9375 and 1 - 1013/1024.
#[test]
fn confidence_fires_below_one_minus_c_not_at_it() {
    for (n, k, at) in [(2, 2, 0.75), (4, 4, 0.9375), (10, 9, 1013.0 / 1024.0)] {
        let v = |c: f64| classify(&obs(0, n, k), &confident(c, 0), now());
        let exactly = v(at);
        assert_eq!(
            exactly.verdict,
            Verdict::Healthy,
            "{n} {k} {at}: {}",
            exactly.rule
        );
        let text = exactly.rule.to_string();
        assert!(text.contains("but not with confidence"), "{text}");
        // A hair less sure: 1 - c is above the tail, and it fires.
        let below = v(at - 1e-6);
        assert_eq!(below.verdict, Verdict::Degraded, "{}", below.rule);
        assert!(below.rule.to_string().contains("p="), "{}", below.rule);
    }
}

/// The quiet service of the contract: 4 errors among 60 requests (6.7%) against 5%. Above
/// the threshold, but a true ratio of 5% gives 4 or more a third of the time.
#[test]
fn a_few_unlucky_errors_on_a_quiet_service_do_not_fire_with_confidence() {
    let raw = settings(3, 0.05, 20);
    assert_eq!(
        classify(&obs(0, 60, 4), &raw, now()).verdict,
        Verdict::Degraded
    );
    let sure = WindowSettings {
        confidence: crate::config::Confidence::new(0.95).unwrap(),
        ..raw.clone()
    };
    let got = classify(&obs(0, 60, 4), &sure, now());
    assert_eq!(got.verdict, Verdict::Healthy);
    // A real outage at the same volume still fires: 12 of 60.
    let outage = classify(&obs(0, 60, 12), &sure, now());
    assert_eq!(outage.rule.name(), Some(RuleName::ErrorRatio));
    let text = [got, outage]
        .iter()
        .map(|c| format!("{}: {}", c.verdict, c.rule))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(text);
}

fn recent(seconds: u64, requests: u64, errors: u64) -> Option<SpanCounts> {
    Some(SpanCounts {
        seconds,
        requests,
        errors_5xx: errors,
        ..SpanCounts::default()
    })
}

/// The first rule in the order health, 5xx, 5xx_recent, latency, latency_recent is named.
#[test]
fn rules_are_named_in_their_order() {
    let s = WindowSettings {
        latency_ms: Some(500.0),
        ..settings(3, 0.05, 20)
    };
    let name = |o: Observations| classify(&o, &s, now()).rule.name();
    let late = Observations {
        recent: recent(120, 40, 10),
        ..obs(0, 400, 10)
    };
    assert_eq!(name(late), Some(RuleName::RecentErrorRatio));
    assert_eq!(
        name(Observations {
            consecutive_failures: 3,
            ..late
        }),
        Some(RuleName::Health)
    );
    assert_eq!(
        name(Observations {
            errors_5xx: 100,
            ..late
        }),
        Some(RuleName::ErrorRatio)
    );
    let slow_late = Observations {
        timed: 400,
        slow: 10,
        recent: Some(SpanCounts {
            timed: 40,
            slow: 10,
            ..recent(120, 40, 0).unwrap()
        }),
        ..obs(0, 400, 0)
    };
    assert_eq!(name(slow_late), Some(RuleName::RecentLatency));
    assert_eq!(
        name(Observations {
            slow: 40,
            ..slow_late
        }),
        Some(RuleName::Latency)
    );
    assert_eq!(
        name(Observations {
            recent: recent(120, 40, 10),
            ..slow_late
        }),
        Some(RuleName::RecentErrorRatio)
    );
    let text = [
        late,
        slow_late,
        Observations {
            recent: recent(120, 19, 19),
            ..obs(0, 400, 1)
        },
    ]
    .iter()
    .map(|o| {
        let c = classify(o, &s, now());
        format!("{}: {}", c.verdict, c.rule)
    })
    .collect::<Vec<_>>()
    .join("\n");
    insta::assert_snapshot!(text);
}

proptest! {
    /// Whatever the counts, a rule that fires with CONFIDENCE fires without it.
    #[test]
    fn confidence_never_fires_where_the_raw_rule_would_not(
        n in 0u64..5000, k_pct in 0u64..=100, rn in 0u64..500, rk_pct in 0u64..=100,
        milli in 1u32..999, c in 0.5f64..=0.9999, min in 0u64..50,
    ) {
        let o = Observations {
            recent: recent(60, rn, rn * rk_pct / 100),
            ..obs(0, n, n * k_pct / 100)
        };
        let raw = settings(3, f64::from(milli) / 1000.0, min);
        let sure = WindowSettings { confidence: crate::config::Confidence::new(c).unwrap(), ..raw.clone() };
        let a = classify(&o, &raw, now());
        let b = classify(&o, &sure, now());
        if b.verdict == Verdict::Degraded {
            prop_assert_eq!(a.verdict, Verdict::Degraded);
        }
    }
}
