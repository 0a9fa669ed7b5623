//! Container-level completeness checks on bytes as they pass, for inputs uploaded as they are.
//!
//! A decoder reading a one-way stream takes the end of the bytes as the end of the audio, so a
//! cut-off Ogg or WebM file decodes "successfully" to fewer frames, and would reach the endpoint
//! as if it were whole. These checks walk the container's own framing, without buffering more
//! than one header, and say at the end whether the bytes stopped where the container says they
//! end:
//!
//! - **Ogg** (RFC 3533 §6): every page header (`OggS`, version 0, flags, granule, serial,
//!   sequence, CRC, segment count, lacing values) announces its body length; the stream must end
//!   on a page boundary, and every logical stream that began (BOS flag) must have ended (EOS flag).
//! - **EBML / Matroska / WebM** (RFC 8794 §4, RFC 9559): every element header (a variable-length
//!   ID and size) announces its payload length. `Segment` and `Cluster` are entered (their
//!   children are walked, so an unknown-size live recording is checked too), every other element
//!   is skipped by its size; the stream must not end inside an element or before the end of an
//!   enclosing element whose size is known. An unknown-size `Cluster` ends where the next
//!   top-level element starts.
//!
//! A stream whose framing stops making sense (no capture pattern where a page must start, an
//! invalid EBML ID) is left to the decoder: the check stops and reports nothing.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use crate::error::CodecError;
use crate::sniff::Container;

/// A completeness check for one container, fed the bytes in order.
#[derive(Debug)]
pub struct StreamCheck {
    container: Container,
    walker: Walker,
    /// Bytes seen so far.
    pos: u64,
}

#[derive(Debug)]
enum Walker {
    Ogg(OggWalk),
    Ebml(EbmlWalk),
    /// The framing stopped making sense: the decoder decides.
    Lost,
}

impl StreamCheck {
    /// A check for `container`, or `None` when it has no framing this module knows (its
    /// decoder's frame count check covers it, see `decode`).
    pub fn for_container(container: Container) -> Option<Self> {
        let walker = match container {
            Container::OggOpus
            | Container::OggVorbis
            | Container::OggFlac
            | Container::OggSpeex
            | Container::Ogg => Walker::Ogg(OggWalk::default()),
            Container::WebM | Container::Matroska => Walker::Ebml(EbmlWalk::default()),
            _ => return None,
        };
        Some(StreamCheck {
            container,
            walker,
            pos: 0,
        })
    }

    /// Walk the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let used = match &mut self.walker {
                Walker::Ogg(w) => w.step(bytes),
                Walker::Ebml(w) => w.step(bytes, self.pos),
                Walker::Lost => return,
            };
            match used {
                Some(n) => {
                    self.pos += n as u64;
                    bytes = &bytes[n..];
                }
                None => self.walker = Walker::Lost,
            }
        }
    }

    /// At the end of the bytes: did they end where the container says it ends?
    ///
    /// # Errors
    /// [`CodecError::TruncatedStream`] naming where the stream stopped.
    pub fn finish(&self) -> Result<(), CodecError> {
        let detail = match &self.walker {
            Walker::Ogg(w) => w.finish(),
            Walker::Ebml(w) => w.finish(self.pos),
            Walker::Lost => None,
        };
        match detail {
            Some(detail) => Err(CodecError::TruncatedStream {
                container: self.container,
                detail,
            }),
            None => Ok(()),
        }
    }
}

/// The state a [`Checked`] reader shares with its [`CheckHandle`].
#[derive(Debug)]
struct Shared {
    check: StreamCheck,
    /// The reader returned end of stream.
    eof: bool,
}

/// A stream reader that feeds every byte it passes to a [`StreamCheck`], for inputs that are
/// decoded rather than passed through (the decoder may stop at an end-of-stream marker without
/// reading to the end; the check then has nothing to say).
pub(crate) struct Checked<R> {
    inner: R,
    shared: Arc<Mutex<Shared>>,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut s) = self.shared.lock() {
            if n == 0 {
                s.eof = true;
            } else {
                s.check.feed(&buf[..n]);
            }
        }
        Ok(n)
    }
}

/// The verdict side of a checking reader (see [`crate::input::SniffedInput::watch_truncation`]).
#[derive(Debug, Clone)]
pub struct CheckHandle(Arc<Mutex<Shared>>);

impl CheckHandle {
    /// Call when the decoder has finished: when the reader reached the end of the stream, did
    /// the container end there?
    ///
    /// # Errors
    /// [`CodecError::TruncatedStream`].
    pub fn finish(&self) -> Result<(), CodecError> {
        match self.0.lock() {
            Ok(s) if s.eof => s.check.finish(),
            _ => Ok(()),
        }
    }
}

/// Wrap `inner` so the bytes read through it are checked as `check`'s container.
pub(crate) fn checked<R: Read>(inner: R, check: StreamCheck) -> (Checked<R>, CheckHandle) {
    let shared = Arc::new(Mutex::new(Shared { check, eof: false }));
    (
        Checked {
            inner,
            shared: shared.clone(),
        },
        CheckHandle(shared),
    )
}

/// Check a whole file with positional reads (its offset is left where it was).
///
/// # Errors
/// [`CodecError::TruncatedStream`], or the read error.
#[cfg(unix)]
pub(crate) fn check_file(file: &std::fs::File, mut check: StreamCheck) -> Result<(), CodecError> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    loop {
        let n = match file.read_at(&mut buf, offset) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        check.feed(&buf[..n]);
        offset += n as u64;
    }
    check.finish()
}

/// Without positional reads the file is not checked here (its decoder's checks apply).
#[cfg(not(unix))]
pub(crate) fn check_file(_file: &std::fs::File, _check: StreamCheck) -> Result<(), CodecError> {
    Ok(())
}

// ---- Ogg ---------------------------------------------------------------------------------------

/// Bytes of an Ogg page header before the lacing values.
const OGG_HEADER: usize = 27;

#[derive(Debug, Default)]
struct OggWalk {
    /// Header bytes (27 + up to 255 lacing values) of the page being read.
    header: Vec<u8>,
    /// Body bytes of the current page still to come.
    body_left: u64,
    /// Serial numbers of logical streams begun (BOS) and not yet ended (EOS).
    open: Vec<u32>,
    pages: u64,
}

impl OggWalk {
    /// Consume from `bytes`; the count used, or `None` when the framing is lost.
    fn step(&mut self, bytes: &[u8]) -> Option<usize> {
        if self.body_left > 0 {
            let n = (self.body_left.min(bytes.len() as u64)) as usize;
            self.body_left -= n as u64;
            return Some(n);
        }
        let want = if self.header.len() < OGG_HEADER {
            OGG_HEADER
        } else {
            OGG_HEADER + usize::from(self.header[26])
        };
        let n = (want - self.header.len()).min(bytes.len());
        self.header.extend_from_slice(&bytes[..n]);
        if self.header.len() == OGG_HEADER {
            if &self.header[..4] != b"OggS" || self.header[4] != 0 {
                return None;
            }
            if self.header[26] > 0 {
                return Some(n);
            }
        }
        if self.header.len() >= OGG_HEADER
            && self.header.len() == OGG_HEADER + usize::from(self.header[26])
        {
            self.end_header();
        }
        Some(n)
    }

    fn end_header(&mut self) {
        let h = &self.header;
        let flags = h[5];
        let serial = u32::from_le_bytes([h[14], h[15], h[16], h[17]]);
        if flags & 0x02 != 0 && !self.open.contains(&serial) {
            self.open.push(serial);
        }
        if flags & 0x04 != 0 {
            self.open.retain(|&s| s != serial);
        }
        self.body_left = h[OGG_HEADER..].iter().map(|&l| u64::from(l)).sum();
        self.pages += 1;
        self.header.clear();
    }

    fn finish(&self) -> Option<String> {
        if !self.header.is_empty() || self.body_left > 0 {
            return Some(format!(
                "the stream ends inside Ogg page {} ({} bytes of it missing)",
                self.pages + u64::from(self.header.is_empty()),
                self.body_left
            ));
        }
        if self.pages > 0 && !self.open.is_empty() {
            return Some(format!(
                "the stream ends after {} pages without its end-of-stream page (the recording was cut off)",
                self.pages
            ));
        }
        None
    }
}

// ---- EBML --------------------------------------------------------------------------------------

/// Matroska `Segment` and `Cluster` IDs (RFC 9559 §5.1): the masters whose children are walked.
const SEGMENT: u32 = 0x1853_8067;
const CLUSTER: u32 = 0x1F43_B675;
/// The EBML header ID (RFC 8794 §11.2.1): a new document (chained streams).
const EBML_HEADER: u32 = 0x1A45_DFA3;
/// Top-level (`Segment` child) IDs that end an unknown-size `Cluster` (RFC 9559 §6.2).
const LEVEL1: [u32; 8] = [
    CLUSTER,
    0x1C53_BB6B, // Cues
    0x1254_C367, // Tags
    0x1549_A966, // Info
    0x1654_AE6B, // Tracks
    0x114D_9B74, // SeekHead
    0x1941_A469, // Attachments
    0x1043_A770, // Chapters
];

#[derive(Debug, Default)]
struct EbmlWalk {
    /// Bytes of the element header being read (ID + size, at most 12).
    header: Vec<u8>,
    /// Payload bytes of a skipped element still to come, and its ID.
    skip: Option<(u32, u64)>,
    /// Entered masters: ID and end offset (`None`: unknown size).
    stack: Vec<(u32, Option<u64>)>,
}

/// A variable-length integer at the start of `b` (RFC 8794 §4): `(value, width, all_ones)` with
/// the length marker removed, `Some(None)` when more bytes are needed, `None` when invalid.
fn vint(b: &[u8], max_width: usize) -> Option<Option<(u64, usize, bool)>> {
    let first = *b.first()?;
    let width = first.leading_zeros() as usize + 1;
    if width > max_width {
        return None;
    }
    if b.len() < width {
        return Some(None);
    }
    let mut value = u64::from(first) & (0xFF >> width);
    for &byte in &b[1..width] {
        value = (value << 8) | u64::from(byte);
    }
    let all_ones = value == (1u64 << (7 * width)) - 1;
    Some(Some((value, width, all_ones)))
}

impl EbmlWalk {
    /// Consume from `bytes` (which start at offset `pos`); the count used, or `None` when the
    /// framing is lost.
    fn step(&mut self, bytes: &[u8], pos: u64) -> Option<usize> {
        if let Some((id, left)) = self.skip {
            let n = left.min(bytes.len() as u64);
            self.skip = (left > n).then_some((id, left - n));
            return Some(n as usize);
        }
        // Masters whose known end is reached are complete.
        while let (true, Some(&(_, Some(end)))) = (self.header.is_empty(), self.stack.last()) {
            if pos < end {
                break;
            }
            if pos > end {
                return None;
            }
            self.stack.pop();
        }
        // Read one byte at a time until the header parses (headers are at most 12 bytes).
        self.header.push(bytes[0]);
        let start = pos + 1 - self.header.len() as u64;
        let Some((_, id_width, _)) = vint(&self.header, 4)? else {
            return Some(1);
        };
        let id = self.header[..id_width]
            .iter()
            .fold(0u32, |a, &b| (a << 8) | u32::from(b));
        let Some(size) = vint(&self.header[id_width..], 8) else {
            return if self.header.len() > id_width {
                None
            } else {
                Some(1)
            };
        };
        let Some((size, size_width, unknown)) = size else {
            return Some(1);
        };
        self.header.clear();
        let payload_start = start + (id_width + size_width) as u64;
        // An unknown-size Cluster ends where the next top-level element starts; an unknown-size
        // Segment where the next EBML document starts.
        while let Some(&(open, None)) = self.stack.last() {
            let ends =
                (open == CLUSTER && LEVEL1.contains(&id)) || (open == SEGMENT && id == EBML_HEADER);
            if !ends {
                break;
            }
            self.stack.pop();
        }
        let end = (!unknown).then_some(payload_start + size);
        if id == SEGMENT || id == CLUSTER {
            self.stack.push((id, end));
        } else if unknown {
            return None;
        } else if size > 0 {
            self.skip = Some((id, size));
        }
        Some(1)
    }

    fn finish(&self, pos: u64) -> Option<String> {
        if !self.header.is_empty() {
            return Some(format!(
                "the stream ends inside an element header at byte {pos}"
            ));
        }
        if let Some((id, left)) = self.skip {
            return Some(format!(
                "the stream ends inside element 0x{id:X} ({left} bytes of it missing)"
            ));
        }
        self.stack
            .iter()
            .find_map(|&(id, end)| end.filter(|&e| e > pos).map(|e| (id, e)))
            .map(|(id, end)| {
                let name = if id == SEGMENT { "Segment" } else { "Cluster" };
                format!("the {name} announces {end} bytes, the stream ends after {pos}")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(container: Container, bytes: &[u8], split: usize) -> Result<(), CodecError> {
        let mut c = StreamCheck::for_container(container).expect("checked container");
        for chunk in bytes.chunks(split.max(1)) {
            c.feed(chunk);
        }
        c.finish()
    }

    fn ogg_page(flags: u8, serial: u32, body: &[u8]) -> Vec<u8> {
        let mut p = b"OggS\0".to_vec();
        p.push(flags);
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&serial.to_le_bytes());
        p.extend_from_slice(&[0; 8]);
        let mut lacing = vec![255u8; body.len() / 255];
        lacing.push((body.len() % 255) as u8);
        p.push(lacing.len() as u8);
        p.extend_from_slice(&lacing);
        p.extend_from_slice(body);
        p
    }

    proptest::proptest! {
        /// The verdict does not depend on how the bytes are split into reads, for valid,
        /// cut and arbitrary streams alike, and nothing panics.
        #[test]
        fn verdict_is_the_same_for_every_split(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            cut in 0usize..2000,
            split in 1usize..64,
            pick in 0usize..3,
        ) {
            let mut ogg = ogg_page(0x02, 3, &data);
            ogg.extend(ogg_page(0x04, 3, &data[..data.len() / 2]));
            let mut ebml = element(&[0x1A, 0x45, 0xDF, 0xA3], &[0x42, 0x82, 0x84, b'w', b'e', b'b', b'm']);
            ebml.extend(element(&[0x18, 0x53, 0x80, 0x67], &element(&[0xA3], &data)));
            let (container, bytes) = match pick {
                0 => (Container::OggOpus, ogg),
                1 => (Container::WebM, ebml),
                _ => (Container::WebM, data.clone()),
            };
            let bytes = &bytes[..cut.min(bytes.len())];
            let whole = check(container, bytes, usize::MAX).map_err(|e| e.to_string());
            let split = check(container, bytes, split).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(whole, split);
        }
    }

    #[test]
    fn ogg_whole_cut_and_without_eos() {
        let mut whole = ogg_page(0x02, 7, b"OpusHead........");
        whole.extend(ogg_page(0, 7, &[1; 600]));
        whole.extend(ogg_page(0x04, 7, &[2; 100]));
        for split in [1, 3, 64, 10_000] {
            assert!(check(Container::OggOpus, &whole, split).is_ok());
            for cut in [30, whole.len() - 50, whole.len() - 1] {
                let err = check(Container::OggOpus, &whole[..cut], split).expect_err("cut");
                assert!(err.to_string().contains("inside Ogg page"), "{err}");
            }
        }
        let without_eos = &whole[..whole.len() - (27 + 1 + 100)];
        let err = check(Container::OggOpus, without_eos, 5).expect_err("no EOS");
        assert!(err.to_string().contains("end-of-stream"), "{err}");
    }

    fn element(id: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut e = id.to_vec();
        e.push(0x01); // an 8-byte size: marker byte, then 7 bytes
        e.extend_from_slice(&(payload.len() as u64).to_be_bytes()[1..]);
        e.extend_from_slice(payload);
        e
    }

    #[test]
    fn ebml_known_and_unknown_sizes() {
        let block = element(&[0xA3], &[9; 300]);
        let mut cluster = element(&[0xE7], &[0]);
        cluster.extend_from_slice(&block);
        let cluster = element(&[0x1F, 0x43, 0xB6, 0x75], &cluster);
        let mut body = element(&[0x15, 0x49, 0xA9, 0x66], &[1; 20]);
        body.extend_from_slice(&cluster);
        let mut file = element(
            &[0x1A, 0x45, 0xDF, 0xA3],
            &[0x42, 0x82, 0x84, b'w', b'e', b'b', b'm'],
        );
        file.extend(element(&[0x18, 0x53, 0x80, 0x67], &body));
        for split in [1, 7, 100_000] {
            assert!(check(Container::WebM, &file, split).is_ok());
            for cut in [5, 40, file.len() - 100, file.len() - 1] {
                let err = check(Container::WebM, &file[..cut], split).expect_err("cut");
                assert!(err.to_string().starts_with("truncated webm data"), "{err}");
            }
        }
        // A live recording: unknown-size Segment and Clusters, ended at a block boundary.
        let mut live = element(
            &[0x1A, 0x45, 0xDF, 0xA3],
            &[0x42, 0x82, 0x84, b'w', b'e', b'b', b'm'],
        );
        live.extend_from_slice(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        for _ in 0..2 {
            live.extend_from_slice(&[0x1F, 0x43, 0xB6, 0x75, 0xFF]);
            live.extend_from_slice(&block);
        }
        assert!(check(Container::WebM, &live, 3).is_ok());
        let err = check(Container::WebM, &live[..live.len() - 10], 3).expect_err("mid-block");
        assert!(err.to_string().contains("inside element 0xA3"), "{err}");
    }
}
