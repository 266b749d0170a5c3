//! The dashboard's data: what the desktop window's pages show, read from the
//! ledger, without a GUI.
//!
//! Each page has its module: [`overview`], [`spend`], [`windows`],
//! [`requests`], [`logs`] and [`settings`]; [`state`] is what the window is
//! sent about the app itself. Their types cross the desktop app's IPC as
//! JSON; ts-rs writes their TypeScript twins to `ui/src/bindings/` when
//! `cargo test` runs, so the web UI never copies a type by hand. Times are
//! Unix milliseconds, money is US dollars at API list prices, and `null`
//! money means "no price known", never $0. Money is split into billed
//! dollars (requests served with a paid credential) and
//! subscription-equivalent ones (see [`spend::SpendTotals`]).
//!
//! Reports read the [`rollup`] (spend by 15-minute slot, kept by triggers),
//! so a month of a busy ledger is a few thousand small rows. Days follow the
//! operating system's time zone ([`days`]): day boundaries are computed
//! here, not by SQLite's `localtime`.

pub mod days;
pub mod logs;
pub mod overview;
pub mod requests;
pub mod rollup;
pub mod settings;
pub mod spend;
pub mod state;
#[cfg(test)]
pub(crate) mod testing;
pub mod windows;

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use rusqlite::Connection;

use crate::pricing::PriceTable;

/// Why a page's data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("cannot read the ledger {}: {source}; check that the file is readable, or move it aside to start afresh", path.display())]
    Ledger { path: PathBuf, source: rusqlite::Error },
    #[error(
        "the ledger {} is from an older Gatehouse and has not been upgraded yet; start the gateway once (it upgrades \
         the ledger in place, keeping every row)",
        path.display()
    )]
    NotUpgraded { path: PathBuf },
    #[error(transparent)]
    Days(#[from] days::DayError),
    #[error("there is no request {id} in the ledger; it may have been replaced by the gateway's own record of it")]
    NoSuchRequest { id: i64 },
    #[error("cannot write the export {}: {source}", path.display())]
    Export { path: PathBuf, source: std::io::Error },
}

/// Reads the dashboard's pages from one ledger, priced with one price table,
/// with days in one time zone.
#[derive(Debug, Clone)]
pub struct Dashboard {
    ledger: PathBuf,
    prices: PriceTable,
    zone: TimeZone,
}

impl Dashboard {
    /// Days follow the operating system's time zone.
    pub fn new(ledger: PathBuf, prices: PriceTable) -> Dashboard {
        Dashboard { ledger, prices, zone: TimeZone::system() }
    }

    /// With days in `zone` (tests, and users who want another zone's days).
    pub fn with_zone(ledger: PathBuf, prices: PriceTable, zone: TimeZone) -> Dashboard {
        Dashboard { ledger, prices, zone }
    }

    pub fn ledger_path(&self) -> &Path {
        &self.ledger
    }

    /// The prices the reports use.
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// The ledger, read-only; `None` when nothing was recorded yet.
    fn read(&self) -> Result<Option<Connection>, DashboardError> {
        let conn = crate::ledger::open_read_only(&self.ledger).map_err(|source| self.error(source))?;
        let Some(conn) = conn else { return Ok(None) };
        // The rollup's billed sums (migration 10) come after time-ordered
        // ids (8) and the rollup itself (4, 5 and 9).
        let upgraded = crate::ledger::has_billed_sums(&conn).map_err(|source| self.error(source))?;
        if !upgraded {
            return Err(DashboardError::NotUpgraded { path: self.ledger.clone() });
        }
        Ok(Some(conn))
    }

    fn error(&self, source: rusqlite::Error) -> DashboardError {
        DashboardError::Ledger { path: self.ledger.clone(), source }
    }
}

/// `~/…` for a path under the home directory, so long paths read well.
pub(crate) fn tilde(path: &str) -> String {
    match std::env::var("HOME") {
        Ok(home) if !home.is_empty() && home != "/" => match path.strip_prefix(home.trim_end_matches('/')) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("~{rest}"),
            _ => path.to_string(),
        },
        _ => path.to_string(),
    }
}
