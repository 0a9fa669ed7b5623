//! Input paths and logging of the real `codex-pipe` binary (issue 12, items 4 and 9): FIFOs and
//! process substitution are read as streams, a directory or a missing path is a usage error,
//! `RUST_LOG` is honoured.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn audio(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/audio")
        .join(name)
}

fn codex_pipe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-pipe"));
    cmd.env_remove("CODEX_PIPE_BACKEND")
        .env_remove("CODEX_PIPE_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Regression: `codex-pipe <(cat a.wav)` failed with "Illegal seek", exit 1.
#[test]
fn process_substitution_and_fifo_are_read_as_streams() {
    let wav = audio("en_16000.wav");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec \"$0\" --backend sim <(cat '{}')",
            wav.display()
        ))
        .arg(env!("CARGO_BIN_EXE_codex-pipe"))
        .env_remove("CODEX_PIPE_BACKEND")
        .output()
        .expect("bash runs");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("received wav audio (pcm_s16le), 16000 Hz, 1 channel, 3.720 s"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("audio.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let writer = {
        let (fifo, src) = (fifo.clone(), audio("en_cbr64.mp3"));
        std::thread::spawn(move || {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open fifo");
            std::io::copy(&mut std::fs::File::open(src).expect("fixture"), &mut out)
                .expect("write fifo");
        })
    };
    let out = codex_pipe()
        .args(["probe", "--json"])
        .arg(&fifo)
        .output()
        .expect("run");
    writer.join().expect("writer");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(report["container"], "mp3", "{stdout}");
}

/// Regression: a directory or a nonexistent path exited 1 (an unexpected failure).
#[test]
fn directory_and_missing_paths_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.wav");
    for args in [
        vec!["--backend".into(), "sim".into(), dir.path().to_path_buf()],
        vec!["--backend".into(), "sim".into(), missing.clone()],
        vec!["probe".into(), dir.path().to_path_buf()],
        vec!["probe".into(), missing.clone()],
        vec!["convert".into(), missing.clone(), "-o".into(), "-".into()],
    ] {
        let out = codex_pipe().args(&args).output().expect("run");
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("directory") || stderr.contains("no such file"),
            "{args:?}: {stderr}"
        );
    }
}

/// Regression: only `CODEX_PIPE_LOG` was read; `RUST_LOG` is the convention.
#[test]
fn rust_log_is_honoured() {
    let wav = audio("en_16000.wav");
    let quiet = codex_pipe()
        .args(["--backend", "sim"])
        .arg(&wav)
        .output()
        .expect("run");
    let loud = codex_pipe()
        .args(["--backend", "sim"])
        .arg(&wav)
        .env("RUST_LOG", "codex_pipe=debug")
        .output()
        .expect("run");
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(loud.status.code(), Some(0));
    let (_, quiet_err) = text(&quiet);
    let (_, loud_err) = text(&loud);
    assert!(!quiet_err.contains("DEBUG"), "{quiet_err}");
    assert!(
        loud_err.contains("DEBUG") && loud_err.contains("plan"),
        "{loud_err}"
    );
}

/// AMR and Speex decode through ffmpeg, from a file and from stdin; without ffmpeg on `PATH`
/// the error names it and how to install it (exit 4, as for `rust-silk`).
#[test]
fn amr_and_speex_go_through_ffmpeg_and_its_absence_is_named() {
    for name in ["en.amr", "en_speex.spx", "en_amr.3gp"] {
        let path = audio(name);
        let from_file = codex_pipe()
            .args(["--backend", "sim", "--json"])
            .arg(&path)
            .output()
            .expect("run");
        let from_stdin = codex_pipe()
            .args(["--backend", "sim", "--json", "-"])
            .stdin(std::fs::File::open(&path).expect("fixture"))
            .output()
            .expect("run");
        for out in [&from_file, &from_stdin] {
            let (stdout, stderr) = text(out);
            assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
            let json: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
            assert!(
                json["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("received ogg_opus audio")),
                "{name}: {stdout}"
            );
        }
        let out = codex_pipe()
            .args(["--backend", "sim"])
            .arg(&path)
            .env("PATH", "/nonexistent")
            .output()
            .expect("run");
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(4), "{name}: {stderr}");
        assert!(
            stderr.contains("ffmpeg decoder is missing")
                && stderr.contains("apt-get install ffmpeg"),
            "{name}: {stderr}"
        );
    }
}
