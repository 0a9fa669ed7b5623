//! SILK v3 and Tencent/WeChat SILK through the external `rust-silk` program (crates.io
//! `rust-silk` 0.1.4, which wraps the Skype SILK SDK).
//!
//! The program is run directly (never through a shell) as
//! `rust-silk decode -i - -o - --sample-rate <rate> --quiet`: the input is written to its stdin
//! from a thread (so a full stdout pipe cannot deadlock us), signed 16-bit little-endian mono
//! PCM is read from its stdout as it is produced, and stderr is collected. A non-zero exit or
//! an empty output is a [`CodecError::DecoderFailed`] carrying its stderr; since `rust-silk`
//! writes partial PCM before failing on a truncated file, the error arrives at the end of the
//! stream and the partial output must not be taken as a success (codecs.md §4).

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use super::{PcmSource, PcmSpec};
use crate::error::CodecError;
use crate::input::SniffedInput;

/// Sample rates `rust-silk decode` can produce (Hz).
pub const SILK_SAMPLE_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

/// How to run the SILK decoder.
#[derive(Debug, Clone)]
pub struct SilkOptions {
    /// The `rust-silk` executable (a path, or a name looked up in `PATH`).
    pub decoder: PathBuf,
    /// Output sample rate in Hz; one of [`SILK_SAMPLE_RATES`]. WeChat records at 24000.
    pub sample_rate: u32,
    /// False to refuse SILK input instead of decoding it.
    pub enabled: bool,
}

impl Default for SilkOptions {
    fn default() -> Self {
        SilkOptions {
            decoder: PathBuf::from("rust-silk"),
            sample_rate: 24_000,
            enabled: true,
        }
    }
}

/// Bytes read from the decoder's stdout per block (4096 frames of s16).
const READ_BYTES: usize = 8192;

pub(crate) struct SilkSource {
    child: Child,
    stdout: ChildStdout,
    feeder: Option<JoinHandle<io::Result<()>>>,
    stderr: Option<JoinHandle<String>>,
    sample_rate: u32,
    bytes: Vec<u8>,
    /// Bytes of `bytes` carried over from the last read (an odd byte of a split sample).
    carry: usize,
    block: Vec<f32>,
    finished: bool,
    frames: u64,
}

impl SilkSource {
    pub(crate) fn spawn(input: SniffedInput, opts: &SilkOptions) -> Result<Self, CodecError> {
        let container = input.container;
        if !opts.enabled {
            return Err(CodecError::Unsupported {
                container,
                reason: "SILK decoding is disabled (--no-silk-decode)".into(),
            });
        }
        if !SILK_SAMPLE_RATES.contains(&opts.sample_rate) {
            return Err(CodecError::InvalidOption(format!(
                "the SILK sample rate must be one of {SILK_SAMPLE_RATES:?} Hz, not {}",
                opts.sample_rate
            )));
        }
        let rate = opts.sample_rate.to_string();
        let mut child = Command::new(&opts.decoder)
            .args([
                "decode",
                "-i",
                "-",
                "-o",
                "-",
                "--sample-rate",
                &rate,
                "--quiet",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CodecError::DecoderMissing {
                decoder: opts.decoder.display().to_string(),
                detail: e.to_string(),
                install: "cargo install rust-silk --version 0.1.4".into(),
            })?;
        let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(CodecError::DecoderFailed {
                decoder: "rust-silk".into(),
                message: "its standard streams could not be opened".into(),
            });
        };
        let mut source = input.into_source();
        let feeder = std::thread::spawn(move || match io::copy(&mut source, &mut stdin) {
            // The decoder stopped reading (it failed): its stderr says why.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map(drop),
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(SilkSource {
            child,
            stdout,
            feeder: Some(feeder),
            stderr: Some(stderr),
            sample_rate: opts.sample_rate,
            bytes: vec![0; READ_BYTES],
            carry: 0,
            block: Vec::new(),
            finished: false,
            frames: 0,
        })
    }

    /// Read PCM into `self.block`; false at the end of the decoder's output.
    fn read_block(&mut self) -> Result<bool, CodecError> {
        loop {
            let n = match self.stdout.read(&mut self.bytes[self.carry..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CodecError::Io(e)),
            };
            if n == 0 {
                return Ok(false);
            }
            let have = self.carry + n;
            let whole = have & !1;
            self.block.clear();
            self.block.extend(
                self.bytes[..whole]
                    .chunks_exact(2)
                    .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0),
            );
            self.bytes.copy_within(whole..have, 0);
            self.carry = have - whole;
            if !self.block.is_empty() {
                self.frames += self.block.len() as u64;
                return Ok(true);
            }
        }
    }

    /// Reap the process and turn a failure or an empty output into an error.
    fn finish(&mut self) -> Result<(), CodecError> {
        self.finished = true;
        let status = self.child.wait()?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let fed = self.feeder.take().map(|h| h.join());
        let failed = |message: String| CodecError::DecoderFailed {
            decoder: "rust-silk".into(),
            message,
        };
        if !status.success() {
            let text = stderr.trim();
            let text = text.strip_prefix("Error: ").unwrap_or(text);
            return Err(failed(if text.is_empty() {
                format!("exited with {status}")
            } else {
                text.to_owned()
            }));
        }
        if let Some(Ok(Err(e))) = fed {
            return Err(CodecError::Io(e));
        }
        if self.frames == 0 {
            return Err(failed(
                "it produced no audio (a SILK header without packets?)".into(),
            ));
        }
        Ok(())
    }
}

impl PcmSource for SilkSource {
    fn spec(&self) -> PcmSpec {
        PcmSpec {
            sample_rate: self.sample_rate,
            channels: 1,
        }
    }

    fn codec_name(&self) -> &str {
        "silk"
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>, CodecError> {
        if self.finished {
            return Ok(None);
        }
        if self.read_block()? {
            return Ok(Some(&self.block));
        }
        self.finish()?;
        Ok(None)
    }
}

impl Drop for SilkSource {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
