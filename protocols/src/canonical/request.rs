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
    /// Value for the `x-openai-subagent` request header (`review`, `compact`, `subagent`…); the
    /// binary sends it, it is not part of the body.
    pub subagent: Option<String>,
    /// Whether the client asked for a streamed answer. The upstream call always streams.
    pub stream: bool,
}

/// Request headers that name a conversation, for [`ChatRequest::apply_headers`], in order of
/// preference: Codex's own, then Claude Code's.
pub const SESSION_HEADERS: [&str; 3] = ["session_id", "session-id", "x-claude-code-session-id"];

/// The header Codex sends to mark a subagent's request (protocols.md §1.2).
pub const SUBAGENT_HEADER: &str = "x-openai-subagent";

/// Claude Code's header naming the agent a request comes from; present on a subagent's
/// requests (gateways.md §1).
pub const AGENT_ID_HEADER: &str = "x-claude-code-agent-id";

impl ChatRequest {
    /// Fills what clients send as headers rather than in the body, unless the body already
    /// set it: the cache key from the first of [`SESSION_HEADERS`], the subagent from
    /// [`SUBAGENT_HEADER`] (passed through), or `subagent` when [`AGENT_ID_HEADER`] is present.
    /// `header` looks up one request header by lower-case name.
    pub fn apply_headers<'h>(&mut self, header: impl Fn(&str) -> Option<&'h str>) {
        if self.prompt_cache_key.is_none() {
            self.prompt_cache_key = SESSION_HEADERS
                .iter()
                .find_map(|name| header(name).filter(|v| !v.is_empty()))
                .map(str::to_owned);
        }
        if self.subagent.is_none() {
            self.subagent = header(SUBAGENT_HEADER)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .or_else(|| header(AGENT_ID_HEADER).map(|_| "subagent".to_owned()));
        }
    }
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
        /// The result.
        output: ToolOutput,
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

/// One part of a message or of a tool result.
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
    /// A file such as a PDF, by URL: a `data:application/pdf;base64,…` URL (sent as Responses
    /// `input_file.file_data`) or an `https://…` URL (`input_file.file_url`).
    File {
        /// The URL.
        url: String,
        /// The file name, when the client gave one.
        filename: Option<String>,
    },
}

/// The result of a tool call: text and images, and whether the tool failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolOutput {
    /// The result's parts, in order. A single text part is sent upstream as a plain string.
    pub parts: Vec<ContentPart>,
    /// The tool reported a failure (Anthropic `is_error`). The upstream has no such flag, so
    /// the encoder marks the output's text instead.
    pub is_error: bool,
}

impl ToolOutput {
    /// A successful text result.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            parts: vec![ContentPart::Text(text.into())],
            is_error: false,
        }
    }

    /// The text parts joined, for protocols whose tool results are plain text.
    pub fn joined_text(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if let ContentPart::Text(t) = part {
                out.push_str(t);
            }
        }
        out
    }
}

impl From<&str> for ToolOutput {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

/// A tool the model may use: a function the client runs, or a tool the backend hosts.
#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    /// A function the client declared and runs itself.
    Function(FunctionTool),
    /// The backend's web search (Responses `{"type":"web_search"}`; Anthropic's `web_search`
    /// server tool, Gemini's `googleSearch`).
    WebSearch,
    /// The backend's image generation (Responses `{"type":"image_generation"}`).
    ImageGeneration,
}

impl Tool {
    /// The function tool, if this is one.
    pub fn as_function(&self) -> Option<&FunctionTool> {
        match self {
            Self::Function(f) => Some(f),
            _ => None,
        }
    }
}

/// A function tool.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTool {
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
