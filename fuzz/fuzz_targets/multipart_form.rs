//! The transcription route's multipart form reader (`form::read_form` behind axum's `Multipart`
//! extractor, with the blocking `BodyReader` the codec pipeline reads) on arbitrary bodies
//! delivered in fuzzer-chosen chunks.
//!
//! Half of the inputs are raw bodies; the other half are built into a form (boundary `fuzzb`)
//! from fuzzer-chosen parts, names, headers and damage, so the deep paths (fields, the `file`
//! part, a second `file`, size limits, a cut-off body) are reached without a seed corpus.
//!
//! Invariants: no panic or hang; an error is a 400 or a 413, never a 5xx; when the form reads
//! fine and had a `file` part, the pipeline's reader got a complete file of at most the limit,
//! and a reader that got a complete file means a `file` part was read.
#![no_main]

use std::convert::Infallible;
use std::io::Read;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use bytes::Bytes;
use codex_pipe::server::routes::transcriptions::form::{
    read_form, BodyReader, FormLimits, BODY_CHANNEL_CHUNKS,
};
use codex_pipe_fuzz::split_input;
use libfuzzer_sys::fuzz_target;
use tokio::sync::{mpsc, oneshot};

const BOUNDARY: &str = "fuzzb";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Field names the reader knows, and one it does not.
const NAMES: [&str; 9] = [
    "file",
    "model",
    "language",
    "response_format",
    "prompt",
    "temperature",
    "timestamp_granularities[]",
    "stream",
    "x-unknown",
];

/// A form built from `spec`: parts separated by `0xff 0xfe`; each part is
/// `[name index][flags][value…]`. Flags: 1 filename, 2 content type, 4 LF line ends, 8 cut the
/// body short here, 16 no closing boundary, 32 a malformed disposition.
fn build_form(spec: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut closing = true;
    for part in spec.split(|&b| b == 0xff).map(|p| p.strip_prefix(&[0xfe]).unwrap_or(p)) {
        let (Some(&name), Some(&flags)) = (part.first(), part.get(1)) else {
            continue;
        };
        let value = &part[2..];
        let nl: &[u8] = if flags & 4 != 0 { b"\n" } else { b"\r\n" };
        body.extend_from_slice(b"--");
        body.extend_from_slice(BOUNDARY.as_bytes());
        body.extend_from_slice(nl);
        let name = NAMES[usize::from(name) % NAMES.len()];
        if flags & 32 != 0 {
            body.extend_from_slice(b"Content-Disposition: form-data; name");
        } else {
            body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"").as_bytes());
        }
        if flags & 1 != 0 {
            body.extend_from_slice(b"; filename=\"a.wav\"");
        }
        body.extend_from_slice(nl);
        if flags & 2 != 0 {
            body.extend_from_slice(b"Content-Type: audio/wav");
            body.extend_from_slice(nl);
        }
        body.extend_from_slice(nl);
        body.extend_from_slice(value);
        body.extend_from_slice(nl);
        if flags & 8 != 0 {
            return body;
        }
        closing &= flags & 16 == 0;
    }
    if closing {
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    }
    body
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let Some(input) = split_input(data) else {
        return;
    };
    let built;
    let reads: Vec<Bytes> = if mode & 1 == 0 {
        input.reads.iter().map(|r| Bytes::copy_from_slice(r)).collect()
    } else {
        built = build_form(input.stream);
        let n = input.reads.len().max(1);
        built.chunks(built.len().div_ceil(n).max(1)).map(Bytes::copy_from_slice).collect()
    };
    // 16..=271 from the input, times 16: 256 B to 4.3 kB, so the 413 path is reached.
    let limits = FormLimits {
        max_file_bytes: (input.limit * 16) as u64,
    };
    let body = Body::from_stream(futures_util::stream::iter(
        reads.into_iter().map(Ok::<_, Infallible>),
    ));
    let request = Request::builder()
        .method("POST")
        .uri("/v1/audio/transcriptions")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .expect("request");
    runtime().block_on(async move {
        let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
            return;
        };
        let (start_tx, start_rx) = oneshot::channel();
        let (body_tx, body_rx) = mpsc::channel(BODY_CHANNEL_CHUNKS);
        let reader = tokio::task::spawn_blocking(move || {
            let mut file = Vec::new();
            BodyReader::new(body_rx).read_to_end(&mut file).map(|_| file)
        });
        let failed = tokio_util::sync::CancellationToken::new();
        let read = read_form(&mut multipart, limits, start_tx, body_tx, &failed).await;
        assert_eq!(read.is_err(), failed.is_cancelled(), "an error cancels the upstream half");
        let started = start_rx.await.is_ok();
        let file = reader.await.expect("reader thread");
        match &read {
            Ok(form) => {
                assert_eq!(form.had_file, started);
                if form.had_file {
                    let file = file.as_ref().expect("a complete file part");
                    assert!(file.len() as u64 <= limits.max_file_bytes);
                }
            }
            Err(e) => {
                let status = e.http_status().as_u16();
                assert!(status == 400 || status == 413, "status {status}: {e:?}");
            }
        }
        if file.is_ok() {
            assert!(started, "a complete file without a file part");
        }
    });
});
