//! Request validation of the simulated backend, as the real one answers (protocols.md §1.3,
//! §1.4, §1.10): unknown fields, `instructions`, `store`, `stream`, tool-call pairing and the
//! 64-byte limit on tool names and call ids.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

// The fields the real backend accepts are the ones the proxy's fix-up keeps: one list.
pub(super) use codex_pipe_protocols::responses::{COMPACT_FIELDS, MAX_ID_LEN, RESPONSES_FIELDS};

/// A 400 in one of the backend's two shapes (protocols.md §1.10).
#[derive(Debug)]
pub(super) enum Rejection {
    /// `{"detail":"…"}`.
    Detail(String),
    /// `{"error":{"message","type":"invalid_request_error","param","code"}}`.
    Invalid {
        message: String,
        param: String,
        code: Option<&'static str>,
    },
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = match self {
            Rejection::Detail(message) => json!({ "detail": message }),
            Rejection::Invalid {
                message,
                param,
                code,
            } => json!({"error": {"message": message, "type": "invalid_request_error",
                                  "param": param, "code": code}}),
        };
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}

fn detail(message: impl Into<String>) -> Rejection {
    Rejection::Detail(message.into())
}

fn invalid(message: String, param: &str, code: Option<&'static str>) -> Rejection {
    Rejection::Invalid {
        message,
        param: param.to_owned(),
        code,
    }
}

/// Validates a request body; `fields` is the allowed field set, `streaming` adds the
/// `store` / `stream` rules.
pub(super) fn validate(
    body: &[u8],
    fields: &[&str],
    streaming: bool,
) -> Result<Map<String, Value>, Rejection> {
    let obj = match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return Err(detail("Request body must be a JSON object")),
        Err(e) => return Err(detail(format!("Invalid JSON: {e}"))),
    };
    if let Some(key) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(detail(format!("Unsupported parameter: {key}")));
    }
    if !obj.get("model").is_some_and(Value::is_string) {
        return Err(detail("Model is required"));
    }
    match obj.get("instructions") {
        Some(Value::String(_)) => {}
        _ => return Err(detail("Instructions are required")),
    }
    if streaming {
        if obj.get("store") != Some(&Value::Bool(false)) {
            return Err(detail("Store must be set to false"));
        }
        if obj.get("stream") != Some(&Value::Bool(true)) {
            return Err(detail("Stream must be set to true"));
        }
    }
    let Some(input) = obj.get("input").and_then(Value::as_array) else {
        return Err(detail("Input must be a list"));
    };
    let too_long = |param: String, len: usize| {
        invalid(
            format!("Invalid '{param}': string too long. Expected a string with maximum length {MAX_ID_LEN}, but got a string with length {len} instead."),
            &param,
            Some("string_above_max_length"),
        )
    };
    for (i, tool) in obj
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(name) = tool
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| n.len() > MAX_ID_LEN)
        {
            return Err(too_long(format!("tools[{i}].name"), name.len()));
        }
    }
    let mut calls = Vec::new();
    let mut outputs = Vec::new();
    for (i, item) in input.iter().enumerate() {
        for key in ["call_id", "name"] {
            if let Some(v) = item
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| v.len() > MAX_ID_LEN)
            {
                return Err(too_long(format!("input[{i}].{key}"), v.len()));
            }
        }
        let call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match item.get("type").and_then(Value::as_str) {
            Some("function_call" | "custom_tool_call") => calls.push(call_id),
            Some("function_call_output" | "custom_tool_call_output") => outputs.push(call_id),
            _ => {}
        }
    }
    if let Some(id) = calls.iter().find(|c| !outputs.contains(c)) {
        return Err(invalid(
            format!("No tool output found for function call {id}."),
            "input",
            None,
        ));
    }
    if let Some(id) = outputs.iter().find(|o| !calls.contains(o)) {
        return Err(invalid(
            format!("No tool call found for function call output with call_id {id}."),
            "input",
            None,
        ));
    }
    Ok(obj)
}

/// Every `reasoning` input item's `encrypted_content` must be one the simulator issued
/// (`issued`), as the backend verifies its own blobs (protocols.md §1.4, last point). Returns
/// how many were verified.
pub(super) fn check_encrypted(
    obj: &Map<String, Value>,
    issued: &std::collections::HashSet<String>,
) -> Result<usize, Rejection> {
    let mut verified = 0;
    let items = obj
        .get("input")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for item in items.filter(|i| i.get("type").and_then(Value::as_str) == Some("reasoning")) {
        let Some(blob) = item.get("encrypted_content").and_then(Value::as_str) else {
            continue;
        };
        if !issued.contains(blob) {
            let shown: String = blob.chars().take(12).collect();
            return Err(Rejection::Invalid {
                message: format!("The encrypted content {shown}… could not be verified."),
                param: "input".to_owned(),
                code: Some("invalid_encrypted_content"),
            });
        }
        verified += 1;
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_the_backend() {
        let ok = br#"{"model":"m","instructions":"","input":[],"store":false,"stream":true}"#;
        assert!(validate(ok, RESPONSES_FIELDS, true).is_ok());
        let status = |body: &[u8]| {
            validate(body, RESPONSES_FIELDS, true)
                .err()
                .map(|r| r.into_response().status().as_u16())
        };
        assert_eq!(status(br#"{"model":"m","instructions":"","input":[],"store":false,"stream":true,"temperature":1}"#), Some(400));
        assert_eq!(
            status(br#"{"model":"m","input":[],"store":false,"stream":true}"#),
            Some(400)
        );
        assert_eq!(
            status(br#"{"model":"m","instructions":"","input":[],"stream":true}"#),
            Some(400)
        );
        assert_eq!(
            status(br#"{"model":"m","instructions":"","input":[],"store":false,"stream":false}"#),
            Some(400)
        );
        assert_eq!(
            status(br#"{"model":"m","instructions":"","store":false,"stream":true,"input":[{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"}]}"#),
            Some(400)
        );
        let paired = br#"{"model":"m","instructions":"","store":false,"stream":true,"input":[{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"x"}]}"#;
        assert_eq!(status(paired), None);
    }

    #[test]
    fn only_issued_encrypted_content_is_accepted() {
        let body = |blob: &str| -> Map<String, Value> {
            serde_json::from_value(json!({"input": [
                {"type": "reasoning", "summary": [], "encrypted_content": blob}]}))
            .expect("object")
        };
        let issued: std::collections::HashSet<String> = ["gAAAAsim1".to_owned()].into();
        assert_eq!(check_encrypted(&body("gAAAAsim1"), &issued).ok(), Some(1));
        let err = check_encrypted(&body("gAAAAforged"), &issued).expect_err("forged");
        assert_eq!(err.into_response().status().as_u16(), 400);
    }
}
