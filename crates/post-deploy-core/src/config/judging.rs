//! How a window judges its ratios, beyond the thresholds: the recent span (`RECENT_S`) and
//! the confidence of the binomial test (`CONFIDENCE`); and where its metrics are shown
//! (`METRICS_FILE`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    CONFIDENCE, CONFIDENCE_RANGE, ConfigError, DEFAULT_RECENT_S, INTERVAL_S, MAX_SECONDS,
    METRICS_FILE, RECENT_S, Vars,
};

/// `METRICS_FILE`: unset, or the path of a file (no control character, not ending in `/`).
pub(super) fn metrics_file(vars: &Vars) -> Result<Option<std::path::PathBuf>, ConfigError> {
    match vars.get(METRICS_FILE) {
        None => Ok(None),
        Some(v) if v.chars().any(char::is_control) || v.ends_with('/') => {
            Err(ConfigError::invalid(
                METRICS_FILE,
                vars.raw(METRICS_FILE),
                "expected the path of a file, e.g. /var/lib/node_exporter/post-deploy.prom",
            ))
        }
        Some(v) => Ok(Some(std::path::PathBuf::from(v))),
    }
}

/// `CONFIDENCE`: 0 (off), or a probability in 0.5..=0.9999.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize)]
#[serde(transparent)]
pub struct Confidence(f64);

impl Confidence {
    /// Off: a ratio rule fires when the measured ratio is above its threshold.
    pub const OFF: Self = Self(0.0);

    /// `value` as a confidence; `None` unless it is 0 or in [`CONFIDENCE_RANGE`].
    #[must_use]
    pub fn new(value: f64) -> Option<Self> {
        (value == 0.0 || CONFIDENCE_RANGE.contains(&value)).then_some(Self(value))
    }

    /// The confidence; 0 when off.
    #[must_use]
    pub fn get(self) -> f64 {
        self.0
    }

    /// Whether a rule needs more than the measured ratio.
    #[must_use]
    pub fn is_on(self) -> bool {
        self.0 > 0.0
    }
}

impl<'de> Deserialize<'de> for Confidence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = f64::deserialize(d)?;
        Self::new(raw).ok_or_else(|| {
            serde::de::Error::custom(format!("confidence {raw} is not 0 or in 0.5..0.9999"))
        })
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `ORCH_POST_DEPLOY_RECENT_S`: 0 (off) or at least one interval; unset, 120 s or one
/// interval when that is longer.
pub(super) fn recent_span(vars: &Vars, interval: Duration) -> Result<Duration, ConfigError> {
    let Some(v) = vars.get(RECENT_S) else {
        return Ok(Duration::from_secs(DEFAULT_RECENT_S).max(interval));
    };
    let refused = |expected: String| ConfigError::invalid(RECENT_S, vars.raw(RECENT_S), expected);
    let secs = v
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= MAX_SECONDS)
        .ok_or_else(|| {
            refused(
                "expected 0 (off) or a whole number of seconds up to 2592000 (30 days)".to_owned(),
            )
        })?;
    let span = Duration::from_secs(secs);
    if !span.is_zero() && span < interval {
        return Err(refused(format!(
            "the recent span must be 0 (off) or at least one interval ({INTERVAL_S}={} s)",
            interval.as_secs()
        )));
    }
    Ok(span)
}

/// `ORCH_POST_DEPLOY_CONFIDENCE`: 0, or 0.5..=0.9999.
pub(super) fn confidence(vars: &Vars) -> Result<Confidence, ConfigError> {
    match vars.get(CONFIDENCE) {
        None => Ok(Confidence::OFF),
        Some(v) => v
            .parse::<f64>()
            .ok()
            .and_then(Confidence::new)
            .ok_or_else(|| {
                ConfigError::invalid(
                    CONFIDENCE,
                    vars.raw(CONFIDENCE),
                    "expected 0 (off) or a confidence from 0.5 to 0.9999, e.g. 0.95",
                )
            }),
    }
}
