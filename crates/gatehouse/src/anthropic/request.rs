//! The head of a Messages API request: what is read from its body and headers.
//!
//! The body is forwarded byte-for-byte; this only pulls out the few fields
//! the gateway needs (the model for routing and pricing, whether the client
//! asked for a stream, and Claude Code's session) while checking that the
//! body is JSON at all. Every other field is skipped without being built.
//! Claude Code's hint headers (request class, agent, prompt, session) are
//! read here too, for the ledger.

use http::HeaderMap;
use serde::Deserialize;

/// A hint longer than this is cut: it is a label, not data.
const HINT_MAX_CHARS: usize = 120;

/// The fields of a Messages API request the gateway uses.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestHead {
    pub(crate) model: String,
    pub(crate) stream: bool,
    pub(crate) session_id: Option<String>,
    pub(crate) device_id: Option<String>,
}

#[derive(Deserialize)]
struct RawHead<'a> {
    #[serde(borrow, default)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(borrow, default)]
    metadata: Option<RawMetadata<'a>>,
}

#[derive(Deserialize)]
struct RawMetadata<'a> {
    #[serde(borrow, default)]
    user_id: Option<std::borrow::Cow<'a, str>>,
}

/// Claude Code's `metadata.user_id` is itself a JSON document.
#[derive(Deserialize)]
struct ClaudeCodeUser {
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
}

/// Claude Code's hint headers (sent with `CLAUDE_CODE_GATEWAY_HINT_HEADERS=1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// `x-claude-code-request-class`: `main`, `subagent` or `compaction`.
    pub request_class: Option<String>,
    /// `x-claude-code-agent-type`: `Explore`, …
    pub agent_type: Option<String>,
    /// `x-claude-code-prompt-id`: the user prompt this request serves.
    pub prompt_id: Option<String>,
    /// `x-claude-code-compaction`: `manual`, …
    pub compaction: Option<String>,
}

/// Claude Code's hint headers of a request, each cut to a sane length.
pub(crate) fn hints(headers: &HeaderMap) -> Hints {
    Hints {
        request_class: hint(headers, "x-claude-code-request-class"),
        agent_type: hint(headers, "x-claude-code-agent-type"),
        prompt_id: hint(headers, "x-claude-code-prompt-id"),
        compaction: hint(headers, "x-claude-code-compaction"),
    }
}

/// `x-claude-code-session-id`, for a request whose body names no session.
pub(crate) fn session_header(headers: &HeaderMap) -> Option<String> {
    hint(headers, "x-claude-code-session-id")
}

fn hint(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.chars().take(HINT_MAX_CHARS).collect())
}

/// Why a request body could not be read as `what`, for the client.
pub(crate) fn body_error(error: &serde_json::Error, what: &str) -> String {
    if error.is_data() {
        format!("the request body does not have the shape of {what}: {error}")
    } else {
        format!("the request body is not valid JSON: {error}")
    }
}

/// Parses a request body; the error is a message for the client.
pub(crate) fn parse(body: &[u8], model_required: bool) -> Result<RequestHead, String> {
    let raw: RawHead = serde_json::from_slice(body).map_err(|e| body_error(&e, "a Messages API request"))?;
    let model = match raw.model {
        Some(model) if !model.is_empty() => model.into_owned(),
        _ if model_required => return Err("model: field required".to_string()),
        _ => String::new(),
    };
    let user = raw.metadata.and_then(|m| m.user_id).and_then(|id| serde_json::from_str::<ClaudeCodeUser>(&id).ok());
    let (device_id, session_id) = user.map_or((None, None), |u| (u.device_id, u.session_id));
    Ok(RequestHead { model, stream: raw.stream.unwrap_or(false), session_id, device_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claude_code_metadata() {
        let body = br#"{"model":"claude-opus-5-5","messages":[{"role":"user","content":"hi \u00e9"}],"stream":true,
            "metadata":{"user_id":"{\"device_id\":\"abc\",\"account_uuid\":\"\",\"session_id\":\"s-1\"}"}}"#;
        let head = parse(body, true).unwrap();
        assert_eq!(head.model, "claude-opus-5-5");
        assert!(head.stream);
        assert_eq!(head.session_id.as_deref(), Some("s-1"));
        assert_eq!(head.device_id.as_deref(), Some("abc"));
    }

    #[test]
    fn plain_user_id_is_not_an_error() {
        let head = parse(br#"{"model":"m","metadata":{"user_id":"someone"}}"#, true).unwrap();
        assert_eq!(head.session_id, None);
    }

    #[test]
    fn hint_headers_are_read_and_cut_to_size() {
        let mut headers = HeaderMap::new();
        headers.insert("x-claude-code-request-class", "subagent".parse().unwrap());
        headers.insert("x-claude-code-agent-type", "Explore".parse().unwrap());
        headers.insert("x-claude-code-prompt-id", "x".repeat(500).parse().unwrap());
        headers.insert("x-claude-code-compaction", " ".parse().unwrap());
        headers.insert("x-claude-code-session-id", "s-9".parse().unwrap());
        let hints = hints(&headers);
        assert_eq!(hints.request_class.as_deref(), Some("subagent"));
        assert_eq!(hints.agent_type.as_deref(), Some("Explore"));
        assert_eq!(hints.prompt_id.map(|p| p.len()), Some(HINT_MAX_CHARS));
        assert_eq!(hints.compaction, None);
        assert_eq!(session_header(&headers).as_deref(), Some("s-9"));
        assert_eq!(super::hints(&HeaderMap::new()), Hints::default());
    }

    #[test]
    fn malformed_and_missing_model_are_errors() {
        assert!(parse(b"{\"model\":", true).unwrap_err().contains("not valid JSON"));
        assert!(parse(b"[1]", true).unwrap_err().contains("shape"));
        assert!(parse(b"{\"messages\":[]}", true).unwrap_err().contains("model"));
        assert!(parse(b"{\"model\":7}", true).is_err());
        assert_eq!(parse(b"{}", false).unwrap().model, "");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    proptest! {
        /// Any request body gets an answer, never a panic.
        #[test]
        fn any_body_is_parsed_or_refused(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = super::parse(&body, true);
        }

        #[test]
        fn any_user_id_is_accepted(user_id in ".*") {
            let body = serde_json::json!({"model": "m", "metadata": {"user_id": user_id}}).to_string();
            prop_assert!(super::parse(body.as_bytes(), true).is_ok());
        }
    }
}
