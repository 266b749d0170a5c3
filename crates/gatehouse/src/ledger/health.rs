//! Whether the ledger writer is managing to record requests.
//!
//! The writer updates a [`LedgerStatus`] after each commit attempt; the
//! gateway reports it in `GET /status`, and the tray and the window turn it
//! into one sentence with [`LedgerStatus::problem`], so a request that was
//! served but not recorded is never a silent loss.

use serde::{Deserialize, Serialize};

/// How recording is going, as `GET /status` reports it under `ledger`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerStatus {
    /// Why the last attempt to commit rows failed; `null` while recording works.
    pub error: Option<String>,
    /// When the current run of failures began (RFC 3339).
    pub failing_since: Option<String>,
    /// Rows served but not yet committed: kept in memory and retried.
    pub pending_rows: usize,
    /// Rows given up since the gateway started, because too many (50,000)
    /// were already waiting.
    pub dropped_rows: u64,
}

/// Rows kept in memory while the ledger cannot be written (about 500 bytes
/// each, so some 25 MB: a day of heavy Claude Code use). Rows served past
/// this are counted in `dropped_rows` and not kept.
pub(crate) const MAX_PENDING_ROWS: usize = 50_000;

impl LedgerStatus {
    /// One sentence for the tray and the window when something is wrong.
    pub fn problem(&self) -> Option<String> {
        let dropped = match self.dropped_rows {
            0 => String::new(),
            1 => " 1 served request is missing from the ledger: too many waited to be recorded.".to_string(),
            n => format!(" {n} served requests are missing from the ledger: too many waited to be recorded."),
        };
        match &self.error {
            Some(error) => {
                let waiting = match self.pending_rows {
                    0 => String::new(),
                    1 => " 1 request waits in memory and will be recorded when it works again.".to_string(),
                    n => format!(" {n} requests wait in memory and will be recorded when it works again."),
                };
                Some(format!("Spend is not being recorded: {error}.{waiting}{dropped}"))
            }
            None if self.dropped_rows > 0 => Some(dropped.trim_start().to_string()),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_said_only_when_there_is_one() {
        assert_eq!(LedgerStatus::default().problem(), None);
        let failing = LedgerStatus {
            error: Some("cannot write /x/ledger.sqlite3: database or disk is full".into()),
            failing_since: Some("2026-12-02T19:00:00Z".into()),
            pending_rows: 3,
            dropped_rows: 0,
        };
        assert_eq!(
            failing.problem().unwrap(),
            "Spend is not being recorded: cannot write /x/ledger.sqlite3: database or disk is full. 3 requests \
             wait in memory and will be recorded when it works again."
        );
        let recovered = LedgerStatus { dropped_rows: 2, ..LedgerStatus::default() };
        assert_eq!(
            recovered.problem().unwrap(),
            "2 served requests are missing from the ledger: too many waited to be recorded."
        );
    }
}
