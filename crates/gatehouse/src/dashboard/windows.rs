//! The Windows page: each subscription window over time (a series per
//! window name from the readings stored with the requests, resets as
//! boundaries), the requests that took the most of each window's current
//! instance, and when the window fills at the recent burn rate.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::requests::RequestRow;

/// A window as it stands: its latest reading.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowNow {
    /// The name in the headers: `5h`, `7d`, `7d_oi`, ….
    pub name: String,
    /// "5-hour window", "Weekly window", "Weekly window (oi)".
    pub title: String,
    /// 0..1 as sent; `null` when the last response did not say.
    pub utilization: Option<f64>,
    pub resets_at_ms: Option<i64>,
    /// `allowed`, `allowed_warning`, `rejected`, … as sent.
    pub status: Option<String>,
    /// The server refuses requests in this window until it resets.
    pub rejected: bool,
    /// The reset time has passed: the reading belongs to a window that is over.
    pub passed: bool,
    /// When the reading was taken (the request that carried it).
    pub as_of_ms: i64,
    /// The tray's words for it: "42% · resets 14:00", "rejected until Sat 14:00".
    pub label: String,
}

/// One reading of a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowPoint {
    pub ts_ms: i64,
    /// 0..1.
    pub utilization: f64,
    /// The request that carried the reading.
    pub request: i64,
}

/// One instance of a window: from its first reading to its reset.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowInstance {
    /// `null` when the server sent no reset time.
    pub resets_at_ms: Option<i64>,
    pub points: Vec<WindowPoint>,
}

/// When the current instance fills at the recent burn rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Projection {
    /// Percentage points per hour (0..1 per hour), from a least-squares
    /// line through the current instance's readings of the last hour.
    pub rate_per_hour: f64,
    /// When the line reaches 100%; `null` when that is after the reset
    /// (the window resets first).
    pub fills_at_ms: Option<i64>,
}

/// One window over time.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowSeries {
    pub now: WindowNow,
    /// Oldest first; each instance is a separate line segment, and the
    /// boundary between two is a reset.
    pub instances: Vec<WindowInstance>,
    /// `null` when the window is flat (no rise in the last hour), rejected,
    /// or its current instance has fewer than two recent readings.
    pub projection: Option<Projection>,
    /// The requests that took the most of the current instance, biggest
    /// delta first.
    pub top_requests: Vec<WindowRequest>,
}

/// A request and what it took from one window.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowRequest {
    /// The rise in utilization this response showed, 0..1.
    pub delta: f64,
    /// The utilization after it, 0..1.
    pub utilization: Option<f64>,
    pub request: RequestRow,
}

/// The arguments of `windows_report`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WindowsQuery {
    /// How far back the series go; `null`: 8 days (a weekly window and its reset).
    pub days: Option<u32>,
    /// How many top requests per window; `null`: 20.
    pub top: Option<u32>,
}

/// The Windows page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct WindowsReport {
    /// 5-hour and weekly first, then the others by name.
    pub windows: Vec<WindowSeries>,
    pub since_ms: i64,
}

/// The span the projection's burn rate is measured over.
const RATE_SPAN_MS: i64 = 3_600_000;

/// One instance of a window in the `windows` table.
#[derive(Debug, Clone)]
struct Instance {
    id: i64,
    name: String,
    /// Unix seconds; 0 when the server sent none.
    resets_at: i64,
}

fn instances(conn: &rusqlite::Connection, since_ms: Option<i64>) -> rusqlite::Result<Vec<Instance>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, name, resets_at FROM windows WHERE name <> 'unified'
         AND (?1 IS NULL OR resets_at = 0 OR resets_at * 1000 >= ?1) ORDER BY name, resets_at",
    )?;
    let rows = statement
        .query_map([since_ms], |row| Ok(Instance { id: row.get(0)?, name: row.get(1)?, resets_at: row.get(2)? }))?;
    let mut instances = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    instances.sort_by(|a, b| {
        super::requests::window_rank(&a.name)
            .cmp(&super::requests::window_rank(&b.name))
            .then(a.resets_at.cmp(&b.resets_at))
    });
    Ok(instances)
}

/// The latest instance of each window name (the one that resets last).
fn latest(instances: &[Instance]) -> Vec<&Instance> {
    let mut latest: Vec<&Instance> = Vec::new();
    for instance in instances {
        match latest.last_mut() {
            Some(last) if last.name == instance.name => *last = instance,
            _ => latest.push(instance),
        }
    }
    latest
}

/// A window as its latest stored reading has it, at `now_ms`.
fn now_of(conn: &rusqlite::Connection, instance: &Instance, now_ms: i64) -> rusqlite::Result<Option<WindowNow>> {
    use rusqlite::OptionalExtension as _;
    let reading = conn
        .prepare_cached(
            "SELECT wr.utilization, wr.status, r.ts_unix_ms, wr.request FROM window_readings wr
             JOIN requests r ON r.id = wr.request WHERE wr.window = ?1 ORDER BY wr.request DESC LIMIT 1",
        )?
        .query_row([instance.id], |row| {
            Ok((
                row.get::<_, Option<f64>>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    let Some((utilization, status, read_ms, request)) = reading else { return Ok(None) };
    // A later response whose headers left this window unchanged stored
    // nothing, but it saw the window too: the reading is as of then.
    let seen_ms: Option<i64> = conn
        .prepare_cached(
            "SELECT ts_unix_ms FROM (SELECT id, ts_unix_ms, flags FROM requests ORDER BY id DESC LIMIT 5000)
             WHERE id > ?1 AND flags & 4 != 0 LIMIT 1",
        )?
        .query_row([request], |row| row.get(0))
        .optional()?;
    let resets_at = (instance.resets_at > 0).then_some(instance.resets_at);
    let window = crate::anthropic::ratelimit::Window { utilization, resets_at, status: status.clone() };
    Ok(Some(WindowNow {
        name: instance.name.clone(),
        title: crate::anthropic::ratelimit::window_title(&instance.name),
        utilization,
        resets_at_ms: resets_at.map(|secs| secs * 1000),
        rejected: window.is_rejected(),
        passed: resets_at.is_some_and(|secs| secs * 1000 <= now_ms),
        status,
        as_of_ms: seen_ms.map_or(read_ms, |seen| seen.max(read_ms)),
        label: window.describe(),
    }))
}

/// Every window as it stands, 5-hour and weekly first.
pub(crate) fn current(conn: &rusqlite::Connection, now_ms: i64) -> rusqlite::Result<Vec<WindowNow>> {
    let all = instances(conn, None)?;
    latest(&all).into_iter().filter_map(|instance| now_of(conn, instance, now_ms).transpose()).collect()
}

/// A least-squares line through the current instance's last hour: the
/// utilization held at the start of the hour, each reading since, and the
/// latest one held until now (readings are stored only when they change).
fn projection(points: &[WindowPoint], now: &WindowNow, now_ms: i64) -> Option<Projection> {
    if now.rejected || now.passed {
        return None;
    }
    let start = now_ms - RATE_SPAN_MS;
    let held = points.iter().rev().find(|p| p.ts_ms <= start).map(|p| WindowPoint { ts_ms: start, ..*p });
    let recent: Vec<WindowPoint> = held.into_iter().chain(points.iter().copied().filter(|p| p.ts_ms > start)).collect();
    let last = *recent.last()?;
    let mut line: Vec<(f64, f64)> = recent.iter().map(|p| (p.ts_ms as f64, p.utilization)).collect();
    if last.ts_ms < now_ms {
        line.push((now_ms as f64, last.utilization));
    }
    if line.len() < 2 {
        return None;
    }
    let n = line.len() as f64;
    let (mean_t, mean_u) = (line.iter().map(|p| p.0).sum::<f64>() / n, line.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut num, mut den) = (0.0, 0.0);
    for (t, u) in &line {
        num += (t - mean_t) * (u - mean_u);
        den += (t - mean_t) * (t - mean_t);
    }
    let per_ms = if den > 0.0 { num / den } else { 0.0 };
    if per_ms <= 0.0 || !per_ms.is_finite() {
        return None;
    }
    // Where the line stands now, then how long to 100% from there.
    let at_now = mean_u + per_ms * (now_ms as f64 - mean_t);
    let fills_at = now_ms + ((1.0 - at_now).max(0.0) / per_ms) as i64;
    let before_reset = now.resets_at_ms.is_none_or(|reset| fills_at < reset);
    Some(Projection { rate_per_hour: per_ms * 3_600_000.0, fills_at_ms: before_reset.then_some(fills_at) })
}

impl super::Dashboard {
    /// The Windows page.
    pub fn windows(&self, query: WindowsQuery) -> Result<WindowsReport, super::DashboardError> {
        self.windows_at(query, jiff::Timestamp::now().as_millisecond())
    }

    pub(crate) fn windows_at(&self, query: WindowsQuery, now_ms: i64) -> Result<WindowsReport, super::DashboardError> {
        let since_ms = now_ms - i64::from(query.days.unwrap_or(8).clamp(1, 400)) * 86_400_000;
        let top = query.top.unwrap_or(20).clamp(1, 200);
        let Some(conn) = self.read()? else { return Ok(WindowsReport { windows: Vec::new(), since_ms }) };
        let run = || -> rusqlite::Result<Vec<WindowSeries>> {
            let all = instances(&conn, Some(since_ms))?;
            let mut series = Vec::new();
            for current in latest(&all) {
                let Some(now) = now_of(&conn, current, now_ms)? else { continue };
                let mut instances = Vec::new();
                for instance in all.iter().filter(|i| i.name == current.name) {
                    let mut statement = conn.prepare_cached(
                        "SELECT r.ts_unix_ms, wr.utilization, wr.request FROM window_readings wr
                         JOIN requests r ON r.id = wr.request
                         WHERE wr.window = ?1 AND r.ts_unix_ms >= ?2 AND wr.utilization IS NOT NULL
                         ORDER BY r.ts_unix_ms, wr.request",
                    )?;
                    let points = statement
                        .query_map(rusqlite::params![instance.id, since_ms], |row| {
                            Ok(WindowPoint { ts_ms: row.get(0)?, utilization: row.get(1)?, request: row.get(2)? })
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    if !points.is_empty() {
                        let resets_at_ms = (instance.resets_at > 0).then_some(instance.resets_at * 1000);
                        instances.push(WindowInstance { resets_at_ms, points });
                    }
                }
                let current_points =
                    instances.last().filter(|i| i.resets_at_ms == now.resets_at_ms).map_or(&[][..], |i| &i.points[..]);
                let projection = projection(current_points, &now, now_ms);
                let mut statement = conn.prepare_cached(
                    "SELECT request, delta, utilization FROM window_readings
                     WHERE window = ?1 AND delta IS NOT NULL AND delta > 0
                     ORDER BY ROUND(delta, 6) DESC, request DESC LIMIT ?2",
                )?;
                let takers = statement
                    .query_map(rusqlite::params![current.id, top], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, f64>(1)?, row.get::<_, Option<f64>>(2)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let ids: Vec<i64> = takers.iter().map(|t| t.0).collect();
                let rows = super::requests::load_rows(
                    &conn,
                    &super::requests::select_rows("WHERE r.id IN (SELECT value FROM json_each(?1))"),
                    [serde_json::to_string(&ids).expect("a list of integers serialises")],
                )?;
                let mut rows: std::collections::HashMap<i64, super::requests::RequestRow> =
                    rows.into_iter().map(|row| (row.id, row)).collect();
                let top_requests = takers
                    .into_iter()
                    .filter_map(|(id, delta, utilization)| {
                        rows.remove(&id).map(|request| WindowRequest { delta, utilization, request })
                    })
                    .collect();
                series.push(WindowSeries { now, instances, projection, top_requests });
            }
            Ok(series)
        };
        let windows = run().map_err(|source| self.error(source))?;
        Ok(WindowsReport { windows, since_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Dashboard;
    use super::super::testing::{self, Row, reading};
    use super::*;
    use crate::pricing::PriceTable;

    const MIN: i64 = 60_000;

    #[test]
    fn windows_show_their_instances_top_requests_and_projection() {
        let dir = tempfile::tempdir().unwrap();
        let dashboard = Dashboard::new(dir.path().join("ledger.sqlite3"), PriceTable::builtin());
        let now = 1_764_590_000_000; // 2025-12-01T12:33:20Z
        assert!(dashboard.windows_at(WindowsQuery::default(), now).unwrap().windows.is_empty());
        let conn = testing::create(dashboard.ledger_path());
        let old_reset = (now - 3 * 60 * MIN) / 1000;
        let reset = (now + 4 * 60 * MIN) / 1000;
        // The previous instance, which reset 3 hours ago.
        let a = Row::at(now - 5 * 60 * MIN).insert(&conn);
        reading(&conn, a, "5h", old_reset, 0.5, None, None);
        // The current one: 10% two hours ago, then a jump, then a steady climb over the last hour.
        let b = Row::at(now - 120 * MIN).insert(&conn);
        reading(&conn, b, "5h", reset, 0.10, None, None);
        let jump = Row {
            cache_write_1h: 150_000,
            flags: 1,
            request_class: Some("compaction"),
            compaction: Some("auto"),
            ..Row::at(now - 90 * MIN)
        }
        .insert(&conn);
        reading(&conn, jump, "5h", reset, 0.40, Some(0.30), None);
        for (i, minutes) in [50, 30, 10].into_iter().enumerate() {
            let id = Row::at(now - minutes * MIN).insert(&conn);
            reading(&conn, id, "5h", reset, 0.40 + 0.05 * (i + 1) as f64, Some(0.05), None);
        }
        // A weekly window that is rejected, and one the gateway has no name for.
        let c = Row::at(now - 5 * MIN).insert(&conn);
        reading(&conn, c, "7d", (now + 86_400_000) / 1000, 1.0, Some(0.01), Some("rejected"));
        reading(&conn, c, "7d_oi", (now + 86_400_000) / 1000, 0.3, None, None);
        // A later response that left every window as it was: it is the "as of".
        let d = Row { flags: 4, ..Row::at(now - MIN) }.insert(&conn);

        let report = dashboard.windows_at(WindowsQuery::default(), now).unwrap();
        let names: Vec<&str> = report.windows.iter().map(|w| w.now.name.as_str()).collect();
        assert_eq!(names, ["5h", "7d", "7d_oi"]);
        let five = &report.windows[0];
        assert_eq!(five.instances.len(), 2, "each instance is its own line; the reset between them shows");
        assert_eq!(five.instances[1].points.len(), 5);
        assert_eq!(five.now.utilization, Some(0.55));
        assert_eq!(five.now.as_of_ms, now - MIN);
        assert_eq!(five.now.resets_at_ms, Some(reset * 1000));
        assert!(!five.now.rejected && !five.now.passed);
        assert_eq!(five.top_requests[0].request.id, jump, "the jump took the most");
        assert_eq!(five.top_requests[0].delta, 0.30);
        assert!(five.top_requests[0].request.flags.cache_rebuild_idle);
        assert_eq!(five.top_requests[0].request.request_class.as_deref(), Some("compaction"));
        assert_eq!(five.top_requests.len(), 4, "the first reading of an instance has no delta");
        let projection = five.projection.unwrap();
        assert!(projection.rate_per_hour > 0.1 && projection.rate_per_hour < 0.3, "{projection:?}");
        let fills = projection.fills_at_ms.unwrap();
        assert!(fills > now + 2 * 60 * MIN && fills < now + 4 * 60 * MIN, "fills before the reset: {projection:?}");
        assert!(d > c);

        let weekly = &report.windows[1];
        assert!(weekly.now.rejected);
        assert!(weekly.now.label.starts_with("rejected until"), "{}", weekly.now.label);
        assert_eq!(weekly.projection, None, "a rejected window does not fill");
        assert_eq!(report.windows[2].now.title, "Weekly window (oi)");

        // Flat for the last hour: no projection.
        let later = now + 4 * 60 * MIN;
        let flat = dashboard.windows_at(WindowsQuery::default(), later - MIN).unwrap();
        assert_eq!(flat.windows[0].projection, None);
        // After the reset, the reading belongs to a window that is over.
        let passed = dashboard.windows_at(WindowsQuery::default(), later + MIN).unwrap();
        assert!(passed.windows[0].now.passed);
        assert!(passed.windows[0].now.label.contains("passed"), "{}", passed.windows[0].now.label);

        let now_windows = current(&conn, now).unwrap();
        assert_eq!(now_windows.len(), 3);
        assert_eq!(now_windows[0], five.now);
    }

    #[test]
    fn a_window_that_resets_before_it_fills_has_a_rate_but_no_fill_time() {
        let now = 10 * 60 * MIN;
        let points: Vec<WindowPoint> = [(-50, 0.50), (-30, 0.55), (-10, 0.60)]
            .into_iter()
            .map(|(minutes, utilization)| WindowPoint { ts_ms: now + minutes * MIN, utilization, request: 1 })
            .collect();
        let window = |resets_in: i64| WindowNow {
            name: "5h".into(),
            title: "5-hour window".into(),
            utilization: Some(0.60),
            resets_at_ms: Some(now + resets_in),
            status: None,
            rejected: false,
            passed: false,
            as_of_ms: now,
            label: String::new(),
        };
        let late = projection(&points, &window(30 * MIN), now).unwrap();
        assert!(late.rate_per_hour > 0.0);
        assert_eq!(late.fills_at_ms, None, "the window resets first");
        let soon = projection(&points, &window(600 * MIN), now).unwrap();
        assert!(soon.fills_at_ms.is_some_and(|at| at > now && at < now + 600 * MIN), "{soon:?}");
        let one = &points[2..];
        assert_eq!(projection(one, &window(600 * MIN), now), None, "one reading alone shows no rise");
        assert_eq!(projection(&[], &window(600 * MIN), now), None);
    }
}
