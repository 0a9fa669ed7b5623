//! The text fields of `POST /v1/audio/transcriptions` (OpenAI API reference, "Create
//! transcription"; protocols.md §4e).

use crate::canonical::{ApiError, FailureKind};

/// 400 `invalid_value` about field `param`.
fn invalid_value(param: &str, message: String) -> ApiError {
    ApiError::new(FailureKind::InvalidRequest, message)
        .with_code("invalid_value")
        .with_param(param.to_owned())
}

/// `response_format` (OpenAI API reference, "Create transcription").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseFormat {
    /// `{"text": …, "usage": …}` (the default when the field is absent).
    #[default]
    Json,
    /// The transcript as `text/plain`.
    Text,
    /// `{"task","language","duration","text","segments",["words"],"usage"}`.
    VerboseJson,
    /// SubRip subtitles.
    Srt,
    /// WebVTT subtitles.
    Vtt,
}

impl ResponseFormat {
    /// The format named `name`, or `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "json" => Self::Json,
            "text" => Self::Text,
            "verbose_json" => Self::VerboseJson,
            "srt" => Self::Srt,
            "vtt" => Self::Vtt,
            _ => return None,
        })
    }
}

/// The text fields of a transcription request. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranscriptionFields {
    /// `model`: accepted and echoed nowhere; the dictation endpoint picks its own model.
    pub model: Option<String>,
    /// `language`: ISO-639-1 code, forwarded upstream.
    pub language: Option<String>,
    /// `prompt`: accepted, not forwarded (the dictation endpoint's prompt support is unverified,
    /// protocols.md §3).
    pub prompt: Option<String>,
    /// `response_format`.
    pub response_format: ResponseFormat,
    /// `temperature` in 0–1; echoed in `verbose_json` segments.
    pub temperature: Option<f64>,
    /// `timestamp_granularities[]` contains `word`.
    pub words: bool,
}

impl TranscriptionFields {
    /// Apply the text field `name` = `value`.
    ///
    /// # Errors
    /// An [`ApiError`] of kind [`FailureKind::InvalidRequest`] with `param` = `name` for an
    /// invalid value (code `invalid_value`), and for `stream=true` (`unsupported_value`).
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), ApiError> {
        let value = value.trim();
        let some = || (!value.is_empty()).then(|| value.to_owned());
        match name {
            "model" => self.model = some(),
            "language" => self.language = some(),
            "prompt" => self.prompt = some(),
            "response_format" if value.is_empty() => self.response_format = ResponseFormat::Json,
            "response_format" => {
                self.response_format = ResponseFormat::parse(value).ok_or_else(|| {
                    invalid_value(
                        name,
                        format!("unsupported response_format {value:?}: use json, text, verbose_json, srt or vtt"),
                    )
                })?;
            }
            "temperature" if value.is_empty() => self.temperature = None,
            "temperature" => {
                let t = value
                    .parse::<f64>()
                    .ok()
                    .filter(|t| (0.0..=1.0).contains(t))
                    .ok_or_else(|| {
                        invalid_value(
                            name,
                            format!("temperature must be a number from 0 to 1, got {value:?}"),
                        )
                    })?;
                self.temperature = Some(t);
            }
            "timestamp_granularities[]" | "timestamp_granularities" => match value {
                "word" => self.words = true,
                "segment" | "" => {}
                _ => {
                    return Err(invalid_value(
                        name,
                        format!("unsupported timestamp granularity {value:?}: use word or segment"),
                    ))
                }
            },
            "stream" => match value {
                "" | "false" | "False" | "0" => {}
                "true" | "True" | "1" => {
                    return Err(ApiError::new(
                        FailureKind::InvalidRequest,
                        "stream=true is not supported by this proxy: the dictation backend returns the whole transcript at once; omit `stream`",
                    )
                    .with_code("unsupported_value")
                    .with_param(name.to_owned()))
                }
                _ => {
                    return Err(invalid_value(
                        name,
                        format!("stream must be true or false, got {value:?}"),
                    ))
                }
            },
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_as_the_openai_sdk_sends_them() {
        let mut f = TranscriptionFields::default();
        for (name, value) in [
            ("model", "whisper-1"),
            ("language", "en"),
            ("prompt", "a meeting"),
            ("response_format", "verbose_json"),
            ("temperature", "0.0"),
            ("timestamp_granularities[]", "word"),
            ("timestamp_granularities[]", "segment"),
            ("include[]", "logprobs"),
        ] {
            f.apply(name, value).expect(name);
        }
        assert_eq!(f.response_format, ResponseFormat::VerboseJson);
        assert_eq!(
            (f.language.as_deref(), f.temperature, f.words),
            (Some("en"), Some(0.0), true)
        );
        assert_eq!(
            TranscriptionFields::default().response_format,
            ResponseFormat::Json
        );
    }

    #[test]
    fn invalid_values_name_their_field() {
        let mut f = TranscriptionFields::default();
        let e = f.apply("response_format", "xml").expect_err("xml");
        assert_eq!(
            (e.http_status().as_u16(), e.param.as_deref()),
            (400, Some("response_format"))
        );
        let e = f.apply("temperature", "1.5").expect_err("1.5");
        assert_eq!(e.param.as_deref(), Some("temperature"));
        let e = f.apply("stream", "true").expect_err("stream");
        assert_eq!(
            (e.param.as_deref(), e.code.as_deref()),
            (Some("stream"), Some("unsupported_value"))
        );
        f.apply("stream", "false").expect("stream=false is fine");
        let e = f
            .apply("timestamp_granularities[]", "char")
            .expect_err("char");
        assert_eq!(e.param.as_deref(), Some("timestamp_granularities[]"));
    }
}
