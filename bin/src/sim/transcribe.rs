//! Simulated `POST /backend-api/transcribe` (protocols.md §3).
//!
//! It behaves like the real endpoint as far as it is known: auth headers required (401), a
//! multipart `file` part (+ optional `language`), the container inspected from the bytes, and
//! what the real endpoint rejects (ADTS AAC, AIFF, CAF, raw PCM, SILK, empty, anything it cannot
//! decode) answered with HTTP 500 `Error in ASR API`. What it accepts it decodes with
//! `codex-pipe-codecs` and answers `{"text": …}` with a deterministic, clearly labelled
//! description of the audio it received. It does not recognise speech.
//!
//! Scenarios ([`TranscribeScenario`], from `--sim-delay-ms`, `--sim-fail-segment`,
//! `--sim-fail`): every accepted request answered after a fixed delay (to measure parallel
//! uploads), and the upload of one segment of long audio (the file part named
//! `segment-NNNN.*`, numbered from 1) answered with HTTP 500 once or always (to exercise
//! retries and partial results).
//!
//! The upload is spooled to an anonymous temporary file as it arrives (so an in-process sim adds
//! no memory per upload) and, with a record directory, copied there as `NNNN.<ext>` with a
//! `NNNN.json` description, for tests that check the bytes that reached the endpoint.

use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use codex_pipe_codecs::sniff::{codec_hint, sniff, Sniffed, SNIFF_WINDOW};
use codex_pipe_codecs::transcode::accepted_as_is;
use codex_pipe_codecs::{probe, DecodeOptions, Input};
use serde::Serialize;
use serde_json::json;

use super::oauth::SimAuth;

/// Route of the endpoint.
pub const TRANSCRIBE_PATH: &str = "/backend-api/transcribe";

/// Prefix of every simulated transcript, so nobody mistakes it for recognised speech.
pub const SIM_TEXT_PREFIX: &str = "[codex-pipe simulated transcription]";

/// What the simulated endpoint received in one accepted upload.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReceivedAudio {
    /// `filename` of the `file` part.
    pub filename: Option<String>,
    /// `Content-Type` of the `file` part.
    pub content_type: Option<String>,
    /// The `language` field.
    pub language: Option<String>,
    /// Bytes in the `file` part.
    pub bytes: u64,
    /// Container sniffed from the bytes.
    pub container: String,
    /// Codec reported by the decoder.
    pub codec: String,
    /// Decoded sample rate (Hz).
    pub sample_rate: u32,
    /// Decoded channels.
    pub channels: u16,
    /// Decoded duration (seconds).
    pub duration_seconds: f64,
}

impl ReceivedAudio {
    /// The transcript the simulator answers with.
    pub fn text(&self) -> String {
        let mut text = format!(
            "{SIM_TEXT_PREFIX} received {} audio ({}), {} Hz, {} channel{}, {:.3} s",
            self.container,
            self.codec,
            self.sample_rate,
            self.channels,
            if self.channels == 1 { "" } else { "s" },
            self.duration_seconds
        );
        if let Some(language) = &self.language {
            text.push_str(&format!(", language {language}"));
        }
        text
    }
}

/// How a failing segment fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// The first upload of the segment gets HTTP 500, later ones succeed.
    #[default]
    Once,
    /// Every upload of the segment gets HTTP 500.
    Always,
}

/// Test scenarios of the simulated transcribe endpoint.
#[derive(Debug, Clone, Default)]
pub struct TranscribeScenario {
    /// Answer every accepted request after this delay (a stand-in for recognition time).
    pub delay: Duration,
    /// Fail the upload of this segment (the file part named `segment-NNNN.*`, from 1).
    pub fail_segment: Option<usize>,
    /// Once or always.
    pub fail_mode: FailMode,
}

/// State of the transcribe endpoint.
#[derive(Clone)]
pub struct TranscribeState {
    pub(crate) auth: SimAuth,
    pub(crate) record_dir: Option<PathBuf>,
    pub(crate) received: Arc<Mutex<Vec<ReceivedAudio>>>,
    pub(crate) counter: Arc<AtomicUsize>,
    pub(crate) scenario: TranscribeScenario,
    /// Failures answered so far to the failing segment.
    pub(crate) failures: Arc<AtomicUsize>,
}

impl TranscribeState {
    /// True when this upload is the scenario's failing segment and should fail now.
    fn fails(&self, filename: Option<&str>) -> bool {
        let Some(n) = self.scenario.fail_segment else {
            return false;
        };
        if filename
            .and_then(|f| f.strip_prefix(&format!("segment-{n:04}.")))
            .is_none()
        {
            return false;
        }
        let before = self.failures.fetch_add(1, Ordering::SeqCst);
        self.scenario.fail_mode == FailMode::Always || before == 0
    }
}

fn asr_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(
            json!({"error": {"message": "Error in ASR API", "type": "server_error", "code": null}}),
        ),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"message": message, "type": "invalid_request_error", "code": null}})),
    )
        .into_response()
}

/// The upload, spooled.
struct Upload {
    file: std::fs::File,
    bytes: u64,
    head: Vec<u8>,
    filename: Option<String>,
    content_type: Option<String>,
}

pub(crate) async fn handle(
    State(state): State<TranscribeState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    if let Err(rejection) = state.auth.check_request(&headers) {
        // Read the upload to its end before answering, as an HTTP front end does: answering and
        // closing mid-upload makes the client see a reset connection instead of the 401.
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
        if matches!(rejection, super::oauth::SimAuthRejection::Refused(_)) {
            return rejection.into_response();
        }
        return (
            rejection.status(),
            Json(json!({"detail": rejection.to_string()})),
        )
            .into_response();
    }
    let mut upload: Option<Upload> = None;
    let mut language = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return bad_request(&format!("malformed multipart body: {e}")),
        };
        match field.name() {
            Some("file") => {
                let Ok(mut file) = tempfile::tempfile() else {
                    return asr_error();
                };
                let (filename, content_type) = (
                    field.file_name().map(str::to_owned),
                    field.content_type().map(str::to_owned),
                );
                let (mut bytes, mut head) = (0u64, Vec::new());
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if head.len() < SNIFF_WINDOW {
                                let take = (SNIFF_WINDOW - head.len()).min(chunk.len());
                                head.extend_from_slice(&chunk[..take]);
                            }
                            bytes += chunk.len() as u64;
                            if file.write_all(&chunk).is_err() {
                                return asr_error();
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return bad_request(&format!("the upload was cut off: {e}")),
                    }
                }
                upload = Some(Upload {
                    file,
                    bytes,
                    head,
                    filename,
                    content_type,
                });
            }
            Some("language") => language = field.text().await.ok().filter(|s| !s.is_empty()),
            _ => {}
        }
    }
    let Some(mut upload) = upload else {
        return bad_request("the multipart body has no `file` part");
    };
    if !state.scenario.delay.is_zero() {
        tokio::time::sleep(state.scenario.delay).await;
    }
    if state.fails(upload.filename.as_deref()) {
        return asr_error();
    }
    let container = match sniff(&upload.head) {
        Sniffed::Known(c) if accepted_as_is(c, codec_hint(&upload.head, c)) => c,
        _ => return asr_error(),
    };
    if upload.file.seek(SeekFrom::Start(0)).is_err() {
        return asr_error();
    }
    let record_file = upload.file.try_clone().ok();
    let decoded = tokio::task::spawn_blocking(move || {
        probe(Input::File(upload.file), &DecodeOptions::default())
            .ok()
            .and_then(|r| r.decoded.ok())
    })
    .await
    .ok()
    .flatten();
    let Some(decoded) = decoded else {
        return asr_error();
    };
    let received = ReceivedAudio {
        filename: upload.filename,
        content_type: upload.content_type,
        language,
        bytes: upload.bytes,
        container: container.name().to_owned(),
        codec: decoded.codec.clone(),
        sample_rate: decoded.spec.sample_rate,
        channels: decoded.spec.channels,
        duration_seconds: decoded.duration_seconds(),
    };
    if let (Some(dir), Some(file)) = (&state.record_dir, record_file) {
        let n = state.counter.fetch_add(1, Ordering::SeqCst);
        let meta = received.clone();
        let dir = dir.clone();
        let ext = container.extension();
        let saved = tokio::task::spawn_blocking(move || record(&dir, n, ext, file, &meta)).await;
        if !matches!(saved, Ok(Ok(()))) {
            tracing::warn!("sim: could not record upload {n}");
        }
    }
    let text = received.text();
    if let Ok(mut list) = state.received.lock() {
        list.push(received);
    }
    Json(json!({ "text": text })).into_response()
}

fn record(
    dir: &std::path::Path,
    n: usize,
    ext: &str,
    mut file: std::fs::File,
    meta: &ReceivedAudio,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    file.seek(SeekFrom::Start(0))?;
    let mut out = std::fs::File::create(dir.join(format!("{n:04}.{ext}")))?;
    std::io::copy(&mut file, &mut out)?;
    let json = serde_json::to_vec_pretty(meta).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(format!("{n:04}.json")), json)
}
