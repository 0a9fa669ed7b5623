//! `POST /v1/audio/transcriptions` end to end: the proxy router served on loopback in-process,
//! the simulated backend behind it, real fixtures from `testdata/audio/`, reqwest and the
//! official OpenAI Python SDK as clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_pipe::server::{self, ApiKeyPolicy, AppState, ServerConfig, SimBackend};
use codex_pipe::sim::SimConfig;
use codex_pipe::upstream::{http_client, HttpConfig};
use codex_pipe_protocols::models::ModelCatalog;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

pub(crate) const KEY: &str = "sk-proxy-test-key";
/// Upload limit of the test proxies (bytes); the SDK script's oversize upload is 1.5 MB.
pub(crate) const TEST_LIMIT: u64 = 1_000_000;
/// Bound on every request a test makes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audio")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).expect("fixture")
}

/// Duration of a fixture according to `testdata/audio/manifest.json` (seconds).
fn manifest_duration(name: &str) -> f64 {
    let manifest: Value = serde_json::from_slice(&fixture("manifest.json")).expect("manifest.json");
    manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["file"] == name)
        .and_then(|f| f["duration_seconds"].as_f64())
        .expect("fixture in the manifest")
}

/// A proxy on an ephemeral loopback port in front of a simulated backend.
pub(crate) struct Proxy {
    pub(crate) backend: SimBackend,
    pub(crate) base: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Proxy {
    pub(crate) async fn start(max_upload_bytes: u64) -> Proxy {
        Proxy::start_with(max_upload_bytes, SimConfig::default()).await
    }

    async fn start_with(max_upload_bytes: u64, sim: SimConfig) -> Proxy {
        let backend = SimBackend::start(sim).await.expect("simulated backend");
        let http = http_client(&HttpConfig::default()).expect("http client");
        let auth = backend
            .auth_source()
            .build(http.clone())
            .expect("auth store");
        let mut config = ServerConfig::new(ApiKeyPolicy::Required(KEY.into()));
        config.max_upload_bytes = max_upload_bytes;
        let state = AppState::build(
            config,
            http,
            auth,
            backend.responses_base_url(),
            backend.transcribe_url(),
            ModelCatalog::builtin("gpt-5.4"),
        );
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(
            listener,
            state,
            async {
                let _ = stopped.await;
            },
            server::ServeOptions::default(),
        ));
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("client");
        Proxy {
            backend,
            base,
            client,
            stop: Some(stop),
        }
    }

    async fn post(&self, path: &str, form: Form, key: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("response")
    }

    async fn transcribe(&self, form: Form) -> reqwest::Response {
        self.post("/v1/audio/transcriptions", form, Some(KEY)).await
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The form as the OpenAI SDK builds it: text fields first, `file` last.
fn form(fields: &[(&str, &str)], file: Option<(&str, Vec<u8>)>) -> Form {
    let mut form = Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((name, bytes)) = file {
        form = form.part("file", Part::bytes(bytes).file_name(name.to_owned()));
    }
    form
}

fn audio(name: &str) -> Option<(&str, Vec<u8>)> {
    Some((name, fixture(name)))
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, value)
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

const SIM_PREFIX: &str = "[codex-pipe simulated transcription]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_the_default_and_carries_duration_usage() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    let response = proxy
        .transcribe(form(&[("model", "whisper-1")], audio("en_cbr64.mp3")))
        .await;
    assert_eq!(content_type(&response), "application/json");
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    let text = body["text"].as_str().expect("text");
    assert!(
        text.starts_with(&format!("{SIM_PREFIX} received mp3 audio (mp3)")),
        "{text}"
    );
    assert_eq!(body["usage"]["type"], "duration");
    let expected = manifest_duration("en_cbr64.mp3").ceil() as u64;
    assert_eq!(body["usage"]["seconds"].as_u64(), Some(expected), "{body}");
    // The MP3 went upstream as it was (passthrough), in full.
    let received = proxy.backend.sim.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].bytes, fixture("en_cbr64.mp3").len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_format_is_plain_text_from_converted_silk() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    let response = proxy
        .transcribe(form(
            &[("model", "whisper-1"), ("response_format", "text")],
            audio("en.silk"),
        ))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(content_type(&response), "text/plain; charset=utf-8");
    let body = response.text().await.expect("body");
    // SILK is not accepted upstream: it was converted to Ogg Opus on the way.
    assert!(
        body.starts_with(&format!("{SIM_PREFIX} received ogg_opus audio (opus)")),
        "{body}"
    );
    assert!(body.ends_with('\n') && !body.ends_with("\n\n"), "{body:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_json_has_language_duration_one_segment_and_words() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    let fields = [
        ("model", "whisper-1"),
        ("language", "en"),
        ("response_format", "verbose_json"),
        ("temperature", "0.2"),
        ("timestamp_granularities[]", "word"),
        ("timestamp_granularities[]", "segment"),
    ];
    let (status, body) =
        json_of(proxy.transcribe(form(&fields, audio("en_16000.wav"))).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["task"], "transcribe");
    assert_eq!(body["language"], "english");
    let duration = body["duration"].as_f64().expect("duration");
    assert!(
        (duration - manifest_duration("en_16000.wav")).abs() < 0.002,
        "{duration}"
    );
    let text = body["text"].as_str().expect("text");
    assert!(
        text.ends_with(", language en"),
        "the language reached the upstream: {text}"
    );
    assert_eq!(
        proxy.backend.sim.received()[0].language.as_deref(),
        Some("en")
    );
    let segments = body["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), 1);
    let s = &segments[0];
    assert_eq!((s["id"].as_u64(), s["seek"].as_u64()), (Some(0), Some(0)));
    assert_eq!(
        (s["start"].as_f64(), s["end"].as_f64()),
        (Some(0.0), Some(duration))
    );
    assert_eq!(s["text"], body["text"]);
    assert_eq!(s["temperature"].as_f64(), Some(0.2));
    for field in [
        "tokens",
        "avg_logprob",
        "compression_ratio",
        "no_speech_prob",
    ] {
        assert!(!s[field].is_null(), "segment field {field}");
    }
    let words = body["words"].as_array().expect("words");
    assert_eq!(words.len(), text.split_whitespace().count());
    assert_eq!(words[0]["start"].as_f64(), Some(0.0));
    assert_eq!(words.last().and_then(|w| w["end"].as_f64()), Some(duration));
    assert_eq!(
        body["usage"]["seconds"].as_u64(),
        Some(duration.ceil() as u64)
    );

    // Without `word`, no `words`; without `language`, "unknown".
    let (_, body) = json_of(
        proxy
            .transcribe(form(
                &[("response_format", "verbose_json")],
                audio("en.m4a"),
            ))
            .await,
    )
    .await;
    assert!(body.get("words").is_none(), "{body}");
    assert_eq!(body["language"], "unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srt_and_vtt_are_one_cue_spanning_the_audio() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    let response = proxy
        .transcribe(form(&[("response_format", "srt")], audio("en_cbr64.mp3")))
        .await;
    assert_eq!(content_type(&response), "text/plain; charset=utf-8");
    let srt = response.text().await.expect("srt");
    let lines: Vec<&str> = srt.split('\n').collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1], "00:00:00,000 --> 00:00:03,720", "{srt}");
    assert!(lines[2].starts_with(SIM_PREFIX));
    assert!(srt.ends_with("\n\n"));

    let vtt = proxy
        .transcribe(form(&[("response_format", "vtt")], audio("en_16000.flac")))
        .await
        .text()
        .await
        .expect("vtt");
    assert!(
        vtt.starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:03.720\n"),
        "{vtt}"
    );
    assert!(vtt.contains("received flac audio (flac)"), "{vtt}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_route_without_v1_serves_the_same_api() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    let response = proxy
        .post(
            "/audio/transcriptions",
            form(&[("response_format", "text")], audio("en.ogg")),
            Some(KEY),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.expect("body");
    assert!(body.starts_with(SIM_PREFIX), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_are_400_with_the_field_named() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    let (status, body) = json_of(
        proxy
            .transcribe(form(&[("model", "whisper-1")], None))
            .await,
    )
    .await;
    assert_eq!(
        (status, &body["error"]["param"]),
        (400, &Value::from("file")),
        "{body}"
    );
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let cases = [
        (
            "random_1000.bin",
            "invalid_file_format",
            "unrecognised audio container",
        ),
        ("empty.bin", "empty_file", "empty"),
        ("truncated.wav", "invalid_audio", "truncated"),
    ];
    for (name, code, words) in cases {
        let (status, body) = json_of(proxy.transcribe(form(&[], audio(name))).await).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["error"]["param"], "file", "{name}");
        assert_eq!(body["error"]["code"], code, "{name}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains(words), "{name}: {message}");
    }
    // Nothing broken reached the upstream.
    assert!(proxy.backend.sim.received().is_empty());

    let bad_fields = [
        (("response_format", "xml"), "response_format"),
        (("stream", "true"), "stream"),
        (("temperature", "7"), "temperature"),
        (
            ("timestamp_granularities[]", "char"),
            "timestamp_granularities[]",
        ),
    ];
    for (field, param) in bad_fields {
        let (status, body) =
            json_of(proxy.transcribe(form(&[field], audio("en.opus"))).await).await;
        assert_eq!(
            (status, &body["error"]["param"]),
            (400, &Value::from(param)),
            "{body}"
        );
    }
    let response = proxy
        .client
        .post(format!("{}/v1/audio/transcriptions", proxy.base))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"file": "x"}))
        .send()
        .await
        .expect("response");
    let (status, body) = json_of(response).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &Value::from("invalid_multipart"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_upload_is_413_and_never_completes_upstream() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    // A valid WAV header announcing 1.5 MB of silence: the pipeline starts streaming it
    // upstream, and the upload is aborted when the limit is crossed.
    let data_bytes: u32 = 1_500_000;
    let mut wav = wav_header(16_000, data_bytes);
    wav.resize(44 + data_bytes as usize, 0);
    let (status, body) = json_of(proxy.transcribe(form(&[], Some(("big.wav", wav)))).await).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "file_too_large");
    assert_eq!(body["error"]["param"], "file");
    assert!(
        proxy.backend.sim.received().is_empty(),
        "a cut-off upload was accepted upstream"
    );
    // The same proxy still serves a file under the limit.
    let response = proxy.transcribe(form(&[], audio("en_16000.wav"))).await;
    assert_eq!(response.status().as_u16(), 200);
}

/// A 16-bit mono WAV header for `data_bytes` bytes of samples at `rate` Hz.
fn wav_header(rate: u32, data_bytes: u32) -> Vec<u8> {
    let mut wav = Vec::with_capacity(44);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(2 * rate).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_bytes.to_le_bytes());
    wav
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_that_fails_after_segments_were_cut_cancels_their_uploads() {
    // Uploads take 6 s upstream. 8 kHz WAV is 16 kB/s: the first 30 s segment is cut at
    // 480 kB, long before the 1 MB limit is crossed (at about 62 s of audio).
    let delay = Duration::from_secs(6);
    let mut sim = SimConfig::default();
    sim.transcribe.delay = delay;
    let proxy = Proxy::start_with(TEST_LIMIT, sim).await;
    let data_bytes: u32 = 1_500_000;
    let mut wav = wav_header(8_000, data_bytes);
    // A tone, so the decoder and the cutter do real work; quiet gaps every 10 s.
    wav.extend((0..data_bytes / 2).flat_map(|i| {
        let t = i as f32 / 8_000.0;
        let loud = (t % 10.0) < 9.5;
        let s = if loud {
            (t * 440.0 * std::f32::consts::TAU).sin() * 8_000.0
        } else {
            0.0
        };
        (s as i16).to_le_bytes()
    }));
    let started = std::time::Instant::now();
    let (status, body) = json_of(proxy.transcribe(form(&[], Some(("long.wav", wav)))).await).await;
    assert_eq!(status, 413, "{body}");
    let answered = started.elapsed();
    assert!(
        answered < delay,
        "the 413 waited {answered:?} for uploads of a failed request"
    );
    // Had the cut segments been uploaded anyway, the simulator would record them after its
    // delay.
    tokio::time::sleep(delay - answered + Duration::from_secs(1)).await;
    assert!(
        proxy.backend.sim.received().is_empty(),
        "segments of a failed request reached the backend"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_is_required_except_for_health() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    for key in [Some("sk-wrong"), None] {
        let response = proxy
            .post("/v1/audio/transcriptions", form(&[], audio("en.opus")), key)
            .await;
        let (status, body) = json_of(response).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "invalid_api_key");
    }
    assert!(proxy.backend.sim.received().is_empty());
    let health = proxy
        .client
        .get(format!("{}/healthz", proxy.base))
        .send()
        .await
        .expect("health");
    let (status, body) = json_of(health).await;
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
    let (status, body) = json_of(
        proxy
            .client
            .get(format!("{}/v1/nope", proxy.base))
            .send()
            .await
            .expect("404"),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &Value::from("unknown_url"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_login_is_refreshed_once_for_twenty_concurrent_requests() {
    let proxy = Proxy::start(TEST_LIMIT).await;
    let auth_file = proxy.backend.auth_file();
    let before = std::fs::read(&auth_file).expect("auth.json");
    proxy.backend.sim.auth().expire_access_tokens();
    // 20 requests against 16 upstream slots: four of them wait for a slot.
    let requests = (0..20).map(|i| {
        let name = ["en_16000.wav", "en_cbr64.mp3", "en.silk", "en.m4a"][i % 4];
        let form = form(&[("response_format", "json")], audio(name));
        let proxy = &proxy;
        async move { json_of(proxy.transcribe(form).await).await }
    });
    let results = tokio::time::timeout(
        Duration::from_secs(120),
        futures::future::join_all(requests),
    )
    .await
    .expect("in time");
    for (status, body) in results {
        assert_eq!(status, 200, "{body}");
        assert!(
            body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(SIM_PREFIX)),
            "{body}"
        );
    }
    assert_eq!(proxy.backend.sim.auth().refresh_count(), 1, "refresh calls");
    assert_eq!(proxy.backend.sim.received().len(), 20);
    let after = std::fs::read(&auth_file).expect("auth.json");
    assert_ne!(before, after, "auth.json was rewritten with the new tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_refuses_no_api_key_on_a_public_host() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-pipe-proxy"))
        .args([
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--no-api-key",
            "--backend",
            "sim",
        ])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("exits in time")
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--no-api-key is refused on 0.0.0.0"),
        "{stderr}"
    );
}
