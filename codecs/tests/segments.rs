//! Long-audio segmentation on real speech: the recordings in `../shared/testdata/realspeech`
//! (read from there, never copied), concatenated with generated pauses of known position into a
//! few minutes, cut by [`Splitter`] from a file and from a stream.

use std::fs::File;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use codex_pipe_codecs::{
    CodecError, EncodedSegment, Input, SegmentOptions, SegmentSink, Splitter, Target,
    TranscodeOptions, Transcoder,
};

const RATE: u32 = 24_000;

fn realspeech() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/realspeech");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wav" | "mp3")))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "realspeech recordings: {files:?}");
    files
}

/// Decode anything to 24 kHz mono `f32` through the library's own WAV output.
fn pcm(input: Input) -> Vec<f32> {
    let opts = TranscodeOptions {
        target: Target::Wav,
        sample_rate: RATE,
        ..TranscodeOptions::default()
    };
    let mut wav = Vec::new();
    Transcoder::open(input, &opts)
        .expect("opens")
        .run(&mut wav)
        .expect("decodes");
    wav[44..]
        .chunks_exact(2)
        .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0)
        .collect()
}

/// Faint deterministic noise (about -66 dBFS), like a quiet room.
fn pause(seconds: f64, seed: &mut u32) -> Vec<f32> {
    (0..(seconds * f64::from(RATE)) as usize)
        .map(|_| {
            *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((*seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.002
        })
        .collect()
}

/// About three minutes: the recordings in turn, each followed by a pause of 1.6–2.2 s. Returns
/// the PCM and the pauses as `(start, end)` seconds.
fn long_recording() -> (Vec<f32>, Vec<(f64, f64)>) {
    let clips: Vec<Vec<f32>> = realspeech()
        .iter()
        .map(|p| pcm(Input::File(File::open(p).expect("recording"))))
        .collect();
    let (mut out, mut pauses, mut seed) = (Vec::new(), Vec::new(), 7u32);
    let mut i = 0;
    while out.len() < 180 * RATE as usize {
        out.extend_from_slice(&clips[i % clips.len()]);
        let seconds = 1.6 + 0.2 * (i % 4) as f64;
        let start = out.len() as f64 / f64::from(RATE);
        out.extend(pause(seconds, &mut seed));
        pauses.push((start, out.len() as f64 / f64::from(RATE)));
        i += 1;
    }
    (out, pauses)
}

fn wav_bytes(pcm: &[f32]) -> Vec<u8> {
    let spec = codex_pipe_codecs::PcmSpec {
        sample_rate: RATE,
        channels: 1,
    };
    let mut out = codex_pipe_codecs::encode::wav::header(spec, Some(pcm.len() as u64)).to_vec();
    for &s in pcm {
        out.extend_from_slice(&codex_pipe_codecs::encode::wav::to_s16(s).to_le_bytes());
    }
    out
}

#[derive(Default)]
struct Collect(Vec<EncodedSegment>);

impl SegmentSink for Collect {
    fn segment(&mut self, segment: EncodedSegment) -> Result<(), CodecError> {
        self.0.push(segment);
        Ok(())
    }
}

/// Seconds from `from` to the first 20 ms frame louder than -35 dBFS.
fn onset(pcm: &[f32], from: usize) -> Option<f64> {
    let hop = (RATE / 50) as usize;
    pcm[from..]
        .chunks(hop)
        .position(|f| {
            let mean = f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32;
            10.0 * (mean + 1e-10).log10() > -35.0
        })
        .map(|k| (k * hop) as f64 / f64::from(RATE))
}

#[test]
fn real_speech_is_cut_inside_the_pauses_with_real_timestamps() {
    let (reference, pauses) = long_recording();
    let total = reference.len() as f64 / f64::from(RATE);
    let wav = wav_bytes(&reference);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.wav");
    File::create(&path)
        .and_then(|mut f| f.write_all(&wav))
        .expect("write");
    let opts = TranscodeOptions::default();
    let bounds = SegmentOptions::default();
    let mut runs = Vec::new();
    for as_stream in [false, true] {
        let input = if as_stream {
            Input::stream(Cursor::new(wav.clone()))
        } else {
            Input::File(File::open(&path).expect("wav"))
        };
        let splitter = Splitter::open(input, &opts, bounds).expect("opens");
        let mut sink = Collect::default();
        let summary = splitter.run(&mut sink).expect("runs");
        assert!(!summary.whole);
        assert_eq!(summary.segments, sink.0.len());
        assert!((summary.duration_seconds - total).abs() < 0.001);
        runs.push(sink.0);
    }
    let segments = &runs[0];
    // Stdin and file give the same segments, byte for byte.
    assert_eq!(&runs[1], segments);
    assert!(segments.len() >= 6, "{} segments", segments.len());
    assert_eq!(segments[0].start_frame, 0);
    for (i, s) in segments.iter().enumerate() {
        assert_eq!(s.index, i);
        let length = s.end_seconds() - s.start_seconds();
        assert!(
            length <= bounds.max_seconds + 1e-9,
            "segment {i}: {length} s"
        );
        if let Some(next) = segments.get(i + 1) {
            assert_eq!(next.start_frame, s.end_frame, "contiguous");
            assert!(
                length >= bounds.min_seconds - 1e-9,
                "segment {i}: {length} s"
            );
            // Every cut lies inside one of the generated pauses.
            let cut = s.end_seconds();
            assert!(
                pauses
                    .iter()
                    .any(|&(a, b)| cut >= a - 0.05 && cut <= b + 0.05),
                "segment {i} ends at {cut:.3} s, outside every pause {pauses:?}"
            );
        }
        // The encoded file holds exactly its time range...
        let audio = pcm(Input::stream(Cursor::new(s.bytes.clone())));
        let decoded = audio.len() as f64 / f64::from(RATE);
        assert!(
            (decoded - length).abs() <= 0.05,
            "segment {i}: {decoded} vs {length}"
        );
        // ...aligned with the input: its first speech is where the recording's is.
        let start = s.start_frame as usize;
        let want = onset(&reference, start).expect("speech in every segment");
        let got = onset(&audio, 0).expect("speech in every decoded segment");
        assert!(
            (want - got).abs() <= 0.05,
            "segment {i} at {:.3} s: speech at +{got:.3} s, the recording has it at +{want:.3} s",
            s.start_seconds()
        );
    }
    let last = segments.last().expect("segments");
    assert!(
        (last.end_seconds() - total).abs() <= 0.05,
        "{}",
        last.end_seconds()
    );
}

/// Audio no longer than the maximum is one piece: the sink may take it whole, else it gets one
/// segment spanning it.
#[test]
fn short_audio_is_one_piece() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audio/en_16000.wav");
    struct Whole(bool, Vec<EncodedSegment>);
    impl SegmentSink for Whole {
        fn segment(&mut self, segment: EncodedSegment) -> Result<(), CodecError> {
            self.1.push(segment);
            Ok(())
        }
        fn take_whole(&mut self) -> bool {
            self.0
        }
    }
    for take in [true, false] {
        let input = Input::File(File::open(&path).expect("fixture"));
        let splitter = Splitter::open(
            input,
            &TranscodeOptions::default(),
            SegmentOptions::default(),
        )
        .expect("opens");
        let mut sink = Whole(take, Vec::new());
        let summary = splitter.run(&mut sink).expect("runs");
        assert_eq!(summary.whole, take);
        if take {
            assert!(sink.1.is_empty());
        } else {
            let [one] = &sink.1[..] else {
                panic!("{} segments", sink.1.len())
            };
            // 3.720 s at 16 kHz (59,523 frames) is ceil(59,523 × 1.5) frames at 24 kHz.
            assert_eq!((one.start_frame, one.end_frame), (0, 89_285));
            assert_eq!(&one.bytes[..4], b"OggS");
        }
    }
}
