//! The five `response_format`s of the OpenAI transcription API, synthesized from what the
//! dictation endpoint returns: the text alone, plus the audio duration the codec pipeline measured
//! (protocols.md §4e, clients.md §6).
//!
//! | format | content type | body |
//! |---|---|---|
//! | `json` | `application/json` | `{"text":…,"usage":{"type":"duration","seconds":<whole seconds, rounded up>}}` |
//! | `verbose_json` | `application/json` | `{"task":"transcribe","language":…,"duration":<s>,"text":…,"segments":[one segment 0 → duration],"words"?:[…],"usage":…}` |
//! | `text` | `text/plain; charset=utf-8` | the transcript and `\n` |
//! | `srt` | `text/plain; charset=utf-8` | `1\n00:00:00,000 --> HH:MM:SS,mmm\n<text>\n\n` |
//! | `vtt` | `text/plain; charset=utf-8` | `WEBVTT\n\n00:00:00.000 --> HH:MM:SS.mmm\n<text>\n\n` |
//!
//! The upstream returns no timing, tokens or probabilities. Segments and subtitle cues are the
//! pieces the audio was uploaded in ([`Rendered::segments`], with their real start and end
//! times); audio sent in one piece is one segment spanning it. A segment's `tokens` is empty and
//! `avg_logprob`, `compression_ratio` and `no_speech_prob` are neutral placeholders (0, 1, 0).
//! An unknown duration is reported as 0.

use serde::Serialize;

use super::fields::{ResponseFormat, TranscriptionFields};
use crate::canonical::ProtocolError;

/// One timed piece of a transcript: start and end in seconds from the start of the audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedText<'a> {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// The text of this piece.
    pub text: &'a str,
}

/// What is rendered: the transcript, the audio duration in seconds (0 when unknown) and its
/// timed segments.
#[derive(Debug, Clone, Copy)]
pub struct Rendered<'a> {
    /// The transcript.
    pub text: &'a str,
    /// Audio duration, seconds.
    pub duration_seconds: f64,
    /// Timed segments in order; empty means one segment spanning the whole audio.
    pub segments: &'a [TimedText<'a>],
}

/// A rendered answer: content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// `application/json` or `text/plain; charset=utf-8`.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
}

#[derive(Serialize)]
struct Usage {
    #[serde(rename = "type")]
    kind: &'static str,
    seconds: u64,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    text: &'a str,
    usage: Usage,
}

#[derive(Serialize)]
struct Segment<'a> {
    id: u32,
    seek: u32,
    start: f64,
    end: f64,
    text: &'a str,
    tokens: [u32; 0],
    temperature: f64,
    avg_logprob: f64,
    compression_ratio: f64,
    no_speech_prob: f64,
}

#[derive(Serialize)]
struct Word<'a> {
    word: &'a str,
    start: f64,
    end: f64,
}

#[derive(Serialize)]
struct VerboseOut<'a> {
    task: &'static str,
    language: &'a str,
    duration: f64,
    text: &'a str,
    segments: Vec<Segment<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<Vec<Word<'a>>>,
    usage: Usage,
}

impl<'a> Rendered<'a> {
    fn usage(&self) -> Usage {
        Usage {
            kind: "duration",
            seconds: self.duration_seconds.max(0.0).ceil() as u64,
        }
    }

    fn duration(&self) -> f64 {
        // Whisper reports durations in seconds with millisecond precision.
        (self.duration_seconds.max(0.0) * 1000.0).round() / 1000.0
    }

    fn ms(seconds: f64) -> f64 {
        (seconds.max(0.0) * 1000.0).round() / 1000.0
    }

    /// The timed segments: [`Self::segments`], or one spanning the audio.
    fn timed(&self) -> Vec<TimedText<'a>> {
        if self.segments.is_empty() {
            vec![TimedText {
                start: 0.0,
                end: self.duration(),
                text: self.text,
            }]
        } else {
            self.segments.to_vec()
        }
    }

    /// The answer in `fields.response_format`.
    ///
    /// # Errors
    /// [`ProtocolError::Serialize`], never in practice.
    pub fn render(&self, fields: &TranscriptionFields) -> Result<Body, ProtocolError> {
        let json = |bytes: Result<Vec<u8>, serde_json::Error>| {
            Ok(Body {
                content_type: "application/json",
                bytes: bytes.map_err(ProtocolError::Serialize)?,
            })
        };
        let plain = |text: String| {
            Ok(Body {
                content_type: "text/plain; charset=utf-8",
                bytes: text.into_bytes(),
            })
        };
        match fields.response_format {
            ResponseFormat::Json => json(serde_json::to_vec(&JsonOut {
                text: self.text,
                usage: self.usage(),
            })),
            ResponseFormat::VerboseJson => json(serde_json::to_vec(&self.verbose(fields))),
            ResponseFormat::Text => plain(format!("{}\n", self.text)),
            ResponseFormat::Srt => plain(self.cues("", ',', true)),
            ResponseFormat::Vtt => plain(self.cues("WEBVTT\n\n", '.', false)),
        }
    }

    /// Subtitle cues, one per segment: SRT numbers them from 1, WebVTT does not.
    fn cues(&self, header: &str, sep: char, numbered: bool) -> String {
        let mut out = String::from(header);
        for (i, seg) in self.timed().iter().enumerate() {
            if numbered {
                out.push_str(&format!("{}\n", i + 1));
            }
            out.push_str(&format!(
                "{} --> {}\n{}\n\n",
                timestamp(Self::ms(seg.start), sep),
                timestamp(Self::ms(seg.end), sep),
                seg.text.trim()
            ));
        }
        out
    }

    fn verbose<'b>(&'b self, fields: &'b TranscriptionFields) -> VerboseOut<'b> {
        let duration = self.duration();
        let timed = self.timed();
        let segments = timed
            .iter()
            .enumerate()
            .map(|(i, seg)| Segment {
                id: u32::try_from(i).unwrap_or(u32::MAX),
                seek: 0,
                start: Self::ms(seg.start),
                end: Self::ms(seg.end),
                text: seg.text,
                tokens: [],
                temperature: fields.temperature.unwrap_or(0.0),
                avg_logprob: 0.0,
                compression_ratio: 1.0,
                no_speech_prob: 0.0,
            })
            .collect();
        VerboseOut {
            task: "transcribe",
            language: fields.language.as_deref().map_or("unknown", language_name),
            duration,
            text: self.text,
            segments,
            words: fields.words.then(|| {
                timed
                    .iter()
                    .flat_map(|seg| words(seg.text, seg.start, seg.end))
                    .collect()
            }),
            usage: self.usage(),
        }
    }
}

/// Word timestamps: the upstream gives none, so within a segment each whitespace-separated
/// token gets an equal share of the segment's time, in order (token `i` of `n` spans
/// `start + i·d/n` to `start + (i+1)·d/n`, rounded to milliseconds). Good enough to place words
/// roughly; not aligned to the speech.
fn words(text: &str, start: f64, end: f64) -> Vec<Word<'_>> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let n = tokens.len() as f64;
    let duration = (end - start).max(0.0);
    let ms = |x: f64| (x * 1000.0).round() / 1000.0;
    tokens
        .iter()
        .enumerate()
        .map(|(i, word)| Word {
            word,
            start: ms(start + i as f64 * duration / n),
            end: ms(start + (i + 1) as f64 * duration / n),
        })
        .collect()
}

/// `HH:MM:SS<sep>mmm` for `seconds` (SRT uses `,`, WebVTT `.`).
pub fn timestamp(seconds: f64, sep: char) -> String {
    let total_ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

/// Whisper's language names (lower-case English), for the codes people commonly send.
const LANGUAGES: &[(&str, &str)] = &[
    ("ar", "arabic"),
    ("bg", "bulgarian"),
    ("ca", "catalan"),
    ("cs", "czech"),
    ("da", "danish"),
    ("de", "german"),
    ("el", "greek"),
    ("en", "english"),
    ("es", "spanish"),
    ("fa", "persian"),
    ("fi", "finnish"),
    ("fr", "french"),
    ("he", "hebrew"),
    ("hi", "hindi"),
    ("hr", "croatian"),
    ("hu", "hungarian"),
    ("id", "indonesian"),
    ("it", "italian"),
    ("ja", "japanese"),
    ("ko", "korean"),
    ("ms", "malay"),
    ("nl", "dutch"),
    ("no", "norwegian"),
    ("pl", "polish"),
    ("pt", "portuguese"),
    ("ro", "romanian"),
    ("ru", "russian"),
    ("sk", "slovak"),
    ("sr", "serbian"),
    ("sv", "swedish"),
    ("th", "thai"),
    ("tr", "turkish"),
    ("uk", "ukrainian"),
    ("vi", "vietnamese"),
    ("yue", "cantonese"),
    ("zh", "chinese"),
];

/// The English name Whisper uses for language `code` (`en` → `english`; a region suffix such as
/// `en-US` is ignored), else `code` itself.
pub fn language_name(code: &str) -> &str {
    let base = code.split(['-', '_']).next().unwrap_or(code);
    LANGUAGES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(base))
        .map_or(code, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_both_subtitle_styles() {
        assert_eq!(timestamp(0.0, ','), "00:00:00,000");
        assert_eq!(timestamp(3.7201, ','), "00:00:03,720");
        assert_eq!(timestamp(3725.5, '.'), "01:02:05.500");
        assert_eq!(timestamp(-1.0, '.'), "00:00:00.000");
    }

    #[test]
    fn words_share_the_duration_evenly_and_end_at_it() {
        let w = words("hello big  world", 0.0, 3.0);
        let got: Vec<_> = w.iter().map(|w| (w.word, w.start, w.end)).collect();
        assert_eq!(
            got,
            [("hello", 0.0, 1.0), ("big", 1.0, 2.0), ("world", 2.0, 3.0)]
        );
        assert!(words("   ", 0.0, 3.0).is_empty());
        let w = words("a b", 10.0, 11.0);
        assert_eq!((w[1].start, w[1].end), (10.5, 11.0));
    }

    #[test]
    fn language_names() {
        assert_eq!(language_name("en"), "english");
        assert_eq!(language_name("zh-CN"), "chinese");
        assert_eq!(language_name("EN"), "english");
        assert_eq!(language_name("xx"), "xx");
    }

    #[test]
    fn usage_rounds_up_to_whole_seconds() {
        let r = Rendered {
            text: "a",
            duration_seconds: 3.0001,
            segments: &[],
        };
        assert_eq!(r.usage().seconds, 4);
        let r = Rendered {
            text: "a",
            duration_seconds: 0.0,
            segments: &[],
        };
        assert_eq!(r.usage().seconds, 0);
    }

    #[test]
    fn segments_become_cues_with_their_real_times() {
        let segs = [
            TimedText {
                start: 0.25,
                end: 8.5,
                text: "first part",
            },
            TimedText {
                start: 9.0,
                end: 3725.5,
                text: " second",
            },
        ];
        let r = Rendered {
            text: "first part second",
            duration_seconds: 3726.0,
            segments: &segs,
        };
        let mut fields = TranscriptionFields {
            response_format: ResponseFormat::Srt,
            ..Default::default()
        };
        let srt = String::from_utf8(r.render(&fields).expect("renders").bytes).expect("utf-8");
        assert_eq!(srt, "1\n00:00:00,250 --> 00:00:08,500\nfirst part\n\n2\n00:00:09,000 --> 01:02:05,500\nsecond\n\n");
        fields.response_format = ResponseFormat::Vtt;
        let vtt = String::from_utf8(r.render(&fields).expect("renders").bytes).expect("utf-8");
        assert!(
            vtt.starts_with("WEBVTT\n\n00:00:00.250 --> 00:00:08.500\nfirst part\n\n00:00:09.000"),
            "{vtt}"
        );
        fields.response_format = ResponseFormat::VerboseJson;
        fields.words = true;
        let v: serde_json::Value =
            serde_json::from_slice(&r.render(&fields).expect("renders").bytes).expect("JSON");
        assert_eq!(v["segments"][1]["start"], 9.0);
        assert_eq!(v["segments"][1]["id"], 1);
        assert_eq!(v["words"][2]["word"], "second");
        assert_eq!(v["words"][2]["start"], 9.0);
    }
}
