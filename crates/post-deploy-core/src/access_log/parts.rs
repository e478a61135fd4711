//! A regular file counted in parts, one thread a part.
//!
//! Reading a log file and counting its lines are both work for a core, and a file, unlike a
//! pipe, can be read anywhere: so a file of a few MiB or more is cut into as many parts as
//! there are cores (at most [`MAX_PARTS`]), each cut just after a `\n`, and each part is read
//! (`pread`, so the parts share no file offset) and counted on a thread of its own with a
//! counter of its own; then the counts and the durations are added. Every line lies whole in
//! one part, and a counter's counts do not depend on where its input is cut, so the sum is what
//! one counter gives over the whole file.
//!
//! The file is counted as long as it was when it was opened: lines appended meanwhile are not
//! read, and a file cut shorter meanwhile (a rotation by `copytruncate`) ends where it ends.
//! A gzip'd file, and anything that is not a regular file, is read in one stream
//! ([`count_log`](super::count_log)).

use std::fs::File;
use std::io;
use std::num::NonZeroUsize;
use std::thread;

use super::keys::LogKeys;
use super::{AccessLogCounter, LogCounts, LogDurations, LogFormat, READ_BUFFER_LEN};

/// At most this many parts, however many cores.
pub(crate) const MAX_PARTS: usize = 8;

/// A part is at least this long: below it a thread costs more than it saves.
pub(crate) const MIN_PART_LEN: u64 = 4 << 20;

/// How far after a nominal cut a `\n` is looked for: a file without one there (one line of
/// several MiB, or no text at all) is read in one stream rather than searched to its end once
/// per cut.
const MAX_CUT_SEARCH: u64 = 2 * super::MAX_LINE_LEN as u64;

/// The reads of that search: a line ends within the first one nearly always.
const SEARCH_BUFFER_LEN: usize = 64 << 10;

/// How a file is cut: into at most `parts` parts of at least `min_len` bytes, read `buffer_len`
/// bytes at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) parts: usize,
    pub(crate) min_len: u64,
    pub(crate) buffer_len: usize,
}

impl Plan {
    /// One part a core, up to [`MAX_PARTS`].
    pub(crate) fn for_this_machine() -> Self {
        Self {
            parts: thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .min(MAX_PARTS),
            min_len: MIN_PART_LEN,
            buffer_len: READ_BUFFER_LEN,
        }
    }
}

/// The counts and durations of a regular, uncompressed `file`, read in parts on threads
/// (see the module doc); `None` when it is not one, or too short to cut, for the caller to
/// read it in one stream.
///
/// # Errors
///
/// The first read error of a part, in the file's order, other than
/// [`io::ErrorKind::Interrupted`].
#[cfg(unix)]
pub(super) fn count_file(
    format: LogFormat,
    keys: &LogKeys,
    file: &File,
    plan: Plan,
) -> io::Result<Option<(LogCounts, LogDurations)>> {
    let Some(spans) = spans(file, plan)? else {
        return Ok(None);
    };
    let results = on_threads(&spans, |start, end| {
        count_span(format, keys, file, start, end, plan.buffer_len)
    });
    let mut counts = LogCounts::default();
    let mut durations = LogDurations::default();
    for result in results {
        let (c, d) =
            result.unwrap_or_else(|| Err(io::Error::other("a log part's counter stopped")))?;
        counts.merge(c);
        durations.merge(d);
    }
    Ok(Some((counts, durations)))
}

/// The parts a regular, uncompressed `file` is cut into by `plan`, as (start, end) offsets
/// in the file's order, each starting a line; `None` when it is not such a file, or too short
/// to cut, or a cut finds no `\n` near it.
///
/// # Errors
///
/// A read error of the file.
#[cfg(unix)]
pub(crate) fn spans(file: &File, plan: Plan) -> io::Result<Option<Vec<(u64, u64)>>> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let len = meta.len();
    let wanted = usize::try_from(len.checked_div(plan.min_len).unwrap_or(len))
        .unwrap_or(usize::MAX)
        .min(plan.parts);
    if wanted < 2 || is_gzip(file)? {
        return Ok(None);
    }
    let Some(bounds) = cuts(file, len, wanted)? else {
        return Ok(None);
    };
    Ok(Some(
        bounds
            .windows(2)
            .filter_map(|w| match w {
                [start, end] if end > start => Some((*start, *end)),
                _ => None,
            })
            .collect(),
    ))
}

/// `work(start, end)` of every span, each on a thread of its own (or here, when a thread
/// cannot be started), the answers in the spans' order; `None` for a thread that panicked.
pub(crate) fn on_threads<T: Send>(
    spans: &[(u64, u64)],
    work: impl Fn(u64, u64) -> T + Sync,
) -> Vec<Option<T>> {
    let work = &work;
    thread::scope(|scope| {
        let handles: Vec<_> = spans
            .iter()
            .map(|&(start, end)| {
                let spawned = thread::Builder::new()
                    .name("log part".to_owned())
                    .spawn_scoped(scope, move || work(start, end));
                (spawned, start, end)
            })
            .collect();
        handles
            .into_iter()
            .map(|(handle, start, end)| match handle {
                Ok(handle) => handle.join().ok(),
                Err(_) => Some(work(start, end)),
            })
            .collect()
    })
}

/// Not on this platform: never cut.
#[cfg(not(unix))]
pub(crate) fn spans(_file: &File, _plan: Plan) -> io::Result<Option<Vec<(u64, u64)>>> {
    Ok(None)
}

/// Not on this platform: always one stream.
#[cfg(not(unix))]
pub(super) fn count_file(
    _format: LogFormat,
    _keys: &LogKeys,
    _file: &File,
    _plan: Plan,
) -> io::Result<Option<(LogCounts, LogDurations)>> {
    Ok(None)
}

/// Whether the file starts with gzip's magic bytes.
#[cfg(unix)]
fn is_gzip(file: &File) -> io::Result<bool> {
    let mut head = [0u8; 2];
    let n = read_at(file, &mut head, 0)?;
    Ok(n == 2 && head == super::input::GZIP_MAGIC)
}

/// The offsets the parts start at, and the file's length last: `0`, then for each nominal cut
/// `len * k / parts` the offset just after the first `\n` at or after it (or `len`), never
/// going back; `None` when a cut finds no `\n` within [`MAX_CUT_SEARCH`] bytes.
#[cfg(unix)]
fn cuts(file: &File, len: u64, parts: usize) -> io::Result<Option<Vec<u64>>> {
    let mut bounds = vec![0u64];
    let parts_u64 = u64::try_from(parts).unwrap_or(u64::MAX).max(1);
    for k in 1..parts_u64 {
        let last = bounds.last().copied().unwrap_or(0);
        let nominal = u128::from(len)
            .saturating_mul(u128::from(k))
            .checked_div(u128::from(parts_u64))
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(len)
            .max(last);
        let Some(cut) = line_start_at_or_after(file, nominal, len)? else {
            return Ok(None);
        };
        bounds.push(cut);
    }
    bounds.push(len);
    Ok(Some(bounds))
}

/// The offset just after the first `\n` at or after `from`, or `len` when none comes before it;
/// `None` when none comes within [`MAX_CUT_SEARCH`] bytes and the file goes on. A cut at
/// offset 0 or just after a `\n` is a line start already; that is what `from - 1` being a `\n`
/// means, so the search starts one byte earlier.
#[cfg(unix)]
fn line_start_at_or_after(file: &File, from: u64, len: u64) -> io::Result<Option<u64>> {
    let Some(start) = from.checked_sub(1) else {
        return Ok(Some(0));
    };
    let end = start.saturating_add(MAX_CUT_SEARCH).min(len);
    let (mut at, mut found) = (start, None);
    for_each_piece_of_span(file, (start, end), SEARCH_BUFFER_LEN, |piece| {
        if let Some(i) = memchr::memchr(b'\n', piece) {
            found = Some(at.saturating_add(u64::try_from(i).unwrap_or(u64::MAX)));
            return false;
        }
        at = at.saturating_add(u64::try_from(piece.len()).unwrap_or(u64::MAX));
        true
    })?;
    Ok(match found {
        Some(newline) => Some(newline.saturating_add(1).min(len)),
        // No line ends before the file does: the rest is the last line.
        None if at >= len => Some(len),
        None => None,
    })
}

/// The counts and durations of the lines from `start` to `end`, read `buffer_len` bytes at a
/// time; a file that ends sooner ends the span.
#[cfg(unix)]
fn count_span(
    format: LogFormat,
    keys: &LogKeys,
    file: &File,
    start: u64,
    end: u64,
    buffer_len: usize,
) -> io::Result<(LogCounts, LogDurations)> {
    let mut counter = AccessLogCounter::with_keys(format, keys.clone())
        .with_histogram()
        .skipping_stamps();
    for_each_piece_of_span(file, (start, end), buffer_len, |piece| {
        counter.feed(piece);
        true
    })?;
    Ok(counter.finish_timed())
}

/// Calls `each` with the bytes of `file` from `start` to `end`, in order, read `buffer_len`
/// bytes at a time, until `each` answers `false`; a file that ends sooner ends the span.
///
/// # Errors
///
/// A read error other than [`io::ErrorKind::Interrupted`].
pub(crate) fn for_each_piece_of_span(
    file: &File,
    (start, end): (u64, u64),
    buffer_len: usize,
    mut each: impl FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    let mut buffer = vec![0u8; buffer_len.max(1)];
    let mut at = start;
    while at < end {
        let want = usize::try_from(end.saturating_sub(at))
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let piece = buffer.get_mut(..want).unwrap_or_default();
        let n = read_at(file, piece, at)?;
        if n == 0 || !each(piece.get(..n).unwrap_or_default()) {
            break;
        }
        at = at.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
    Ok(())
}

/// One `pread` at `offset`, retried when interrupted.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buffer, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Not on this platform: parts are never cut, so nothing reads at an offset.
#[cfg(not(unix))]
pub(crate) fn read_at(_file: &File, _buffer: &mut [u8], _offset: u64) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}
