//! The Requests page: the latest requests, live, and one request in full.
//! Names are resolved; a gateway key appears by its name only.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Source {
    /// The gateway relayed it.
    Gateway,
    /// Imported from a Claude Code transcript: lower fidelity, no window reading.
    Transcript,
}

/// The `flags` bits, spelled out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RequestFlags {
    /// A large cache write after the session sat idle past the cache TTL.
    pub cache_rebuild_idle: bool,
    /// A large cache write after a model switch in the session.
    pub cache_rebuild_model_switch: bool,
    /// The response carried subscription window headers.
    pub window_headers: bool,
    /// Why the request went on from an earlier upstream of its route, if it did.
    pub failover: Option<String>,
    /// Served with a paid credential (an API key: a paid upstream's, the
    /// gateway's own, or the client's), so its cost was billed; otherwise
    /// subscription-equivalent (transcript rows always are).
    pub billed: bool,
}

/// What one response showed of one window.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowDelta {
    pub window: String,
    /// The rise it showed, 0..1; `null` for the first reading of a window instance.
    pub delta: Option<f64>,
    /// 0..1 as sent.
    pub utilization: Option<f64>,
}

/// One request, as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RequestRow {
    pub id: i64,
    pub ts_ms: i64,
    pub source: Source,
    pub model: String,
    /// `null` for transcript rows.
    pub upstream: Option<String>,
    /// The gateway key's name; `null` for transcript rows.
    pub client: Option<String>,
    pub status: u16,
    pub streamed: bool,
    /// False when the upstream or the client broke off.
    pub complete: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_write_5m_tokens: u64,
    pub cache_write_1h_tokens: u64,
    pub cache_read_tokens: u64,
    /// `null`: no price known for the model (never show $0).
    pub cost_usd: Option<f64>,
    /// Time to the first byte and the whole duration; `null` for transcript rows.
    pub ttfb_ms: Option<f64>,
    pub duration_ms: Option<f64>,
    pub request_class: Option<String>,
    pub agent_type: Option<String>,
    pub compaction: Option<String>,
    pub error_type: Option<String>,
    pub flags: RequestFlags,
    /// The windows this response read, with their deltas; 5-hour and weekly first.
    pub windows: Vec<WindowDelta>,
}

/// The arguments of `recent_requests`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RecentQuery {
    /// `null`: 200; at most 1000.
    pub limit: Option<u32>,
    /// Only rows older than this id (the next page); `null`: the newest.
    pub before_id: Option<i64>,
}

/// One stored window reading of a request, raw headers included.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ReadingDetail {
    pub window: String,
    pub resets_at_ms: Option<i64>,
    pub utilization: Option<f64>,
    pub delta: Option<f64>,
    pub status: Option<String>,
    /// Every raw header of this window, `field=value; …`.
    pub raw: String,
}

/// One request in full (`request_details`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RequestDetails {
    #[serde(flatten)]
    pub row: RequestRow,
    /// The upstream's `request-id`, or the transcript's message id.
    pub request_id: Option<String>,
    pub session: Option<String>,
    pub project: Option<String>,
    pub device: Option<String>,
    pub prompt: Option<String>,
    /// The price table the cost was computed with.
    pub price_version: String,
    pub readings: Vec<ReadingDetail>,
}

/// The `ledger` event: requests were recorded.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LedgerChanged {
    /// The ledger's version now: it grows with each row recorded.
    pub version: i64,
    /// The new rows, newest first (at most 200; fetch the rest with
    /// `recent_requests` when `truncated`).
    pub rows: Vec<RequestRow>,
    pub truncated: bool,
}

/// The columns of a [`RequestRow`], names resolved; `r` is the request.
const ROW_COLUMNS: &str = "r.id, r.ts_unix_ms, r.source, m.value, u.value, c.value, r.status, r.streamed, \
    r.complete, r.input_tokens, r.output_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens, \
    r.cache_read_tokens, r.cost_usd, r.ttfb_us, r.latency_us, rc.value, at.value, cp.value, et.value, r.flags";

const ROW_JOINS: &str = "LEFT JOIN names m ON m.id = r.model LEFT JOIN names u ON u.id = r.upstream \
    LEFT JOIN names c ON c.id = r.client LEFT JOIN names rc ON rc.id = r.request_class \
    LEFT JOIN names at ON at.id = r.agent_type LEFT JOIN names cp ON cp.id = r.compaction \
    LEFT JOIN names et ON et.id = r.error_type";

/// The newest entry of `request_feed` (migration 8): the ledger's version.
pub(crate) fn feed_version(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM request_feed", [], |row| row.get(0))
}

/// Reads [`ROW_COLUMNS`]; the windows are filled in by [`with_windows`].
fn row_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<RequestRow> {
    let flags: i64 = row.get(21)?;
    let micros = |value: Option<i64>| value.map(|us| us as f64 / 1000.0);
    Ok(RequestRow {
        id: row.get(0)?,
        ts_ms: row.get(1)?,
        source: if row.get::<_, i64>(2)? == 1 { Source::Transcript } else { Source::Gateway },
        model: row.get::<_, Option<String>>(3)?.unwrap_or_else(|| "(unknown model)".to_string()),
        upstream: row.get(4)?,
        client: row.get(5)?,
        status: row.get(6)?,
        streamed: row.get(7)?,
        complete: row.get(8)?,
        input_tokens: row.get(9)?,
        output_tokens: row.get(10)?,
        cache_write_5m_tokens: row.get(11)?,
        cache_write_1h_tokens: row.get(12)?,
        cache_read_tokens: row.get(13)?,
        cost_usd: row.get(14)?,
        ttfb_ms: micros(row.get(15)?),
        duration_ms: micros(row.get(16)?),
        request_class: row.get(17)?,
        agent_type: row.get(18)?,
        compaction: row.get(19)?,
        error_type: row.get(20)?,
        flags: RequestFlags {
            cache_rebuild_idle: flags & 1 != 0,
            cache_rebuild_model_switch: flags & 2 != 0,
            window_headers: flags & crate::ledger::flags::WINDOW_HEADERS != 0,
            failover: crate::ledger::flags::failover_reason(flags),
            billed: flags & crate::ledger::flags::BILLED != 0,
        },
        windows: Vec::new(),
    })
}

/// The order people read windows in: 5-hour, weekly, then the others by name.
pub(crate) fn window_rank(name: &str) -> (u8, &str) {
    match name {
        "5h" => (0, name),
        "7d" => (1, name),
        _ => (2, name),
    }
}

/// Reads the requests `sql` selects (it must select [`ROW_COLUMNS`] from
/// `requests r` with [`ROW_JOINS`]), with their window readings.
pub(crate) fn load_rows(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<RequestRow>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query_map(params, row_from)?.collect::<rusqlite::Result<Vec<_>>>()?;
    with_windows(conn, &mut rows)?;
    Ok(rows)
}

/// `SELECT <row columns> FROM requests r <joins> <rest>`.
pub(crate) fn select_rows(rest: &str) -> String {
    format!("SELECT {ROW_COLUMNS} FROM requests r {ROW_JOINS} {rest}")
}

/// Fills in each row's window readings (one query for all of them).
fn with_windows(conn: &rusqlite::Connection, rows: &mut [RequestRow]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let json = serde_json::to_string(&ids).expect("a list of integers serialises");
    let mut statement = conn.prepare_cached(
        "SELECT wr.request, w.name, wr.delta, wr.utilization FROM window_readings wr
         JOIN windows w ON w.id = wr.window
         WHERE wr.request IN (SELECT value FROM json_each(?1)) AND w.name <> 'unified'",
    )?;
    let readings = statement.query_map([json], |row| {
        Ok((row.get::<_, i64>(0)?, WindowDelta { window: row.get(1)?, delta: row.get(2)?, utilization: row.get(3)? }))
    })?;
    let index: std::collections::HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for reading in readings {
        let (request, delta) = reading?;
        if let Some(&i) = index.get(&request) {
            rows[i].windows.push(delta);
        }
    }
    for row in rows {
        row.windows.sort_by(|a, b| window_rank(&a.window).cmp(&window_rank(&b.window)));
    }
    Ok(())
}

/// The most rows one call returns.
const MAX_ROWS: u32 = 1000;
/// The rows a `ledger` event carries at most.
const EVENT_ROWS: i64 = 200;

impl super::Dashboard {
    /// The latest requests, newest first (by id, which is by time: imported
    /// rows take their place by when they happened).
    pub fn recent(&self, query: RecentQuery) -> Result<Vec<RequestRow>, super::DashboardError> {
        let Some(conn) = self.read()? else { return Ok(Vec::new()) };
        let limit = query.limit.unwrap_or(200).clamp(1, MAX_ROWS);
        let rows = match query.before_id {
            None => load_rows(&conn, &select_rows("ORDER BY r.id DESC LIMIT ?1"), [limit]),
            Some(before) => load_rows(
                &conn,
                &select_rows("WHERE r.id < ?1 ORDER BY r.id DESC LIMIT ?2"),
                rusqlite::params![before, limit],
            ),
        };
        rows.map_err(|source| self.error(source))
    }

    /// One request in full.
    pub fn request(&self, id: i64) -> Result<RequestDetails, super::DashboardError> {
        let conn = self.read()?.ok_or(super::DashboardError::NoSuchRequest { id })?;
        let run = || -> rusqlite::Result<Option<RequestDetails>> {
            let Some(row) = load_rows(&conn, &select_rows("WHERE r.id = ?1"), [id])?.pop() else {
                return Ok(None);
            };
            let (request_id, session, project, device, prompt, price_version) = conn.query_row(
                "SELECT request_id, session_id, project, device_id, prompt_id, price_version FROM request_rows
                 WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, Option<String>>(5)?)),
            )?;
            let mut statement = conn.prepare_cached(
                "SELECT w.name, w.resets_at, wr.utilization, wr.delta, wr.status, wr.raw FROM window_readings wr
                 JOIN windows w ON w.id = wr.window WHERE wr.request = ?1",
            )?;
            let mut readings = statement
                .query_map([id], |r| {
                    let resets_at: i64 = r.get(1)?;
                    Ok(ReadingDetail {
                        window: r.get(0)?,
                        resets_at_ms: (resets_at > 0).then_some(resets_at * 1000),
                        utilization: r.get(2)?,
                        delta: r.get(3)?,
                        status: r.get(4)?,
                        raw: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            readings.sort_by(|a, b| window_rank(&a.window).cmp(&window_rank(&b.window)));
            Ok(Some(RequestDetails {
                row,
                request_id,
                session,
                project,
                device,
                prompt,
                price_version: price_version.unwrap_or_default(),
                readings,
            }))
        };
        run().map_err(|source| self.error(source))?.ok_or(super::DashboardError::NoSuchRequest { id })
    }

    /// The ledger's version: the `request_feed`'s newest entry, which grows
    /// with every row recorded (ids are times, so a request that arrived
    /// earlier and finished later has the lower id); 0 when empty or missing.
    pub fn version(&self) -> Result<i64, super::DashboardError> {
        let Some(conn) = self.read()? else { return Ok(0) };
        feed_version(&conn).map_err(|source| self.error(source))
    }

    /// What was recorded since `version`: `None` when nothing was.
    pub fn changes_since(&self, version: i64) -> Result<Option<LedgerChanged>, super::DashboardError> {
        let Some(conn) = self.read()? else { return Ok(None) };
        let run = || -> rusqlite::Result<Option<LedgerChanged>> {
            let newest = feed_version(&conn)?;
            if newest <= version {
                return Ok(None);
            }
            let rows = load_rows(
                &conn,
                &select_rows(
                    "WHERE r.id IN (SELECT request FROM request_feed WHERE seq > ?1) ORDER BY r.id DESC LIMIT ?2",
                ),
                rusqlite::params![version, EVENT_ROWS + 1],
            )?;
            // The feed keeps the latest entries only: older news is lost.
            let oldest: i64 = conn.query_row("SELECT COALESCE(MIN(seq), 0) FROM request_feed", [], |row| row.get(0))?;
            let truncated = rows.len() as i64 > EVENT_ROWS || oldest > version + 1;
            let rows = rows.into_iter().take(EVENT_ROWS as usize).collect();
            Ok(Some(LedgerChanged { version: newest, rows, truncated }))
        };
        run().map_err(|source| self.error(source))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{self, Row, reading};
    use super::super::{Dashboard, DashboardError};
    use super::*;
    use crate::pricing::PriceTable;

    fn dashboard(dir: &std::path::Path) -> Dashboard {
        Dashboard::new(dir.join("ledger.sqlite3"), PriceTable::builtin())
    }

    #[test]
    fn the_latest_requests_come_newest_first_with_their_window_deltas() {
        let dir = tempfile::tempdir().unwrap();
        let dashboard = dashboard(dir.path());
        assert!(dashboard.recent(RecentQuery::default()).unwrap().is_empty(), "no ledger yet: no rows");
        assert_eq!(dashboard.version().unwrap(), 0);
        let conn = testing::create(dashboard.ledger_path());
        let base = 1_764_583_200_000;
        let mut ids = Vec::new();
        for i in 0..250 {
            let flags = if i == 248 { crate::ledger::flags::BILLED } else { 0 };
            ids.push(Row { request_id: Some(format!("req_{i}")), flags, ..Row::at(base + i * 1000) }.insert(&conn));
        }
        // Imported later, but older: it takes its place by time.
        let imported = Row { source: 1, cost: None, model: "mystery-model", ..Row::at(base + 500) }.insert(&conn);
        reading(&conn, ids[249], "5h", 1_764_600_000, 0.42, Some(0.03), None);
        reading(&conn, ids[249], "7d", 1_765_000_000, 0.11, None, Some("allowed"));
        reading(&conn, ids[249], "7d_oi", 1_765_000_000, 0.2, Some(0.01), None);

        let rows = dashboard.recent(RecentQuery::default()).unwrap();
        assert_eq!(rows.len(), 200, "200 by default");
        assert_eq!(rows[0].id, ids[249]);
        assert!(rows.windows(2).all(|pair| pair[0].ts_ms >= pair[1].ts_ms), "newest first");
        let windows: Vec<(&str, Option<f64>)> = rows[0].windows.iter().map(|w| (w.window.as_str(), w.delta)).collect();
        assert_eq!(windows, [("5h", Some(0.03)), ("7d", None), ("7d_oi", Some(0.01))]);
        assert!(rows[0].flags.window_headers);
        assert_eq!((rows[0].flags.billed, rows[1].flags.billed), (false, true), "a billed request is marked");
        assert_eq!(rows[0].ttfb_ms, Some(1.463));
        assert_eq!(rows[0].duration_ms, Some(812.25));

        let older = dashboard.recent(RecentQuery { limit: Some(100), before_id: Some(rows[199].id) }).unwrap();
        assert_eq!(older.len(), 51);
        assert_eq!(older[49].id, imported, "the imported row sits at its time");
        assert_eq!(
            (older[49].source, older[49].cost_usd, older[49].client.as_deref()),
            (Source::Transcript, None, None)
        );

        let details = dashboard.request(ids[249]).unwrap();
        assert_eq!(details.request_id.as_deref(), Some("req_249"));
        assert_eq!(details.session.as_deref(), Some("session-1"));
        assert_eq!(details.price_version, "2026-11-22");
        assert_eq!(details.readings.len(), 3);
        assert_eq!(details.readings[1].status.as_deref(), Some("allowed"));
        assert_eq!(details.readings[0].resets_at_ms, Some(1_764_600_000_000));
        assert!(details.readings[0].raw.contains("utilization=0.42"));
        let json = serde_json::to_string(&details).unwrap();
        assert!(!json.contains("sha256") && !json.contains("gh_"), "no key material: {json}");
        assert!(matches!(dashboard.request(999_999), Err(DashboardError::NoSuchRequest { id: 999_999 })));

        let version = dashboard.version().unwrap();
        assert_eq!(version, 251, "a version per row recorded");
        assert_eq!(dashboard.changes_since(version).unwrap(), None);
        let new = Row::at(base + 999_000).insert(&conn);
        let changed = dashboard.changes_since(version).unwrap().unwrap();
        assert_eq!((changed.version, changed.rows.len(), changed.truncated), (252, 1, false));
        assert_eq!(changed.rows[0].id, new);
        // A request that arrived earlier and finished later has the lower
        // id (ids are times), and is news all the same.
        let late = Row::at(base + 998_000).insert(&conn);
        assert!(late < new);
        let changed = dashboard.changes_since(252).unwrap().unwrap();
        assert_eq!((changed.version, changed.rows.len()), (253, 1));
        assert_eq!(changed.rows[0].id, late);
        let all = dashboard.changes_since(0).unwrap().unwrap();
        assert_eq!((all.rows.len(), all.truncated), (200, true));
    }
}
