//! A tiny scripted HTTP/1.1 server on loopback for adapter tests: std `TcpListener` on
//! `127.0.0.1:0`, one thread per connection, and a behaviour per server (answer, stay silent,
//! trickle, reset, send garbage...). It records the requests it read and the body bytes it sent.

#![allow(dead_code, reason = "shared by several test files; each uses a part")]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// `GET`, `POST`...
    pub(crate) method: String,
    /// The request target: path and query.
    pub(crate) target: String,
    /// Header names lower-cased, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    requests: Mutex<Vec<Request>>,
    body_sent: AtomicU64,
    accepted: AtomicUsize,
    finished: AtomicUsize,
}

/// One accepted connection, handed to the behaviour.
pub(crate) struct Conn {
    stream: TcpStream,
    shared: Arc<Shared>,
}

impl Conn {
    /// Reads one request (head, then a `Content-Length` body) and records it.
    pub(crate) fn read_request(&mut self) -> Option<Request> {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .ok()?;
        let mut buf = Vec::new();
        let mut chunk = [0_u8; 4096];
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if buf.len() > 1 << 20 {
                return None;
            }
            let n = self.stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_owned();
        let target = first.next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end..].to_vec();
        while body.len() < len {
            let n = self.stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
        let request = Request {
            method,
            target,
            headers,
            body,
        };
        self.shared.requests.lock().unwrap().push(request.clone());
        Some(request)
    }

    /// Writes `bytes` (not counted as body). False when the peer is gone.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> bool {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .is_ok()
    }

    /// Writes body bytes and counts them. False when the peer is gone.
    pub(crate) fn write_body(&mut self, bytes: &[u8]) -> bool {
        let ok = self.write(bytes);
        if ok {
            self.shared
                .body_sent
                .fetch_add(bytes.len() as u64, Ordering::SeqCst);
        }
        ok
    }

    /// Whether the server is being dropped.
    pub(crate) fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Keeps the connection open, saying nothing, until the peer closes it or the server stops.
    pub(crate) fn hold_silent(&mut self) {
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(50)));
        let mut sink = [0_u8; 1024];
        while !self.stopping() {
            match self.stream.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }

    /// Sleeps in small steps; false when the server stops first.
    pub(crate) fn pause(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.stopping() {
                return false;
            }
            thread::sleep(Duration::from_millis(5).min(d));
        }
        true
    }

    /// The raw stream, for behaviours that need it.
    pub(crate) fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// A running server; stopped when dropped.
pub(crate) struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    /// Starts a server that runs `behaviour` on every connection it accepts.
    pub(crate) fn start(behaviour: impl Fn(&mut Conn) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let behaviour = Arc::new(behaviour);
        let accept_shared = Arc::clone(&shared);
        thread::spawn(move || {
            while !accept_shared.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        accept_shared.accepted.fetch_add(1, Ordering::SeqCst);
                        let shared = Arc::clone(&accept_shared);
                        let behaviour = Arc::clone(&behaviour);
                        thread::spawn(move || {
                            let mut conn = Conn {
                                stream,
                                shared: Arc::clone(&shared),
                            };
                            behaviour(&mut conn);
                            drop(conn);
                            shared.finished.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { addr, shared }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The requests read so far.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Body bytes written so far (by [`Conn::write_body`]).
    pub(crate) fn body_bytes_sent(&self) -> u64 {
        self.shared.body_sent.load(Ordering::SeqCst)
    }

    /// Waits until every accepted connection's behaviour has returned; false on `timeout`.
    pub(crate) fn wait_connections_done(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            let accepted = self.shared.accepted.load(Ordering::SeqCst);
            if self.shared.finished.load(Ordering::SeqCst) >= accepted {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// A port on loopback that nothing listens on: bound, then let go.
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// --- Scripted behaviours ---------------------------------------------------------------

/// Reads the request, answers `status` with `headers` and `body` (Content-Length added), closes.
pub(crate) fn respond(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> impl Fn(&mut Conn) + Send + Sync + 'static {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let body = body.to_vec();
    move |c: &mut Conn| {
        if c.read_request().is_some() && c.write(head.as_bytes()) {
            c.write_body(&body);
        }
    }
}

/// Reads the request and never answers.
pub(crate) fn silent() -> impl Fn(&mut Conn) + Send + Sync + 'static {
    |c: &mut Conn| {
        let _ = c.read_request();
        c.hold_silent();
    }
}

/// A 200 with a `Content-Length` body of `len` bytes, sent in 64 KiB writes until the peer goes.
pub(crate) fn big_body(len: u64) -> impl Fn(&mut Conn) + Send + Sync + 'static {
    move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let _ = c.stream().set_write_timeout(Some(Duration::from_secs(10)));
        if !c.write(format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").as_bytes()) {
            return;
        }
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = len;
        while left > 0 && !c.stopping() {
            let n = left.min(chunk.len() as u64);
            if !c.write_body(&chunk[..n as usize]) {
                return;
            }
            left -= n;
        }
    }
}

/// A 200 with a chunked body that never ends.
pub(crate) fn endless_chunked() -> impl Fn(&mut Conn) + Send + Sync + 'static {
    |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let _ = c.stream().set_write_timeout(Some(Duration::from_secs(10)));
        if !c.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") {
            return;
        }
        let mut chunk = b"4000\r\n".to_vec();
        chunk.extend(std::iter::repeat_n(b'y', 0x4000));
        chunk.extend_from_slice(b"\r\n");
        while !c.stopping() && c.write_body(&chunk) {}
    }
}

/// A 200 whose body comes one byte every `every`, forever.
pub(crate) fn trickle(every: Duration) -> impl Fn(&mut Conn) + Send + Sync + 'static {
    move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        if !c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n") {
            return;
        }
        while c.pause(every) && c.write_body(b"z") {}
    }
}

/// Reads the request, writes `bytes` as the whole answer, closes.
pub(crate) fn raw(bytes: &'static [u8]) -> impl Fn(&mut Conn) + Send + Sync + 'static {
    move |c: &mut Conn| {
        if c.read_request().is_some() {
            c.write(bytes);
        }
    }
}

/// Reads the request, answers with a status line and `size` bytes of headers.
pub(crate) fn huge_headers(size: usize) -> impl Fn(&mut Conn) + Send + Sync + 'static {
    move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let _ = c.stream().set_write_timeout(Some(Duration::from_secs(10)));
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        let line = format!("X-Filler: {}\r\n", "f".repeat(1000));
        while head.len() < size {
            head.extend_from_slice(line.as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        c.write(&head);
    }
}

/// Accepts and resets: closes without reading the request, which makes the kernel send RST.
pub(crate) fn reset() -> impl Fn(&mut Conn) + Send + Sync + 'static {
    |c: &mut Conn| {
        // Let the request arrive unread: closing a socket with unread data sends RST.
        c.pause(Duration::from_millis(200));
    }
}

/// Reads the request and closes without a word.
pub(crate) fn close_after_request() -> impl Fn(&mut Conn) + Send + Sync + 'static {
    |c: &mut Conn| {
        let _ = c.read_request();
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}
