//! Where the bytes come from: a seekable file or a one-way stream (stdin, an HTTP body).
//!
//! [`SniffedInput::open`] reads the first [`SNIFF_WINDOW`] bytes, classifies them with
//! [`sniff`], and hands back a reader that replays those bytes before the rest, so nothing is
//! read twice and nothing is lost. Streams whose container needs seeking (MP4 with `moov` after
//! `mdat`, CAF) are spooled to an anonymous temporary file first (symphonia cannot read them from
//! a pipe; codecs.md §7.3).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use crate::error::{hex_head, CodecError};
use crate::sniff::{codec_hint, sniff, Codec, Container, Sniffed, SNIFF_WINDOW};
use crate::verify::{check_file, checked, CheckHandle, StreamCheck};

/// An input to the pipeline.
pub enum Input {
    /// A seekable file (read from its current position 0).
    File(File),
    /// A non-seekable byte stream. `Sync` because symphonia's `ReadOnlySource` requires it.
    Stream(Box<dyn Read + Send + Sync>),
}

impl Input {
    /// Wrap any reader as a stream input.
    pub fn stream(reader: impl Read + Send + Sync + 'static) -> Self {
        Input::Stream(Box::new(reader))
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::File(file) => f.debug_tuple("File").field(file).finish(),
            Input::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// An input whose container is known, positioned at its first byte.
pub struct SniffedInput {
    /// What the bytes are.
    pub container: Container,
    /// The codec, where the first bytes show it.
    pub codec: Option<Codec>,
    /// The first bytes (at most [`HEAD_BYTES`]), for decoders that read header fields.
    head: Vec<u8>,
    source: Source,
}

/// Bytes of the sniff window kept in [`SniffedInput`] after sniffing.
pub const HEAD_BYTES: usize = 1024;

/// The byte source after sniffing.
pub(crate) enum Source {
    /// Seekable and rewound to 0.
    File(File),
    /// The sniffed prefix, then the rest of the stream.
    Stream(PrefixedReader),
}

/// A reader that yields `prefix[pos..]` and then `rest`.
pub(crate) struct PrefixedReader {
    prefix: Vec<u8>,
    pos: usize,
    rest: Box<dyn Read + Send + Sync>,
}

impl Read for PrefixedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = (self.prefix.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.prefix.len() {
                // Release the window's memory once replayed.
                self.prefix = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        self.rest.read(buf)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Stream(s) => s.read(buf),
        }
    }
}

/// Fill `buf` up to `limit` bytes or EOF, retrying on `Interrupted`.
fn read_window(reader: &mut dyn Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit.min(SNIFF_WINDOW));
    reader.take(limit as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

impl SniffedInput {
    /// Sniff `input`. `declared` is the raw PCM format when the caller says the input is
    /// headerless PCM; it is used only when no signature matches.
    ///
    /// # Errors
    /// [`CodecError::Empty`] for zero bytes, [`CodecError::UnknownContainer`] when nothing
    /// matches and no raw format was declared, [`CodecError::Io`] on read failures.
    pub fn open(input: Input, raw_pcm_declared: bool) -> Result<Self, CodecError> {
        let (window, mut source) = match input {
            Input::File(mut file) => {
                let window = read_window(&mut file, SNIFF_WINDOW)?;
                file.seek(SeekFrom::Start(0))?;
                (window, Source::File(file))
            }
            Input::Stream(mut rest) => {
                let window = read_window(&mut rest, SNIFF_WINDOW)?;
                let prefix = window.clone();
                (
                    window,
                    Source::Stream(PrefixedReader {
                        prefix,
                        pos: 0,
                        rest,
                    }),
                )
            }
        };
        if sniff(&window) == Sniffed::Known(Container::Rf64) {
            source = rf64_as_riff(source, &window)?;
        }
        let container = match sniff(&window) {
            Sniffed::Known(c) => c,
            Sniffed::Empty => return Err(CodecError::Empty),
            Sniffed::Unknown if raw_pcm_declared => Container::RawPcm,
            Sniffed::Unknown => {
                return Err(CodecError::UnknownContainer {
                    head: hex_head(&window),
                })
            }
        };
        let codec = codec_hint(&window, container);
        let mut sniffed = SniffedInput {
            container,
            codec,
            head: window[..window.len().min(HEAD_BYTES)].to_vec(),
            source,
        };
        if sniffed.needs_seek(&window) {
            sniffed.spool()?;
            if sniffed.codec.is_none() && container == Container::Mp4 {
                sniffed.codec = sniffed.mp4_codec_from_file()?;
            }
        }
        Ok(sniffed)
    }

    /// True when the source is a stream and the container cannot be demuxed from a pipe.
    fn needs_seek(&self, window: &[u8]) -> bool {
        if !matches!(self.source, Source::Stream(_)) {
            return false;
        }
        match self.container {
            Container::Caf => true,
            Container::Mp4 => !mp4_moov_first(window),
            _ => false,
        }
    }

    /// Copy the whole stream into an anonymous temporary file and read from that instead.
    fn spool(&mut self) -> Result<(), CodecError> {
        let mut file = tempfile::tempfile()?;
        io::copy(&mut self.source, &mut file)?;
        file.seek(SeekFrom::Start(0))?;
        self.source = Source::File(file);
        Ok(())
    }

    /// For an MP4 with `moov` at the end, read the sample entry from the file's `moov`.
    fn mp4_codec_from_file(&mut self) -> Result<Option<Codec>, CodecError> {
        let Source::File(file) = &mut self.source else {
            return Ok(None);
        };
        let len = file.seek(SeekFrom::End(0))?;
        let tail = len.min(4 << 20);
        file.seek(SeekFrom::Start(len - tail))?;
        let mut buf = Vec::with_capacity(tail as usize);
        (&mut *file).take(tail).read_to_end(&mut buf)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(codec_hint(&buf, Container::Mp4))
    }

    /// The first bytes of the input (at most [`HEAD_BYTES`]).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Check that the container's framing (Ogg pages, EBML element sizes) ends where the bytes
    /// do ([`crate::verify`]): a file is checked now; a stream is checked as it is read, and the
    /// returned handle gives the verdict once the decoder has finished.
    ///
    /// # Errors
    /// [`CodecError::TruncatedStream`] for a cut-off file; read errors.
    pub fn watch_truncation(&mut self) -> Result<Option<CheckHandle>, CodecError> {
        let Some(check) = StreamCheck::for_container(self.container) else {
            return Ok(None);
        };
        match &mut self.source {
            Source::File(file) => {
                check_file(file, check)?;
                Ok(None)
            }
            Source::Stream(reader) => {
                let current = std::mem::replace(
                    reader,
                    PrefixedReader {
                        prefix: Vec::new(),
                        pos: 0,
                        rest: Box::new(io::empty()),
                    },
                );
                let (wrapped, handle) = checked(current, check);
                *reader = PrefixedReader {
                    prefix: Vec::new(),
                    pos: 0,
                    rest: Box::new(wrapped),
                };
                Ok(Some(handle))
            }
        }
    }

    /// A second handle on the file (sharing its offset), when the input is one.
    pub(crate) fn file_clone(&self) -> Option<File> {
        match &self.source {
            Source::File(f) => f.try_clone().ok(),
            Source::Stream(_) => None,
        }
    }

    /// A sniffed file, for decoders that read it again.
    pub(crate) fn from_file(
        container: Container,
        codec: Option<Codec>,
        head: Vec<u8>,
        file: File,
    ) -> Self {
        SniffedInput {
            container,
            codec,
            head,
            source: Source::File(file),
        }
    }

    /// True when the bytes can be seeked (a file, or a spooled stream).
    pub fn is_seekable(&self) -> bool {
        matches!(self.source, Source::File(_))
    }

    pub(crate) fn into_source(self) -> Source {
        self.source
    }
}

/// RF64 / BW64 (EBU Tech 3306) is RIFF WAVE with 64-bit sizes in a `ds64` chunk and
/// `0xFFFFFFFF` in the 32-bit size fields. symphonia has no RF64 reader, but reads a RIFF WAVE
/// whose sizes are `0xFFFFFFFF` to the end of the data (codecs.md §7.5). So the magic is
/// rewritten to `RIFF` in the replayed prefix; the `ds64` chunk is skipped as an unknown chunk.
/// The data then runs to the end of the file (a trailing chunk after `data` would be read as
/// samples; RF64 writers put none there).
fn rf64_as_riff(source: Source, window: &[u8]) -> Result<Source, CodecError> {
    let rest: Box<dyn Read + Send + Sync> = match source {
        Source::File(mut file) => {
            file.seek(SeekFrom::Start(window.len() as u64))?;
            Box::new(file)
        }
        Source::Stream(mut reader) => {
            // Skip the replayed window: the patched copy below replaces it.
            io::copy(
                &mut (&mut reader).take(window.len() as u64),
                &mut io::sink(),
            )?;
            Box::new(reader)
        }
    };
    let mut prefix = window.to_vec();
    prefix[..4].copy_from_slice(b"RIFF");
    prefix[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    Ok(Source::Stream(PrefixedReader {
        prefix,
        pos: 0,
        rest,
    }))
}

/// Walk the top-level MP4 boxes in the window: true when `moov` comes before `mdat` (faststart)
/// or the file is fragmented (`moof`), so a one-way reader can demux it.
fn mp4_moov_first(window: &[u8]) -> bool {
    let mut pos = 0usize;
    while let Some(h) = window.get(pos..pos + 8) {
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        match &h[4..8] {
            b"moov" | b"moof" => return true,
            b"mdat" => return false,
            _ => {}
        }
        let size = match size32 {
            0 => return false,
            1 => match window.get(pos + 8..pos + 16) {
                Some(b) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                None => return false,
            },
            n => n,
        };
        if size < 8 {
            return false;
        }
        pos = match usize::try_from(size).ok().and_then(|s| pos.checked_add(s)) {
            Some(p) => p,
            None => return false,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_replayed_exactly() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut payload = b"RIFF\0\0\0\0WAVE".to_vec();
        payload.extend_from_slice(&data);
        let input = Input::stream(io::Cursor::new(payload.clone()));
        let sniffed = SniffedInput::open(input, false).expect("sniff");
        assert_eq!(sniffed.container, Container::Wav);
        let mut out = Vec::new();
        sniffed.into_source().read_to_end(&mut out).expect("read");
        assert_eq!(out, payload);
    }

    #[test]
    fn empty_and_unknown_are_errors() {
        let empty = SniffedInput::open(Input::stream(io::empty()), false);
        assert!(matches!(empty, Err(CodecError::Empty)));
        let junk = SniffedInput::open(Input::stream(io::Cursor::new(vec![7u8; 100])), false);
        assert!(matches!(junk, Err(CodecError::UnknownContainer { .. })));
        let raw = SniffedInput::open(Input::stream(io::Cursor::new(vec![7u8; 100])), true);
        assert_eq!(raw.expect("raw").container, Container::RawPcm);
    }

    #[test]
    fn mp4_box_walk() {
        let mut faststart = Vec::new();
        faststart.extend_from_slice(&[0, 0, 0, 16]);
        faststart.extend_from_slice(b"ftypM4A \0\0\0\0");
        faststart.extend_from_slice(&[0, 0, 0, 8]);
        faststart.extend_from_slice(b"moov");
        assert!(mp4_moov_first(&faststart));
        let mut late = faststart[..16].to_vec();
        late.extend_from_slice(&[0, 0, 0, 8]);
        late.extend_from_slice(b"mdat");
        assert!(!mp4_moov_first(&late));
    }
}
