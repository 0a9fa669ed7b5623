//! `POST /backend-api/transcribe`: the audio is streamed through the codec pipeline straight
//! into a chunked multipart upload while it decodes.
//!
//! ```text
//! Input ─► blocking thread: Transcoder::run ─► Tee ─┬─► bounded channel ─► multipart `file` part (chunked)
//!                                                   └─► anonymous temp file (the spool)
//! ```
//!
//! **401 replay.** The body is a one-shot stream, so every encoded byte is also written to an
//! anonymous temporary file. When the endpoint answers 401, the pipeline is allowed to finish
//! (into the spool only: the live channel is closed), the login is refreshed once
//! ([`AuthStore::refresh_after_unauthorized`]) and the request is sent again from the spool.
//! A transport failure of the live attempt (a server that answers 401 before reading the body
//! resets the connection mid-upload) is replayed once from the spool too. The spool costs disk,
//! not memory; decoding happens once.
//!
//! **Accounts.** With several logins ([`Transcriber::with_pool`]) a 429 or 403 puts the account
//! aside (`crate::accounts`) and the upload is replayed from the spool on another account.
//!
//! A pipeline that fails mid-stream (a truncated file, a failed `rust-silk`) ends the upload body
//! with an error, so the endpoint never sees a cut-off file as complete, and the codec error is
//! what the caller gets.

use std::io::{self, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use codex_pipe_codecs::{CodecError, Input, Plan, Summary, TranscodeOptions, Transcoder};
use reqwest::multipart::{Form, Part};
use reqwest::{Body, StatusCode};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::io::ReaderStream;

use super::{user_agent, ORIGINATOR};
use crate::accounts::{AccountPool, Lease, PoolError};
use crate::auth::{AuthError, AuthStore, Credentials};

/// Largest upstream error body kept in [`TranscribeError::Status`] (bytes).
const ERROR_BODY_CLIP: usize = 2048;
/// Encoded bytes per upload chunk.
const CHUNK_BYTES: usize = 32 * 1024;
/// Chunks in flight between the codec thread and the HTTP body: the back-pressure bound.
const CHANNEL_CHUNKS: usize = 8;

/// One dictation request.
pub struct TranscribeRequest {
    /// The audio.
    pub input: Input,
    /// How to convert it (or pass it through).
    pub options: TranscodeOptions,
    /// ISO-639-1 language hint (`en`, `zh`, ...); omitted for auto-detection.
    pub language: Option<String>,
    /// Overrides the `file` part's file name (default `audio.<ext>` of what is sent).
    pub filename: Option<String>,
    /// Overrides the `file` part's content type (default: the MIME type of what is sent).
    pub content_type: Option<String>,
    /// Compute the duration also for passthrough uploads (by decoding the spool afterwards).
    pub want_duration: bool,
    /// Incremented by the bytes of each chunk handed to the upload (for a progress display).
    pub progress: Option<Arc<AtomicU64>>,
}

/// What the endpoint said, and what was sent.
#[derive(Debug, Clone)]
pub struct Transcription {
    /// The recognised text.
    pub text: String,
    /// Audio duration in seconds, when known.
    pub duration_seconds: Option<f64>,
    /// What was uploaded.
    pub plan: Plan,
    /// Bytes in the `file` part.
    pub bytes_sent: u64,
}

/// Why a transcription failed. Each variant maps to one exit code and one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    /// The audio could not be read, decoded or encoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// No usable login.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// No account can take the request (every one cools down, or is disabled).
    #[error(transparent)]
    Accounts(#[from] PoolError),
    /// The endpoint answered with an error status.
    #[error("the transcription endpoint answered HTTP {status}: {body}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The response body, clipped to 2 KiB.
        body: String,
    },
    /// The request could not be sent or the response not read.
    #[error("the transcription request failed: {0}")]
    Transport(String),
    /// The endpoint answered 200 with something that is not `{"text": …}`.
    #[error("the transcription endpoint answered with an unexpected body: {0}")]
    BadResponse(String),
}

#[derive(Deserialize)]
struct TextResponse {
    text: String,
}

/// The dictation client.
#[derive(Clone)]
pub struct Transcriber {
    http: reqwest::Client,
    accounts: AccountPool,
    url: String,
}

/// Writes every chunk to the spool and, while the request is live, to the body channel.
struct Tee {
    spool: std::fs::File,
    live: Option<mpsc::Sender<io::Result<Bytes>>>,
    pending: Vec<u8>,
    progress: Option<Arc<AtomicU64>>,
}

impl Tee {
    fn send_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.spool.write_all(&self.pending)?;
        if let Some(p) = &self.progress {
            p.fetch_add(self.pending.len() as u64, Ordering::Relaxed);
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        if let Some(tx) = &self.live {
            if tx.blocking_send(Ok(chunk)).is_err() {
                // The request ended early (an error status): keep spooling for the replay.
                self.live = None;
            }
        }
        Ok(())
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= CHUNK_BYTES {
            self.send_pending()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()
    }
}

/// The running codec pipeline: its plan, and the join handle for its summary and spool.
struct Pipeline {
    plan: Plan,
    done: tokio::task::JoinHandle<Result<(Summary, std::fs::File), CodecError>>,
    body: mpsc::Receiver<io::Result<Bytes>>,
}

fn start_pipeline(
    input: Input,
    options: TranscodeOptions,
    progress: Option<Arc<AtomicU64>>,
) -> oneshot::Receiver<Result<Pipeline, CodecError>> {
    let (plan_tx, plan_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let done =
        tokio::task::spawn_blocking(move || -> Result<(Summary, std::fs::File), CodecError> {
            let chain = Transcoder::open(input, &options);
            let (chain, plan_tx) = match chain {
                Ok(chain) => (chain, plan_tx),
                Err(e) => {
                    let _ = plan_tx.send(Err(e));
                    return Err(CodecError::InvalidOption(
                        "the pipeline did not start".into(),
                    ));
                }
            };
            // The receiver half travels with the plan; from here on errors go through `done`.
            let spool = match tempfile::tempfile() {
                Ok(f) => f,
                Err(e) => {
                    let _ = plan_tx.send(Err(CodecError::Io(e)));
                    return Err(CodecError::InvalidOption(
                        "the pipeline did not start".into(),
                    ));
                }
            };
            let _ = plan_tx.send(Ok((*chain.plan(), rx)));
            let mut tee = Tee {
                spool,
                live: Some(tx.clone()),
                pending: Vec::with_capacity(CHUNK_BYTES),
                progress,
            };
            match chain.run(&mut tee) {
                Ok(summary) => {
                    tee.flush()?;
                    Ok((summary, tee.spool))
                }
                Err(e) => {
                    if let Some(live) = tee.live.take() {
                        let _ = live.blocking_send(Err(io::Error::other(e.to_string())));
                    }
                    Err(e)
                }
            }
        });
    let (out_tx, out_rx) = oneshot::channel();
    tokio::spawn(async move {
        let started = match plan_rx.await {
            Ok(Ok((plan, body))) => Ok(Pipeline { plan, done, body }),
            Ok(Err(e)) => Err(e),
            Err(_) => match done.await {
                Ok(Err(e)) => Err(e),
                _ => Err(CodecError::InvalidOption(
                    "the codec pipeline stopped".into(),
                )),
            },
        };
        let _ = out_tx.send(started);
    });
    out_rx
}

/// The request fields that outlive the pipeline (which consumes the input).
struct RequestMeta {
    language: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    want_duration: bool,
}

impl Transcriber {
    /// A client for the endpoint at `url`.
    pub fn new(http: reqwest::Client, auth: AuthStore, url: impl Into<String>) -> Self {
        Self::with_pool(http, AccountPool::single(auth), url)
    }

    /// A client for the endpoint at `url` over an account pool.
    pub fn with_pool(http: reqwest::Client, accounts: AccountPool, url: impl Into<String>) -> Self {
        Transcriber {
            http,
            accounts,
            url: url.into(),
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn form(&self, meta: &RequestMeta, plan: &Plan, body: Body) -> Result<Form, TranscribeError> {
        let filename = meta
            .filename
            .clone()
            .unwrap_or_else(|| format!("audio.{}", plan.extension()));
        let content_type = meta.content_type.as_deref().unwrap_or(plan.mime_type());
        let part = Part::stream(body)
            .file_name(filename)
            .mime_str(content_type)
            .map_err(|e| {
                TranscribeError::Transport(format!("content type {content_type:?}: {e}"))
            })?;
        let mut form = Form::new().part("file", part);
        if let Some(language) = &meta.language {
            form = form.text("language", language.clone());
        }
        Ok(form)
    }

    /// Send the request again with the spooled body.
    async fn replay(
        &self,
        creds: &Credentials,
        meta: &RequestMeta,
        plan: &Plan,
        spool: &mut std::fs::File,
    ) -> Result<reqwest::Response, TranscribeError> {
        spool.seek(SeekFrom::Start(0)).map_err(CodecError::Io)?;
        let file = tokio::fs::File::from_std(spool.try_clone().map_err(CodecError::Io)?);
        let body = Body::wrap_stream(ReaderStream::new(file));
        self.send(creds, self.form(meta, plan, body)?).await
    }

    async fn send(
        &self,
        creds: &Credentials,
        form: Form,
    ) -> Result<reqwest::Response, TranscribeError> {
        creds
            .apply(self.http.post(&self.url))
            .header("originator", ORIGINATOR)
            .header(reqwest::header::USER_AGENT, user_agent())
            .multipart(form)
            .send()
            .await
            .map_err(|e| TranscribeError::Transport(error_chain(&e)))
    }

    /// Transcribe `req`: stream it through the codec pipeline into the upload, refresh and
    /// replay once on 401.
    ///
    /// # Errors
    /// [`TranscribeError`]: codec errors before or during the upload (the upload is aborted),
    /// auth errors, the endpoint's error status, transport failures.
    pub async fn transcribe(
        &self,
        req: TranscribeRequest,
    ) -> Result<Transcription, TranscribeError> {
        let mut tried = Vec::new();
        let mut lease = self.accounts.acquire(None, &tried).await?;
        let creds = self.accounts.credentials(&lease).await?;
        let meta = RequestMeta {
            language: req.language,
            filename: req.filename,
            content_type: req.content_type,
            want_duration: req.want_duration,
        };
        let Pipeline { plan, done, body } = start_pipeline(req.input, req.options, req.progress)
            .await
            .map_err(|_| TranscribeError::Transport("the codec pipeline stopped".into()))??;
        tracing::debug!(
            input = plan.input.name(),
            upload = plan.mime_type(),
            passthrough = plan.is_passthrough(),
            "transcribe: plan"
        );
        let live = Body::wrap_stream(ReceiverStream::new(body));
        let first = self.send(&creds, self.form(&meta, &plan, live)?).await;
        // The pipeline's own error wins over the transport error it caused.
        let (summary, mut spool) = match done.await {
            Ok(Ok(finished)) => finished,
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => return Err(TranscribeError::Transport(format!("codec thread: {e}"))),
        };
        // A server that rejects the request (401) before reading the body may reset the
        // connection while the body is still being written: the client then sees a transport
        // error instead of the status. So a transport failure of the live attempt is replayed once
        // from the spool with the same login, and a 401 on any attempt refreshes once.
        let (mut creds, mut refreshed, mut replayed) = (creds, false, false);
        let mut attempt = first;
        let response = loop {
            attempt = match attempt {
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED && !refreshed => {
                    tracing::info!(
                        "transcribe: 401, refreshing the login and replaying from the spool"
                    );
                    creds = self.accounts.refresh(&lease, &creds).await?;
                    refreshed = true;
                    self.replay(&creds, &meta, &plan, &mut spool).await
                }
                Ok(r) if matches!(r.status().as_u16(), 403 | 429) && self.accounts.len() > 1 => {
                    lease = self.move_on(r, &lease, &mut tried).await?;
                    creds = self.accounts.credentials(&lease).await?;
                    refreshed = false;
                    self.replay(&creds, &meta, &plan, &mut spool).await
                }
                Err(TranscribeError::Transport(e)) if !replayed => {
                    tracing::info!(error = %e, "transcribe: transport error, replaying from the spool");
                    replayed = true;
                    self.replay(&creds, &meta, &plan, &mut spool).await
                }
                other => break other?,
            };
        };
        let text = read_text(response).await?;
        let duration_seconds = match summary.duration_seconds {
            Some(d) => Some(d),
            None if meta.want_duration => spool_duration(spool).await,
            None => None,
        };
        Ok(Transcription {
            text,
            duration_seconds,
            plan,
            bytes_sent: summary.bytes_out,
        })
    }
}

/// One encoded file held in memory (a segment of long audio), to transcribe on its own.
#[derive(Debug, Clone)]
pub struct UploadPart {
    /// The file's bytes.
    pub bytes: Bytes,
    /// The `file` part's file name.
    pub filename: String,
    /// The `file` part's content type.
    pub content_type: String,
    /// ISO-639-1 language hint.
    pub language: Option<String>,
}

impl Transcriber {
    /// Upload one in-memory file. A 401 refreshes the login once (single-flight, shared with
    /// every other request of this account) and resends; other failures are returned for
    /// the caller's retry policy.
    ///
    /// # Errors
    /// As [`Transcriber::transcribe`], without codec errors.
    pub async fn transcribe_part(&self, part: &UploadPart) -> Result<String, TranscribeError> {
        let mut tried = Vec::new();
        let mut lease = self.accounts.acquire(None, &tried).await?;
        let mut creds = self.accounts.credentials(&lease).await?;
        let mut refreshed = false;
        loop {
            let body = Body::from(part.bytes.clone());
            let file = Part::stream_with_length(body, part.bytes.len() as u64)
                .file_name(part.filename.clone())
                .mime_str(&part.content_type)
                .map_err(|e| {
                    TranscribeError::Transport(format!("content type {:?}: {e}", part.content_type))
                })?;
            let mut form = Form::new().part("file", file);
            if let Some(language) = &part.language {
                form = form.text("language", language.clone());
            }
            let response = self.send(&creds, form).await?;
            if response.status() == StatusCode::UNAUTHORIZED && !refreshed {
                tracing::info!(file = %part.filename, "transcribe: 401, refreshing the login");
                creds = self.accounts.refresh(&lease, &creds).await?;
                refreshed = true;
                continue;
            }
            if matches!(response.status().as_u16(), 403 | 429) && self.accounts.len() > 1 {
                lease = self.move_on(response, &lease, &mut tried).await?;
                creds = self.accounts.credentials(&lease).await?;
                refreshed = false;
                continue;
            }
            return read_text(response).await;
        }
    }
}

impl Transcriber {
    /// Records a 429 / 403 answer on `lease` and picks the next account.
    ///
    /// # Errors
    /// The answer as [`TranscribeError::Status`] when the pool keeps the account or when no
    /// other account can take the request.
    async fn move_on(
        &self,
        r: reqwest::Response,
        lease: &Lease,
        tried: &mut Vec<usize>,
    ) -> Result<Lease, TranscribeError> {
        let status = r.status().as_u16();
        let header_retry = r
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(std::time::Duration::from_secs_f64);
        let body = r
            .bytes()
            .await
            .map_err(|e| TranscribeError::Transport(error_chain(&e)))?;
        let parsed = super::responses::parse_status_error(status, &body, header_retry);
        let moved = self
            .accounts
            .refused(
                lease,
                status,
                parsed.retry_after,
                parsed.resets_at,
                &parsed.message,
            )
            .await;
        let end = body.len().min(ERROR_BODY_CLIP);
        let as_error = || TranscribeError::Status {
            status,
            body: String::from_utf8_lossy(&body[..end]).into_owned(),
        };
        if !moved {
            return Err(as_error());
        }
        tried.push(lease.index);
        crate::metrics::record_retry(if status == 429 {
            "rate_limited"
        } else {
            "forbidden"
        });
        match self.accounts.acquire(None, tried).await {
            Ok(next) => Ok(next),
            Err(e @ PoolError::AllCoolingDown { .. }) => Err(e.into()),
            Err(_) => Err(as_error()),
        }
    }
}

/// Decode the spooled passthrough upload to learn its duration.
async fn spool_duration(mut spool: std::fs::File) -> Option<f64> {
    tokio::task::spawn_blocking(move || {
        spool.seek(SeekFrom::Start(0)).ok()?;
        let report = codex_pipe_codecs::probe(Input::File(spool), &Default::default()).ok()?;
        report.decoded.ok().map(|d| d.duration_seconds())
    })
    .await
    .ok()
    .flatten()
}

async fn read_text(response: reqwest::Response) -> Result<String, TranscribeError> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| TranscribeError::Transport(error_chain(&e)))?;
    if !status.is_success() {
        let end = body.len().min(ERROR_BODY_CLIP);
        return Err(TranscribeError::Status {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body[..end]).into_owned(),
        });
    }
    serde_json::from_slice::<TextResponse>(&body)
        .map(|r| r.text)
        .map_err(|e| {
            let end = body.len().min(200);
            TranscribeError::BadResponse(format!("{e}: {}", String::from_utf8_lossy(&body[..end])))
        })
}

/// An error with its sources, for messages (reqwest's Display hides the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
