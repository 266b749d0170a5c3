//! The Spend page: spend over a range of local days, as daily bars by model
//! and as a table of groups (project, session, client, model, request class,
//! agent type), with the same numbers exported as CSV or JSON.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Totals over a set of requests. `cost_usd` sums the requests whose model
/// has a price; the others are counted in `unpriced_requests`, and when no
/// request of the set has a price `cost_usd` is `null` (never 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendTotals {
    pub requests: u64,
    pub cost_usd: Option<f64>,
    pub unpriced_requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Cache writes of both lifetimes (5 minutes and 1 hour).
    pub cache_write_tokens: u64,
    pub cache_read_tokens: u64,
    /// What the cache reads saved against the full input price, per model:
    /// `cache_read_tokens × (input price − cache read price)`. `null` when no
    /// cache-reading request has a price.
    pub cache_savings_usd: Option<f64>,
}

/// What the rows of the table are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SpendGroup {
    Model,
    /// Claude Code's working directory.
    Project,
    /// Claude Code session id.
    Session,
    /// Gateway key name (transcript rows have none).
    Client,
    /// `main`, `subagent`, `compaction`, … (x-claude-code-request-class).
    RequestClass,
    /// `Explore`, … (x-claude-code-agent-type).
    AgentType,
}

/// A range of local calendar days, both ends included, as `YYYY-MM-DD` in
/// the operating system's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DayRange {
    pub first_day: String,
    pub last_day: String,
}

/// The arguments of `spend_report` and `spend_export`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SpendQuery {
    /// `null`: the last 30 days, today included.
    pub range: Option<DayRange>,
    pub by: SpendGroup,
}

/// One model's part of one day's bar.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ModelSpend {
    pub model: String,
    pub requests: u64,
    /// `null`: no price known for this model.
    pub cost_usd: Option<f64>,
    pub unpriced_requests: u64,
}

/// One local day.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendDay {
    /// `YYYY-MM-DD`, local.
    pub day: String,
    /// Local midnight starting the day, and the next one (a day is 23 or 25
    /// hours long when the clocks change).
    pub start_ms: i64,
    pub end_ms: i64,
    pub total: SpendTotals,
    /// By model, dearest first; empty on a day without requests.
    pub models: Vec<ModelSpend>,
}

/// One row of the table: one project, session, model, ….
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendRow {
    /// The group's value; `null` where unknown (no project, no session, …).
    pub key: Option<String>,
    /// What to show: the key, shortened where useful, or "(none)".
    pub label: String,
    #[serde(flatten)]
    pub totals: SpendTotals,
    /// The first and last request of the group in the range.
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The Spend page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendReport {
    /// The range the report covers (the default one filled in).
    pub range: DayRange,
    /// Local midnight of the first day, and of the day after the last.
    pub since_ms: i64,
    pub until_ms: i64,
    pub by: SpendGroup,
    /// Every day of the range, empty days included, oldest first.
    pub days: Vec<SpendDay>,
    /// The models in the range, dearest first: the bars' series, in order.
    pub models: Vec<String>,
    /// Dearest first. The totals of the rows add up to `total`.
    pub rows: Vec<SpendRow>,
    pub total: SpendTotals,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// An export of the table: the same rows and numbers as [`SpendReport::rows`].
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendExport {
    /// A file name to suggest: `gatehouse-spend-project-2026-11-01-2026-11-30.csv`.
    pub file_name: String,
    pub contents: String,
    /// Where it was saved, when the command saved it.
    pub path: Option<String>,
}
