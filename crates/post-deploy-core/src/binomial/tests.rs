use super::*;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Pow, ToPrimitive, Zero};
use proptest::prelude::*;

/// `P[Binomial(n, t) >= k]` in exact arithmetic, `t` the exact value of the f64 (a / d, d a
/// power of two): the sum of `C(n, j) a^j (d - a)^(n - j)` over `j >= k`, over `d^n`.
fn exact_tail(n: u64, k: u64, t: f64) -> f64 {
    let t = BigRational::from_float(t).unwrap();
    let (a, d) = (t.numer().clone(), t.denom().clone());
    let b = &d - &a;
    // a^j and b^(n - j) for every j
    let mut a_pow = vec![BigInt::one()];
    let mut b_pow = vec![BigInt::one()];
    for i in 0..n as usize {
        a_pow.push(&a_pow[i] * &a);
        b_pow.push(&b_pow[i] * &b);
    }
    let mut sum = BigInt::zero();
    let mut coefficient = BigInt::one();
    for j in 0..=n {
        if j >= k {
            sum += &coefficient * &a_pow[j as usize] * &b_pow[(n - j) as usize];
        }
        coefficient = coefficient * BigInt::from(n - j) / BigInt::from(j + 1);
    }
    BigRational::new(sum, Pow::pow(&d, n as u32))
        .to_f64()
        .unwrap()
}

/// Reference values from SciPy 1.x, `binom.sf(k - 1, n, t)` (= P[X >= k]); the Python
/// module's tests check a larger table against SciPy itself.
#[expect(clippy::excessive_precision, reason = "SciPy's digits as printed")]
const SCIPY: &[(u64, u64, f64, f64)] = &[
    (100, 8, 0.05, 1.279_604_786_203_789_87e-1),
    (1000, 60, 0.05, 8.673_217_838_486_102_5e-2),
    (1_000_000, 50_500, 0.05, 1.104_112_239_113_091_63e-2),
    (1_000_000_000, 50_010_000, 0.05, 7.340_999_433_202_349_82e-2),
    (1_000_000_000, 500_020_000, 0.5, 1.029_572_740_508_583_33e-1),
    (1_000_000_000, 49_990_000, 0.05, 9.266_169_072_672_362_23e-1),
    (1_000_000_000, 1_000_050, 0.001, 4.801_844_036_834_471_14e-1),
];

#[test]
fn agrees_with_scipy_to_1e_9_up_to_a_billion() {
    for &(n, k, t, want) in SCIPY {
        let got = tail_at_least(n, k, t);
        assert!(
            (got - want).abs() < 1e-9,
            "P[Bin({n}, {t}) >= {k}] = {got:e}, SciPy {want:e}"
        );
    }
}

/// Binary fractions come out exactly, so the boundary `tail == 1 - CONFIDENCE` is exact.
#[test]
fn binary_fractions_are_exact() {
    assert_eq!(tail_at_least(2, 2, 0.5), 0.25);
    assert_eq!(tail_at_least(4, 4, 0.5), 0.0625);
    assert_eq!(tail_at_least(10, 9, 0.5), 11.0 / 1024.0);
    assert_eq!(tail_at_least(2, 1, 0.5), 0.75);
    assert_eq!(tail_at_least(8, 6, 0.25), exact_tail(8, 6, 0.25));
}

#[test]
fn the_ends() {
    assert_eq!(tail_at_least(0, 0, 0.3), 1.0);
    assert_eq!(tail_at_least(5, 0, 0.3), 1.0);
    assert_eq!(tail_at_least(5, 6, 0.3), 0.0);
    assert_eq!(tail_at_least(5, 1, 0.0), 0.0);
    assert_eq!(tail_at_least(5, 5, 1.0), 1.0);
    assert_eq!(tail_at_least(5, 1, f64::NAN), 0.0);
    // Far in the tail of a huge n: a number that underflows, not a hang.
    assert!(tail_at_least(1_000_000_000, 900_000_000, 0.05) < 1e-300);
    assert!((tail_at_least(1_000_000_000, 1, 0.05) - 1.0).abs() < 1e-15);
}

proptest! {
    /// Against exact rational arithmetic, for every n up to 120 and a threshold given in
    /// thousandths (as `5XX_THRESHOLD` is written) or in 1/1024ths.
    #[test]
    fn matches_exact_rationals(n in 0u64..120, k_frac in 0.0f64..1.1, milli in 1u32..1000, dyadic: bool) {
        let k = ((n as f64 + 1.0) * k_frac) as u64;
        let t = if dyadic { f64::from(milli) / 1024.0 } else { f64::from(milli) / 1000.0 };
        let got = tail_at_least(n, k, t);
        let want = exact_tail(n, k, t);
        prop_assert!((got - want).abs() < 1e-12, "P[Bin({}, {}) >= {}] = {:e}, exact {:e}", n, t, k, got, want);
    }

    /// The two ways of summing agree for any n up to a billion: P[Bin(n, t) >= k] and
    /// P[Bin(n, 1 - t) >= n - k + 1] add up to one (one is summed up from k, the other down).
    #[test]
    fn the_tail_and_its_mirror_add_up_to_one(n in 1u64..1_000_000_000, k_frac in 0.0f64..1.0, milli in 1u32..1000) {
        let t = f64::from(milli) / 1000.0;
        let k = 1 + ((n as f64) * k_frac) as u64;
        let k = k.min(n);
        let sum = tail_at_least(n, k, t) + tail_at_least(n, n - k + 1, 1.0 - t);
        prop_assert!((sum - 1.0).abs() < 1e-9, "{} {} {}: {}", n, k, t, sum);
    }

    /// More failures are never more likely.
    #[test]
    fn falls_with_k(n in 1u64..100_000, k in 0u64..100_000, milli in 1u32..1000) {
        let t = f64::from(milli) / 1000.0;
        prop_assert!(tail_at_least(n, k + 1, t) <= tail_at_least(n, k, t) + 1e-12);
    }
}
