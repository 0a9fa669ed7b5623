//! `--usage-log FILE`: one JSON line per finished request, appended by a background task so the
//! request path only hands a small record to a channel.
//!
//! ```json
//! {"time":"2026-12-01T12:34:56.789Z","key":"alice","surface":"chat","model":"gpt-5.4","account":"work","status":200,
//!  "input_tokens":12,"cached_input_tokens":0,"output_tokens":34,"reasoning_output_tokens":0,"latency_ms":812.4,"ttfb_ms":95.1}
//! ```
//!
//! Never a token, a key's value or message text: only names, counts and times. `key` is the
//! client key's *name* from `--api-keys-file` (absent with a single `--api-key` or none);
//! `account` the pool account that served the request (absent when none did). The channel holds
//! [`QUEUE_LINES`] records; when the disk cannot keep up, further records are dropped and
//! counted (`dropped()`), never blocking a request.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

use crate::auth::file::rfc3339_utc_millis;
use crate::metrics::RequestRecord;

/// Records waiting to be written, at most.
pub const QUEUE_LINES: usize = 8192;

/// One line of the log.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageLine {
    /// When the request finished, RFC 3339 UTC with milliseconds.
    pub time: String,
    /// The client key's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The surface (`chat`, `responses`, …).
    pub surface: &'static str,
    /// The model asked for.
    pub model: String,
    /// The account that served it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// Prompt tokens, cached included.
    pub input_tokens: u64,
    /// Of those, served from the prompt cache.
    pub cached_input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Of those, reasoning.
    pub reasoning_output_tokens: u64,
    /// Arrival to last byte, milliseconds.
    pub latency_ms: f64,
    /// Arrival to first byte, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<f64>,
}

impl UsageLine {
    /// The line for `record`, served by `account`, finished at `time`.
    pub fn new(record: &RequestRecord, account: Option<&str>, time: SystemTime) -> Self {
        let u = record.usage.unwrap_or_default();
        let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
        UsageLine {
            time: rfc3339_utc_millis(time),
            key: record.key.as_deref().map(str::to_owned),
            surface: record.surface,
            model: record.model.clone(),
            account: account.map(str::to_owned),
            status: record.status,
            input_tokens: u.input_tokens,
            cached_input_tokens: u.cached_input_tokens,
            output_tokens: u.output_tokens,
            reasoning_output_tokens: u.reasoning_output_tokens,
            latency_ms: ms(record.latency),
            ttfb_ms: record.ttfb.map(ms),
        }
    }
}

/// The writer's handle. Cheap to clone.
#[derive(Clone)]
pub struct UsageLog {
    tx: mpsc::Sender<UsageLine>,
    dropped: Arc<AtomicU64>,
    path: Arc<PathBuf>,
}

impl UsageLog {
    /// Opens `path` for appending (created mode 0600 if missing) and starts the writer task on
    /// the current tokio runtime.
    ///
    /// # Errors
    /// The open error.
    pub async fn open(path: &Path) -> std::io::Result<Self> {
        let mut options = tokio::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options.open(path).await?;
        let (tx, rx) = mpsc::channel(QUEUE_LINES);
        tokio::spawn(write_lines(file, rx, path.to_path_buf()));
        Ok(UsageLog {
            tx,
            dropped: Arc::default(),
            path: Arc::new(path.to_path_buf()),
        })
    }

    /// Queues `line`; drops it (and counts it) when the queue is full.
    pub fn push(&self, line: UsageLine) {
        if self.tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes every queued line, flushing whenever the queue runs empty.
async fn write_lines(file: tokio::fs::File, mut rx: mpsc::Receiver<UsageLine>, path: PathBuf) {
    let mut out = tokio::io::BufWriter::new(file);
    let mut buf = Vec::with_capacity(512);
    let mut failed = false;
    while let Some(line) = rx.recv().await {
        let mut next = Some(line);
        while let Some(line) = next {
            buf.clear();
            if serde_json::to_writer(&mut buf, &line).is_ok() {
                buf.push(b'\n');
                if let Err(e) = out.write_all(&buf).await {
                    if !failed {
                        tracing::warn!(path = %path.display(), error = %e, "cannot write the usage log");
                        failed = true;
                    }
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = out.flush().await {
            if !failed {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the usage log");
                failed = true;
            }
        }
    }
}
