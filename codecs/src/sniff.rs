//! Container sniffing from the first bytes: one declarative table, the bytes decide.
//!
//! File extensions and MIME types are never consulted here; callers may pass them to the
//! demuxer as hints, but what [`sniff`] says is what the pipeline does.
//!
//! Rules (order matters, first match wins), after WHATWG MIME Sniffing §6.2 and the magic numbers
//! of each format's specification:
//!
//! | bytes | container |
//! |---|---|
//! | `02 "#!SILK_V3"` | [`Container::SilkTencent`] (WeChat / Tencent voice notes) |
//! | `"#!SILK_V3"` | [`Container::Silk`] |
//! | `"#!AMR-WB\n"` / `"#!AMR\n"` | [`Container::AmrWb`] / [`Container::AmrNb`] (RFC 4867 §5) |
//! | `"RIFF" ???? "WAVE"` / `"RF64"`, `"BW64"` | [`Container::Wav`] / [`Container::Rf64`] |
//! | `"FORM" ???? "AIFF"` / `"AIFC"` | [`Container::Aiff`] / [`Container::Aifc`] |
//! | `"caff"` | [`Container::Caf`] |
//! | `"fLaC"` | [`Container::Flac`] |
//! | `"OggS"` + first packet `"OpusHead"` / `01 "vorbis"` / `7F "FLAC"` / `"Speex   "` | `Ogg*` (RFC 7845, Vorbis I §4.2, Ogg FLAC mapping) |
//! | `1A 45 DF A3` + DocType `"webm"` / other | [`Container::WebM`] / [`Container::Matroska`] |
//! | bytes 4..8 `ftyp`, `moov`, `mdat`, `free`, `wide`, `skip` | [`Container::Mp4`] (ISO/IEC 14496-12 boxes) |
//! | `"ID3"` | skip the ID3v2 tag (10 + syncsafe size, + 10 with a footer) and sniff again |
//! | ADTS sync `FFF` with layer `00`, two consecutive frames | [`Container::Adts`] (ISO/IEC 13818-7) |
//! | MPEG audio frame sync, two consecutive valid headers | [`Container::Mp3`] (ISO/IEC 11172-3) |
//!
//! Raw PCM has no signature: it is only accepted when the caller declares it
//! ([`crate::RawPcmFormat`]).

use std::fmt;

/// How many leading bytes [`sniff`] wants to see. An ID3v2 tag longer than this (cover art) is
/// assumed to front MPEG audio, since nothing else is found behind ID3 tags in practice.
pub const SNIFF_WINDOW: usize = 64 * 1024;

/// What kind of file the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Container {
    /// RIFF WAVE.
    Wav,
    /// RF64 / BW64 (WAV with 64-bit sizes, EBU Tech 3306).
    Rf64,
    /// AIFF.
    Aiff,
    /// AIFF-C.
    Aifc,
    /// Apple Core Audio Format.
    Caf,
    /// Native FLAC.
    Flac,
    /// Ogg carrying Opus (RFC 7845).
    OggOpus,
    /// Ogg carrying Vorbis.
    OggVorbis,
    /// Ogg carrying FLAC.
    OggFlac,
    /// Ogg carrying Speex.
    OggSpeex,
    /// Ogg whose first packet is none of the above.
    Ogg,
    /// WebM (Matroska with DocType `webm`).
    WebM,
    /// Matroska (MKA / MKV).
    Matroska,
    /// ISO base media file (MP4, M4A, MOV).
    Mp4,
    /// AAC in ADTS frames.
    Adts,
    /// MPEG audio (MP1/MP2/MP3) frames, optionally behind an ID3v2 tag.
    Mp3,
    /// AMR narrow-band storage format.
    AmrNb,
    /// AMR wide-band storage format.
    AmrWb,
    /// SILK v3 (Skype).
    Silk,
    /// SILK v3 with the Tencent `0x02` prefix (WeChat / QQ voice notes).
    SilkTencent,
    /// Headerless PCM, declared by the caller.
    RawPcm,
}

impl Container {
    /// Stable lower-case name used in CLI output, JSON and error messages (`wav`, `ogg_opus`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Container::Wav => "wav",
            Container::Rf64 => "rf64",
            Container::Aiff => "aiff",
            Container::Aifc => "aifc",
            Container::Caf => "caf",
            Container::Flac => "flac",
            Container::OggOpus => "ogg_opus",
            Container::OggVorbis => "ogg_vorbis",
            Container::OggFlac => "ogg_flac",
            Container::OggSpeex => "ogg_speex",
            Container::Ogg => "ogg",
            Container::WebM => "webm",
            Container::Matroska => "matroska",
            Container::Mp4 => "mp4",
            Container::Adts => "adts",
            Container::Mp3 => "mp3",
            Container::AmrNb => "amr_nb",
            Container::AmrWb => "amr_wb",
            Container::Silk => "silk",
            Container::SilkTencent => "silk_tencent",
            Container::RawPcm => "raw_pcm",
        }
    }

    /// The MIME type to label these bytes with when they are uploaded as they are.
    pub fn mime_type(self) -> &'static str {
        match self {
            Container::Wav | Container::Rf64 => "audio/wav",
            Container::Aiff | Container::Aifc => "audio/aiff",
            Container::Caf => "audio/x-caf",
            Container::Flac => "audio/flac",
            Container::OggOpus
            | Container::OggVorbis
            | Container::OggFlac
            | Container::OggSpeex
            | Container::Ogg => "audio/ogg",
            Container::WebM => "audio/webm",
            Container::Matroska => "audio/x-matroska",
            Container::Mp4 => "audio/mp4",
            Container::Adts => "audio/aac",
            Container::Mp3 => "audio/mpeg",
            Container::AmrNb => "audio/amr",
            Container::AmrWb => "audio/amr-wb",
            Container::Silk | Container::SilkTencent => "audio/silk",
            Container::RawPcm => "audio/L16",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Container::Wav | Container::Rf64 => "wav",
            Container::Aiff => "aiff",
            Container::Aifc => "aifc",
            Container::Caf => "caf",
            Container::Flac => "flac",
            Container::OggOpus => "opus",
            Container::OggVorbis | Container::OggFlac | Container::OggSpeex | Container::Ogg => {
                "ogg"
            }
            Container::WebM => "webm",
            Container::Matroska => "mka",
            Container::Mp4 => "m4a",
            Container::Adts => "aac",
            Container::Mp3 => "mp3",
            Container::AmrNb | Container::AmrWb => "amr",
            Container::Silk | Container::SilkTencent => "silk",
            Container::RawPcm => "pcm",
        }
    }

    /// True for the SILK flavours, which are decoded by the external `rust-silk` program.
    pub fn is_silk(self) -> bool {
        matches!(self, Container::Silk | Container::SilkTencent)
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`sniff`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// Zero bytes.
    Empty,
    /// A row of the table matched.
    Known(Container),
    /// Nothing matched.
    Unknown,
}

/// One row of the signature table: `magic` at byte `at`, and optionally `also` at its offset.
struct Signature {
    at: usize,
    magic: &'static [u8],
    also: Option<(usize, &'static [u8])>,
    container: Container,
}

const fn sig(at: usize, magic: &'static [u8], container: Container) -> Signature {
    Signature {
        at,
        magic,
        also: None,
        container,
    }
}

const fn sig2(magic: &'static [u8], at2: usize, magic2: &'static [u8], c: Container) -> Signature {
    Signature {
        at: 0,
        magic,
        also: Some((at2, magic2)),
        container: c,
    }
}

/// The fixed-position signatures, in match order. Ogg, EBML and MP4 are refined further by
/// [`refine`]; ID3, ADTS and MPEG frame sync need scanning and follow the table.
const SIGNATURES: &[Signature] = &[
    sig(0, b"\x02#!SILK_V3", Container::SilkTencent),
    sig(0, b"#!SILK_V3", Container::Silk),
    sig(0, b"#!AMR-WB\n", Container::AmrWb),
    sig(0, b"#!AMR\n", Container::AmrNb),
    sig2(b"RIFF", 8, b"WAVE", Container::Wav),
    sig2(b"RF64", 8, b"WAVE", Container::Rf64),
    sig2(b"BW64", 8, b"WAVE", Container::Rf64),
    sig2(b"FORM", 8, b"AIFF", Container::Aiff),
    sig2(b"FORM", 8, b"AIFC", Container::Aifc),
    sig(0, b"caff", Container::Caf),
    sig(0, b"fLaC", Container::Flac),
    sig(0, b"OggS", Container::Ogg),
    sig(0, b"\x1a\x45\xdf\xa3", Container::Matroska),
    sig(4, b"ftyp", Container::Mp4),
    sig(4, b"moov", Container::Mp4),
    sig(4, b"mdat", Container::Mp4),
    sig(4, b"free", Container::Mp4),
    sig(4, b"wide", Container::Mp4),
    sig(4, b"skip", Container::Mp4),
];

fn at(data: &[u8], offset: usize, magic: &[u8]) -> bool {
    data.get(offset..offset + magic.len()) == Some(magic)
}

/// Classify `data`, the first bytes of an input (ideally [`SNIFF_WINDOW`] of them, or all of a
/// shorter input).
pub fn sniff(data: &[u8]) -> Sniffed {
    if data.is_empty() {
        return Sniffed::Empty;
    }
    sniff_at(data, 0)
}

fn sniff_at(data: &[u8], depth: u8) -> Sniffed {
    if let Some(s) = SIGNATURES
        .iter()
        .find(|s| at(data, s.at, s.magic) && s.also.is_none_or(|(o, m)| at(data, o, m)))
    {
        return Sniffed::Known(refine(s.container, data));
    }
    if at(data, 0, b"ID3") && depth < 4 {
        return match id3v2_len(data) {
            Some(len) if len < data.len() => match sniff_at(&data[len..], depth + 1) {
                Sniffed::Unknown => Sniffed::Unknown,
                found => found,
            },
            // The tag runs past what we were given (cover art): MPEG audio is what follows in
            // practice; a wrong guess still fails cleanly in the demuxer.
            Some(_) => Sniffed::Known(Container::Mp3),
            None => Sniffed::Unknown,
        };
    }
    if frame_chain(data, adts_frame_len) {
        return Sniffed::Known(Container::Adts);
    }
    if frame_chain(data, mpeg_frame_len) {
        return Sniffed::Known(Container::Mp3);
    }
    Sniffed::Unknown
}

/// Ogg: look at the first packet of the first page; EBML: read the DocType.
fn refine(container: Container, data: &[u8]) -> Container {
    match container {
        Container::Ogg => {
            // RFC 3533 §6: 27-byte page header, then `page_segments` lacing values.
            let Some(&segments) = data.get(26) else {
                return Container::Ogg;
            };
            let first = 27 + segments as usize;
            if at(data, first, b"OpusHead") {
                Container::OggOpus
            } else if at(data, first, b"\x01vorbis") {
                Container::OggVorbis
            } else if at(data, first, b"\x7fFLAC") {
                Container::OggFlac
            } else if at(data, first, b"Speex   ") {
                Container::OggSpeex
            } else {
                Container::Ogg
            }
        }
        Container::Matroska => {
            // DocType element id 0x4282, size vint, then the string.
            let head = &data[..data.len().min(64)];
            match memfind(head, b"\x42\x82") {
                Some(i) if head[i + 2..].starts_with(b"\x84webm") => Container::WebM,
                _ => Container::Matroska,
            }
        }
        other => other,
    }
}

pub(crate) fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Total length of an ID3v2 tag (ID3v2.4 §3.1): 10-byte header + syncsafe size + optional footer.
fn id3v2_len(data: &[u8]) -> Option<usize> {
    let h = data.get(..10)?;
    let size = h[6..10].iter().try_fold(0usize, |acc, &b| {
        (b < 0x80).then_some((acc << 7) | b as usize)
    })?;
    let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// True when `data` starts with a frame whose length `frame_len` accepts and which is followed
/// by a second valid frame (or by the end of the data, for a one-frame input).
fn frame_chain(data: &[u8], frame_len: fn(&[u8]) -> Option<usize>) -> bool {
    let Some(first) = frame_len(data) else {
        return false;
    };
    match data.get(first..) {
        Some([]) => true,
        Some(rest) if rest.len() < 4 => false,
        Some(rest) => frame_len(rest).is_some(),
        // The first frame runs past the window: accept on one header only when the window is
        // full, since a short input that ends mid-frame is no evidence.
        None => data.len() >= SNIFF_WINDOW,
    }
}

/// Length of the ADTS frame at the start of `h` (ISO/IEC 13818-7 §6.2.1): syncword 0xFFF,
/// layer 00, a non-reserved sampling index and a 13-bit frame length ≥ the header length.
fn adts_frame_len(h: &[u8]) -> Option<usize> {
    let h = h.get(..7)?;
    if h[0] != 0xFF || h[1] & 0xF6 != 0xF0 {
        return None;
    }
    if (h[2] >> 2) & 0x0F > 12 {
        return None;
    }
    let len = (((h[3] & 0x03) as usize) << 11) | ((h[4] as usize) << 3) | ((h[5] as usize) >> 5);
    let header = if h[1] & 0x01 == 0 { 9 } else { 7 };
    (len >= header).then_some(len)
}

/// Length of the MPEG audio frame at the start of `h` (ISO/IEC 11172-3 §2.4.2.3 and
/// 13818-3), or `None` when the 4 bytes are not a valid header. Free-format frames are rejected.
fn mpeg_frame_len(h: &[u8]) -> Option<usize> {
    const KBPS: [[[u16; 15]; 3]; 2] = [
        [
            // MPEG-1 layers I, II, III
            [
                0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
            ],
            [
                0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
            ],
            [
                0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
            ],
        ],
        [
            // MPEG-2 / 2.5 layers I, II, III
            [
                0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
            ],
            [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
            [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
        ],
    ];
    const RATES: [[u32; 3]; 3] = [
        [11025, 12000, 8000],  // MPEG-2.5
        [22050, 24000, 16000], // MPEG-2
        [44100, 48000, 32000], // MPEG-1
    ];
    let h = h.get(..4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 0x03; // 00 = 2.5, 01 reserved, 10 = 2, 11 = 1
    let layer = (h[1] >> 1) & 0x03; // 01 = III, 10 = II, 11 = I, 00 reserved
    let bitrate_index = (h[2] >> 4) as usize;
    let rate_index = ((h[2] >> 2) & 0x03) as usize;
    let padding = ((h[2] >> 1) & 0x01) as u32;
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    let rate = RATES[match version {
        0 => 0,
        2 => 1,
        _ => 2,
    }][rate_index];
    let layer_row = (3 - layer) as usize; // I = 0, II = 1, III = 2
    let bitrate = KBPS[usize::from(version != 3)][layer_row][bitrate_index] as u32 * 1000;
    let len = match layer_row {
        0 => (12 * bitrate / rate + padding) * 4,
        2 if version != 3 => 72 * bitrate / rate + padding,
        _ => 144 * bitrate / rate + padding,
    };
    Some(len as usize)
}

/// What codec a container's first bytes say it carries, where that is visible in the sniff
/// window: the WAV `fmt ` format tag, the Ogg first packet, the Matroska `CodecID`, the MP4
/// sample entry. `None` when the window does not show it (an MP4 whose `moov` is at the end).
pub fn codec_hint(data: &[u8], container: Container) -> Option<Codec> {
    match container {
        Container::Wav | Container::Rf64 => {
            let i = memfind(&data[..data.len().min(4096)], b"fmt ")?;
            let tag = u16::from_le_bytes([*data.get(i + 8)?, *data.get(i + 9)?]);
            let bits = u16::from_le_bytes([*data.get(i + 22)?, *data.get(i + 23)?]);
            // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the real tag.
            let tag = if tag == 0xFFFE {
                u16::from_le_bytes([*data.get(i + 32)?, *data.get(i + 33)?])
            } else {
                tag
            };
            Some(match (tag, bits) {
                (1, 16) => Codec::PcmS16Le,
                (1, _) => Codec::PcmInt,
                (3, _) => Codec::PcmFloat,
                _ => Codec::Other,
            })
        }
        Container::OggOpus => Some(Codec::Opus),
        Container::OggVorbis => Some(Codec::Vorbis),
        Container::OggFlac | Container::Flac => Some(Codec::Flac),
        Container::Mp3 => Some(Codec::Mp3),
        Container::Adts => Some(Codec::Aac),
        Container::WebM | Container::Matroska => {
            if memfind(data, b"A_OPUS").is_some() {
                Some(Codec::Opus)
            } else if memfind(data, b"A_VORBIS").is_some() {
                Some(Codec::Vorbis)
            } else if memfind(data, b"A_AAC").is_some() {
                Some(Codec::Aac)
            } else {
                None
            }
        }
        Container::Mp4 => {
            // The sample entry four-cc sits inside `stsd`, after its size field.
            let stsd = memfind(data, b"stsd")?;
            let entry = data.get(stsd + 16..stsd + 20)?;
            Some(match entry {
                b"mp4a" => Codec::Aac,
                b"alac" => Codec::Alac,
                b"Opus" => Codec::Opus,
                b"fLaC" => Codec::Flac,
                _ => Codec::Other,
            })
        }
        _ => None,
    }
}

/// Coarse codec classes, enough to decide whether bytes can be uploaded as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Codec {
    /// Signed 16-bit little-endian PCM.
    PcmS16Le,
    /// Other integer PCM widths.
    PcmInt,
    /// IEEE float PCM.
    PcmFloat,
    /// Opus.
    Opus,
    /// Vorbis.
    Vorbis,
    /// FLAC.
    Flac,
    /// MPEG audio layer I–III.
    Mp3,
    /// AAC.
    Aac,
    /// Apple Lossless.
    Alac,
    /// Something else.
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_signatures() {
        let cases: &[(&[u8], Container)] = &[
            (b"\x02#!SILK_V3\x00\x00", Container::SilkTencent),
            (b"#!SILK_V3\x00\x00", Container::Silk),
            (b"#!AMR-WB\nxxxx", Container::AmrWb),
            (b"#!AMR\nxxxx", Container::AmrNb),
            (b"RIFF\0\0\0\0WAVEfmt ", Container::Wav),
            (b"RF64\xff\xff\xff\xffWAVEds64", Container::Rf64),
            (b"FORM\0\0\0\0AIFFCOMM", Container::Aiff),
            (b"FORM\0\0\0\0AIFCFVER", Container::Aifc),
            (b"caff\0\x01\0\0", Container::Caf),
            (b"fLaC\0\0\0\x22", Container::Flac),
            (b"\0\0\0\x20ftypM4A ", Container::Mp4),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff(bytes), Sniffed::Known(*want), "{want}");
        }
    }

    #[test]
    fn ogg_first_packet_decides() {
        let mut page = b"OggS\0\x02".to_vec();
        page.resize(26, 0);
        page.push(1); // one segment
        page.push(19);
        let mut opus = page.clone();
        opus.extend_from_slice(b"OpusHead\x01\x01");
        assert_eq!(sniff(&opus), Sniffed::Known(Container::OggOpus));
        let mut vorbis = page.clone();
        vorbis.extend_from_slice(b"\x01vorbis\0\0");
        assert_eq!(sniff(&vorbis), Sniffed::Known(Container::OggVorbis));
        let mut other = page;
        other.extend_from_slice(b"\x80theora\0\0");
        assert_eq!(sniff(&other), Sniffed::Known(Container::Ogg));
    }

    #[test]
    fn mpeg_needs_two_headers() {
        // MPEG-1 layer III, 128 kbps, 44.1 kHz, no padding: 417 bytes per frame.
        let header = [0xFF, 0xFB, 0x90, 0x00];
        let mut two = header.to_vec();
        two.resize(417, 0);
        two.extend_from_slice(&header);
        two.resize(417 * 2, 0);
        assert_eq!(sniff(&two), Sniffed::Known(Container::Mp3));
        // A lone sync followed by junk where the second header should be.
        let mut junk = header.to_vec();
        junk.resize(417, 0);
        junk.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(sniff(&junk), Sniffed::Unknown);
    }

    #[test]
    fn id3_is_skipped_and_resniffed() {
        let mut data = b"ID3\x03\x00\x00\x00\x00\x00\x04".to_vec();
        data.extend_from_slice(&[0, 0, 0, 0]);
        data.extend_from_slice(b"fLaC\0\0\0\x22");
        assert_eq!(sniff(&data), Sniffed::Known(Container::Flac));
        // A tag larger than the window is assumed to front MPEG audio.
        let big = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f".to_vec();
        assert_eq!(sniff(&big), Sniffed::Known(Container::Mp3));
    }

    #[test]
    fn empty_and_garbage() {
        assert_eq!(sniff(b""), Sniffed::Empty);
        assert_eq!(sniff(b"hello world, not audio"), Sniffed::Unknown);
        assert_eq!(sniff(&[0xFF]), Sniffed::Unknown);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = sniff(&data);
            for c in [Container::Wav, Container::Mp4, Container::WebM] {
                let _ = codec_hint(&data, c);
            }
        }
    }
}
