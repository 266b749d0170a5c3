//! Gatehouse's LiteLLM callback, and what it reports.
//!
//! LiteLLM prices each request itself. Its callback (`gatehouse_callback.py`,
//! shipped inside this binary) writes that price and the usage it priced,
//! whitelisted fields only, to the ledger's `engine_costs` table, by
//! LiteLLM's call id, which the gateway also keeps as the request row's
//! `request_id`. Gatehouse's own price stays the one that counts;
//! [`compare`] shows where LiteLLM's differs (`gatehouse engine litellm
//! status`).

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The module, as written beside LiteLLM's config.
const MODULE: &str = include_str!("gatehouse_callback.py");
/// Its file name, which Python imports it by.
const FILE_NAME: &str = "gatehouse_callback.py";
/// How `config.yaml` registers it: `module.instance`.
pub(crate) const REGISTRATION: &str = "gatehouse_callback.handler";
/// The environment variable that tells the callback where the ledger is.
pub(crate) const LEDGER_ENV: &str = "GATEHOUSE_LEDGER";

/// Writes the module into `dir` (created private), for `PYTHONPATH`.
pub(crate) fn write_module(dir: &Path) -> std::io::Result<PathBuf> {
    crate::fs_atomic::write_private(&dir.join(FILE_NAME), MODULE.as_bytes())?;
    Ok(dir.to_path_buf())
}

/// A request whose price LiteLLM and Gatehouse disagree on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Disagreement {
    pub(crate) request_id: String,
    pub(crate) model: String,
    pub(crate) gatehouse_usd: Option<f64>,
    pub(crate) litellm_usd: Option<f64>,
}

/// LiteLLM's prices against Gatehouse's, over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Comparison {
    /// Requests both priced.
    pub(crate) compared: u64,
    /// Those whose costs differ by more than 1% (or a micro-dollar), newest
    /// first: LiteLLM prices a model missing from its map at 0, silently,
    /// and has prices of its own (Bedrock's regional premium, for one).
    pub(crate) disagreements: Vec<Disagreement>,
}

/// Compares the prices of the requests since `since_ms` (Unix
/// milliseconds) in the ledger at `ledger`; empty when there is no ledger
/// yet, or one from before the callback.
pub(crate) fn compare(ledger: &Path, since_ms: i64) -> rusqlite::Result<Comparison> {
    let Some(conn) = crate::ledger::open_read_only(ledger)? else { return Ok(Comparison::default()) };
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'engine_costs')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(Comparison::default());
    }
    let joined = "FROM request_rows r JOIN engine_costs e ON e.call_id = r.request_id WHERE r.id >= ?1";
    let since = crate::ledger::id_at(since_ms);
    let compared: u64 = conn.query_row(&format!("SELECT count(*) {joined}"), [since], |row| row.get(0))?;
    let mut statement = conn.prepare(&format!(
        "SELECT r.request_id, r.model, r.cost_usd, e.response_cost {joined}
           AND NOT (r.cost_usd IS NOT NULL AND e.response_cost IS NOT NULL
                    AND abs(r.cost_usd - e.response_cost) <= max(1e-6, 0.01 * abs(r.cost_usd)))
         ORDER BY r.id DESC"
    ))?;
    let disagreements = statement
        .query_map([since], |row| {
            Ok(Disagreement {
                request_id: row.get(0)?,
                model: row.get(1)?,
                gatehouse_usd: row.get(2)?,
                litellm_usd: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Comparison { compared, disagreements })
}
