//! The one translator every surface runs: upstream Responses SSE events in, one downstream
//! protocol's bytes out.
//!
//! ```text
//! upstream SseEvent ─► Egress::upstream_event (passthrough egresses copy it)
//!                  └─► ResponsesIngress::push ─► ChatEvent* ─► hold back / commit ─► Egress::write ─► out
//!                                                          └─ Error before commit ─► pending (an HTTP error)
//!                                                          └─ Error after commit ──► Egress::write_error (in-band)
//! ```
//!
//! What [`Translator`] owns, once for every protocol:
//!
//! - **Hold back, then commit.** In a streamed answer, metadata (`Start`) is held until the
//!   first content event, so that a failure that comes first (`response.failed` with
//!   `context_length_exceeded`, a rate limit) is still answered with an HTTP status and the
//!   protocol's error body ([`Translator::pending`]). The first content event, or a keep-alive
//!   that must reach the client, commits: the held events are written and every later failure
//!   is written in-band.
//! - **The in-band error after commit**, exactly once, in the protocol's shape
//!   ([`Egress::write_error`]), for an upstream `error` / `response.failed` event, a premature
//!   end, a broken connection or an idle timeout ([`Translator::fail`]).
//! - **One policy for bad upstream events**, streamed or not: a malformed non-terminal event
//!   and an oversized event are skipped with a warning; a malformed terminal event ends the
//!   answer with [`FailureKind::MalformedStream`].
//! - **The non-streaming answer is a fold over the same events**: a fold egress writes nothing
//!   until `Finish`, then the whole body; any failure before that is an HTTP error.
//!
//! Adding a protocol means writing its [`Egress`] (a streaming one and a fold), its request
//! ingress and its `error.rs`, and one [`Protocol`] variant; this file does not change.

use bytes::{Bytes, BytesMut};
use codex_pipe_engine::{DriveError, FrameError, Recovery, SseEvent, Transcoder};

use crate::canonical::{
    ApiError, ChatEvent, ErrorResponse, FailureKind, ProtocolError, UpstreamFailure, Usage,
};
use crate::responses::{ResponsesIngress, ToolNameMap};

/// The client protocols, for what depends only on the protocol: the error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// OpenAI: Chat Completions, Responses, audio transcriptions, models.
    OpenAi,
    /// Gemini API: `generateContent`, `streamGenerateContent`, `countTokens`, models.
    Gemini,
    /// Ollama: `/api/chat`, `/api/generate`, `/api/tags`, `/api/show`…
    Ollama,
    /// Anthropic Messages.
    Anthropic,
}

impl Protocol {
    /// `err` in this protocol's error shape: status, `Retry-After`, body.
    pub fn error_response(self, err: &ApiError) -> ErrorResponse {
        match self {
            Self::OpenAi => crate::openai_chat::error_response(err),
            Self::Gemini => crate::gemini::error_response(err),
            Self::Ollama => crate::ollama::error_response(err),
            Self::Anthropic => crate::anthropic::error_response(err),
        }
    }
}

/// One downstream protocol's output side: canonical events (or raw upstream events, for a
/// passthrough) → the protocol's bytes.
///
/// A streaming egress writes each event's frames as they come; a fold egress (the
/// non-streaming answer) writes nothing until [`ChatEvent::Finish`] and then the whole body.
pub trait Egress {
    /// The protocol, for error answers before commit.
    fn protocol(&self) -> Protocol;

    /// True for a streaming egress, false for a fold.
    fn is_streaming(&self) -> bool;

    /// `Content-Type` of a successful answer (`text/event-stream`, `application/x-ndjson`,
    /// `application/json`).
    fn content_type(&self) -> &'static str;

    /// True (the default) when the egress wants metadata held back until the first content
    /// event, so that a failure that comes first is an HTTP error. A passthrough that must
    /// forward the backend's events as they come (`response.created` at once, failures as the
    /// backend's own in-band events) returns false: it commits on the first upstream event.
    fn holds_back(&self) -> bool {
        true
    }

    /// The frame written during upstream silences once committed (an SSE comment, an
    /// Anthropic `ping`), or `None` when the protocol has none (NDJSON, Gemini, a fold).
    fn keep_alive(&self) -> Option<&'static [u8]> {
        None
    }

    /// Sees every upstream event before the canonical events made from it. A passthrough
    /// egress copies it here (and writes it at [`Egress::flush`]); others ignore it.
    fn upstream_event(&mut self, event: &SseEvent) {
        let _ = event;
    }

    /// Writes the output for one canonical event (never [`ChatEvent::Error`]: failures go to
    /// [`Egress::write_error`]).
    ///
    /// # Errors
    /// [`ProtocolError::Serialize`], which the wire types never produce.
    fn write(&mut self, event: &ChatEvent, out: &mut BytesMut) -> Result<(), ProtocolError>;

    /// Called after each upstream event was handled; `committed` says whether output may
    /// leave. A passthrough egress writes what it copied.
    fn flush(&mut self, committed: bool, out: &mut BytesMut) {
        let _ = (committed, out);
    }

    /// Writes the in-band error of a committed stream; the stream ends after it. An egress
    /// that already ended (after `Finish`) writes nothing.
    fn write_error(&mut self, error: &ApiError, out: &mut BytesMut);
}

/// The upstream Responses stream → one protocol, as an [`engine::Transcoder`] over SSE events
/// (see the module docs).
///
/// [`engine::Transcoder`]: codex_pipe_engine::Transcoder
#[derive(Debug)]
pub struct Translator<E> {
    ingress: ResponsesIngress,
    egress: E,
    events: Vec<ChatEvent>,
    held: Vec<ChatEvent>,
    pending: Option<UpstreamFailure>,
    committed: bool,
    ended: bool,
    usage: Option<Usage>,
    upstream_events: u64,
    /// Why an upstream event was skipped as oversized, if one was: a stream that then ends
    /// without its terminal event is reported as that, not as a plain premature close.
    skipped: Option<String>,
}

impl<E: Egress> Translator<E> {
    /// A translator for one answer; `tool_names` restores tool names the request encoder
    /// shortened.
    pub fn new(tool_names: ToolNameMap, egress: E) -> Self {
        Self {
            ingress: ResponsesIngress::new(tool_names),
            egress,
            events: Vec::new(),
            held: Vec::new(),
            pending: None,
            committed: false,
            ended: false,
            usage: None,
            upstream_events: 0,
            skipped: None,
        }
    }

    /// `failure`, or for a premature close after an oversized event was skipped, a 502 that
    /// says so (`upstream_event_too_large`): the terminal event was most likely the one
    /// skipped.
    fn explain(&self, failure: UpstreamFailure) -> UpstreamFailure {
        match &self.skipped {
            Some(why) if failure.kind == FailureKind::PrematureClose => UpstreamFailure::new(
                FailureKind::MalformedStream,
                "upstream_event_too_large",
                format!("the upstream stream ended without response.completed after an event was skipped ({why})"),
            ),
            _ => failure,
        }
    }

    /// The egress.
    pub fn egress(&self) -> &E {
        &self.egress
    }

    /// True once output may have reached the client: failures are in-band from then on.
    pub fn is_committed(&self) -> bool {
        self.committed
    }

    /// A failure that came before commit: the HTTP error to answer with.
    pub fn pending(&self) -> Option<&UpstreamFailure> {
        self.pending.as_ref()
    }

    /// The token counts of the answer, once the upstream sent them.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// How many upstream events were read.
    pub fn upstream_events(&self) -> u64 {
        self.upstream_events
    }

    /// Output is about to reach the client (e.g. a keep-alive the driver wrote): write what
    /// was held back, after which failures go in-band. A fold never commits.
    pub fn commit(&mut self, out: &mut BytesMut) -> Result<(), ProtocolError> {
        if self.committed || !self.egress.is_streaming() {
            return Ok(());
        }
        self.committed = true;
        for event in std::mem::take(&mut self.held) {
            self.egress.write(&event, out)?;
        }
        self.egress.flush(true, out);
        Ok(())
    }

    /// The stream failed with `err` (after the driver stopped). After commit the in-band error
    /// is written into `out` and `None` returned; before commit nothing is written and the
    /// error to answer with is returned (the pending upstream failure if there is one).
    pub fn fail(
        &mut self,
        err: &DriveError<ProtocolError, UpstreamFailure>,
        out: &mut BytesMut,
    ) -> Option<ApiError> {
        let failure = self
            .pending
            .clone()
            .unwrap_or_else(|| failure_of_drive(err));
        if self.committed {
            self.end_in_band(&failure, out);
            None
        } else {
            Some(ApiError::from(&failure))
        }
    }

    /// The error to answer with when the stream ended before any output (a fold whose
    /// upstream failed, or an empty stream).
    pub fn failure_before_output(&self) -> ApiError {
        ApiError::from(
            &self
                .pending
                .clone()
                .unwrap_or_else(|| self.explain(UpstreamFailure::premature_close())),
        )
    }

    fn end_in_band(&mut self, failure: &UpstreamFailure, out: &mut BytesMut) {
        if !self.ended {
            self.ended = true;
            self.egress.write_error(&ApiError::from(failure), out);
        }
    }

    fn drain(&mut self, out: &mut BytesMut) -> Result<(), ProtocolError> {
        let streaming = self.egress.is_streaming();
        let mut events = std::mem::take(&mut self.events);
        let mut result = Ok(());
        for event in events.drain(..) {
            if self.ended {
                break;
            }
            match event {
                ChatEvent::Error(failure) if self.committed => {
                    let failure = self.explain(failure);
                    self.end_in_band(&failure, out);
                }
                ChatEvent::Error(failure) => {
                    self.pending = Some(self.explain(failure));
                    self.ended = true;
                }
                event => {
                    if let ChatEvent::Usage(usage) = &event {
                        self.usage = Some(*usage);
                    }
                    if streaming && !self.committed {
                        if event.is_metadata() {
                            self.held.push(event);
                            continue;
                        }
                        if let Err(e) = self.commit(out) {
                            result = Err(e);
                            break;
                        }
                    }
                    let finish = matches!(event, ChatEvent::Finish(_));
                    if let Err(e) = self.egress.write(&event, out) {
                        result = Err(e);
                        break;
                    }
                    if finish {
                        self.ended = true;
                    }
                }
            }
        }
        self.events = events;
        self.egress.flush(self.committed, out);
        result
    }
}

impl<E: Egress> Transcoder for Translator<E> {
    type Frame = SseEvent;
    type Error = ProtocolError;

    fn on_frame(&mut self, frame: SseEvent, out: &mut BytesMut) -> Result<(), ProtocolError> {
        self.upstream_events += 1;
        if self.ended {
            return Ok(());
        }
        self.egress.upstream_event(&frame);
        if !self.committed && !self.egress.holds_back() {
            self.commit(out)?;
        }
        match self.ingress.push(frame.data(), &mut self.events) {
            Ok(()) => {}
            Err(e) if e.can_continue() => {
                tracing::warn!(error = %e, "skipping a malformed upstream event");
            }
            Err(e) => return Err(e),
        }
        self.drain(out)
    }

    fn finish(&mut self, out: &mut BytesMut) -> Result<(), ProtocolError> {
        self.ingress.finish(&mut self.events);
        self.drain(out)?;
        match &self.pending {
            Some(failure) if !self.committed => Err(ProtocolError::Upstream(failure.clone())),
            _ => Ok(()),
        }
    }

    fn on_frame_error(&mut self, err: &FrameError, _out: &mut BytesMut) -> Recovery {
        tracing::warn!(error = %err, "skipping an oversized upstream event");
        self.skipped = Some(err.to_string());
        Recovery::Continue
    }

    fn on_keep_alive(&mut self, frame: &Bytes, out: &mut BytesMut) {
        if self.ended || !self.egress.is_streaming() {
            return;
        }
        if self.egress.keep_alive().is_none() {
            return;
        }
        let start = out.len();
        if self.commit(out).is_err() {
            out.truncate(start);
            return;
        }
        out.extend_from_slice(frame);
    }
}

/// Why a stream driven over the upstream body stopped, as one [`UpstreamFailure`].
pub fn failure_of_drive(err: &DriveError<ProtocolError, UpstreamFailure>) -> UpstreamFailure {
    match err {
        DriveError::Transcoder(ProtocolError::Upstream(f)) | DriveError::Transport(f) => f.clone(),
        DriveError::Transcoder(e) => UpstreamFailure::new(
            FailureKind::MalformedStream,
            "malformed_upstream_event",
            e.to_string(),
        ),
        DriveError::Framing(e) => UpstreamFailure::new(
            FailureKind::MalformedStream,
            "malformed_upstream_stream",
            format!("the Codex backend stream could not be read: {e}"),
        ),
        DriveError::IdleTimeout { after } => UpstreamFailure::new(
            FailureKind::IdleTimeout,
            "upstream_idle_timeout",
            format!(
                "the Codex backend sent nothing for {} s",
                after.as_secs_f64()
            ),
        ),
        other => UpstreamFailure::new(
            FailureKind::Other,
            "upstream_error",
            format!("upstream stream failed ({})", other.kind()),
        ),
    }
}
