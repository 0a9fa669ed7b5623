//! The real `codex-pipe` binary on every audio fixture, from a file and from stdin, against the
//! in-process simulated backend, which records what reached it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Manifest {
    files: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    file: String,
    container: String,
    codec: Option<String>,
    duration_seconds: Option<f64>,
    expect: String,
}

#[derive(Debug, Deserialize)]
struct Received {
    container: String,
    codec: String,
    sample_rate: u32,
    channels: u16,
    duration_seconds: f64,
    bytes: u64,
    filename: Option<String>,
    content_type: Option<String>,
}

fn audio(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/audio")
        .join(name)
}

/// What `--to auto` uploads as it is (protocols.md §3).
fn passes_through(e: &Entry) -> bool {
    matches!(
        (e.container.as_str(), e.codec.as_deref()),
        ("wav", Some("pcm_s16le"))
            | ("mp3" | "flac" | "ogg_opus", _)
            | ("mp4", Some("aac"))
            | ("webm", Some("opus"))
    )
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    received: Vec<(Received, Vec<u8>)>,
}

fn run(args: &[&str], stdin_file: Option<&Path>) -> Run {
    let record = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-pipe"));
    cmd.args(args)
        .arg("--backend")
        .arg("sim")
        .arg("--sim-record-dir")
        .arg(record.path())
        .env_remove("CODEX_PIPE_BACKEND")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.stdin(match stdin_file {
        Some(p) => Stdio::from(std::fs::File::open(p).expect("fixture")),
        None => Stdio::null(),
    });
    let out = cmd.output().expect("run codex-pipe");
    let mut received = Vec::new();
    for n in 0.. {
        let meta = record.path().join(format!("{n:04}.json"));
        let Ok(json) = std::fs::read(&meta) else {
            break;
        };
        let r: Received = serde_json::from_slice(&json).expect("record json");
        let bytes = std::fs::read_dir(record.path())
            .expect("record dir")
            .filter_map(Result::ok)
            .find(|d| {
                let name = d.file_name().to_string_lossy().into_owned();
                name.starts_with(&format!("{n:04}.")) && !name.ends_with(".json")
            })
            .map(|d| std::fs::read(d.path()).expect("recorded upload"))
            .expect("recorded upload file");
        received.push((r, bytes));
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        received,
    }
}

#[test]
fn every_fixture_from_file_and_stdin() {
    let text = std::fs::read_to_string(audio("manifest.json")).expect("manifest");
    let manifest: Manifest = serde_json::from_str(&text).expect("manifest parses");
    let mut checked = 0;
    for e in &manifest.files {
        if e.container == "raw_pcm" {
            continue; // covered by raw_pcm_needs_a_declared_format
        }
        let path = audio(&e.file);
        let path_str = path.to_str().expect("utf-8");
        for from_stdin in [false, true] {
            let r = if from_stdin {
                run(&["--json", "-"], Some(&path))
            } else {
                run(&["--json", path_str], None)
            };
            let how = if from_stdin { "stdin" } else { "file" };
            if e.expect == "error" {
                assert_eq!(
                    r.code, 3,
                    "{} ({how}): exit code; stderr: {}",
                    e.file, r.stderr
                );
                assert!(
                    r.stderr.starts_with("codex-pipe: "),
                    "{}: {}",
                    e.file,
                    r.stderr
                );
                assert!(!r.stderr.contains("panicked"), "{}: {}", e.file, r.stderr);
                assert!(
                    r.received.is_empty(),
                    "{}: nothing may reach the endpoint",
                    e.file
                );
                continue;
            }
            assert_eq!(r.code, 0, "{} ({how}): {}", e.file, r.stderr);
            let out: serde_json::Value =
                serde_json::from_str(r.stdout.trim()).expect("json output");
            let [(got, bytes)] = &r.received[..] else {
                panic!("{} ({how}): {} uploads", e.file, r.received.len())
            };
            assert_eq!(out["text"].as_str(), Some(format!(
                "[codex-pipe simulated transcription] received {} audio ({}), {} Hz, {} channel{}, {:.3} s",
                got.container, got.codec, got.sample_rate, got.channels,
                if got.channels == 1 { "" } else { "s" }, got.duration_seconds
            ).as_str()));
            assert_eq!(got.bytes, bytes.len() as u64);
            if passes_through(e) {
                assert_eq!(
                    got.container, e.container,
                    "{}: passthrough container",
                    e.file
                );
                assert!(
                    *bytes == std::fs::read(&path).expect("fixture"),
                    "{}: bytes changed",
                    e.file
                );
            } else {
                assert_eq!(got.container, "ogg_opus", "{}: converted container", e.file);
                assert_eq!(got.content_type.as_deref(), Some("audio/ogg"));
                assert_eq!(got.filename.as_deref(), Some("audio.ogg"));
            }
            let want = e.duration_seconds.expect("duration");
            assert!(
                (got.duration_seconds - want).abs() <= 0.1,
                "{} ({how}): the endpoint decoded {:.3} s, the source is {want:.3} s",
                e.file,
                got.duration_seconds
            );
            let reported = out["duration_seconds"]
                .as_f64()
                .expect("duration in --json");
            assert!(
                (reported - want).abs() <= 0.1,
                "{}: --json duration {reported}",
                e.file
            );
            checked += 1;
        }
    }
    assert!(checked >= 70, "checked {checked} runs");
}

#[test]
fn raw_pcm_needs_a_declared_format() {
    let path = audio("en_8000.s16le");
    let r = run(&[path.to_str().expect("utf-8")], None);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("raw PCM must be declared"),
        "{}",
        r.stderr
    );
    let r = run(
        &["--raw-format", "s16le", "--raw-rate", "8000", "-"],
        Some(&path),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (got, _) = &r.received[0];
    assert_eq!(got.container, "ogg_opus");
    assert!(
        (got.duration_seconds - 3.72).abs() < 0.05,
        "{}",
        got.duration_seconds
    );
}

#[test]
fn forced_targets_and_overrides_reach_the_endpoint() {
    let path = audio("en_cbr64.mp3");
    let p = path.to_str().expect("utf-8");
    let r = run(&["--to", "wav", "--rate", "16000", p], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (got, bytes) = &r.received[0];
    assert_eq!(
        (got.container.as_str(), got.sample_rate, got.channels),
        ("wav", 16_000, 1)
    );
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(got.filename.as_deref(), Some("audio.wav"));
    let r = run(
        &[
            "--filename",
            "memo.mp3",
            "--content-type",
            "audio/mpeg",
            "--language",
            "en",
            p,
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (got, _) = &r.received[0];
    assert_eq!(got.filename.as_deref(), Some("memo.mp3"));
    assert_eq!(got.content_type.as_deref(), Some("audio/mpeg"));
    assert!(r.stdout.contains("language en"), "{}", r.stdout);
    // A container the endpoint rejects, forced through: the endpoint's 500 is exit code 6.
    let aac = audio("en.aac");
    let r = run(&["--to", "passthrough", aac.to_str().expect("utf-8")], None);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("HTTP 500") && r.stderr.contains("Error in ASR API"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_silk_decoder_and_missing_login_have_their_exit_codes() {
    let silk = audio("en.silk");
    let r = run(
        &[
            "--silk-decoder",
            "/nonexistent/rust-silk",
            silk.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("cargo install rust-silk"), "{}", r.stderr);
    let out = Command::new(env!("CARGO_BIN_EXE_codex-pipe"))
        .args(["--backend", "real", "--auth-file", "/nonexistent/auth.json"])
        .arg(&silk)
        .env_remove("CODEX_PIPE_BEARER")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("codex login") && stderr.contains("--backend sim"),
        "{stderr}"
    );
}
