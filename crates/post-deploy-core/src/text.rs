//! Text taken from outside, bounded where it is made: what a reason may quote, and how long a
//! reason may grow.
//!
//! A reason is at most [`MAX_REASON`] characters, and text it quotes from outside (a server's
//! error, a value, a log line, a program's standard error, an identifier) at most
//! [`MAX_QUOTED`], so that no answer, however large, grows a state file, an artefact or an
//! alert. Both cut on a character boundary and end in [`CUT_MARK`] when they cut, so a reader
//! sees that something was left out.

/// The most characters of outside text a reason quotes, the cut mark included.
pub const MAX_QUOTED: usize = 300;

/// The most characters a reason holds, the cut mark included.
pub const MAX_REASON: usize = 1000;

/// What ends a text that was cut.
pub const CUT_MARK: &str = "…[cut]";

/// `text` as a reason quotes it: on one line (every control character, newlines included,
/// shown as a space) and at most [`MAX_QUOTED`] characters, ending in [`CUT_MARK`] when it
/// was longer. Costs what the quoted part costs, however long `text` is; quoting a quote
/// changes nothing.
#[must_use]
pub fn quote(text: &str) -> String {
    cut(text, MAX_QUOTED)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` cut as [`quote`] cuts it, its characters kept as they are: for a value a message
/// shows escaped (`{:?}`), where a control character is worth seeing.
#[must_use]
pub fn clip(text: &str) -> String {
    cut(text, MAX_QUOTED)
}

/// `text` quoted as [`quote`] does, but cut at its start rather than its end, the mark first:
/// for a program's standard error, whose last lines say why it failed.
#[must_use]
pub fn quote_end(text: &str) -> String {
    let chars = text.chars().count();
    if chars <= MAX_QUOTED {
        return quote(text);
    }
    let keep = MAX_QUOTED.saturating_sub(CUT_MARK.chars().count());
    let from = text
        .char_indices()
        .nth(chars.saturating_sub(keep))
        .map_or(text.len(), |(at, _)| at);
    quote(&format!(
        "{CUT_MARK}{}",
        text.get(from..).unwrap_or_default()
    ))
}

/// `reason` cut to at most [`MAX_REASON`] characters, ending in [`CUT_MARK`] when it was
/// longer.
#[must_use]
pub fn bound_reason(reason: &str) -> String {
    cut(reason, MAX_REASON)
}

/// Cuts `reason` in place to at most [`MAX_REASON`] characters ([`bound_reason`]).
pub fn bound_reason_in_place(reason: &mut String) {
    if let Some(at) = cut_at(reason, MAX_REASON) {
        reason.truncate(at);
        reason.push_str(CUT_MARK);
    }
}

/// `text` cut to at most `max` characters, the mark included.
fn cut(text: &str, max: usize) -> String {
    match cut_at(text, max) {
        Some(at) => format!("{}{CUT_MARK}", text.get(..at).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Where `text` is cut so that it and the mark hold at most `max` characters; `None` when it
/// fits whole.
fn cut_at(text: &str, max: usize) -> Option<usize> {
    // The text fits when it has no character past `max`.
    text.char_indices().nth(max)?;
    let keep = max.saturating_sub(CUT_MARK.chars().count());
    Some(
        text.char_indices()
            .nth(keep)
            .map_or(text.len(), |(at, _)| at),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_with_a_mark() {
        assert_eq!(quote("HTTP 503: down"), "HTTP 503: down");
        assert_eq!(quote("two\nlines\r\t!"), "two lines  !");
        let exact = "x".repeat(MAX_QUOTED);
        assert_eq!(quote(&exact), exact);
        let long = format!("1{}", "0".repeat(1_000_000));
        let q = quote(&long);
        assert_eq!(q.chars().count(), MAX_QUOTED);
        assert!(q.starts_with("1000") && q.ends_with(CUT_MARK), "{q}");
        let stderr = format!(
            "{}\nError: the registry refused the image",
            "noise ".repeat(200)
        );
        let end = quote_end(&stderr);
        assert_eq!(end.chars().count(), MAX_QUOTED);
        assert!(
            end.starts_with(CUT_MARK) && end.ends_with("Error: the registry refused the image")
        );
        let reason = "é".repeat(5000);
        let bounded = bound_reason(&reason);
        assert_eq!(bounded.chars().count(), MAX_REASON);
        assert!(bounded.ends_with(CUT_MARK));
        let mut in_place = reason.clone();
        bound_reason_in_place(&mut in_place);
        assert_eq!(in_place, bounded);
    }

    proptest! {
        #[test]
        fn quotes_and_reasons_stay_under_their_bounds(text in any::<String>(), extra in 0usize..2000) {
            let text = format!("{text}{}", "é".repeat(extra));
            let q = quote(&text);
            prop_assert!(q.chars().count() <= MAX_QUOTED);
            prop_assert!(!q.chars().any(char::is_control));
            prop_assert_eq!(quote(&q), q.clone());
            if text.chars().count() <= MAX_QUOTED {
                prop_assert_eq!(q.chars().count(), text.chars().count());
            } else {
                prop_assert!(q.ends_with(CUT_MARK));
            }
            let e = quote_end(&text);
            prop_assert!(e.chars().count() <= MAX_QUOTED);
            prop_assert_eq!(quote_end(&e), e.clone());
            let r = bound_reason(&text);
            prop_assert!(r.chars().count() <= MAX_REASON);
            prop_assert!(text.starts_with(r.trim_end_matches(CUT_MARK)));
            prop_assert_eq!(bound_reason(&r), r.clone());
        }
    }
}
