//! The canonical request every client protocol's ingress produces and the Responses encoder
//! consumes.

use serde_json::Value;

/// One model turn, in the vocabulary of the upstream Responses API (protocols.md §1.3–1.5)
/// but independent of any wire format.
///
/// Fields a client protocol has no equivalent for stay at their `Default`. Sampling
/// parameters (`temperature`, `top_p`, `max_tokens`, `stop`…) have no field: the upstream
/// rejects them (protocols.md §1.3 "Rejected parameters"), so ingress drops them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// Model name as the client sent it, or as [`crate::models::ModelCatalog::apply`] resolved it
    /// (alias and suffixes removed), e.g. `gpt-5.4`.
    pub model: String,
    /// The system prompt (Responses `instructions`). Empty when the client gave none; the
    /// encoder still sends the field, which the backend requires.
    pub instructions: String,
    /// The whole conversation, oldest first (the backend is stateless: `store:false`).
    pub input: Vec<InputItem>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// How the model must use `tools`; `None` = upstream default (`auto`).
    pub tool_choice: Option<ToolChoice>,
    /// Whether several tool calls may come in one turn; `None` = default (true when tools exist).
    pub parallel_tool_calls: Option<bool>,
    /// Reasoning effort; `None` = the model's default.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Reasoning summary detail; `None` = `auto` unless effort is `none`.
    pub reasoning_summary: Option<ReasoningSummary>,
    /// Structured-output format (Responses `text.format`); `None` = plain text.
    pub text_format: Option<TextFormat>,
    /// Output verbosity (Responses `text.verbosity`).
    pub verbosity: Option<Verbosity>,
    /// Upstream service tier (`priority` for "fast", `flex`).
    pub service_tier: Option<ServiceTier>,
    /// Cache-affinity key (Responses `prompt_cache_key`), one per conversation
    /// (protocols.md §7 item 9).
    pub prompt_cache_key: Option<String>,
    /// Value for the `x-openai-subagent` request header (`review`, `compact`…); the binary sends
    /// it, it is not part of the body.
    pub subagent: Option<String>,
    /// Whether the client asked for a streamed answer. The upstream call always streams.
    pub stream: bool,
    /// Whether the client asked for a final usage chunk (Chat `stream_options.include_usage`).
    pub include_usage: bool,
}

/// One item of the conversation history (Responses input items, protocols.md §1.4).
#[derive(Debug, Clone, PartialEq)]
pub enum InputItem {
    /// A message with text and image parts.
    Message {
        /// Who wrote it.
        role: Role,
        /// Its parts, in order.
        content: Vec<ContentPart>,
    },
    /// A tool call the assistant made earlier.
    FunctionCall {
        /// Call id pairing it with its [`InputItem::FunctionCallOutput`].
        call_id: String,
        /// Tool name.
        name: String,
        /// Arguments as a JSON text, e.g. `{"city":"Paris"}`.
        arguments: String,
    },
    /// The result of a tool call.
    FunctionCallOutput {
        /// Call id of the [`InputItem::FunctionCall`] it answers.
        call_id: String,
        /// The result text.
        output: String,
    },
    /// A reasoning item replayed from an earlier turn.
    Reasoning {
        /// Upstream item id (`rs_…`), if known.
        id: Option<String>,
        /// Summary paragraphs.
        summary: Vec<String>,
        /// The opaque `encrypted_content` blob that lets the model resume its reasoning.
        encrypted_content: Option<String>,
    },
}

/// Author of a message. Chat `system` messages that are not hoisted into
/// [`ChatRequest::instructions`] become [`Role::Developer`] (protocols.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// The application (OpenAI `developer`, formerly `system`).
    Developer,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// Plain text.
    Text(String),
    /// An image, by URL (`https://…` or a `data:image/png;base64,…` URL).
    Image {
        /// The URL.
        url: String,
        /// OpenAI image detail: `auto`, `low` or `high`.
        detail: Option<String>,
    },
}

/// A tool the model may call. Only function tools exist in the canonical model.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Tool name as the client declared it (the encoder shortens names over 64 characters).
    pub name: String,
    /// What the tool does.
    pub description: Option<String>,
    /// JSON Schema of the arguments object.
    pub parameters: Option<Value>,
    /// OpenAI strict mode.
    pub strict: Option<bool>,
}

/// Tool choice (protocols.md §1.3 `tool_choice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool call.
    None,
    /// At least one tool call.
    Required,
    /// This function must be called.
    Function(String),
}

/// Reasoning effort, upstream values `none|minimal|low|medium|high|xhigh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasoningEffort {
    /// `none`: no reasoning.
    None,
    /// `minimal`.
    Minimal,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `xhigh`.
    XHigh,
}

impl ReasoningEffort {
    /// Every effort, lowest first.
    pub const ALL: [Self; 6] = [
        Self::None,
        Self::Minimal,
        Self::Low,
        Self::Medium,
        Self::High,
        Self::XHigh,
    ];

    /// The upstream spelling, e.g. `xhigh`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::XHigh => "xhigh",
        }
    }

    /// Parses the upstream spelling (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s))
    }
}

/// Reasoning summary detail, upstream values `auto|concise|detailed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningSummary {
    /// `auto`.
    Auto,
    /// `concise`.
    Concise,
    /// `detailed`.
    Detailed,
    /// No summary: the field is left out.
    None,
}

/// Output verbosity, upstream values `low|medium|high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
}

/// Structured-output format (Responses `text.format`).
#[derive(Debug, Clone, PartialEq)]
pub enum TextFormat {
    /// `{"type":"json_object"}`: any JSON object.
    JsonObject,
    /// `{"type":"json_schema",…}`: JSON matching `schema`.
    JsonSchema {
        /// Schema name.
        name: String,
        /// Description of the format.
        description: Option<String>,
        /// The JSON Schema.
        schema: Value,
        /// OpenAI strict mode.
        strict: Option<bool>,
    },
}

/// Upstream service tier (protocols.md §1.3 `service_tier`, §6 `-fast`/`-flex` suffixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceTier {
    /// Upstream `priority`, what clients call "fast".
    Priority,
    /// Upstream `flex`.
    Flex,
}

impl ServiceTier {
    /// The upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Priority => "priority",
            Self::Flex => "flex",
        }
    }

    /// Parses a client spelling: `fast` and `priority` → [`Self::Priority`], `flex` →
    /// [`Self::Flex`]; `auto`, `default` and anything else → `None` (upstream default).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fast" | "priority" => Some(Self::Priority),
            "flex" => Some(Self::Flex),
            _ => None,
        }
    }
}
