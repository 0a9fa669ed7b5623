//! The external decoder table (ffmpeg for AMR and Speex), the passthrough container checks
//! (truncated Ogg and WebM) and corrupt data classified as the input's fault, on the generated
//! fixtures in `testdata/audio` (see `scripts/gen-fixtures`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use codex_pipe_codecs::{
    probe, CodecError, DecodeOptions, EncodedSegment, FfmpegOptions, Input, SegmentOptions,
    SegmentSink, Splitter, Target, TranscodeOptions, Transcoder,
};

/// A sink that keeps nothing.
struct Discard;

impl SegmentSink for Discard {
    fn segment(&mut self, _: EncodedSegment) -> Result<(), CodecError> {
        Ok(())
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/audio")
        .join(name)
}

fn input(name: &str, as_stream: bool) -> Input {
    let file = File::open(fixture(name)).expect("fixture");
    if as_stream {
        Input::stream(file)
    } else {
        Input::File(file)
    }
}

/// ffmpeg's own decode of `name`: frames at `rate` Hz, mono.
fn ffmpeg_frames(name: &str, rate: u32) -> u64 {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(fixture(name))
        .args(["-f", "s16le", "-ac", "1", "-ar", &rate.to_string(), "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed on {name}");
    out.stdout.len() as u64 / 2
}

#[test]
fn amr_and_speex_decode_through_ffmpeg_from_file_and_stdin() {
    for (name, codec, rate) in [
        ("en.amr", "amr_nb", 8000),
        ("en_speex.spx", "speex", 16_000),
    ] {
        let reference = ffmpeg_frames(name, rate) as f64 / f64::from(rate);
        for as_stream in [false, true] {
            let d = probe(input(name, as_stream), &DecodeOptions::default())
                .expect("sniffed")
                .decoded
                .unwrap_or_else(|e| panic!("{name} (stream {as_stream}): {e}"));
            assert_eq!(d.codec, codec);
            assert_eq!((d.spec.sample_rate, d.spec.channels), (rate, 1), "{name}");
            let got = d.duration_seconds();
            assert!(
                (got - reference).abs() <= 0.060,
                "{name} (stream {as_stream}): {got:.3} s, ffmpeg {reference:.3} s"
            );
        }
        // And through the whole chain to Ogg Opus.
        let opts = TranscodeOptions::default();
        let chain = Transcoder::open(input(name, true), &opts).expect("opens");
        let mut out = Vec::new();
        let summary = chain.run(&mut out).expect("runs");
        assert_eq!(&out[..4], b"OggS");
        let seconds = summary.duration_seconds.expect("decoded");
        assert!((seconds - reference).abs() <= 0.060, "{name}: {seconds}");
    }
}

#[test]
fn missing_ffmpeg_is_named_with_how_to_install_it() {
    let opts = DecodeOptions {
        ffmpeg: FfmpegOptions {
            program: PathBuf::from("/nonexistent/ffmpeg"),
            ..FfmpegOptions::default()
        },
        ..DecodeOptions::default()
    };
    let err = probe(input("en.amr", false), &opts)
        .expect("sniffed")
        .decoded
        .expect_err("no ffmpeg");
    assert!(
        matches!(&err, CodecError::DecoderMissing { decoder, .. } if decoder == "ffmpeg"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("ffmpeg")
            && text.contains("apt-get install ffmpeg")
            && text.contains("--ffmpeg"),
        "{text}"
    );
    assert!(!err.is_client_error());
}

/// Regression (issue 12, item 3): a cut-off WebM or Ogg Opus file decodes "successfully" to
/// fewer frames from a stream, so the passthrough upload went out whole-looking.
#[test]
fn truncated_ogg_and_webm_fail_the_passthrough() {
    for name in ["truncated.webm", "truncated.opus"] {
        for as_stream in [false, true] {
            let chain =
                Transcoder::open(input(name, as_stream), &TranscodeOptions::default()).expect(name);
            assert!(chain.plan().is_passthrough(), "{name}");
            let err = chain.run(&mut Vec::new()).expect_err(name);
            assert!(
                matches!(err, CodecError::TruncatedStream { .. }),
                "{name} (stream {as_stream}): {err:?}"
            );
            assert!(err.is_client_error());
        }
    }
    // Decoded instead of passed through (converted, or cut into segments), the same.
    for name in ["truncated.webm", "truncated.opus"] {
        for as_stream in [false, true] {
            let opts = TranscodeOptions {
                target: Target::Opus,
                ..TranscodeOptions::default()
            };
            let err = Transcoder::open(input(name, as_stream), &opts)
                .and_then(|t| t.run(&mut Vec::new()))
                .expect_err(name);
            assert!(
                matches!(err, CodecError::TruncatedStream { .. }),
                "{name} converted (stream {as_stream}): {err:?}"
            );
            let err = Splitter::open(input(name, as_stream), &opts, SegmentOptions::default())
                .and_then(|s| s.run(&mut Discard))
                .expect_err(name);
            assert!(
                matches!(err, CodecError::TruncatedStream { .. }),
                "{name} segmented (stream {as_stream}): {err:?}"
            );
        }
    }
    // The whole files pass.
    for name in [
        "en_opus.webm",
        "en.opus",
        "en_ff.opus",
        "en.ogg",
        "en_vorbis.webm",
    ] {
        let opts = TranscodeOptions {
            target: Target::Opus,
            ..TranscodeOptions::default()
        };
        let chain = Transcoder::open(input(name, true), &opts).expect(name);
        chain.run(&mut Vec::new()).expect(name);
    }
    for name in ["en_opus.webm", "en.opus", "en_ff.opus"] {
        let chain = Transcoder::open(input(name, true), &TranscodeOptions::default()).expect(name);
        chain.run(&mut Vec::new()).expect(name);
    }
}

/// Regression (issue 12, item 2): symphonia's "unexpected end of bitstream" inside a damaged
/// packet was an I/O error (exit 1, HTTP 500) instead of corrupt input.
#[test]
fn corrupt_adts_caf_m4a_are_the_inputs_fault() {
    for name in ["corrupt.aac", "corrupt_alac.caf", "corrupt.m4a"] {
        for as_stream in [false, true] {
            let opts = TranscodeOptions {
                target: Target::Opus,
                ..TranscodeOptions::default()
            };
            let err = Transcoder::open(input(name, as_stream), &opts)
                .and_then(|t| t.run(&mut Vec::new()))
                .expect_err(name);
            assert!(
                matches!(err, CodecError::Corrupt { .. }),
                "{name} (stream {as_stream}): {err:?}"
            );
            assert!(err.is_client_error(), "{name}: {err}");
        }
    }
}

/// AMR in 3GP (a phone voice memo): symphonia demuxes MP4 but has no AMR decoder, so ffmpeg
/// decodes it, at the sample entry's 8 kHz mono, from a file and from a stream, with `moov`
/// before or after the audio.
#[test]
fn amr_in_3gp_goes_to_ffmpeg_from_file_and_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faststart = dir.path().join("fast.3gp");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(fixture("en.amr"))
        .args(["-c:a", "copy", "-movflags", "+faststart", "-f", "3gp"])
        .arg(&faststart)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let reference = ffmpeg_frames("en.amr", 8000) as f64 / 8000.0;
    for path in [fixture("en_amr.3gp"), faststart] {
        for as_stream in [false, true] {
            let file = File::open(&path).expect("3gp");
            let input = if as_stream {
                Input::stream(file)
            } else {
                Input::File(file)
            };
            let d = probe(input, &DecodeOptions::default())
                .expect("sniffed")
                .decoded
                .unwrap_or_else(|e| panic!("{} (stream {as_stream}): {e}", path.display()));
            assert_eq!((d.spec.sample_rate, d.spec.channels), (8000, 1));
            assert!(
                (d.duration_seconds() - reference).abs() <= 0.060,
                "{} (stream {as_stream}): {}",
                path.display(),
                d.duration_seconds()
            );
        }
    }
}
