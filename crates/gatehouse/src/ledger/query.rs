//! Spend reports over the ledger.
//!
//! Costs are summed only where a price was known; requests whose model has
//! no price are counted separately and named, so an unknown model is never
//! passed off as free.
//!
//! Whole 15-minute slots (whole hours and UTC days, for the group
//! dimensions) are read from the spend rollup (migrations 4, 5, 9 and 10, see
//! `dashboard::rollup`), the partial slots (hours) at either end of a range
//! from the requests themselves: a month of a million-row ledger is then a
//! few thousand rollup cells instead of a third of the rows. A ledger
//! without this rollup (not opened by this version's gateway yet) is read
//! row by row.

use std::path::Path;

use rusqlite::{Connection, params_from_iter, types::Value};

use crate::dashboard::rollup;
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
    /// Claude Code's request class: main, subagent, compaction.
    Class,
    /// Claude Code's agent type (Explore, …), for subagent requests.
    Agent,
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
            GroupBy::Class => ("request_class", true),
            GroupBy::Agent => ("agent_type", true),
        }
    }
}

/// Which rows a report covers: `since <= time < until`, as Unix milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// Totals over a set of requests. Costs are summed in whole nano-dollars
/// (each request's rounded to 1e-9 USD), so `cost_usd` is `billed_usd +
/// subscription_usd` to the last nano-dollar.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub requests: u64,
    /// USD at API list prices, over the priced requests.
    pub cost_usd: f64,
    /// The part of `cost_usd` that was billed: requests served with a paid
    /// credential (an API key: a paid upstream's, the gateway's own, or the
    /// client's own `x-api-key`).
    pub billed_usd: f64,
    /// The rest: subscription-equivalent, what requests served by Claude
    /// Code's subscription login would have cost at API list prices
    /// (requests imported from transcripts count here).
    pub subscription_usd: f64,
    /// The requests served with a paid credential.
    pub billed_requests: u64,
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

/// The totals over a source's normalized rows (see [`Source`]).
const AGGREGATES: &str = "COALESCE(SUM(n), 0), COALESCE(SUM(nusd), 0), COALESCE(SUM(input), 0),
    COALESCE(SUM(output), 0), COALESCE(SUM(cache_write), 0), COALESCE(SUM(cache_read), 0),
    COALESCE(SUM(unpriced), 0), COALESCE(GROUP_CONCAT(DISTINCT CASE WHEN unpriced > 0 THEN model END), ''),
    COALESCE(SUM(billed), 0), COALESCE(SUM(billed_nusd), 0)";

/// The length of a `spend_rollup` slot (see `dashboard::rollup`).
const SLOT_MS: i64 = crate::dashboard::rollup::SLOT_MS;

/// Where a report's rows come from: SQL yielding `key, model, n, unpriced,
/// nusd, billed, billed_nusd, input, output, cache_write, cache_read` per
/// request or per rollup cell (costs in 1e-9 USD), and its parameters.
struct Source {
    sql: String,
    values: Vec<Value>,
}

impl Source {
    /// Every request in `range`, one by one.
    fn requests(range: Range, key: &str, ids: bool) -> Source {
        let (clause, values) = where_clause(range, ids);
        Source { sql: format!("{} {clause}", Self::request_columns(key)), values }
    }

    fn request_columns(key: &str) -> String {
        format!(
            "SELECT {key} AS key, model, 1 AS n, cost_usd IS NULL AS unpriced,
                CAST(round(cost_usd * 1e9) AS INTEGER) AS nusd, (flags & {billed}) != 0 AS billed,
                CASE WHEN flags & {billed} THEN CAST(round(cost_usd * 1e9) AS INTEGER) END AS billed_nusd,
                input_tokens AS input, output_tokens AS output,
                cache_write_5m_tokens + cache_write_1h_tokens AS cache_write, cache_read_tokens AS cache_read
             FROM requests",
            billed = super::flags::BILLED
        )
    }

    /// The whole 15-minute slots of `range` from the rollup (whole UTC
    /// days from its day level, where it has one: `days`), and the requests
    /// of its partial slots at either end one by one.
    fn rollup(range: Range, group_by: Option<GroupBy>, days: bool, ids: bool) -> Source {
        let first = range.since_ms.map(|since| since.div_euclid(SLOT_MS) + i64::from(since.rem_euclid(SLOT_MS) != 0));
        let end = range.until_ms.map(|until| until.div_euclid(SLOT_MS));
        if let (Some(first), Some(end)) = (first, end)
            && first >= end
        {
            // No whole slot inside: every request one by one.
            return Source::requests(range, group_by.map_or("NULL", |g| g.column().0), ids);
        }
        let (dim, key) = match group_by {
            None => (rollup::dim::ALL, "NULL"),
            Some(GroupBy::Day) => (rollup::dim::ALL, "date(slot * 900, 'unixepoch', 'localtime')"),
            Some(GroupBy::Model) => (rollup::dim::ALL, "model"),
            Some(GroupBy::Project) => (rollup::dim::PROJECT, "NULLIF(key, 0)"),
            Some(GroupBy::Session) => (rollup::dim::SESSION, "NULLIF(key, 0)"),
            Some(GroupBy::Client) => (rollup::dim::CLIENT, "NULLIF(key, 0)"),
            // Cells of dim 4 are by request class (key) and agent type (key2).
            Some(GroupBy::Class) => (rollup::dim::CLASS, "NULLIF(key, 0)"),
            Some(GroupBy::Agent) => (rollup::dim::CLASS, "NULLIF(key2, 0)"),
        };
        let mut values = Vec::new();
        let mut selects = Vec::new();
        let column = group_by.map_or("NULL", |g| g.column().0);
        for span in rollup::spans(dim, first.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX), days) {
            if span.rows {
                // A partial hour of a group dimension: its requests.
                let slots = Range {
                    since_ms: Some(span.first.saturating_mul(SLOT_MS)),
                    until_ms: Some(span.end.saturating_mul(SLOT_MS)),
                };
                let (clause, edge) = where_clause(slots, ids);
                selects.push(format!("{} {clause}", Self::request_columns(column)));
                values.extend(edge);
                continue;
            }
            selects.push(format!(
                "SELECT {key} AS key, model, requests AS n, unpriced, cost_nusd AS nusd, billed_requests AS billed,
                    billed_nusd, input_tokens AS input, output_tokens AS output, cache_write_5m_tokens + cache_write_1h_tokens AS cache_write,
                    cache_read_tokens AS cache_read
                 FROM spend_rollup WHERE dim = ? AND slot >= ? AND slot < ?"
            ));
            values.extend([Value::Integer(span.dim), Value::Integer(span.first), Value::Integer(span.end)]);
        }
        let mut sql = selects.join(" UNION ALL ");
        let mut edges = Vec::new();
        if let (Some(since), Some(first)) = (range.since_ms, first) {
            edges.push((since, first * SLOT_MS));
        }
        if let (Some(end), Some(until)) = (end, range.until_ms) {
            edges.push((end * SLOT_MS, until));
        }
        for (from, to) in edges.into_iter().filter(|(from, to)| from < to) {
            let (clause, edge) = where_clause(Range { since_ms: Some(from), until_ms: Some(to) }, ids);
            sql.push_str(&format!(" UNION ALL {} {clause}", Self::request_columns(column)));
            values.extend(edge);
        }
        Source { sql, values }
    }
}

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

/// The rows of `range`: a range of row ids where they are time-ordered
/// (`ids`, see [`super::id_at`]), else of the stored time.
fn where_clause(range: Range, ids: bool) -> (String, Vec<Value>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    let (column, at): (&str, fn(i64) -> i64) = if ids { ("id", super::id_at) } else { ("ts_unix_ms", |ms| ms) };
    if let Some(since) = range.since_ms {
        conditions.push(format!("{column} >= ?"));
        values.push(Value::Integer(at(since)));
    }
    if let Some(until) = range.until_ms {
        conditions.push(format!("{column} < ?"));
        values.push(Value::Integer(at(until)));
    }
    let clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    (clause, values)
}

fn totals_from(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<Totals> {
    // Model ids here; [`model_names`] turns them into names.
    let unpriced: String = row.get(offset + 7)?;
    let unpriced_models: Vec<String> = unpriced.split(',').filter(|m| !m.is_empty()).map(str::to_string).collect();
    let (nusd, billed_nusd): (i64, i64) = (row.get(offset + 1)?, row.get(offset + 9)?);
    Ok(Totals {
        requests: row.get(offset)?,
        cost_usd: nusd as f64 / 1e9,
        billed_usd: billed_nusd as f64 / 1e9,
        subscription_usd: (nusd - billed_nusd) as f64 / 1e9,
        billed_requests: row.get(offset + 8)?,
        input_tokens: row.get(offset + 2)?,
        output_tokens: row.get(offset + 3)?,
        cache_creation_input_tokens: row.get(offset + 4)?,
        cache_read_input_tokens: row.get(offset + 5)?,
        unpriced_requests: row.get(offset + 6)?,
        unpriced_models,
    })
}

/// Builds a report, optionally grouped: from the spend rollup where the
/// ledger has it (the gateway has opened it since upgrading), else from
/// every request.
pub fn report(conn: &Connection, range: Range, group_by: Option<GroupBy>) -> rusqlite::Result<Report> {
    let has_rollup: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spend_rollup')",
        [],
        |row| row.get(0),
    )?;
    // A rollup older than migration 9 has its group dimensions by 15
    // minutes, and one older than 10 no billed sums: until the gateway
    // upgrades the ledger, it is read row by row.
    let ids = super::has_time_ids(conn)?;
    if has_rollup && super::has_billed_sums(conn)? {
        let days = rollup::has_day_cells(conn)?;
        let total = Source::rollup(range, None, days, ids);
        let groups = group_by.map(|g| (g, Source::rollup(range, Some(g), days, ids)));
        report_from(conn, &total, groups.as_ref().map(|(g, source)| (*g, source)))
    } else {
        let total = Source::requests(range, "NULL", ids);
        let groups = group_by.map(|g| (g, Source::requests(range, g.column().0, ids)));
        report_from(conn, &total, groups.as_ref().map(|(g, source)| (*g, source)))
    }
}

fn report_from(conn: &Connection, total: &Source, groups: Option<(GroupBy, &Source)>) -> rusqlite::Result<Report> {
    let mut total = conn.query_row(
        &format!("SELECT {AGGREGATES} FROM ({})", total.sql),
        params_from_iter(total.values.iter()),
        |row| totals_from(row, 0),
    )?;
    model_names(conn, &mut total)?;
    let groups = match groups {
        None => None,
        Some((group_by, source)) => {
            let named = group_by.column().1;
            let inner = format!("SELECT key, {AGGREGATES} FROM ({}) GROUP BY 1", source.sql);
            // Columns: name, key, count, cost, …; days in order, the rest by cost.
            let order = if group_by == GroupBy::Day { "2 ASC" } else { "4 DESC, 3 DESC" };
            // Grouped by id, then named: one lookup per group, not per row.
            let name = if named { "(SELECT value FROM names WHERE id = g.key)" } else { "g.key" };
            let sql = format!("SELECT {name}, g.* FROM ({inner}) g ORDER BY {order}");
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map(params_from_iter(source.values.iter()), |row| {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The rollup's report equals the row-by-row one, to the nano-dollar
    /// and billed part included, for ranges on and off slot boundaries,
    /// inside one slot, and open at either end.
    #[test]
    fn the_rollup_and_the_rows_give_the_same_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let end = jiff::Timestamp::from_second(1_764_583_200).unwrap();
        crate::ledger::synth::generate(&path, &crate::ledger::synth::Spec { rows: 4_000, days: 10, seed: 3, end })
            .unwrap();
        let conn = crate::ledger::open(&path).unwrap();
        // Some requests served with a paid key (the rollup's update trigger follows the flag).
        conn.execute("UPDATE requests SET flags = flags | 256 WHERE id % 5 = 0 AND source = 0", []).unwrap();
        let mut billed_requests = 0;
        let end_ms = end.as_millisecond();
        let day = 86_400_000;
        let ranges = [
            Range::default(),
            Range { since_ms: Some(end_ms - 3 * day), until_ms: None },
            Range { since_ms: Some(end_ms - 3 * day + 123_457), until_ms: Some(end_ms - day - 7_777) },
            Range { since_ms: None, until_ms: Some(end_ms - 5 * day + 1) },
            Range { since_ms: Some(end_ms - 2 * day + 1_000), until_ms: Some(end_ms - 2 * day + 500_000) },
            Range { since_ms: Some(end_ms + day), until_ms: None },
            // Partial hours, as local days in zones with :30 and :45 offsets
            // cut them, around whole hours and days.
            Range { since_ms: Some(end_ms - 3 * day + 1_800_000), until_ms: Some(end_ms - day + 2_700_000) },
            Range { since_ms: Some(end_ms - 4 * day - 19_800_000), until_ms: Some(end_ms - 36_900_000) },
            // Inside one hour; across two partial hours and no whole one.
            Range { since_ms: Some(end_ms - 2 * day + 900_000), until_ms: Some(end_ms - 2 * day + 2_700_000) },
            Range { since_ms: Some(end_ms - 2 * day + 1_800_000), until_ms: Some(end_ms - 2 * day + 5_400_000) },
            Range { since_ms: Some(end_ms - 10_800_000 + 7_777), until_ms: Some(end_ms - 3_600_000 - 123) },
        ];
        let mut grouped_requests = 0;
        // With the day level, then as a ledger from before it (migration 5)
        // is read: hour cells only.
        assert!(rollup::has_day_cells(&conn).unwrap());
        for days in [true, false] {
            if !days {
                conn.execute("DELETE FROM spend_rollup WHERE dim > 10", []).unwrap();
            }
            for range in ranges {
                for group_by in [
                    None,
                    Some(GroupBy::Day),
                    Some(GroupBy::Model),
                    Some(GroupBy::Project),
                    Some(GroupBy::Session),
                    Some(GroupBy::Client),
                    Some(GroupBy::Class),
                    Some(GroupBy::Agent),
                ] {
                    let rolled = if days {
                        report(&conn, range, group_by).unwrap()
                    } else {
                        let total = Source::rollup(range, None, false, true);
                        let groups = group_by.map(|g| (g, Source::rollup(range, Some(g), false, true)));
                        report_from(&conn, &total, groups.as_ref().map(|(g, source)| (*g, source))).unwrap()
                    };
                    // By the stored time, not the row ids the report reads by.
                    let total = Source::requests(range, "NULL", false);
                    let groups = group_by.map(|g| (g, Source::requests(range, g.column().0, false)));
                    let raw = report_from(&conn, &total, groups.as_ref().map(|(g, source)| (*g, source))).unwrap();
                    let same = |a: &Totals, b: &Totals| {
                        assert_eq!(a, b, "{range:?} {group_by:?}");
                        let nusd = |usd: f64| (usd * 1e9).round() as i64;
                        assert_eq!(nusd(a.billed_usd) + nusd(a.subscription_usd), nusd(a.cost_usd));
                    };
                    same(&rolled.total, &raw.total);
                    billed_requests += rolled.total.billed_requests;
                    let (mut rolled, mut raw) = (rolled.groups.unwrap_or_default(), raw.groups.unwrap_or_default());
                    assert_eq!(rolled.len(), raw.len(), "{range:?} {group_by:?}");
                    rolled.sort_by(|a, b| a.key.cmp(&b.key));
                    raw.sort_by(|a, b| a.key.cmp(&b.key));
                    for (a, b) in rolled.iter().zip(&raw) {
                        assert_eq!(a.key, b.key);
                        same(&a.totals, &b.totals);
                        grouped_requests += a.totals.requests;
                    }
                }
            }
        }
        assert!(grouped_requests > 4_000, "the ranges cover rows");
        assert!(billed_requests > 500, "the ranges cover billed rows");
    }
}
