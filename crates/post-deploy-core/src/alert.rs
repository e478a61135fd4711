//! Alerts: what a window tells people, once per window per event. The payload is one of the
//! shared nouns ([`crate::vocabulary`]); this path names it too.

pub use crate::vocabulary::{Alert, AlertEvent, AlertSubject};
