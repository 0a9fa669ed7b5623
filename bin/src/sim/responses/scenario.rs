//! Scenario selection (markers in the last user message, module docs of `sim::responses`) and
//! the event scripts each scenario plays.

use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

use super::script::{chunks, sample, words, Script, SIM_TEXT};
use super::DEFAULT_SLOW_DELAY;

/// The scenario a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scenario {
    Text,
    Reasoning,
    Tool,
    ReasoningTool,
    ParallelTools,
    ArgsOnDone,
    EmptyCompletedOutput,
    FailedContext,
    FailedRateLimit,
    Incomplete,
    ErrorEvent,
    Http429,
    Http500,
    Flaky,
    PrematureClose,
    Echo,
    ToolResult,
    Json,
    Hang,
    ThinkTool,
    BashEcho,
    WebSearch,
    SilentReasoning,
}

const MARKERS: &[(&str, Scenario)] = &[
    ("text", Scenario::Text),
    ("reasoning", Scenario::Reasoning),
    ("tool", Scenario::Tool),
    ("reasoning_tool", Scenario::ReasoningTool),
    ("parallel_tools", Scenario::ParallelTools),
    ("args_on_done", Scenario::ArgsOnDone),
    ("empty_completed_output", Scenario::EmptyCompletedOutput),
    ("failed_context", Scenario::FailedContext),
    ("failed_rate_limit", Scenario::FailedRateLimit),
    ("incomplete", Scenario::Incomplete),
    ("error_event", Scenario::ErrorEvent),
    ("http_429", Scenario::Http429),
    ("http_500", Scenario::Http500),
    ("flaky", Scenario::Flaky),
    ("premature_close", Scenario::PrematureClose),
    ("echo", Scenario::Echo),
    ("hang", Scenario::Hang),
    ("think_tool", Scenario::ThinkTool),
    ("bash_echo", Scenario::BashEcho),
    ("web_search", Scenario::WebSearch),
];

/// The command `sim:bash_echo` asks a `Bash` tool to run, and what it prints: the quotes make
/// the output differ from the command text, so seeing the output proves the command ran.
pub(super) const BASH_ECHO_COMMAND: &str = "echo sim-\"bash\"-ok";
/// The output of [`BASH_ECHO_COMMAND`].
pub const BASH_ECHO_OUTPUT: &str = "sim-bash-ok";

/// Default silence of `sim:silent_reasoning`, longer than the proxy's 15 s keep-alive.
pub(super) const DEFAULT_SILENCE: Duration = Duration::from_secs(20);

/// The text of the last user message (string content or `input_text` / `text` parts).
fn last_user_text(input: &[Value]) -> String {
    let Some(msg) = input.iter().rev().find(|item| {
        item.get("role").and_then(Value::as_str) == Some("user")
            && item
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "message")
    }) else {
        return String::new();
    };
    match msg.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// `(scenario, delay between events)` from the markers in `text`; `sim:silent_reasoning:<ms>`
/// also sets the silence (see [`silence`]).
fn markers(text: &str) -> (Option<Scenario>, Option<Duration>) {
    let mut scenario = None;
    let mut delay = None;
    for (pos, _) in text.match_indices("sim:") {
        let token: &str = &text[pos + 4..];
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(token.len());
        let token = &token[..end];
        if let Some(rest) = token.strip_prefix("slow") {
            let ms = rest.strip_prefix(':').and_then(|ms| ms.parse::<u64>().ok());
            delay = Some(ms.map_or(DEFAULT_SLOW_DELAY, Duration::from_millis));
            continue;
        }
        if token.starts_with("silent_reasoning") && scenario.is_none() {
            scenario = Some(Scenario::SilentReasoning);
            continue;
        }
        if scenario.is_none() {
            scenario = MARKERS
                .iter()
                .find(|(name, _)| *name == token)
                .map(|(_, s)| *s);
        }
    }
    (scenario, delay)
}

/// The silence of `sim:silent_reasoning[:<ms>]` in `text` ([`DEFAULT_SILENCE`] without `<ms>`).
fn silence(text: &str) -> Duration {
    text.split("sim:silent_reasoning:")
        .nth(1)
        .and_then(|rest| {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..end].parse::<u64>().ok()
        })
        .map_or(DEFAULT_SILENCE, Duration::from_millis)
}

/// The trailing `function_call_output` items of `input`: `(call_id, output text)`.
fn trailing_outputs(input: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = input
        .iter()
        .rev()
        .take_while(|i| i.get("type").and_then(Value::as_str) == Some("function_call_output"))
        .map(|i| {
            let id = i
                .get("call_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let output = match i.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            (id, output)
        })
        .collect();
    out.reverse();
    out
}

fn function_tools(obj: &Map<String, Value>) -> Vec<(String, Value)> {
    obj.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_owned();
            Some((name, t.get("parameters").cloned().unwrap_or(Value::Null)))
        })
        .collect()
}

/// What to answer a request with.
pub(super) struct Plan {
    pub scenario: Scenario,
    /// Delay between events (`sim:slow`).
    pub delay: Option<Duration>,
    /// `sim:deltas:<n>`: the text answer comes in `n` deltas (for throughput benchmarks).
    pub deltas: Option<usize>,
    /// Declared function tools: `(name, parameters schema)`.
    pub tools: Vec<(String, Value)>,
    /// Trailing tool outputs: `(call_id, output)`.
    pub outputs: Vec<(String, String)>,
    /// `text.format.schema` of a `json_schema` format.
    pub json_schema: Option<Value>,
    /// The request declares the backend's `web_search` tool.
    pub web_search: bool,
    /// Silence of `sim:silent_reasoning`, after the reasoning item opens.
    pub silence: Duration,
}

/// Chooses the scenario for a validated request (module docs of `sim::responses`).
pub(super) fn plan(obj: &Map<String, Value>) -> Plan {
    let input = obj
        .get("input")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text = last_user_text(input);
    let (marker, delay) = markers(&text);
    let deltas = text.find("sim:deltas:").and_then(|pos| {
        let digits: String = text[pos + 11..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<usize>().ok().map(|n| n.clamp(1, 100_000))
    });
    let web_search = obj
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| t.get("type").and_then(Value::as_str) == Some("web_search"));
    let tools = function_tools(obj);
    let outputs = trailing_outputs(input);
    let json_schema = obj
        .get("text")
        .and_then(|t| t.get("format"))
        .filter(|f| f.get("type").and_then(Value::as_str) == Some("json_schema"))
        .map(|f| f.get("schema").cloned().unwrap_or(Value::Null));
    let scenario = if !tools.is_empty() && !outputs.is_empty() {
        Scenario::ToolResult
    } else if let Some(s) = marker {
        s
    } else if json_schema.is_some() {
        Scenario::Json
    } else {
        Scenario::Text
    };
    Plan {
        scenario,
        delay,
        deltas,
        tools,
        outputs,
        json_schema,
        web_search,
        silence: silence(&text),
    }
}

/// Writes the frames of `plan` for the request `obj` (received with `headers`).
pub(super) fn play(s: &mut Script, plan: &Plan, headers: &HeaderMap, obj: &Map<String, Value>) {
    let Plan {
        scenario,
        tools,
        outputs,
        json_schema,
        web_search,
        silence,
        ..
    } = plan;
    let json_schema = json_schema.as_ref();
    s.start();
    let text_answer = |s: &mut Script, text: &str, pieces: Vec<&str>| {
        let item = s.message(0, &pieces, true);
        let usage = s.usage(text.chars().count(), 0);
        s.completed(vec![item], usage);
    };
    match *scenario {
        Scenario::Text if plan.deltas.is_some() => {
            let n = plan.deltas.unwrap_or(1);
            let pieces: Vec<&str> = (0..n).map(|i| ["lorem ", "ipsum "][i % 2]).collect();
            text_answer(s, &pieces.concat(), pieces);
        }
        Scenario::Text
        | Scenario::Flaky
        | Scenario::Http429
        | Scenario::Http500
        | Scenario::Hang => {
            text_answer(s, SIM_TEXT, words(SIM_TEXT));
        }
        Scenario::Reasoning => {
            let rs = s.reasoning(
                0,
                &[
                    &["**Thinking it over**\n\n", "The user wants ", "a greeting."],
                    &["**Answering**\n\n", "A short hello will do."],
                ],
            );
            let msg = s.message(1, &words(SIM_TEXT), true);
            let usage = s.usage(SIM_TEXT.chars().count(), 12);
            s.completed(vec![rs, msg], usage);
        }
        Scenario::Tool
        | Scenario::ReasoningTool
        | Scenario::ParallelTools
        | Scenario::ArgsOnDone
        | Scenario::ThinkTool
            if tools.is_empty() =>
        {
            let text = "The simulated backend needs a declared function tool for this scenario.";
            text_answer(s, text, words(text));
        }
        Scenario::Tool => {
            let (name, params) = &tools[0];
            let args = sample(params, 0).to_string();
            s.call_added(0, name);
            for piece in chunks(&args, args.len().div_ceil(3).max(1)) {
                s.call_delta(0, piece);
            }
            let item = s.call_done(0, name, &args);
            let usage = s.usage(args.len(), 0);
            s.completed(vec![item], usage);
        }
        Scenario::ReasoningTool | Scenario::ThinkTool => {
            let (name, params) = &tools[0];
            let rs = s.reasoning(0, &[&["**Choosing a tool**\n\n", "A call is needed."]]);
            let args = sample(params, 0).to_string();
            s.call_added(1, name);
            s.call_delta(1, &args);
            let item = s.call_done(1, name, &args);
            let usage = s.usage(args.len(), 8);
            s.completed(vec![rs, item], usage);
        }
        Scenario::BashEcho if !tools.iter().any(|(name, _)| name == "Bash") => {
            let text = "The simulated backend needs a tool named Bash for sim:bash_echo.";
            text_answer(s, text, words(text));
        }
        Scenario::BashEcho => {
            let rs = s.reasoning(0, &[&["**Running it**\n\n", "Echo the marker."]]);
            let args = json!({"command": BASH_ECHO_COMMAND, "description": "Print a marker"})
                .to_string();
            s.call_added(1, "Bash");
            for piece in chunks(&args, 16) {
                s.call_delta(1, piece);
            }
            let item = s.call_done(1, "Bash", &args);
            let usage = s.usage(args.len(), 6);
            s.completed(vec![rs, item], usage);
        }
        Scenario::WebSearch if !*web_search => {
            let text = "The simulated backend needs the web_search tool for sim:web_search.";
            text_answer(s, text, words(text));
        }
        Scenario::WebSearch => {
            let search = s.web_search(0, "codex-pipe simulator");
            let text = "The search found the codex-pipe simulator.";
            let msg = s.message(1, &words(text), true);
            let usage = s.usage(text.len(), 0);
            s.completed(vec![search, msg], usage);
        }
        Scenario::SilentReasoning => {
            let rs = s.reasoning_with_silence(0, *silence, &[&["**Thought for a long time**"]]);
            let msg = s.message(1, &words(SIM_TEXT), true);
            let usage = s.usage(SIM_TEXT.chars().count(), 400);
            s.completed(vec![rs, msg], usage);
        }
        Scenario::ParallelTools => {
            let first = &tools[0];
            let second = tools.get(1).unwrap_or(first);
            let a = sample(&first.1, 0).to_string();
            let b = sample(&second.1, 1).to_string();
            let (a1, a2) = a.split_at(a.len() / 2);
            let (b1, b2) = b.split_at(b.len() / 2);
            s.call_added(0, &first.0);
            s.call_delta(0, a1);
            s.call_added(1, &second.0);
            s.call_delta(1, b1);
            s.call_delta(0, a2);
            s.call_delta(1, b2);
            let one = s.call_done(0, &first.0, &a);
            let two = s.call_done(1, &second.0, &b);
            let usage = s.usage(a.len() + b.len(), 0);
            s.completed(vec![one, two], usage);
        }
        Scenario::ArgsOnDone => {
            let (name, params) = &tools[0];
            let args = sample(params, 0).to_string();
            s.call_added(0, name);
            let item = s.call_done(0, name, &args);
            let usage = s.usage(args.len(), 0);
            s.completed(vec![item], usage);
        }
        Scenario::EmptyCompletedOutput => {
            s.message(0, &words(SIM_TEXT), true);
            let usage = json!({"input_tokens": 10, "input_tokens_details": null,
                "output_tokens": 20, "output_tokens_details": null, "total_tokens": 30});
            s.completed(vec![], usage);
        }
        Scenario::FailedContext => s.failed(
            "context_length_exceeded",
            "Your input exceeds the context window of this model. Please adjust your input and try again.",
        ),
        Scenario::FailedRateLimit => s.failed(
            "rate_limit_exceeded",
            "Rate limit reached for the simulated model on tokens per min (TPM): Limit 30000, Used 29800, Requested 900. Please try again in 1.5s.",
        ),
        Scenario::Incomplete => {
            let item = s.message(0, &["Once upon", " a time, there"], false);
            let usage = s.usage(22, 0);
            s.incomplete(vec![item], usage, "max_output_tokens");
        }
        Scenario::ErrorEvent => {
            s.message(0, &["Partial", " answer"], false);
            s.error("server_error", "server_error", "An error occurred while processing your request.");
        }
        Scenario::PrematureClose => {
            s.message(0, &["This answer is ", "cut off"], false);
        }
        Scenario::Echo => {
            let mut seen = Map::new();
            for name in [
                "originator",
                "user-agent",
                "version",
                "session_id",
                "x-openai-subagent",
                "accept",
                "content-type",
                "chatgpt-account-id",
            ] {
                if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
                    seen.insert(name.to_owned(), v.into());
                }
            }
            let text = json!({"headers": seen, "body": obj}).to_string();
            text_answer(s, &text, chunks(&text, 64));
        }
        Scenario::ToolResult => {
            let quoted: Vec<String> = outputs.iter().map(|(id, out)| format!("{id}: {out}")).collect();
            let text = format!("Tool output received: {}", quoted.join("; "));
            text_answer(s, &text, words(&text));
        }
        Scenario::Json => {
            let text = sample(json_schema.unwrap_or(&Value::Null), 0).to_string();
            text_answer(s, &text, chunks(&text, 8));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_pick_scenario_and_delay() {
        assert_eq!(markers("hi"), (None, None));
        assert_eq!(markers("sim:tool please"), (Some(Scenario::Tool), None));
        assert_eq!(
            markers("sim:slow:250 sim:parallel_tools"),
            (
                Some(Scenario::ParallelTools),
                Some(Duration::from_millis(250))
            )
        );
        assert_eq!(markers("sim:slow."), (None, Some(DEFAULT_SLOW_DELAY)));
        assert_eq!(
            markers("sim:silent_reasoning:250"),
            (Some(Scenario::SilentReasoning), None)
        );
        assert_eq!(
            silence("sim:silent_reasoning:250 go"),
            Duration::from_millis(250)
        );
        assert_eq!(silence("sim:silent_reasoning"), DEFAULT_SILENCE);
        assert_eq!(
            markers("sim:nonsense sim:echo"),
            (Some(Scenario::Echo), None)
        );
    }

    #[test]
    fn trailing_outputs_are_quoted_in_order() {
        let input = vec![
            json!({"role":"user","content":"sim:parallel_tools"}),
            json!({"type":"function_call","call_id":"a","name":"f","arguments":"{}"}),
            json!({"type":"function_call_output","call_id":"a","output":"one"}),
            json!({"type":"function_call_output","call_id":"b","output":"two"}),
        ];
        assert_eq!(
            trailing_outputs(&input),
            vec![("a".into(), "one".into()), ("b".into(), "two".into())]
        );
        assert_eq!(last_user_text(&input), "sim:parallel_tools");
    }
}
