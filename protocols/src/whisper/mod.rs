//! The OpenAI audio transcription API (`POST /v1/audio/transcriptions`, the Whisper API shape;
//! protocols.md §4e, clients.md §6): the text fields of the multipart form and the five
//! response formats. Errors use the OpenAI shape ([`crate::openai_chat::error_response`]).
//! Reading the multipart body and running the codec pipeline are the server's.

mod fields;
mod format;

pub use fields::{ResponseFormat, TranscriptionFields};
pub use format::{language_name, timestamp, Body, Rendered, TimedText};
