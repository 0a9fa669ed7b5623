//! Long audio through the real `codex-pipe` binary against the in-process simulator: real
//! speech (`../shared/testdata/realspeech`, read from there) joined with generated pauses of
//! known position, cut into segments, uploaded in parallel, joined in order with the real
//! segment times; retries and partial results; the progress bar in a pseudo-terminal.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_codex-pipe")
}

#[path = "support/long_audio.rs"]
mod long_audio;

use long_audio::long_wav;

#[derive(Debug, Deserialize, PartialEq)]
struct Segment {
    start: f64,
    end: f64,
    text: String,
}

#[derive(Debug, Deserialize)]
struct Output {
    text: String,
    duration_seconds: Option<f64>,
    segments: Vec<Segment>,
}

#[derive(Debug, Deserialize)]
struct Received {
    filename: Option<String>,
    duration_seconds: f64,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    received: Vec<Received>,
}

fn run(args: &[&str], stdin: Option<&Path>) -> Run {
    let record = tempfile::tempdir().expect("tempdir");
    let out = Command::new(bin())
        .args(["--backend", "sim", "--sim-record-dir"])
        .arg(record.path())
        .args(args)
        .env_remove("CODEX_PIPE_BACKEND")
        .stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).expect("input")),
            None => Stdio::null(),
        })
        .output()
        .expect("run codex-pipe");
    let mut received: Vec<Received> = std::fs::read_dir(record.path())
        .expect("record dir")
        .filter_map(Result::ok)
        .filter(|d| d.path().extension().is_some_and(|e| e == "json"))
        .map(|d| serde_json::from_slice(&std::fs::read(d.path()).expect("read")).expect("json"))
        .collect();
    received.sort_by(|a, b| a.filename.cmp(&b.filename));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        received,
    }
}

#[test]
fn long_audio_is_cut_at_pauses_and_joined_in_order_with_real_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wav, pauses, total) = long_wav(dir.path());
    let path = wav.to_str().expect("utf-8");
    let from_file = run(&["--json", path], None);
    let from_stdin = run(&["--format", "json", "-"], Some(&wav));
    for r in [&from_file, &from_stdin] {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.is_empty(),
            "no progress bar on a pipe: {}",
            r.stderr
        );
    }
    let out: Output = serde_json::from_str(from_file.stdout.trim()).expect("json");
    let out_stdin: Output = serde_json::from_str(from_stdin.stdout.trim()).expect("json");
    assert_eq!(
        out.segments, out_stdin.segments,
        "stdin and file give the same segments"
    );
    assert!((out.duration_seconds.expect("duration") - total).abs() < 0.01);
    let n = out.segments.len();
    assert!(n >= 5, "{n} segments");
    assert_eq!(from_file.received.len(), n, "one upload per segment");
    assert_eq!(out.segments[0].start, 0.0);
    for (i, s) in out.segments.iter().enumerate() {
        let length = s.end - s.start;
        assert!(
            length <= 30.0 + 1e-9 && length > 0.0,
            "segment {i}: {length} s"
        );
        if let Some(next) = out.segments.get(i + 1) {
            assert_eq!(next.start, s.end);
            assert!(length >= 8.0 - 1e-9, "segment {i}: {length} s");
            assert!(
                pauses
                    .iter()
                    .any(|&(a, b)| s.end >= a - 0.05 && s.end <= b + 0.05),
                "segment {i} ends at {:.3} s, outside every pause",
                s.end
            );
        }
        // The simulator describes what it decoded: the segment's own audio, in order.
        let got = &from_file.received[i];
        assert_eq!(
            got.filename.as_deref(),
            Some(format!("segment-{:04}.ogg", i + 1).as_str())
        );
        assert!(
            (got.duration_seconds - length).abs() <= 0.05,
            "segment {i}: uploaded {:.3} s for {length:.3} s",
            got.duration_seconds
        );
        assert!(
            s.text.ends_with(&format!("{:.3} s", got.duration_seconds)),
            "segment {i}: {}",
            s.text
        );
    }
    assert!((out.segments[n - 1].end - total).abs() <= 0.05);
    let joined: Vec<&str> = out.segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(out.text, joined.join(" "));

    // Subtitles carry the same times.
    let srt = run(&["--format", "srt", path], None);
    assert_eq!(srt.code, 0, "{}", srt.stderr);
    assert!(
        srt.stdout.starts_with("1\n00:00:00,000 --> 00:00:"),
        "{}",
        srt.stdout
    );
    assert_eq!(srt.stdout.matches(" --> ").count(), n);
    let vtt = run(&["--format", "vtt", path], None);
    assert!(
        vtt.stdout.starts_with("WEBVTT\n\n00:00:00.000 --> "),
        "{}",
        vtt.stdout
    );
    let second = &out.segments[1];
    let ms = (second.start * 1000.0).round() as u64;
    let stamp = format!(
        "00:{:02}:{:02}.{:03}",
        ms / 60_000,
        ms / 1000 % 60,
        ms % 1000
    );
    assert!(vtt.stdout.contains(&stamp), "{stamp} in {}", vtt.stdout);
}

#[test]
fn a_failing_segment_is_retried_and_then_named_with_the_rest_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wav, _, _) = long_wav(dir.path());
    let path = wav.to_str().expect("utf-8");
    let once = run(
        &[
            "--json",
            "--sim-fail-segment",
            "2",
            "--sim-fail",
            "once",
            path,
        ],
        None,
    );
    assert_eq!(once.code, 0, "{}", once.stderr);
    let out: Output = serde_json::from_str(once.stdout.trim()).expect("json");
    assert_eq!(
        out.segments.len(),
        once.received.len(),
        "every segment, after a retry"
    );

    let always = run(
        &[
            "--json",
            "--sim-fail-segment",
            "2",
            "--sim-fail",
            "always",
            path,
        ],
        None,
    );
    assert_eq!(always.code, 6, "{}", always.stderr);
    let partial: Output = serde_json::from_str(always.stdout.trim()).expect("json");
    assert_eq!(
        partial.segments.len(),
        out.segments.len() - 1,
        "the rest is printed"
    );
    assert_eq!(partial.segments[0], out.segments[0]);
    assert_eq!(partial.segments[1], out.segments[2]);
    let (start, end) = (out.segments[1].start, out.segments[1].end);
    let named = format!("segment 2 ({start:.2}–{end:.2} s) failed after 3 attempts");
    assert!(
        always.stderr.contains(&named),
        "{named} in {}",
        always.stderr
    );
    assert!(always.stderr.contains("HTTP 500"), "{}", always.stderr);
}

/// The bar is drawn on a terminal (a pseudo-terminal made by `script`) and not on a pipe
/// (checked in the first test: stderr empty).
#[test]
fn progress_bar_on_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wav, _, _) = long_wav(dir.path());
    let cmd = format!(
        "'{}' --backend sim --sim-delay-ms 400 --parallel 2 '{}' >/dev/null",
        bin(),
        wav.display()
    );
    let out = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("CODEX_PIPE_BACKEND")
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{seen}");
    assert!(seen.contains("uploading"), "{seen}");
    assert!(seen.contains("s transcribed"), "{seen}");
    assert!(seen.contains("s decoded"), "{seen}");
}
