//! Throughput of the access-log parser over generated in-memory logs, per format.
//!
//! `cargo bench -p post-deploy-core --bench access_log`

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use post_deploy_core::access_log::{AccessLogCounter, LogFormat, count_reader};

#[path = "../examples/gen_access_log.rs"]
#[allow(dead_code, reason = "the generator's command line is not used here")]
mod gen_access_log;

use gen_access_log::{Mix, generate};

/// Bytes of log per iteration: more than the caches hold.
const LEN: usize = 32 << 20;

fn main() {
    divan::main();
}

fn data(mix: &str) -> Vec<u8> {
    let mix = Mix::from_name(mix).unwrap_or(Mix::Mixed);
    generate(mix, 1, LEN)
}

fn counter(bencher: Bencher<'_, '_>, format: LogFormat, data: &[u8]) {
    bencher.counter(BytesCount::of_slice(data)).bench(|| {
        let mut counter = AccessLogCounter::new(format);
        counter.feed(black_box(data));
        counter.finish()
    });
}

/// `auto` over each kind of log.
#[divan::bench(args = ["mixed", "mixed-logfmt", "clf", "uvicorn", "json", "logfmt", "noise"], sample_count = 20)]
fn auto(bencher: Bencher<'_, '_>, mix: &str) {
    counter(bencher, LogFormat::Auto, &data(mix));
}

/// Each format named explicitly, over its own log.
#[divan::bench(args = ["clf", "uvicorn", "json"], sample_count = 20)]
fn exact(bencher: Bencher<'_, '_>, mix: &str) {
    let format = mix.parse().unwrap_or(LogFormat::Auto);
    counter(bencher, format, &data(mix));
}

/// The mixed log through `count_reader` (1 MiB reads, a partial line carried between them).
#[divan::bench(sample_count = 20)]
fn reader_mixed(bencher: Bencher<'_, '_>) {
    let data = data("mixed");
    bencher
        .counter(BytesCount::of_slice(&data))
        .bench(|| count_reader(LogFormat::Auto, black_box(&data[..])));
}

/// Lines of quotes that each open a would-be request (`"A "` repeated, then `" 500`), at three
/// lengths under the line limit: a linear scan takes twice as long for twice the length, a
/// scan quadratic in the quotes of a line four times. This replaces a test that could not fail
/// (it had no time bound); compare the three rows.
#[divan::bench(args = [100_000, 200_000, 300_000], sample_count = 10)]
fn quotes(bencher: Bencher<'_, '_>, n: usize) {
    let line = "\"A ".repeat(n) + "\" 500\n";
    bencher
        .counter(BytesCount::of_str(&line))
        .bench(|| count_reader(LogFormat::Auto, black_box(line.as_bytes())));
}
