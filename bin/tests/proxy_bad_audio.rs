//! The real `codex-pipe-proxy` binary (issue 12, items 2 and 3): damaged ADTS / CAF / M4A and
//! cut-off WebM / Ogg uploads are the client's fault (HTTP 400 naming the `file` field), not a
//! 500 or an upstream 502, and nothing of them reaches the endpoint as if whole.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proxy {
    child: Child,
    base: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Proxy {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_codex-pipe-proxy"))
        .args(["--backend", "sim", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .env_remove("CODEX_PIPE_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("proxy starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the proxy did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Proxy { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_and_cut_off_audio_is_a_400() {
    let proxy = start();
    let http = reqwest::Client::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audio");
    for (name, words) in [
        ("corrupt.aac", "corrupt adts data"),
        ("corrupt_alac.caf", "corrupt caf data"),
        ("corrupt.m4a", "corrupt mp4 data"),
        ("truncated.webm", "truncated webm data"),
        ("truncated.opus", "truncated ogg_opus data"),
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("fixture");
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new()
            .text("model", "whisper-1")
            .part("file", part);
        let response = http
            .post(format!("{}/v1/audio/transcriptions", proxy.base))
            .multipart(form)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("json body");
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["error"]["param"], "file", "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{name}: {message}");
    }
}
