//! Errors the gateway itself returns, in Anthropic's own error shape.
//!
//! Claude Code and the SDKs parse `{"type":"error","error":{"type":…,"message":…}}`
//! and show the message to the user, so every message says what is wrong and
//! what to do about it.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

/// Anthropic's error types, as they appear in `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
    Timeout,
    Overloaded,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Api => "api_error",
            ErrorKind::Timeout => "timeout_error",
            ErrorKind::Overloaded => "overloaded_error",
        }
    }
}

/// The JSON body of an Anthropic-shaped error.
pub(crate) fn error_json(kind: ErrorKind, message: &str) -> String {
    serde_json::json!({"type": "error", "error": {"type": kind.as_str(), "message": message}}).to_string()
}

/// A complete error response, marked as coming from the gateway.
pub(crate) fn error_response(status: StatusCode, kind: ErrorKind, message: &str) -> Response {
    gateway_error(status, error_json(kind, message))
}

/// An error response with `json` as its body (in the client's API's
/// shape), marked as coming from the gateway.
pub(crate) fn gateway_error(status: StatusCode, json: String) -> Response {
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("x-gatehouse-error", HeaderValue::from_static("1"));
    response
}

/// An SSE `error` event, sent when the upstream fails after the stream began
/// and a status code can no longer be changed.
pub(crate) fn sse_error_event(message: &str) -> bytes::Bytes {
    format!("event: error\ndata: {}\n\n", error_json(ErrorKind::Api, message)).into()
}
