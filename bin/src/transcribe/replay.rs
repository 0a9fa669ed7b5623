//! Keeping the first bytes of a one-way input so that short audio can still be sent as it came.
//!
//! Whether audio is longer than one segment is only known after decoding up to the maximum
//! segment length. For a file the answer costs nothing (it is rewound); for a stream the bytes
//! read so far are kept here and dropped as soon as the first segment is cut (the audio is long:
//! segments are sent instead). The first [`MEMORY_LIMIT`] bytes are kept in memory; past that
//! they are spooled to an unnamed temporary file, up to [`REPLAY_LIMIT`], so an upload costs at
//! most [`MEMORY_LIMIT`] of memory here however large it is and however slowly it arrives.
//! When the spool cannot be written (or the input is larger than [`REPLAY_LIMIT`]) nothing is
//! kept, and a short input is encoded like a long one instead of being sent as it came.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex, PoisonError};

use codex_pipe_codecs::Input;

/// Bytes of a stream kept in memory before the rest is spooled to disk (128 KiB: 4 s of
/// 16 kHz 16-bit mono WAV, or a minute of compressed speech).
pub const MEMORY_LIMIT: usize = 128 << 10;

/// Most bytes of a stream kept for a replay, memory and spool together (64 MiB: 30 s of 48 kHz
/// stereo float WAV is 11 MiB, of 96 kHz 8-channel 24-bit WAV 66 MB).
pub const REPLAY_LIMIT: u64 = 64 << 20;

/// Where the bytes read so far are kept.
enum Kept {
    /// In memory, at most [`MEMORY_LIMIT`] bytes.
    Memory(Vec<u8>),
    /// In an unnamed temporary file, with its length.
    Spooled(File, u64),
    /// Not kept (dropped, over the limit, or the spool failed).
    Dropped,
}

impl Kept {
    /// Keep `bytes` after what is already kept, moving to the spool past [`MEMORY_LIMIT`].
    fn append(&mut self, bytes: &[u8]) {
        let next = match std::mem::replace(self, Kept::Dropped) {
            Kept::Memory(mut kept) if kept.len() + bytes.len() <= MEMORY_LIMIT => {
                kept.extend_from_slice(bytes);
                Kept::Memory(kept)
            }
            Kept::Memory(kept) => spool(&kept, bytes),
            Kept::Spooled(mut file, len) => {
                let len = len + bytes.len() as u64;
                if len > REPLAY_LIMIT {
                    Kept::Dropped
                } else if let Err(e) = file.write_all(bytes) {
                    tracing::debug!(error = %e, "replay spool: write failed; not keeping the input");
                    Kept::Dropped
                } else {
                    Kept::Spooled(file, len)
                }
            }
            Kept::Dropped => Kept::Dropped,
        };
        *self = next;
    }
}

/// Move `memory` and then `bytes` to a new spool file.
fn spool(memory: &[u8], bytes: &[u8]) -> Kept {
    let len = (memory.len() + bytes.len()) as u64;
    if len > REPLAY_LIMIT {
        return Kept::Dropped;
    }
    let written = tempfile::tempfile().and_then(|mut file| {
        file.write_all(memory)?;
        file.write_all(bytes)?;
        Ok(file)
    });
    match written {
        Ok(file) => Kept::Spooled(file, len),
        Err(e) => {
            tracing::debug!(error = %e, "replay spool: cannot write a temporary file; not keeping the input");
            Kept::Dropped
        }
    }
}

type Shared = Arc<Mutex<Kept>>;

fn lock(kept: &Shared) -> std::sync::MutexGuard<'_, Kept> {
    kept.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stream reader that keeps a copy of what it reads.
struct Tee<R> {
    inner: R,
    kept: Shared,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            lock(&self.kept).append(&buf[..n]);
        }
        Ok(n)
    }
}

/// How the original input can be read again.
pub struct Replay(Source);

enum Source {
    /// A file: a second handle, rewound when asked.
    File(File),
    /// A stream: the bytes kept by the tee.
    Stream(Shared),
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
                (Input::File(file), Replay(Source::File(again)))
            }
            Input::Stream(inner) => {
                let kept: Shared = Arc::new(Mutex::new(Kept::Memory(Vec::new())));
                let tee = Tee {
                    inner,
                    kept: kept.clone(),
                };
                (Input::stream(tee), Replay(Source::Stream(kept)))
            }
        })
    }

    /// True while the whole input read so far can be replayed.
    pub fn available(&self) -> bool {
        match &self.0 {
            Source::File(_) => true,
            Source::Stream(kept) => !matches!(*lock(kept), Kept::Dropped),
        }
    }

    /// Stop keeping bytes (the audio is long; it goes out as segments). A spool file is closed
    /// (and so removed) here.
    pub fn drop_kept(&self) {
        if let Source::Stream(kept) = &self.0 {
            *lock(kept) = Kept::Dropped;
        }
    }

    /// The input again, from its first byte, or `None` when it was not kept. A spooled stream
    /// comes back as its (seekable) spool file.
    ///
    /// # Errors
    /// Rewinding the file failed.
    pub fn into_input(self) -> io::Result<Option<Input>> {
        match self.0 {
            Source::File(mut file) => {
                file.seek(SeekFrom::Start(0))?;
                Ok(Some(Input::File(file)))
            }
            Source::Stream(kept) => match std::mem::replace(&mut *lock(&kept), Kept::Dropped) {
                Kept::Memory(bytes) => Ok(Some(Input::stream(Cursor::new(bytes)))),
                Kept::Spooled(mut file, _) => {
                    file.seek(SeekFrom::Start(0))?;
                    Ok(Some(Input::File(file)))
                }
                Kept::Dropped => Ok(None),
            },
        }
    }

    /// Bytes kept in memory now (0 for a file, a spooled or a dropped stream).
    #[cfg(test)]
    fn memory_bytes(&self) -> usize {
        match &self.0 {
            Source::Stream(kept) => match &*lock(kept) {
                Kept::Memory(bytes) => bytes.capacity(),
                _ => 0,
            },
            Source::File(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `data` through the tee in `chunk`-byte reads and returns the replayed bytes.
    fn round_trip(data: &[u8], chunk: usize) -> (Option<Vec<u8>>, usize) {
        let (input, replay) =
            Replay::wrap(Input::stream(Cursor::new(data.to_vec()))).expect("wrap");
        let Input::Stream(mut reader) = input else {
            panic!("a stream stays a stream")
        };
        let mut buf = vec![0u8; chunk];
        let mut peak = 0;
        while reader.read(&mut buf).expect("read") > 0 {
            peak = peak.max(replay.memory_bytes());
        }
        let again = replay.into_input().expect("rewind").map(|input| {
            let mut out = Vec::new();
            match input {
                Input::File(mut f) => f.read_to_end(&mut out),
                Input::Stream(mut s) => s.read_to_end(&mut out),
            }
            .expect("read again");
            out
        });
        (again, peak)
    }

    #[test]
    fn small_stream_is_replayed_from_memory() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (again, peak) = round_trip(&data, 4096);
        assert_eq!(again.as_deref(), Some(&data[..]));
        assert!(peak > 0 && peak <= MEMORY_LIMIT);
    }

    #[test]
    fn large_stream_is_spooled_and_memory_stays_bounded() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        let (again, peak) = round_trip(&data, 65_536);
        assert_eq!(
            again.as_deref(),
            Some(&data[..]),
            "the spool replays every byte"
        );
        assert!(peak <= MEMORY_LIMIT, "{peak} bytes in memory");
    }

    #[test]
    fn dropped_stream_is_not_replayed() {
        let (input, replay) =
            Replay::wrap(Input::stream(Cursor::new(vec![1u8; 1000]))).expect("wrap");
        let Input::Stream(mut reader) = input else {
            panic!("a stream stays a stream")
        };
        reader.read_to_end(&mut Vec::new()).expect("read");
        assert!(replay.available());
        replay.drop_kept();
        assert!(!replay.available());
        assert!(replay.into_input().expect("nothing to rewind").is_none());
    }
}
