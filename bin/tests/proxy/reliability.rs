//! The reliability battery: bad input on every route, slow and idle clients, an upstream that
//! never answers, hostile hosts and media types, and a graceful shutdown with streams in
//! flight. Every case checks the status, the error body in the caller's protocol, and that the
//! server still answers afterwards.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use codex_pipe::server::{allowed_hosts, ApiKeyPolicy};
use reqwest::header::{CONTENT_TYPE, HOST, ORIGIN};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::chat::{json_frames, user, within, Env};

/// Sends `bytes` on a new connection and waits up to `limit` for the server to close it;
/// returns what the server wrote and whether it closed.
async fn closed_within(addr: SocketAddr, bytes: &[u8], limit: Duration) -> (String, bool) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(bytes).await.expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into(), false),
        }
    }
}

async fn assert_alive(env: &Env) {
    let resp = env
        .http
        .get(format!("{}/healthz", env.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(resp.status(), 200);
}

/// Checks an OpenAI error answer: `status`, `{"error":{"message","type",…}}`, optional code.
async fn openai_error(resp: reqwest::Response, status: u16, code: Option<&str>) -> Value {
    let url = resp.url().path().to_owned();
    assert_eq!(resp.status(), status, "{url}");
    assert!(
        resp.headers()[CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("application/json"),
        "{url}"
    );
    let v: Value = resp.json().await.expect("json error body");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{url}: {v}"
    );
    assert!(v["error"]["type"].is_string(), "{url}: {v}");
    if let Some(code) = code {
        assert_eq!(v["error"]["code"], code, "{url}: {v}");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_every_route_is_a_4xx_in_the_openai_shape_and_the_server_lives_on() {
    within(async {
        let env = Env::start_full(|_| {}, |s| s.max_body_bytes = 64 * 1024).await;
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let json_cases: Vec<(&str, String, u16)> = vec![
            ("/v1/chat/completions", "{".into(), 400),
            ("/v1/chat/completions", "[]".into(), 400),
            (
                "/v1/chat/completions",
                r#"{"model":1,"messages":[]}"#.into(),
                400,
            ),
            ("/v1/chat/completions", r#"{"model":"m"}"#.into(), 400),
            (
                "/v1/chat/completions",
                r#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#.into(),
                400,
            ),
            (
                "/v1/chat/completions",
                r#"{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}"#.into(),
                400,
            ),
            (
                "/v1/chat/completions",
                r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#.into(),
                400,
            ),
            (
                "/v1/chat/completions",
                r#"{"model":"m","messages":[],"tools":[{"type":"code_interpreter"}]}"#.into(),
                400,
            ),
            (
                "/v1/chat/completions",
                format!(r#"{{"model":"m","messages":{deep}}}"#),
                400,
            ),
            (
                "/v1/chat/completions",
                format!(
                    r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#,
                    "x".repeat(70_000)
                ),
                413,
            ),
            ("/v1/responses", "{".into(), 400),
            ("/v1/responses", "[]".into(), 400),
            ("/v1/responses", r#"{"model":"m"}"#.into(), 400),
            (
                "/v1/responses",
                r#"{"model":"m","input":"x","instructions":5}"#.into(),
                400,
            ),
            ("/v1/responses", deep.clone(), 400),
            ("/v1/responses/compact", "{".into(), 400),
            ("/v1/responses/compact", r#"{"model":"m"}"#.into(), 400),
        ];
        let before = env.stats().await["requests"].as_u64();
        for (path, body, status) in json_cases {
            let resp = env
                .http
                .post(format!("{}{path}", env.base))
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("send");
            openai_error(resp, status, None).await;
            assert_alive(&env).await;
        }
        // None of them reached the backend.
        assert_eq!(env.stats().await["requests"].as_u64(), before);

        // Transcriptions: not multipart, no file, empty file, a bad field.
        let post_form = |form: reqwest::multipart::Form| {
            env.http
                .post(format!("{}/v1/audio/transcriptions", env.base))
                .multipart(form)
                .send()
        };
        let resp = env
            .http
            .post(format!("{}/v1/audio/transcriptions", env.base))
            .json(&json!({"file": "x"}))
            .send()
            .await
            .expect("send");
        openai_error(resp, 400, Some("invalid_multipart")).await;
        let form = reqwest::multipart::Form::new().text("model", "whisper-1");
        openai_error(
            post_form(form).await.expect("send"),
            400,
            Some("missing_required_parameter"),
        )
        .await;
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(Vec::new()).file_name("a.wav"),
        );
        openai_error(
            post_form(form).await.expect("send"),
            400,
            Some("empty_file"),
        )
        .await;
        let form = reqwest::multipart::Form::new()
            .text("response_format", "xml")
            .part(
                "file",
                reqwest::multipart::Part::bytes(vec![0u8; 64]).file_name("a.wav"),
            );
        openai_error(
            post_form(form).await.expect("send"),
            400,
            Some("invalid_value"),
        )
        .await;

        // Routes and methods.
        let resp = env
            .http
            .get(format!("{}/v2/nothing", env.base))
            .send()
            .await
            .expect("send");
        openai_error(resp, 404, Some("unknown_url")).await;
        let resp = env
            .http
            .get(format!("{}/v1/chat/completions", env.base))
            .send()
            .await
            .expect("send");
        openai_error(resp, 405, Some("method_not_allowed")).await;
        assert_alive(&env).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_routes_refuse_other_media_types_and_foreign_hosts() {
    within(async {
        let env = Env::start_full(
            |_| {},
            |s| {
                s.allowed_hosts = allowed_hosts(
                    &["127.0.0.1:8788".parse().expect("addr")],
                    &["proxy.lan".into()],
                );
            },
        )
        .await;
        let chat = |content_type: Option<&str>, origin: Option<&str>, host: Option<&str>| {
            let mut req = env
                .http
                .post(format!("{}/v1/chat/completions", env.base))
                .body(user("hi", false).to_string());
            if let Some(ct) = content_type {
                req = req.header(CONTENT_TYPE, ct);
            }
            if let Some(o) = origin {
                req = req.header(ORIGIN, o);
            }
            if let Some(h) = host {
                req = req.header(HOST, h);
            }
            req.send()
        };
        // A CORS "simple request" from a web page: refused before anything runs.
        for ct in [
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            openai_error(
                chat(Some(ct), Some("https://evil.example"), None)
                    .await
                    .expect("send"),
                415,
                Some("unsupported_media_type"),
            )
            .await;
        }
        openai_error(
            chat(None, Some("https://evil.example"), None)
                .await
                .expect("send"),
            415,
            None,
        )
        .await;
        // DNS rebinding: a name the page controls.
        openai_error(
            chat(Some("application/json"), None, Some("evil.example:8788"))
                .await
                .expect("send"),
            403,
            Some("host_not_allowed"),
        )
        .await;
        // What clients really send passes.
        for host in ["localhost:8788", "127.0.0.1", "[::1]:8788", "PROXY.LAN"] {
            let resp = chat(Some("application/json; charset=utf-8"), None, Some(host))
                .await
                .expect("send");
            assert_eq!(resp.status(), 200, "{host}");
        }
        assert_eq!(chat(None, None, None).await.expect("send").status(), 200);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_heads_are_414_and_431_in_the_callers_protocol() {
    within(async {
        let env = Env::start().await;
        let long = "a".repeat(17 * 1024);
        // 414 with OpenAI's body, on a route that exists and on one that does not.
        for path in ["/v1/models", "/v1/nowhere"] {
            let resp = env
                .http
                .get(format!("{}{path}?q={long}", env.base))
                .send()
                .await
                .expect("send");
            openai_error(resp, 414, Some("uri_too_long")).await;
        }
        // 431 in each protocol's shape: 33 KiB of headers in four fields.
        let piece = "b".repeat(8 * 1024 + 256);
        let with_big_headers = |req: reqwest::RequestBuilder| {
            (0..4).fold(req, |req, i| {
                req.header(format!("x-padding-{i}"), piece.as_str())
            })
        };
        let resp = with_big_headers(env.http.post(format!("{}/v1/chat/completions", env.base)))
            .json(&user("hi", false))
            .send()
            .await
            .expect("send");
        openai_error(resp, 431, Some("headers_too_large")).await;
        let resp = with_big_headers(env.http.post(format!("{}/v1/messages", env.base)))
            .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 16,
                          "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 431);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["type"], "error", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("headers")),
            "{v}"
        );
        let resp = with_big_headers(env.http.post(format!(
            "{}/v1beta/models/gpt-5.4:generateContent",
            env.base
        )))
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .expect("send");
        assert_eq!(resp.status(), 431);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["code"], 431, "{v}");
        // 150 header fields: over the limit of 100, within what hyper parses (256).
        let resp = (0..150)
            .fold(env.http.get(format!("{}/v1/models", env.base)), |req, i| {
                req.header(format!("x-field-{i}"), "1")
            })
            .send()
            .await
            .expect("send");
        openai_error(resp, 431, Some("headers_too_large")).await;
        // A head larger than the connection's read buffer: hyper's own 431, then the
        // connection closes.
        let huge = format!(
            "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nx-padding: {}\r\n\r\n",
            "c".repeat(300 * 1024)
        );
        let (seen, closed) = closed_within(env.addr, huge.as_bytes(), Duration::from_secs(5)).await;
        assert!(closed, "the connection is closed: {seen:?}");
        assert!(seen.starts_with("HTTP/1.1 431"), "{seen:?}");
        // Just under the limits: served.
        let resp = env
            .http
            .get(format!(
                "{}/v1/models?q={}",
                env.base,
                "a".repeat(15 * 1024)
            ))
            .header("x-padding", "d".repeat(30 * 1024))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200);
        assert_alive(&env).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_do_not_starve_others() {
    within(async {
        let mut env = Env::start_setup(|s| {
            s.serve.header_read_timeout = Duration::from_millis(400);
            s.serve.body_idle_timeout = Duration::from_millis(400);
            s.server.api_key = ApiKeyPolicy::Required("sk-k".into());
        })
        .await;
        let addr = env.addr;
        let limit = Duration::from_secs(5);
        // Nothing, half a head, a head that never ends.
        for bytes in [&b""[..], b"POST /v1/chat/completions HTTP/1.1\r\n", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1"] {
            let (_, closed) = closed_within(addr, bytes, limit).await;
            assert!(closed, "{:?} left open", String::from_utf8_lossy(bytes));
        }
        // An idle keep-alive connection after a complete exchange.
        let (answer, closed) = closed_within(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", limit).await;
        assert!(answer.starts_with("HTTP/1.1 200") && closed, "{answer}");
        // The key is checked from the head: no body is needed for the 401.
        let (answer, _) = closed_within(
            addr,
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            Duration::from_secs(2),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        // A body that stops arriving fails its request.
        let (answer, _) = closed_within(
            addr,
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-k\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\"",
            limit,
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
        assert!(answer.contains("\"error\""), "{answer}");

        // Many slow connections at once; a real request still gets through at once.
        let mut slow = Vec::new();
        for _ in 0..100 {
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            tcp.write_all(b"POST /v1/chat").await.expect("write");
            slow.push(tcp);
        }
        let start = Instant::now();
        let resp = env
            .http
            .post(format!("{}/v1/chat/completions", env.base))
            .bearer_auth("sk-k")
            .json(&user("hi", false))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200);
        assert!(start.elapsed() < Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut closed = 0;
        for tcp in &mut slow {
            let mut buf = [0u8; 256];
            if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut buf)).await {
                closed += 1;
            }
        }
        assert_eq!(closed, 100, "every slow connection was closed");
        env.shutdown();
        env.stopped().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_times_out() {
    within(async {
        let env = Env::start_full(|r| r.header_timeout = Duration::from_millis(300), |_| {}).await;
        let start = Instant::now();
        let resp = env.chat(user("sim:hang", true)).await;
        openai_error(resp, 504, Some("upstream_header_timeout")).await;
        assert!(start.elapsed() < Duration::from_secs(5));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_streams_finish_ends_the_rest_in_band_and_accepts_nothing_new() {
    within(async {
        let mut env = Env::start_setup(|s| {
            s.serve.shutdown_grace = Duration::from_secs(3);
            s.server.concurrency = 64;
        })
        .await;
        // 25 streams that finish within the grace period (about 2 s long), 25 that do not
        // (about 20 s), all started before the signal.
        let starts = (0..50).map(|i| {
            let marker = if i % 2 == 0 {
                "sim:slow:100"
            } else {
                "sim:deltas:60 sim:slow:300"
            };
            let env = &env;
            async move { (i % 2 == 0, env.chat(user(marker, true)).await) }
        });
        let streams = futures::future::join_all(starts).await;
        for (_, resp) in &streams {
            assert_eq!(resp.status(), 200);
        }
        env.shutdown();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            TcpStream::connect(env.addr).await.is_err(),
            "no new connection after the signal"
        );
        let mut finished = 0;
        let mut ended_in_band = 0;
        for (fast, resp) in streams {
            let body = resp.text().await.expect("the body ends cleanly");
            if body.ends_with("data: [DONE]\n\n") {
                assert!(
                    fast,
                    "a slow stream cannot have finished within the grace period: {body}"
                );
                finished += 1;
            } else {
                let last = json_frames(&body).pop().expect("a last frame");
                assert_eq!(last["error"]["code"], "server_shutting_down", "{body}");
                ended_in_band += 1;
            }
        }
        assert_eq!((finished, ended_in_band), (25, 25));
        env.stopped().await;
    })
    .await;
}
