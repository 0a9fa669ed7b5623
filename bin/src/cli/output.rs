//! How `codex-pipe` prints a transcript: `--format text|json|srt|vtt`.

use std::fmt::Write as _;

use clap::ValueEnum;

use crate::transcribe::{Segment, Transcript};

/// Output format of the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The text alone.
    Text,
    /// `{"text", "duration_seconds", "segments": [{"start", "end", "text"}]}` (seconds).
    Json,
    /// SubRip subtitles, one cue per segment.
    Srt,
    /// WebVTT subtitles, one cue per segment.
    Vtt,
}

/// `HH:MM:SS` + `sep` + milliseconds.
fn timestamp(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn cues(segments: &[Segment], sep: char, numbered: bool) -> String {
    let mut out = String::new();
    let mut n = 0;
    for s in segments.iter().filter(|s| !s.text.trim().is_empty()) {
        n += 1;
        if numbered {
            let _ = writeln!(out, "{n}");
        }
        let _ = writeln!(
            out,
            "{} --> {}\n{}\n",
            timestamp(s.start, sep),
            timestamp(s.end, sep),
            s.text.trim()
        );
    }
    out
}

/// Render `t` in `format` (ends with a newline).
pub fn render(t: &Transcript, format: Format) -> String {
    match format {
        Format::Text => format!("{}\n", t.text()),
        Format::Json => format!(
            "{}\n",
            serde_json::json!({
                "text": t.text(),
                "duration_seconds": t.duration_seconds,
                "segments": t.segments,
            })
        ),
        Format::Srt => cues(&t.segments, ',', true),
        Format::Vtt => format!("WEBVTT\n\n{}", cues(&t.segments, '.', false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtitles_and_json() {
        let t = Transcript {
            segments: vec![
                Segment {
                    start: 0.0,
                    end: 12.34,
                    text: "Hello.".into(),
                },
                Segment {
                    start: 12.34,
                    end: 3723.5,
                    text: " World ".into(),
                },
            ],
            duration_seconds: Some(3723.5),
        };
        assert_eq!(
            render(&t, Format::Srt),
            "1\n00:00:00,000 --> 00:00:12,340\nHello.\n\n2\n00:00:12,340 --> 01:02:03,500\nWorld\n\n"
        );
        assert!(render(&t, Format::Vtt).starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:12.340\n"));
        let json: serde_json::Value =
            serde_json::from_str(&render(&t, Format::Json)).expect("json");
        assert_eq!(json["text"], "Hello. World");
        assert_eq!(json["segments"][1]["start"], 12.34);
        assert_eq!(render(&t, Format::Text), "Hello. World\n");
    }
}
