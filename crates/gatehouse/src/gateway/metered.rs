//! The response body on its way back to the client.
//!
//! Each chunk from the upstream is handed to the client as soon as it
//! arrives, untouched. A reference to it (not a copy: `Bytes` is shared) is
//! kept for the ledger, which parses usage on its own thread once the
//! response ends. However the response ends (completely, by an upstream
//! failure, a read timeout, or by the client hanging up) exactly one ledger
//! record is sent.
//!
//! A Messages stream is complete only when it ends with `message_stop` (or
//! an `error` event), whatever the framing: an upstream that delimits its
//! body by closing the connection looks the same at the HTTP layer whether
//! it finished or died. A stream that ends early gets an `error` event and a
//! ledger row that says why, as do streams still running when the shutdown
//! grace is over.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use tokio::time::Sleep;

use super::meter::{Meter, Settlement};
use super::stream_tail::StreamTail;
use super::upstream_client::with_causes;
use crate::anthropic::errors::sse_error_event;
use crate::anthropic::response_usage::KEPT_GAP;
use crate::ledger::record::{Exchange, Outcome};
use crate::ledger::writer::LedgerSender;
use crate::openai::response_usage::UsageChunkFilter;

/// Response bytes kept whole for usage parsing, at most. Far above any real
/// response (128k output tokens of SSE is a few MB).
const MAX_KEPT_BYTES: usize = 32 * 1024 * 1024;
/// Past [`MAX_KEPT_BYTES`], the last bytes kept: enough for the final
/// `message_delta` (the last usage), `message_stop` and any `error` event.
const KEPT_TAIL_BYTES: usize = 1024 * 1024;

/// What to record when the body ends.
pub struct Recording {
    pub ledger: LedgerSender,
    pub exchange: Exchange,
    pub started: Instant,
    /// What the meter counts of it when it ends, if anything.
    settle: Option<(Arc<Meter>, Settlement)>,
    kept_bytes: usize,
    /// The last bytes, once the body outgrew [`MAX_KEPT_BYTES`].
    tail: VecDeque<Bytes>,
    tail_bytes: usize,
}

impl Recording {
    pub fn new(ledger: LedgerSender, exchange: Exchange, started: Instant) -> Recording {
        Recording { ledger, exchange, started, settle: None, kept_bytes: 0, tail: VecDeque::new(), tail_bytes: 0 }
    }

    /// Has the meter count the response when it ends (see [`Meter::settle`]).
    pub(crate) fn settling(self, meter: &Arc<Meter>, settlement: Option<Settlement>) -> Recording {
        Recording { settle: settlement.map(|settlement| (meter.clone(), settlement)), ..self }
    }

    /// Keeps `chunk` (shared, not copied): whole up to [`MAX_KEPT_BYTES`],
    /// then only the last [`KEPT_TAIL_BYTES`] of what follows. Usage is in
    /// `message_start`, at the head, and in the last `message_delta`, at the
    /// tail; the middle is content.
    fn keep(&mut self, chunk: &Bytes) {
        if self.tail.is_empty() && self.kept_bytes + chunk.len() <= MAX_KEPT_BYTES {
            self.kept_bytes += chunk.len();
            self.exchange.body.push(chunk.clone());
            return;
        }
        let chunk = chunk.slice(chunk.len().saturating_sub(KEPT_TAIL_BYTES)..);
        self.tail_bytes += chunk.len();
        self.tail.push_back(chunk);
        while self.tail_bytes > KEPT_TAIL_BYTES {
            let Some(mut oldest) = self.tail.pop_front() else { break };
            let excess = self.tail_bytes - KEPT_TAIL_BYTES;
            self.tail_bytes -= oldest.len();
            if oldest.len() > excess {
                oldest = oldest.slice(excess..);
                self.tail_bytes += oldest.len();
                self.tail.push_front(oldest);
            }
        }
    }

    /// Sends the exchange to the ledger with the body as kept, once the
    /// meter counted it.
    fn send(mut self) {
        if !self.tail.is_empty() {
            self.exchange.body.push(Bytes::from_static(KEPT_GAP));
            self.exchange.body.extend(self.tail);
        }
        if let Some((meter, settlement)) = self.settle {
            meter.settle(settlement, &self.exchange);
        }
        self.ledger.record(self.exchange);
    }
}

/// Ends the streams still running when the shutdown grace is over. The
/// server wakes each connection once it is set, and a body that finds it
/// set while waiting for the upstream ends with an error event. Checking it
/// is one atomic load: no lock or registration per stream.
#[derive(Default)]
pub(crate) struct StreamCut(AtomicBool);

impl StreamCut {
    /// Marks every running body to end; the server then wakes their connections.
    pub(crate) fn cut(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_cut(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What kind of body is relayed.
pub struct BodyKind {
    /// `text/event-stream`.
    pub event_stream: bool,
    /// A successful Messages stream, which must end with `message_stop`.
    pub message_stream: bool,
    /// A Chat Completions response: an error mid-stream takes OpenAI's shape.
    pub openai: bool,
    /// A Chat Completions stream whose usage chunk the client did not ask
    /// for, and so does not get (see [`UsageChunkFilter`]).
    pub hide_usage_chunk: bool,
    /// The length the client was told, if any.
    pub content_length: Option<u64>,
}

/// The ledger's error type for a response the gateway's shutdown cut short.
const GATEWAY_SHUTDOWN: &str = "gateway_shutdown";

/// How long an upstream may keep a Messages stream open after its
/// `message_stop` before the gateway ends the client's response itself.
const AFTER_STOP_WAIT: Duration = Duration::from_secs(2);

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
    kind: BodyKind,
    upstream_name: Arc<str>,
    finished: bool,
    /// Bytes still due when the upstream declared a `Content-Length`. Hyper
    /// drops a body as soon as it has written that many bytes, without
    /// polling it for its end, so the body must notice on its own.
    remaining: Option<u64>,
    idle: IdleTimeout,
    /// The end of an event stream: its final event, and whether it stops
    /// between events.
    tail: StreamTail,
    /// A Messages stream whose `message_stop` has arrived: the upstream
    /// gets [`AFTER_STOP_WAIT`] to end it, then the client's response ends.
    stopped: bool,
    stream_cut: Arc<StreamCut>,
    /// Set for [`BodyKind::hide_usage_chunk`].
    usage_filter: Option<UsageChunkFilter>,
}

impl MeteredBody {
    pub(crate) fn new(
        upstream: Incoming,
        recording: Option<Recording>,
        kind: BodyKind,
        upstream_name: Arc<str>,
        read_timeout: Duration,
        stream_cut: Arc<StreamCut>,
    ) -> MeteredBody {
        MeteredBody {
            usage_filter: kind.hide_usage_chunk.then(UsageChunkFilter::default),
            upstream,
            recording,
            remaining: kind.content_length,
            kind,
            upstream_name,
            finished: false,
            idle: IdleTimeout { limit: read_timeout, last_read: Instant::now(), timer: None },
            tail: StreamTail::default(),
            stopped: false,
            stream_cut,
        }
    }

    fn finish(&mut self, outcome: Outcome, gateway_error: Option<&'static str>) {
        self.finished = true;
        if let Some(mut recording) = self.recording.take() {
            recording.exchange.outcome = outcome;
            recording.exchange.gateway_error = gateway_error;
            recording.exchange.latency = recording.started.elapsed();
            recording.send();
        }
    }

    /// Keeps `chunk` for the ledger and hands on what the client gets of
    /// it (all of it, but for a usage chunk it did not ask for).
    fn relay(&mut self, chunk: Bytes) -> Frame<Bytes> {
        self.idle.last_read = Instant::now();
        if let Some(recording) = self.recording.as_mut() {
            recording.keep(&chunk);
        }
        if self.kind.event_stream {
            self.tail.push(&chunk);
            // Anthropic ends the stream right after `message_stop`; one that
            // keeps the connection open must not hold the client until the
            // idle timeout. (Waiting briefly, rather than ending at once,
            // lets the connection go back to the pool.)
            if self.kind.message_stream
                && !self.stopped
                && self.tail.at_event_boundary()
                && self.tail.last_event_is("message_stop")
            {
                self.stopped = true;
                self.idle.limit = self.idle.limit.min(AFTER_STOP_WAIT);
            }
        }
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining = remaining.saturating_sub(chunk.len() as u64);
            if *remaining == 0 {
                self.finish(Outcome::Relayed, None);
            }
        }
        // A Chat Completions stream ends with `data: [DONE]`: OpenAI's SDKs
        // stop reading there, and may hang up before the upstream closes.
        if self.kind.openai && self.kind.event_stream && memchr::memmem::find(&chunk, b"data: [DONE]").is_some() {
            self.finish(Outcome::Relayed, None);
        }
        match self.usage_filter.as_mut() {
            Some(filter) => Frame::data(filter.pass(chunk)),
            None => Frame::data(chunk),
        }
    }

    /// Ends the body early: with an SSE `error` event for a stream (the
    /// status line is long gone, and this is how Anthropic itself reports a
    /// failure mid-stream), else with an error that aborts the connection.
    fn end_early(
        &mut self,
        message: String,
        outcome: Outcome,
        gateway_error: Option<&'static str>,
    ) -> Poll<Option<std::io::Result<Frame<Bytes>>>> {
        tracing::warn!(upstream = %self.upstream_name, "{message}");
        self.finish(outcome, gateway_error);
        if self.kind.event_stream {
            let event = if self.kind.openai {
                crate::openai::errors::sse_error_event(&message)
            } else {
                sse_error_event(&message)
            };
            let left = self.usage_filter.as_mut().map(UsageChunkFilter::finish).unwrap_or_default();
            // The event must start an event of its own: after a half event,
            // the blank line ends that one first.
            let boundary: &[u8] = if self.tail.at_event_boundary() { b"" } else { b"\n\n" };
            Poll::Ready(Some(Ok(Frame::data([&left[..], boundary, &event[..]].concat().into()))))
        } else {
            Poll::Ready(Some(Err(std::io::Error::other(message))))
        }
    }

    /// Ends the body after the upstream failed; `cause` never holds a URL or header.
    fn fail(&mut self, cause: String) -> Poll<Option<std::io::Result<Frame<Bytes>>>> {
        let message = format!(
            "the connection to upstream `{}` failed mid-response: {cause}; the response is incomplete, retry the request",
            self.upstream_name,
        );
        self.end_early(message, Outcome::UpstreamFailed, None)
    }

    /// Whether a Messages stream ended with its last event: `message_stop`, or `error`.
    fn ended_with_last_event(&self) -> bool {
        self.tail.last_event_is("message_stop") || self.tail.last_event_is("error")
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
                    if this.stream_cut.is_cut() {
                        let message = format!(
                            "the gateway is shutting down and ended this response from upstream `{}` before it \
                             finished; the response is incomplete, retry the request once the gateway is back",
                            this.upstream_name
                        );
                        return this.end_early(message, Outcome::ClientGone, Some(GATEWAY_SHUTDOWN));
                    }
                    ready!(this.idle.poll_expired(cx));
                    if this.stopped {
                        tracing::debug!(upstream = %this.upstream_name, "the stream stayed open after `message_stop`; ended it");
                        this.finish(Outcome::Relayed, None);
                        return Poll::Ready(None);
                    }
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
                    if this.kind.message_stream && !this.ended_with_last_event() {
                        let message = format!(
                            "upstream `{}` ended the stream before its `message_stop` event (the connection closed \
                             early); the response is incomplete, retry the request",
                            this.upstream_name
                        );
                        return this.end_early(message, Outcome::UpstreamFailed, Some("upstream_truncated"));
                    }
                    this.finish(Outcome::Relayed, None);
                    if let Some(left) = this.usage_filter.as_mut().map(UsageChunkFilter::finish)
                        && !left.is_empty()
                    {
                        return Poll::Ready(Some(Ok(Frame::data(left))));
                    }
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
            if self.remaining == Some(0) {
                self.finish(Outcome::Relayed, None);
            } else {
                // Dropped by the runtime at the very end of a shutdown, or because the client left.
                let cause = self.stream_cut.is_cut().then_some(GATEWAY_SHUTDOWN);
                self.finish(Outcome::ClientGone, cause);
            }
        }
    }
}
