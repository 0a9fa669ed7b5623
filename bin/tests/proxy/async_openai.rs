//! `async-openai` 0.43, the strictest OpenAI client (it deserializes every chunk into typed
//! structs: `id`, `object`, `created: u32`, `model`, `choices` required; `usage` required on
//! transcriptions), against the whole `codex-pipe-proxy` app over the simulated backend.

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::audio::{AudioInput, AudioResponseFormat, CreateTranscriptionRequestArgs};
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionStreamOptions, ChatCompletionTool,
    ChatCompletionTools, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
    FunctionObjectArgs,
};
use async_openai::Client;
use codex_pipe::server::{router, ApiKeyPolicy, AppState, ServerConfig, SimBackend};
use codex_pipe::sim::SimConfig;
use codex_pipe::upstream::{http_client, HttpConfig};
use codex_pipe_protocols::models::ModelCatalog;
use futures::StreamExt;

const LIMIT: Duration = Duration::from_secs(60);

struct Proxy {
    _sim: SimBackend,
    client: Client<OpenAIConfig>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn proxy() -> Proxy {
    let sim = SimBackend::start(SimConfig::default()).await.expect("sim");
    let http = http_client(&HttpConfig::default()).expect("client");
    let auth = sim.auth_source().build(http.clone()).expect("auth");
    let state = AppState::build(
        ServerConfig::new(ApiKeyPolicy::Required("sk-test".into())),
        http,
        auth,
        sim.responses_base_url(),
        sim.transcribe_url(),
        ModelCatalog::builtin("gpt-5.4"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router(state)).await;
    });
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(base)
            .with_api_key("sk-test"),
    );
    Proxy {
        _sim: sim,
        client,
        server,
    }
}

fn chat(text: &str, stream: bool) -> CreateChatCompletionRequest {
    let mut args = CreateChatCompletionRequestArgs::default();
    args.model("gpt-5.4")
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content(text)
            .build()
            .expect("message")
            .into()]);
    if stream {
        args.stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    args.build().expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_parse_in_async_openai() {
    let p = proxy().await;
    // Non-streaming.
    let response = tokio::time::timeout(LIMIT, p.client.chat().create(chat("hello", false)))
        .await
        .expect("in time")
        .expect("typed response");
    let text = response.choices[0]
        .message
        .content
        .clone()
        .expect("content");
    assert!(!text.is_empty());
    assert!(response.usage.is_some());

    // Streaming: every chunk deserializes; the text is the same; usage comes last.
    let mut stream = p
        .client
        .chat()
        .create_stream(chat("hello", true))
        .await
        .expect("stream");
    let (mut streamed, mut usage, mut finish) = (String::new(), None, None);
    while let Some(chunk) = tokio::time::timeout(LIMIT, stream.next())
        .await
        .expect("in time")
    {
        let chunk = chunk.expect("chunk parses in async-openai");
        for choice in &chunk.choices {
            if let Some(t) = &choice.delta.content {
                streamed.push_str(t);
            }
            if choice.finish_reason.is_some() {
                finish = choice.finish_reason;
            }
        }
        if chunk.usage.is_some() {
            usage = chunk.usage;
        }
    }
    assert_eq!(streamed, text);
    assert!(finish.is_some(), "a finish_reason");
    assert!(usage.expect("include_usage chunk").total_tokens > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tool_calls_and_errors_in_async_openai() {
    let p = proxy().await;
    let tool = |name: &str| {
        ChatCompletionTools::Function(ChatCompletionTool {
            function: FunctionObjectArgs::default()
                .name(name)
                .parameters(serde_json::json!({
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"]
                }))
                .build()
                .expect("function"),
        })
    };
    let mut req = chat("weather twice sim:parallel_tools", false);
    req.tools = Some(vec![tool("get_weather"), tool("get_time")]);
    let response = tokio::time::timeout(LIMIT, p.client.chat().create(req))
        .await
        .expect("in time")
        .expect("typed response");
    let calls = response.choices[0]
        .message
        .tool_calls
        .clone()
        .expect("tool calls");
    assert_eq!(calls.len(), 2, "{calls:?}");

    // An upstream rate limit before the first byte is an HTTP error async-openai types.
    let err = tokio::time::timeout(
        LIMIT,
        p.client
            .chat()
            .create(chat("hi sim:failed_rate_limit", false)),
    )
    .await
    .expect("in time")
    .expect_err("rate limited");
    match err {
        OpenAIError::ApiError(e) => assert!(e.api_error.message.contains("try again"), "{e:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcriptions_parse_in_async_openai() {
    let p = proxy().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audio/en.silk");
    let request = |format: AudioResponseFormat| {
        CreateTranscriptionRequestArgs::default()
            .response_format(format)
            .file(AudioInput::from_vec_u8(
                "voice.silk".into(),
                std::fs::read(&path).expect("fixture"),
            ))
            .model("whisper-1")
            .build()
            .expect("request")
    };
    let json = tokio::time::timeout(
        LIMIT,
        p.client
            .audio()
            .transcription()
            .create(request(AudioResponseFormat::Json)),
    )
    .await
    .expect("in time")
    .expect("json with usage parses");
    assert!(
        json.text.contains("silk") || json.text.contains("ogg_opus"),
        "{}",
        json.text
    );
    let verbose = tokio::time::timeout(
        LIMIT,
        p.client
            .audio()
            .transcription()
            .create_verbose_json(request(AudioResponseFormat::VerboseJson)),
    )
    .await
    .expect("in time")
    .expect("verbose_json parses");
    assert!(
        (verbose.duration - 3.72).abs() < 0.1,
        "{}",
        verbose.duration
    );
    assert_eq!(verbose.text, json.text);
}
