//! Audio sniffing, decoding, resampling and encoding for codex-pipe.
