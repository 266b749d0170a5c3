//! What the gateway hands the ledger about one finished request.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::anthropic::request::Hints;

/// How a relayed response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every byte the upstream sent reached the client.
    Relayed,
    /// The upstream failed (connection lost, timeout) mid-response.
    UpstreamFailed,
    /// The client went away before the response ended.
    ClientGone,
}

/// One request as the gateway saw it. The response body is kept as the
/// chunks it arrived in (shared, not copied) so usage can be parsed later on
/// the writer's thread.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub started_at: jiff::Timestamp,
    pub request_id: Option<String>,
    pub client: Arc<str>,
    pub model: String,
    pub upstream: Arc<str>,
    pub status: u16,
    pub streamed: bool,
    pub outcome: Outcome,
    pub ttfb: Option<Duration>,
    pub latency: Duration,
    pub session_id: Option<String>,
    pub device_id: Option<String>,
    /// Whether the body is `text/event-stream`.
    pub event_stream: bool,
    pub body: Vec<Bytes>,
    /// An error the gateway itself reported, when no upstream body exists.
    pub gateway_error: Option<&'static str>,
    /// What kind of request Claude Code says it is.
    pub hints: Hints,
    /// The response's `anthropic-ratelimit-unified-*` headers, one
    /// "name\tvalue" line each, the name without that prefix; parsed on the
    /// writer's thread, not the request path.
    pub unified_headers: Option<String>,
    /// What the gateway knew of it when the upstream answered, as
    /// `ledger::flags` bits: why it went on from earlier upstreams of its
    /// route (`FAILOVER_*`), and whether it was billed (`BILLED`).
    pub flags: i64,
}

impl Exchange {
    /// What the response body says of its usage and completeness, read in
    /// the protocol the request came in on.
    pub(crate) fn summary(&self) -> crate::anthropic::response_usage::ResponseSummary {
        if self.flags & super::flags::CHAT_COMPLETIONS != 0 {
            crate::openai::response_usage::summarize(self.event_stream, &self.body)
        } else {
            crate::anthropic::response_usage::summarize(self.event_stream, &self.body)
        }
    }
}

#[cfg(test)]
impl Exchange {
    /// A successful, non-streamed Sonnet answer from `anthropic` to key
    /// `tester`, just now, with an empty body: tests change what they need.
    pub(crate) fn sample() -> Exchange {
        Exchange {
            started_at: jiff::Timestamp::now(),
            request_id: None,
            client: Arc::from("tester"),
            model: "claude-sonnet-4-5".to_string(),
            upstream: Arc::from("anthropic"),
            status: 200,
            streamed: false,
            outcome: Outcome::Relayed,
            ttfb: None,
            latency: Duration::from_millis(1),
            session_id: None,
            device_id: None,
            event_stream: false,
            body: Vec::new(),
            gateway_error: None,
            hints: Hints::default(),
            unified_headers: None,
            flags: 0,
        }
    }
}
