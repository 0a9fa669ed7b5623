//! What every upstream route shares: the `--concurrency` bound (chat, responses and compact
//! alike; the simulator reports how many answers it was giving at once) and the same answer
//! for a dead login on every route.

use serde_json::{json, Value};

use crate::chat::{user, within, Env};

/// Two slow requests of each upstream route at once; returns the simulator's stats after.
async fn six_slow_requests(env: &Env) -> Value {
    let chat = || env.chat(user("sim:slow:150", true));
    let responses = || {
        env.post(
            "/v1/responses",
            json!({"model": "gpt-5.4", "stream": true, "input": "sim:slow:150"}),
        )
    };
    let compact = || {
        env.post(
            "/v1/responses/compact",
            json!({"model": "gpt-5.4", "input": [{"role": "user", "content": "sim:slow:600"}]}),
        )
    };
    let (a, b, c, d, e, f) = tokio::join!(
        chat(),
        chat(),
        responses(),
        responses(),
        compact(),
        compact()
    );
    for resp in [a, b, c, d, e, f] {
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.expect("body");
        assert!(!body.is_empty());
        assert!(
            !body.contains("{\"error\":{") && !body.contains("\"type\":\"error\""),
            "{body}"
        );
    }
    env.stats().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_chat_responses_and_compact_and_waiting_requests_complete() {
    within(async {
        let env = Env::start_full(|_| {}, |s| s.concurrency = 2).await;
        let stats = six_slow_requests(&env).await;
        assert_eq!(stats["in_flight"], 0, "{stats}");
        assert_eq!(
            stats["max_in_flight"], 2,
            "at most --concurrency at once: {stats}"
        );
        assert_eq!(stats["streams_finished"], 4, "{stats}");
        assert_eq!(stats["compactions"], 2, "{stats}");

        // The bound is the proxy's: with a larger limit the simulator sees them all at once.
        let env = Env::start_full(|_| {}, |s| s.concurrency = 16).await;
        let stats = six_slow_requests(&env).await;
        assert!(stats["max_in_flight"].as_u64() > Some(2), "{stats}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_login_is_the_same_401_on_every_route() {
    within(async {
        let env = Env::start().await;
        std::fs::remove_file(env.backend.auth_file()).expect("remove auth.json");
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(
                std::fs::read(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../testdata/audio/en.silk"
                ))
                .expect("fixture"),
            )
            .file_name("en.silk"),
        );
        let transcription = env
            .http
            .post(format!("{}/v1/audio/transcriptions", env.base))
            .multipart(form)
            .send()
            .await
            .expect("send");
        let answers = [
            env.chat(user("hi", true)).await,
            env.chat(user("hi", false)).await,
            env.post("/v1/responses", json!({"model": "gpt-5.4", "input": "hi"}))
                .await,
            env.post(
                "/v1/responses/compact",
                json!({"model": "gpt-5.4", "input": "hi"}),
            )
            .await,
            transcription,
        ];
        for resp in answers {
            let url = resp.url().path().to_owned();
            assert_eq!(resp.status(), 401, "{url}");
            let v: Value = resp.json().await.expect("json");
            assert_eq!(v["error"]["type"], "authentication_error", "{url}: {v}");
            assert_eq!(v["error"]["code"], "upstream_login_required", "{url}: {v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("codex login")),
                "{url}: {v}"
            );
        }
    })
    .await;
}
