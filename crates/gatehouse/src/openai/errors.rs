//! Errors the gateway itself returns to a Chat Completions client, in
//! OpenAI's error shape: `{"error":{"message":…,"type":…,"param":null,"code":…}}`.
//!
//! OpenAI's SDKs raise an exception by the status code and show
//! `error.message`, so every message says what is wrong and what to do.

use axum::response::Response;
use http::StatusCode;

use crate::anthropic::errors::{ErrorKind, gateway_error};

/// OpenAI's `error.type` for the kind of an error.
fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::NotFound | ErrorKind::RequestTooLarge => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::RateLimit => "rate_limit_error",
        ErrorKind::Api | ErrorKind::Timeout | ErrorKind::Overloaded => "server_error",
    }
}

/// A short machine-readable `error.code`.
fn error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::Authentication => "invalid_api_key",
        ErrorKind::Permission => "not_permitted",
        ErrorKind::NotFound => "model_not_found",
        ErrorKind::RequestTooLarge => "request_too_large",
        ErrorKind::RateLimit => "rate_limit_exceeded",
        ErrorKind::Api => "upstream_error",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Overloaded => "overloaded",
    }
}

/// The JSON body of an OpenAI-shaped error.
pub(crate) fn error_json(kind: ErrorKind, message: &str) -> String {
    serde_json::json!({
        "error": {"message": message, "type": error_type(kind), "param": null, "code": error_code(kind)}
    })
    .to_string()
}

/// A complete error response, marked as coming from the gateway.
pub(crate) fn error_response(status: StatusCode, kind: ErrorKind, message: &str) -> Response {
    gateway_error(status, error_json(kind, message))
}

/// An error in a stream that already began: a `data:` event holding the
/// error object, which OpenAI's SDKs raise as an API error.
pub(crate) fn sse_error_event(message: &str) -> bytes::Bytes {
    format!("data: {}\n\n", error_json(ErrorKind::Api, message)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_is_openais() {
        let value: serde_json::Value = serde_json::from_str(&error_json(ErrorKind::Permission, "no")).unwrap();
        assert_eq!(value["error"]["message"], "no");
        assert_eq!(value["error"]["type"], "permission_error");
        assert!(value["error"]["param"].is_null());
        assert!(value.get("type").is_none(), "not Anthropic's envelope");
        let event = sse_error_event("cut");
        let data = std::str::from_utf8(&event).unwrap().strip_prefix("data: ").unwrap().trim();
        let value: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(value["error"]["type"], "server_error");
    }
}
