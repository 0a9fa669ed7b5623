//! The Anthropic Messages surface of the whole router over the in-process simulated backend:
//! on the wire with reqwest, then with the official Anthropic Python SDK
//! (`bin/tests/sdk/anthropic_messages.py`) and with Claude Code itself (`claude -p`, installed
//! by `scripts/setup` into `.tools/claude-code`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_pipe::server::{router, ApiKeyPolicy, AppState, ServerConfig, SimBackend};
use codex_pipe::sim::responses::{responses_base_url, BASH_ECHO_OUTPUT, SIM_TEXT, STATS_PATH};
use codex_pipe::sim::SimConfig;
use codex_pipe::upstream::responses::{ResponsesClient, ResponsesConfig};
use codex_pipe::upstream::transcribe::Transcriber;
use codex_pipe::upstream::{http_client, HttpConfig};
use codex_pipe_protocols::models::ModelCatalog;
use futures::StreamExt;
use serde_json::{json, Value};

/// The API key the proxy requires in these tests.
const KEY: &str = "sk-anthropic-test";
/// Upper bound for one test.
const LIMIT: Duration = Duration::from_secs(120);

struct Env {
    backend: SimBackend,
    base: String,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Env {
    /// A proxy requiring [`KEY`], keep-alive every `keep_alive`.
    async fn start(keep_alive: Duration) -> Env {
        let backend = SimBackend::start(SimConfig::default()).await.expect("sim");
        let http = http_client(&HttpConfig::default()).expect("client");
        let auth = backend.auth_source().build(http.clone()).expect("auth");
        let config = ResponsesConfig {
            base_url: responses_base_url(&backend.sim.base_url()),
            retry_backoff: Duration::from_millis(20),
            ..ResponsesConfig::default()
        };
        let mut server_config = ServerConfig::new(ApiKeyPolicy::Required(Arc::from(KEY)));
        server_config.keep_alive = Some(keep_alive);
        let state = AppState::new(
            server_config,
            ResponsesClient::new(http.clone(), auth.clone(), config),
            Transcriber::new(http.clone(), auth, backend.transcribe_url()),
            ModelCatalog::builtin("gpt-5.4"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            axum::serve(listener, router(state)).await.expect("serve");
        });
        Env {
            backend,
            base,
            http,
            server,
        }
    }

    fn messages(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .json(body)
    }

    async fn stats(&self) -> Value {
        let url = format!("{}{STATS_PATH}", self.backend.sim.base_url());
        let resp = self.http.get(url).send().await.expect("stats");
        resp.json().await.expect("stats json")
    }
}

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test took too long")
}

fn ask(text: &str, stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-6", "max_tokens": 1024, "stream": stream,
           "messages": [{"role": "user", "content": text}]})
}

/// `(event, data)` of each SSE event, checking the framing Claude Code needs: an `event:`
/// line equal to `data.type` and a blank line after every event.
fn events(body: &str) -> Vec<(String, Value)> {
    assert!(body.ends_with("\n\n"), "{body:?}");
    body.split_terminator("\n\n")
        .map(|frame| {
            let (event, data) = frame
                .strip_prefix("event: ")
                .and_then(|f| f.split_once("\ndata: "))
                .unwrap_or_else(|| panic!("frame without event line: {frame:?}"));
            let data: Value = serde_json::from_str(data).expect("json");
            assert_eq!(data["type"], event);
            (event.to_owned(), data)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_messages_with_beta_query_and_both_key_headers() {
    within(async {
        let env = Env::start(Duration::from_secs(15)).await;
        let resp = env
            .messages("/v1/messages?beta=true", &ask("hi", true))
            .header(
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14",
            )
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        let evs = events(&resp.text().await.expect("body"));
        let kinds: Vec<&str> = evs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds[..2], ["message_start", "content_block_start"]);
        assert_eq!(
            kinds[kinds.len() - 3..],
            ["content_block_stop", "message_delta", "message_stop"]
        );
        assert_eq!(evs[0].1["message"]["model"], "claude-sonnet-4-6");
        let text: String = evs
            .iter()
            .filter_map(|(_, d)| d["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, SIM_TEXT);
        let usage = &evs[evs.len() - 2].1["usage"];
        assert!(
            usage["input_tokens"].as_u64().is_some_and(|n| n > 0),
            "{usage}"
        );

        let bearer = env
            .http
            .post(format!("{}/v1/messages", env.base))
            .bearer_auth(KEY)
            .json(&ask("hi", false))
            .send()
            .await
            .expect("request");
        assert_eq!(bearer.status(), 200);
        let v: Value = bearer.json().await.expect("json");
        assert_eq!(v["content"][0]["text"], SIM_TEXT);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_models_and_layer_errors_in_anthropic_shape() {
    within(async {
        let env = Env::start(Duration::from_secs(15)).await;
        for path in ["/", "/api/hello"] {
            let r = env.http.head(format!("{}{path}", env.base)).send().await.expect("head");
            assert_eq!(r.status(), 200, "{path}");
        }
        let models = |anthropic: bool| {
            let mut req = env.http.get(format!("{}/v1/models", env.base)).header("x-api-key", KEY);
            if anthropic {
                req = req.header("anthropic-version", "2023-06-01");
            }
            req.send()
        };
        let v: Value = models(true).await.expect("models").json().await.expect("json");
        let ids: Vec<&str> = v["data"].as_array().expect("data").iter().filter_map(|m| m["id"].as_str()).collect();
        assert!(!ids.is_empty() && ids.iter().all(|id| id.contains("claude")), "{v}");
        assert_eq!(v["data"][0]["type"], "model");
        let v: Value = models(false).await.expect("models").json().await.expect("json");
        assert_eq!(v["object"], "list");

        let no_key = env.http.post(format!("{}/v1/messages?beta=true", env.base)).json(&ask("hi", true)).send().await.expect("post");
        assert_eq!(no_key.status(), 401);
        let v: Value = no_key.json().await.expect("json");
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "authentication_error");
        let missing = env.messages("/v1/messages/nope", &ask("hi", true)).send().await.expect("post");
        assert_eq!(missing.status(), 404);
        let v: Value = missing.json().await.expect("json");
        assert_eq!(v["error"]["type"], "not_found_error");
        let bad = env.messages("/v1/messages", &json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "bogus"}]}]})).send().await.expect("post");
        assert_eq!(bad.status(), 400);
        let v: Value = bad.json().await.expect("json");
        assert_eq!(v["error"]["type"], "invalid_request_error");

        // count_tokens is answered locally: no upstream request.
        let before = env.stats().await["requests"].as_u64();
        let n: Value = env.messages("/v1/messages/count_tokens", &json!({"model": "claude-opus-4-8", "messages": [{"role": "user", "content": "hello world"}]})).send().await.expect("count").json().await.expect("json");
        assert_eq!(n, json!({"input_tokens": 8}));
        assert_eq!(env.stats().await["requests"].as_u64(), before);
    })
    .await;
}

/// What the backend receives for a Claude Code shaped request: the model mapped, the effort,
/// no billing line, no sampling fields, the session header as cache key and session id, the
/// agent header as a subagent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_sees_a_mapped_clean_request() {
    within(async {
        let env = Env::start(Duration::from_secs(15)).await;
        let body = json!({
            "model": "claude-opus-4-8[1m]", "max_tokens": 64000, "temperature": 1, "stream": false,
            "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197; cch=1;"},
                       {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "sim:echo", "cache_control": {"type": "ephemeral"}}]},
                         {"role": "system", "content": "Available agent types: none"}]
        });
        let resp = env
            .messages("/v1/messages?beta=true", &body)
            .header("x-claude-code-session-id", "sess-42")
            .header("x-claude-code-agent-id", "agent-1")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.expect("json");
        let echo: Value = serde_json::from_str(v["content"][0]["text"].as_str().expect("text")).expect("echo");
        let sent = &echo["body"];
        assert_eq!(sent["model"], "gpt-5.5");
        assert_eq!(sent["reasoning"]["effort"], "high");
        assert_eq!(sent["instructions"], "You are Claude Code.");
        assert_eq!(sent["prompt_cache_key"], "sess-42");
        assert_eq!(echo["headers"]["session_id"], "sess-42");
        assert_eq!(echo["headers"]["x-openai-subagent"], "subagent");
        assert_eq!(sent["input"][1]["role"], "developer");
        for absent in ["max_output_tokens", "temperature", "context_management", "max_tokens"] {
            assert!(sent.get(absent).is_none(), "{absent}");
        }
    })
    .await;
}

/// A long silent reasoning phase: the client gets a `ping` at least every keep-alive interval,
/// so no silence on the wire is much longer than it (Claude Code aborts after ~300 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_reasoning_is_kept_alive_with_pings() {
    within(async {
        let keep_alive = Duration::from_millis(200);
        let env = Env::start(keep_alive).await;
        let resp = env
            .messages("/v1/messages", &ask("sim:silent_reasoning:1500", true))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        let mut stream = resp.bytes_stream();
        let mut body = Vec::new();
        let mut last = Instant::now();
        let mut longest = Duration::ZERO;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.expect("chunk");
            longest = longest.max(last.elapsed());
            last = Instant::now();
            body.extend_from_slice(&chunk);
        }
        let evs = events(&String::from_utf8(body).expect("utf-8"));
        let pings = evs.iter().filter(|(k, _)| k == "ping").count();
        assert!(pings >= 4, "{pings} pings in 1.5 s of silence");
        assert!(
            longest < Duration::from_millis(800),
            "silence of {longest:?} on the wire"
        );
        assert_eq!(evs[0].0, "message_start");
        assert_eq!(evs.last().map(|(k, _)| k.as_str()), Some("message_stop"));
        let thinking = evs
            .iter()
            .position(|(_, d)| d["delta"]["type"] == "thinking_delta")
            .expect("thinking");
        assert!(evs[..thinking].iter().filter(|(k, _)| k == "ping").count() >= 4);
    })
    .await;
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_python_sdk() {
    // A short keep-alive, so that the script sees `ping` events during a silence.
    let env = Env::start(Duration::from_millis(300)).await;
    crate::gemini::run_python("anthropic_messages.py", &[env.base.clone(), KEY.into()]).await;
}

/// Claude Code's binary: `CODEX_PIPE_TEST_CLAUDE`, else `.tools/claude-code` (scripts/setup).
fn claude_binary() -> PathBuf {
    let path = std::env::var_os("CODEX_PIPE_TEST_CLAUDE").map_or_else(
        || repo_root().join(".tools/claude-code/node_modules/.bin/claude"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "Claude Code is not installed at {}: run scripts/setup (npm install of @anthropic-ai/claude-code into .tools/claude-code)",
        path.display()
    );
    path
}

/// Runs `claude -p <prompt> --output-format json` against the proxy, with a scratch `HOME`
/// and no outside traffic; returns the parsed result object.
async fn claude(env: &Env, prompt: &str, extra: &[&str]) -> Value {
    let home = tempfile::tempdir().expect("home");
    let work = tempfile::tempdir().expect("work dir");
    let mut cmd = tokio::process::Command::new(claude_binary());
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home.path())
        .env("ANTHROPIC_BASE_URL", &env.base)
        .env("ANTHROPIC_API_KEY", KEY)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .current_dir(work.path())
        .arg("-p")
        .arg(prompt)
        .args(["--output-format", "json"])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("claude -p took too long")
        .expect("run claude");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "claude exited {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_prints_the_answer_and_runs_a_bash_tool_call() {
    within(async {
        let env = Env::start(Duration::from_secs(15)).await;
        let result = claude(&env, "say hi", &[]).await;
        assert_eq!(result["is_error"], false, "{result}");
        assert_eq!(result["result"], SIM_TEXT, "{result}");

        let before = env.stats().await["streams_finished"]
            .as_u64()
            .unwrap_or_default();
        let result = claude(&env, "sim:bash_echo", &["--allowedTools", "Bash(echo:*)"]).await;
        assert_eq!(result["is_error"], false, "{result}");
        // The simulator's answer quotes the tool output it received in the next request.
        let text = result["result"].as_str().unwrap_or_default();
        assert!(text.starts_with("Tool output received: call_"), "{result}");
        assert!(text.ends_with(&format!(": {BASH_ECHO_OUTPUT}")), "{result}");
        let after = env.stats().await["streams_finished"]
            .as_u64()
            .unwrap_or_default();
        assert!(after >= before + 2, "{before} → {after}");
    })
    .await;
}
