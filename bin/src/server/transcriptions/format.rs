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
//! The upstream returns no timing, tokens or probabilities. So there is exactly one segment and
//! one subtitle cue, spanning the whole audio; the segment's `tokens` is empty and `avg_logprob`,
//! `compression_ratio` and `no_speech_prob` are neutral placeholders (0, 1, 0). An unknown
//! duration is reported as 0.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::form::{ResponseFormat, TranscriptionFields};

/// What is rendered: the transcript and the audio duration in seconds (0 when unknown).
#[derive(Debug, Clone, Copy)]
pub struct Rendered<'a> {
    /// The transcript.
    pub text: &'a str,
    /// Audio duration, seconds.
    pub duration_seconds: f64,
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
    segments: [Segment<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<Vec<Word<'a>>>,
    usage: Usage,
}

impl Rendered<'_> {
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

    /// The response in `fields.response_format`.
    pub fn response(&self, fields: &TranscriptionFields) -> Response {
        match fields.response_format {
            ResponseFormat::Json => json(&JsonOut {
                text: self.text,
                usage: self.usage(),
            }),
            ResponseFormat::VerboseJson => json(&self.verbose(fields)),
            ResponseFormat::Text => plain(format!("{}\n", self.text)),
            ResponseFormat::Srt => plain(format!(
                "1\n00:00:00,000 --> {}\n{}\n\n",
                timestamp(self.duration(), ','),
                self.text
            )),
            ResponseFormat::Vtt => plain(format!(
                "WEBVTT\n\n00:00:00.000 --> {}\n{}\n\n",
                timestamp(self.duration(), '.'),
                self.text
            )),
        }
    }

    fn verbose<'a>(&'a self, fields: &'a TranscriptionFields) -> VerboseOut<'a> {
        let duration = self.duration();
        VerboseOut {
            task: "transcribe",
            language: fields.language.as_deref().map_or("unknown", language_name),
            duration,
            text: self.text,
            segments: [Segment {
                id: 0,
                seek: 0,
                start: 0.0,
                end: duration,
                text: self.text,
                tokens: [],
                temperature: fields.temperature.unwrap_or(0.0),
                avg_logprob: 0.0,
                compression_ratio: 1.0,
                no_speech_prob: 0.0,
            }],
            words: fields.words.then(|| words(self.text, duration)),
            usage: self.usage(),
        }
    }
}

/// Word timestamps: the upstream gives none, so each whitespace-separated token gets an equal
/// share of the duration, in order (token `i` of `n` spans `i·d/n` to `(i+1)·d/n`, rounded to
/// milliseconds). Good enough to place words roughly; not aligned to the speech.
fn words(text: &str, duration: f64) -> Vec<Word<'_>> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let n = tokens.len() as f64;
    let ms = |x: f64| (x * 1000.0).round() / 1000.0;
    tokens
        .iter()
        .enumerate()
        .map(|(i, word)| Word {
            word,
            start: ms(i as f64 * duration / n),
            end: ms((i + 1) as f64 * duration / n),
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

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(body.into_response(), "application/json"),
        Err(e) => {
            crate::server::error::ApiError::internal(format!("serializing the response: {e}"))
                .into_response()
        }
    }
}

fn plain(body: String) -> Response {
    with_type(body.into_response(), "text/plain; charset=utf-8")
}

fn with_type(mut response: Response, content_type: &'static str) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
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
        let w = words("hello big  world", 3.0);
        let got: Vec<_> = w.iter().map(|w| (w.word, w.start, w.end)).collect();
        assert_eq!(
            got,
            [("hello", 0.0, 1.0), ("big", 1.0, 2.0), ("world", 2.0, 3.0)]
        );
        assert!(words("   ", 3.0).is_empty());
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
        };
        assert_eq!(r.usage().seconds, 4);
        let r = Rendered {
            text: "a",
            duration_seconds: 0.0,
        };
        assert_eq!(r.usage().seconds, 0);
    }
}
