//! The response body on its way back to the client.
//!
//! Each chunk from the upstream is handed to the client as soon as it
//! arrives, untouched. A reference to it (not a copy: `Bytes` is shared) is
//! kept for the ledger, which parses usage on its own thread once the
//! response ends. However the response ends (completely, by an upstream
//! failure, a read timeout, or by the client hanging up) exactly one ledger
//! record is sent.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use tokio::time::Sleep;

use super::errors::sse_error_event;
use super::upstream_client::with_causes;
use crate::ledger::record::{Exchange, Outcome};
use crate::ledger::writer::LedgerSender;

/// Response bytes kept for usage parsing, at most. Far above any real
/// response (128k output tokens of SSE is a few MB); past it the usage of a
/// pathological response is lost rather than memory.
const MAX_KEPT_BYTES: usize = 32 * 1024 * 1024;

/// What to record when the body ends.
pub struct Recording {
    pub ledger: LedgerSender,
    pub exchange: Exchange,
    pub started: Instant,
    kept_bytes: usize,
}

impl Recording {
    pub fn new(ledger: LedgerSender, exchange: Exchange, started: Instant) -> Recording {
        Recording { ledger, exchange, started, kept_bytes: 0 }
    }
}

/// How long the upstream may go quiet mid-body. The timer is armed only
/// when a read actually has to wait, and moved only when it fires early, so
/// a chunk that arrives costs a clock read rather than a timer update.
struct IdleTimeout {
    limit: Duration,
    last_read: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

impl IdleTimeout {
    /// Ready when the upstream has been quiet for `limit`.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let deadline = (self.last_read + self.limit).into();
            let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            ready!(timer.as_mut().poll(cx));
            if self.last_read.elapsed() >= self.limit {
                return Poll::Ready(());
            }
        }
    }
}

/// A relayed response body that reports to the ledger when it ends.
pub struct MeteredBody {
    upstream: Incoming,
    recording: Option<Recording>,
    event_stream: bool,
    upstream_name: std::sync::Arc<str>,
    finished: bool,
    /// Bytes still due when the upstream declared a `Content-Length`. Hyper
    /// drops a body as soon as it has written that many bytes, without
    /// polling it for its end, so the body must notice on its own.
    remaining: Option<u64>,
    idle: IdleTimeout,
}

impl MeteredBody {
    pub fn new(
        upstream: Incoming,
        recording: Option<Recording>,
        event_stream: bool,
        upstream_name: std::sync::Arc<str>,
        content_length: Option<u64>,
        read_timeout: Duration,
    ) -> MeteredBody {
        MeteredBody {
            upstream,
            recording,
            event_stream,
            upstream_name,
            finished: false,
            remaining: content_length,
            idle: IdleTimeout { limit: read_timeout, last_read: Instant::now(), timer: None },
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        self.finished = true;
        if let Some(mut recording) = self.recording.take() {
            recording.exchange.outcome = outcome;
            recording.exchange.latency = recording.started.elapsed();
            recording.ledger.record(recording.exchange);
        }
    }

    fn relay(&mut self, chunk: Bytes) -> Frame<Bytes> {
        self.idle.last_read = Instant::now();
        if let Some(recording) = self.recording.as_mut()
            && recording.kept_bytes + chunk.len() <= MAX_KEPT_BYTES
        {
            recording.kept_bytes += chunk.len();
            recording.exchange.body.push(chunk.clone());
        }
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining = remaining.saturating_sub(chunk.len() as u64);
            if *remaining == 0 {
                self.finish(Outcome::Relayed);
            }
        }
        Frame::data(chunk)
    }

    /// Ends the body after the upstream failed; `cause` never holds a URL or header.
    fn fail(&mut self, cause: String) -> Poll<Option<std::io::Result<Frame<Bytes>>>> {
        let message = format!(
            "the connection to upstream `{}` failed mid-response: {cause}; the response is incomplete, retry the request",
            self.upstream_name,
        );
        tracing::warn!(upstream = %self.upstream_name, "{message}");
        self.finish(Outcome::UpstreamFailed);
        if self.event_stream {
            // The status line is long gone; an SSE `error` event is how
            // Anthropic itself reports a failure mid-stream.
            Poll::Ready(Some(Ok(Frame::data(sse_error_event(&message)))))
        } else {
            Poll::Ready(Some(Err(std::io::Error::other(message))))
        }
    }
}

impl Body for MeteredBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.upstream).poll_frame(cx) {
                Poll::Pending => {
                    ready!(this.idle.poll_expired(cx));
                    let waited = this.idle.limit;
                    return this.fail(format!("timed out: no data for {waited:?}"));
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(chunk) => return Poll::Ready(Some(Ok(this.relay(chunk)))),
                    // Trailers are not relayed (an HTTP/1.1 client rarely
                    // accepts them); the body goes on to its end.
                    Err(_) => continue,
                },
                Poll::Ready(Some(Err(error))) => return this.fail(with_causes("connection error", &error)),
                Poll::Ready(None) => {
                    this.finish(Outcome::Relayed);
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        if !self.finished {
            // An empty body with `Content-Length: 0` is never polled at all.
            let outcome = if self.remaining == Some(0) { Outcome::Relayed } else { Outcome::ClientGone };
            self.finish(outcome);
        }
    }
}
