//! The stream driver: runs a stateful [`Transcoder`] over a byte stream cut into frames by a
//! [`Decoder`], and yields the transcoder's output bytes chunk by chunk.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::Stream;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tokio_util::codec::Decoder;

use crate::error::{DriveError, FrameError};

/// What to do after a recoverable framing error (one whose [`FrameError::can_continue`] is
/// `true`, e.g. one over-long event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Skip the bad frame and keep going.
    Continue,
    /// End the stream with [`DriveError::Framing`].
    Stop,
}

/// A stateful per-stream translator: frames in, bytes out.
///
/// The driver calls [`on_frame`](Transcoder::on_frame) for every decoded frame in order, then
/// exactly one of [`finish`](Transcoder::finish) (the upstream ended cleanly) or
/// [`on_error`](Transcoder::on_error) (the stream failed). Everything written into `out` is
/// sent downstream as soon as the input chunk that produced it is handled.
pub trait Transcoder {
    /// The frame type produced by the decoder (e.g. [`crate::SseEvent`]).
    type Frame;
    /// The transcoder's own error type.
    type Error;

    /// Handles one frame, writing any output bytes into `out`.
    ///
    /// # Errors
    /// An error ends the stream with [`DriveError::Transcoder`] (after
    /// [`on_error`](Transcoder::on_error) had its chance to write an in-band error).
    fn on_frame(&mut self, frame: Self::Frame, out: &mut BytesMut) -> Result<(), Self::Error>;

    /// The upstream ended cleanly (after the decoder's end-of-stream handling); write any
    /// closing bytes (a final event, a terminator).
    ///
    /// # Errors
    /// An error (e.g. "stream closed before the terminal event") ends the stream with
    /// [`DriveError::Transcoder`] after [`on_error`](Transcoder::on_error).
    fn finish(&mut self, out: &mut BytesMut) -> Result<(), Self::Error>;

    /// A recoverable framing error happened (the decoder dropped one frame). The default stops
    /// the stream; return [`Recovery::Continue`] to skip the frame (optionally writing
    /// something into `out`).
    fn on_frame_error(&mut self, err: &FrameError, out: &mut BytesMut) -> Recovery {
        let _ = (err, out);
        Recovery::Stop
    }

    /// The stream failed with `err`; write an in-band error (an `event: error` block, an
    /// NDJSON `{"error":…}` line) into `out` if the protocol has one. The default writes
    /// nothing. The driver yields these bytes, then the error, then ends.
    fn on_error<E>(&mut self, err: &DriveError<Self::Error, E>, out: &mut BytesMut) {
        let _ = (err, out);
    }

    /// The upstream was silent for the keep-alive interval ([`DriveConfig::keep_alive`]); write
    /// the keep-alive into `out`. The default writes the configured `frame`; a transcoder may
    /// write something else first (a protocol that must open its answer before a keep-alive
    /// is legal) or nothing at all.
    fn on_keep_alive(&mut self, frame: &Bytes, out: &mut BytesMut) {
        out.extend_from_slice(frame);
    }
}

/// Timing options of a [`Drive`] stream. Both timers need a tokio runtime with the time
/// driver enabled; with both `None` the driver runs on any executor.
#[derive(Debug, Clone, Default)]
pub struct DriveConfig {
    /// Send these bytes after this long without any output (e.g. `SseEncoder::KEEP_ALIVE`
    /// every 15 s), and again each interval while the upstream stays silent.
    pub keep_alive: Option<(Duration, Bytes)>,
    /// End the stream with [`DriveError::IdleTimeout`] when no upstream chunk arrives for this
    /// long (keep-alives sent downstream do not count as upstream activity).
    pub idle_timeout: Option<Duration>,
    /// Coalesce output (bytes): after an upstream chunk, keep reading chunks that are *already*
    /// available and yield their output together, while it is shorter than this many bytes
    /// (and at most 64 chunks). Nothing ever waits
    /// for a chunk that has not arrived, so no latency is added: a slow stream still yields
    /// one output chunk per upstream chunk, while a burst (a proxy catching up, a fast
    /// upstream) leaves in one body write instead of one per event. `None` (the default): one
    /// output chunk per upstream chunk.
    pub coalesce_bytes: Option<usize>,
}

impl DriveConfig {
    /// Sets [`DriveConfig::keep_alive`].
    pub fn keep_alive(mut self, every: Duration, bytes: impl Into<Bytes>) -> Self {
        self.keep_alive = Some((every, bytes.into()));
        self
    }

    /// Sets [`DriveConfig::idle_timeout`].
    pub fn idle_timeout(mut self, after: Duration) -> Self {
        self.idle_timeout = Some(after);
        self
    }

    /// Sets [`DriveConfig::coalesce_bytes`].
    pub fn coalesce(mut self, max_bytes: usize) -> Self {
        self.coalesce_bytes = Some(max_bytes);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Yield the stored error next.
    Failing,
    Done,
}

pin_project! {
    /// A stream of output chunks produced by running a [`Transcoder`] over an upstream byte
    /// stream; build it with [`Drive::new`] or [`crate::ByteStreamExt::transcode`].
    ///
    /// Items: `Ok(bytes)` for each non-empty batch of output (one per upstream chunk that
    /// produced output, one per keep-alive), then, if the stream failed, one `Err` as the last
    /// item (any in-band error bytes written by [`Transcoder::on_error`] come as an `Ok` just
    /// before it). The upstream is polled only when this stream is polled (back-pressure), and
    /// dropping this stream drops the upstream (cancellation).
    #[must_use = "streams do nothing unless polled"]
    pub struct Drive<S, D, T: Transcoder, E> {
        #[pin]
        upstream: S,
        decoder: D,
        transcoder: T,
        config: DriveConfig,
        input: BytesMut,
        out: BytesMut,
        keep_alive: Option<Pin<Box<Sleep>>>,
        idle: Option<Pin<Box<Sleep>>>,
        error: Option<DriveError<T::Error, E>>,
        state: State,
    }
}

impl<S, D, T, E> Drive<S, D, T, E>
where
    S: Stream<Item = Result<Bytes, E>>,
    D: Decoder<Item = T::Frame, Error = FrameError>,
    T: Transcoder,
{
    /// Runs `transcoder` over the frames `decoder` cuts from `upstream`.
    ///
    /// # Panics
    /// When `config` sets a timer and this is called outside a tokio runtime with the time
    /// driver enabled (tokio's `sleep` requirement).
    pub fn new(upstream: S, decoder: D, transcoder: T, config: DriveConfig) -> Self {
        let keep_alive = config
            .keep_alive
            .as_ref()
            .map(|(every, _)| Box::pin(tokio::time::sleep(*every)));
        let idle = config
            .idle_timeout
            .map(|after| Box::pin(tokio::time::sleep(after)));
        Self {
            upstream,
            decoder,
            transcoder,
            config,
            input: BytesMut::new(),
            out: BytesMut::new(),
            keep_alive,
            idle,
            error: None,
            state: State::Running,
        }
    }

    /// The transcoder (e.g. to read its state after the stream ended).
    pub fn transcoder(&self) -> &T {
        &self.transcoder
    }

    /// The transcoder, mutably: the caller may let it write between two items (an in-band
    /// error after the stream failed, a commit once the first bytes left).
    pub fn transcoder_mut(self: Pin<&mut Self>) -> &mut T {
        self.project().transcoder
    }
}

/// Most upstream chunks read in one [`Drive`] poll when coalescing (a bound on the work done
/// before yielding to the executor).
const MAX_COALESCED_CHUNKS: usize = 64;

/// Moves `out`'s bytes into a chunk, or `None` when there are none.
fn take(out: &mut BytesMut) -> Option<Bytes> {
    (!out.is_empty()).then(|| out.split().freeze())
}

/// Feeds every frame the decoder can cut from `input` to the transcoder.
fn decode_all<D, T, E>(
    decoder: &mut D,
    transcoder: &mut T,
    input: &mut BytesMut,
    out: &mut BytesMut,
    eof: bool,
) -> Result<(), DriveError<T::Error, E>>
where
    D: Decoder<Item = T::Frame, Error = FrameError>,
    T: Transcoder,
{
    loop {
        let next = if eof {
            decoder.decode_eof(input)
        } else {
            decoder.decode(input)
        };
        match next {
            Ok(Some(frame)) => transcoder
                .on_frame(frame, out)
                .map_err(DriveError::Transcoder)?,
            Ok(None) => return Ok(()),
            Err(err) => {
                if err.can_continue() && transcoder.on_frame_error(&err, out) == Recovery::Continue
                {
                    continue;
                }
                return Err(DriveError::Framing(err));
            }
        }
    }
}

impl<S, D, T, E> Stream for Drive<S, D, T, E>
where
    S: Stream<Item = Result<Bytes, E>>,
    D: Decoder<Item = T::Frame, Error = FrameError>,
    T: Transcoder,
{
    type Item = Result<Bytes, DriveError<T::Error, E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let mut chunks_read = 0usize;
        loop {
            match *this.state {
                State::Done => return Poll::Ready(None),
                State::Failing => {
                    *this.state = State::Done;
                    return Poll::Ready(this.error.take().map(Err));
                }
                State::Running => {}
            }
            let mut waiting = false;
            let failure = match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    chunks_read += 1;
                    if let (Some(timer), Some(after)) =
                        (this.idle.as_mut(), this.config.idle_timeout)
                    {
                        timer.as_mut().reset(Instant::now() + after);
                    }
                    this.input.extend_from_slice(&chunk);
                    decode_all(this.decoder, this.transcoder, this.input, this.out, false).err()
                }
                Poll::Ready(Some(Err(err))) => Some(DriveError::Transport(err)),
                Poll::Ready(None) => {
                    let ended =
                        decode_all(this.decoder, this.transcoder, this.input, this.out, true)
                            .and_then(|()| {
                                this.transcoder
                                    .finish(this.out)
                                    .map_err(DriveError::Transcoder)
                            });
                    match ended {
                        Ok(()) => {
                            *this.state = State::Done;
                            return Poll::Ready(take(this.out).map(Ok));
                        }
                        Err(err) => Some(err),
                    }
                }
                // Output from chunks read in this poll leaves now; the timers are looked at
                // on the next poll, which comes at once.
                Poll::Pending if !this.out.is_empty() => {
                    waiting = true;
                    None
                }
                Poll::Pending => {
                    waiting = true;
                    let idle_expired = this
                        .idle
                        .as_mut()
                        .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
                    if idle_expired {
                        let after = this.config.idle_timeout.unwrap_or_default();
                        Some(DriveError::IdleTimeout { after })
                    } else {
                        if let (Some(timer), Some((_, bytes))) =
                            (this.keep_alive.as_mut(), this.config.keep_alive.as_ref())
                        {
                            if timer.as_mut().poll(cx).is_ready() {
                                this.transcoder.on_keep_alive(bytes, this.out);
                                if this.out.is_empty() {
                                    // Nothing was written: wait a whole interval again.
                                    let every = this.config.keep_alive.as_ref().map(|k| k.0);
                                    if let Some(every) = every {
                                        timer.as_mut().reset(Instant::now() + every);
                                        let _ = timer.as_mut().poll(cx);
                                    }
                                }
                            }
                        }
                        None
                    }
                }
            };
            if let Some(err) = failure {
                this.transcoder.on_error(&err, this.out);
                *this.error = Some(err);
                *this.state = State::Failing;
            }
            let more = !waiting
                && *this.state == State::Running
                && chunks_read < MAX_COALESCED_CHUNKS
                && this
                    .config
                    .coalesce_bytes
                    .is_some_and(|limit| this.out.len() < limit);
            if more {
                continue;
            }
            if let Some(chunk) = take(this.out) {
                // Any output restarts the keep-alive interval; the timer registers its new
                // deadline the next time the upstream is pending.
                if let (Some(timer), Some((every, _))) =
                    (this.keep_alive.as_mut(), this.config.keep_alive.as_ref())
                {
                    timer.as_mut().reset(Instant::now() + *every);
                }
                return Poll::Ready(Some(Ok(chunk)));
            }
            if waiting && *this.state == State::Running {
                return Poll::Pending;
            }
        }
    }
}
