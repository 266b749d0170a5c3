//! The response body on its way back to the client.
//!
//! Each chunk from the upstream is handed to the client as soon as it
//! arrives, untouched. A reference to it (not a copy: `Bytes` is shared) is
//! kept for the ledger, which parses usage on its own thread once the
//! response ends. However the response ends (completely, by an upstream
//! failure, or by the client hanging up) exactly one ledger record is sent.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::Stream;

use super::errors::sse_error_event;
use crate::ledger::record::{Exchange, Outcome};
use crate::ledger::writer::LedgerSender;

/// Response bytes kept for usage parsing, at most. Far above any real
/// response (128k output tokens of SSE is a few MB); past it the usage of a
/// pathological response is lost rather than memory.
const MAX_KEPT_BYTES: usize = 32 * 1024 * 1024;

type UpstreamStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

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

/// A relayed response body that reports to the ledger when it ends.
pub struct MeteredBody {
    upstream: UpstreamStream,
    recording: Option<Recording>,
    event_stream: bool,
    upstream_name: std::sync::Arc<str>,
    finished: bool,
    /// Bytes still due when the upstream declared a `Content-Length`. Hyper
    /// drops a body as soon as it has written that many bytes, without
    /// polling it for its end, so the body must notice on its own.
    remaining: Option<u64>,
}

impl MeteredBody {
    pub fn new(
        upstream: UpstreamStream,
        recording: Option<Recording>,
        event_stream: bool,
        upstream_name: std::sync::Arc<str>,
        content_length: Option<u64>,
    ) -> MeteredBody {
        MeteredBody { upstream, recording, event_stream, upstream_name, finished: false, remaining: content_length }
    }

    fn finish(&mut self, outcome: Outcome) {
        self.finished = true;
        if let Some(mut recording) = self.recording.take() {
            recording.exchange.outcome = outcome;
            recording.exchange.latency = recording.started.elapsed();
            recording.ledger.record(recording.exchange);
        }
    }
}

impl Stream for MeteredBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.upstream.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
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
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                let message = format!(
                    "the connection to upstream `{}` failed mid-response: {}; the response is incomplete, retry the request",
                    self.upstream_name,
                    super::proxy::describe_reqwest_error(&error)
                );
                tracing::warn!(upstream = %self.upstream_name, "{message}");
                self.finish(Outcome::UpstreamFailed);
                if self.event_stream {
                    // The status line is long gone; an SSE `error` event is how
                    // Anthropic itself reports a failure mid-stream.
                    Poll::Ready(Some(Ok(sse_error_event(&message))))
                } else {
                    Poll::Ready(Some(Err(std::io::Error::other(message))))
                }
            }
            Poll::Ready(None) => {
                self.finish(Outcome::Relayed);
                Poll::Ready(None)
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
