//! Framing throughput on a ~10 MiB upstream Responses event stream (`sse_corpus`), fed in
//! 64 B, 1.5 KiB and 16 KiB reads.
//!
//! * `sse/<chunk>`: `SseDecoder` (the `Decoder` loop a `FramedRead` runs, and the
//!   `sse_events()` stream adapter) vs `eventsource-stream` on the same chunks, vs a bare
//!   `memchr` pass for `\n` over the same chunks (the physical bound of any line scanner), and
//!   that pass after copying each read into a `BytesMut` (the bound behind `Decoder`).
//! * `ndjson/<chunk>`: `NdjsonDecoder` vs `tokio_util::codec::LinesCodec` on the same events'
//!   JSON, one per line.
//!
//! Run: `cargo bench -p codex-pipe-benches --bench framing`
//! (add `-- --warm-up-time 1 --measurement-time 3` for a quicker run).

use std::fmt::Debug;
use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use codex_pipe_benches::sse_corpus::{self, Corpus};
use codex_pipe_engine::{ByteStreamExt, NdjsonDecoder, SseDecoder};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures::StreamExt;
use tokio_util::codec::{Decoder, LinesCodec};

const CHUNK_SIZES: [(usize, &str); 3] = [(64, "64B"), (1536, "1.5KiB"), (16 * 1024, "16KiB")];

/// `bytes` cut into reads of `size` bytes (slices of one shared buffer, as a network body).
fn reads(bytes: &Bytes, size: usize) -> Vec<Bytes> {
    (0..bytes.len())
        .step_by(size)
        .map(|start| bytes.slice(start..(start + size).min(bytes.len())))
        .collect()
}

/// The loop `FramedRead` runs: append each read, decode until more bytes are needed.
fn decode_reads<D>(mut decoder: D, reads: &[Bytes]) -> usize
where
    D: Decoder,
    D::Error: Debug,
{
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut frames = 0;
    for read in reads {
        buf.extend_from_slice(read);
        while let Some(frame) = decoder.decode(&mut buf).expect("corpus decodes") {
            black_box(&frame);
            frames += 1;
        }
    }
    while let Some(frame) = decoder.decode_eof(&mut buf).expect("corpus decodes") {
        black_box(&frame);
        frames += 1;
    }
    frames
}

fn upstream(reads: &[Bytes]) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + '_ {
    futures::stream::iter(reads.iter().cloned().map(Ok))
}

fn sse_events_stream(reads: &[Bytes]) -> usize {
    futures::executor::block_on(upstream(reads).sse_events().fold(0, |n, event| {
        black_box(event.expect("corpus decodes"));
        async move { n + 1 }
    }))
}

fn eventsource_stream(reads: &[Bytes]) -> usize {
    futures::executor::block_on(eventsource_stream::EventStream::new(upstream(reads)).fold(
        0,
        |n, event| {
            black_box(event.expect("corpus decodes"));
            async move { n + 1 }
        },
    ))
}

fn memchr_lines(reads: &[Bytes]) -> usize {
    reads
        .iter()
        .map(|read| memchr::memchr_iter(b'\n', read).count())
        .sum()
}

/// A `memchr` pass that stops at every line end (`memchr_iter` consumed one position at a time,
/// so it cannot use the vectorised counting loop `count()` has): the bound for a scanner that
/// visits each line, as every SSE parser must.
fn memchr_each_line(reads: &[Bytes]) -> usize {
    let mut lines = 0;
    for read in reads {
        for eol in memchr::memchr_iter(b'\n', read) {
            black_box(eol);
            lines += 1;
        }
    }
    lines
}

/// The cost of the output alone: each read copied into a `BytesMut` and one zero-copy `Bytes`
/// split off and dropped per event, at the event ends of the corpus found beforehand (no
/// scanning at all). Any decoder that yields `Bytes` slices of its read buffer pays this.
fn split_only(reads: &[Bytes], ends: &[Vec<usize>]) -> usize {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut events = 0;
    for (read, ends) in reads.iter().zip(ends) {
        buf.extend_from_slice(read);
        for &end in ends {
            black_box(buf.split_to(end).freeze());
            events += 1;
        }
    }
    events
}

/// For [`split_only`]: per read, the lengths to split off after appending it (each event's
/// length, ending with its blank line, once the read that completes it has arrived).
fn event_ends(sse: &[u8], reads: &[Bytes]) -> Vec<Vec<usize>> {
    let mut ends = Vec::with_capacity(reads.len());
    let mut offset = 0;
    let mut next = memchr::memmem::find_iter(sse, b"\n\n")
        .map(|at| at + 2)
        .peekable();
    let mut start = 0;
    for read in reads {
        offset += read.len();
        let mut lens = Vec::new();
        while let Some(&end) = next.peek().filter(|&&end| end <= offset) {
            lens.push(end - start);
            start = end;
            next.next();
        }
        ends.push(lens);
    }
    ends
}

/// The same pass after copying each read into a `BytesMut`, as every `Decoder` receives its
/// input: the bound for a framer behind the `tokio_util` `Decoder` interface.
fn copy_memchr_lines(reads: &[Bytes]) -> usize {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut lines = 0;
    for read in reads {
        buf.extend_from_slice(read);
        lines += memchr::memchr_iter(b'\n', &buf).count();
        buf.clear();
    }
    lines
}

fn corpus() -> (Corpus, Bytes, Bytes) {
    let corpus = sse_corpus::responses_stream(sse_corpus::DEFAULT_BYTES);
    let sse = Bytes::from(corpus.sse.clone());
    let ndjson = Bytes::from(corpus.ndjson.clone());
    (corpus, sse, ndjson)
}

fn sse(c: &mut Criterion) {
    let (corpus, sse, _) = corpus();
    for (size, label) in CHUNK_SIZES {
        let reads = reads(&sse, size);
        // Every contender sees every event before anything is timed.
        assert_eq!(decode_reads(SseDecoder::new(), &reads), corpus.events);
        assert_eq!(sse_events_stream(&reads), corpus.events);
        assert_eq!(eventsource_stream(&reads), corpus.events);

        let mut group = c.benchmark_group(format!("sse/{label}"));
        group.throughput(Throughput::Bytes(sse.len() as u64));
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("SseDecoder", "decode"), |b| {
            b.iter(|| decode_reads(SseDecoder::new(), &reads));
        });
        group.bench_function(BenchmarkId::new("SseDecoder", "sse_events"), |b| {
            b.iter(|| sse_events_stream(&reads));
        });
        group.bench_function(BenchmarkId::new("eventsource-stream", "stream"), |b| {
            b.iter(|| eventsource_stream(&reads));
        });
        group.bench_function(BenchmarkId::new("memchr", "lf"), |b| {
            b.iter(|| memchr_lines(&reads));
        });
        group.bench_function(BenchmarkId::new("memchr", "copy+lf"), |b| {
            b.iter(|| copy_memchr_lines(&reads));
        });
        group.bench_function(BenchmarkId::new("memchr", "each-lf"), |b| {
            b.iter(|| memchr_each_line(&reads));
        });
        let ends = event_ends(&sse, &reads);
        assert_eq!(split_only(&reads, &ends), corpus.events);
        group.bench_function(BenchmarkId::new("floor", "copy+split"), |b| {
            b.iter(|| split_only(&reads, &ends));
        });
        group.finish();
    }
}

fn ndjson(c: &mut Criterion) {
    let (corpus, _, ndjson) = corpus();
    for (size, label) in CHUNK_SIZES {
        let reads = reads(&ndjson, size);
        assert_eq!(decode_reads(NdjsonDecoder::new(), &reads), corpus.events);
        assert_eq!(decode_reads(LinesCodec::new(), &reads), corpus.events);

        let mut group = c.benchmark_group(format!("ndjson/{label}"));
        group.throughput(Throughput::Bytes(ndjson.len() as u64));
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("NdjsonDecoder", "decode"), |b| {
            b.iter(|| decode_reads(NdjsonDecoder::new(), &reads));
        });
        group.bench_function(BenchmarkId::new("LinesCodec", "decode"), |b| {
            b.iter(|| decode_reads(LinesCodec::new(), &reads));
        });
        group.finish();
    }
}

criterion_group!(benches, sse, ndjson);
criterion_main!(benches);
