//! The `codex-pipe` command line: argument types and one module per subcommand.
//!
//! Exit codes (also in README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | an unexpected failure (I/O, an internal error) |
//! | 2 | invalid command line (clap's usage errors), an input path that is a directory or missing |
//! | 3 | the input audio is empty, unrecognised, unsupported, corrupt or truncated |
//! | 4 | a required external tool is missing (`rust-silk`, `ffmpeg`) |
//! | 5 | no usable login (auth.json missing, expired and not refreshable) |
//! | 6 | the upstream endpoint failed or rejected the request (a segment of long audio failed after its retries) |

pub mod accounts;
pub mod codec_args;
pub mod convert;
pub mod net_args;
pub mod output;
pub mod pool_args;
pub mod probe;
pub mod progress;
pub mod sim;
pub mod transcribe;

use std::fs::File;

use codex_pipe_codecs::{CodecError, Input};

/// Exit code for an invalid command line (as clap's usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit code for bad input audio.
pub const EXIT_BAD_INPUT: u8 = 3;
/// Exit code for a missing external tool.
pub const EXIT_MISSING_TOOL: u8 = 4;
/// Exit code for missing or unusable auth.
pub const EXIT_AUTH: u8 = 5;
/// Exit code for upstream failures.
pub const EXIT_UPSTREAM: u8 = 6;

/// Exit code for a codec error.
pub fn codec_exit_code(e: &CodecError) -> u8 {
    match e {
        CodecError::DecoderMissing { .. } => EXIT_MISSING_TOOL,
        CodecError::Io(_) => 1,
        _ => EXIT_BAD_INPUT,
    }
}

/// The input path names nothing readable as audio: a usage error (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {reason}")]
pub struct InputPathError {
    /// The path as given.
    pub path: String,
    /// Why: missing, a directory, permission denied, ...
    pub reason: String,
}

/// `-` is standard input, anything else a path. A regular file is read as a seekable file;
/// anything else that can be opened for reading (a FIFO, `<(cmd)` process substitution's
/// `/dev/fd/N`, a character device, a socket) is read as a one-way stream, like stdin.
///
/// # Errors
/// [`InputPathError`] for a missing path, a directory, or one that cannot be opened.
pub fn open_input(path: &std::path::Path) -> Result<Input, InputPathError> {
    if path.as_os_str() == "-" {
        return Ok(Input::stream(std::io::stdin()));
    }
    let fail = |reason: String| InputPathError {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_owned(),
            _ => e.to_string(),
        })
    })?;
    if meta.is_dir() {
        return Err(fail("it is a directory, not an audio file".into()));
    }
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    Ok(if meta.is_file() {
        Input::File(file)
    } else {
        Input::stream(file)
    })
}
