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
    /// The grouping expression, and whether it is an id into `names`.
    fn column(self) -> (&'static str, bool) {
        match self {
            GroupBy::Day => ("date(ts_unix_ms / 1000, 'unixepoch', 'localtime')", false),
            GroupBy::Model => ("model", true),
            GroupBy::Project => ("project", true),
            GroupBy::Session => ("session", true),
            GroupBy::Client => ("client", true),
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

/// The names of the unpriced models' ids that [`AGGREGATES`] lists.
fn model_names(conn: &Connection, totals: &mut Totals) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached("SELECT value FROM names WHERE id = ?1")?;
    let mut names = Vec::new();
    for id in &totals.unpriced_models {
        names.push(statement.query_row([id], |row| row.get::<_, String>(0))?);
    }
    names.sort();
    totals.unpriced_models = names;
    Ok(())
}

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
    // Model ids here; [`model_names`] turns them into names.
    let unpriced: String = row.get(offset + 7)?;
    let unpriced_models: Vec<String> = unpriced.split(',').filter(|m| !m.is_empty()).map(str::to_string).collect();
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
    let mut total = conn.query_row(
        &format!("SELECT {AGGREGATES} FROM requests {clause}"),
        params_from_iter(values.iter()),
        |row| totals_from(row, 0),
    )?;
    model_names(conn, &mut total)?;
    let groups = match group_by {
        None => None,
        Some(group_by) => {
            let (column, named) = group_by.column();
            let inner = format!("SELECT {column} AS key, {AGGREGATES} FROM requests {clause} GROUP BY 1");
            // Columns: name, key, count, cost, …; days in order, the rest by cost.
            let order = if group_by == GroupBy::Day { "2 ASC" } else { "4 DESC, 3 DESC" };
            // Grouped by id, then named: one lookup per group, not per row.
            let name = if named { "(SELECT value FROM names WHERE id = g.key)" } else { "g.key" };
            let sql = format!("SELECT {name}, g.* FROM ({inner}) g ORDER BY {order}");
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map(params_from_iter(values.iter()), |row| {
                Ok(Group { key: row.get(0)?, totals: totals_from(row, 2)? })
            })?;
            let mut groups = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            for group in &mut groups {
                model_names(conn, &mut group.totals)?;
            }
            Some(groups)
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
