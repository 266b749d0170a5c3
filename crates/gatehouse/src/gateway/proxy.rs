//! Forwarding one request to the upstream and relaying its response.
//!
//! The request body is read once (it must be checked and its model known),
//! then handed to the upstream as the same shared buffer. Headers pass
//! through unchanged, including the client's own `Authorization` (Claude
//! Code's subscription login) which the gateway never stores or logs; only
//! hop-by-hop headers and the gateway key are removed.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{self, HeaderName};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::Gateway;
use super::errors::{ErrorKind, error_response};
use super::metered::{MeteredBody, Recording};
use super::request::{self, RequestHead};
use crate::auth::gateway_keys;
use crate::ledger::record::{Exchange, Outcome};

/// Names the upstream that served a response.
pub const UPSTREAM_HEADER: &str = "x-gatehouse-upstream";

/// Which API a request is for; decides what is checked and recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/messages`: checked, priced and recorded in the ledger.
    Messages,
    /// `POST /v1/messages/count_tokens`: checked, free, not recorded.
    CountTokens,
    /// Anything else under `/v1/` (model listing…): passed through.
    Other,
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1),
/// and so must not be forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

fn is_hop_by_hop(name: &HeaderName, connection_listed: &[String]) -> bool {
    name == header::TRANSFER_ENCODING
        || HOP_BY_HOP.contains(&name.as_str())
        || connection_listed.iter().any(|listed| listed == name.as_str())
}

/// Header names the `Connection` header declares hop-by-hop.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// A short human description of a transport error, without any URL query or header.
pub fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut description = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "connection error".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        description.push_str(": ");
        description.push_str(&cause.to_string());
        source = cause.source();
    }
    description
}

/// Serves one proxied request.
pub async fn forward(gateway: Arc<Gateway>, endpoint: Endpoint, parts: Parts, body: Body) -> Response {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();

    let Some(client) = parts.headers.get(gateway_keys::HEADER).and_then(|key| gateway.client_for(key.as_bytes()))
    else {
        let message = if parts.headers.contains_key(gateway_keys::HEADER) {
            "the x-gatehouse-key header holds an unknown or revoked gateway key; run `gatehouse claude configure` \
             again, or issue a key with `gatehouse keys issue <name>`"
        } else {
            "missing x-gatehouse-key header: this gateway needs a gateway key; run `gatehouse claude configure` \
             to set up Claude Code, or issue a key with `gatehouse keys issue <name>`"
        };
        return error_response(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message);
    };

    let body = match read_body(&parts.headers, body, gateway.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => return response,
    };

    let head = match endpoint {
        Endpoint::Messages | Endpoint::CountTokens => match request::parse(&body, true) {
            Ok(head) => head,
            Err(message) => return error_response(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, &message),
        },
        Endpoint::Other => RequestHead::default(),
    };

    let upstream = &gateway.upstream;
    let mut headers = forwarded_request_headers(&parts.headers);
    let has_own_credential = headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key");
    if !has_own_credential {
        match &upstream.api_key {
            Some(key) => {
                headers.insert("x-api-key", key.clone());
            }
            None => {
                let message = format!(
                    "no credential for upstream `{}`: log Claude Code in to your subscription with `claude auth login`, \
                     or put an Anthropic API key in the environment variable {} before starting the gateway",
                    upstream.name, upstream.api_key_env
                );
                return error_response(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, &message);
            }
        }
    }

    let path_and_query = parts.uri.path_and_query().map_or(parts.uri.path(), |pq| pq.as_str());
    let url = format!("{}{}", upstream.base_url, path_and_query);
    let method = parts.method.clone();
    let result = gateway.http.request(method, &url).headers(headers).body(body).send().await;
    let ttfb = started.elapsed();

    let mut exchange = (endpoint == Endpoint::Messages).then(|| Exchange {
        started_at,
        request_id: None,
        client: client.clone(),
        model: head.model.clone(),
        upstream: upstream.name.clone(),
        status: 0,
        streamed: head.stream,
        outcome: Outcome::Relayed,
        ttfb: None,
        latency: ttfb,
        session_id: head.session_id.clone(),
        device_id: head.device_id.clone(),
        event_stream: false,
        body: Vec::new(),
        gateway_error: None,
    });

    let upstream_response = match result {
        Ok(response) => response,
        Err(error) => {
            let (status, kind, code) = if error.is_timeout() {
                (StatusCode::GATEWAY_TIMEOUT, ErrorKind::Timeout, "upstream_timeout")
            } else {
                (StatusCode::BAD_GATEWAY, ErrorKind::Api, "upstream_unreachable")
            };
            let message = format!(
                "upstream `{}` at {} is unreachable ({}); check the network, or `[anthropic] base_url` in the Gatehouse config",
                upstream.name,
                upstream.base_url,
                describe_reqwest_error(&error)
            );
            tracing::warn!(client = %client, "{message}");
            if let Some(mut exchange) = exchange {
                exchange.status = status.as_u16();
                exchange.outcome = Outcome::UpstreamFailed;
                exchange.gateway_error = Some(code);
                gateway.ledger.record(exchange);
            }
            return error_response(status, kind, &message);
        }
    };

    let status = upstream_response.status();
    gateway.observe_rate_limits(upstream_response.headers());
    let event_stream = upstream_response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));

    tracing::info!(
        client = %client,
        model = %head.model,
        status = status.as_u16(),
        ttfb_ms = ttfb.as_secs_f64() * 1000.0,
        "{} {}",
        parts.method,
        parts.uri.path()
    );

    let mut response_headers = forwarded_response_headers(upstream_response.headers(), event_stream);
    response_headers.insert(UPSTREAM_HEADER, upstream.header_value.clone());

    let recording = exchange.take().map(|mut exchange| {
        exchange.status = status.as_u16();
        exchange.ttfb = Some(ttfb);
        exchange.event_stream = event_stream;
        exchange.request_id =
            upstream_response.headers().get("request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        Recording::new(gateway.ledger.clone(), exchange, started)
    });
    // Only a length the client is also told (SSE drops it) may end the body early.
    let content_length = if event_stream { None } else { upstream_response.content_length() };
    let stream = MeteredBody::new(
        upstream_response.bytes_stream().boxed(),
        recording,
        event_stream,
        upstream.name.clone(),
        content_length,
    );

    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}

/// Reads the whole request body, refusing anything over the limit.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        let message = format!(
            "the request body is larger than the gateway's limit of {limit} bytes; shorten the conversation \
             (e.g. /compact in Claude Code) or raise `[gateway] max_body_bytes`"
        );
        let mut response = error_response(StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::RequestTooLarge, &message);
        // The rest of the body is never read, so this connection cannot carry
        // another request; say so, or the client may reuse it and fail.
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(error) => Err(error_response(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidRequest,
            &format!("could not read the request body: {error}"),
        )),
    }
}

/// The client's headers as the upstream should see them.
fn forwarded_request_headers(incoming: &HeaderMap) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut headers = HeaderMap::with_capacity(incoming.len());
    for (name, value) in incoming {
        if is_hop_by_hop(name, &listed)
            || name == header::HOST
            || name == header::CONTENT_LENGTH
            || name == header::ACCEPT_ENCODING
            || name == gateway_keys::HEADER
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    // Usage is read from the response body, so it must arrive uncompressed.
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    headers
}

/// The upstream's headers as the client should see them.
fn forwarded_response_headers(incoming: &HeaderMap, event_stream: bool) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut headers = HeaderMap::with_capacity(incoming.len() + 1);
    for (name, value) in incoming {
        // A stream may end with an error event the gateway adds, so it must
        // not promise a length.
        if is_hop_by_hop(name, &listed) || (event_stream && name == header::CONTENT_LENGTH) {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_pass_through_except_ours_and_hop_by_hop() {
        let mut incoming = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer sk-ant-oat01-FAKE-abc"),
            ("anthropic-beta", "oauth-2025-04-20,claude-code-20250219"),
            ("anthropic-version", "2023-06-01"),
            ("user-agent", "claude-cli/2.1.328 (external, sdk-cli)"),
            ("x-app", "cli"),
            ("x-gatehouse-key", "ghk_secret"),
            ("host", "127.0.0.1:7411"),
            ("connection", "keep-alive, x-drop-me"),
            ("x-drop-me", "1"),
            ("accept-encoding", "gzip"),
            ("content-length", "10"),
        ] {
            incoming.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        let out = forwarded_request_headers(&incoming);
        assert_eq!(out.get("authorization").unwrap(), "Bearer sk-ant-oat01-FAKE-abc");
        assert_eq!(out.get("anthropic-beta").unwrap(), "oauth-2025-04-20,claude-code-20250219");
        assert_eq!(out.get("user-agent").unwrap(), "claude-cli/2.1.328 (external, sdk-cli)");
        assert_eq!(out.get("x-app").unwrap(), "cli");
        assert_eq!(out.get("accept-encoding").unwrap(), "identity");
        for gone in ["x-gatehouse-key", "host", "connection", "x-drop-me", "content-length"] {
            assert!(!out.contains_key(gone), "{gone} must not be forwarded");
        }
    }
}
