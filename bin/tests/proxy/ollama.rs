//! The Ollama surface of the whole router over the simulated backend: NDJSON framing and the
//! model routes checked with reqwest, then the official ollama Python client
//! (`bin/tests/sdk/ollama_client.py`).

use serde_json::{json, Value};

use crate::chat::{within, Env};
use crate::gemini::run_python;

fn chat(text: &str, stream: bool) -> Value {
    json!({"model": "gpt-5.4:latest", "stream": stream, "tools": [],
           "messages": [{"role": "user", "content": text}]})
}

/// The lines of an NDJSON body, checking that none is blank and that it ends with `\n`.
fn lines(body: &str) -> Vec<Value> {
    assert!(body.ends_with('\n'), "{body:?}");
    body.strip_suffix('\n')
        .expect("trailing newline")
        .split('\n')
        .map(|l| {
            assert!(!l.trim().is_empty(), "blank line in {body:?}");
            serde_json::from_str(l).expect("line json")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_has_no_blank_line_and_ends_with_done() {
    within(async {
        let env = Env::start().await;
        for marker in [
            "hi",
            "sim:reasoning",
            "sim:parallel_tools",
            "sim:error_event",
        ] {
            let resp = env.post("/api/chat", chat(marker, true)).await;
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
            let lines = lines(&resp.text().await.expect("body"));
            let last = lines.last().expect("lines");
            if marker == "sim:error_event" {
                assert!(last["error"].as_str().is_some(), "{last}");
                continue;
            }
            assert_eq!(last["done"], true, "{marker}");
            assert_eq!(last["done_reason"], "stop");
            assert_eq!(last["model"], "gpt-5.4:latest");
            assert!(last["eval_count"].as_u64().is_some_and(|n| n > 0));
            assert!(lines[..lines.len() - 1].iter().all(|l| l["done"] == false));
        }
        let resp = env
            .post(
                "/api/generate",
                json!({"model": "gpt-5.4", "prompt": "hi", "stream": false}),
            )
            .await;
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["done"], true);
        assert!(v["response"]
            .as_str()
            .is_some_and(|r| r.starts_with("Hello from")));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_routes_and_errors() {
    within(async {
        let env = Env::start().await;
        let get = |path: &str| env.http.get(format!("{}{path}", env.base)).send();
        let root = get("/").await.expect("root");
        assert_eq!(root.text().await.expect("text"), "Ollama is running");
        let v: Value = get("/api/version")
            .await
            .expect("v")
            .json()
            .await
            .expect("json");
        let version: Vec<u32> = v["version"]
            .as_str()
            .expect("version")
            .split('.')
            .map(|n| n.parse().expect("semver"))
            .collect();
        assert!(version >= vec![0, 13, 4], "{version:?}");
        let v: Value = get("/api/tags")
            .await
            .expect("tags")
            .json()
            .await
            .expect("json");
        assert!(v["models"]
            .as_array()
            .expect("models")
            .iter()
            .any(|m| m["name"] == "gpt-5.4"));
        let v: Value = get("/api/ps")
            .await
            .expect("ps")
            .json()
            .await
            .expect("json");
        assert!(v["models"].as_array().is_some_and(|m| !m.is_empty()));
        let resp = env.post("/api/show", json!({"model": "nope"})).await;
        assert_eq!(resp.status(), 404);
        assert_eq!(
            resp.json::<Value>().await.expect("json"),
            json!({"error": "model 'nope' not found"})
        );
        let v: Value = env
            .post("/api/pull", json!({"model": "gpt-5.4", "stream": false}))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(v["status"], "success");
        let resp = env.post("/api/chat", chat("sim:http_429", true)).await;
        assert_eq!(resp.status(), 429);
        assert!(resp.json::<Value>().await.expect("json")["error"]
            .as_str()
            .is_some());
        let resp = env
            .post(
                "/api/chat",
                json!({"model": "gpt-5.4", "messages": [{"role": "tool", "content": "x"}]}),
            )
            .await;
        assert_eq!(resp.status(), 400);
        let resp = env.post("/api/chat", json!({"messages": []})).await;
        assert_eq!(resp.status(), 400);
        assert!(resp.json::<Value>().await.expect("json")["error"]
            .as_str()
            .is_some());
        let resp = get("/api/unknown").await.expect("unknown");
        assert_eq!(resp.status(), 404);
        assert!(resp.json::<Value>().await.expect("json")["error"]
            .as_str()
            .is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_python_client() {
    let env = Env::start().await;
    run_python("ollama_client.py", std::slice::from_ref(&env.base)).await;
}

/// `codex-pipe-proxy --ollama-port 0`: the same server on a second loopback listener, so
/// clients that only know Ollama's address work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_ollama_on_a_second_loopback_port() {
    use tokio::io::AsyncBufReadExt;
    within(async {
        let home = tempfile::tempdir().expect("temporary CODEX_HOME");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-pipe-proxy"))
            .args(["--backend", "sim", "--port", "0", "--ollama-port", "0"])
            .env("CODEX_HOME", home.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start codex-pipe-proxy");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut ollama = None;
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(addr) = line.strip_prefix("codex-pipe-proxy: Ollama API also on ") {
                ollama = Some(addr.to_owned());
                break;
            }
        }
        let base = ollama.expect("the second listener is announced");
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let http = reqwest::Client::new();
        let root = http.get(&base).send().await.expect("GET /");
        assert_eq!(root.text().await.expect("text"), "Ollama is running");
        let v: Value = http
            .post(format!("{base}/api/chat"))
            .json(&chat("hi", false))
            .send()
            .await
            .expect("chat")
            .json()
            .await
            .expect("json");
        assert!(
            v["message"]["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("Hello from")),
            "{v}"
        );
        child.kill().await.expect("stop the proxy");
    })
    .await;
}
