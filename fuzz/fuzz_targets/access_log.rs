//! Fuzzes the access-log parser: any bytes, in every format, whole or split anywhere.
//!
//! The input is the log itself, as in `fixtures/fuzz-corpus/access_log/`, whose files the
//! core's unit tests replay with the same checks (`fuzz_corpus_replays`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use post_deploy_core::access_log::{AccessLogCounter, LogCounts, LogFormat, count_reader};

fn count<'a>(format: LogFormat, pieces: impl IntoIterator<Item = &'a [u8]>) -> LogCounts {
    let mut counter = AccessLogCounter::new(format);
    for piece in pieces {
        counter.feed(piece);
    }
    counter.finish()
}

fuzz_target!(|log: &[u8]| {
    let lines = log.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    // Split points that depend on the input, so the fuzzer explores them too.
    let first = log.first().map_or(0, |&b| usize::from(b));
    let at = if log.is_empty() { 0 } else { first % log.len() };
    let chunk = 1 + log.len() % 7;
    for format in LogFormat::ALL {
        let whole = count(format, [log]);
        assert!(whole.errors_5xx <= whole.total, "{format}: {whole:?}");
        assert!(
            whole.total + whole.unparsed <= lines,
            "{format}: {whole:?} > {lines} lines"
        );
        assert_eq!(
            count(format, [&log[..at], &log[at..]]),
            whole,
            "{format}: split at {at}"
        );
        assert_eq!(
            count(format, log.chunks(chunk)),
            whole,
            "{format}: chunks of {chunk}"
        );
        assert_eq!(
            count_reader(format, log).ok(),
            Some(whole),
            "{format}: reader"
        );
    }
});
