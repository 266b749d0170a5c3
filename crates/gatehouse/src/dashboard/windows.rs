//! The Windows page: each subscription window over time (a series per
//! window name from the readings stored with the requests, resets as
//! boundaries), the requests that took the most of each window's current
//! instance, and when the window fills at the recent burn rate.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::requests::RequestRow;

/// A window as it stands: its latest reading.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowNow {
    /// The name in the headers: `5h`, `7d`, `7d_oi`, ….
    pub name: String,
    /// "5-hour window", "Weekly window", "Weekly window (oi)".
    pub title: String,
    /// 0..1 as sent; `null` when the last response did not say.
    pub utilization: Option<f64>,
    pub resets_at_ms: Option<i64>,
    /// `allowed`, `allowed_warning`, `rejected`, … as sent.
    pub status: Option<String>,
    /// The server refuses requests in this window until it resets.
    pub rejected: bool,
    /// The reset time has passed: the reading belongs to a window that is over.
    pub passed: bool,
    /// When the reading was taken (the request that carried it).
    pub as_of_ms: i64,
    /// The tray's words for it: "42% · resets 14:00", "rejected until Sat 14:00".
    pub label: String,
}

/// One reading of a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowPoint {
    pub ts_ms: i64,
    /// 0..1.
    pub utilization: f64,
    /// The request that carried the reading.
    pub request: i64,
}

/// One instance of a window: from its first reading to its reset.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowInstance {
    /// `null` when the server sent no reset time.
    pub resets_at_ms: Option<i64>,
    pub points: Vec<WindowPoint>,
}

/// When the current instance fills at the recent burn rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Projection {
    /// Percentage points per hour (0..1 per hour), from a least-squares
    /// line through the current instance's readings of the last hour.
    pub rate_per_hour: f64,
    /// When the line reaches 100%; `null` when that is after the reset
    /// (the window resets first).
    pub fills_at_ms: Option<i64>,
}

/// One window over time.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowSeries {
    pub now: WindowNow,
    /// Oldest first; each instance is a separate line segment, and the
    /// boundary between two is a reset.
    pub instances: Vec<WindowInstance>,
    /// `null` when the window is flat (no rise in the last hour), rejected,
    /// or its current instance has fewer than two recent readings.
    pub projection: Option<Projection>,
    /// The requests that took the most of the current instance, biggest
    /// delta first.
    pub top_requests: Vec<WindowRequest>,
}

/// A request and what it took from one window.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowRequest {
    /// The rise in utilization this response showed, 0..1.
    pub delta: f64,
    /// The utilization after it, 0..1.
    pub utilization: Option<f64>,
    pub request: RequestRow,
}

/// The arguments of `windows_report`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WindowsQuery {
    /// How far back the series go; `null`: 8 days (a weekly window and its reset).
    pub days: Option<u32>,
    /// How many top requests per window; `null`: 20.
    pub top: Option<u32>,
}

/// The Windows page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowsReport {
    /// 5-hour and weekly first, then the others by name.
    pub windows: Vec<WindowSeries>,
    pub since_ms: i64,
}
