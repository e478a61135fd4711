//! Fuzzes the access-log parser: any bytes, in every format (logfmt included; HAProxy's and
//! morgan's lines in auto), with the default status keys and with configured ones (a renamed
//! key, a dotted path), whole or split anywhere; and `count-5xx`'s reading of a recorded log
//! (`count_log`: a gzip stream found by its magic bytes, docker's stamps skipped) on the same
//! bytes, which never panics and, for input that is not gzip, counts as the counter does.
//!
//! The input is the log itself, as in `fixtures/fuzz-corpus/access_log/`, whose files the
//! core's unit tests replay with the same checks (`fuzz_corpus_replays`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use post_deploy_core::access_log::{
    AccessLogCounter, LogCounts, LogFormat, LogKeys, count_log, count_reader_with,
};

fn count<'a>(
    format: LogFormat,
    keys: &LogKeys,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> LogCounts {
    let mut counter = AccessLogCounter::with_keys(format, keys.clone());
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
    let configured = LogKeys::parse(
        Some("DownstreamStatus,http.response.status_code,status"),
        None,
    )
    .expect("valid keys");
    for (format, keys) in LogFormat::ALL
        .into_iter()
        .flat_map(|f| [(f, LogKeys::default()), (f, configured.clone())])
    {
        let whole = count(format, &keys, [log]);
        assert!(whole.errors_5xx <= whole.total, "{format}: {whole:?}");
        assert!(
            whole.total + whole.unparsed <= lines,
            "{format}: {whole:?} > {lines} lines"
        );
        assert_eq!(
            count(format, &keys, [&log[..at], &log[at..]]),
            whole,
            "{format}: split at {at}"
        );
        assert_eq!(
            count(format, &keys, log.chunks(chunk)),
            whole,
            "{format}: chunks of {chunk}"
        );
        assert_eq!(
            count_reader_with(format, keys.clone(), log).ok(),
            Some(whole),
            "{format}: reader"
        );
        let mut stamped = AccessLogCounter::with_keys(format, keys.clone()).skipping_stamps();
        stamped.feed(log);
        let stamped = stamped.finish();
        match count_log(format, keys.clone(), log) {
            Ok((counts, durations)) => {
                assert!(durations.timed <= counts.total, "{format}: {durations:?}");
                if !log.starts_with(&[0x1f, 0x8b]) {
                    assert_eq!(counts, stamped, "{format}: count_log");
                }
            }
            // Only a gzip stream can fail to read from memory.
            Err(e) => assert!(log.starts_with(&[0x1f, 0x8b]), "{format}: {e}"),
        }
    }
});
