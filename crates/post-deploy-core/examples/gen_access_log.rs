//! Writes a synthetic access log, for the access-log parser's benchmarks.
//!
//! ```text
//! cargo run --release --example gen_access_log -p post-deploy-core -- \
//!     [--size 512M] [--mix mixed|mixed-logfmt|clf|uvicorn|json|logfmt|noise] [--seed 1] [--out FILE]
//!     [--stamps]
//! ```
//!
//! `--stamps` writes each line as `docker logs --timestamps` does, after an RFC 3339 stamp
//! and a space, one line a millisecond from 2026-12-07T00:00:00Z (for `replay`).
//!
//! `mixed` (the default) is about 35% CLF/Combined (nginx, Apache, gunicorn), 30% uvicorn,
//! 30% JSON lines and 5% noise (application log lines, tracebacks, JSON without a status).
//! `mixed-logfmt` is about 30% CLF/Combined, 25% uvicorn, 25% JSON, 15% logfmt (Heroku's
//! router and Rails' lograge) and 5% noise.
//! About 3% of requests answer 5xx. The output is the same for the same seed and size. Writes
//! to FILE or stdout, and prints on stderr, as JSON, the counts the parser must find in it.
//!
//! The benchmark (`benches/access_log.rs`) includes this file as a module for the generator.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::process::ExitCode;

/// Which lines to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mix {
    /// All formats and some noise.
    Mixed,
    /// Common and Combined Log Format only.
    Clf,
    /// uvicorn access lines only.
    Uvicorn,
    /// JSON access lines only.
    Json,
    /// Only lines that are not access lines.
    Noise,
    /// logfmt access lines only.
    Logfmt,
    /// All formats, logfmt included, and some noise.
    MixedLogfmt,
}

impl Mix {
    /// Every mix, with its name.
    pub(crate) const ALL: [(&'static str, Self); 7] = [
        ("mixed", Self::Mixed),
        ("clf", Self::Clf),
        ("uvicorn", Self::Uvicorn),
        ("json", Self::Json),
        ("noise", Self::Noise),
        ("logfmt", Self::Logfmt),
        ("mixed-logfmt", Self::MixedLogfmt),
    ];

    /// The mix called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, mix)| *mix)
    }
}

/// The counts a correct parser finds in what was generated (in `auto` format).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    /// Access lines.
    pub(crate) total: u64,
    /// Access lines with a 5xx status.
    pub(crate) errors_5xx: u64,
    /// Other non-blank lines.
    pub(crate) unparsed: u64,
}

/// A deterministic generator of log lines.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    state: u64,
    mix: Mix,
    seconds: u64,
    line: String,
    /// What the lines generated so far must count as.
    pub(crate) expected: Expected,
}

const METHODS: [&str; 8] = ["GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"];
const PATHS: [&str; 10] = [
    "/",
    "/health",
    "/api/v1/orders",
    "/api/v1/orders/{id}",
    "/api/v1/users/{id}/profile",
    "/static/js/app.{id}.js",
    "/search?q=shoes&page={id}",
    "/api/v1/cart/{id}/items",
    "/metrics",
    "/favicon.ico",
];
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
    "kube-probe/1.29",
    "python-requests/2.31.0",
];
const REFERERS: [&str; 3] = [
    "-",
    "https://shop.example.com/",
    "https://shop.example.com/cart",
];
const NOISE: [&str; 7] = [
    "WARN  worker: job {id} retry 2/5 after timeout (elapsed 30.0s)",
    "Traceback (most recent call last):",
    "  File \"/app/handlers/orders.py\", line 88, in create_order",
    "    raise UpstreamError(\"payment service unavailable\")",
    "{\"time\":\"2024-05-01T12:00:00Z\",\"level\":\"debug\",\"msg\":\"cache hit\",\"key\":\"user:{id}\"}",
    "[2024-05-01 12:00:00 +0000] [7] [INFO] Booting worker with pid: {id}",
    "db: pool exhausted, waiting for a connection (in use 20/20, queued {id})",
];

impl Generator {
    /// A generator of `mix` lines, seeded with `seed`.
    pub(crate) fn new(mix: Mix, seed: u64) -> Self {
        Self {
            state: seed,
            mix,
            seconds: 0,
            line: String::new(),
            expected: Expected::default(),
        }
    }

    /// A random number (splitmix64).
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ z.wrapping_shr(30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ z.wrapping_shr(27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ z.wrapping_shr(31)
    }

    /// A random number below `n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next().checked_rem(n).unwrap_or(0)
    }

    /// A random element of `items`.
    fn pick<T: Copy + Default>(&mut self, items: &[T]) -> T {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(index).copied().unwrap_or_default()
    }

    /// A status: about 3% 5xx.
    fn status(&mut self) -> u16 {
        match self.below(100) {
            0..=2 => self.pick(&[500, 502, 503, 504]),
            3..=6 => self.pick(&[301, 302, 304]),
            7..=14 => self.pick(&[400, 401, 403, 404, 404, 404, 429, 499]),
            _ => self.pick(&[200, 200, 200, 200, 201, 204]),
        }
    }

    /// A request target with a random id.
    fn path(&mut self) -> String {
        let template = self.pick(&PATHS);
        let id = self.below(100_000);
        template.replace("{id}", &id.to_string())
    }

    fn ip(&mut self) -> String {
        let a = self.below(256);
        let b = self.below(256);
        let c = self.below(256);
        format!("10.{a}.{b}.{c}")
    }

    /// Day, hour, minute and second of the current line; time goes on a little every line.
    fn clock(&mut self) -> (u64, u64, u64, u64) {
        self.seconds = self.seconds.wrapping_add(self.below(2));
        let s = self.seconds;
        let day = s
            .checked_div(86_400)
            .unwrap_or(0)
            .checked_rem(28)
            .unwrap_or(0)
            .wrapping_add(1);
        let hour = s
            .checked_div(3600)
            .unwrap_or(0)
            .checked_rem(24)
            .unwrap_or(0);
        let minute = s.checked_div(60).unwrap_or(0).checked_rem(60).unwrap_or(0);
        (day, hour, minute, s.checked_rem(60).unwrap_or(0))
    }

    fn count_access(&mut self, status: u16) {
        self.expected.total = self.expected.total.wrapping_add(1);
        self.expected.errors_5xx = self
            .expected
            .errors_5xx
            .wrapping_add(u64::from(status >= 500));
    }

    fn clf(&mut self) {
        let ip = self.ip();
        let (d, h, m, s) = self.clock();
        let method = self.pick(&METHODS);
        let mut path = self.path();
        if self.below(50) == 0 {
            // Apache escapes a quote in the request.
            path.push_str("?q=\\\"x\\\"");
        }
        let status = self.status();
        let bytes = self.below(50_000);
        let user = if self.below(10) == 0 { "frank" } else { "-" };
        let _ = write!(
            self.line,
            "{ip} - {user} [{d:02}/May/2024:{h:02}:{m:02}:{s:02} +0000] \"{method} {path} HTTP/1.1\" {status} {bytes}"
        );
        if self.below(5) != 0 {
            let referer = self.pick(&REFERERS);
            let agent = self.pick(&AGENTS);
            let _ = write!(self.line, " \"{referer}\" \"{agent}\"");
        }
        self.count_access(status);
    }

    fn uvicorn(&mut self) {
        let ip = self.ip();
        let port = self.below(30_000).wrapping_add(32_768);
        let method = self.pick(&METHODS);
        let path = self.path();
        let status = self.status();
        let phrase = match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            404 => "Not Found",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            _ => "",
        };
        if self.below(5) == 0 {
            let (_, h, m, s) = self.clock();
            let _ = write!(
                self.line,
                "2024-05-01 {h:02}:{m:02}:{s:02},123 INFO uvicorn.access: "
            );
        } else {
            self.line.push_str("INFO:     ");
        }
        let _ = write!(
            self.line,
            "{ip}:{port} - \"{method} {path} HTTP/1.1\" {status} {phrase}"
        );
        self.count_access(status);
    }

    fn json(&mut self) {
        let (d, h, m, s) = self.clock();
        let method = self.pick(&METHODS);
        let path = self.path();
        let status = self.status();
        let ip = self.ip();
        let agent = self.pick(&AGENTS);
        let millis = self.below(1000);
        let duration = self.below(200_000);
        let request_id = self.next();
        let level = if status >= 500 { "error" } else { "info" };
        let _ = write!(
            self.line,
            "{{\"time\":\"2024-05-{d:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z\",\"level\":\"{level}\",\"logger\":\"http\",\"msg\":\"request finished\",\"method\":\"{method}\",\"path\":\"{path}\","
        );
        match self.below(10) {
            0 | 1 => {
                let _ = write!(self.line, "\"status_code\":\"{status}\",");
            }
            2 => {
                // A nested status that must not count, then the real one.
                let _ = write!(
                    self.line,
                    "\"upstream\":{{\"status\":502,\"addr\":\"10.0.0.9:8000\"}},\"status\":{status},"
                );
            }
            _ => {
                let _ = write!(self.line, "\"status\":{status},");
            }
        }
        let _ = write!(
            self.line,
            "\"duration_ms\":{}.{:03},\"remote_addr\":\"{ip}\",\"user_agent\":\"{agent}\",\"request_id\":\"{request_id:016x}\"}}",
            duration.checked_div(1000).unwrap_or(0),
            duration.checked_rem(1000).unwrap_or(0),
        );
        self.count_access(status);
    }

    fn logfmt(&mut self) {
        let method = self.pick(&METHODS);
        let path = self.path();
        let status = self.status();
        let millis = self.below(200_000);
        if self.below(2) == 0 {
            // Heroku's router.
            let ip = self.ip();
            let request_id = self.next();
            let (at, code) = if status >= 500 {
                ("error", " code=H12 desc=\"Request timeout\"")
            } else {
                ("info", "")
            };
            let service = millis.checked_div(1000).unwrap_or(0);
            let bytes = self.below(50_000);
            let _ = write!(
                self.line,
                "at={at}{code} method={method} path=\"{path}\" host=app.herokuapp.com request_id={request_id:016x} fwd=\"{ip}\" dyno=web.1 connect=0ms service={service}ms status={status} bytes={bytes} protocol=https",
            );
        } else {
            // Rails' lograge.
            let allocations = self.below(100_000);
            let (whole, frac) = (
                millis.checked_div(1000).unwrap_or(0),
                millis.checked_rem(100).unwrap_or(0),
            );
            let (view, view_frac, db, db_frac) = (
                self.below(100),
                self.below(100),
                self.below(100),
                self.below(100),
            );
            let _ = write!(
                self.line,
                "method={method} path={path} format=html controller=PagesController action=show status={status} allocations={allocations} duration={whole}.{frac:02} view={view}.{view_frac:02} db={db}.{db_frac:02}",
            );
        }
        self.count_access(status);
    }

    fn noise(&mut self) {
        let template = self.pick(&NOISE);
        let id = self.below(100_000);
        self.line
            .push_str(&template.replace("{id}", &id.to_string()));
        self.expected.unparsed = self.expected.unparsed.wrapping_add(1);
    }

    /// Appends one line, with its `\n`, to `out`.
    pub(crate) fn line(&mut self, out: &mut Vec<u8>) {
        self.line.clear();
        match self.mix {
            Mix::Clf => self.clf(),
            Mix::Uvicorn => self.uvicorn(),
            Mix::Json => self.json(),
            Mix::Noise => self.noise(),
            Mix::Logfmt => self.logfmt(),
            Mix::Mixed => match self.below(100) {
                0..=34 => self.clf(),
                35..=64 => self.uvicorn(),
                65..=94 => self.json(),
                _ => self.noise(),
            },
            Mix::MixedLogfmt => match self.below(100) {
                0..=29 => self.clf(),
                30..=54 => self.uvicorn(),
                55..=79 => self.json(),
                80..=94 => self.logfmt(),
                _ => self.noise(),
            },
        }
        out.extend_from_slice(self.line.as_bytes());
        out.push(b'\n');
    }

    /// Appends whole lines to `out` until it holds at least `len` bytes.
    pub(crate) fn fill(&mut self, out: &mut Vec<u8>, len: usize) {
        while out.len() < len {
            self.line(out);
        }
    }
}

/// About `len` bytes of `mix` lines (whole lines; a little more than `len`).
#[allow(dead_code, reason = "used by the benchmark, which includes this file")]
pub(crate) fn generate(mix: Mix, seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.saturating_add(1024));
    Generator::new(mix, seed).fill(&mut out, len);
    out
}

/// A size such as `4096`, `64K`, `512M` or `1G` (binary units).
fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (text.get(..text.len().checked_sub(1)?)?, 10),
        b'M' | b'm' => (text.get(..text.len().checked_sub(1)?)?, 20),
        b'G' | b'g' => (text.get(..text.len().checked_sub(1)?)?, 30),
        _ => (text, 0),
    };
    digits
        .parse::<u64>()
        .ok()?
        .checked_mul(1u64.checked_shl(shift)?)
}

fn run() -> Result<(), String> {
    let mut size = 512u64 << 20;
    let mut mix = Mix::Mixed;
    let mut seed = 1;
    let mut out_path = None;
    let mut stamps = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--size" => size = parse_size(&value()?).ok_or("--size: not a size like 512M")?,
            "--mix" => {
                let name = value()?;
                mix =
                    Mix::from_name(&name).ok_or_else(|| format!("--mix: unknown mix {name:?}"))?;
            }
            "--seed" => seed = value()?.parse().map_err(|_| "--seed: not a number")?,
            "--out" | "-o" => out_path = Some(value()?),
            "--stamps" => stamps = true,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let size = usize::try_from(size).map_err(|_| "--size: too large")?;
    let mut out: Box<dyn io::Write> = match &out_path {
        Some(path) => Box::new(fs_err::File::create(path).map_err(|e| e.to_string())?),
        None => Box::new(io::stdout().lock()),
    };
    let mut generator = Generator::new(mix, seed);
    let mut block = Vec::with_capacity(5 << 20);
    let mut written = 0usize;
    let mut stamped = Vec::new();
    let mut line_number = 0i64;
    while written < size {
        block.clear();
        generator.fill(&mut block, (4usize << 20).min(size.saturating_sub(written)));
        let block = if stamps {
            stamped.clear();
            for line in block.split_inclusive(|b| *b == b'\n') {
                let at = chrono::DateTime::from_timestamp_millis(
                    1_796_601_600_000_i64.saturating_add(line_number),
                )
                .unwrap_or_default();
                line_number = line_number.saturating_add(1);
                let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
                stamped.extend_from_slice(stamp.as_bytes());
                stamped.push(b' ');
                stamped.extend_from_slice(line);
            }
            &stamped
        } else {
            &block
        };
        out.write_all(block).map_err(|e| e.to_string())?;
        written = written.saturating_add(block.len());
    }
    out.flush().map_err(|e| e.to_string())?;
    let Expected {
        total,
        errors_5xx,
        unparsed,
    } = generator.expected;
    let _ = writeln!(
        io::stderr().lock(),
        "{{\"bytes\":{written},\"total\":{total},\"errors_5xx\":{errors_5xx},\"unparsed\":{unparsed}}}"
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(io::stderr().lock(), "gen_access_log: {message}");
            ExitCode::from(2)
        }
    }
}
