//! The account pool against the simulated backend: three logins in one process (spread, sticky,
//! 429 → another account, all cooling → 429 with the earliest reset, 401 → one refresh for that
//! account, 403 → disabled), then two "processes" (separate pools, separate copies of the login
//! files) sharing a real `redis-server` started on a free loopback port ([`redis`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codex_pipe::accounts::{load, AccountPool, PoolConfig, PoolError, RedisStore, Strategy};
use codex_pipe::auth::AuthSource;
use codex_pipe::sim::oauth::SimRefusal;
use codex_pipe::sim::responses::responses_base_url;
use codex_pipe::sim::{Sim, SimConfig};
use codex_pipe::upstream::responses::{
    ResponsesClient, ResponsesConfig, UpstreamError, UpstreamRequest,
};
use codex_pipe::upstream::{http_client, HttpConfig};
use futures::StreamExt;
use serde_json::json;

#[path = "accounts/redis.rs"]
mod redis;
#[path = "support/redis_server.rs"]
mod redis_server;

/// Upper bound for any single test.
const LIMIT: Duration = Duration::from_secs(60);

/// The three simulated accounts: (file name = account name, ChatGPT account id).
const ACCOUNTS: [(&str, &str); 3] = [("a", "acct-a"), ("b", "acct-b"), ("c", "acct-c")];

/// The simulator with three accounts and their login files in one directory.
struct Backend {
    sim: Sim,
    dir: tempfile::TempDir,
}

impl Backend {
    async fn start() -> Backend {
        let sim = Sim::start("127.0.0.1:0".parse().expect("addr"), SimConfig::default())
            .await
            .expect("sim");
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, id) in ACCOUNTS {
            sim.auth().add_account(id, &format!("{name}@sim.invalid"));
            sim.auth()
                .write_account_auth_json(id, &dir.path().join(format!("{name}.json")))
                .expect("login");
        }
        Backend { sim, dir }
    }

    /// A copy of the login directory (another machine's files).
    fn copy_dir(&self) -> tempfile::TempDir {
        let copy = tempfile::tempdir().expect("tempdir");
        for (name, _) in ACCOUNTS {
            let f = format!("{name}.json");
            std::fs::copy(self.dir.path().join(&f), copy.path().join(&f)).expect("copy");
        }
        copy
    }

    /// A pool of the logins in `dir` (only `only` when given).
    fn pool(&self, dir: &Path, only: Option<&str>, config: PoolConfig) -> AccountPool {
        let http = http_client(&HttpConfig::default()).expect("http");
        let base = AuthSource {
            refresh_url: Some(self.sim.refresh_url()),
            ..AuthSource::default()
        };
        let specs = match only {
            Some(name) => load::specs(&base, &[dir.join(format!("{name}.json"))], None),
            None => load::specs(&base, &[], Some(dir)),
        }
        .expect("specs");
        AccountPool::from_specs(specs, &http, config).expect("pool")
    }

    /// A client over a pool of the logins in `dir` (only `only` when given).
    fn client(&self, dir: &Path, only: Option<&str>, config: PoolConfig) -> ResponsesClient {
        let http = http_client(&HttpConfig::default()).expect("http");
        let pool = self.pool(dir, only, config);
        let config = ResponsesConfig {
            base_url: responses_base_url(&self.sim.base_url()),
            retry_backoff: Duration::from_millis(20),
            ..ResponsesConfig::default()
        };
        ResponsesClient::with_pool(http, pool, config)
    }

    fn accepted(&self) -> Vec<usize> {
        ACCOUNTS
            .iter()
            .map(|(_, id)| self.sim.auth().accepted_count(id))
            .collect()
    }
}

fn strategy(s: Strategy) -> PoolConfig {
    PoolConfig {
        strategy: s,
        ..PoolConfig::default()
    }
}

fn request(conversation: Option<&str>) -> UpstreamRequest {
    let body = json!({
        "model": "gpt-5.4", "instructions": "be brief", "store": false, "stream": true,
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": "hello sim:text"}]}],
    });
    UpstreamRequest {
        body: Bytes::from(body.to_string()),
        session_id: conversation.map(str::to_owned),
        subagent: None,
    }
}

/// Sends one request, reads the whole answer, returns the account that served it.
async fn ask(
    client: &ResponsesClient,
    conversation: Option<&str>,
) -> Result<String, UpstreamError> {
    let mut stream = client.stream(&request(conversation)).await?;
    let mut text = Vec::new();
    while let Some(chunk) = stream.body.next().await {
        text.extend_from_slice(&chunk?);
    }
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("response.completed"), "{text}");
    Ok(stream.account.to_string())
}

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test timed out")
}

#[tokio::test]
async fn round_robin_and_least_used_spread_requests_evenly() {
    within(async {
        let backend = Backend::start().await;
        let rr = backend.client(backend.dir.path(), None, strategy(Strategy::RoundRobin));
        let mut served = Vec::new();
        for _ in 0..6 {
            served.push(ask(&rr, None).await.expect("answer"));
        }
        assert_eq!(served, ["a", "b", "c", "a", "b", "c"]);
        assert_eq!(backend.accepted(), [2, 2, 2]);

        let lu = backend.client(backend.dir.path(), None, strategy(Strategy::LeastUsed));
        for _ in 0..9 {
            ask(&lu, Some("conversation keys do not matter here"))
                .await
                .expect("answer");
        }
        assert_eq!(backend.accepted(), [5, 5, 5]);
    })
    .await;
}

#[tokio::test]
async fn sticky_keeps_a_conversation_and_moves_it_when_its_account_cools_down() {
    within(async {
        let backend = Backend::start().await;
        let client = backend.client(backend.dir.path(), None, PoolConfig::default());
        let first = ask(&client, Some("conv-1")).await.expect("answer");
        for _ in 0..3 {
            assert_eq!(ask(&client, Some("conv-1")).await.expect("answer"), first);
        }
        // Another conversation goes to a less used account.
        let other = ask(&client, Some("conv-2")).await.expect("answer");
        assert_ne!(other, first);

        // The conversation's account hits its limit: the request moves, transparently.
        let id = |name: &str| ACCOUNTS.iter().find(|(n, _)| *n == name).expect("name").1;
        backend.sim.auth().set_refusal(
            id(&first),
            Some(SimRefusal::UsageLimit {
                resets_in_seconds: 30,
            }),
        );
        let moved = ask(&client, Some("conv-1"))
            .await
            .expect("answer after a 429");
        assert_ne!(moved, first);
        // It stays on its new account, and the cooling one is not asked again.
        let before = backend.sim.auth().accepted_count(id(&first));
        backend.sim.auth().set_refusal(id(&first), None);
        for _ in 0..2 {
            assert_eq!(ask(&client, Some("conv-1")).await.expect("answer"), moved);
        }
        assert_eq!(backend.sim.auth().accepted_count(id(&first)), before);
        let views = client.accounts().views().await;
        let cooling = views.iter().find(|v| v.name == first).expect("view");
        assert!(cooling.cooldown_until_ms.is_some(), "{cooling:?}");
        let quota = views.iter().find(|v| v.name == moved).and_then(|v| v.quota);
        assert_eq!(quota.and_then(|q| q.primary.used_percent), Some(12.5));
    })
    .await;
}

#[tokio::test]
async fn every_account_cooling_down_is_a_429_with_the_earliest_reset() {
    within(async {
        let backend = Backend::start().await;
        let client = backend.client(backend.dir.path(), None, strategy(Strategy::RoundRobin));
        for ((_, id), secs) in ACCOUNTS.iter().zip([30, 10, 20]) {
            backend.sim.auth().set_refusal(
                id,
                Some(SimRefusal::UsageLimit {
                    resets_in_seconds: secs,
                }),
            );
        }
        let err = ask(&client, None).await.expect_err("all limited");
        let UpstreamError::Accounts(PoolError::AllCoolingDown { retry_after, .. }) = &err else {
            panic!("expected every account cooling down, got {err:?}")
        };
        assert!(
            *retry_after > Duration::from_secs(8) && *retry_after <= Duration::from_secs(10),
            "{retry_after:?}"
        );
        let openai = codex_pipe_protocols::Protocol::OpenAi
            .error_response(&codex_pipe_protocols::ApiError::from(err.failure()));
        assert_eq!(openai.status, 429);
        assert_eq!(openai.retry_after_secs, Some(10));
        // The next request is answered by the pool without asking the backend.
        let stats = || async {
            let url = format!("{}/backend-api/codex/sim/stats", backend.sim.base_url());
            let v: serde_json::Value = reqwest::get(url)
                .await
                .expect("stats")
                .json()
                .await
                .expect("json");
            v["requests"].as_u64().expect("requests")
        };
        let before = stats().await;
        assert!(matches!(
            ask(&client, None).await,
            Err(UpstreamError::Accounts(PoolError::AllCoolingDown { .. }))
        ));
        assert_eq!(stats().await, before);
    })
    .await;
}

#[tokio::test]
async fn a_401_refreshes_that_account_once_and_a_403_disables_without_refresh() {
    within(async {
        let backend = Backend::start().await;
        let client =
            Arc::new(backend.client(backend.dir.path(), None, strategy(Strategy::RoundRobin)));
        backend.sim.auth().expire_account_tokens("acct-b");
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let client = Arc::clone(&client);
                tokio::spawn(async move { ask(&client, None).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("answer");
        }
        let refreshes: Vec<_> = ACCOUNTS
            .iter()
            .map(|(_, id)| backend.sim.auth().refresh_count_for(id))
            .collect();
        assert_eq!(refreshes, [0, 1, 0]);

        backend
            .sim
            .auth()
            .set_refusal("acct-c", Some(SimRefusal::Banned));
        backend.sim.auth().expire_account_tokens("acct-a");
        backend
            .sim
            .auth()
            .set_refusal("acct-a", Some(SimRefusal::Challenge));
        let c_before = backend.sim.auth().accepted_count("acct-c");
        for _ in 0..6 {
            assert_eq!(ask(&client, None).await.expect("answer"), "b");
        }
        // acct-a answered 401 first, refreshed once, then the challenge; acct-c never refreshed.
        assert_eq!(backend.sim.auth().refresh_count_for("acct-c"), 0);
        assert_eq!(backend.sim.auth().refresh_count_for("acct-a"), 1);
        assert_eq!(backend.sim.auth().accepted_count("acct-c"), c_before);
        let views = client.accounts().views().await;
        let reason = |n: &str| {
            views
                .iter()
                .find(|v| v.name == n)
                .and_then(|v| v.disabled.clone())
                .unwrap_or_default()
        };
        assert!(reason("a").contains("Cloudflare"), "{views:?}");
        assert!(reason("c").contains("deactivated"), "{views:?}");
        assert!(reason("b").is_empty());
        // With b refused too, nothing is left: the last refusal is what the caller sees.
        backend
            .sim
            .auth()
            .set_refusal("acct-b", Some(SimRefusal::Banned));
        let err = ask(&client, None).await.expect_err("no account left");
        assert!(
            matches!(&err, UpstreamError::Status(s) if s.status == 403),
            "{err:?}"
        );
        let err = ask(&client, None).await.expect_err("no account left");
        assert!(
            matches!(err, UpstreamError::Accounts(PoolError::NoneUsable { .. })),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_limit_reported_in_the_stream_before_any_byte_moves_the_chat_to_another_account() {
    within(async {
        let backend = Backend::start().await;
        let client = backend.client(backend.dir.path(), None, strategy(Strategy::LeastUsed));
        let pool = client.accounts().clone();
        let transcriber = codex_pipe::upstream::transcribe::Transcriber::with_pool(
            http_client(&HttpConfig::default()).expect("http"),
            pool.clone(),
            "unused",
        );
        let state = codex_pipe::server::AppState::new(
            codex_pipe::server::ServerConfig::new(codex_pipe::server::ApiKeyPolicy::Open),
            client,
            transcriber,
            codex_pipe_protocols::models::ModelCatalog::builtin("gpt-5.4"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, codex_pipe::server::router(state)).await;
        });
        backend.sim.auth().set_refusal(
            "acct-a",
            Some(SimRefusal::StreamedLimit {
                retry_after_seconds: 20,
            }),
        );
        let http = reqwest::Client::new();
        for stream in [true, false] {
            let body = json!({"model": "gpt-5.4", "stream": stream,
                              "messages": [{"role": "user", "content": "hi"}]});
            let r = http
                .post(format!("{base}/v1/chat/completions"))
                .json(&body)
                .send()
                .await
                .expect("send");
            assert_eq!(r.status(), 200);
            let text = r.text().await.expect("body");
            assert!(!text.contains("rate_limit"), "{text}");
            assert!(text.contains("simulator"), "{text}");
        }
        assert_eq!(backend.accepted(), [0, 1, 1]);
        let views = pool.views().await;
        let a = views.iter().find(|v| v.name == "a").expect("a");
        let until = a.cooldown_until_ms.expect("a cools down");
        let left = until.saturating_sub(codex_pipe_now_ms());
        assert!(left > 15_000 && left <= 20_000, "{left}");
        server.abort();
    })
    .await;
}

/// The same move on every other surface (one responder helper serves them all): an in-stream
/// usage limit before the first byte is answered by another account, streamed and folded. (A
/// streamed `/v1/responses` passthrough relays `response.created` as it comes, so its limit
/// arrives after the first byte and stays in-band, as the backend sent it.)
#[tokio::test]
async fn a_limit_reported_in_the_stream_moves_every_surface_to_another_account() {
    let surfaces: [(&str, serde_json::Value); 7] = [
        (
            "/v1/responses",
            json!({"model": "gpt-5.4", "stream": false, "input": "hi"}),
        ),
        (
            "/v1/messages",
            json!({"model": "gpt-5.4", "max_tokens": 64, "stream": true,
                                "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1/messages",
            json!({"model": "gpt-5.4", "max_tokens": 64,
                                "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1beta/models/gpt-5.4:streamGenerateContent?alt=sse",
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        ),
        (
            "/v1beta/models/gpt-5.4:generateContent",
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        ),
        (
            "/api/chat",
            json!({"model": "gpt-5.4", "stream": true,
                             "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/api/chat",
            json!({"model": "gpt-5.4", "stream": false,
                             "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ];
    within(async {
        for (path, body) in surfaces {
            let backend = Backend::start().await;
            let client = backend.client(backend.dir.path(), None, strategy(Strategy::LeastUsed));
            let pool = client.accounts().clone();
            let transcriber = codex_pipe::upstream::transcribe::Transcriber::with_pool(
                http_client(&HttpConfig::default()).expect("http"),
                pool.clone(),
                "unused",
            );
            let state = codex_pipe::server::AppState::new(
                codex_pipe::server::ServerConfig::new(codex_pipe::server::ApiKeyPolicy::Open),
                client,
                transcriber,
                codex_pipe_protocols::models::ModelCatalog::builtin("gpt-5.4"),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("addr"));
            let server = tokio::spawn(async move {
                let _ = axum::serve(listener, codex_pipe::server::router(state)).await;
            });
            backend.sim.auth().set_refusal(
                "acct-a",
                Some(SimRefusal::StreamedLimit {
                    retry_after_seconds: 20,
                }),
            );
            let r = reqwest::Client::new()
                .post(format!("{base}{path}"))
                .json(&body)
                .send()
                .await
                .expect("send");
            assert_eq!(r.status(), 200, "{path} {body}");
            let text = r.text().await.expect("body");
            assert!(!text.contains("rate_limit"), "{path}: {text}");
            assert!(text.contains("simulator"), "{path}: {text}");
            assert_eq!(backend.accepted()[0], 0, "{path}");
            let views = pool.views().await;
            let a = views.iter().find(|v| v.name == "a").expect("a");
            assert!(a.cooldown_until_ms.is_some(), "{path}: a cools down");
            server.abort();
        }
    })
    .await;
}

fn codex_pipe_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcription_refused_by_one_account_is_replayed_on_another() {
    use codex_pipe::upstream::transcribe::{TranscribeError, TranscribeRequest, Transcriber};
    within(async {
        let backend = Backend::start().await;
        let pool = backend.pool(backend.dir.path(), None, strategy(Strategy::LeastUsed));
        let http = http_client(&HttpConfig::default()).expect("http");
        let transcriber = Transcriber::with_pool(http, pool, backend.sim.transcribe_url());
        let request = || {
            let path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audio/silence_3s.opus");
            TranscribeRequest {
                input: codex_pipe_codecs::Input::File(std::fs::File::open(path).expect("fixture")),
                options: codex_pipe_codecs::TranscodeOptions::default(),
                language: None,
                filename: None,
                content_type: None,
                want_duration: false,
                progress: None,
            }
        };
        backend.sim.auth().set_refusal(
            "acct-a",
            Some(SimRefusal::UsageLimit {
                resets_in_seconds: 30,
            }),
        );
        let t = transcriber
            .transcribe(request())
            .await
            .expect("transcribed on b");
        assert!(t.text.contains("ogg_opus"), "{}", t.text);
        assert_eq!(backend.accepted(), [0, 1, 0]);
        assert_eq!(backend.sim.received().len(), 1);
        for id in ["acct-b", "acct-c"] {
            backend.sim.auth().set_refusal(
                id,
                Some(SimRefusal::UsageLimit {
                    resets_in_seconds: 5,
                }),
            );
        }
        let err = transcriber
            .transcribe(request())
            .await
            .expect_err("all limited");
        assert!(
            matches!(err, TranscribeError::Accounts(PoolError::AllCoolingDown { retry_after, .. })
                if retry_after <= Duration::from_secs(5)),
            "{err:?}"
        );
        // Through the server: the OpenAI 429 with the earliest reset as Retry-After.
        let http = http_client(&HttpConfig::default()).expect("http");
        let auth = AuthSource::default().build(http.clone()).expect("auth");
        let config = codex_pipe::server::ServerConfig::new(codex_pipe::server::ApiKeyPolicy::Open);
        let responses = codex_pipe::upstream::responses::ResponsesClient::new(
            http.clone(),
            auth,
            Default::default(),
        );
        let state = codex_pipe::server::AppState::new(
            config,
            responses,
            transcriber.clone(),
            codex_pipe_protocols::models::ModelCatalog::builtin("gpt-5.4"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(codex_pipe::server::serve(
            listener,
            state,
            std::future::pending(),
            codex_pipe::server::ServeOptions::default(),
        ));
        let audio = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audio/silence_3s.opus"),
        )
        .expect("fixture");
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(audio).file_name("a.opus"),
            )
            .text("model", "whisper-1");
        let r = http
            .post(format!("{base}/v1/audio/transcriptions"))
            .multipart(form)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 429);
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("secs");
        assert!((1..=5).contains(&retry), "{retry}");
        server.abort();
    })
    .await;
}

/// A pool config sharing state through `store`.
fn shared(s: Strategy, store: RedisStore) -> PoolConfig {
    PoolConfig {
        strategy: s,
        redis: Some(store),
        ..PoolConfig::default()
    }
}
