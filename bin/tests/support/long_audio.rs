//! A long recording for the long-audio tests: real speech (`../shared/testdata/realspeech`,
//! read from there) joined with generated pauses of known position.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Sample rate of the recording, Hz.
pub const RATE: u32 = 16_000;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_codex-pipe")
}

/// A recording decoded to 16 kHz mono s16 by `codex-pipe convert`.
pub fn decode(path: &Path) -> Vec<i16> {
    let out = Command::new(bin())
        .args(["convert", "--to", "wav", "--rate", "16000", "-o", "-"])
        .arg(path)
        .output()
        .expect("convert runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout[44..]
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect()
}

/// About 2.5 minutes of real speech with pauses of 1.6–2.2 s of faint noise after each
/// recording, as a 16 kHz WAV in `dir`; returns its path, the pauses (start, end seconds) and
/// its duration.
pub fn long_wav(dir: &Path) -> (PathBuf, Vec<(f64, f64)>, f64) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/realspeech");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("realspeech")
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wav" | "mp3")))
        .collect();
    files.sort();
    let clips: Vec<Vec<i16>> = files.iter().map(|p| decode(p)).collect();
    let (mut pcm, mut pauses, mut seed) = (Vec::<i16>::new(), Vec::new(), 11u32);
    let mut i = 0;
    while pcm.len() < 150 * RATE as usize {
        pcm.extend_from_slice(&clips[i % clips.len()]);
        let start = pcm.len() as f64 / f64::from(RATE);
        let n = ((1.6 + 0.2 * (i % 4) as f64) * f64::from(RATE)) as usize;
        pcm.extend((0..n).map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((seed >> 16) % 64) as i16 - 32
        }));
        pauses.push((start, pcm.len() as f64 / f64::from(RATE)));
        i += 1;
    }
    let data = (pcm.len() * 2) as u32;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    for s in &pcm {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    let path = dir.join("long.wav");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&wav))
        .expect("write wav");
    (path, pauses, pcm.len() as f64 / f64::from(RATE))
}
