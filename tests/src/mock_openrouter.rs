//! A loopback mock of OpenRouter's browser sign-in: `/auth` (the consent
//! page) and `/api/v1/auth/keys` (the code exchange), faithful to
//! OpenRouter's OAuth PKCE guide. It checks what a sign-in must send (a
//! callback, an S256 challenge; then the code with the verifier whose
//! challenge that was, once) and records everything it was sent.
//!
//! It varies as OpenRouter's pages may: an approval comes back by a script
//! redirect (a consent page's), a refusal by an HTTP redirect.
//!
//! It also answers OpenRouter's OpenAI-compatible API,
//! `/api/v1/chat/completions`, as OpenRouter does: a Bearer key is required
//! (401 `{"error": {"message", "code"}}` without one), the model is
//! OpenRouter's slug (`anthropic/claude-sonnet-4.5`), usage has
//! `prompt_tokens` counting cached tokens too, `prompt_tokens_details.
//! cached_tokens` and the `cost` in credits; a stream opens with an SSE
//! comment (`: OPENROUTER PROCESSING`), as OpenRouter's do while the model
//! starts, and ends with a usage chunk without choices, then `[DONE]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use sha2::Digest as _;

/// The text every chat completion says.
pub const CHAT_ANSWER: &str = "Hello from the OpenRouter mock.";

/// The usage every chat completion reports: (prompt, cached, completion).
pub const CHAT_USAGE: (u64, u64, u64) = (2_400, 2_000, 21);

/// The key the mock hands out.
pub const KEY: &str = "sk-or-v1-FAKE-oauth-e2e-3f9c0a7d2b";

/// What the user does on OpenRouter's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Approve,
    Deny,
}

/// The running mock.
#[derive(Clone)]
pub struct MockOpenRouter {
    /// Its base URL, for `$GATEHOUSE_OPENROUTER_BASE_URL`.
    pub base: String,
    choice: Arc<Mutex<Choice>>,
    /// The challenge of each code handed out, until it is exchanged.
    codes: Arc<Mutex<HashMap<String, String>>>,
    /// Every `/auth` query and every exchange body, in order.
    seen: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl MockOpenRouter {
    /// Starts the mock on a thread of its own.
    pub fn start(choice: Choice) -> MockOpenRouter {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let mock = MockOpenRouter {
            base: format!("http://{}", listener.local_addr().expect("its address")),
            choice: Arc::new(Mutex::new(choice)),
            codes: Arc::default(),
            seen: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/auth", get(authorize))
            .route("/api/v1/auth/keys", post(exchange))
            .route("/api/v1/chat/completions", post(chat))
            .with_state(mock.clone());
        crate::harness::serve_in_background(listener, app);
        mock
    }

    /// What the user does from now on.
    pub fn set_choice(&self, choice: Choice) {
        *self.choice.lock().unwrap() = choice;
    }

    /// Every `/auth` query (`{"auth": …}`) and exchange body (`{"exchange": …}`) so far.
    pub fn seen(&self) -> Vec<serde_json::Value> {
        self.seen.lock().unwrap().clone()
    }
}

async fn authorize(State(mock): State<MockOpenRouter>, Query(query): Query<HashMap<String, String>>) -> Response {
    mock.seen.lock().unwrap().push(serde_json::json!({ "auth": query }));
    let (Some(callback), Some(challenge)) = (query.get("callback_url"), query.get("code_challenge")) else {
        return (StatusCode::BAD_REQUEST, "callback_url and code_challenge are required").into_response();
    };
    if query.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return (StatusCode::BAD_REQUEST, "code_challenge_method must be S256").into_response();
    }
    let separator = if callback.contains('?') { '&' } else { '?' };
    let choice = *mock.choice.lock().unwrap();
    match choice {
        Choice::Approve => {
            let code = format!("code-{}", uuid::Uuid::new_v4().simple());
            mock.codes.lock().unwrap().insert(code.clone(), challenge.clone());
            let target = format!("{callback}{separator}code={code}");
            Html(format!("<!doctype html><title>Authorize</title><script>location.replace({target:?})</script>"))
                .into_response()
        }
        Choice::Deny => Redirect::to(&format!(
            "{callback}{separator}error=access_denied&error_description=The+user+declined+the+request"
        ))
        .into_response(),
    }
}

async fn exchange(State(mock): State<MockOpenRouter>, body: String) -> Response {
    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    mock.seen.lock().unwrap().push(serde_json::json!({ "exchange": body }));
    let verifier = body["code_verifier"].as_str().unwrap_or_default();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    let code = body["code"].as_str().unwrap_or_default();
    // A code works once.
    let expected = mock.codes.lock().unwrap().remove(code);
    if expected.as_deref() == Some(challenge.as_str()) && body["code_challenge_method"] == "S256" {
        axum::Json(serde_json::json!({ "key": KEY, "user_id": "user_2x" })).into_response()
    } else {
        let error = serde_json::json!({ "error": { "code": 403, "message": "Invalid code or code_verifier" } });
        (StatusCode::FORBIDDEN, axum::Json(error)).into_response()
    }
}

/// Where the consent page at `url` sends the browser: what a browser on
/// another machine ends on (an address it cannot load), for the user to copy.
pub fn consent_redirect(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let page = runtime.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() });
    let start = page.find("location.replace(\"").expect("the consent page") + "location.replace(\"".len();
    let end = page[start..].find('"').expect("the end of the address") + start;
    page[start..end].to_string()
}

/// `POST /api/v1/chat/completions`, recorded in `seen` as `{"chat": {model,
/// stream, authorization}}`.
async fn chat(State(mock): State<MockOpenRouter>, headers: axum::http::HeaderMap, body: String) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let request: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let model = request["model"].as_str().unwrap_or_default().to_string();
    let stream = request["stream"].as_bool().unwrap_or(false);
    mock.seen.lock().unwrap().push(serde_json::json!({"chat": {
        "model": model, "stream": stream, "authorization": authorization,
    }}));
    let refuse = |status: StatusCode, message: &str| {
        (status, axum::Json(serde_json::json!({"error": {"message": message, "code": status.as_u16()}})))
            .into_response()
    };
    if authorization.strip_prefix("Bearer ").is_none_or(|key| key.trim().is_empty()) {
        return refuse(StatusCode::UNAUTHORIZED, "No auth credentials found");
    }
    if model.is_empty() || !request["messages"].is_array() {
        return refuse(StatusCode::BAD_REQUEST, "model and messages are required");
    }
    let (prompt, cached, completion) = CHAT_USAGE;
    let id = format!("gen-{}", uuid::Uuid::new_v4().simple());
    let usage = serde_json::json!({
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached}, "cost": 0.001_234,
    });
    if !stream {
        return axum::Json(serde_json::json!({
            "id": id, "provider": "Anthropic", "model": model, "object": "chat.completion", "created": 1_764_800_000,
            "choices": [{"index": 0, "finish_reason": "stop", "native_finish_reason": "end_turn",
                         "message": {"role": "assistant", "content": CHAT_ANSWER}}],
            "usage": usage,
        }))
        .into_response();
    }
    let chunk = |choices: serde_json::Value, usage: Option<&serde_json::Value>| {
        let mut chunk = serde_json::json!({"id": id, "provider": "Anthropic", "model": model,
            "object": "chat.completion.chunk", "created": 1_764_800_000, "choices": choices});
        if let Some(usage) = usage {
            chunk["usage"] = usage.clone();
        }
        format!("data: {chunk}\n\n")
    };
    let (first, second) = CHAT_ANSWER.split_at(CHAT_ANSWER.len() / 2);
    let events = [
        ": OPENROUTER PROCESSING\n\n".to_string(),
        chunk(serde_json::json!([{"index": 0, "delta": {"role": "assistant", "content": first}}]), None),
        chunk(serde_json::json!([{"index": 0, "delta": {"content": second}}]), None),
        chunk(serde_json::json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]), None),
        chunk(serde_json::json!([]), Some(&usage)),
        "data: [DONE]\n\n".to_string(),
    ];
    let body = axum::body::Body::from_stream(futures_util::stream::iter(
        events.into_iter().map(|event| Ok::<_, std::io::Error>(bytes::Bytes::from(event))),
    ));
    let mut response = Response::new(body);
    response.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
    response
}
