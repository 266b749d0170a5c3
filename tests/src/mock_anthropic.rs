//! A loopback stand-in for Anthropic's Messages API.
//!
//! End-to-end tests and benchmarks point Gatehouse (and through it, Claude
//! Code) at this server instead of `api.anthropic.com`. It mocks only what
//! lies beyond the machine, and it answers the way the real API does as
//! measured in `shared/reference/claude-code.md`: the SSE event sequence, the
//! usage object with its cache fields, the `request-id` and
//! `anthropic-organization-id` headers, the unified rate-limit headers on
//! subscription (`Authorization: Bearer`) traffic, the classic ones on
//! API-key traffic, and the error envelope
//! `{"type":"error","error":{"type":…,"message":…},"request_id":…}`.
//!
//! Every request is recorded byte for byte before it is answered, so a test
//! can check what the gateway forwarded. It serves plain HTTP/1.1, or
//! ([`MockAnthropic::start_tls`]) HTTPS with HTTP/2 or HTTP/1.1 as ALPN
//! settles, as `api.anthropic.com` does. A test steers the next answers with
//! [`Scenario`]s: quota rejections, overload, server errors, slow streams
//! and streams that die half way.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::serve::ListenerExt;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// Claude Code sends bodies of hundreds of KB; the cap only stops a runaway
/// client from exhausting memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The `anthropic-ratelimit-unified-5h-utilization` value on allowed responses.
pub const FIVE_HOUR_UTILIZATION: &str = "0.42";
/// The `anthropic-ratelimit-unified-7d-utilization` value on allowed responses.
pub const SEVEN_DAY_UTILIZATION: &str = "0.17";
/// The reply text of [`Scenario::Normal`].
pub const DEFAULT_REPLY: &str = "Hello! This is a reply from the mock Anthropic API.";

/// The models `GET /v1/models` lists, newest first as the real API does:
/// (id, display name, created_at).
const MODELS: [(&str, &str, &str); 3] = [
    ("claude-opus-5-5", "Claude Opus 5.5", "2026-02-17T00:00:00Z"),
    ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
];

/// How the next `/v1/messages` request is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// A successful reply, streamed or not per the request's `stream` field.
    Normal,
    /// HTTP 429 `rate_limit_error`. On subscription traffic it carries the
    /// unified headers of an exhausted five-hour window (`status: rejected`,
    /// `5h-utilization: 1.0`); on API-key traffic the classic headers with
    /// nothing remaining. Both carry `retry-after`.
    RateLimited,
    /// HTTP 529 `overloaded_error`: a transient throttle, not the quota.
    Overloaded,
    /// HTTP 500 `api_error`.
    ServerError,
    /// A normal reply, but each SSE event is written after `chunk_delay`
    /// (a non-streaming reply waits once).
    SlowStream { chunk_delay: Duration },
    /// `message_start` and one text delta, then the connection is closed
    /// with no `message_stop` and no chunked terminator.
    DropMidStream,
    /// A normal reply with this text.
    Text(String),
    /// A normal reply whose body is delimited by closing the connection
    /// (an HTTP/1.0-style response: no length, no chunked encoding), as some
    /// proxies and servers send.
    CloseDelimited,
    /// Like [`Scenario::DropMidStream`], but close-delimited: the
    /// connection closes after the first text delta, which at the HTTP
    /// layer looks exactly like a body that ended.
    CloseDelimitedDropMidStream,
    /// A stream padded to size: its first burst (message_start up to and
    /// including a text delta) is exactly `head_bytes` long; after a pause a
    /// second text delta of about `tail_bytes` follows, then the usual end.
    Padded { head_bytes: usize, tail_bytes: usize },
    /// A normal stream whose bytes arrive in chunks of this many, cut
    /// anywhere (inside a line, a UTF-8 character, `message_stop` itself),
    /// its JSON spaced as Python's `json.dumps` writes it.
    Rechunked(usize),
    /// A stream cut inside the text delta's `data:` line.
    CutInsideLine,
    /// A whole stream, `message_stop` included, after which the upstream
    /// keeps the connection open for an hour.
    OpenAfterStop,
}

/// The usage a successful reply reports. Claude Code prices its own run
/// from these numbers, so tests compare the gateway's ledger against them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MockUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_5m: u64,
    pub cache_creation_1h: u64,
    pub cache_read: u64,
}

impl Default for MockUsage {
    /// Non-zero everywhere, so a cost that ignores one field shows up.
    fn default() -> Self {
        MockUsage {
            input_tokens: 12,
            output_tokens: 57,
            cache_creation_5m: 1500,
            cache_creation_1h: 300,
            cache_read: 30000,
        }
    }
}

/// How to start a [`MockAnthropic`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MockOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// Benchmark mode: requests are counted but not recorded, so the mock's
    /// own cost per request stays flat.
    pub fast: bool,
}

/// One request as it reached the mock.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The HTTP version it arrived in: HTTP/2 only over TLS, when ALPN chose it.
    pub version: Version,
    pub method: String,
    /// The path with its query string, e.g. `/v1/messages?beta=true`.
    pub path_and_query: String,
    /// Lowercased names with raw values. Duplicates are kept; distinct names
    /// keep their arrival order, and repeats of a name sit next to its first
    /// occurrence (the order `http::HeaderMap` preserves).
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The body as JSON, or `Value::Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A running mock. Dropping it shuts the server down.
pub struct MockAnthropic {
    addr: SocketAddr,
    /// Served over TLS, as `https://localhost:PORT`.
    tls: bool,
    shared: Arc<Shared>,
    // Dropping the sender wakes every receiver's `changed()`: the server
    // stops accepting and idle keep-alive connections close, so a dropped
    // mock really goes away.
    _shutdown: watch::Sender<()>,
}

impl MockAnthropic {
    /// Starts on `127.0.0.1` with a free port, recording every request.
    pub async fn start() -> io::Result<MockAnthropic> {
        Self::start_with(MockOptions::default()).await
    }

    pub async fn start_with(options: MockOptions) -> io::Result<MockAnthropic> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await?;
        let addr = listener.local_addr()?;
        // Without TCP_NODELAY small SSE frames can sit behind Nagle's
        // algorithm and delayed ACKs, adding tens of ms to every stream.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let shared = Arc::new(Shared::new(options.fast));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (shutdown, mut stopped) = watch::channel(());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                })
                .await;
        });
        Ok(MockAnthropic { addr, tls: false, shared, _shutdown: shutdown })
    }

    /// Starts on `127.0.0.1` with a free port, serving HTTPS with `tls`,
    /// which must hold a certificate for `localhost` (the host
    /// [`MockAnthropic::base_url`] names). Each connection speaks whichever
    /// of HTTP/2 and HTTP/1.1 its ALPN negotiation chose, so `tls`'s
    /// `alpn_protocols` decide what the mock offers.
    pub async fn start_tls(tls: Arc<ServerConfig>) -> io::Result<MockAnthropic> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(false));
        let (shutdown, stopped) = watch::channel(());
        let acceptor = TlsAcceptor::from(tls);
        let serving = shared.clone();
        tokio::spawn(async move {
            let mut stopping = stopped.clone();
            loop {
                let tcp = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stopping.changed() => return,
                };
                // An accept error (a connection reset before it was taken)
                // concerns that one connection only.
                let Ok((tcp, _)) = tcp else { continue };
                // As in `start_with`: no Nagle delay on small SSE frames.
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve_tls(tcp, acceptor.clone(), serving.clone(), stopped.clone()));
            }
        });
        Ok(MockAnthropic { addr, tls: true, shared, _shutdown: shutdown })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` when serving
    /// TLS, the name its certificate is for), what `ANTHROPIC_BASE_URL` or a
    /// gateway upstream is set to.
    pub fn base_url(&self) -> String {
        if self.tls { format!("https://localhost:{}", self.addr.port()) } else { format!("http://{}", self.addr) }
    }

    /// Every request received so far, in arrival order (empty in fast mode).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().recorded.clone()
    }

    /// How many requests arrived, on any path; counted in fast mode too.
    pub fn request_count(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed)
    }

    /// Queues `scenario` for the next `/v1/messages` request that passes
    /// authentication and validation; after the queue empties, the default
    /// applies again.
    pub fn push(&self, scenario: Scenario) {
        self.shared.state().queue.push_back(scenario);
    }

    pub fn set_default(&self, scenario: Scenario) {
        self.shared.state().default = scenario;
    }

    pub fn set_usage(&self, usage: MockUsage) {
        self.shared.state().usage = usage;
    }

    /// Moves the 5-hour window: the next allowed subscription response
    /// reports `utilization` (0 to 1), and each one after it `step` more,
    /// up to 1.0. By default it stays at [`FIVE_HOUR_UTILIZATION`].
    pub fn set_five_hour(&self, utilization: f64, step: f64) {
        let mut state = self.shared.state();
        state.five_hour = FiveHour { utilization, step, ..state.five_hour };
    }

    /// The 5-hour window resets: responses from now on carry the next
    /// window's reset time (5 hours later), starting at `utilization`.
    pub fn start_next_five_hour_window(&self, utilization: f64) {
        let mut state = self.shared.state();
        state.five_hour.utilization = utilization;
        state.five_hour.windows_later += 1;
    }
}

struct Shared {
    fast: bool,
    count: AtomicU64,
    state: Mutex<MockState>,
    org_id: String,
    id_seed: u64,
    /// The hour (Unix seconds) the mock started in: its 5-hour window's reset counts from it.
    started_hour: u64,
    next_id: AtomicU64,
}

struct MockState {
    recorded: Vec<RecordedRequest>,
    queue: VecDeque<Scenario>,
    default: Scenario,
    usage: MockUsage,
    five_hour: FiveHour,
}

/// The 5-hour window's utilization, how much each response adds to it,
/// and how many windows after the one the clock is in it is.
#[derive(Clone, Copy)]
struct FiveHour {
    utilization: f64,
    step: f64,
    windows_later: u64,
}

/// What a response says about the 5-hour window.
struct FiveHourReading {
    /// Two decimals, as the real headers have.
    utilization: String,
    /// Unix seconds: three hours after the hour the mock started in (a
    /// window's reset stays put, whenever the test runs), plus 5 hours per
    /// window started since.
    resets_at: u64,
}

impl Shared {
    fn new(fast: bool) -> Shared {
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        Shared {
            fast,
            count: AtomicU64::new(0),
            state: Mutex::new(MockState {
                recorded: Vec::new(),
                queue: VecDeque::new(),
                default: Scenario::Normal,
                usage: MockUsage::default(),
                five_hour: FiveHour {
                    utilization: FIVE_HOUR_UTILIZATION.parse().expect("a number"),
                    step: 0.0,
                    windows_later: 0,
                },
            }),
            org_id: uuid::Uuid::new_v4().to_string(),
            id_seed: seed,
            started_hour: unix_now() / 3600 * 3600,
            next_id: AtomicU64::new(0),
        }
    }

    // A test that panicked while holding the lock must not take every later
    // request down with it, so poisoning is ignored.
    fn state(&self) -> MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, parts: &http::request::Parts, body: &Bytes) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if self.fast {
            return;
        }
        let request = RecordedRequest {
            version: parts.version,
            method: parts.method.to_string(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
            headers: parts.headers.iter().map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())).collect(),
            body: body.clone(),
        };
        self.state().recorded.push(request);
    }

    fn next_scenario(&self) -> (Scenario, MockUsage) {
        let mut state = self.state();
        let scenario = match state.queue.pop_front() {
            Some(s) => s,
            None => state.default.clone(),
        };
        (scenario, state.usage)
    }

    /// The 5-hour utilization for this response, as the header writes it;
    /// `advance` moves the window for the next one.
    fn five_hour(&self, advance: bool) -> FiveHourReading {
        let mut state = self.state();
        let FiveHour { utilization, step, windows_later } = state.five_hour;
        if advance {
            state.five_hour.utilization = (utilization + step).min(1.0);
        }
        // Two decimals, as the real headers have: no float noise.
        let resets_at = self.started_hour + 3 * 3600 + windows_later * 5 * 3600;
        FiveHourReading { utilization: format!("{utilization:.2}"), resets_at }
    }

    /// An id shaped like Anthropic's (`req_011C…`, `msg_01…`): a prefix and
    /// 22 base58 characters. A counter mixed with a per-server seed is unique
    /// and cheaper than a fresh random number per request.
    fn fresh_id(&self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut bits =
            (u128::from(splitmix64(self.id_seed ^ n)) << 64) | u128::from(splitmix64(n.wrapping_add(self.id_seed)));
        let mut id = String::with_capacity(prefix.len() + 22);
        id.push_str(prefix);
        for _ in 0..22 {
            id.push(char::from(ALPHABET[(bits % 58) as usize]));
            bits /= 58;
        }
        id
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One TLS connection of [`MockAnthropic::start_tls`], served by the same
/// handler as plain HTTP.
async fn serve_tls(tcp: TcpStream, acceptor: TlsAcceptor, shared: Arc<Shared>, mut stopped: watch::Receiver<()>) {
    // A client that rejects the certificate aborts the handshake: nothing
    // was requested, so nothing is recorded.
    let Ok(stream) = acceptor.accept(tcp).await else { return };
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(State(shared), request.map(Body::new)).await) }
    });
    // The auto builder reads the connection preface, so it follows whatever
    // ALPN settled on (HTTP/2 clients start with the h2 preface).
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopped.changed() => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}

/// One handler for every route: it reads the raw body itself (axum's
/// extractors would cap it at 2 MB) and records before dispatching.
async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = shared.fresh_id("req_011C");
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            shared.record(&parts, &Bytes::new());
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes.",
                Reply::new(&shared, &request_id),
            );
        }
    };
    shared.record(&parts, &body);
    let reply = Reply::new(&shared, &request_id);
    match (&parts.method, parts.uri.path()) {
        (&Method::POST, "/v1/messages") => messages(&shared, &parts.headers, &body, reply).await,
        (&Method::POST, "/v1/messages/count_tokens") => count_tokens(&parts.headers, &body, reply),
        (&Method::GET, "/v1/models") => models(&parts.headers, reply),
        _ => error_response(StatusCode::NOT_FOUND, "not_found_error", "Not Found", reply),
    }
}

/// Which credential a request carried; it decides the rate-limit headers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    ApiKey,
    Subscription,
}

/// Authenticates like the real API: any non-empty key is accepted, and
/// `x-api-key` wins when both headers are present.
fn authenticate(headers: &HeaderMap) -> Result<Auth, &'static str> {
    if let Some(key) = headers.get("x-api-key") {
        return if key.is_empty() { Err("invalid x-api-key") } else { Ok(Auth::ApiKey) };
    }
    match headers.get(http::header::AUTHORIZATION) {
        None => Err("x-api-key header is required"),
        Some(value) => match value.as_bytes().strip_prefix(b"Bearer ") {
            Some(token) if !token.trim_ascii().is_empty() => Ok(Auth::Subscription),
            _ => Err("invalid bearer token"),
        },
    }
}

/// The fields the mock needs; the rest of Claude Code's large body is
/// skipped without being built into a tree.
#[derive(Deserialize)]
struct MessagesBody<'a> {
    #[serde(borrow)]
    model: Option<std::borrow::Cow<'a, str>>,
    messages: Option<Vec<IgnoredAny>>,
    stream: Option<bool>,
}

fn parse_body(body: &[u8]) -> Result<(String, bool), String> {
    let parsed: MessagesBody = serde_json::from_slice(body)
        .map_err(|e| format!("There was an error parsing the body of your request: {e}"))?;
    let model = parsed.model.ok_or("model: Field required")?;
    if parsed.messages.is_none() {
        return Err("messages: Field required".to_owned());
    }
    Ok((model.into_owned(), parsed.stream.unwrap_or(false)))
}

async fn messages(shared: &Shared, headers: &HeaderMap, body: &[u8], mut reply: Reply) -> Response {
    let auth = match authenticate(headers) {
        Ok(auth) => auth,
        Err(message) => {
            return error_response(StatusCode::UNAUTHORIZED, "authentication_error", message, reply);
        }
    };
    let now = unix_now();
    let (model, stream) = match parse_body(body) {
        Ok(parsed) => parsed,
        Err(message) => {
            rate_limit_headers(&mut reply.headers, auth, now, false, &shared.five_hour(false));
            return error_response(StatusCode::BAD_REQUEST, "invalid_request_error", &message, reply);
        }
    };
    let (scenario, usage) = shared.next_scenario();
    let limited = scenario == Scenario::RateLimited;
    let five_hour = shared.five_hour(auth == Auth::Subscription && !limited);
    rate_limit_headers(&mut reply.headers, auth, now, limited, &five_hour);
    let message = MessageReply { id: shared.fresh_id("msg_01"), model, usage };
    match scenario {
        Scenario::Normal => message.send(DEFAULT_REPLY, stream, Pace::Immediate, reply),
        Scenario::Text(text) => message.send(&text, stream, Pace::Immediate, reply),
        Scenario::SlowStream { chunk_delay } => {
            if !stream {
                tokio::time::sleep(chunk_delay).await;
            }
            message.send(DEFAULT_REPLY, stream, Pace::Every(chunk_delay), reply)
        }
        Scenario::DropMidStream => message.send(DEFAULT_REPLY, stream, Pace::Drop, reply),
        Scenario::CloseDelimited => close_delimited(message.send(DEFAULT_REPLY, stream, Pace::Immediate, reply)),
        Scenario::CloseDelimitedDropMidStream => {
            close_delimited(message.send(DEFAULT_REPLY, stream, Pace::Drop, reply))
        }
        Scenario::Padded { head_bytes, tail_bytes } => message.send_padded(head_bytes, tail_bytes, reply),
        Scenario::Rechunked(size) => message.send(DEFAULT_REPLY, stream, Pace::Rechunked(size), reply),
        Scenario::CutInsideLine => message.send(DEFAULT_REPLY, stream, Pace::CutInsideLine, reply),
        Scenario::OpenAfterStop => message.send(DEFAULT_REPLY, stream, Pace::OpenAfterStop, reply),
        Scenario::RateLimited => {
            let text = match auth {
                Auth::Subscription => "This request would exceed your account's rate limit. Please try again later.",
                Auth::ApiKey => {
                    "This request would exceed the rate limit for your organization of 4,000 \
                     requests per minute. For details, refer to: \
                     https://docs.claude.com/en/api/rate-limits. You can see the response \
                     headers for current usage. Please try again later."
                }
            };
            error_response(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", text, reply)
        }
        Scenario::Overloaded => error_response(
            // 529 is Anthropic's own status code; it is always in range.
            StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "overloaded_error",
            "Overloaded",
            reply,
        ),
        Scenario::ServerError => {
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "Internal server error", reply)
        }
    }
}

/// `response` sent as HTTP/1.0 with `Connection: close`, so hyper ends its
/// body by closing the connection rather than with a length or chunks.
fn close_delimited(mut response: Response) -> Response {
    *response.version_mut() = Version::HTTP_10;
    response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response.headers_mut().remove(http::header::CONTENT_LENGTH);
    response
}

/// How the body of a successful reply is written.
#[derive(Clone, Copy)]
enum Pace {
    Immediate,
    Every(Duration),
    /// Write the start, then fail the body so the connection is cut.
    Drop,
    /// See [`Scenario::Rechunked`].
    Rechunked(usize),
    /// See [`Scenario::CutInsideLine`].
    CutInsideLine,
    /// See [`Scenario::OpenAfterStop`].
    OpenAfterStop,
}

struct MessageReply {
    id: String,
    model: String,
    usage: MockUsage,
}

impl MessageReply {
    fn send(&self, text: &str, stream: bool, pace: Pace, mut reply: Reply) -> Response {
        if !stream {
            let body = serde_json::to_vec(&self.message_json(text)).unwrap_or_default();
            put(&mut reply.headers, "content-type", "application/json");
            let body = match pace {
                Pace::Drop => {
                    let half = Bytes::from(body[..body.len() / 2].to_vec());
                    cut_after(vec![half])
                }
                _ => Body::from(body),
            };
            return reply.finish(StatusCode::OK, body);
        }
        put(&mut reply.headers, "content-type", "text/event-stream; charset=utf-8");
        put(&mut reply.headers, "cache-control", "no-cache");
        let events = self.events(text);
        let body = match pace {
            Pace::Immediate => Body::from_stream(stream::iter(events.into_iter().map(Ok::<_, io::Error>))),
            Pace::Every(delay) => Body::from_stream(stream::iter(events).then(move |event| async move {
                tokio::time::sleep(delay).await;
                Ok::<_, io::Error>(event)
            })),
            // Up to the first text delta: message_start, content_block_start,
            // ping, content_block_delta.
            Pace::Drop => cut_after(events.into_iter().take(4).collect()),
            Pace::Rechunked(size) => {
                let spaced: Vec<u8> = events.iter().flat_map(spaced_json).collect();
                let chunks: Vec<Bytes> = spaced.chunks(size.max(1)).map(Bytes::copy_from_slice).collect();
                Body::from_stream(stream::iter(chunks.into_iter().map(Ok::<_, io::Error>)))
            }
            Pace::CutInsideLine => {
                let all: Vec<u8> = events.concat();
                // Inside `"text":"Hello!…`, the reply's first word.
                let at = all.windows(5).position(|w| w == b"Hello").unwrap_or(all.len() / 2) + 3;
                cut_after(vec![Bytes::copy_from_slice(&all[..at])])
            }
            Pace::OpenAfterStop => {
                let open = stream::once(async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, io::Error>(Bytes::new())
                });
                Body::from_stream(stream::iter(events.into_iter().map(Ok::<_, io::Error>)).chain(open))
            }
        };
        reply.finish(StatusCode::OK, body)
    }

    /// See [`Scenario::Padded`].
    fn send_padded(&self, head_bytes: usize, tail_bytes: usize, mut reply: Reply) -> Response {
        put(&mut reply.headers, "content-type", "text/event-stream; charset=utf-8");
        let mut events = self.events("");
        // message_start, content_block_start, ping | delta | content_block_stop, message_delta, message_stop
        let end = events.split_off(4);
        let empty_delta = events.pop().unwrap_or_default();
        let delta = |text_bytes: usize| {
            sse(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": "x".repeat(text_bytes)}}),
            )
        };
        let used: usize = events.iter().map(Bytes::len).sum::<usize>() + empty_delta.len();
        events.push(delta(head_bytes.saturating_sub(used)));
        let mut rest = vec![delta(tail_bytes)];
        rest.extend(end);
        let head = stream::iter(events.into_iter().map(Ok::<_, io::Error>));
        // The pause lets the head reach the gateway before the rest.
        let rest = stream::once(tokio::time::sleep(Duration::from_millis(500)))
            .flat_map(move |()| stream::iter(rest.clone().into_iter().map(Ok::<_, io::Error>)));
        reply.finish(StatusCode::OK, Body::from_stream(head.chain(rest)))
    }

    fn usage_json(&self) -> Value {
        let u = &self.usage;
        json!({
            "input_tokens": u.input_tokens,
            "cache_creation_input_tokens": u.cache_creation_5m.saturating_add(u.cache_creation_1h),
            "cache_read_input_tokens": u.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": u.cache_creation_5m,
                "ephemeral_1h_input_tokens": u.cache_creation_1h,
            },
            "output_tokens": u.output_tokens,
            "service_tier": "standard",
        })
    }

    fn message_json(&self, text: &str) -> Value {
        json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": self.usage_json(),
        })
    }

    /// The SSE events of one text reply, one `Bytes` each so every event is
    /// its own body frame.
    fn events(&self, text: &str) -> Vec<Bytes> {
        let u = &self.usage;
        // The real message_start reports the prompt's usage and a first
        // output token; message_delta then carries the final counts.
        let mut start_usage = self.usage_json();
        start_usage["output_tokens"] = json!(1);
        let mut events = vec![
            sse(
                "message_start",
                &json!({
                    "type": "message_start",
                    "message": {
                        "id": self.id,
                        "type": "message",
                        "role": "assistant",
                        "model": self.model,
                        "content": [],
                        "stop_reason": null,
                        "stop_sequence": null,
                        "usage": start_usage,
                    },
                }),
            ),
            sse(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0,
                        "content_block": {"type": "text", "text": ""}}),
            ),
            sse("ping", &json!({"type": "ping"})),
        ];
        let mut pieces: Vec<&str> = text.split_inclusive(' ').collect();
        if pieces.is_empty() {
            pieces.push("");
        }
        events.extend(pieces.into_iter().map(|piece| {
            sse(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": piece}}),
            )
        }));
        events.push(sse("content_block_stop", &json!({"type": "content_block_stop", "index": 0})));
        events.push(sse(
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {
                    "input_tokens": u.input_tokens,
                    "cache_creation_input_tokens": u.cache_creation_5m.saturating_add(u.cache_creation_1h),
                    "cache_read_input_tokens": u.cache_read,
                    "output_tokens": u.output_tokens,
                },
            }),
        ));
        events.push(sse("message_stop", &json!({"type": "message_stop"})));
        events
    }
}

fn sse(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// A body that writes `frames` and then fails. Hyper answers a failed body
/// by closing the connection without the chunked terminator, which is what
/// a client sees when Anthropic's stream dies.
/// An SSE event with its JSON data re-spaced as Python's `json.dumps`
/// writes it (`{"type": "message_stop"}`), as proxies that re-encode do.
fn spaced_json(event: &Bytes) -> Vec<u8> {
    let text = String::from_utf8_lossy(event);
    text.lines()
        .map(|line| match line.strip_prefix("data: ").and_then(|data| serde_json::from_str::<Value>(data).ok()) {
            Some(value) => format!("data: {}", python_spacing(&value)),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
        .into_iter()
        .chain(if text.ends_with('\n') { b"\n".to_vec() } else { Vec::new() })
        .collect()
}

fn python_spacing(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> =
                map.iter().map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_spacing(v))).collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(python_spacing).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn cut_after(frames: Vec<Bytes>) -> Body {
    let frames = stream::iter(frames.into_iter().map(Ok::<_, io::Error>));
    // The pause lets hyper flush the frames to the socket before the error
    // discards its write buffer; without it the client might see nothing.
    let failure = stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(io::Error::new(io::ErrorKind::ConnectionAborted, "mock: stream dropped"))
    });
    Body::from_stream(frames.chain(failure))
}

fn count_tokens(headers: &HeaderMap, body: &[u8], reply: Reply) -> Response {
    if let Err(message) = authenticate(headers) {
        return error_response(StatusCode::UNAUTHORIZED, "authentication_error", message, reply);
    }
    if let Err(message) = parse_body(body) {
        return error_response(StatusCode::BAD_REQUEST, "invalid_request_error", &message, reply);
    }
    // Deterministic and roughly the real ratio of about four bytes a token.
    let tokens = (body.len() / 4).max(1);
    json_response(StatusCode::OK, &json!({"input_tokens": tokens}), reply)
}

fn models(headers: &HeaderMap, reply: Reply) -> Response {
    if let Err(message) = authenticate(headers) {
        return error_response(StatusCode::UNAUTHORIZED, "authentication_error", message, reply);
    }
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(id, name, created)| json!({"type": "model", "id": id, "display_name": name, "created_at": created}))
        .collect();
    let body = json!({
        "data": data,
        "has_more": false,
        "first_id": MODELS[0].0,
        "last_id": MODELS[MODELS.len() - 1].0,
    });
    json_response(StatusCode::OK, &body, reply)
}

/// The headers every response carries, gathered before the body is chosen.
struct Reply {
    request_id: String,
    headers: HeaderMap,
}

impl Reply {
    fn new(shared: &Shared, request_id: &str) -> Reply {
        let mut headers = HeaderMap::new();
        put(&mut headers, "request-id", request_id);
        put(&mut headers, "anthropic-organization-id", &shared.org_id);
        Reply { request_id: request_id.to_owned(), headers }
    }

    fn finish(self, status: StatusCode, body: Body) -> Response {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = self.headers;
        response
    }
}

fn json_response(status: StatusCode, body: &Value, mut reply: Reply) -> Response {
    put(&mut reply.headers, "content-type", "application/json");
    let body = serde_json::to_vec(body).unwrap_or_default();
    reply.finish(status, Body::from(body))
}

fn error_response(status: StatusCode, kind: &str, message: &str, reply: Reply) -> Response {
    let body = json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": reply.request_id,
    });
    json_response(status, &body, reply)
}

fn put(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.append(HeaderName::from_static(name), value);
    }
}

/// The rate-limit headers of a `/v1/messages` response. Subscription
/// traffic gets the unified family (resets in epoch seconds), API-key
/// traffic the classic per-minute buckets (resets in RFC 3339).
fn rate_limit_headers(headers: &mut HeaderMap, auth: Auth, now: u64, limited: bool, five_hour: &FiveHourReading) {
    match auth {
        Auth::Subscription => {
            let hour = now / 3600 * 3600;
            let five_hour_reset = five_hour.resets_at.to_string();
            let seven_day_reset = (hour + 4 * 24 * 3600).to_string();
            let (status, five_hour) =
                if limited { ("rejected", "1.0") } else { ("allowed", five_hour.utilization.as_str()) };
            put(headers, "anthropic-ratelimit-unified-status", status);
            put(headers, "anthropic-ratelimit-unified-5h-status", status);
            put(headers, "anthropic-ratelimit-unified-5h-reset", &five_hour_reset);
            put(headers, "anthropic-ratelimit-unified-5h-utilization", five_hour);
            put(headers, "anthropic-ratelimit-unified-7d-status", "allowed");
            put(headers, "anthropic-ratelimit-unified-7d-reset", &seven_day_reset);
            put(headers, "anthropic-ratelimit-unified-7d-utilization", SEVEN_DAY_UTILIZATION);
            put(headers, "anthropic-ratelimit-unified-representative-claim", "five_hour");
            put(headers, "anthropic-ratelimit-unified-fallback-percentage", "0.5");
            put(headers, "anthropic-ratelimit-unified-reset", &five_hour_reset);
            put(headers, "anthropic-ratelimit-unified-overage-status", "rejected");
            put(headers, "anthropic-ratelimit-unified-overage-disabled-reason", "org_level_disabled");
            if limited {
                let wait = five_hour_reset.parse::<u64>().unwrap_or(now).saturating_sub(now);
                put(headers, "retry-after", &wait.to_string());
            }
        }
        Auth::ApiKey => {
            let reset = rfc3339(now + 1);
            let buckets: [(&'static str, &'static str, &'static str, &'static str, u64); 4] = [
                (
                    "anthropic-ratelimit-requests-limit",
                    "anthropic-ratelimit-requests-remaining",
                    "anthropic-ratelimit-requests-reset",
                    "requests",
                    4_000,
                ),
                (
                    "anthropic-ratelimit-input-tokens-limit",
                    "anthropic-ratelimit-input-tokens-remaining",
                    "anthropic-ratelimit-input-tokens-reset",
                    "input",
                    2_000_000,
                ),
                (
                    "anthropic-ratelimit-output-tokens-limit",
                    "anthropic-ratelimit-output-tokens-remaining",
                    "anthropic-ratelimit-output-tokens-reset",
                    "output",
                    400_000,
                ),
                (
                    "anthropic-ratelimit-tokens-limit",
                    "anthropic-ratelimit-tokens-remaining",
                    "anthropic-ratelimit-tokens-reset",
                    "tokens",
                    2_400_000,
                ),
            ];
            for (limit_name, remaining_name, reset_name, kind, limit) in buckets {
                let remaining = match (limited, kind) {
                    (true, "requests") => 0,
                    (false, "requests") => limit - 1,
                    // Token counts are rounded to the nearest thousand.
                    _ => limit - 1_000,
                };
                put(headers, limit_name, &limit.to_string());
                put(headers, remaining_name, &remaining.to_string());
                put(headers, reset_name, &reset);
            }
            if limited {
                put(headers, "retry-after", "1");
            }
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time, the format of the classic reset headers.
fn rfc3339(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::MAX).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn client() -> reqwest::Client {
        reqwest::Client::new()
    }

    fn hello(stream: bool) -> Value {
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
            "stream": stream,
        })
    }

    async fn post(mock: &MockAnthropic, auth: (&str, &str), body: &Value) -> reqwest::Response {
        client()
            .post(format!("{}/v1/messages?beta=true", mock.base_url()))
            .header(auth.0, auth.1)
            .header("anthropic-version", "2023-06-01")
            .body(body.to_string())
            .send()
            .await
            .expect("request reaches the mock")
    }

    const BEARER: (&str, &str) = ("authorization", "Bearer sk-ant-oat01-FAKE-test");
    const API_KEY: (&str, &str) = ("x-api-key", "sk-ant-api03-FAKE-test");

    fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("missing header {name}"))
    }

    /// Reads an SSE body to the end, returning (frames, events as JSON).
    async fn read_sse(response: reqwest::Response) -> (usize, Vec<(String, Value)>) {
        let mut frames = 0;
        let mut raw = Vec::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            raw.extend_from_slice(&chunk.expect("stream completes"));
            frames += 1;
        }
        (frames, parse_sse(&String::from_utf8(raw).expect("utf-8")))
    }

    fn parse_sse(text: &str) -> Vec<(String, Value)> {
        text.split_terminator("\n\n")
            .map(|block| {
                let mut lines = block.lines();
                let event = lines.next().and_then(|l| l.strip_prefix("event: "));
                let data = lines.next().and_then(|l| l.strip_prefix("data: "));
                let (Some(event), Some(data)) = (event, data) else {
                    panic!("malformed SSE block {block:?}");
                };
                (event.to_owned(), serde_json::from_str(data).expect("data is JSON"))
            })
            .collect()
    }

    fn reply_text(events: &[(String, Value)]) -> String {
        events
            .iter()
            .filter(|(e, _)| e == "content_block_delta")
            .map(|(_, d)| d["delta"]["text"].as_str().unwrap_or_default())
            .collect()
    }

    #[tokio::test]
    async fn streaming_reply_has_anthropics_event_sequence() {
        let mock = MockAnthropic::start().await.unwrap();
        let response = post(&mock, BEARER, &hello(true)).await;
        assert_eq!(response.status(), 200);
        assert!(header(&response, "content-type").starts_with("text/event-stream"));
        assert!(header(&response, "request-id").starts_with("req_011C"));
        assert!(!header(&response, "anthropic-organization-id").is_empty());
        let (frames, events) = read_sse(response).await;
        let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
        let deltas = names.iter().filter(|n| **n == "content_block_delta").count();
        assert!(deltas >= 3, "several deltas, got {names:?}");
        let mut expected = vec!["message_start", "content_block_start", "ping"];
        expected.extend(std::iter::repeat_n("content_block_delta", deltas));
        expected.extend(["content_block_stop", "message_delta", "message_stop"]);
        assert_eq!(names, expected);
        for (name, data) in &events {
            assert_eq!(data["type"], name.as_str(), "data type matches event name");
        }
        assert!(frames > 1, "events arrive as separate frames, got {frames}");

        let message = &events[0].1["message"];
        assert!(message["id"].as_str().unwrap().starts_with("msg_01"));
        assert_eq!(message["model"], "claude-sonnet-4-5");
        assert_eq!(message["role"], "assistant");
        assert_eq!(message["content"], json!([]));
        assert_eq!(message["stop_reason"], Value::Null);
        let usage = &message["usage"];
        assert_eq!(usage["input_tokens"], 12);
        assert_eq!(usage["cache_creation_input_tokens"], 1800);
        assert_eq!(usage["cache_read_input_tokens"], 30000);
        assert_eq!(usage["cache_creation"]["ephemeral_5m_input_tokens"], 1500);
        assert_eq!(usage["cache_creation"]["ephemeral_1h_input_tokens"], 300);
        assert_eq!(usage["output_tokens"], 1);
        assert_eq!(usage["service_tier"], "standard");

        let delta = &events[events.len() - 2].1;
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");
        assert_eq!(delta["delta"]["stop_sequence"], Value::Null);
        assert_eq!(delta["usage"]["output_tokens"], 57);
        assert_eq!(delta["usage"]["input_tokens"], 12);
        assert_eq!(delta["usage"]["cache_creation_input_tokens"], 1800);
        assert_eq!(delta["usage"]["cache_read_input_tokens"], 30000);
        assert_eq!(reply_text(&events), DEFAULT_REPLY);
    }

    #[tokio::test]
    async fn non_streaming_reply_is_a_full_message() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.set_usage(MockUsage {
            input_tokens: 1,
            output_tokens: 2,
            cache_creation_5m: 3,
            cache_creation_1h: 4,
            cache_read: 5,
        });
        let response = post(&mock, API_KEY, &hello(false)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "application/json");
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body["type"], "message");
        assert_eq!(body["model"], "claude-sonnet-4-5");
        assert_eq!(body["content"], json!([{"type": "text", "text": DEFAULT_REPLY}]));
        assert_eq!(body["stop_reason"], "end_turn");
        assert_eq!(
            body["usage"],
            json!({
                "input_tokens": 1,
                "cache_creation_input_tokens": 7,
                "cache_read_input_tokens": 5,
                "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 4},
                "output_tokens": 2,
                "service_tier": "standard",
            })
        );
    }

    #[tokio::test]
    async fn the_five_hour_window_moves_per_request_when_asked() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.set_five_hour(0.7, 0.06);
        let mut seen = Vec::new();
        for _ in 0..3 {
            let response = post(&mock, BEARER, &hello(false)).await;
            seen.push(header(&response, "anthropic-ratelimit-unified-5h-utilization").to_string());
        }
        assert_eq!(seen, ["0.70", "0.76", "0.82"]);
        // API-key traffic does not move it.
        post(&mock, API_KEY, &hello(false)).await;
        mock.set_five_hour(0.98, 0.05);
        let first = post(&mock, BEARER, &hello(false)).await;
        assert_eq!(header(&first, "anthropic-ratelimit-unified-5h-utilization"), "0.98");
        let capped = post(&mock, BEARER, &hello(false)).await;
        assert_eq!(header(&capped, "anthropic-ratelimit-unified-5h-utilization"), "1.00");
    }

    #[tokio::test]
    async fn subscription_traffic_gets_unified_rate_limit_headers() {
        let mock = MockAnthropic::start().await.unwrap();
        let response = post(&mock, BEARER, &hello(false)).await;
        assert_eq!(header(&response, "anthropic-ratelimit-unified-status"), "allowed");
        assert_eq!(header(&response, "anthropic-ratelimit-unified-representative-claim"), "five_hour");
        assert_eq!(header(&response, "anthropic-ratelimit-unified-5h-utilization"), FIVE_HOUR_UTILIZATION);
        assert_eq!(header(&response, "anthropic-ratelimit-unified-7d-utilization"), SEVEN_DAY_UTILIZATION);
        let now = unix_now();
        for name in [
            "anthropic-ratelimit-unified-reset",
            "anthropic-ratelimit-unified-5h-reset",
            "anthropic-ratelimit-unified-7d-reset",
        ] {
            let reset: u64 = header(&response, name).parse().unwrap();
            assert!(reset > now, "{name} is a future epoch");
        }
        assert!(response.headers().contains_key("anthropic-ratelimit-unified-fallback-percentage"));
        assert!(response.headers().contains_key("anthropic-ratelimit-unified-overage-status"));
        assert!(!response.headers().contains_key("anthropic-ratelimit-requests-limit"));
    }

    #[tokio::test]
    async fn api_key_traffic_gets_classic_rate_limit_headers() {
        let mock = MockAnthropic::start().await.unwrap();
        let response = post(&mock, API_KEY, &hello(false)).await;
        for bucket in ["requests", "tokens", "input-tokens", "output-tokens"] {
            let limit: u64 = header(&response, &format!("anthropic-ratelimit-{bucket}-limit")).parse().unwrap();
            let remaining: u64 = header(&response, &format!("anthropic-ratelimit-{bucket}-remaining")).parse().unwrap();
            assert!(remaining < limit);
            let reset = header(&response, &format!("anthropic-ratelimit-{bucket}-reset"));
            assert_eq!(reset.len(), 20, "RFC 3339 like 2025-08-21T12:40:59Z: {reset}");
            assert!(reset.ends_with('Z') && reset.as_bytes()[10] == b'T');
        }
        assert!(!response.headers().contains_key("anthropic-ratelimit-unified-status"));
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_755_780_059), "2025-08-21T12:40:59Z");
        assert_eq!(rfc3339(1_709_208_000), "2024-02-29T12:00:00Z");
    }

    #[tokio::test]
    async fn missing_credentials_get_401() {
        let mock = MockAnthropic::start().await.unwrap();
        let response = client()
            .post(format!("{}/v1/messages", mock.base_url()))
            .body(hello(false).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("request-id"));
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "authentication_error");
        assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
        assert_eq!(mock.requests().len(), 1, "rejected requests are recorded too");
    }

    #[tokio::test]
    async fn invalid_bodies_get_400() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.push(Scenario::ServerError);
        for body in [
            "not json".to_owned(),
            json!({"messages": []}).to_string(),
            json!({"model": "claude-haiku-4-5"}).to_string(),
            json!({"model": 5, "messages": []}).to_string(),
        ] {
            let response = client()
                .post(format!("{}/v1/messages", mock.base_url()))
                .header(API_KEY.0, API_KEY.1)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400);
            let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
            assert_eq!(body["error"]["type"], "invalid_request_error");
        }
        // Invalid requests do not use up the queued scenario.
        assert_eq!(post(&mock, API_KEY, &hello(false)).await.status(), 500);
    }

    #[tokio::test]
    async fn requests_are_recorded_raw_with_query() {
        let mock = MockAnthropic::start().await.unwrap();
        let body = hello(true).to_string();
        let response = client()
            .post(format!("{}/v1/messages?beta=true", mock.base_url()))
            .header("Authorization", "Bearer sk-ant-oat01-FAKE-x")
            .header("anthropic-beta", "oauth-2025-04-20")
            .header("X-Gatehouse-Key", "abc")
            .header("anthropic-beta", "claude-code-20250219")
            .header("x-binary", HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        read_sse(response).await;
        let recorded = mock.requests();
        assert_eq!(recorded.len(), 1);
        let r = &recorded[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.path_and_query, "/v1/messages?beta=true");
        assert_eq!(r.body, body.as_bytes());
        assert_eq!(r.json()["model"], "claude-sonnet-4-5");
        assert_eq!(r.header("x-gatehouse-key"), Some(&b"abc"[..]));
        assert_eq!(r.header("AUTHORIZATION"), Some(&b"Bearer sk-ant-oat01-FAKE-x"[..]));
        assert_eq!(r.header("x-binary"), Some(&b"caf\xe9"[..]));
        let betas: Vec<&[u8]> =
            r.headers.iter().filter(|(n, _)| n == "anthropic-beta").map(|(_, v)| v.as_slice()).collect();
        assert_eq!(betas, [&b"oauth-2025-04-20"[..], b"claude-code-20250219"]);
        assert!(r.headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()));
    }

    #[tokio::test]
    async fn large_bodies_are_accepted_and_recorded() {
        let mock = MockAnthropic::start().await.unwrap();
        let mut body = hello(false);
        body["system"] = json!("x".repeat(3 * 1024 * 1024));
        let response = post(&mock, BEARER, &body).await;
        assert_eq!(response.status(), 200);
        assert!(mock.requests()[0].body.len() > 3 * 1024 * 1024);
    }

    #[tokio::test]
    async fn rate_limited_is_a_subscription_quota_429_then_default_resumes() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.push(Scenario::RateLimited);
        let response = post(&mock, BEARER, &hello(true)).await;
        assert_eq!(response.status(), 429);
        assert_eq!(header(&response, "anthropic-ratelimit-unified-status"), "rejected");
        assert_eq!(header(&response, "anthropic-ratelimit-unified-representative-claim"), "five_hour");
        assert_eq!(header(&response, "anthropic-ratelimit-unified-5h-utilization"), "1.0");
        let reset: u64 = header(&response, "anthropic-ratelimit-unified-reset").parse().unwrap();
        assert!(reset > unix_now());
        let retry: u64 = header(&response, "retry-after").parse().unwrap();
        assert!(retry > 0);
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "rate_limit_error");

        let response = post(&mock, BEARER, &hello(false)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "anthropic-ratelimit-unified-status"), "allowed");
    }

    #[tokio::test]
    async fn rate_limited_api_key_traffic_has_nothing_remaining() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.push(Scenario::RateLimited);
        let response = post(&mock, API_KEY, &hello(false)).await;
        assert_eq!(response.status(), 429);
        assert_eq!(header(&response, "anthropic-ratelimit-requests-remaining"), "0");
        assert!(response.headers().contains_key("retry-after"));
    }

    #[tokio::test]
    async fn error_scenarios_use_anthropics_status_and_type() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.push(Scenario::Overloaded);
        mock.push(Scenario::ServerError);
        for (status, kind) in [(529, "overloaded_error"), (500, "api_error")] {
            let response = post(&mock, BEARER, &hello(true)).await;
            assert_eq!(response.status(), status);
            assert!(header(&response, "request-id").starts_with("req_"));
            let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
            assert_eq!(body["error"]["type"], kind);
        }
    }

    #[tokio::test]
    async fn text_scenario_and_default_override() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.set_default(Scenario::Text("pong, from the default".into()));
        mock.push(Scenario::Text("queued one".into()));
        let (_, events) = read_sse(post(&mock, BEARER, &hello(true)).await).await;
        assert_eq!(reply_text(&events), "queued one");
        for _ in 0..2 {
            let (_, events) = read_sse(post(&mock, BEARER, &hello(true)).await).await;
            assert_eq!(reply_text(&events), "pong, from the default");
        }
        let body: Value = post(&mock, BEARER, &hello(false)).await.json_value().await;
        assert_eq!(body["content"][0]["text"], "pong, from the default");
    }

    #[tokio::test]
    async fn slow_stream_spaces_out_events() {
        let mock = MockAnthropic::start().await.unwrap();
        let delay = Duration::from_millis(30);
        mock.push(Scenario::SlowStream { chunk_delay: delay });
        let started = Instant::now();
        let response = post(&mock, BEARER, &hello(true)).await;
        let mut body = response.bytes_stream();
        let mut arrivals = Vec::new();
        while let Some(chunk) = body.next().await {
            chunk.unwrap();
            arrivals.push(started.elapsed());
        }
        assert!(arrivals.len() >= 8, "{arrivals:?}");
        assert!(arrivals[arrivals.len() - 1] >= delay * 8);
        assert!(arrivals[arrivals.len() - 1] - arrivals[0] >= delay * 6);
    }

    #[tokio::test]
    async fn close_delimited_replies_end_by_closing_the_connection() {
        let mock = MockAnthropic::start().await.unwrap();
        for (scenario, complete) in [(Scenario::CloseDelimited, true), (Scenario::CloseDelimitedDropMidStream, false)] {
            mock.push(scenario);
            let mut tcp = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
            let body = hello(true).to_string();
            let request = format!(
                "POST /v1/messages HTTP/1.1\r\nhost: localhost\r\nx-api-key: k\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            );
            tokio::io::AsyncWriteExt::write_all(&mut tcp, request.as_bytes()).await.unwrap();
            let mut received = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut received).await.unwrap();
            let text = String::from_utf8_lossy(&received);
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with("HTTP/1.0 200"), "{head}");
            assert!(!head.contains("transfer-encoding") && !head.contains("content-length"), "{head}");
            assert!(body.starts_with("event: message_start"), "{body}");
            assert_eq!(body.contains("event: message_stop"), complete, "{body}");
        }
    }

    #[tokio::test]
    async fn drop_mid_stream_fails_the_client_read() {
        let mock = MockAnthropic::start().await.unwrap();
        mock.push(Scenario::DropMidStream);
        let response = post(&mock, BEARER, &hello(true)).await;
        assert_eq!(response.status(), 200);
        let mut body = response.bytes_stream();
        let mut received = Vec::new();
        let mut failed = false;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => received.extend_from_slice(&bytes),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "the read must fail, not end cleanly");
        let text = String::from_utf8(received).unwrap();
        let events = parse_sse(&text);
        let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(names, ["message_start", "content_block_start", "ping", "content_block_delta"]);

        // Non-streaming: a truncated JSON body, also a read error.
        mock.push(Scenario::DropMidStream);
        let response = post(&mock, BEARER, &hello(false)).await;
        assert!(response.bytes().await.is_err());
        // And the mock carries on.
        assert_eq!(post(&mock, BEARER, &hello(false)).await.status(), 200);
    }

    #[tokio::test]
    async fn count_tokens_models_and_unknown_paths() {
        let mock = MockAnthropic::start().await.unwrap();
        let url = format!("{}/v1/messages/count_tokens?beta=true", mock.base_url());
        let count = |body: String| {
            let url = url.clone();
            async move {
                client().post(url).header(API_KEY.0, API_KEY.1).body(body).send().await.unwrap().json_value().await
            }
        };
        let small = count(hello(false).to_string()).await;
        let again = count(hello(false).to_string()).await;
        let mut big = hello(false);
        big["system"] = json!("y".repeat(4000));
        let big = count(big.to_string()).await;
        assert_eq!(small, again);
        assert!(small["input_tokens"].as_u64().unwrap() > 0);
        assert!(big["input_tokens"].as_u64() > small["input_tokens"].as_u64());

        let models = client()
            .get(format!("{}/v1/models", mock.base_url()))
            .header(BEARER.0, BEARER.1)
            .send()
            .await
            .unwrap()
            .json_value()
            .await;
        let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        for id in ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5"] {
            assert!(ids.contains(&id));
        }
        assert_eq!(models["data"][0]["type"], "model");
        assert!(models["data"][0]["display_name"].is_string());
        assert!(models["data"][0]["created_at"].is_string());
        assert_eq!(models["has_more"], false);
        assert_eq!(models["first_id"], ids[0]);
        assert_eq!(models["last_id"], ids[ids.len() - 1]);

        let response = client().get(format!("{}/v1/nothing", mock.base_url())).send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(response.json_value().await["error"]["type"], "not_found_error");
        assert_eq!(mock.requests().len(), 5);
        assert_eq!(mock.request_count(), 5);
    }

    #[tokio::test]
    async fn fast_mode_answers_correctly_without_recording() {
        let mock = MockAnthropic::start_with(MockOptions { port: 0, fast: true }).await.unwrap();
        let (_, events) = read_sse(post(&mock, BEARER, &hello(true)).await).await;
        assert_eq!(events.last().unwrap().0, "message_stop");
        assert_eq!(reply_text(&events), DEFAULT_REPLY);
        assert!(mock.requests().is_empty());
        assert_eq!(mock.request_count(), 1);
    }

    #[tokio::test]
    async fn ids_are_unique() {
        let mock = MockAnthropic::start().await.unwrap();
        let a = post(&mock, BEARER, &hello(false)).await;
        let b = post(&mock, BEARER, &hello(false)).await;
        assert_ne!(header(&a, "request-id"), header(&b, "request-id"));
        let (a, b) = (a.json_value().await, b.json_value().await);
        assert_ne!(a["id"], b["id"]);
        assert_eq!(a["id"].as_str().unwrap().len(), "msg_01".len() + 22);
    }

    #[tokio::test]
    async fn dropping_the_mock_shuts_it_down() {
        let mock = MockAnthropic::start().await.unwrap();
        let url = mock.base_url();
        let kept_alive = client();
        let first = kept_alive
            .post(format!("{url}/v1/messages"))
            .header(BEARER.0, BEARER.1)
            .body(hello(false).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), 200);
        first.bytes().await.unwrap();
        drop(mock);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Neither a fresh connection nor the pooled keep-alive one is served.
        for c in [client(), kept_alive] {
            let result = c
                .post(format!("{url}/v1/messages"))
                .header(BEARER.0, BEARER.1)
                .body(hello(false).to_string())
                .send()
                .await;
            assert!(result.is_err(), "a dropped mock must not answer");
        }
    }

    /// reqwest's `json` feature is not enabled in the workspace, so bodies
    /// are parsed here.
    trait JsonValue {
        async fn json_value(self) -> Value;
    }

    impl JsonValue for reqwest::Response {
        async fn json_value(self) -> Value {
            serde_json::from_slice(&self.bytes().await.expect("body")).expect("JSON body")
        }
    }
}
