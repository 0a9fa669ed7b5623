//! `/metrics` and `--usage-log` after a known mix of requests through the whole server (named
//! client keys, the metering layer, the chat and responses surfaces) over the simulated backend.
//! One test: the metrics recorder is global to this test binary.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_pipe::accounts::AccountPool;
use codex_pipe::server::api_keys::ApiKeys;
use codex_pipe::server::metrics::MetricsState;
use codex_pipe::server::{self, ApiKeyPolicy, AppState, ServeOptions, ServerConfig, SimBackend};
use codex_pipe::sim::responses::{responses_base_url, SIM_TEXT};
use codex_pipe::sim::SimConfig;
use codex_pipe::upstream::responses::{ResponsesClient, ResponsesConfig};
use codex_pipe::upstream::transcribe::Transcriber;
use codex_pipe::upstream::{http_client, HttpConfig};
use codex_pipe::usage_log::UsageLog;
use codex_pipe_protocols::models::ModelCatalog;
use serde_json::{json, Value};

const PROMPT: &str = "hello metrics, a prompt that must never reach the usage log";

/// One sample of the exposition: labels → value.
fn samples(text: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .map(|l| {
            let (labels, value) = l[name.len() + 1..].rsplit_once("} ").expect("sample");
            let labels = labels
                .split("\",")
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once("=\"").expect("label");
                    (k.to_owned(), v.trim_end_matches('"').to_owned())
                })
                .collect();
            (labels, value.parse().expect("value"))
        })
        .collect()
}

/// The value of the sample of `name` whose labels include all of `want`.
fn value(text: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    samples(text, name)
        .into_iter()
        .filter(|(labels, _)| {
            want.iter()
                .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_usage_log_count_a_known_mix_exactly() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let backend = SimBackend::start(SimConfig::default()).await.expect("sim");
        let http = http_client(&HttpConfig::default()).expect("http");
        let auth = backend.auth_source().build(http.clone()).expect("auth");
        let pool = AccountPool::single(auth.clone());
        let upstream = ResponsesClient::with_pool(
            http.clone(),
            pool.clone(),
            ResponsesConfig {
                base_url: responses_base_url(&backend.sim.base_url()),
                ..ResponsesConfig::default()
            },
        );
        let transcriber =
            Transcriber::with_pool(http.clone(), pool.clone(), backend.transcribe_url());
        let dir = tempfile::tempdir().expect("tempdir");
        let log_path = dir.path().join("usage.jsonl");
        let keys =
            ApiKeys::parse(r#"{"alice":"sk-alice-1","bob":"sk-bob-2"}"#, None).expect("keys");
        let metrics = MetricsState {
            handle: Some(codex_pipe::metrics::install().expect("recorder")),
            usage_log: Some(UsageLog::open(&log_path).await.expect("log")),
            accounts: Some(pool),
        };
        let config = ServerConfig::new(ApiKeyPolicy::Named(Arc::new(keys)));
        let state = AppState::new(
            config,
            upstream,
            transcriber,
            ModelCatalog::builtin("gpt-5.4"),
        )
        .with_metrics(metrics);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(server::serve(
            listener,
            state,
            std::future::pending(),
            ServeOptions::default(),
        ));

        let post = |path: &str, key: Option<&str>, body: Value| {
            let mut r = http.post(format!("{base}{path}")).json(&body);
            if let Some(k) = key {
                r = r.bearer_auth(k);
            }
            r.send()
        };
        let chat = |stream: bool, marker: &str| {
            json!({"model": "gpt-5.4", "stream": stream, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": format!("{PROMPT} {marker}")}]})
        };
        // The mix: 3 streamed chats (alice), 2 unary chats (bob), 1 rate-limited chat (alice),
        // 2 /v1/responses, streamed and not (bob), 1 chat without a key.
        let (mut input, mut output) = (0u64, 0u64);
        for _ in 0..3 {
            let r = post("/v1/chat/completions", Some("sk-alice-1"), chat(true, ""))
                .await
                .expect("send");
            assert_eq!(r.status(), 200);
            let text = r.text().await.expect("body");
            let usage = text
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find_map(|v| v.get("usage").filter(|u| u.is_object()).cloned())
                .expect("usage chunk");
            input += usage["prompt_tokens"].as_u64().expect("prompt");
            output += usage["completion_tokens"].as_u64().expect("completion");
        }
        for _ in 0..2 {
            let r = post("/v1/chat/completions", Some("sk-bob-2"), chat(false, ""))
                .await
                .expect("send");
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.expect("json");
            input += v["usage"]["prompt_tokens"].as_u64().expect("prompt");
            output += v["usage"]["completion_tokens"]
                .as_u64()
                .expect("completion");
        }
        let r = post(
            "/v1/chat/completions",
            Some("sk-alice-1"),
            chat(true, "sim:http_429"),
        )
        .await
        .expect("send");
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        let (mut r_input, mut r_output) = (0u64, 0u64);
        for stream in [true, false] {
            let r = post(
                "/v1/responses",
                Some("sk-bob-2"),
                json!({"model": "gpt-5.4", "stream": stream, "input": PROMPT, "instructions": "x"}),
            )
            .await
            .expect("send");
            assert_eq!(r.status(), 200);
            let text = r.text().await.expect("body");
            let usage = if stream {
                text.lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                    .find(|v| v["type"] == "response.completed")
                    .expect("response.completed")["response"]["usage"]
                    .clone()
            } else {
                serde_json::from_str::<Value>(&text).expect("json")["usage"].clone()
            };
            r_input += usage["input_tokens"].as_u64().expect("input");
            r_output += usage["output_tokens"].as_u64().expect("output");
        }
        let r = post("/v1/chat/completions", None, chat(true, ""))
            .await
            .expect("send");
        assert_eq!(r.status(), 401);

        let scrape = || async {
            http.get(format!("{base}/metrics"))
                .bearer_auth("sk-alice-1")
                .send()
                .await
                .expect("scrape")
        };
        assert_eq!(
            http.get(format!("{base}/metrics"))
                .send()
                .await
                .expect("scrape")
                .status(),
            401,
            "metrics need a key"
        );
        // Bodies are recorded when they end; give the last one a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        let text = loop {
            let text = scrape().await.text().await.expect("text");
            if value(&text, "codex_pipe_requests_total", &[]) >= 9.0 || Instant::now() > deadline {
                break text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let req = |surface, status, key| {
            value(
                &text,
                "codex_pipe_requests_total",
                &[("surface", surface), ("status", status), ("key", key)],
            )
        };
        assert_eq!(req("chat", "200", "alice"), 3.0, "{text}");
        assert_eq!(req("chat", "200", "bob"), 2.0);
        assert_eq!(req("chat", "429", "alice"), 1.0);
        assert_eq!(req("responses", "200", "bob"), 2.0);
        assert_eq!(req("chat", "401", ""), 1.0);
        assert_eq!(value(&text, "codex_pipe_requests_total", &[]), 9.0);
        let model = ("gen_ai_request_model", "gpt-5.4");
        let tokens = |kind| {
            value(
                &text,
                "codex_pipe_tokens_total",
                &[("surface", "chat"), model, ("gen_ai_token_type", kind)],
            )
        };
        assert_eq!(tokens("input"), input as f64, "{text}");
        assert_eq!(tokens("output"), output as f64);
        assert!(input > 0 && output > 0);
        let r_tokens = |kind| {
            value(
                &text,
                "codex_pipe_tokens_total",
                &[("surface", "responses"), model, ("gen_ai_token_type", kind)],
            )
        };
        assert_eq!(r_tokens("input"), r_input as f64, "{text}");
        assert_eq!(r_tokens("output"), r_output as f64);
        assert!(r_input > 0 && r_output > 0);
        assert_eq!(
            value(
                &text,
                "codex_pipe_request_duration_seconds_count",
                &[("surface", "chat"), model]
            ),
            6.0
        );
        assert_eq!(
            value(
                &text,
                "codex_pipe_time_to_first_byte_seconds_count",
                &[("surface", "chat"), model]
            ),
            6.0
        );
        assert_eq!(
            value(
                &text,
                "codex_pipe_requests_in_flight",
                &[("surface", "chat")]
            ),
            0.0
        );
        assert_eq!(
            value(
                &text,
                "codex_pipe_account_quota_used_percent",
                &[("account", "default"), ("window", "primary")]
            ),
            12.5
        );

        // The usage log: one line per request, names and counts only.
        let deadline = Instant::now() + Duration::from_secs(5);
        let log = loop {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if log.lines().count() >= 9 || Instant::now() > deadline {
                break log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let lines: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 9, "{log}");
        for forbidden in [
            PROMPT,
            "hello metrics",
            SIM_TEXT,
            "sk-alice-1",
            "sk-bob-2",
            "Bearer",
            "eyJ",
        ] {
            assert!(
                !log.contains(forbidden),
                "usage log leaks {forbidden:?}: {log}"
            );
        }
        let alice_ok: Vec<&Value> = lines
            .iter()
            .filter(|l| l["key"] == "alice" && l["status"] == 200)
            .collect();
        assert_eq!(alice_ok.len(), 3);
        for l in &alice_ok {
            assert_eq!(l["surface"], "chat");
            assert_eq!(l["model"], "gpt-5.4");
            assert_eq!(l["account"], "default");
            assert!(l["input_tokens"].as_u64().expect("input") > 0);
            assert!(
                l["latency_ms"].as_f64().expect("latency") >= l["ttfb_ms"].as_f64().expect("ttfb")
            );
        }
        let logged_input: u64 = lines
            .iter()
            .filter(|l| l["surface"] == "chat")
            .map(|l| l["input_tokens"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(logged_input, input);
        server.abort();
    })
    .await
    .expect("test timed out");
}
