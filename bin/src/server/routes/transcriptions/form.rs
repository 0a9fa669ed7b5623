//! Reading the `multipart/form-data` body of `POST /v1/audio/transcriptions` as it arrives.
//!
//! Text fields are parsed into [`TranscriptionFields`]. When the `file` part begins, the fields
//! seen so far are handed to the upstream side ([`FileStart`]) and the part's chunks are fed
//! through a bounded channel to a blocking [`BodyReader`], which is what the codec pipeline
//! reads: the upload streams through without being held in memory, and a slow upstream slows
//! the client down (back-pressure). The OpenAI SDKs send `file` last, so every option is known
//! before the audio streams; fields after `file` still count for the response shape, but a
//! `language` after `file` is too late to be sent upstream.
//!
//! Limits: the `file` part may hold at most `max_file_bytes`; each text field
//! [`MAX_TEXT_FIELD_BYTES`]; all other parts together [`MAX_OTHER_BYTES`]. After an error the
//! rest of the body is read and discarded (at most another `max_file_bytes`) so that clients
//! which send the whole body before reading the answer (most SDKs) see the error status instead
//! of a reset connection.

use std::io::{self, Read};
use std::sync::{Mutex, PoisonError};

use axum::extract::multipart::{Field, Multipart, MultipartError};
use bytes::{Buf, Bytes};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use codex_pipe_protocols::whisper::TranscriptionFields;
use codex_pipe_protocols::{ApiError, FailureKind};

/// 400 `invalid_value` about field `param`.
fn invalid_value(param: &str, message: String) -> ApiError {
    ApiError::new(FailureKind::InvalidRequest, message)
        .with_code("invalid_value")
        .with_param(param.to_owned())
}

/// 413: the upload is larger than `limit_bytes`.
pub fn too_large(limit_bytes: u64) -> ApiError {
    ApiError::new(
        FailureKind::PayloadTooLarge,
        format!(
            "the upload is larger than this proxy's limit of {} bytes ({:.1} MB); raise --max-upload-mb or send a smaller file",
            limit_bytes,
            limit_bytes as f64 / 1_000_000.0
        ),
    )
    .with_code("file_too_large")
    .with_param("file")
}

/// Longest accepted text field (bytes).
pub const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;
/// Bytes all non-`file` parts may hold together.
pub const MAX_OTHER_BYTES: u64 = 1024 * 1024;

/// What the upstream side needs when the `file` part begins.
#[derive(Debug, Clone)]
pub struct FileStart {
    /// The fields seen before `file`.
    pub fields: TranscriptionFields,
}

/// One message from the request body to the [`BodyReader`].
#[derive(Debug)]
pub enum BodyChunk {
    /// Bytes of the `file` part.
    Data(Bytes),
    /// The `file` part ended normally.
    End,
    /// The upload failed (too large, cut off): the pipeline must not treat it as complete.
    Fail(String),
}

/// Chunks buffered between the request body and the codec thread (each at most
/// [`crate::server::serve::READ_BUFFER_BYTES`]).
pub const BODY_CHANNEL_CHUNKS: usize = 4;

/// A blocking [`Read`] over the `file` part, for [`codex_pipe_codecs::Input::Stream`]. Read it
/// only on a blocking thread (it waits with `blocking_recv`). The channel closing without
/// [`BodyChunk::End`] is an error, so a request that goes away never looks like a complete
/// file.
pub struct BodyReader {
    // `Mutex` only to make the reader `Sync` (symphonia's source requires it); `read` takes
    // `&mut self` and uses `get_mut`, so it never locks.
    state: Mutex<ReaderState>,
}

struct ReaderState {
    rx: mpsc::Receiver<BodyChunk>,
    current: Bytes,
    ended: bool,
}

impl BodyReader {
    /// A reader over the chunks sent to `rx`.
    pub fn new(rx: mpsc::Receiver<BodyChunk>) -> Self {
        BodyReader {
            state: Mutex::new(ReaderState {
                rx,
                current: Bytes::new(),
                ended: false,
            }),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        while state.current.is_empty() {
            if state.ended || buf.is_empty() {
                return Ok(0);
            }
            match state.rx.blocking_recv() {
                Some(BodyChunk::Data(bytes)) => state.current = bytes,
                Some(BodyChunk::End) => state.ended = true,
                Some(BodyChunk::Fail(why)) => return Err(io::Error::other(why)),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the request body ended before the file part was complete",
                    ))
                }
            }
        }
        let n = buf.len().min(state.current.len());
        buf[..n].copy_from_slice(&state.current[..n]);
        state.current.advance(n);
        Ok(n)
    }
}

/// Size limits of one form.
#[derive(Debug, Clone, Copy)]
pub struct FormLimits {
    /// Largest `file` part (bytes).
    pub max_file_bytes: u64,
}

/// What was read: the fields (including those after `file`) and whether a `file` part came.
#[derive(Debug)]
pub struct FormRead {
    /// Every text field.
    pub fields: TranscriptionFields,
    /// A `file` part was streamed to the body channel.
    pub had_file: bool,
}

/// Read the whole form: text fields into [`TranscriptionFields`], the first `file` part into
/// `body` (announced on `start` first). A second `file` part is read and ignored.
///
/// On an error, `failed` is cancelled at once, before the rest of the body is drained, so the
/// upstream half can stop its uploads instead of finishing them for a request that failed.
///
/// # Errors
/// 400 for a malformed body or an invalid field, 413 for a `file` over the limit or too many
/// other bytes. The rest of the body has been drained (within the budget) when this returns.
pub async fn read_form(
    multipart: &mut Multipart,
    limits: FormLimits,
    start: oneshot::Sender<FileStart>,
    body: mpsc::Sender<BodyChunk>,
    failed: &CancellationToken,
) -> Result<FormRead, ApiError> {
    let mut fields = TranscriptionFields::default();
    let mut start = Some(start);
    let mut body = Some(body);
    let mut other_bytes = 0u64;
    let mut drain_budget = limits.max_file_bytes.saturating_add(MAX_OTHER_BYTES);
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                failed.cancel();
                return Err(malformed(&e));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let outcome = if name == "file" {
            match (start.take(), body.take()) {
                (Some(start), Some(body)) => {
                    let _ = start.send(FileStart {
                        fields: fields.clone(),
                    });
                    feed_file(&mut field, limits, body).await
                }
                // A second `file` part: not ours to send.
                _ => count_other(&mut field, &mut other_bytes).await.map(drop),
            }
        } else {
            read_text(&mut field, &name, &mut other_bytes)
                .await
                .and_then(|value| fields.apply(&name, &value))
        };
        if let Err(e) = outcome {
            failed.cancel();
            discard_field(&mut field, &mut drain_budget).await;
            drop(field);
            drain(multipart, &mut drain_budget).await;
            return Err(e);
        }
    }
    Ok(FormRead {
        fields,
        had_file: start.is_none(),
    })
}

/// Stream the `file` part into `body`, enforcing the size limit.
async fn feed_file(
    field: &mut Field<'_>,
    limits: FormLimits,
    body: mpsc::Sender<BodyChunk>,
) -> Result<(), ApiError> {
    let mut received = 0u64;
    // `false` once the pipeline stopped reading (it failed early): the part is still read to
    // the end so the client gets the answer, and the size limit still applies.
    let mut live = true;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                received += chunk.len() as u64;
                if received > limits.max_file_bytes {
                    if live {
                        let _ = body
                            .send(BodyChunk::Fail("the upload exceeds the size limit".into()))
                            .await;
                    }
                    return Err(too_large(limits.max_file_bytes));
                }
                if live && body.send(BodyChunk::Data(chunk)).await.is_err() {
                    live = false;
                }
            }
            Ok(None) => {
                if live {
                    let _ = body.send(BodyChunk::End).await;
                }
                return Ok(());
            }
            Err(e) => {
                if live {
                    let _ = body.send(BodyChunk::Fail(e.body_text())).await;
                }
                return Err(malformed(&e));
            }
        }
    }
}

/// Read a text field, at most [`MAX_TEXT_FIELD_BYTES`].
async fn read_text(
    field: &mut Field<'_>,
    name: &str,
    other_bytes: &mut u64,
) -> Result<String, ApiError> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| malformed(&e))? {
        *other_bytes += chunk.len() as u64;
        if *other_bytes > MAX_OTHER_BYTES {
            return Err(other_too_large());
        }
        if value.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
            return Err(invalid_value(
                name,
                format!("the field {name:?} is longer than {MAX_TEXT_FIELD_BYTES} bytes"),
            ));
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value)
        .map_err(|_| invalid_value(name, format!("the field {name:?} is not UTF-8 text")))
}

/// Read and count a part that is not used.
async fn count_other(field: &mut Field<'_>, other_bytes: &mut u64) -> Result<(), ApiError> {
    while let Some(chunk) = field.chunk().await.map_err(|e| malformed(&e))? {
        *other_bytes += chunk.len() as u64;
        if *other_bytes > MAX_OTHER_BYTES {
            return Err(other_too_large());
        }
    }
    Ok(())
}

/// Discard the rest of `field` within `budget`; `false` when the budget ran out or it failed.
async fn discard_field(field: &mut Field<'_>, budget: &mut u64) -> bool {
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => match budget.checked_sub(chunk.len() as u64) {
                Some(left) => *budget = left,
                None => return false,
            },
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

/// Discard every remaining part within `budget`.
async fn drain(multipart: &mut Multipart, budget: &mut u64) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        if !discard_field(&mut field, budget).await {
            return;
        }
    }
}

fn malformed(e: &MultipartError) -> ApiError {
    ApiError::new(
        FailureKind::InvalidRequest,
        format!("malformed multipart/form-data body: {}", e.body_text()),
    )
    .with_code("invalid_multipart")
}

fn other_too_large() -> ApiError {
    ApiError::new(
        FailureKind::PayloadTooLarge,
        format!("the form fields other than `file` hold more than {MAX_OTHER_BYTES} bytes"),
    )
    .with_code("file_too_large")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_reader_yields_chunks_then_eof_only_after_end() {
        let (tx, rx) = mpsc::channel(4);
        let mut reader = BodyReader::new(rx);
        tx.try_send(BodyChunk::Data(Bytes::from_static(b"abc")))
            .expect("send");
        tx.try_send(BodyChunk::Data(Bytes::from_static(b"defg")))
            .expect("send");
        tx.try_send(BodyChunk::End).expect("send");
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read");
        assert_eq!(out, b"abcdefg");

        let (tx, rx) = mpsc::channel(4);
        let mut reader = BodyReader::new(rx);
        tx.try_send(BodyChunk::Data(Bytes::from_static(b"abc")))
            .expect("send");
        drop(tx);
        let e = reader.read_to_end(&mut Vec::new()).expect_err("cut off");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);

        let (tx, rx) = mpsc::channel(4);
        let mut reader = BodyReader::new(rx);
        tx.try_send(BodyChunk::Fail("too large".into()))
            .expect("send");
        let e = reader.read_to_end(&mut Vec::new()).expect_err("failed");
        assert!(e.to_string().contains("too large"));
    }
}
