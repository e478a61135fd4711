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
