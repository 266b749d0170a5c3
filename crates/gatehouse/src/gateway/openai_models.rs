//! `GET /v1/models` for apps that speak OpenAI's API: the Claude models
//! they can ask the gateway's Chat Completions for.
//!
//! Such apps (chat front ends, editors) list the models before they offer
//! them. The gateway answers in OpenAI's list shape with every model it
//! knows a price for whose route has an upstream other than the
//! subscription, which never serves Chat Completions. Claude Code, which
//! sends its gateway key in `x-gatehouse-key`, is not asked here: its model
//! listing passes through to Anthropic as before.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, header};
use serde_json::json;

use super::Gateway;
use super::proxy::GATEWAY_KEY;

/// Whether a request comes from an app that speaks OpenAI's API: a Bearer
/// key, and no `x-gatehouse-key`.
pub(crate) fn asked_by_openai_client(headers: &HeaderMap) -> bool {
    !headers.contains_key(GATEWAY_KEY)
        && headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("Bearer "))
}

/// The answer to `GET /v1/models` from such an app.
pub(crate) fn list(gateway: &Gateway, headers: &HeaderMap) -> Response {
    if let Some(refusal) = super::proxy::refuse_openai_client(gateway, headers) {
        return refusal;
    }
    let data: Vec<_> = gateway
        .meter
        .prices
        .models()
        .filter(|model| gateway.chat_routes.for_model(model).is_some_and(|route| !route.is_empty()))
        .map(|model| json!({"id": model, "object": "model", "created": 0, "owned_by": "anthropic"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}
