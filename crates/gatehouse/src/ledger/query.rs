//! Spend reports over the ledger.
//!
//! Costs are summed only where a price was known; requests whose model has
//! no price are counted separately and named, so an unknown model is never
//! passed off as free.

use std::path::Path;

use rusqlite::{Connection, params_from_iter, types::Value};
use serde::Serialize;

/// How to split a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// Local calendar day.
    Day,
    Model,
    /// Claude Code's working directory.
    Project,
    /// Claude Code session id.
    Session,
    /// Gateway key name.
    Client,
}

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::Day => "date(ts_unix_ms / 1000, 'unixepoch', 'localtime')",
            GroupBy::Model => "model",
            GroupBy::Project => "project",
            GroupBy::Session => "session_id",
            GroupBy::Client => "client",
        }
    }
}

/// Which rows a report covers: `since <= time < until`, as Unix milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// Totals over a set of requests.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub requests: u64,
    /// USD at API list prices, over the priced requests.
    pub cost_usd: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Cache writes of both lifetimes.
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// Requests whose model had no known price (their cost is not in `cost_usd`).
    pub unpriced_requests: u64,
    /// The models without a price.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
}

/// One group of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The group's value (a day, model, …); `null` where unknown.
    pub key: Option<String>,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub total: Totals,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Group>>,
}

const AGGREGATES: &str = "COUNT(*), COALESCE(SUM(cost_usd), 0.0), COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_write_5m_tokens + cache_write_1h_tokens), 0),
    COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cost_usd IS NULL), 0),
    COALESCE(GROUP_CONCAT(DISTINCT CASE WHEN cost_usd IS NULL THEN model END), '')";

fn where_clause(range: Range) -> (String, Vec<Value>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(since) = range.since_ms {
        conditions.push("ts_unix_ms >= ?");
        values.push(Value::Integer(since));
    }
    if let Some(until) = range.until_ms {
        conditions.push("ts_unix_ms < ?");
        values.push(Value::Integer(until));
    }
    let clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    (clause, values)
}

fn totals_from(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<Totals> {
    let unpriced: String = row.get(offset + 7)?;
    let mut unpriced_models: Vec<String> = unpriced.split(',').filter(|m| !m.is_empty()).map(str::to_string).collect();
    unpriced_models.sort();
    Ok(Totals {
        requests: row.get(offset)?,
        cost_usd: row.get(offset + 1)?,
        input_tokens: row.get(offset + 2)?,
        output_tokens: row.get(offset + 3)?,
        cache_creation_input_tokens: row.get(offset + 4)?,
        cache_read_input_tokens: row.get(offset + 5)?,
        unpriced_requests: row.get(offset + 6)?,
        unpriced_models,
    })
}

/// Builds a report, optionally grouped.
pub fn report(conn: &Connection, range: Range, group_by: Option<GroupBy>) -> rusqlite::Result<Report> {
    let (clause, values) = where_clause(range);
    let total = conn.query_row(
        &format!("SELECT {AGGREGATES} FROM requests {clause}"),
        params_from_iter(values.iter()),
        |row| totals_from(row, 0),
    )?;
    let groups = match group_by {
        None => None,
        Some(group_by) => {
            let column = group_by.column();
            let order = if group_by == GroupBy::Day { "1 ASC" } else { "3 DESC, 2 DESC" };
            let sql = format!("SELECT {column}, {AGGREGATES} FROM requests {clause} GROUP BY 1 ORDER BY {order}");
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map(params_from_iter(values.iter()), |row| {
                Ok(Group { key: row.get(0)?, totals: totals_from(row, 1)? })
            })?;
            Some(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        }
    };
    Ok(Report { total, groups })
}

/// Whether the ledger holds any request at all.
pub(crate) fn has_requests(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM requests)", [], |row| row.get(0))
}

/// Totals since local midnight; zero when no ledger exists yet.
pub fn today(ledger_path: &Path) -> anyhow::Result<Totals> {
    let zone = jiff::tz::TimeZone::system();
    let midnight = jiff::Zoned::now().with_time_zone(zone.clone()).date().to_zoned(zone)?.timestamp();
    let range = Range { since_ms: Some(midnight.as_millisecond()), until_ms: None };
    Ok(match super::open_read_only(ledger_path)? {
        Some(conn) => report(&conn, range, None)?.total,
        None => Totals::default(),
    })
}

/// Whether the ledger at `ledger_path` holds any request; false when it does not exist yet.
pub(crate) fn recorded_any(ledger_path: &Path) -> anyhow::Result<bool> {
    Ok(match super::open_read_only(ledger_path)? {
        Some(conn) => has_requests(&conn)?,
        None => false,
    })
}

/// An empty report, for when no ledger exists yet.
pub fn empty_report(group_by: Option<GroupBy>) -> Report {
    Report { total: Totals::default(), groups: group_by.map(|_| Vec::new()) }
}
