//! The Gemini surface of the whole router over the simulated backend: the wire rules checked
//! with reqwest (SSE with nothing but `data:` lines, the streamed JSON array, Google's error
//! shape, `GET /v1/models` per client), then the official google-genai Python SDK
//! (`bin/tests/sdk/gemini.py`) on its default API version (`v1`) and on `v1beta`, and Gemini
//! CLI itself.

use std::time::Duration;

use serde_json::{json, Value};

use crate::chat::{within, Env};

fn contents(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_stream_has_only_data_lines_and_ends_with_finish_and_usage() {
    within(async {
        let env = Env::start().await;
        for (version, marker) in [
            ("v1beta", "hi"),
            ("v1", "sim:reasoning"),
            ("v1beta", "sim:error_event"),
        ] {
            let resp = env
                .post(
                    &format!("/{version}/models/gpt-5.4:streamGenerateContent?alt=sse"),
                    contents(marker),
                )
                .await;
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["content-type"], "text/event-stream");
            let body = resp.text().await.expect("body");
            assert!(body.ends_with("\n\n"), "{body:?}");
            for line in body.split('\n') {
                assert!(
                    line.is_empty() || line.starts_with("data: {"),
                    "{marker}: line {line:?}"
                );
            }
            assert!(!body.contains("[DONE]"));
            let chunks: Vec<Value> = body
                .split("\n\n")
                .filter(|b| !b.is_empty())
                .map(|b| serde_json::from_str(&b["data: ".len()..]).expect("chunk json"))
                .collect();
            let last = chunks.last().expect("chunks");
            if marker == "sim:error_event" {
                assert_eq!(last["error"]["status"], "INTERNAL", "{last}");
                assert_eq!(last["error"]["code"], 502);
                continue;
            }
            assert_eq!(last["candidates"][0]["finishReason"], "STOP");
            assert!(last["usageMetadata"]["promptTokenCount"]
                .as_u64()
                .is_some_and(|n| n > 0));
            for chunk in &chunks[..chunks.len() - 1] {
                let part = &chunk["candidates"][0]["content"]["parts"][0];
                assert!(
                    part["text"].as_str().is_some_and(|t| !t.is_empty()),
                    "{chunk}"
                );
                assert_eq!(chunk["modelVersion"], "gpt-5.4");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_without_alt_is_one_json_array_and_errors_are_googles() {
    within(async {
        let env = Env::start().await;
        let resp = env
            .post(
                "/v1beta/models/gpt-5.4:streamGenerateContent",
                contents("hi"),
            )
            .await;
        assert_eq!(resp.headers()["content-type"], "application/json");
        let array: Vec<Value> = resp.json().await.expect("one JSON array");
        assert!(array.len() > 5);
        assert_eq!(
            array.last().expect("last")["candidates"][0]["finishReason"],
            "STOP"
        );

        let resp = env
            .post(
                "/v1/models/gpt-5.4:generateContent",
                contents("sim:failed_context"),
            )
            .await;
        assert_eq!(resp.status(), 400);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
        let resp = env
            .post(
                "/v1/models/gpt-5.4:generateContent",
                contents("sim:http_429"),
            )
            .await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        let resp = env
            .post(
                "/v1beta/models/gpt-5.4:generateContent",
                json!({"contents": 3}),
            )
            .await;
        assert_eq!(resp.status(), 400);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT", "{v}");
        let resp = env
            .post("/v1beta/models/gpt-5.4:embedContent", contents("x"))
            .await;
        assert_eq!(resp.status(), 404);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["status"], "NOT_FOUND");
        let resp = env
            .http
            .get(format!(
                "{}/v1beta/models/gpt-5.4:generateContent",
                env.base
            ))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 404, "GET of an action is no model");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_answer_gemini_clients_in_geminis_shape_and_others_in_openais() {
    within(async {
        let env = Env::start().await;
        let get = |path: &str, goog: bool| {
            let mut r = env.http.get(format!("{}{path}", env.base));
            if goog {
                r = r.header("x-goog-api-key", "k");
            }
            r.send()
        };
        let v: Value = get("/v1/models", true)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(v["models"][0]["name"], "models/gpt-5.5", "{v}");
        let v: Value = get("/v1/models", false)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(v["object"], "list");
        let v: Value = get("/v1beta/models/gpt-5.4", false)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(v["name"], "models/gpt-5.4");
        let v: Value = get("/v1/models/gpt-5.4", false)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(v["id"], "gpt-5.4");
        let resp = get("/v1beta/models/nope", true).await.expect("get");
        assert_eq!(resp.status(), 404);
        let v: Value = env
            .post(
                "/v1beta/models/gpt-5.4:countTokens",
                contents("hello world"),
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(v, json!({"totalTokens": 5}));
    })
    .await;
}

/// The Python interpreter with the official SDKs: `CODEX_PIPE_TEST_PYTHON`, else the
/// workspace's `.venv/bin/python` made by `scripts/setup`.
///
/// # Panics
/// When neither exists, with what to run.
pub(crate) fn sdk_python() -> String {
    if let Ok(python) = std::env::var("CODEX_PIPE_TEST_PYTHON") {
        return python;
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if venv.exists() {
        return venv.to_string_lossy().into_owned();
    }
    panic!(
        "no Python with the official SDKs: run scripts/setup (it creates .venv), or set \
         CODEX_PIPE_TEST_PYTHON; scripts/test does both"
    )
}

/// Runs `bin/tests/sdk/<script>` with `args` and the interpreter of [`sdk_python`].
pub(crate) async fn run_python(script: &str, args: &[String]) {
    let python = sdk_python();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let child = tokio::process::Command::new(&python)
        .arg(&path)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("SDK script took too long")
        .expect("run the Python interpreter");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("ALL OK"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_genai_python_sdk_default_api_version() {
    let env = Env::start().await;
    run_python("gemini.py", &[env.base.clone(), "v1".into()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_genai_python_sdk_v1beta() {
    let env = Env::start().await;
    run_python("gemini.py", &[env.base.clone(), "v1beta".into()]).await;
}

/// With `--api-key`, Gemini clients authenticate with `x-goog-api-key` or `?key=`, and a
/// request without the key gets 401 in the caller's shape (Google's on `/v1beta`, Ollama's on
/// `/api`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_from_goog_header_or_query_and_401_in_each_shape() {
    use codex_pipe::server::ApiKeyPolicy;
    within(async {
        let env = Env::start_full(
            |_| {},
            |s| s.api_key = ApiKeyPolicy::Required("sk-local".into()),
        )
        .await;
        let url = format!("{}/v1beta/models/gpt-5.4:generateContent", env.base);
        let resp = env
            .http
            .post(&url)
            .json(&contents("hi"))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 401);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["status"], "UNAUTHENTICATED", "{v}");
        let ok = env
            .http
            .post(format!("{url}?key=sk-local"))
            .json(&contents("hi"))
            .send()
            .await
            .expect("post");
        assert_eq!(ok.status(), 200);
        let ok = env
            .http
            .post(&url)
            .header("x-goog-api-key", "sk-local")
            .json(&contents("hi"))
            .send()
            .await
            .expect("post");
        assert_eq!(ok.status(), 200);
        let resp = env
            .http
            .get(format!("{}/api/tags", env.base))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 401);
        let v: Value = resp.json().await.expect("json");
        assert!(v["error"].is_string(), "{v}");
        let ok = env
            .http
            .get(format!("{}/api/tags", env.base))
            .bearer_auth("sk-local")
            .send()
            .await
            .expect("get");
        assert_eq!(ok.status(), 200);
    })
    .await;
}

/// A CLI installed by `scripts/setup` into `.tools/node_modules/.bin/<name>`, or the path in
/// the environment variable `env`.
pub(crate) fn tool_binary(name: &str, env: &str) -> std::path::PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.tools/node_modules/.bin")
        .join(name);
    assert!(
        path.exists(),
        "{name} not found at {}: run scripts/setup (npm install into .tools/), or set {env}",
        path.display()
    );
    path
}

/// Gemini CLI itself (`@google/gemini-cli`, installed into `.tools/` by `scripts/setup`),
/// headless (`-p`) with `GOOGLE_GEMINI_BASE_URL` at the proxy and `HOME` in a temporary
/// folder: a text answer, and a turn where the model reasons, calls one of Gemini CLI's tools
/// (a `functionCall` with a `thoughtSignature`), and answers from the tool's result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_cli_answers_and_completes_a_signed_tool_round_trip() {
    let env = Env::start().await;
    let home = tempfile::tempdir().expect("temporary HOME");
    let settings = home.path().join(".gemini");
    std::fs::create_dir_all(&settings).expect("settings folder");
    std::fs::write(
        settings.join("settings.json"),
        r#"{"security": {"auth": {"selectedType": "gemini-api-key"}},
            "general": {"disableAutoUpdate": true, "disableUpdateNag": true},
            "privacy": {"usageStatisticsEnabled": false},
            "telemetry": {"enabled": false}}"#,
    )
    .expect("settings.json");
    let gemini = tool_binary("gemini", "CODEX_PIPE_TEST_GEMINI_CLI");
    for (prompt, expected) in [
        ("hi", codex_pipe::sim::responses::SIM_TEXT),
        ("sim:reasoning_tool", "Tool output received: call_"),
    ] {
        let run = tokio::process::Command::new(&gemini)
            .args(["-m", "gpt-5.4", "-p", prompt])
            .current_dir(home.path())
            .env("HOME", home.path())
            .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
            .env("GOOGLE_GEMINI_BASE_URL", &env.base)
            .env("GEMINI_API_KEY", "unused")
            .env_remove("GOOGLE_API_KEY")
            .env_remove("GOOGLE_CLOUD_PROJECT")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(90), run)
            .await
            .expect("gemini took too long")
            .expect("run gemini");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(expected),
            "gemini -p {prompt:?} ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
    }
}
