//! What recording one request costs with the Prometheus recorder installed: the work the
//! metering layer (`codex_pipe::server::metrics::meter`) does once per request, never per event.
//!
//! * `metrics/record_request`: the in-flight gauge up and down, the request counter, the three
//!   histograms and four token counters (`codex_pipe::metrics::record_request`).
//! * `metrics/record_request_and_log_line`: the same plus the usage-log line built and serialized
//!   (what the background writer then appends).
//!
//! Divide by the events of a response (a streamed answer is tens to thousands of events) for the
//! per-event share. Run: `cargo bench -p codex-pipe-benches --bench metrics`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use codex_pipe::metrics::{install, record_request, InFlight, RequestRecord};
use codex_pipe::usage_log::UsageLine;
use codex_pipe_protocols::Usage;
use criterion::{criterion_group, criterion_main, Criterion};

fn record() -> RequestRecord {
    RequestRecord {
        surface: "chat",
        model: "gpt-5.4".to_owned(),
        status: 200,
        key: Some(Arc::from("alice")),
        latency: Duration::from_millis(812),
        ttfb: Some(Duration::from_millis(95)),
        upstream_wait: Some(Duration::from_millis(94)),
        usage: Some(Usage {
            input_tokens: 1200,
            cached_input_tokens: 1024,
            output_tokens: 85,
            reasoning_output_tokens: 64,
            total_tokens: 1285,
        }),
    }
}

fn bench(c: &mut Criterion) {
    let _handle = install().expect("recorder");
    let mut g = c.benchmark_group("metrics");
    g.bench_function("record_request", |b| {
        b.iter(|| {
            let in_flight = InFlight::start("chat");
            record_request(black_box(&record()));
            drop(in_flight);
        })
    });
    let mut buf = Vec::with_capacity(512);
    g.bench_function("record_request_and_log_line", |b| {
        b.iter(|| {
            let in_flight = InFlight::start("chat");
            let r = record();
            record_request(black_box(&r));
            let line = UsageLine::new(&r, Some("work"), SystemTime::now());
            buf.clear();
            serde_json::to_writer(&mut buf, &line).expect("json");
            black_box(&buf);
            drop(in_flight);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
