//! External decoder programs run through pipes, never a shell: the plug-in table.
//!
//! | container | program | command |
//! |---|---|---|
//! | SILK v3, Tencent/WeChat SILK | `rust-silk` ([`super::silk`]) | `rust-silk decode -i - -o - --sample-rate R --quiet` |
//! | AMR-NB, AMR-WB, Ogg Speex, Ogg with another codec | `ffmpeg` ([`super::ffmpeg`]) | `ffmpeg -nostdin -hide_banner -loglevel error -i pipe:0 -map 0:a:0 -f s16le -c:a pcm_s16le -ar R -ac C pipe:1` |
//!
//! Each program reads the input on stdin (written from a thread, so a full stdout pipe cannot
//! deadlock us) and writes signed 16-bit little-endian interleaved PCM at a format fixed before
//! it starts ([`ExternalCommand::spec`]) to stdout, which is read as it is produced; stderr is
//! collected. A program that cannot be started is [`CodecError::DecoderMissing`] (naming it and
//! how to install it); a non-zero exit or an empty output is [`CodecError::DecoderFailed`] with
//! its stderr, reported at the end of the stream: both programs write partial PCM before
//! failing on a truncated file, so what came before must not be taken as a success.

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use super::{PcmSource, PcmSpec};
use crate::error::CodecError;
use crate::input::SniffedInput;

/// One row of the plug-in table, resolved for an input: what to run and what it produces.
#[derive(Debug, Clone)]
pub(crate) struct ExternalCommand {
    /// The decoder's name in the table and in messages (`rust-silk`, `ffmpeg`).
    pub name: &'static str,
    /// The executable (a path, or a name looked up in `PATH`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The PCM format it writes.
    pub spec: PcmSpec,
    /// The codec name reported for the stream (`silk`, `amr_nb`, `speex`, ...).
    pub codec: &'static str,
    /// The command that installs the program.
    pub install: &'static str,
}

/// Bytes read from the decoder's stdout per block.
const READ_BYTES: usize = 16 * 1024;

/// A running external decoder, yielding its PCM as `f32` blocks.
pub(crate) struct ExternalSource {
    command: ExternalCommand,
    child: Child,
    stdout: ChildStdout,
    feeder: Option<JoinHandle<io::Result<()>>>,
    stderr: Option<JoinHandle<String>>,
    bytes: Vec<u8>,
    /// Bytes of `bytes` carried over from the last read (part of a split frame).
    carry: usize,
    block: Vec<f32>,
    finished: bool,
    frames: u64,
}

impl ExternalSource {
    /// Start `command` and feed it `input` from a thread.
    ///
    /// # Errors
    /// [`CodecError::DecoderMissing`] when the program cannot be started.
    pub(crate) fn spawn(input: SniffedInput, command: ExternalCommand) -> Result<Self, CodecError> {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CodecError::DecoderMissing {
                decoder: command.name.into(),
                detail: format!("{}: {e}", command.program.display()),
                install: command.install.into(),
            })?;
        let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CodecError::DecoderFailed {
                decoder: command.name.into(),
                message: "its standard streams could not be opened".into(),
            });
        };
        let mut source = input.into_source();
        let feeder = std::thread::spawn(move || match io::copy(&mut source, &mut stdin) {
            // The decoder stopped reading (it failed, or it needs no more): its exit says why.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map(drop),
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(ExternalSource {
            command,
            child,
            stdout,
            feeder: Some(feeder),
            stderr: Some(stderr),
            bytes: vec![0; READ_BYTES],
            carry: 0,
            block: Vec::new(),
            finished: false,
            frames: 0,
        })
    }

    /// Read PCM into `self.block` (whole frames); false at the end of the decoder's output.
    fn read_block(&mut self) -> Result<bool, CodecError> {
        let frame_bytes = 2 * usize::from(self.command.spec.channels.max(1));
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
            let whole = have - have % frame_bytes;
            self.block.clear();
            self.block.extend(
                self.bytes[..whole]
                    .chunks_exact(2)
                    .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0),
            );
            self.bytes.copy_within(whole..have, 0);
            self.carry = have - whole;
            if !self.block.is_empty() {
                self.frames += (whole / frame_bytes) as u64;
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
        let name = self.command.name;
        let failed = |message: String| CodecError::DecoderFailed {
            decoder: name.into(),
            message,
        };
        if !status.success() {
            let text = stderr.trim();
            let text = text.strip_prefix("Error: ").unwrap_or(text);
            let last = text.lines().last().unwrap_or_default();
            return Err(failed(if last.is_empty() {
                format!("exited with {status}")
            } else {
                last.to_owned()
            }));
        }
        if let Some(Ok(Err(e))) = fed {
            return Err(CodecError::Io(e));
        }
        if self.frames == 0 {
            return Err(failed("it produced no audio".into()));
        }
        Ok(())
    }
}

impl PcmSource for ExternalSource {
    fn spec(&self) -> PcmSpec {
        self.command.spec
    }

    fn codec_name(&self) -> &str {
        self.command.codec
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

impl Drop for ExternalSource {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
