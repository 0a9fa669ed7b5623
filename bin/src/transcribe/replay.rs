//! Keeping the first bytes of a one-way input so that short audio can still be sent as it came.
//!
//! Whether audio is longer than one segment is only known after decoding up to the maximum
//! segment length. For a file the answer costs nothing (it is rewound); for a stream the bytes
//! read so far are kept here, up to [`REPLAY_LIMIT`], and dropped as soon as the first segment is
//! cut (the audio is long: segments are sent instead).

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use codex_pipe_codecs::Input;

/// Most bytes of a stream kept for a replay (16 MiB: 30 s of 48 kHz stereo float WAV is 11 MiB).
pub const REPLAY_LIMIT: usize = 16 << 20;

/// What was kept: `None` once dropped or past the limit.
type Kept = Arc<Mutex<Option<Vec<u8>>>>;

/// A stream reader that keeps a copy of what it reads.
struct Tee<R> {
    inner: R,
    kept: Kept,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Ok(mut kept) = self.kept.lock() {
                let over = kept.as_ref().is_some_and(|k| k.len() + n > REPLAY_LIMIT);
                if over {
                    *kept = None;
                } else if let Some(k) = kept.as_mut() {
                    k.extend_from_slice(&buf[..n]);
                }
            }
        }
        Ok(n)
    }
}

/// How the original input can be read again.
pub enum Replay {
    /// A file: a second handle, rewound when asked.
    File(std::fs::File),
    /// A stream: the bytes kept by the tee.
    Stream(Kept),
}

impl Replay {
    /// Wrap `input` so it can be replayed; returns the input to decode and the replay handle.
    ///
    /// # Errors
    /// Duplicating a file handle failed.
    pub fn wrap(input: Input) -> io::Result<(Input, Replay)> {
        Ok(match input {
            Input::File(file) => {
                let again = file.try_clone()?;
                (Input::File(file), Replay::File(again))
            }
            Input::Stream(inner) => {
                let kept: Kept = Arc::new(Mutex::new(Some(Vec::new())));
                let tee = Tee {
                    inner,
                    kept: kept.clone(),
                };
                (Input::stream(tee), Replay::Stream(kept))
            }
        })
    }

    /// True while the whole input read so far can be replayed.
    pub fn available(&self) -> bool {
        match self {
            Replay::File(_) => true,
            Replay::Stream(kept) => kept.lock().map(|k| k.is_some()).unwrap_or(false),
        }
    }

    /// Stop keeping bytes (the audio is long; it goes out as segments).
    pub fn drop_kept(&self) {
        if let Replay::Stream(kept) = self {
            if let Ok(mut k) = kept.lock() {
                *k = None;
            }
        }
    }

    /// The input again, from its first byte, or `None` when it was not kept.
    ///
    /// # Errors
    /// Rewinding the file failed.
    pub fn into_input(self) -> io::Result<Option<Input>> {
        Ok(match self {
            Replay::File(mut file) => {
                file.seek(SeekFrom::Start(0))?;
                Some(Input::File(file))
            }
            Replay::Stream(kept) => kept
                .lock()
                .ok()
                .and_then(|mut k| k.take())
                .map(|bytes| Input::stream(Cursor::new(bytes))),
        })
    }
}
