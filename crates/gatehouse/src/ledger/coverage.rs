//! Coverage: how many of a period's requests went through the gateway, and
//! how many are known only from Claude Code's transcripts ("97% of this
//! week's requests went through Gatehouse").
//!
//! Both counts are ranges of row ids (ids are time-ordered, see
//! [`super::id_at`]): all rows of the range in the table, the imported ones
//! on the partial index of transcript rows (`requests_transcript`); the
//! gateway's are the difference. No row is in both (see [`super::import`]).

use rusqlite::Connection;
use serde::Serialize;

/// Requests of a period by where the ledger learned of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Rows the gateway recorded (`source = 0`).
    pub gateway_requests: u64,
    /// Rows imported from transcripts (`source = 1`).
    pub imported_requests: u64,
}

impl Coverage {
    /// The gateway's share of the requests, from 0 to 1; `None` when the
    /// period has none.
    pub fn gateway_share(&self) -> Option<f64> {
        let total = self.gateway_requests + self.imported_requests;
        (total > 0).then(|| self.gateway_requests as f64 / total as f64)
    }
}

/// Coverage of the requests stamped in `[since_ms, until_ms)` (Unix ms).
pub fn coverage(conn: &Connection, since_ms: i64, until_ms: i64) -> rusqlite::Result<Coverage> {
    let all: i64 = conn.query_row(
        "SELECT COUNT(*) FROM requests WHERE id >= ?1 AND id < ?2",
        [super::id_at(since_ms), super::id_at(until_ms)],
        |row| row.get(0),
    )?;
    let imported: i64 = conn.query_row(
        "SELECT COUNT(*) FROM requests WHERE source = 1 AND id >= ?1 AND id < ?2",
        [super::id_at(since_ms), super::id_at(until_ms)],
        |row| row.get(0),
    )?;
    Ok(Coverage { gateway_requests: (all - imported).max(0) as u64, imported_requests: imported.max(0) as u64 })
}
