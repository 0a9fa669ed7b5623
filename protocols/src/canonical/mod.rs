//! The canonical model: one request type, one event type, one error type, shared by every
//! protocol folder. Ingress produces them, egress consumes them.

mod error;
mod event;
mod request;
mod text;

pub use error::{parse_retry_after, FailureKind, ProtocolError, UpstreamFailure};
pub use event::{Block, ChatEvent, FinishReason, ResponseStart, Usage};
pub use request::{
    ChatRequest, ContentPart, InputItem, ReasoningEffort, ReasoningSummary, Role, ServiceTier,
    TextFormat, Tool, ToolChoice, Verbosity,
};
pub use text::{JsonText, JsonTextBuf};
