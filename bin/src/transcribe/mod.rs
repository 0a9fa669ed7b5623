//! Transcription of audio of any length: short audio as one upload, long audio cut at pauses
//! into segments that upload in parallel and join in order, with real timestamps.
//!
//! ```text
//! Input ─► blocking thread: Splitter (decode → resample → cut at pauses → encode each segment)
//!       ─► bounded channel (back-pressure: at most `parallel` segments wait)
//!       ─► `parallel` uploads at once (Transcriber::transcribe_part; retries with back-off)
//!       ─► results in input order ─► Transcript { segments: [{start, end, text}] }
//! ```
//!
//! Audio not longer than the maximum segment length keeps the single upload of
//! [`Transcriber::transcribe`] (passthrough included): the splitter only decodes it to learn its
//! length, and the original bytes are sent ([`replay`]). `--to passthrough` is never segmented.
//!
//! This is the one entry point for both the CLI and the proxy: [`transcribe`].

pub mod replay;
pub mod text;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codex_pipe_codecs::{
    CodecError, EncodedSegment, SegmentOptions, SegmentSink, Splitter, Target,
};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use self::replay::Replay;
use crate::upstream::transcribe::{TranscribeError, TranscribeRequest, Transcriber, UploadPart};

/// How long audio is cut and sent.
#[derive(Debug, Clone)]
pub struct SegmentSettings {
    /// Segment length bounds (`--min-segment-seconds`, `--max-segment-seconds`: 8 and 30).
    pub bounds: SegmentOptions,
    /// Segments uploading at once (`--parallel`, default 4).
    pub parallel: usize,
    /// Further attempts after a 5xx, a 429 or a transport failure (default 2).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one (default 500 ms).
    pub backoff: Duration,
    /// Counters for a progress display.
    pub progress: Option<Arc<Progress>>,
    /// A limit shared with other requests (the proxy's `--concurrency`): each segment upload
    /// holds one permit while it runs, on top of `parallel`.
    pub limit: Option<Arc<tokio::sync::Semaphore>>,
}

impl Default for SegmentSettings {
    fn default() -> Self {
        SegmentSettings {
            bounds: SegmentOptions::default(),
            parallel: 4,
            retries: 2,
            backoff: Duration::from_millis(500),
            progress: None,
            limit: None,
        }
    }
}

/// Live counters of a transcription, updated from the codec thread and the uploads.
#[derive(Debug, Default)]
pub struct Progress {
    decoded_ms: AtomicU64,
    transcribed_ms: AtomicU64,
    /// Announced total in ms plus one (0: unknown).
    total_ms: AtomicU64,
    in_flight: AtomicUsize,
    segments_done: AtomicUsize,
}

impl Progress {
    /// Seconds of audio decoded so far.
    pub fn decoded_seconds(&self) -> f64 {
        self.decoded_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }
    /// Seconds of audio whose text has come back.
    pub fn transcribed_seconds(&self) -> f64 {
        self.transcribed_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }
    /// The input's length as its container announces it, when it does.
    pub fn total_seconds(&self) -> Option<f64> {
        match self.total_ms.load(Ordering::Relaxed) {
            0 => None,
            n => Some((n - 1) as f64 / 1000.0),
        }
    }
    /// Segments uploading now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
    /// Segments transcribed.
    pub fn segments_done(&self) -> usize {
        self.segments_done.load(Ordering::Relaxed)
    }
    fn set_total(&self, seconds: Option<f64>) {
        if let Some(s) = seconds {
            self.total_ms
                .store((s * 1000.0) as u64 + 1, Ordering::Relaxed);
        }
    }
}

/// One piece of the transcript with its place in the audio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Start, in seconds from the start of the audio.
    pub start: f64,
    /// End, in seconds from the start of the audio.
    pub end: f64,
    /// What was said.
    pub text: String,
}

/// A finished transcription.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The segments in order (one spanning the audio when it was sent in one piece).
    pub segments: Vec<Segment>,
    /// Decoded duration in seconds, when known.
    pub duration_seconds: Option<f64>,
}

impl Transcript {
    /// The segment texts joined in order (a space between them, none between CJK text).
    pub fn text(&self) -> String {
        text::join(self.segments.iter().map(|s| s.text.as_str()))
    }
}

/// A segment that failed for good.
#[derive(Debug)]
pub struct FailedSegment {
    /// Its number, from 1.
    pub number: usize,
    /// Start and end in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error.
    pub error: TranscribeError,
}

/// Why a transcription failed.
#[derive(Debug, thiserror::Error)]
pub enum SegmentedError {
    /// Nothing was transcribed: the input, the login or the single upload failed.
    #[error(transparent)]
    Request(#[from] TranscribeError),
    /// Some segments were transcribed and some were not, or decoding stopped part-way.
    /// `transcript` holds what was transcribed, in order.
    #[error("{}", partial_message(.failed, .decode_error.as_ref()))]
    Partial {
        /// The segments that succeeded.
        transcript: Transcript,
        /// The segments that failed after their retries.
        failed: Vec<FailedSegment>,
        /// The decoder's error when the input stopped decoding part-way.
        decode_error: Option<CodecError>,
    },
}

fn partial_message(failed: &[FailedSegment], decode: Option<&CodecError>) -> String {
    let mut parts: Vec<String> = failed
        .iter()
        .map(|f| {
            format!(
                "segment {} ({:.2}–{:.2} s) failed after {} attempt{}: {}",
                f.number,
                f.start,
                f.end,
                f.attempts,
                if f.attempts == 1 { "" } else { "s" },
                f.error
            )
        })
        .collect();
    if let Some(e) = decode {
        parts.push(format!("decoding stopped part-way: {e}"));
    }
    parts.join("; ")
}

/// Sends cut segments to the uploads; answers whether a short input is replayed.
struct ChannelSink<'a> {
    tx: mpsc::Sender<EncodedSegment>,
    replay: &'a Replay,
    progress: Option<Arc<Progress>>,
}

impl SegmentSink for ChannelSink<'_> {
    fn segment(&mut self, segment: EncodedSegment) -> Result<(), CodecError> {
        if segment.index == 0 {
            self.replay.drop_kept();
        }
        self.tx
            .blocking_send(segment)
            .map_err(|_| CodecError::Io(std::io::Error::other("the segment uploads stopped")))
    }

    fn progress(&mut self, decoded_seconds: f64) {
        if let Some(p) = &self.progress {
            p.decoded_ms
                .store((decoded_seconds * 1000.0) as u64, Ordering::Relaxed);
        }
    }

    fn take_whole(&mut self) -> bool {
        self.replay.available()
    }
}

/// The result of one segment's upload.
struct Uploaded {
    number: usize,
    start: f64,
    end: f64,
    attempts: u32,
    result: Result<String, TranscribeError>,
}

fn retryable(e: &TranscribeError) -> bool {
    match e {
        TranscribeError::Status { status, .. } => *status >= 500 || *status == 429,
        TranscribeError::Transport(_) => true,
        _ => false,
    }
}

async fn upload(
    transcriber: &Transcriber,
    segment: EncodedSegment,
    language: Option<String>,
    settings: &SegmentSettings,
) -> Uploaded {
    let (number, start, end) = (
        segment.index + 1,
        segment.start_seconds(),
        segment.end_seconds(),
    );
    let part = UploadPart {
        filename: format!("segment-{number:04}.{}", segment.extension),
        content_type: segment.mime_type.to_owned(),
        bytes: Bytes::from(segment.bytes),
        language,
    };
    let _permit = match &settings.limit {
        Some(limit) => limit.clone().acquire_owned().await.ok(),
        None => None,
    };
    if let Some(p) = &settings.progress {
        p.in_flight.fetch_add(1, Ordering::Relaxed);
    }
    let mut attempts = 0;
    let result = loop {
        attempts += 1;
        match transcriber.transcribe_part(&part).await {
            Err(e) if retryable(&e) && attempts <= settings.retries => {
                let wait = settings.backoff * 2u32.saturating_pow(attempts - 1);
                tracing::info!(segment = number, error = %e, ?wait, "transcribe: retrying segment");
                tokio::time::sleep(wait).await;
            }
            other => break other,
        }
    };
    tracing::debug!(
        segment = number,
        start,
        end,
        ok = result.is_ok(),
        "transcribe: segment done"
    );
    if let Some(p) = &settings.progress {
        p.in_flight.fetch_sub(1, Ordering::Relaxed);
        p.segments_done.fetch_add(1, Ordering::Relaxed);
        p.transcribed_ms
            .fetch_add(((end - start) * 1000.0) as u64, Ordering::Relaxed);
    }
    Uploaded {
        number,
        start,
        end,
        attempts,
        result,
    }
}

/// Send the whole input as one upload (the path of short audio and `--to passthrough`).
async fn single(
    transcriber: &Transcriber,
    mut request: TranscribeRequest,
    progress: Option<&Progress>,
) -> Result<Transcript, SegmentedError> {
    request.want_duration = true;
    if let Some(p) = progress {
        p.in_flight.fetch_add(1, Ordering::Relaxed);
    }
    let result = transcriber.transcribe(request).await;
    if let Some(p) = progress {
        p.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
    let t = result?;
    if let (Some(p), Some(d)) = (progress, t.duration_seconds) {
        p.transcribed_ms
            .fetch_add((d * 1000.0) as u64, Ordering::Relaxed);
        p.segments_done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(Transcript {
        segments: vec![Segment {
            start: 0.0,
            end: t.duration_seconds.unwrap_or(0.0),
            text: t.text,
        }],
        duration_seconds: t.duration_seconds,
    })
}

/// Transcribe `request`: in one upload when the audio is not longer than
/// `settings.bounds.max_seconds` (or the target is passthrough), otherwise cut at pauses into
/// segments (Ogg Opus, or WAV with `Target::Wav`) that upload `settings.parallel` at a time while
/// later ones are still decoding, each retried on 5xx / 429 / transport failures.
///
/// # Errors
/// [`SegmentedError::Request`] when nothing was transcribed (bad input: `Codec`; login: `Auth`;
/// the endpoint: `Status` / `Transport`); [`SegmentedError::Partial`] with the transcribed
/// segments when some segments failed for good or decoding stopped part-way.
pub async fn transcribe(
    transcriber: &Transcriber,
    request: TranscribeRequest,
    settings: &SegmentSettings,
) -> Result<Transcript, SegmentedError> {
    if request.options.target == Target::Passthrough {
        return single(transcriber, request, settings.progress.as_deref()).await;
    }
    let TranscribeRequest {
        input,
        options,
        language,
        filename,
        content_type,
        want_duration,
        progress: bytes_sent,
    } = request;
    let (input, replay) =
        Replay::wrap(input).map_err(|e| TranscribeError::from(CodecError::Io(e)))?;
    let parallel = settings.parallel.max(1);
    let (tx, rx) = mpsc::channel::<EncodedSegment>(parallel);
    let (bounds, progress, split_options) =
        (settings.bounds, settings.progress.clone(), options.clone());
    let split = tokio::task::spawn_blocking(move || {
        let run = Splitter::open(input, &split_options, bounds).and_then(|splitter| {
            if let Some(p) = &progress {
                p.set_total(splitter.announced_seconds());
            }
            let mut sink = ChannelSink {
                tx,
                replay: &replay,
                progress,
            };
            splitter.run(&mut sink)
        });
        (run, replay)
    });
    let uploads: Vec<Uploaded> = ReceiverStream::new(rx)
        .map(|segment| upload(transcriber, segment, language.clone(), settings))
        .buffered(parallel)
        .collect()
        .await;
    let (run, replay) = split
        .await
        .map_err(|e| TranscribeError::Transport(format!("codec thread: {e}")))?;
    let summary = match run {
        Ok(summary) if summary.whole => {
            let input = replay
                .into_input()
                .map_err(|e| TranscribeError::from(CodecError::Io(e)))?
                .ok_or_else(|| {
                    TranscribeError::from(CodecError::InvalidOption(
                        "the input was not kept for its single upload".into(),
                    ))
                })?;
            let request = TranscribeRequest {
                input,
                options,
                language,
                filename,
                content_type,
                want_duration,
                progress: bytes_sent,
            };
            return single(transcriber, request, settings.progress.as_deref()).await;
        }
        Ok(summary) => Ok(summary),
        Err(e) if uploads.is_empty() => return Err(TranscribeError::from(e).into()),
        Err(e) => Err(e),
    };
    let mut segments = Vec::with_capacity(uploads.len());
    let mut failed = Vec::new();
    for u in uploads {
        match u.result {
            Ok(text) => segments.push(Segment {
                start: u.start,
                end: u.end,
                text,
            }),
            Err(error) => failed.push(FailedSegment {
                number: u.number,
                start: u.start,
                end: u.end,
                attempts: u.attempts,
                error,
            }),
        }
    }
    // Nothing transcribed and the login is the reason: that is the answer, not a list of
    // segments.
    if segments.is_empty() && summary.is_ok() {
        if let Some(i) = failed
            .iter()
            .position(|f| matches!(f.error, TranscribeError::Auth(_)))
        {
            return Err(failed.swap_remove(i).error.into());
        }
    }
    let transcript = Transcript {
        duration_seconds: summary.as_ref().ok().map(|s| s.duration_seconds),
        segments,
    };
    match summary {
        Ok(_) if failed.is_empty() => Ok(transcript),
        other => Err(SegmentedError::Partial {
            transcript,
            failed,
            decode_error: other.err(),
        }),
    }
}
