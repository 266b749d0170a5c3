//! The Requests page: the latest requests, live, and one request in full.
//! Names are resolved; a gateway key appears by its name only.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Source {
    /// The gateway relayed it.
    Gateway,
    /// Imported from a Claude Code transcript: lower fidelity, no window reading.
    Transcript,
}

/// The `flags` bits, spelled out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RequestFlags {
    /// A large cache write after the session sat idle past the cache TTL.
    pub cache_rebuild_idle: bool,
    /// A large cache write after a model switch in the session.
    pub cache_rebuild_model_switch: bool,
    /// The response carried subscription window headers.
    pub window_headers: bool,
}

/// What one response showed of one window.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowDelta {
    pub window: String,
    /// The rise it showed, 0..1; `null` for the first reading of a window instance.
    pub delta: Option<f64>,
    /// 0..1 as sent.
    pub utilization: Option<f64>,
}

/// One request, as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RequestRow {
    pub id: i64,
    pub ts_ms: i64,
    pub source: Source,
    pub model: String,
    /// `null` for transcript rows.
    pub upstream: Option<String>,
    /// The gateway key's name; `null` for transcript rows.
    pub client: Option<String>,
    pub status: u16,
    pub streamed: bool,
    /// False when the upstream or the client broke off.
    pub complete: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_write_5m_tokens: u64,
    pub cache_write_1h_tokens: u64,
    pub cache_read_tokens: u64,
    /// `null`: no price known for the model (never show $0).
    pub cost_usd: Option<f64>,
    /// Time to the first byte and the whole duration; `null` for transcript rows.
    pub ttfb_ms: Option<f64>,
    pub duration_ms: Option<f64>,
    pub request_class: Option<String>,
    pub agent_type: Option<String>,
    pub compaction: Option<String>,
    pub error_type: Option<String>,
    pub flags: RequestFlags,
    /// The windows this response read, with their deltas; 5-hour and weekly first.
    pub windows: Vec<WindowDelta>,
}

/// The arguments of `recent_requests`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RecentQuery {
    /// `null`: 200; at most 1000.
    pub limit: Option<u32>,
    /// Only rows older than this id (the next page); `null`: the newest.
    pub before_id: Option<i64>,
}

/// One stored window reading of a request, raw headers included.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ReadingDetail {
    pub window: String,
    pub resets_at_ms: Option<i64>,
    pub utilization: Option<f64>,
    pub delta: Option<f64>,
    pub status: Option<String>,
    /// Every raw header of this window, `field=value; …`.
    pub raw: String,
}

/// One request in full (`request_details`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RequestDetails {
    #[serde(flatten)]
    pub row: RequestRow,
    /// The upstream's `request-id`, or the transcript's message id.
    pub request_id: Option<String>,
    pub session: Option<String>,
    pub project: Option<String>,
    pub device: Option<String>,
    pub prompt: Option<String>,
    /// The price table the cost was computed with.
    pub price_version: String,
    pub readings: Vec<ReadingDetail>,
}

/// The `ledger` event: requests were recorded.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LedgerChanged {
    /// The ledger's newest request id now.
    pub version: i64,
    /// The new rows, newest first (at most 200; fetch the rest with
    /// `recent_requests` when `truncated`).
    pub rows: Vec<RequestRow>,
    pub truncated: bool,
}
