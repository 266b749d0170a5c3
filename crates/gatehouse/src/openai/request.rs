//! The head of a Chat Completions request, and the one change the gateway
//! makes to its body.
//!
//! The gateway routes by `model` and records whether the client asked for a
//! stream. A stream reports its token usage only when the client asks for it
//! (`stream_options.include_usage`), in one last chunk with no choices.
//! The ledger needs that usage for every request, so the gateway asks for it
//! when the client did not, and then keeps that chunk from the client (see
//! [`super::response_usage::UsageChunkFilter`]): a client that did not ask
//! for it may not expect a chunk without choices.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

/// What the gateway reads from a Chat Completions request.
#[derive(Debug, PartialEq)]
pub(crate) struct ChatRequest {
    pub(crate) model: String,
    pub(crate) stream: bool,
    /// The body to send on: the client's own bytes, or, for a stream that
    /// did not ask for its usage, the same request asking for it.
    pub(crate) body: Bytes,
    /// The gateway asked for the usage chunk, so the client must not see it.
    pub(crate) hide_usage_chunk: bool,
}

#[derive(Deserialize)]
struct RawHead<'a> {
    #[serde(borrow, default)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<Value>,
}

/// Reads a Chat Completions body; the error is a message for the client.
pub(crate) fn parse(body: Bytes) -> Result<ChatRequest, String> {
    let raw: RawHead = serde_json::from_slice(&body)
        .map_err(|e| crate::anthropic::request::body_error(&e, "a Chat Completions request"))?;
    let model = match raw.model {
        Some(model) if !model.trim().is_empty() => model.into_owned(),
        _ => return Err("model: field required (the Claude model to use, such as claude-sonnet-4-5)".to_string()),
    };
    let stream = raw.stream.unwrap_or(false);
    let asked = raw.stream_options.and_then(|options| options.get("include_usage")?.as_bool()).unwrap_or(false);
    if !stream || asked {
        return Ok(ChatRequest { model, stream, body, hide_usage_chunk: false });
    }
    match with_usage_asked(&body) {
        Some(rewritten) => Ok(ChatRequest { model, stream, body: Bytes::from(rewritten), hide_usage_chunk: true }),
        // `stream_options` that is not an object: the engine says what is wrong with it.
        None => Ok(ChatRequest { model, stream, body, hide_usage_chunk: false }),
    }
}

/// The body with `stream_options.include_usage` set, every other member
/// kept in its order; `None` when `stream_options` is there but no object.
fn with_usage_asked(body: &[u8]) -> Option<Vec<u8>> {
    let mut request: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let options = request.entry("stream_options").or_insert_with(|| Value::Object(Map::new()));
    options.as_object_mut()?.insert("include_usage".to_string(), Value::Bool(true));
    serde_json::to_vec(&request).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Result<ChatRequest, String> {
        parse(Bytes::from(body.to_string()))
    }

    #[test]
    fn a_plain_request_passes_as_it_is() {
        let body = r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#;
        let request = parsed(body).unwrap();
        assert_eq!(request.model, "claude-sonnet-4-5");
        assert!(!request.stream && !request.hide_usage_chunk);
        assert_eq!(request.body, body.as_bytes());

        let asked = r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#;
        let request = parsed(asked).unwrap();
        assert!(request.stream && !request.hide_usage_chunk);
        assert_eq!(request.body, asked.as_bytes());
    }

    #[test]
    fn a_stream_that_did_not_ask_for_usage_asks_for_it_and_hides_it() {
        let request = parsed(r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#).unwrap();
        assert!(request.hide_usage_chunk);
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][0]["content"], "hi");
        let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["model", "messages", "stream", "stream_options"], "members keep their order");

        let declined = parsed(r#"{"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1}}"#).unwrap();
        assert!(declined.hide_usage_chunk);
        let body: Value = serde_json::from_slice(&declined.body).unwrap();
        assert_eq!(body["stream_options"], serde_json::json!({"include_usage": true, "x": 1}));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        assert!(parsed("not json").unwrap_err().contains("not valid JSON"));
        assert!(parsed(r#"{"messages":[]}"#).unwrap_err().starts_with("model: field required"));
        assert!(parsed(r#"{"model":""}"#).unwrap_err().starts_with("model: field required"));
        assert!(parsed(r#"{"model":7}"#).unwrap_err().contains("shape of a Chat Completions request"));
        assert!(parsed("[]").is_err());
        // Left for the engine to refuse, in its own words.
        let odd = parsed(r#"{"model":"m","stream":true,"stream_options":"yes"}"#).unwrap();
        assert!(!odd.hide_usage_chunk);
    }
}
