//! The transcription route through the official OpenAI Python SDK (`openai` from
//! scripts/requirements-test.txt): every response format, the error classes, and long audio cut
//! at pauses with real segment times.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::transcriptions::{fixture_dir, Proxy, KEY, TEST_LIMIT};

/// The official OpenAI Python SDK (`openai` from scripts/requirements-test.txt) against the
/// proxy: `bin/tests/sdk/transcriptions.py` asserts each response format's type and contents
/// and the error classes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_openai_python_sdk() {
    let python = crate::gemini::sdk_python();
    let proxy = Proxy::start(TEST_LIMIT).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/transcriptions.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(format!("{}/v1", proxy.base))
        .arg(KEY)
        .arg(fixture_dir())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the SDK script finished in time")
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("all SDK checks passed"), "{stdout}");
    eprintln!("{stdout}");
    // json, text, verbose_json, srt, vtt: five transcriptions reached the upstream.
    assert_eq!(proxy.backend.sim.received().len(), 5, "{stdout}");
}

#[path = "../support/long_audio.rs"]
mod long_audio;

/// Long audio through the official OpenAI Python SDK: the proxy cuts it at pauses, and
/// `verbose_json` segments and `srt` / `vtt` cues carry the real times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_audio_has_real_segment_times_in_verbose_json_srt_and_vtt() {
    let python = crate::gemini::sdk_python();
    let dir = tempfile::tempdir().expect("tempdir");
    let (wav, pauses, duration) = long_audio::long_wav(dir.path());
    let proxy = Proxy::start(50_000_000).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/transcriptions_long.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(format!("{}/v1", proxy.base))
        .arg(KEY)
        .arg(&wav)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the SDK script finished in time")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).expect("JSON from the script");
    let segments = v["segments"].as_array().expect("segments");
    assert!(segments.len() >= 5, "{v}");
    assert!(
        (v["duration"].as_f64().expect("duration") - duration).abs() < 0.05,
        "{v}"
    );
    let times: Vec<(f64, f64)> = segments
        .iter()
        .map(|s| {
            (
                s["start"].as_f64().expect("start"),
                s["end"].as_f64().expect("end"),
            )
        })
        .collect();
    assert!(times[0].0.abs() < 0.001, "{times:?}");
    assert!(
        (times[times.len() - 1].1 - duration).abs() < 0.05,
        "{times:?}"
    );
    for (i, w) in times.windows(2).enumerate() {
        let cut = w[0].1;
        assert!(
            (w[1].0 - cut).abs() < 0.001,
            "segments {i} and {} touch: {times:?}",
            i + 1
        );
        assert!(
            pauses
                .iter()
                .any(|(a, b)| *a - 0.05 <= cut && cut <= *b + 0.05),
            "the cut at {cut:.3} s is inside a pause: {pauses:?}"
        );
    }
    for (start, end) in &times {
        assert!(end - start <= 30.05 && end > start, "{times:?}");
    }
    for fmt in ["srt", "vtt"] {
        let cues: Vec<(f64, f64)> = v["cues"][fmt]
            .as_array()
            .expect("cues")
            .iter()
            .map(|c| (c[0].as_f64().expect("a"), c[1].as_f64().expect("b")))
            .collect();
        assert_eq!(cues.len(), times.len(), "{fmt}");
        for (c, t) in cues.iter().zip(&times) {
            assert!(
                (c.0 - t.0).abs() < 0.002 && (c.1 - t.1).abs() < 0.002,
                "{fmt}: {cues:?} vs {times:?}"
            );
        }
    }
    // One upload per segment per format (3 formats).
    assert_eq!(proxy.backend.sim.received().len(), 3 * times.len());
}
