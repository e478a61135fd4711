//! Reading ahead: one thread reads the next buffer while the caller counts the last one.
//!
//! Counting a log from a file spends about a quarter of its time in `read` itself (the copy
//! out of the page cache, or waiting on a pipe). On a machine with a second core that time
//! overlaps the counting: a scoped thread reads into a few recycled buffers and hands them
//! over in order, so the counter sees exactly the bytes, in exactly the order, a plain loop
//! would give it. Without a second thread (it could not be started) the plain loop runs.

use std::io::{self, Read};
use std::sync::{Mutex, mpsc};
use std::thread;

/// How many buffers are in flight: one being counted, one being filled, one ready.
const BUFFERS: usize = 3;

/// Calls `each` with every piece `reader` yields, in order, until its end; reads of
/// `buffer_len` bytes, retried when interrupted.
///
/// # Errors
///
/// The first read error other than [`io::ErrorKind::Interrupted`]; `each` has then seen
/// every piece before it.
pub(super) fn for_each_piece<R: Read + Send>(
    reader: R,
    buffer_len: usize,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    for_each_piece_while(reader, buffer_len, |piece| {
        each(piece);
        true
    })
}

/// [`for_each_piece`] until `each` answers `false` (the caller found what it needed, or an
/// error of its own): no further piece is read.
///
/// # Errors
///
/// As [`for_each_piece`].
pub(crate) fn for_each_piece_while<R: Read + Send>(
    reader: R,
    buffer_len: usize,
    mut each: impl FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    // Lent to the reader thread, or kept here when that cannot start.
    let reader = Mutex::new(reader);
    thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(BUFFERS);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
        let shared = &reader;
        let spawned = thread::Builder::new()
            .name("log reader".to_owned())
            .spawn_scoped(scope, move || {
                let Ok(mut source) = shared.lock() else {
                    let _ = full_tx.send(Err(io::Error::other("the log reader is unusable")));
                    return;
                };
                let mut made = 0usize;
                loop {
                    // A buffer the counter is done with, or a new one while fewer than
                    // BUFFERS exist.
                    let mut buffer = match empty_rx.try_recv() {
                        Ok(buffer) => buffer,
                        Err(_) if made < BUFFERS => {
                            made = made.saturating_add(1);
                            vec![0; buffer_len]
                        }
                        Err(_) => match empty_rx.recv() {
                            Ok(buffer) => buffer,
                            // The counter stopped.
                            Err(_) => return,
                        },
                    };
                    let read = read_once(&mut *source, &mut buffer);
                    let last = !matches!(read, Ok(n) if n > 0);
                    if full_tx.send(read.map(|n| (buffer, n))).is_err() || last {
                        return;
                    }
                }
            });
        if spawned.is_err() {
            // No second thread: the same reads, one after the other.
            drop(full_rx);
            let mut source = reader
                .lock()
                .map_err(|_| io::Error::other("the log reader is unusable"))?;
            return sequential_while(&mut *source, buffer_len, each);
        }
        for piece in full_rx {
            let (buffer, n) = piece?;
            if n == 0 {
                return Ok(());
            }
            if !each(buffer.get(..n).unwrap_or_default()) {
                return Ok(());
            }
            // The reader may have finished already; the buffer is then dropped.
            let _ = empty_tx.send(buffer);
        }
        // The reader thread ended without a last piece: it cannot, but say so rather than
        // count a log as shorter than it is.
        Err(io::Error::other("the log reader stopped early"))
    })
}

/// One read into `buffer`, retried when interrupted.
fn read_once(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// [`for_each_piece`] without a thread.
///
/// # Errors
///
/// As [`for_each_piece`].
pub(super) fn sequential(
    reader: &mut impl Read,
    buffer_len: usize,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    sequential_while(reader, buffer_len, |piece| {
        each(piece);
        true
    })
}

/// [`sequential`] until `each` answers `false`.
///
/// # Errors
///
/// As [`for_each_piece`].
fn sequential_while(
    reader: &mut impl Read,
    buffer_len: usize,
    mut each: impl FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    let mut buffer = vec![0; buffer_len];
    loop {
        let n = read_once(reader, &mut buffer)?;
        if n == 0 || !each(buffer.get(..n).unwrap_or_default()) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data` in pieces of the given sizes (cycled), interrupted before every third
    /// read, and fails once after `fail_after` bytes when set.
    struct Pieces<'a> {
        data: &'a [u8],
        sizes: &'a [usize],
        reads: usize,
        fail_after: Option<usize>,
        given: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            if self.reads.is_multiple_of(3) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.fail_after.is_some_and(|at| self.given >= at) {
                return Err(io::Error::other("disk gone"));
            }
            let size = self.sizes[self.reads % self.sizes.len()].min(buf.len());
            let n = size.min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.given += n;
            Ok(n)
        }
    }

    fn pieces<'a>(data: &'a [u8], sizes: &'a [usize], fail_after: Option<usize>) -> Pieces<'a> {
        Pieces {
            data,
            sizes,
            reads: 0,
            fail_after,
            given: 0,
        }
    }

    #[test]
    fn every_byte_arrives_once_and_in_order() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for sizes in [&[1usize][..], &[7, 4096, 13], &[65_536], &[100_000, 1, 3]] {
            let mut seen = Vec::new();
            for_each_piece(pieces(&data, sizes, None), 8192, |p| {
                assert!(!p.is_empty());
                seen.extend_from_slice(p);
            })
            .unwrap();
            assert_eq!(seen, data, "{sizes:?}");
        }
    }

    #[test]
    fn a_read_error_ends_it_after_every_earlier_piece() {
        let data = vec![b'x'; 50_000];
        let mut seen = 0usize;
        let err = for_each_piece(pieces(&data, &[1000], Some(20_000)), 4096, |p| {
            seen += p.len()
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
        assert_eq!(seen, 20_000);
    }

    #[test]
    fn the_plain_loop_reads_the_same() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 7) as u8).collect();
        let mut seen = Vec::new();
        let mut reader = pieces(&data, &[333], None);
        sequential(&mut reader, 1024, |p| seen.extend_from_slice(p)).unwrap();
        assert_eq!(seen, data);
    }

    #[test]
    fn an_empty_reader_gives_nothing() {
        let mut calls = 0;
        for_each_piece(io::empty(), 16, |_| calls += 1).unwrap();
        assert_eq!(calls, 0);
    }
}
