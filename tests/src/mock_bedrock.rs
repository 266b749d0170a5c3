//! A loopback mock of the AWS Bedrock runtime, as LiteLLM reaches it for
//! Claude: `POST /model/{model-id}/invoke` and
//! `/model/{model-id}/invoke-with-response-stream` (Anthropic's Messages
//! body, which LiteLLM sends for Messages requests), and `/converse` and
//! `/converse-stream` (Bedrock's own Converse API, which it sends for Chat
//! Completions).
//!
//! Faithful to what Bedrock does with Anthropic's models:
//! - the request body is Anthropic's Messages body with
//!   `anthropic_version: "bedrock-2023-05-31"` and no `model` (the model is
//!   in the path); the mock refuses anything else, as Bedrock does, with
//!   its `{"message": …}` errors;
//! - every request must carry a SigV4 `Authorization` header for the
//!   `bedrock` service (`AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/
//!   bedrock/aws4_request, SignedHeaders=…, Signature=<64 hex>`) and an
//!   `x-amz-date`, else 403 as Bedrock answers an unsigned call;
//! - a plain invoke answers Anthropic's message JSON, with Bedrock's
//!   `x-amzn-bedrock-*-token-count` headers;
//! - a stream is `application/vnd.amazon.eventstream`: binary frames, each
//!   a `chunk` event whose JSON payload holds one of Anthropic's stream
//!   events, base64-encoded, under `bytes`; the last one also carries
//!   `amazon-bedrock-invocationMetrics`;
//! - Converse takes `messages` whose `content` is a list of blocks
//!   (`{"text": …}`), `system` and `inferenceConfig`, and no
//!   `anthropic_version`; it answers `output.message`, `stopReason` and
//!   `usage` (`inputTokens`, `outputTokens`, `cacheReadInputTokens`,
//!   `cacheWriteInputTokens`); its stream is event-stream frames named by
//!   their event (`messageStart`, `contentBlockDelta`, `contentBlockStop`,
//!   `messageStop`, `metadata`) with their JSON as the payload.
//!
//! The signature's value is not recomputed: the mock proves a request was
//! signed with the right key ID, region and service, not AWS's arithmetic.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

/// A request the mock was sent.
#[derive(Debug, Clone)]
pub struct BedrockRequest {
    /// `invoke`, `invoke-with-response-stream`, `converse` or `converse-stream`.
    pub action: String,
    /// The model ID from the path.
    pub model: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl BedrockRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The usage each answer reports.
#[derive(Debug, Clone, Copy)]
pub struct BedrockUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl Default for BedrockUsage {
    fn default() -> Self {
        BedrockUsage {
            input_tokens: 120,
            output_tokens: 9,
            cache_creation_input_tokens: 40,
            cache_read_input_tokens: 300,
        }
    }
}

/// The running mock.
#[derive(Clone)]
pub struct MockBedrock {
    /// `http://127.0.0.1:PORT`: a `bedrock` upstream's `base_url`.
    pub base: String,
    usage: BedrockUsage,
    seen: Arc<Mutex<Vec<BedrockRequest>>>,
}

/// The text every answer says.
pub const ANSWER: &str = "Hello from the Bedrock mock.";

impl MockBedrock {
    /// Starts the mock on a thread of its own.
    pub fn start(usage: BedrockUsage) -> MockBedrock {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let mock = MockBedrock {
            base: format!("http://{}", listener.local_addr().expect("its address")),
            usage,
            seen: Arc::default(),
        };
        let app = axum::Router::new().route("/model/{model}/{action}", post(handle)).with_state(mock.clone());
        crate::harness::serve_in_background(listener, app);
        mock
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<BedrockRequest> {
        self.seen.lock().unwrap().clone()
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut response = (status, axum::Json(json!({ "message": message }))).into_response();
    let kind = if status == StatusCode::FORBIDDEN { "AccessDeniedException" } else { "ValidationException" };
    response.headers_mut().insert("x-amzn-errortype", kind.parse().unwrap());
    response
}

/// Whether `authorization` is a SigV4 signature for Bedrock.
fn signed(authorization: &str) -> bool {
    let Some(rest) = authorization.strip_prefix("AWS4-HMAC-SHA256 ") else { return false };
    let part = |name: &str| rest.split(", ").find_map(|p| p.strip_prefix(name)).map(str::to_string);
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (part("Credential="), part("SignedHeaders="), part("Signature="))
    else {
        return false;
    };
    let scope: Vec<&str> = credential.split('/').collect();
    scope.len() == 5
        && scope[3] == "bedrock"
        && scope[4] == "aws4_request"
        && signed_headers.split(';').any(|h| h == "host")
        && signature.len() == 64
        && signature.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn handle(
    State(mock): State<MockBedrock>,
    Path((model, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let recorded = BedrockRequest {
        action: action.clone(),
        model: model.clone(),
        headers: headers
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
        body: body.clone(),
    };
    mock.seen.lock().unwrap().push(recorded.clone());
    if !recorded.header("authorization").is_some_and(signed) || recorded.header("x-amz-date").is_none() {
        return refuse(StatusCode::FORBIDDEN, "Missing Authentication Token");
    }
    if action.starts_with("converse") {
        return converse(&mock, &action, &body);
    }
    if body.get("anthropic_version").and_then(Value::as_str) != Some("bedrock-2023-05-31") {
        return refuse(StatusCode::BAD_REQUEST, "Malformed input request: anthropic_version is required");
    }
    if body.get("model").is_some() || !body.get("messages").is_some_and(Value::is_array) {
        return refuse(StatusCode::BAD_REQUEST, "Malformed input request: extraneous key [model] is not permitted");
    }
    let usage = mock.usage;
    let message_id = format!("msg_bdrk_{}", uuid::Uuid::new_v4().simple());
    let bare_model = model.split("anthropic.").nth(1).unwrap_or(&model).trim_end_matches("-v1:0").to_string();
    match action.as_str() {
        "invoke" => {
            let answer = json!({
                "id": message_id, "type": "message", "role": "assistant", "model": bare_model,
                "content": [{ "type": "text", "text": ANSWER }],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {
                    "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                    "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                    "cache_read_input_tokens": usage.cache_read_input_tokens,
                },
            });
            let mut response = axum::Json(answer).into_response();
            let h = response.headers_mut();
            h.insert("x-amzn-requestid", uuid::Uuid::new_v4().to_string().parse().unwrap());
            h.insert("x-amzn-bedrock-input-token-count", usage.input_tokens.into());
            h.insert("x-amzn-bedrock-output-token-count", usage.output_tokens.into());
            h.insert("x-amzn-bedrock-invocation-latency", 412u32.into());
            response
        }
        "invoke-with-response-stream" => {
            let events = stream_events(&message_id, &bare_model, usage);
            let frames: Vec<Result<Bytes, std::io::Error>> =
                events.iter().map(|event| Ok(chunk_frame(event))).collect();
            let mut response = Response::new(Body::from_stream(futures_util::stream::iter(frames)));
            let h = response.headers_mut();
            h.insert("content-type", "application/vnd.amazon.eventstream".parse().unwrap());
            h.insert("x-amzn-requestid", uuid::Uuid::new_v4().to_string().parse().unwrap());
            h.insert("x-amzn-bedrock-content-type", "application/json".parse().unwrap());
            response
        }
        _ => refuse(StatusCode::NOT_FOUND, "Unknown operation"),
    }
}

/// A Converse call: the same answer in Bedrock's own shape.
fn converse(mock: &MockBedrock, action: &str, body: &Value) -> Response {
    let blocks = body["messages"].as_array().is_some_and(|messages| {
        !messages.is_empty() && messages.iter().all(|m| m["content"].as_array().is_some_and(|c| !c.is_empty()))
    });
    if !blocks {
        return refuse(StatusCode::BAD_REQUEST, "Malformed input request: messages must be a list of content blocks");
    }
    if let Some(key) = ["anthropic_version", "model", "max_tokens"].into_iter().find(|key| body.get(key).is_some()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!("Malformed input request: extraneous key [{key}] is not permitted"),
        );
    }
    let usage = mock.usage;
    let usage_json = json!({
        "inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens,
        "totalTokens": usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens
            + usage.cache_read_input_tokens,
        "cacheReadInputTokens": usage.cache_read_input_tokens,
        "cacheWriteInputTokens": usage.cache_creation_input_tokens,
    });
    let mut response = if action == "converse" {
        axum::Json(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
            "stopReason": "end_turn",
            "usage": usage_json,
            "metrics": {"latencyMs": 412},
        }))
        .into_response()
    } else {
        let (first, second) = ANSWER.split_at(ANSWER.len() / 2);
        let events = [
            ("messageStart", json!({"role": "assistant"})),
            ("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": first}})),
            ("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": second}})),
            ("contentBlockStop", json!({"contentBlockIndex": 0})),
            ("messageStop", json!({"stopReason": "end_turn"})),
            ("metadata", json!({"usage": usage_json, "metrics": {"latencyMs": 530}})),
        ];
        let frames: Vec<Result<Bytes, std::io::Error>> = events
            .iter()
            .map(|(kind, payload)| {
                let mut payload = payload.clone();
                payload["p"] = json!("abcdefghijklmnopqrstuvwxyzABCDEF");
                Ok(event_frame(kind, &serde_json::to_vec(&payload).unwrap()))
            })
            .collect();
        let mut response = Response::new(Body::from_stream(futures_util::stream::iter(frames)));
        response.headers_mut().insert("content-type", "application/vnd.amazon.eventstream".parse().unwrap());
        response
    };
    response.headers_mut().insert("x-amzn-requestid", uuid::Uuid::new_v4().to_string().parse().unwrap());
    response
}

/// Anthropic's stream events for one short answer, as Bedrock relays them.
fn stream_events(id: &str, model: &str, usage: BedrockUsage) -> Vec<Value> {
    let (first, second) = ANSWER.split_at(ANSWER.len() / 2);
    vec![
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                      "cache_read_input_tokens": usage.cache_read_input_tokens}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": first}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": second}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": usage.output_tokens}}),
        json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": usage.input_tokens, "outputTokenCount": usage.output_tokens,
            "invocationLatency": 530, "firstByteLatency": 210}}),
    ]
}

/// One event stream message of an invoke stream: a `chunk` event with the
/// Anthropic event's JSON under `bytes`, base64-encoded.
fn chunk_frame(event: &Value) -> Bytes {
    let payload = serde_json::to_vec(&json!({
        "bytes": base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(event).unwrap()),
        "p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",
    }))
    .unwrap();
    event_frame("chunk", &payload)
}

/// One event stream message, framed as AWS frames it (lengths, CRC-32s).
fn event_frame(event_type: &str, payload: &[u8]) -> Bytes {
    let mut headers = Vec::new();
    for (name, value) in
        [(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")]
    {
        headers.push(name.len() as u8);
        headers.extend_from_slice(name.as_bytes());
        headers.push(7); // a string
        headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let total = 12 + headers.len() + payload.len() + 4;
    let mut frame = Vec::with_capacity(total);
    frame.extend_from_slice(&(total as u32).to_be_bytes());
    frame.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&prelude_crc.to_be_bytes());
    frame.extend_from_slice(&headers);
    frame.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&message_crc.to_be_bytes());
    Bytes::from(frame)
}
