//! The `codex-pipe` command line: argument types and one module per subcommand.
//!
//! Exit codes (also in README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | an unexpected failure (I/O, an internal error) |
//! | 2 | invalid command line (clap's usage errors) |
//! | 3 | the input audio is empty, unrecognised, unsupported, corrupt or truncated |
//! | 4 | a required external tool is missing (`rust-silk`) |
//! | 5 | no usable login (auth.json missing, expired and not refreshable) |
//! | 6 | the upstream endpoint failed or rejected the request |

pub mod accounts;
pub mod codec_args;
pub mod convert;
pub mod net_args;
pub mod pool_args;
pub mod probe;
pub mod sim;
pub mod transcribe;

use std::fs::File;

use codex_pipe_codecs::{CodecError, Input};

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

/// `-` is standard input, anything else a file path.
pub fn open_input(path: &std::path::Path) -> anyhow::Result<Input> {
    if path.as_os_str() == "-" {
        return Ok(Input::stream(std::io::stdin()));
    }
    let file =
        File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    Ok(Input::File(file))
}
