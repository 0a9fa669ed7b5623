//! Tests of the Gemini protocol folder.
