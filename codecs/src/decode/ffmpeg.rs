//! AMR-NB, AMR-WB, Ogg Speex and Ogg streams with another codec through the external `ffmpeg`
//! program, one row of the external decoder table (`decode/external.rs`).
//!
//! ffmpeg is asked for s16le PCM at the stream's own sample rate and channel count, read from
//! the header before it starts, so `probe` reports the real format and the pipeline's resampler
//! does the conversion as for every other input:
//!
//! | container | format |
//! |---|---|
//! | AMR-NB (`#!AMR\n`, RFC 4867 §5) | 8000 Hz mono |
//! | AMR-WB (`#!AMR-WB\n`) | 16000 Hz mono |
//! | Ogg Speex | `rate` and `nb_channels` of the Speex header (offsets 36 and 48 of its first packet) |
//! | other Ogg | 48000 Hz mono (ffmpeg resamples and downmixes) |
//! | a file symphonia demuxes but cannot decode | the track's rate and channels |

use std::path::PathBuf;

use super::external::ExternalCommand;
use super::PcmSpec;
use crate::error::CodecError;
use crate::sniff::Container;

/// How to run ffmpeg for the containers nothing built in decodes.
#[derive(Debug, Clone)]
pub struct FfmpegOptions {
    /// The `ffmpeg` executable (a path, or a name looked up in `PATH`).
    pub program: PathBuf,
    /// False to refuse those containers instead of running ffmpeg.
    pub enabled: bool,
}

impl Default for FfmpegOptions {
    fn default() -> Self {
        FfmpegOptions {
            program: PathBuf::from("ffmpeg"),
            enabled: true,
        }
    }
}

/// The PCM format ffmpeg is asked for, from the container and its first bytes.
fn spec_for(container: Container, head: &[u8]) -> PcmSpec {
    match container {
        Container::AmrNb => PcmSpec {
            sample_rate: 8000,
            channels: 1,
        },
        Container::AmrWb => PcmSpec {
            sample_rate: 16_000,
            channels: 1,
        },
        Container::OggSpeex => speex_header(head).unwrap_or(PcmSpec {
            sample_rate: 16_000,
            channels: 1,
        }),
        _ => PcmSpec {
            sample_rate: 48_000,
            channels: 1,
        },
    }
}

/// The format of the first sample entry of an MP4 / 3GP `stsd` box in `data` (ISO/IEC 14496-12
/// §12.2.3 `AudioSampleEntry`: `channelcount` at +20 and the 16.16 `samplerate` at +28 from the
/// four-cc's end); 3GPP AMR entries (`samr`, `sawb`, TS 26.244) are 8 / 16 kHz mono whatever
/// those fields say. `None` when `data` holds no `stsd` or the fields are implausible.
pub(crate) fn mp4_spec(data: &[u8]) -> Option<PcmSpec> {
    let i = data.windows(4).position(|w| w == b"stsd")?;
    let entry = data.get(i + 16..i + 48)?;
    match &entry[..4] {
        b"samr" => Some(PcmSpec {
            sample_rate: 8000,
            channels: 1,
        }),
        b"sawb" => Some(PcmSpec {
            sample_rate: 16_000,
            channels: 1,
        }),
        _ => {
            let channels = u16::from_be_bytes([entry[20], entry[21]]);
            let rate = u32::from(u16::from_be_bytes([entry[28], entry[29]]));
            ((1..=2).contains(&channels) && (1000..=192_000).contains(&rate)).then_some(PcmSpec {
                sample_rate: rate,
                channels,
            })
        }
    }
}

/// [`mp4_spec`] of a file, looked for in its first and last 4 MiB (positional reads: the
/// file's offset is left alone).
#[cfg(unix)]
pub(crate) fn mp4_file_spec(file: &std::fs::File, container: Container) -> Option<PcmSpec> {
    use std::os::unix::fs::FileExt;
    if container != Container::Mp4 {
        return None;
    }
    let len = file.metadata().ok()?.len();
    let window = 4u64 << 20;
    let mut starts = vec![0u64];
    if len > window {
        starts.push(len - window);
    }
    starts.into_iter().find_map(|start| {
        let mut buf = vec![0u8; window.min(len - start) as usize];
        let n = file.read_at(&mut buf, start).ok()?;
        mp4_spec(&buf[..n])
    })
}

/// Without positional reads, ffmpeg's fallback format applies.
#[cfg(not(unix))]
pub(crate) fn mp4_file_spec(_file: &std::fs::File, _container: Container) -> Option<PcmSpec> {
    None
}

/// `rate` and `nb_channels` from the Speex header packet that starts the first Ogg page.
fn speex_header(head: &[u8]) -> Option<PcmSpec> {
    let segments = usize::from(*head.get(26)?);
    let packet = head.get(27 + segments..)?;
    if !packet.starts_with(b"Speex   ") {
        return None;
    }
    let le32 = |at: usize| -> Option<u32> {
        let b = packet.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (rate, channels) = (le32(36)?, le32(48)?);
    ((1000..=192_000).contains(&rate) && (1..=2).contains(&channels)).then_some(PcmSpec {
        sample_rate: rate,
        channels: channels as u16,
    })
}

/// The `ffmpeg` row of the external decoder table for `container`, whose first bytes are `head`;
/// `spec` when the demuxer already knows the format.
///
/// # Errors
/// [`CodecError::Unsupported`] when ffmpeg decoding is disabled.
pub(crate) fn command(
    container: Container,
    head: &[u8],
    opts: &FfmpegOptions,
    spec: Option<PcmSpec>,
) -> Result<ExternalCommand, CodecError> {
    if !opts.enabled {
        return Err(CodecError::Unsupported {
            container,
            reason: "nothing built in decodes it and ffmpeg decoding is disabled".into(),
        });
    }
    let spec = spec.unwrap_or_else(|| spec_for(container, head));
    let (rate, channels) = (spec.sample_rate.to_string(), spec.channels.to_string());
    let args = [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        "pipe:0",
        "-map",
        "0:a:0",
        "-f",
        "s16le",
        "-c:a",
        "pcm_s16le",
        "-ar",
        &rate,
        "-ac",
        &channels,
        "pipe:1",
    ];
    Ok(ExternalCommand {
        name: "ffmpeg",
        program: opts.program.clone(),
        args: args.into_iter().map(Into::into).collect(),
        spec,
        codec: match container {
            Container::AmrNb => "amr_nb",
            Container::AmrWb => "amr_wb",
            Container::OggSpeex => "speex",
            _ => "ffmpeg",
        },
        install: "apt-get install ffmpeg",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speex_header_fields() {
        let mut page = b"OggS".to_vec();
        page.resize(26, 0);
        page.push(1); // one lacing value
        page.push(80);
        let mut packet = b"Speex   ".to_vec();
        packet.resize(80, 0);
        packet[36..40].copy_from_slice(&16_000u32.to_le_bytes());
        packet[48..52].copy_from_slice(&1u32.to_le_bytes());
        page.extend_from_slice(&packet);
        assert_eq!(
            speex_header(&page),
            Some(PcmSpec {
                sample_rate: 16_000,
                channels: 1
            })
        );
        page[27 + 36..27 + 40].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(speex_header(&page), None);
    }
}
