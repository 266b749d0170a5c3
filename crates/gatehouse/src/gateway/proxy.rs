//! Forwarding one request to the upstream and relaying its response.
//!
//! [`forward`] is a list of steps: authenticate the client, read and check
//! the request, choose the route, apply the upstream's credential policy,
//! send, relay. `send` returns once the upstream's response head is in, its
//! body unread, so until `relay` starts nothing has reached the client and
//! the request could still go to another upstream.
//!
//! The request body is read once (it must be checked and its model known),
//! then handed to the upstream as the same shared buffer. Headers pass
//! through unchanged, including the client's own `Authorization` (Claude
//! Code's subscription login) which the gateway never stores or logs; only
//! hop-by-hop headers and the gateway key are removed.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{self, HeaderName};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};

use super::Gateway;
use super::fd_limit;
use super::log_safe::Clipped;
use super::metered::{BodyKind, MeteredBody, Recording};
use super::server::more_since;
use super::upstream_client::SendError;
use super::upstreams::{Billing, Upstream, UpstreamId, UpstreamKind};
use crate::anthropic::errors::{ErrorKind, error_response};
use crate::anthropic::ratelimit;
use crate::anthropic::request::{self, Hints, RequestHead};
use crate::auth::gateway_keys;
use crate::ledger::flags;
use crate::ledger::record::{Exchange, Outcome};

/// Names the upstream that served a response.
pub const UPSTREAM_HEADER: HeaderName = HeaderName::from_static("x-gatehouse-upstream");

pub(crate) const GATEWAY_KEY: HeaderName = HeaderName::from_static(gateway_keys::HEADER);
const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
/// The LiteLLM engine's id for a request it served, which its callback
/// reports LiteLLM's own cost under (see `engines::litellm::callback`).
const LITELLM_CALL_ID: HeaderName = HeaderName::from_static("x-litellm-call-id");
const SHOULD_RETRY: HeaderName = HeaderName::from_static("x-should-retry");

/// Which API a request is for; decides what is checked and recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/messages`: checked, priced and recorded in the ledger.
    Messages,
    /// `POST /v1/messages/count_tokens`: checked, free, not recorded.
    CountTokens,
    /// `POST /v1/chat/completions`, OpenAI's API: checked, sent through the
    /// LiteLLM engine to the paid upstreams of its route (never to the
    /// subscription), priced and recorded; errors in OpenAI's shape.
    ChatCompletions,
    /// Anything else under `/v1/` (model listing…): passed through.
    Other,
}

/// What to check when the upstream cannot be reached or trusted.
const NETWORK_HINT: &str = "check the network, or `[anthropic] base_url` in the Gatehouse config";
const PROXY_HINT: &str = "check the proxy, or HTTPS_PROXY / NO_PROXY in the gateway's environment";
const CERTIFICATE_HINT: &str = "if it uses a private or corporate CA, give the gateway that CA's PEM file through \
                                SSL_CERT_FILE (or SSL_CERT_DIR), else check `[anthropic] base_url` in the Gatehouse config";

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1),
/// and so must not be forwarded.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes the hop-by-hop headers, and those the `Connection` header names, in place.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        let connection: Vec<HeaderValue> = headers.get_all(header::CONNECTION).iter().cloned().collect();
        for listed in connection.iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')) {
            // An invalid name matches nothing, so it removes nothing.
            headers.remove(listed.trim());
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Serves one proxied request. Each step either hands the next one what it
/// needs or refuses the request; nothing reaches the client before `relay`.
pub async fn forward(gateway: Arc<Gateway>, endpoint: Endpoint, parts: Parts, body: Body) -> Response {
    match forward_steps(&gateway, endpoint, parts, body).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(endpoint),
    }
}

/// The steps of [`forward`], in order. The small steps are `#[inline]`:
/// left to the compiler, their calls and the moves of what they return cost
/// about 600 instructions per request more than the single function they
/// were split from (callgrind); inlined, the split costs nothing.
async fn forward_steps(gateway: &Gateway, endpoint: Endpoint, parts: Parts, body: Body) -> Result<Response, Refusal> {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let Parts { method, uri, mut headers, .. } = parts;

    let client = authenticate(gateway, endpoint, &headers)?;
    if matches!(endpoint, Endpoint::Messages | Endpoint::ChatCompletions) {
        admit(gateway, &client)?;
    }
    let body = read_body(&headers, body, gateway.max_body_bytes, gateway.body_timeout).await?;
    let (described, body) = Described::read(endpoint, &headers, body)?;
    let route = choose_route(gateway, endpoint, &described.head.model)?;
    if endpoint == Endpoint::ChatCompletions
        && let Some(engine) = gateway.upstreams.engine()
    {
        engine.started(ENGINE_START_WAIT).await;
    }
    strip_request_headers(&mut headers);
    // Each upstream answers with a head, or fails to; no byte has reached
    // the client yet, so a request can still go on to the next upstream.
    let session = described.head.session_id.as_deref().or(described.session_header.as_deref());
    let caller = Caller { client: &client, session };
    let sent = send_along(gateway, route, caller, &method, &uri, headers, body).await?;
    let Sent { upstream, answer, failovers, billing, first_choice } = sent;
    let ttfb = started.elapsed();
    gateway.note_failover(&failovers.said, &upstream.name, route.len() > 1 && first_choice);
    let mut flags = failovers.flags;
    if billing == Billing::Billed {
        flags |= flags::BILLED;
    }
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            let exchange = described.into_exchange(endpoint, started_at, &client, upstream, ttfb, flags);
            return Ok(report_failure(gateway, endpoint, upstream, &client, exchange, &error));
        }
    };
    log_answered(&client, &described.head.model, &method, &uri, response.status(), ttfb);
    let hide_usage_chunk = described.hide_usage_chunk;
    let exchange = described.into_exchange(endpoint, started_at, &client, upstream, ttfb, flags);
    let shape = (endpoint, hide_usage_chunk);
    let mut response = relay(gateway, shape, upstream, exchange, started, ttfb, response);
    if !failovers.said.is_empty()
        && let Ok(value) = HeaderValue::from_str(&failovers.said.join("; "))
    {
        response.headers_mut().insert(FAILOVER_HEADER, value);
    }
    Ok(response)
}

/// Apply the client's key's rate limits (`[[limits]]`): a Messages request
/// over one is answered 429 with when to retry.
#[inline]
fn admit(gateway: &Gateway, client: &str) -> Result<(), Refusal> {
    gateway.meter.key_limits.admit(client).map_err(|over| {
        let message = format!(
            "{}; retry in {} s, or raise the key's limit under [[limits]] in the Gatehouse config",
            over.message, over.retry_after
        );
        Refusal {
            retry_after: Some(over.retry_after),
            ..Refusal::new(StatusCode::TOO_MANY_REQUESTS, ErrorKind::RateLimit, message)
        }
    })
}

/// Who sent a request: the gateway key's name, and Claude Code's session.
#[derive(Clone, Copy)]
struct Caller<'a> {
    client: &'a str,
    session: Option<&'a str>,
}

/// Where a request went: the upstream that answered (or failed to), who
/// was passed over on the way, and who pays.
struct Sent<'g> {
    upstream: &'g Upstream,
    answer: Result<http::Response<Incoming>, SendError>,
    failovers: Failovers,
    billing: Billing,
    /// Served by the first upstream of the route.
    first_choice: bool,
}

/// The upstreams a request passed over, and why: for `x-gatehouse-failover`
/// and, as `ledger::flags::FAILOVER_*` bits, for the ledger.
#[derive(Default)]
struct Failovers {
    said: Vec<String>,
    flags: i64,
}

impl Failovers {
    fn note(&mut self, upstream: &Upstream, reason: &str, flag: i64) {
        self.said.push(format!("{}: {reason}", upstream.name));
        self.flags |= flag;
    }
}

/// Says which upstreams a request passed over before the one that served
/// it, and why: `anthropic: the subscription's window is used up`.
pub const FAILOVER_HEADER: HeaderName = HeaderName::from_static("x-gatehouse-failover");

/// Send along the route: the request goes to its first upstream that is
/// not cooling down, has a credential for it and, when it would be billed,
/// no used-up budget. Before any byte reaches the client, a failover
/// trigger (the subscription's quota 429, a 529, another 5xx, no connection
/// or no answer in time) sends it on to the next one, with that upstream's
/// own credentials, and cools the failed one down. The last upstream's
/// answer is the answer, whatever it is; when budgets leave no upstream,
/// the request is answered 429 with why. A session that a later upstream
/// took over goes straight back to it while it serves (see
/// [`super::sticky`]), passing over the paid upstreams before it but never
/// the subscription. A route of one upstream is sent as before: no copy of
/// the headers, no clock read.
async fn send_along<'g>(
    gateway: &'g Gateway,
    route: &[UpstreamId],
    caller: Caller<'_>,
    method: &Method,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Sent<'g>, Refusal> {
    let mut failovers = Failovers::default();
    let mut headers = Some(headers);
    let last = route.len() - 1;
    let session = caller.session.filter(|_| last > 0);
    let stick_at = session
        .and_then(|session| gateway.sticky.upstream_for(session))
        .and_then(|sticky| route.iter().position(|&id| id == sticky));
    for (position, &id) in route.iter().enumerate() {
        let upstream = gateway.upstreams.get(id);
        let is_last = position == last;
        if stick_at.is_some_and(|at| position < at) && upstream.kind != UpstreamKind::Subscription {
            continue;
        }
        if let Some(why) = upstream.unavailable() {
            if is_last {
                return Err(engine_unavailable(upstream, &why, &failovers));
            }
            failovers.note(upstream, &why, flags::FAILOVER_PASSED_OVER);
            continue;
        }
        if !is_last && let Some(until) = upstream.cooling_down() {
            failovers.note(upstream, &format!("cooling down until {until}"), flags::FAILOVER_PASSED_OVER);
            continue;
        }
        let mut attempt =
            if is_last { headers.take().unwrap_or_default() } else { headers.clone().unwrap_or_default() };
        let billing = match apply_credential_policy(upstream, &mut attempt) {
            Ok(billing) => billing,
            Err(refusal) if is_last => return Err(refusal),
            Err(refusal) => {
                failovers.note(upstream, &refusal.message, flags::FAILOVER_PASSED_OVER);
                continue;
            }
        };
        if billing == Billing::Billed
            && let Err(exhausted) = gateway.meter.budgets.check(&upstream.name, caller.client)
        {
            failovers.note(upstream, &exhausted.message, flags::FAILOVER_BUDGET);
            if is_last {
                return Err(over_budget(&failovers));
            }
            continue;
        }
        let request = upstream_request(upstream, method, uri, attempt, body.clone())?;
        let answer = send(upstream, request).await;
        let trigger = if is_last { None } else { failover_trigger(&answer) };
        match trigger {
            None => {
                if let Some(session) = session {
                    let served = answer.as_ref().is_ok_and(|response| response.status().is_success());
                    if position > 0 && upstream.kind != UpstreamKind::Subscription && served {
                        gateway.sticky.stick(session, id);
                    } else {
                        gateway.sticky.forget(session);
                    }
                }
                return Ok(Sent { upstream, answer, failovers, billing, first_choice: position == 0 });
            }
            Some((reason, reset, flag)) => {
                if let Ok(response) = &answer {
                    // The windows it reports are news, even if its answer is not relayed.
                    gateway.observe_rate_limits(response.headers());
                }
                let until = upstream.cool_down(reset, gateway.failover_cooldown);
                tracing::warn!("failover: upstream {} {reason}; it rests until {until}", upstream.name);
                failovers.note(upstream, &reason, flag);
            }
        }
    }
    unreachable!("the last upstream of a route always answers or refuses")
}

/// The answer when budgets leave no upstream of the route to serve a
/// request: 429 in Anthropic's shape, naming each budget and its reset. It
/// asks the client not to retry: no retry helps before the reset.
fn over_budget(failovers: &Failovers) -> Refusal {
    let message = format!(
        "no upstream may serve this request now: {}. Wait for the reset, or raise the budget under [[budgets]] in \
         the Gatehouse config",
        failovers.said.join("; ")
    );
    tracing::warn!("{message}");
    Refusal { no_retry: true, ..Refusal::new(StatusCode::TOO_MANY_REQUESTS, ErrorKind::RateLimit, message) }
}

/// The answer when the route's last upstream is reached through the
/// LiteLLM engine and the engine cannot take requests now: 503 in
/// Anthropic's shape (`overloaded_error`, which clients retry), saying why
/// and what was passed over before it.
fn engine_unavailable(upstream: &Upstream, why: &str, failovers: &Failovers) -> Refusal {
    let before = if failovers.said.is_empty() { String::new() } else { format!(" ({})", failovers.said.join("; ")) };
    let message = format!("upstream `{}` cannot serve this request now: {why}{before}", upstream.name);
    tracing::warn!("{message}");
    Refusal::new(StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Overloaded, message)
}

/// Whether an upstream's answer sends the request on to the next upstream,
/// and why (in words, and as the ledger's flag); with the reset time (Unix
/// seconds) a quota refusal names.
fn failover_trigger(answer: &Result<http::Response<Incoming>, SendError>) -> Option<(String, Option<u64>, i64)> {
    let response = match answer {
        Err(error) if error.is_timeout() => {
            return Some(("did not answer in time".to_string(), None, flags::FAILOVER_UNREACHABLE));
        }
        Err(_) => return Some(("is unreachable".to_string(), None, flags::FAILOVER_UNREACHABLE)),
        Ok(response) => response,
    };
    let status = response.status();
    let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok());
    match status.as_u16() {
        // Only the subscription's own quota: any other 429 is the client's to see.
        429 if header("anthropic-ratelimit-unified-status") == Some("rejected") => Some((
            "the subscription's window is used up".to_string(),
            header("anthropic-ratelimit-unified-reset").and_then(|reset| reset.parse().ok()),
            flags::FAILOVER_QUOTA,
        )),
        529 => Some(("is overloaded (529)".to_string(), None, flags::FAILOVER_OVERLOADED)),
        500..=599 => Some((format!("answered {status}"), None, flags::FAILOVER_SERVER_ERROR)),
        _ => None,
    }
}

/// A request the gateway answers itself instead of forwarding it: an
/// Anthropic-shaped error. Small, so that every step can return it.
struct Refusal {
    status: StatusCode,
    kind: ErrorKind,
    message: Cow<'static, str>,
    /// The request body was not read to its end, so this connection cannot
    /// carry another request: the answer says so, or the client may reuse
    /// it and fail.
    close: bool,
    /// Seconds after which a retry may succeed (`retry-after`).
    retry_after: Option<u64>,
    /// No retry can succeed soon (`x-should-retry: false`, which the SDKs obey).
    no_retry: bool,
}

impl Refusal {
    fn new(status: StatusCode, kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal { status, kind, message: message.into(), close: false, retry_after: None, no_retry: false }
    }

    fn closing(self) -> Refusal {
        Refusal { close: true, ..self }
    }

    /// The answer, in the error shape of the API the request came in on.
    fn into_response(self, endpoint: Endpoint) -> Response {
        let mut response = endpoint.error_response(self.status, self.kind, &self.message);
        let headers = response.headers_mut();
        if self.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.no_retry {
            headers.insert(SHOULD_RETRY, HeaderValue::from_static("false"));
        }
        response
    }
}

impl Endpoint {
    /// An error the gateway answers itself, in this API's shape.
    fn error_response(self, status: StatusCode, kind: ErrorKind, message: &str) -> Response {
        match self {
            Endpoint::ChatCompletions => crate::openai::errors::error_response(status, kind, message),
            _ => error_response(status, kind, message),
        }
    }
}

/// How long a Chat Completions request waits for the LiteLLM engine to
/// start (it takes 10 to 30 s) before it is told why it cannot be served.
const ENGINE_START_WAIT: Duration = Duration::from_secs(90);

/// Authenticate the client: the name of the gateway key in
/// `x-gatehouse-key`; for Chat Completions also as the API key OpenAI's
/// SDKs send (`Authorization: Bearer KEY`).
#[inline]
fn authenticate(gateway: &Gateway, endpoint: Endpoint, headers: &HeaderMap) -> Result<Arc<str>, Refusal> {
    if let Some(client) = headers.get(GATEWAY_KEY).and_then(|key| gateway.client_for(key.as_bytes())) {
        return Ok(client);
    }
    if endpoint == Endpoint::ChatCompletions {
        return authenticate_bearer(gateway, headers);
    }
    let message = if headers.contains_key(GATEWAY_KEY) {
        "the x-gatehouse-key header holds an unknown or revoked gateway key; run `gatehouse claude configure` \
         again, or issue a key with `gatehouse keys issue <name>`"
    } else {
        "missing x-gatehouse-key header: this gateway needs a gateway key; run `gatehouse claude configure` \
         to set up Claude Code, or issue a key with `gatehouse keys issue <name>`"
    };
    Err(Refusal::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message))
}

/// The refusal, in OpenAI's shape, of a request from an app that speaks
/// OpenAI's API whose Bearer key is no gateway key; `None` when it is one.
pub(crate) fn refuse_openai_client(gateway: &Gateway, headers: &HeaderMap) -> Option<Response> {
    authenticate_bearer(gateway, headers).err().map(|refusal| refusal.into_response(Endpoint::ChatCompletions))
}

/// A Chat Completions client's key, sent as OpenAI's SDKs send theirs.
fn authenticate_bearer(gateway: &Gateway, headers: &HeaderMap) -> Result<Arc<str>, Refusal> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(client) = bearer.and_then(|key| gateway.client_for(key.as_bytes())) {
        return Ok(client);
    }
    let message = if bearer.is_some() {
        "the API key is not a gateway key of this gateway, or it was revoked; use a key from `gatehouse keys issue \
         <name>` as the API key"
    } else {
        "no API key: this gateway takes a gateway key as the API key (`Authorization: Bearer KEY`, the SDKs' \
         `api_key`); issue one with `gatehouse keys issue <name>`"
    };
    Err(Refusal::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message))
}

/// What the gateway reads from the request for routing and the ledger,
/// before its headers are changed for the upstream.
struct Described {
    head: RequestHead,
    /// Claude Code's hint headers; only read for the ledger (Messages).
    hints: Hints,
    session_header: Option<String>,
    /// A Chat Completions stream whose usage the gateway asked for: the
    /// client must not see the usage chunk.
    hide_usage_chunk: bool,
}

impl Described {
    /// Checks that a Messages, token-count or Chat Completions body is a
    /// request at all, and reads its head; other endpoints pass through
    /// unread. Returns the body to send on: the client's, or for a Chat
    /// Completions stream, the same request asking for its usage.
    #[inline]
    fn read(endpoint: Endpoint, headers: &HeaderMap, body: Bytes) -> Result<(Described, Bytes), Refusal> {
        let invalid = |message| Refusal::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, message);
        let mut hide_usage_chunk = false;
        let (head, body) = match endpoint {
            Endpoint::Messages | Endpoint::CountTokens => (request::parse(&body, true).map_err(invalid)?, body),
            Endpoint::ChatCompletions => {
                let chat = crate::openai::request::parse(body).map_err(invalid)?;
                hide_usage_chunk = chat.hide_usage_chunk;
                (RequestHead { model: chat.model, stream: chat.stream, ..RequestHead::default() }, chat.body)
            }
            Endpoint::Other => (RequestHead::default(), body),
        };
        let (hints, session_header) = if endpoint == Endpoint::Messages {
            (request::hints(headers), request::session_header(headers))
        } else {
            Default::default()
        };
        Ok((Described { head, hints, session_header, hide_usage_chunk }, body))
    }

    /// The ledger row for a Messages request served by `upstream`, as far as
    /// it is known when the upstream answered (or failed to); other
    /// endpoints are not recorded.
    #[inline]
    fn into_exchange(
        self,
        endpoint: Endpoint,
        started_at: jiff::Timestamp,
        client: &Arc<str>,
        upstream: &Upstream,
        latency: Duration,
        flags: i64,
    ) -> Option<Exchange> {
        let RequestHead { model, stream, session_id, device_id } = self.head;
        let flags = if endpoint == Endpoint::ChatCompletions { flags | flags::CHAT_COMPLETIONS } else { flags };
        matches!(endpoint, Endpoint::Messages | Endpoint::ChatCompletions).then(|| Exchange {
            started_at,
            request_id: None,
            client: client.clone(),
            model,
            upstream: upstream.name.clone(),
            status: 0,
            streamed: stream,
            outcome: Outcome::Relayed,
            ttfb: None,
            latency,
            session_id: session_id.or(self.session_header),
            device_id,
            event_stream: false,
            body: Vec::new(),
            gateway_error: None,
            hints: self.hints,
            unified_headers: None,
            flags,
        })
    }
}

/// Choose the route: the upstreams that serve a request for `model`, in
/// the order to try them. A Chat Completions request takes the same route
/// through the LiteLLM engine, without the subscription.
#[inline]
fn choose_route<'g>(gateway: &'g Gateway, endpoint: Endpoint, model: &str) -> Result<&'g [UpstreamId], Refusal> {
    let routes = if endpoint == Endpoint::ChatCompletions { &gateway.chat_routes } else { &gateway.routes };
    match routes.for_model(model) {
        Some([]) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            ErrorKind::Permission,
            format!(
                "Chat Completions requests are never sent to the Claude subscription: Anthropic's terms allow the \
                 subscription only in Claude Code. The route for model `{}` has no other upstream: add an upstream \
                 with an API key (kind `anthropic`, `openrouter` or `bedrock`) to it in the Gatehouse config",
                Clipped(model)
            ),
        )),
        Some(route) => Ok(route),
        None => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            format!(
                "no route of the gateway serves model `{}`; check the routes in the Gatehouse config",
                Clipped(model)
            ),
        )),
    }
}

/// Apply the upstream's credential policy to the request headers (see
/// [`Upstream::apply_credentials`]): today's upstream takes the client's own
/// credential (Claude Code's subscription `Authorization`, or its
/// `x-api-key`) as it is, and adds the gateway's API key only when the
/// client brings none.
#[inline]
fn apply_credential_policy(upstream: &Upstream, headers: &mut HeaderMap) -> Result<Billing, Refusal> {
    upstream
        .apply_credentials(headers)
        .map_err(|missing| Refusal::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, missing.to_string()))
}

/// The request as the upstream gets it: the client's method, path and query
/// under the upstream's base URL, the prepared headers, the body unchanged
/// but for the model's name where the upstream knows it by another (see
/// [`super::model_map`]; the ledger keeps the client's).
#[inline]
fn upstream_request(
    upstream: &Upstream,
    method: &Method,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, Refusal> {
    let upstream_uri = upstream.base_uri.join(uri.path_and_query()).map_err(|error| {
        let message = format!("the request path cannot be forwarded to upstream `{}`: {error}", upstream.name);
        Refusal::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, message)
    })?;
    let mut request = Request::new(Full::new(upstream.models.rewrite(body)));
    *request.method_mut() = method.clone();
    *request.uri_mut() = upstream_uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Send: the request goes to `upstream`, and this returns the response
/// head as soon as it arrives, its body unread. Nothing has reached the
/// client yet.
async fn send(upstream: &Upstream, request: Request<Full<Bytes>>) -> Result<http::Response<Incoming>, SendError> {
    upstream.client.send(request).await
}

/// The per-request log line, once the upstream answered.
#[inline]
fn log_answered(client: &str, model: &str, method: &Method, uri: &Uri, status: StatusCode, ttfb: Duration) {
    tracing::info!(
        client = %client,
        model = %Clipped(model),
        status = status.as_u16(),
        ttfb_ms = %format_args!("{:.1}", ttfb.as_secs_f64() * 1000.0),
        "{} {}",
        Clipped(method.as_str()),
        Clipped(uri.path())
    );
}

/// Relay: the upstream's response goes to the client as it arrives,
/// its body metered for the ledger (see [`MeteredBody`]). The request came
/// in on `endpoint`; `hide_usage_chunk`: the gateway asked a Chat
/// Completions stream for a usage chunk the client did not ask for.
fn relay(
    gateway: &Gateway,
    (endpoint, hide_usage_chunk): (Endpoint, bool),
    upstream: &Upstream,
    exchange: Option<Exchange>,
    started: Instant,
    ttfb: Duration,
    response: http::Response<Incoming>,
) -> Response {
    let (response_head, upstream_body) = response.into_parts();
    let status = response_head.status;
    gateway.observe_rate_limits(&response_head.headers);
    let event_stream = response_head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));

    let recording = exchange.map(|mut exchange| {
        exchange.status = status.as_u16();
        exchange.ttfb = Some(ttfb);
        exchange.event_stream = event_stream;
        // Through the LiteLLM engine, its call id: its callback reports its
        // own cost under that id.
        let ids = if upstream.through_engine() { [LITELLM_CALL_ID, REQUEST_ID] } else { [REQUEST_ID, LITELLM_CALL_ID] };
        exchange.request_id = (response_head.headers.get(&ids[0]))
            .or_else(|| response_head.headers.get(&ids[1]))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        exchange.unified_headers = ratelimit::unified_lines(&response_head.headers);
        let billed = exchange.flags & flags::BILLED != 0;
        let settlement = gateway.meter.settlement(&upstream.name, &exchange.client, billed);
        Recording::new(gateway.ledger.clone(), exchange, started).settling(&gateway.meter, settlement)
    });
    // Only a length the client is also told (SSE drops it) may end the body early.
    let content_length = if event_stream { None } else { upstream_body.size_hint().exact() };
    let mut response_headers = response_head.headers;
    strip_response_headers(&mut response_headers, event_stream);
    response_headers.insert(UPSTREAM_HEADER, upstream.header_value.clone());
    let body = MeteredBody::new(
        upstream_body,
        recording,
        BodyKind {
            event_stream,
            // Only a Messages stream that succeeded promises a `message_stop`.
            message_stream: event_stream && endpoint == Endpoint::Messages && status.is_success(),
            openai: endpoint == Endpoint::ChatCompletions,
            hide_usage_chunk: hide_usage_chunk && event_stream && status.is_success(),
            content_length,
        },
        upstream.name.clone(),
        upstream.client.read_timeout(),
        gateway.stream_cut.clone(),
    );

    let mut response = Response::new(Body::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}

/// The answer to a request the upstream gave no response to: an error in
/// Anthropic's shape, and a ledger row that says why.
fn report_failure(
    gateway: &Gateway,
    endpoint: Endpoint,
    upstream: &Upstream,
    client: &str,
    exchange: Option<Exchange>,
    error: &SendError,
) -> Response {
    let (status, kind, code, message) = upstream_failure(gateway, upstream, client, error);
    if let Some(mut exchange) = exchange {
        exchange.status = status.as_u16();
        exchange.outcome = Outcome::UpstreamFailed;
        exchange.gateway_error = Some(code);
        gateway.ledger.record(exchange);
    }
    endpoint.error_response(status, kind, &message)
}

/// What went wrong when the upstream gave no response: its status,
/// error type, ledger code and message. Each cause gets the advice that
/// fits it: running out of file descriptors is no network problem, a refused
/// certificate is none either, and behind a proxy the base URL is rarely
/// the problem.
fn upstream_failure(
    gateway: &Gateway,
    upstream: &Upstream,
    client: &str,
    error: &SendError,
) -> (StatusCode, ErrorKind, &'static str, String) {
    if let Some(exhausted) = error.out_of_files() {
        let message = format!(
            "could not connect to upstream `{}`: {}; then retry",
            upstream.name,
            fd_limit::exhausted_message(exhausted)
        );
        if let Some(skipped) = gateway.out_of_files.due() {
            tracing::warn!(client, "{message}{}", more_since(skipped));
        }
        return (StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Overloaded, "gateway_out_of_files", message);
    }
    let refused = error.certificate_refused();
    let (status, kind, code) = if error.is_timeout() {
        (StatusCode::GATEWAY_TIMEOUT, ErrorKind::Timeout, "upstream_timeout")
    } else if refused {
        (StatusCode::BAD_GATEWAY, ErrorKind::Api, "upstream_certificate")
    } else {
        (StatusCode::BAD_GATEWAY, ErrorKind::Api, "upstream_unreachable")
    };
    let (problem, hint) = match (refused, error.proxy()) {
        (true, _) => ("was not trusted", CERTIFICATE_HINT),
        (false, Some(_)) => ("is unreachable", PROXY_HINT),
        (false, None) => ("is unreachable", NETWORK_HINT),
    };
    let message =
        format!("upstream `{}` at {} {problem} ({}); {hint}", upstream.name, upstream.base_url, error.describe());
    tracing::warn!(client, "{message}");
    (status, kind, code, message)
}

/// Reads the whole request body, refusing anything over the limit, or
/// slower to arrive than `timeout` (a slow-dribbling client would otherwise
/// hold its connection for ever).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize, timeout: Duration) -> Result<Bytes, Refusal> {
    // The rest of the body is never read, so these refusals close the connection.
    let too_large = || {
        let message = format!(
            "the request body is larger than the gateway's limit of {limit} bytes; shorten the conversation \
             (e.g. /compact in Claude Code) or raise `[gateway] max_body_bytes`"
        );
        Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::RequestTooLarge, message).closing()
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    // A body already in hand never arms the timer.
    let Ok(collected) = tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await else {
        let message = format!(
            "the request body did not arrive within {timeout:?}; the gateway closes connections that send this \
             slowly. Retry the request"
        );
        return Err(Refusal::new(StatusCode::REQUEST_TIMEOUT, ErrorKind::InvalidRequest, message).closing());
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(error) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidRequest,
            format!("could not read the request body: {error}"),
        )),
    }
}

/// Turns the client's headers into those the upstream should see, in place.
fn strip_request_headers(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(GATEWAY_KEY);
    // Usage is read from the response body, so it must arrive uncompressed.
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
}

/// Turns the upstream's headers into those the client should see, in place.
fn strip_response_headers(headers: &mut HeaderMap, event_stream: bool) {
    // A body sent with Transfer-Encoding was framed by it, whatever a
    // Content-Length beside it said (RFC 9112, 6.3): passed on, that length
    // would cut the client's copy short.
    let framed_by_encoding = headers.contains_key(header::TRANSFER_ENCODING);
    strip_hop_by_hop(headers);
    // A stream may end with an error event the gateway adds, so it must
    // not promise a length.
    if event_stream || framed_by_encoding {
        headers.remove(header::CONTENT_LENGTH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_beside_a_transfer_encoding_is_not_passed_on() {
        let mut both = HeaderMap::new();
        both.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        both.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        strip_response_headers(&mut both, false);
        assert!(both.get(header::CONTENT_LENGTH).is_none() && both.get(header::TRANSFER_ENCODING).is_none());
        let mut length = HeaderMap::new();
        length.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        strip_response_headers(&mut length, false);
        assert_eq!(length[header::CONTENT_LENGTH], "5", "a plain length stays");
    }

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
        let mut out = incoming;
        strip_request_headers(&mut out);
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
