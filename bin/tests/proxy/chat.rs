//! The OpenAI LLM surfaces of the whole router over an in-process simulated backend, checked on
//! the wire with reqwest, then with the official OpenAI Python SDK (`bin/tests/sdk/chat*.py`).

use std::time::{Duration, Instant};

use codex_pipe::server::{router, ApiKeyPolicy, AppState, ServerConfig, SimBackend};
use codex_pipe::sim::responses::{responses_base_url, SIM_TEXT, STATS_PATH};
use codex_pipe::sim::SimConfig;
use codex_pipe::upstream::responses::{ResponsesClient, ResponsesConfig};
use codex_pipe::upstream::transcribe::Transcriber;
use codex_pipe::upstream::{http_client, HttpConfig};
use codex_pipe_protocols::models::ModelCatalog;
use serde_json::{json, Value};

#[path = "responses.rs"]
mod responses;

/// Upper bound for any single test.
const LIMIT: Duration = Duration::from_secs(60);

pub(crate) struct Env {
    pub(crate) backend: SimBackend,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Env {
    pub(crate) async fn start() -> Env {
        Env::start_with(|_| {}).await
    }

    async fn start_with(tune: impl FnOnce(&mut ResponsesConfig)) -> Env {
        Env::start_full(tune, |_| {}).await
    }

    /// A proxy with the backend client tuned by `tune` and the server by `server`.
    pub(crate) async fn start_full(
        tune: impl FnOnce(&mut ResponsesConfig),
        server: impl FnOnce(&mut ServerConfig),
    ) -> Env {
        let backend = SimBackend::start(SimConfig::default()).await.expect("sim");
        let http = http_client(&HttpConfig::default()).expect("client");
        let auth = backend.auth_source().build(http.clone()).expect("auth");
        let mut config = ResponsesConfig {
            base_url: responses_base_url(&backend.sim.base_url()),
            retry_backoff: Duration::from_millis(20),
            ..ResponsesConfig::default()
        };
        tune(&mut config);
        let mut server_config = ServerConfig::new(ApiKeyPolicy::Open);
        server(&mut server_config);
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

    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    async fn chat(&self, body: Value) -> reqwest::Response {
        self.post("/v1/chat/completions", body).await
    }

    async fn stats(&self) -> Value {
        self.http
            .get(format!("{}{STATS_PATH}", self.backend.sim.base_url()))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    }
}

fn user(text: &str, stream: bool) -> Value {
    json!({"model": "gpt-5.4", "stream": stream, "messages": [{"role": "user", "content": text}]})
}

/// The `data:` payloads of an SSE body, checking that every event ends with a blank line.
fn data_frames(body: &str) -> Vec<String> {
    assert!(
        body.ends_with("\n\n"),
        "body must end with a blank line: {body:?}"
    );
    body.split("\n\n")
        .filter(|block| !block.is_empty() && !block.starts_with(':'))
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

fn json_frames(body: &str) -> Vec<Value> {
    data_frames(body)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("frame json"))
        .collect()
}

fn content_of(frames: &[Value]) -> String {
    frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect()
}

pub(crate) async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test took too long")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_text_arrives_as_chat_chunks() {
    within(async {
        let env = Env::start().await;
        let resp = env.chat(user("hi", true)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        assert_eq!(resp.headers()["cache-control"], "no-cache");
        assert_eq!(resp.headers()["x-codex-primary-used-percent"], "12.5");
        let body = resp.text().await.expect("body");
        let raw = data_frames(&body);
        assert_eq!(raw.last().map(String::as_str), Some("[DONE]"));
        let frames = json_frames(&body);
        assert_eq!(
            frames[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        for f in &frames {
            assert_eq!(f["object"], "chat.completion.chunk");
            assert!(f["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("chatcmpl-")));
            assert!(f["created"].as_u64().is_some());
            assert_eq!(f["model"], "gpt-5.4");
        }
        assert_eq!(content_of(&frames), SIM_TEXT);
        // One chunk per upstream word, not one blob.
        assert!(frames.len() >= SIM_TEXT.split(' ').count() + 2);
        let last = frames.last().expect("finish chunk");
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        assert_eq!(last["choices"][0]["delta"], json!({}));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_body_and_include_usage() {
    within(async {
        let env = Env::start().await;
        let resp = env.chat(user("hi", false)).await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["content"], SIM_TEXT);
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert!(v["usage"]["prompt_tokens"].as_u64().is_some_and(|n| n > 0));

        let mut req = user("hi", true);
        req["stream_options"] = json!({"include_usage": true});
        let body = env.chat(req).await.text().await.expect("body");
        let frames = json_frames(&body);
        let (usage, rest) = frames.split_last().expect("frames");
        assert_eq!(usage["choices"], json!([]));
        assert!(usage["usage"]["total_tokens"]
            .as_u64()
            .is_some_and(|n| n > 0));
        assert!(rest
            .iter()
            .all(|f| f["usage"].is_null() && f.get("usage").is_some()));
    })
    .await;
}

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {
            "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_round_trip_with_two_parallel_calls() {
    within(async {
        let env = Env::start().await;
        let mut req = user("sim:parallel_tools", true);
        req["tools"] = weather_tools();
        let body = env.chat(req.clone()).await.text().await.expect("body");
        let frames = json_frames(&body);
        let mut calls: Vec<(String, String, String)> = Vec::new();
        for f in &frames {
            for tc in f["choices"][0]["delta"]["tool_calls"].as_array().into_iter().flatten() {
                let index = tc["index"].as_u64().expect("index") as usize;
                if let Some(id) = tc["id"].as_str() {
                    assert_eq!(index, calls.len(), "dense indices in start order");
                    assert_eq!(tc["function"]["arguments"], "");
                    calls.push((id.into(), tc["function"]["name"].as_str().expect("name").into(), String::new()));
                } else {
                    assert!(tc.get("id").is_none() && tc["function"].get("name").is_none());
                    calls[index].2.push_str(tc["function"]["arguments"].as_str().expect("args"));
                }
            }
        }
        assert_eq!(frames.last().expect("last")["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].1.as_str(), calls[1].1.as_str()), ("get_weather", "get_time"));
        assert_eq!(serde_json::from_str::<Value>(&calls[0].2).expect("args"), json!({"city": "Paris"}));
        assert_eq!(serde_json::from_str::<Value>(&calls[1].2).expect("args"), json!({"zone": "London"}));

        let mut messages = req["messages"].as_array().expect("messages").clone();
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": calls.iter().map(|(id, name, args)|
            json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})).collect::<Vec<_>>()}));
        messages.push(json!({"role": "tool", "tool_call_id": calls[0].0, "content": "{\"temp\":21}"}));
        messages.push(json!({"role": "tool", "tool_call_id": calls[1].0, "content": "12:00"}));
        req["messages"] = Value::Array(messages);
        req["stream"] = json!(false);
        let v: Value = env.chat(req).await.json().await.expect("json");
        let expected = format!("Tool output received: {}: {{\"temp\":21}}; {}: 12:00", calls[0].0, calls[1].0);
        assert_eq!(v["choices"][0]["message"]["content"], expected.as_str());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_single_calls_and_sparse_streams_translate() {
    within(async {
        let env = Env::start().await;
        let body = env.chat(user("sim:reasoning", true)).await.text().await.expect("body");
        let frames = json_frames(&body);
        let thought: String = frames
            .iter()
            .filter_map(|f| f["choices"][0]["delta"]["reasoning_content"].as_str())
            .collect();
        assert_eq!(
            thought,
            "**Thinking it over**\n\nThe user wants a greeting.\n\n**Answering**\n\nA short hello will do."
        );
        assert_eq!(content_of(&frames), SIM_TEXT);
        for marker in ["sim:tool", "sim:args_on_done"] {
            let mut req = user(marker, false);
            req["tools"] = weather_tools();
            let v: Value = env.chat(req).await.json().await.expect("json");
            let message = &v["choices"][0]["message"];
            assert!(message["content"].is_null(), "{marker}: {v}");
            assert_eq!(message["tool_calls"].as_array().map(Vec::len), Some(1), "{marker}");
            assert_eq!(message["tool_calls"][0]["function"]["name"], "get_weather");
            assert_eq!(message["tool_calls"][0]["function"]["arguments"], r#"{"city":"Paris"}"#);
            assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        }
        let v: Value = env.chat(user("sim:empty_completed_output", false)).await.json().await.expect("json");
        assert_eq!(v["choices"][0]["message"]["content"], SIM_TEXT);
        assert_eq!(v["usage"]["total_tokens"], 30);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_before_the_first_byte_are_http_errors() {
    within(async {
        let env = Env::start().await;
        let cases = [
            (
                "sim:failed_context",
                true,
                400,
                "invalid_request_error",
                Some("context_length_exceeded"),
                None,
            ),
            (
                "sim:failed_rate_limit",
                true,
                429,
                "rate_limit_error",
                Some("rate_limit_exceeded"),
                Some("2"),
            ),
            (
                "sim:failed_rate_limit",
                false,
                429,
                "rate_limit_error",
                Some("rate_limit_exceeded"),
                Some("2"),
            ),
            (
                "sim:http_429",
                true,
                429,
                "rate_limit_error",
                Some("usage_limit_reached"),
                Some("7"),
            ),
            (
                "sim:premature_close",
                false,
                504,
                "server_error",
                Some("stream_closed"),
                None,
            ),
            (
                "sim:error_event",
                false,
                502,
                "server_error",
                Some("server_error"),
                None,
            ),
        ];
        for (marker, stream, status, kind, code, retry_after) in cases {
            let resp = env.chat(user(marker, stream)).await;
            assert_eq!(resp.status().as_u16(), status, "{marker} stream={stream}");
            assert_eq!(
                resp.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().expect("ascii")),
                retry_after,
                "{marker}"
            );
            assert_eq!(resp.headers()["content-type"], "application/json");
            let v: Value = resp.json().await.expect("json");
            assert_eq!(v["error"]["type"], kind, "{marker}: {v}");
            assert_eq!(v["error"]["code"].as_str(), code, "{marker}: {v}");
            assert!(v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        // Client errors never reach the backend.
        let before = env.stats().await["requests"].as_u64();
        let mut two = user("hi", false);
        two["n"] = json!(2);
        let resp = env.chat(two).await;
        assert_eq!(resp.status(), 400);
        assert_eq!(
            resp.json::<Value>().await.expect("json")["error"]["param"],
            "n"
        );
        let resp = env
            .http
            .post(format!("{}/v1/chat/completions", env.base))
            .body("{")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 400);
        assert_eq!(env.stats().await["requests"].as_u64(), before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_after_the_first_byte_are_in_band() {
    within(async {
        let env = Env::start().await;
        for (marker, code, text) in [
            ("sim:error_event", "server_error", "Partial answer"),
            (
                "sim:premature_close",
                "stream_closed",
                "This answer is cut off",
            ),
        ] {
            let resp = env.chat(user(marker, true)).await;
            assert_eq!(resp.status(), 200);
            let body = resp.text().await.expect("body");
            assert!(!body.contains("[DONE]"), "{body}");
            let frames = json_frames(&body);
            assert_eq!(content_of(&frames), text);
            let last = frames.last().expect("error frame");
            assert_eq!(last["error"]["code"], code, "{body}");
            assert_eq!(last["error"]["type"], "server_error");
        }
        let v: Value = env
            .chat(user("sim:incomplete", false))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "Once upon a time, there"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_resent_a_bounded_number_of_times() {
    within(async {
        let env = Env::start().await;
        let resp = env.chat(user("sim:http_500", false)).await;
        assert_eq!(resp.status(), 502);
        assert_eq!(env.stats().await["requests"], 3, "one try and two resends");
        let v: Value = env
            .chat(user("sim:flaky", false))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(v["choices"][0]["message"]["content"], SIM_TEXT);
        assert_eq!(env.stats().await["requests"], 5, "503 once, then resent");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refreshed_once() {
    within(async {
        let env = Env::start().await;
        env.backend.sim.auth().expire_access_tokens();
        let v: Value = env
            .chat(user("hi", false))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(v["choices"][0]["message"]["content"], SIM_TEXT);
        assert_eq!(env.backend.sim.auth().refresh_count(), 1);
        let stats = env.stats().await;
        assert_eq!(
            (stats["requests"].as_u64(), stats["rejected"].as_u64()),
            (Some(2), Some(1))
        );
        let health: Value = env
            .http
            .get(format!("{}/health", env.base))
            .send()
            .await
            .expect("health")
            .json()
            .await
            .expect("json");
        assert_eq!(
            health,
            json!({"status": "ok", "auth": true, "default_model": "gpt-5.4"})
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_sees_codex_headers_and_a_clean_body() {
    within(async {
        let env = Env::start().await;
        let mut req = user("sim:echo", false);
        req["prompt_cache_key"] = json!("conv-1");
        req["temperature"] = json!(0.2);
        req["max_tokens"] = json!(100);
        let resp = env
            .http
            .post(format!("{}/v1/chat/completions", env.base))
            .header("x-openai-subagent", "review")
            .json(&req)
            .send()
            .await
            .expect("send");
        let v: Value = resp.json().await.expect("json");
        let echo: Value = serde_json::from_str(
            v["choices"][0]["message"]["content"]
                .as_str()
                .expect("text"),
        )
        .expect("echo");
        let h = &echo["headers"];
        assert_eq!(h["originator"], "codex_cli_rs");
        assert!(h["user-agent"]
            .as_str()
            .is_some_and(|ua| ua.starts_with("codex_cli_rs/")));
        assert_eq!(h["accept"], "text/event-stream");
        assert_eq!(h["session_id"], "conv-1");
        assert_eq!(h["x-openai-subagent"], "review");
        assert_eq!(h["chatgpt-account-id"], env.backend.sim.auth().account_id());
        let b = &echo["body"];
        assert_eq!(
            (b["store"].clone(), b["stream"].clone()),
            (json!(false), json!(true))
        );
        assert_eq!(b["prompt_cache_key"], "conv-1");
        assert!(b.get("temperature").is_none() && b.get("max_tokens").is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_chunk_reaches_the_client_before_the_upstream_finishes() {
    within(async {
        let env = Env::start().await;
        let started = Instant::now();
        let mut resp = env.chat(user("sim:slow:100 hello", true)).await;
        assert_eq!(resp.status(), 200);
        let first = resp.chunk().await.expect("read").expect("first chunk");
        let first = String::from_utf8(first.to_vec()).expect("utf-8");
        assert!(first.contains("\"role\":\"assistant\""), "{first}");
        let stats = env.stats().await;
        assert_eq!(stats["streams_started"], 1);
        assert_eq!(
            stats["streams_finished"], 0,
            "the upstream was still streaming"
        );
        let mut rest = String::new();
        while let Some(chunk) = resp.chunk().await.expect("read") {
            rest.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
        assert!(rest.ends_with("data: [DONE]\n\n"));
        // 20 events, 100 ms apart: the answer cannot have been buffered.
        assert!(
            started.elapsed() >= Duration::from_millis(1900),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(env.stats().await["streams_finished"], 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_cancels_the_upstream_stream() {
    within(async {
        let env = Env::start().await;
        let mut resp = env.chat(user("sim:slow:100", true)).await;
        resp.chunk().await.expect("read").expect("first chunk");
        drop(resp);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stats = env.stats().await;
            if stats["streams_aborted"] == 1 {
                assert_eq!(stats["streams_finished"], 0);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "upstream never cancelled: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_upstream_times_out() {
    within(async {
        let env = Env::start_with(|c| c.idle_timeout = Duration::from_millis(300)).await;
        let resp = env.chat(user("sim:slow:1500", true)).await;
        assert_eq!(resp.status(), 504);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["code"], "upstream_idle_timeout");
        // The passthrough forwards `response.created` at once, so the timeout is in-band.
        let resp = env
            .post(
                "/v1/responses",
                json!({"model": "gpt-5.4", "input": "sim:slow:1500", "stream": true}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let frames = json_frames(&resp.text().await.expect("body"));
        assert_eq!(frames[0]["type"], "response.created");
        let last = frames.last().expect("error event");
        assert_eq!(
            (last["type"].as_str(), last["code"].as_str()),
            (Some("error"), Some("upstream_idle_timeout"))
        );
    })
    .await;
}
