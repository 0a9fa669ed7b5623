//! `/v1/responses` passthrough, compaction, models, and the official OpenAI Python SDK.

use codex_pipe::auth::AuthSource;
use codex_pipe::sim::responses::{responses_base_url, SIM_TEXT};
use serde_json::{json, Value};

use super::{json_frames, within, Env};

/// Replaces the per-response counter in simulated ids (`sim000001`) so two runs compare equal.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("sim") {
        out.push_str(&rest[..pos + 3]);
        rest = &rest[pos + 3..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 6 {
            out.push_str("NNNNNN");
            rest = &rest[6..];
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_passthrough_forwards_events_unchanged() {
    within(async {
        let env = Env::start().await;
        let long_name = format!("mcp__server__{}", "x".repeat(70));
        let tool = |name: &str| json!({"type": "function", "name": name, "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}});
        let req = json!({"model": "gpt-5.4", "stream": true, "input": "sim:parallel_tools", "max_output_tokens": 10,
                         "tools": [tool("get_weather"), tool(&long_name)]});
        let resp = env.post("/v1/responses", req.clone()).await;
        assert_eq!(resp.status(), 200);
        let proxied = resp.text().await.expect("body");

        // The same fixed-up request sent straight to the simulator.
        let fixed = codex_pipe_protocols::responses::fixup_responses_request(req.to_string().as_bytes()).expect("fixup");
        let auth = AuthSource { auth_file: Some(env.backend.auth_file()), ..AuthSource::default() }
            .build(env.http.clone())
            .expect("auth");
        let creds = auth.credentials().await.expect("creds");
        let direct = creds
            .apply(env.http.post(format!("{}/responses", responses_base_url(&env.backend.sim.base_url()))).body(fixed.body))
            .send()
            .await
            .expect("direct");
        assert_eq!(direct.status(), 200);
        let direct = direct.text().await.expect("body");
        let mut names = fixed.tool_names.clone();
        let short_name = names.shorten(&long_name);
        assert!(direct.contains(&short_name) && !direct.contains(&long_name));
        // Byte for byte the same stream, except for the restored tool name.
        assert_eq!(normalize(&proxied), normalize(&direct.replace(&short_name, &long_name)));
        let names: Vec<Value> = json_frames(&proxied).iter().filter(|f| f["type"] == "response.output_item.added").map(|f| f["item"]["name"].clone()).collect();
        assert_eq!(names, vec![json!("get_weather"), json!(long_name)]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_non_streaming_compact_and_models() {
    within(async {
        let env = Env::start().await;
        let resp = env.post("/v1/responses", json!({"model": "gpt-5.4", "input": "sim:empty_completed_output"})).await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["object"], "response");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["output"][0]["content"][0]["text"], SIM_TEXT, "output rebuilt from output_item.done");

        let resp = env.post("/v1/responses", json!({"model": "gpt-5.4", "input": "sim:failed_rate_limit"})).await;
        assert_eq!(resp.status(), 429);
        // The backend's own 400 for an orphan call reaches the client as an OpenAI 400.
        let orphan = json!({"model": "gpt-5.4", "input": [{"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]});
        let resp = env.post("/v1/responses", orphan).await;
        assert_eq!(resp.status(), 400);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["message"], "No tool output found for function call c1.");

        let resp = env.post("/v1/responses/compact", json!({"model": "gpt-5.4", "input": "summarize", "store": false})).await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["output"][0]["type"], "compaction");

        let resp = env.post("/v1/responses", json!({"model": "gpt-5.4", "input": "sim:premature_close", "stream": true})).await;
        let frames = json_frames(&resp.text().await.expect("body"));
        let last = frames.last().expect("last");
        assert_eq!((last["type"].as_str(), last["code"].as_str()), (Some("error"), Some("stream_closed")));
        assert_eq!(last["error"]["message"], "stream closed before response.completed");

        let v: Value = env.http.get(format!("{}/v1/models", env.base)).send().await.expect("models").json().await.expect("json");
        assert_eq!(v["object"], "list");
        assert!(v["data"].as_array().expect("data").iter().any(|m| m["id"] == "gpt-5.4" && m["object"] == "model"));
    })
    .await;
}

/// Runs `bin/tests/sdk/<script>` against a new proxy ([`crate::gemini::run_python`]).
async fn run_sdk_script(script: &str) {
    let env = Env::start().await;
    crate::gemini::run_python(script, &[format!("{}/v1", env.base)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_chat() {
    run_sdk_script("chat.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_responses() {
    run_sdk_script("chat_responses.py").await;
}
