//! Where a window's counts come from: the Prometheus server and the selectors recorded at arm.
//! Configuration values only: what the probe asks with them lives beside, in the parent module.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::url::SecretUrl;

/// The longest selector accepted, in bytes.
pub const MAX_SELECTOR_LEN: usize = 1024;

/// A series selector, e.g. `http_requests_total{job="api",code=~"5.."}`: not empty, at most
/// [`MAX_SELECTOR_LEN`] bytes, no control characters, its braces and quotes balanced.
///
/// It is placed in a query as it is; the server judges the rest of its grammar (and its
/// answer to a selector it refuses is a missing signal naming its error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Selector(String);

/// Why a selector was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// It is empty.
    #[error("it is empty")]
    Empty,
    /// It is longer than [`MAX_SELECTOR_LEN`] bytes.
    #[error("it is longer than {MAX_SELECTOR_LEN} bytes")]
    TooLong,
    /// It holds a control character (a newline, a tab, ...).
    #[error("it holds a control character ({0:?})")]
    Control(char),
    /// A quote is not closed.
    #[error("a quote is not closed")]
    OpenQuote,
    /// A `}` without its `{`, or a `{` never closed.
    #[error("its braces do not balance")]
    Braces,
}

impl Selector {
    /// Checks `raw` as a selector.
    ///
    /// # Errors
    /// [`SelectorError`] saying what is wrong with it.
    pub fn new(raw: &str) -> Result<Self, SelectorError> {
        if raw.is_empty() {
            return Err(SelectorError::Empty);
        }
        if raw.len() > MAX_SELECTOR_LEN {
            return Err(SelectorError::TooLong);
        }
        if let Some(c) = raw.chars().find(|c| c.is_control()) {
            return Err(SelectorError::Control(c));
        }
        let mut depth: u32 = 0;
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for c in raw.chars() {
            match quote {
                Some(q) => {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' && q != '`' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\'' | '`' => quote = Some(c),
                    '{' => depth = depth.saturating_add(1),
                    '}' => depth = depth.checked_sub(1).ok_or(SelectorError::Braces)?,
                    _ => {}
                },
            }
        }
        if quote.is_some() {
            return Err(SelectorError::OpenQuote);
        }
        if depth != 0 {
            return Err(SelectorError::Braces);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The selector's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::new(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a window's counts come from when a Prometheus server is named: recorded at arm.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    /// The server (`ORCH_POST_DEPLOY_PROMETHEUS_URL`); its user info is never shown.
    #[serde(with = "whole_url")]
    pub url: SecretUrl,
    /// Counter selector of all requests.
    pub requests: Selector,
    /// Counter selector of 5xx answers.
    pub errors: Selector,
    /// Histogram bucket selector for the latency rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Selector>,
}

impl fmt::Debug for PrometheusSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusSource")
            .field("url", &self.url)
            .field("requests", &self.requests)
            .field("errors", &self.errors)
            .field("latency", &self.latency)
            .finish()
    }
}

/// `target.json` keeps the server's URL whole (mode 0600), as it keeps the health URL: the
/// queries need its credentials.
mod whole_url {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::url::SecretUrl;

    pub(super) fn serialize<S: Serializer>(url: &SecretUrl, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(url.expose())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretUrl, D::Error> {
        let raw = String::deserialize(d)?;
        SecretUrl::new(&raw)
            .map_err(|e| serde::de::Error::custom(format!("the Prometheus URL is refused: {e}")))
    }
}
