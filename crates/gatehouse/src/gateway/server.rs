//! Accepting connections: the gateway's own HTTP/1.1 server loop.
//!
//! Every open connection holds a file descriptor, and a process has only so
//! many. So the loop bounds what a hostile or careless client can hold: a
//! connection must send a complete request head within [`HEADER_TIMEOUT`] of
//! connecting or of its previous response (which closes idle keep-alive and
//! slow-dribbling connections alike), and its body within as long again; at most [`Limits::max_connections`]
//! connections are served at once, and one more is answered with a short
//! `503` rather than left hanging; and when descriptors do run out, accepting
//! backs off and the log says why, once in a while rather than per
//! connection.
//!
//! Only HTTP/1.1 (and 1.0) is served. Claude Code and the SDKs speak
//! HTTP/1.1 to an `http://` base URL; HTTP/2 in clear text would only add a
//! second set of limits to get right. A client that opens with the HTTP/2
//! preface gets the protocol's own refusal (`GOAWAY` with
//! `HTTP_1_1_REQUIRED`), and an `Upgrade: h2c` header is ignored, as
//! RFC 9110 allows.
//!
//! hyper answers requests it cannot parse on its own, with a bare status
//! and an empty body. [`ShapedIo`] swaps those answers for Anthropic's
//! error shape, which is what Claude Code and the SDKs show their user.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::Gateway;
use super::fd_limit;
use crate::anthropic::errors::{ErrorKind, error_json, error_response};

/// How long a connection may take to send a complete request head, counted
/// from when it connects or its previous response ends.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Test hook: the header timeout in milliseconds, so tests need not wait 30 s.
const HEADER_TIMEOUT_ENV: &str = "GATEHOUSE_TEST_HEADER_TIMEOUT_MS";
/// How long in-flight responses may run on after a shutdown request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Test hook: the shutdown grace in milliseconds.
const SHUTDOWN_GRACE_ENV: &str = "GATEHOUSE_TEST_SHUTDOWN_GRACE_MS";
/// Test hook: the connection cap, overriding the one derived from the open-file limit.
const MAX_CONNECTIONS_ENV: &str = "GATEHOUSE_TEST_MAX_CONNECTIONS";
/// How long streams cut at the end of the grace get to say so to their clients.
const CUT_FLUSH: Duration = Duration::from_secs(2);
/// Descriptors kept back for the ledger, the config, logs and the runtime.
const RESERVED_FDS: u64 = 32;
/// The most connections served at once, however high the open-file limit.
const MAX_CONNECTIONS: usize = 4096;
/// Connections over the cap being told so at once; past this they are closed unanswered.
const MAX_REFUSALS: usize = 8;
/// How long a connection over the cap may take to send the request its refusal answers.
const REFUSAL_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause before accepting again after running out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What one gateway process may hold open.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
    /// The soft open-file limit the cap was derived from, if known.
    pub(crate) open_files: Option<u64>,
}

impl Limits {
    /// Limits for this process: each served connection may need a second
    /// descriptor for its upstream connection, so the cap is half of what
    /// the open-file limit leaves after [`RESERVED_FDS`].
    pub(crate) fn for_process() -> Limits {
        let open_files = fd_limit::open_files();
        let derived = open_files.map_or(MAX_CONNECTIONS, |limit| {
            usize::try_from(limit.saturating_sub(RESERVED_FDS) / 2).unwrap_or(MAX_CONNECTIONS)
        });
        let max_connections = env_number(MAX_CONNECTIONS_ENV).map_or(derived, |n| n as usize).clamp(1, MAX_CONNECTIONS);
        Limits {
            max_connections,
            header_timeout: header_timeout(),
            shutdown_grace: env_number(SHUTDOWN_GRACE_ENV).map_or(SHUTDOWN_GRACE, Duration::from_millis),
            open_files,
        }
    }
}

/// How long a request head may take to arrive; a request body gets as long again.
pub(crate) fn header_timeout() -> Duration {
    env_number(HEADER_TIMEOUT_ENV).map_or(HEADER_TIMEOUT, Duration::from_millis)
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok().filter(|&n| n > 0)
}

/// Logs a recurring problem at most once per [`LogThrottle::EVERY`], with a
/// count of the occurrences in between, so a flood cannot flood the log.
#[derive(Default)]
pub(crate) struct LogThrottle {
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogThrottle {
    const EVERY: Duration = Duration::from_secs(10);

    /// `Some(occurrences since the last message)` when it is time to log again.
    pub(crate) fn due(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (last, skipped) = &mut *state;
        if last.is_some_and(|at| at.elapsed() < Self::EVERY) {
            *skipped += 1;
            return None;
        }
        *last = Some(Instant::now());
        Some(std::mem::take(skipped))
    }
}

/// `" (and N more since the last message)"`, or nothing.
pub(crate) fn more_since(skipped: u64) -> String {
    if skipped == 0 { String::new() } else { format!(" ({skipped} more since the last message)") }
}

/// Serves on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish for a grace period; streams still running after it end
/// with an error event that says why.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = Limits::for_process();
    *gateway.listen.lock().unwrap_or_else(|p| p.into_inner()) = listener.local_addr().ok();
    tracing::info!(
        max_connections = limits.max_connections,
        open_file_limit = limits.open_files,
        header_timeout_secs = limits.header_timeout.as_secs_f64(),
        "accepting connections"
    );
    let mut serving = http1::Builder::new();
    serving.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let serving = Arc::new(serving);
    let mut refusing = http1::Builder::new();
    refusing.timer(TokioTimer::new()).header_read_timeout(REFUSAL_HEADER_TIMEOUT).keep_alive(false);
    let refusing = Arc::new(refusing);

    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let (stop, stopped) = watch::channel(());
    let (cut, cut_seen) = watch::channel(());
    let app = super::router(gateway.clone());
    let (over_cap, out_of_files) = (LogThrottle::default(), LogThrottle::default());
    let mut shutdown = pin!(shutdown);

    loop {
        let tcp = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(error) => {
                    if fd_limit::is_exhaustion(&error) {
                        if let Some(skipped) = out_of_files.due() {
                            tracing::warn!(
                                "cannot accept connections: {}{}",
                                fd_limit::exhausted_message(&error),
                                more_since(skipped)
                            );
                        }
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    } else if !is_connection_error(&error) {
                        tracing::warn!("cannot accept a connection: {error}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
        };
        // Without TCP_NODELAY each small SSE event waits for the client's
        // delayed ACK (~40 ms on Linux) before it leaves: streaming would stutter.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {error}");
        }
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let signals = (stopped.clone(), cut_seen.clone());
                let connection = serve_connection(tcp, serving.clone(), app.clone(), signals, slot);
                tokio::spawn(connection);
            }
            Err(_) => {
                if let Some(skipped) = over_cap.due() {
                    tracing::warn!(
                        "connection limit reached: {} connections are open, so new ones are refused with 503 until \
                         some close (idle ones close after {:?}); raise the open-file limit (`ulimit -n`) to allow \
                         more{}",
                        limits.max_connections,
                        limits.header_timeout,
                        more_since(skipped)
                    );
                }
                // Past a few refusals at once, closing is the only answer that costs nothing.
                if let Ok(permit) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(refuse_connection(tcp, refusing.clone(), limits, permit));
                }
            }
        }
    }
    // Stop accepting, and let each connection finish its response and close.
    drop(listener);
    drop(stop);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let mut drained = pin!(slots.acquire_many(all));
    tokio::select! {
        _ = drained.as_mut() => return Ok(()),
        () = tokio::time::sleep(limits.shutdown_grace) => {}
    }
    tracing::warn!("responses still in flight after {:?}; ending them", limits.shutdown_grace);
    gateway.stream_cut.cut();
    drop(cut);
    let _ = tokio::time::timeout(CUT_FLUSH, drained).await;
    Ok(())
}

/// Errors about one connection that has already gone, not about the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it closes, or closes it gracefully once
/// `stopped` fires. When `cut` fires too, the connection is polled once more
/// so that a body waiting on its upstream sees the cut and says so.
async fn serve_connection(
    tcp: TcpStream,
    serving: Arc<http1::Builder>,
    app: Router,
    (mut stopped, mut cut): (watch::Receiver<()>, watch::Receiver<()>),
    _slot: OwnedSemaphorePermit,
) {
    let connection = serving.serve_connection(TokioIo::new(ShapedIo::new(tcp)), TowerToHyperService::new(app));
    let mut connection = pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                result = connection.as_mut() => result,
                _ = cut.changed() => connection.await,
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!("connection closed: {error}");
    }
}

/// Answers one request on a connection over the cap with a 503, then closes it.
async fn refuse_connection(
    tcp: TcpStream,
    refusing: Arc<http1::Builder>,
    limits: Limits,
    _permit: OwnedSemaphorePermit,
) {
    let service = hyper::service::service_fn(move |_request| {
        let message = format!(
            "the gateway already has {} connections open, its limit; close Claude Code sessions or other clients \
             you no longer use, or raise the open-file limit (`ulimit -n`) before starting the gateway, then retry",
            limits.max_connections
        );
        let mut response = error_response(StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Overloaded, &message);
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        async move { Ok::<_, Infallible>(response) }
    });
    if let Err(error) = refusing.serve_connection(TokioIo::new(ShapedIo::new(tcp)), service).await {
        tracing::debug!("refused connection closed: {error}");
    }
}

/// The start of the HTTP/2 connection preface (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// A TCP stream that rewrites hyper's own answers to unparsable requests
/// into Anthropic's error shape, and refuses HTTP/2 the HTTP/2 way.
pub(crate) struct ShapedIo {
    tcp: TcpStream,
    /// Whether any byte has been read yet (the HTTP/2 preface comes first).
    read_any: bool,
    /// Bytes of our own to write before anything else: a rewritten answer or
    /// the HTTP/2 refusal. Once set, whatever hyper writes is dropped.
    replacement: Option<(Bytes, usize)>,
    /// The client spoke HTTP/2: after the refusal, reading ends.
    refused_h2: bool,
}

impl ShapedIo {
    pub(crate) fn new(tcp: TcpStream) -> ShapedIo {
        ShapedIo { tcp, read_any: false, replacement: None, refused_h2: false }
    }

    /// Writes out the replacement, if any.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((bytes, written)) = self.replacement.as_mut() else { return Poll::Ready(Ok(())) };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ShapedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.refused_h2 {
            // The refusal goes out, then the connection reads as closed.
            ready!(this.poll_replacement(cx))?;
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.tcp).poll_read(cx, buf))?;
        if !this.read_any && buf.filled().len() > before {
            this.read_any = true;
            if buf.filled()[before..].starts_with(H2_PREFACE) {
                buf.set_filled(before);
                this.refused_h2 = true;
                this.replacement = Some((http2_refusal(), 0));
                tracing::debug!("refused an HTTP/2 connection");
                ready!(this.poll_replacement(cx))?;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ShapedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacement.is_none() {
            match parse_error_answer(buf) {
                Some(answer) => this.replacement = Some((answer, 0)),
                None => return Pin::new(&mut this.tcp).poll_write(cx, buf),
            }
        }
        ready!(this.poll_replacement(cx))?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
        if self.replacement.is_some() || first.starts_with(ANSWER_PREFIX) {
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// How every client-error status line hyper writes begins.
const ANSWER_PREFIX: &[u8] = b"HTTP/1.1 4";

/// If `written` is hyper's own answer to a request it could not parse (a
/// head alone, with an empty body and none of the gateway's own headers),
/// the same answer in Anthropic's error shape.
fn parse_error_answer(written: &[u8]) -> Option<Bytes> {
    let status = written.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let (status, message) = match status {
        b"400" => (
            StatusCode::BAD_REQUEST,
            "the gateway could not parse this request as HTTP/1.1 (a malformed request line or header, or \
             conflicting body framing such as both Content-Length and Transfer-Encoding); send a well-formed request",
        ),
        b"414" => (StatusCode::URI_TOO_LONG, "the request target is too long for the gateway; send a shorter path"),
        b"431" => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "the request has too many headers (at most 100) or headers too large for the gateway; send fewer or \
             smaller headers",
        ),
        _ => return None,
    };
    let head_end = memchr::memmem::find(written, b"\r\n\r\n")?;
    let is_bare = head_end + 4 == written.len()
        && memchr::memmem::find(written, b"\r\ncontent-length: 0\r\n").is_some()
        && memchr::memmem::find(written, b"\r\nx-gatehouse-").is_none();
    if !is_bare {
        return None;
    }
    let body = error_json(ErrorKind::InvalidRequest, message);
    let answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\
         x-gatehouse-error: 1\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    );
    Some(Bytes::from(answer))
}

/// An HTTP/2 server preface (an empty SETTINGS frame) followed by GOAWAY
/// with `HTTP_1_1_REQUIRED` and a message for whoever reads the debug data.
fn http2_refusal() -> Bytes {
    const MESSAGE: &[u8] = b"the Gatehouse gateway speaks HTTP/1.1 only; connect with HTTP/1.1";
    const SETTINGS: u8 = 0x4;
    const GOAWAY: u8 = 0x7;
    const HTTP_1_1_REQUIRED: u32 = 0xd;
    let mut frames = Vec::with_capacity(9 + 9 + 8 + MESSAGE.len());
    let mut frame = |kind: u8, payload: &[u8]| {
        let length = u32::try_from(payload.len()).unwrap_or(0).to_be_bytes();
        frames.extend_from_slice(&length[1..]);
        frames.extend_from_slice(&[kind, 0, 0, 0, 0, 0]);
        frames.extend_from_slice(payload);
    };
    frame(SETTINGS, &[]);
    let mut goaway = Vec::with_capacity(8 + MESSAGE.len());
    goaway.extend_from_slice(&0u32.to_be_bytes());
    goaway.extend_from_slice(&HTTP_1_1_REQUIRED.to_be_bytes());
    goaway.extend_from_slice(MESSAGE);
    frame(GOAWAY, &goaway);
    Bytes::from(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_bare_answers_are_reshaped_and_others_pass() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = parse_error_answer(bare).unwrap();
        let text = std::str::from_utf8(&answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{text}");
        let body: serde_json::Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert!(parse_error_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").is_some());
        for ours in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-gatehouse-upstream: anthropic\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nmore",
        ] {
            assert!(parse_error_answer(ours).is_none(), "{}", String::from_utf8_lossy(ours));
        }
    }

    #[test]
    fn http2_refusal_is_settings_then_goaway_http_1_1_required() {
        let frames = http2_refusal();
        assert_eq!(&frames[..9], &[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        let goaway = &frames[9..];
        assert_eq!(goaway[3], 7);
        let length = u32::from_be_bytes([0, goaway[0], goaway[1], goaway[2]]) as usize;
        assert_eq!(goaway.len(), 9 + length);
        assert_eq!(&goaway[13..17], &13u32.to_be_bytes());
    }

    #[test]
    fn throttle_logs_once_then_counts() {
        let throttle = LogThrottle::default();
        assert_eq!(throttle.due(), Some(0));
        assert_eq!(throttle.due(), None);
        assert_eq!(throttle.due(), None);
        assert_eq!(throttle.state.lock().unwrap().1, 2);
    }
}
