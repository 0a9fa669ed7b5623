//! Byte-stream adapters: [`Frames`] (frames out of a byte stream) and the [`ByteStreamExt`]
//! extension trait, blanket-implemented for every `Stream<Item = Result<Bytes, E>>`.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use pin_project_lite::pin_project;
use tokio_util::codec::Decoder;

use crate::driver::{Drive, DriveConfig, Transcoder};
use crate::error::{FrameError, ReadError};
use crate::ndjson::NdjsonDecoder;
use crate::sse::SseDecoder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Eof,
    Done,
}

pin_project! {
    /// The frames a [`Decoder`] cuts from a byte stream, as a stream.
    ///
    /// Unlike `tokio_util::codec::FramedRead`, a recoverable framing error
    /// ([`FrameError::can_continue`]) is yielded and decoding goes on with the next frame; an
    /// unrecoverable one or a transport error is the last item. At the end of the upstream the
    /// decoder's [`Decoder::decode_eof`] runs (for [`SseDecoder`]: an incomplete last event is
    /// discarded; for [`NdjsonDecoder`]: a last line without `\n` is yielded).
    #[must_use = "streams do nothing unless polled"]
    pub struct Frames<S, D> {
        #[pin]
        upstream: S,
        decoder: D,
        buf: BytesMut,
        state: State,
    }
}

impl<S, D> Frames<S, D> {
    /// Decodes `upstream` with `decoder`.
    pub fn new(upstream: S, decoder: D) -> Self {
        Self {
            upstream,
            decoder,
            buf: BytesMut::new(),
            state: State::Reading,
        }
    }

    /// The decoder (e.g. [`SseDecoder::last_event_id`]).
    pub fn decoder(&self) -> &D {
        &self.decoder
    }
}

impl<S, D, E> Stream for Frames<S, D>
where
    S: Stream<Item = Result<Bytes, E>>,
    D: Decoder<Error = FrameError>,
{
    type Item = Result<D::Item, ReadError<E>>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        // The hot path (a frame decoded from bytes already read) returns straight from the
        // `decode` call, so the frame is moved once.
        while *this.state == State::Reading {
            match this.decoder.decode(this.buf) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) => {}
                Err(err) => return Poll::Ready(Some(Err(framing(this.state, err)))),
            }
            match ready!(this.upstream.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.buf.extend_from_slice(&chunk),
                Some(Err(err)) => {
                    *this.state = State::Done;
                    return Poll::Ready(Some(Err(ReadError::Transport(err))));
                }
                None => *this.state = State::Eof,
            }
        }
        if *this.state == State::Done {
            return Poll::Ready(None);
        }
        match this.decoder.decode_eof(this.buf) {
            Ok(Some(frame)) => Poll::Ready(Some(Ok(frame))),
            Ok(None) => {
                *this.state = State::Done;
                Poll::Ready(None)
            }
            Err(err) => Poll::Ready(Some(Err(framing(this.state, err)))),
        }
    }
}

/// A framing error as the stream's item; the stream ends after it unless it can continue.
#[cold]
fn framing<E>(state: &mut State, err: FrameError) -> ReadError<E> {
    if !err.can_continue() {
        *state = State::Done;
    }
    ReadError::Framing(err)
}

/// Extension methods for byte streams (`reqwest::Response::bytes_stream()`, a
/// `futures::stream::iter` of chunks in tests…).
pub trait ByteStreamExt<E>: Stream<Item = Result<Bytes, E>> + Sized {
    /// The server-sent events of this stream ([`SseDecoder`] with its default limit).
    fn sse_events(self) -> Frames<Self, SseDecoder> {
        Frames::new(self, SseDecoder::new())
    }

    /// The NDJSON records of this stream ([`NdjsonDecoder`] with its default limit).
    fn ndjson_records(self) -> Frames<Self, NdjsonDecoder> {
        Frames::new(self, NdjsonDecoder::new())
    }

    /// The frames `decoder` cuts from this stream.
    fn frames<D: Decoder<Error = FrameError>>(self, decoder: D) -> Frames<Self, D> {
        Frames::new(self, decoder)
    }

    /// Runs `transcoder` over the frames `decoder` cuts from this stream; see [`Drive`].
    ///
    /// # Panics
    /// As [`Drive::new`]: when `config` sets a timer outside a tokio runtime.
    fn transcode<D, T>(self, decoder: D, transcoder: T, config: DriveConfig) -> Drive<Self, D, T, E>
    where
        D: Decoder<Item = T::Frame, Error = FrameError>,
        T: Transcoder,
    {
        Drive::new(self, decoder, transcoder, config)
    }
}

impl<S, E> ByteStreamExt<E> for S where S: Stream<Item = Result<Bytes, E>> {}
