//! The 401 → refresh → replay path of the dictation client, against the simulated backend.

use std::time::Duration;

use codex_pipe::server::SimBackend;
use codex_pipe::sim::SimConfig;
use codex_pipe::upstream::transcribe::{TranscribeRequest, Transcriber};
use codex_pipe::upstream::{http_client, HttpConfig};
use codex_pipe_codecs::{Input, TranscodeOptions};

fn fixture(name: &str) -> std::fs::File {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/audio")
        .join(name);
    std::fs::File::open(path).expect("fixture")
}

async fn setup() -> (SimBackend, Transcriber) {
    let backend = SimBackend::start(SimConfig::default()).await.expect("sim");
    let http = http_client(&HttpConfig::default()).expect("client");
    let auth = backend.auth_source().build(http.clone()).expect("auth");
    let transcriber = Transcriber::new(http, auth, backend.transcribe_url());
    (backend, transcriber)
}

fn request(name: &str, stream: bool) -> TranscribeRequest {
    let file = fixture(name);
    TranscribeRequest {
        input: if stream {
            Input::stream(file)
        } else {
            Input::File(file)
        },
        options: TranscodeOptions::default(),
        language: None,
        filename: None,
        content_type: None,
        want_duration: false,
        progress: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refreshed_once_and_the_upload_replayed() {
    let (backend, transcriber) = setup().await;
    let (sim, auth_file) = (&backend.sim, backend.auth_file());
    let before = std::fs::read(&auth_file).expect("auth.json");
    sim.auth().expire_access_tokens();
    // A converted (SILK → Opus) upload from a one-way stream: the replay must come from the spool.
    let t = tokio::time::timeout(
        Duration::from_secs(30),
        transcriber.transcribe(request("en.silk", true)),
    )
    .await
    .expect("in time")
    .expect("transcribed after a refresh");
    assert!(
        t.text.contains("received ogg_opus audio (opus)"),
        "{}",
        t.text
    );
    assert_eq!(sim.auth().refresh_count(), 1);
    let after = std::fs::read(&auth_file).expect("auth.json");
    assert_ne!(before, after, "auth.json was written back");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&auth_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Both attempts carried the whole file; only the second was accepted.
    let received = sim.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].bytes, t.bytes_sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_401s_cause_exactly_one_refresh() {
    let (backend, transcriber) = setup().await;
    let sim = &backend.sim;
    sim.auth().expire_access_tokens();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let t = transcriber.clone();
            let name = if i % 2 == 0 {
                "en_16000.wav"
            } else {
                "en_cbr64.mp3"
            };
            tokio::spawn(async move { t.transcribe(request(name, false)).await })
        })
        .collect();
    for task in tasks {
        let result = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("in time")
            .expect("task");
        let t = result.expect("transcribed");
        assert!(
            t.text.starts_with("[codex-pipe simulated transcription]"),
            "{}",
            t.text
        );
    }
    assert_eq!(sim.auth().refresh_count(), 1, "refresh calls");
    assert_eq!(sim.received().len(), 20);
}
