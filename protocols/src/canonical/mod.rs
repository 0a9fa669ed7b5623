//! The canonical model: one request type, one event type, one error type, shared by every
//! protocol folder. Ingress produces them, egress consumes them.

mod api_error;
mod error;
mod event;
mod request;
mod text;

pub use api_error::{ApiError, ErrorResponse};
pub use error::{parse_retry_after, FailureKind, ProtocolError, UpstreamFailure};
pub use event::{Block, ChatEvent, FinishReason, ResponseStart, Usage};
pub use request::{
    ChatRequest, ContentPart, FunctionTool, InputItem, ReasoningEffort, ReasoningSummary, Role,
    ServiceTier, TextFormat, Tool, ToolChoice, ToolOutput, Verbosity, AGENT_ID_HEADER,
    SESSION_HEADERS, SUBAGENT_HEADER,
};
pub use text::{JsonText, JsonTextBuf};
