//! A FIFO of interleaved `f32` samples that keeps at most a fixed number of samples in memory
//! and spools the rest to an unnamed temporary file.
//!
//! The segmenter ([`crate::segment::Cutter`]) must hold up to one window of PCM (30 s of 24 kHz
//! mono is 2.9 MB) before it knows where a segment ends. In a server, hundreds of uploads may be
//! parked mid-window at once, so the window lives on disk past a small buffer: memory per
//! window is [`DEFAULT_MEMORY_SAMPLES`] × 4 bytes plus one conversion buffer, whatever the window
//! length. Samples are stored little-endian; reading them back visits them in chunks of at most
//! [`CHUNK_SAMPLES`].
//!
//! Invariant: the oldest samples are in `memory`, the newer ones (if any) in the spool file from
//! byte `read` to byte `write`. When the spool cannot be created or written, the window moves
//! back to memory for good (and is then unbounded, as it was before spooling existed).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Samples kept in memory by default (32 Ki samples, 128 KiB: 1.4 s of 24 kHz mono).
pub const DEFAULT_MEMORY_SAMPLES: usize = 32 * 1024;

/// Samples per read or write of the spool (16 Ki samples, 64 KiB).
pub const CHUNK_SAMPLES: usize = 16 * 1024;

const SAMPLE_BYTES: u64 = 4;

/// The spooled part: samples `read..write` (byte offsets) of `file`.
#[derive(Debug)]
struct Spool {
    file: File,
    read: u64,
    write: u64,
}

impl Spool {
    fn samples(&self) -> usize {
        ((self.write - self.read) / SAMPLE_BYTES) as usize
    }
}

/// A sample FIFO bounded in memory; see the module documentation.
#[derive(Debug)]
pub struct PcmWindow {
    memory: Vec<f32>,
    memory_limit: usize,
    /// Where the spool file is created (`None`: the system's temporary directory).
    spool_dir: Option<PathBuf>,
    spool: Option<Spool>,
    /// Scratch for the little-endian conversion (at most [`CHUNK_SAMPLES`] × 4 bytes).
    bytes: Vec<u8>,
    /// Scratch for samples read back from the spool.
    chunk: Vec<f32>,
}

impl Default for PcmWindow {
    fn default() -> Self {
        PcmWindow::new(DEFAULT_MEMORY_SAMPLES)
    }
}

impl PcmWindow {
    /// An empty window keeping at most `memory_samples` samples in memory.
    pub fn new(memory_samples: usize) -> Self {
        PcmWindow {
            memory: Vec::new(),
            memory_limit: memory_samples,
            spool_dir: None,
            spool: None,
            bytes: Vec::new(),
            chunk: Vec::new(),
        }
    }

    /// The same, spooling to an unnamed file in `dir` instead of the system's temporary
    /// directory.
    pub fn with_spool_dir(memory_samples: usize, dir: impl Into<PathBuf>) -> Self {
        PcmWindow {
            spool_dir: Some(dir.into()),
            ..PcmWindow::new(memory_samples)
        }
    }

    /// Samples held (memory and spool).
    pub fn len(&self) -> usize {
        self.memory.len() + self.spool.as_ref().map_or(0, Spool::samples)
    }

    /// True when no sample is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples held in memory now (for tests and measurements).
    pub fn memory_samples(&self) -> usize {
        self.memory.len()
    }

    /// True when some samples are in the spool file.
    pub fn spooled(&self) -> bool {
        self.spool.as_ref().is_some_and(|s| s.samples() > 0)
    }

    /// Append `samples` after those held.
    ///
    /// When the spool cannot be created or written (no temporary directory, a full disk), the
    /// window falls back to memory for good: the spooled samples are read back and everything
    /// from then on stays in memory.
    ///
    /// # Errors
    /// The spool failed and its samples could not be read back (they would be lost).
    pub fn push(&mut self, mut samples: &[f32]) -> io::Result<()> {
        if !self.spooled() {
            let room = self.memory_limit.saturating_sub(self.memory.len());
            let n = room.min(samples.len());
            self.memory.extend_from_slice(&samples[..n]);
            samples = &samples[n..];
        }
        if samples.is_empty() {
            return Ok(());
        }
        if self.spool_out(samples).is_err() {
            self.unspool_all()?;
            self.memory_limit = usize::MAX;
            self.memory.extend_from_slice(samples);
        }
        Ok(())
    }

    /// Write `samples` at the end of the spool; on failure the spool's end is where it was
    /// before, so no sample is both spooled and kept in memory.
    fn spool_out(&mut self, samples: &[f32]) -> io::Result<()> {
        if self.spool.is_none() {
            self.spool = Some(Spool {
                file: match &self.spool_dir {
                    Some(dir) => tempfile::tempfile_in(dir)?,
                    None => tempfile::tempfile()?,
                },
                read: 0,
                write: 0,
            });
        }
        let spool = self.spool.as_mut().expect("created above");
        let end = spool.write;
        let written = spool.file.seek(SeekFrom::Start(end)).and_then(|_| {
            let mut at = end;
            for part in samples.chunks(CHUNK_SAMPLES) {
                self.bytes.clear();
                self.bytes.extend(part.iter().flat_map(|s| s.to_le_bytes()));
                spool.file.write_all(&self.bytes)?;
                at += self.bytes.len() as u64;
            }
            Ok(at)
        })?;
        spool.write = written;
        Ok(())
    }

    /// Move every spooled sample back to memory and drop the spool.
    fn unspool_all(&mut self) -> io::Result<()> {
        let Some(mut spool) = self.spool.take() else {
            return Ok(());
        };
        let n = spool.samples();
        read_front(&mut spool, n, &mut self.bytes, &mut self.chunk, |c| {
            self.memory.extend_from_slice(c);
            Ok::<_, io::Error>(())
        })
    }

    /// Call `visit` with the first `samples` samples held (fewer if fewer are held), in order,
    /// in chunks of at most [`CHUNK_SAMPLES`] for the spooled part.
    ///
    /// # Errors
    /// Reading the spool failed, or `visit` failed.
    pub fn visit<E: From<io::Error>>(
        &mut self,
        samples: usize,
        mut visit: impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        let from_memory = samples.min(self.memory.len());
        if from_memory > 0 {
            visit(&self.memory[..from_memory])?;
        }
        match self.spool.as_mut() {
            Some(spool) => {
                let n = (samples - from_memory).min(spool.samples());
                read_front(spool, n, &mut self.bytes, &mut self.chunk, visit)
            }
            None => Ok(()),
        }
    }

    /// Drop the first `samples` samples (all of them when fewer are held), then refill memory
    /// from the spool and move what stays spooled to the start of the file, so the file never
    /// holds more than one window.
    ///
    /// # Errors
    /// Reading or rewriting the spool failed (the window is then unusable).
    pub fn advance(&mut self, samples: usize) -> io::Result<()> {
        let from_memory = samples.min(self.memory.len());
        self.memory.drain(..from_memory);
        let Some(spool) = self.spool.as_mut() else {
            return Ok(());
        };
        let skip = (samples - from_memory).min(spool.samples());
        spool.read += skip as u64 * SAMPLE_BYTES;
        // Refill memory; order holds because memory is full whenever the spool is not empty.
        let refill = self
            .memory_limit
            .saturating_sub(self.memory.len())
            .min(spool.samples());
        let memory = &mut self.memory;
        read_front(spool, refill, &mut self.bytes, &mut self.chunk, |c| {
            memory.extend_from_slice(c);
            Ok::<_, io::Error>(())
        })?;
        spool.read += refill as u64 * SAMPLE_BYTES;
        compact(spool, &mut self.bytes)
    }
}

/// Move the spooled bytes `read..write` to offset 0 and cut the file there. Copying forward
/// within one file is safe because the destination is always before the source.
fn compact(spool: &mut Spool, buf: &mut Vec<u8>) -> io::Result<()> {
    if spool.read == 0 {
        return Ok(());
    }
    let len = spool.write - spool.read;
    let mut done = 0u64;
    buf.resize(CHUNK_SAMPLES * SAMPLE_BYTES as usize, 0);
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        spool.file.seek(SeekFrom::Start(spool.read + done))?;
        spool.file.read_exact(&mut buf[..n])?;
        spool.file.seek(SeekFrom::Start(done))?;
        spool.file.write_all(&buf[..n])?;
        done += n as u64;
    }
    spool.file.set_len(len)?;
    spool.read = 0;
    spool.write = len;
    Ok(())
}

/// Visit the first `n` spooled samples (they stay spooled) in chunks of at most
/// [`CHUNK_SAMPLES`], through the scratch buffers `bytes` and `chunk`.
fn read_front<E: From<io::Error>>(
    spool: &mut Spool,
    n: usize,
    bytes: &mut Vec<u8>,
    chunk: &mut Vec<f32>,
    mut visit: impl FnMut(&[f32]) -> Result<(), E>,
) -> Result<(), E> {
    if n == 0 {
        return Ok(());
    }
    spool.file.seek(SeekFrom::Start(spool.read))?;
    let mut left = n;
    while left > 0 {
        read_samples(&mut spool.file, left.min(CHUNK_SAMPLES), bytes, chunk)?;
        visit(chunk)?;
        left -= chunk.len();
    }
    Ok(())
}

/// Read `n` samples at the file's position into `out` (through `bytes`).
fn read_samples(
    file: &mut File,
    n: usize,
    bytes: &mut Vec<u8>,
    out: &mut Vec<f32>,
) -> io::Result<()> {
    bytes.resize(n * SAMPLE_BYTES as usize, 0);
    file.read_exact(bytes)?;
    out.clear();
    out.extend(
        bytes
            .chunks_exact(SAMPLE_BYTES as usize)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(from: usize, n: usize) -> Vec<f32> {
        (from..from + n).map(|i| i as f32).collect()
    }

    fn collect(w: &mut PcmWindow, n: usize) -> Vec<f32> {
        let mut out = Vec::new();
        w.visit::<io::Error>(n, |chunk| {
            assert!(chunk.len() <= CHUNK_SAMPLES);
            out.extend_from_slice(chunk);
            Ok(())
        })
        .expect("visit");
        out
    }

    #[test]
    fn fifo_order_holds_across_memory_and_spool() {
        let mut w = PcmWindow::new(1000);
        let mut next = 0;
        let mut front = 0;
        // Pushes and cuts of uneven sizes, as a decoder and a cutter make them.
        for (push, cut) in [
            (700, 0),
            (900, 0),
            (50_000, 0),
            (10, 20_000),
            (3000, 31_000),
            (0, 5000),
            (40_000, 100_000),
        ] {
            w.push(&ramp(next, push)).expect("push");
            next += push;
            assert!(w.memory_samples() <= 1000, "memory stays bounded");
            assert_eq!(w.len(), next - front);
            let expect = ramp(front, cut.min(next - front));
            assert_eq!(collect(&mut w, cut), expect);
            w.advance(cut).expect("advance");
            front += cut.min(next - front);
            assert_eq!(w.len(), next - front);
        }
        assert!(w.is_empty());
    }

    #[test]
    fn without_a_spool_it_falls_back_to_memory_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("not-there");
        let mut w = PcmWindow::with_spool_dir(1000, &missing);
        w.push(&ramp(0, 3000)).expect("push falls back to memory");
        assert!(!w.spooled());
        w.push(&ramp(3000, 4000)).expect("push");
        assert_eq!(
            w.memory_samples(),
            7000,
            "everything in memory from the failure on"
        );
        assert_eq!(collect(&mut w, 2500), ramp(0, 2500));
        w.advance(2500).expect("advance");
        assert_eq!(collect(&mut w, 10_000), ramp(2500, 4500));
        // With the directory there, the same window spools.
        let mut w = PcmWindow::with_spool_dir(1000, dir.path());
        w.push(&ramp(0, 3000)).expect("push");
        assert!(w.spooled());
        assert_eq!(collect(&mut w, 3000), ramp(0, 3000));
    }

    #[test]
    fn the_spool_file_never_holds_more_than_the_window() {
        let mut w = PcmWindow::new(100);
        // A cutter's pattern: a window of 30k samples, cut leaving the last 7k for the next one.
        for _ in 0..50 {
            w.push(&ramp(0, 30_000 - w.len())).expect("push");
            w.advance(23_000).expect("advance");
        }
        assert_eq!(w.len(), 7_000);
        let spool = w.spool.as_ref().expect("spooled");
        assert_eq!(spool.read, 0);
        assert_eq!(
            spool.write,
            (7_000 - 100) * SAMPLE_BYTES,
            "only what is held stays in the file"
        );
        assert_eq!(spool.file.metadata().expect("metadata").len(), spool.write);
    }
}
