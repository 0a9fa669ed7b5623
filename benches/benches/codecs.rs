//! The codec chain on a 60 s 44.1 kHz stereo 128 kbps MP3 (`testdata/large/bench_60s.mp3`, made by
//! `scripts/gen-large-audio`), against ffmpeg doing the same job in the same run:
//!
//! - `mp3_to_wav16k`: decode → mono → 16 kHz → WAV s16le (ffmpeg `-ac 1 -ar 16000 -c:a pcm_s16le`)
//! - `mp3_to_opus24k`: decode → mono → 24 kHz → Ogg Opus 24 kb/s, complexity 5
//!   (ffmpeg `-ac 1 -ar 24000 -c:a libopus -b:a 24k -compression_level 5`)
//!
//! - `mp3_to_opus24k_segments`: the same, cut at pauses into segments of 4–10 s (each its own
//!   Ogg Opus file), what long audio costs over the single chain
//!
//! Throughput is in input bytes. ffmpeg runs as a process writing to a pipe that is drained,
//! which is how it would be used in the same place.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use codex_pipe_codecs::{
    CodecError, EncodedSegment, Input, OpusSettings, SegmentOptions, SegmentSink, Splitter, Target,
    TranscodeOptions, Transcoder,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench_input() -> PathBuf {
    let path = codex_pipe_benches::testdata("large/bench_60s.mp3");
    if !path.exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen-large-audio");
        let status = Command::new("bash")
            .arg(script)
            .status()
            .expect("run gen-large-audio");
        assert!(status.success(), "scripts/gen-large-audio failed");
    }
    path
}

fn ours(path: &Path, opts: &TranscodeOptions) -> u64 {
    let file = File::open(path).expect("bench input");
    let chain = Transcoder::open(Input::File(file), opts).expect("open");
    let mut sink = std::io::sink();
    chain.run(&mut sink).expect("run").bytes_out
}

/// Counts the encoded bytes of every segment.
struct Count(u64);

impl SegmentSink for Count {
    fn segment(&mut self, segment: EncodedSegment) -> Result<(), CodecError> {
        self.0 += segment.bytes.len() as u64;
        Ok(())
    }
}

fn ours_segmented(path: &Path, opts: &TranscodeOptions) -> u64 {
    let file = File::open(path).expect("bench input");
    let bounds = SegmentOptions {
        min_seconds: 4.0,
        max_seconds: 10.0,
    };
    let splitter = Splitter::open(Input::File(file), opts, bounds).expect("open");
    let mut count = Count(0);
    splitter.run(&mut count).expect("run");
    count.0
}

fn ffmpeg(path: &Path, args: &[&str]) -> u64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(path)
        .args(args)
        .arg("pipe:1")
        .stdout(Stdio::piped())
        .output()
        .expect("ffmpeg is installed (scripts/setup)");
    assert!(out.status.success(), "ffmpeg failed");
    out.stdout.len() as u64
}

fn codec_chain(c: &mut Criterion) {
    let path = bench_input();
    let len = std::fs::metadata(&path).expect("bench input").len();
    let wav = TranscodeOptions {
        target: Target::Wav,
        sample_rate: 16_000,
        ..TranscodeOptions::default()
    };
    let opus = TranscodeOptions {
        target: Target::Opus,
        sample_rate: 24_000,
        opus: OpusSettings {
            bitrate: 24_000,
            complexity: 5,
        },
        ..TranscodeOptions::default()
    };
    let mut group = c.benchmark_group("codec_chain_60s_mp3");
    group.throughput(Throughput::Bytes(len));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("mp3_to_wav16k/codex-pipe", |b| b.iter(|| ours(&path, &wav)));
    group.bench_function("mp3_to_wav16k/ffmpeg", |b| {
        b.iter(|| {
            ffmpeg(
                &path,
                &["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav"],
            )
        })
    });
    group.bench_function("mp3_to_opus24k/codex-pipe", |b| {
        b.iter(|| ours(&path, &opus))
    });
    group.bench_function("mp3_to_opus24k_segments/codex-pipe", |b| {
        b.iter(|| ours_segmented(&path, &opus))
    });
    group.bench_function("mp3_to_opus24k/ffmpeg", |b| {
        b.iter(|| {
            ffmpeg(
                &path,
                &[
                    "-ac",
                    "1",
                    "-ar",
                    "24000",
                    "-c:a",
                    "libopus",
                    "-b:a",
                    "24k",
                    "-compression_level",
                    "5",
                    "-f",
                    "ogg",
                ],
            )
        })
    });
    group.finish();
}

criterion_group!(benches, codec_chain);
criterion_main!(benches);
