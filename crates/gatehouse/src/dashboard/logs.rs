//! The Logs page: the gateway's log tail in one format, newest first.
//!
//! The log file mixes the gateway's tracing lines
//! (`2026-11-02T14:02:03.123456Z  INFO gatehouse::gateway::proxy: POST …`)
//! and the supervisor's (`2026-11-02T14:02:03.123Z supervisor: restarting …`);
//! both become a [`LogLine`] with a time, a level and a message, and a
//! number written with float noise (`ttfb_ms=1.4631150000000002`) by an
//! older gateway is shown rounded.

use serde::Serialize;
use ts_rs::TS;

/// One line of the gateway's log.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LogLine {
    /// When it was written; `null` for a line without a time stamp (a panic's
    /// continuation lines, a child's stray output).
    pub ts_ms: Option<i64>,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`; the supervisor's lines are `INFO`,
    /// lines without a level `INFO` too.
    pub level: String,
    /// Who wrote it: `gateway` (with the module, e.g. `gateway::proxy`) or `supervisor`.
    pub source: String,
    pub message: String,
}
