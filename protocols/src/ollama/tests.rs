//! Tests of the Ollama protocol folder.
