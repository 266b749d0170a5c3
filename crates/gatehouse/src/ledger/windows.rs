//! The subscription windows as the ledger recorded them: the current
//! instance of each window, and the requests that took the most of it.
//!
//! The gateway stores a window reading with a request only when it is news
//! (see `windows_tracker`): the first reading of an instance, a rise, or a
//! new status. A reading's `delta` is the rise that request's response
//! showed, so the requests with the largest deltas are the ones that used
//! the window up. The latest instance of a window is the one with the
//! latest reset time; its latest reading is its state.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::flags;
use crate::anthropic::ratelimit::window_title;

/// The pseudo-window that holds the top-level unified fields; not a window.
const UNIFIED: &str = "unified";

/// The current windows, 5-hour and weekly first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowsReport {
    pub windows: Vec<WindowUse>,
}

/// One window's current instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowUse {
    /// The name in the headers: `5h`, `7d`, `7d_oi`, …
    pub name: String,
    /// What people call it: "5-hour window".
    pub title: String,
    /// When it resets, as Unix seconds; `None` when the headers did not say.
    pub resets_at: Option<i64>,
    /// How full it is, 0 to 1, at its latest reading.
    pub utilization: Option<f64>,
    /// Its own status at the latest reading (`allowed`, `rejected`, …).
    pub status: Option<String>,
    /// The rise the recorded requests account for, in percentage points.
    pub recorded_points: f64,
    /// The requests that took the most of it, largest first.
    pub top: Vec<WindowRequest>,
}

/// A request and what it took from a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowRequest {
    /// When it arrived, Unix milliseconds.
    pub ts_unix_ms: i64,
    /// The upstream's request id.
    pub request_id: Option<String>,
    pub model: Option<String>,
    /// The rise its response showed, in percentage points.
    pub delta_points: f64,
    /// What explains a jump: "cache rebuild after idle", "compaction", "subagent", …
    pub flags: Vec<String>,
    /// `main`, `subagent`, `compaction`, as Claude Code said.
    pub request_class: Option<String>,
    pub agent_type: Option<String>,
    /// `None` when no price is known for the model (never $0).
    pub cost_usd: Option<f64>,
}

/// The latest instance of every window, each with its `top` largest requests.
pub fn current(conn: &Connection, top: usize) -> rusqlite::Result<WindowsReport> {
    let mut instances = conn.prepare(
        "SELECT w.id, w.name, w.resets_at FROM windows w
         WHERE w.name <> ?1 AND w.resets_at = (SELECT MAX(resets_at) FROM windows WHERE name = w.name)",
    )?;
    let instances = instances
        .query_map([UNIFIED], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut windows = Vec::with_capacity(instances.len());
    for (id, name, resets_at) in instances {
        let (utilization, status) = conn
            .prepare_cached(
                "SELECT utilization, status FROM window_readings WHERE window = ?1 ORDER BY request DESC LIMIT 1",
            )?
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?
            .unwrap_or((None, None));
        let recorded: f64 = conn
            .prepare_cached("SELECT COALESCE(SUM(delta), 0.0) FROM window_readings WHERE window = ?1")?
            .query_row([id], |row| row.get(0))?;
        windows.push(WindowUse {
            title: window_title(&name),
            name,
            resets_at: (resets_at != 0).then_some(resets_at),
            utilization,
            status,
            recorded_points: points(recorded),
            top: top_requests(conn, id, top)?,
        });
    }
    let rank = |name: &str| match name {
        "5h" => 0,
        "7d" => 1,
        _ => 2,
    };
    windows.sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
    Ok(WindowsReport { windows })
}

/// Percentage points from a 0..1 rise, without float noise.
fn points(delta: f64) -> f64 {
    (delta * 10_000.0).round() / 100.0
}

fn top_requests(conn: &Connection, window: i64, limit: usize) -> rusqlite::Result<Vec<WindowRequest>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.ts_unix_ms, r.request_id, model.value, wr.delta, r.flags, class.value, agent.value,
                compaction.value, r.cost_usd
         FROM window_readings wr
         JOIN requests r ON r.id = wr.request
         LEFT JOIN names model ON model.id = r.model
         LEFT JOIN names class ON class.id = r.request_class
         LEFT JOIN names agent ON agent.id = r.agent_type
         LEFT JOIN names compaction ON compaction.id = r.compaction
         WHERE wr.window = ?1 AND wr.delta > 0
         ORDER BY ROUND(wr.delta, 6) DESC, r.ts_unix_ms DESC, r.id DESC
         LIMIT ?2",
    )?;
    let rows = statement.query_map(params![window, i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
        let request_class: Option<String> = row.get(5)?;
        let compaction: Option<String> = row.get(7)?;
        let mut named: Vec<String> = flags::describe(row.get(4)?).into_iter().map(str::to_string).collect();
        match request_class.as_deref() {
            Some("compaction") => named.push("compaction".to_string()),
            Some("subagent") => named.push("subagent".to_string()),
            _ if compaction.is_some() => named.push("compaction".to_string()),
            _ => {}
        }
        Ok(WindowRequest {
            ts_unix_ms: row.get(0)?,
            request_id: super::request_id::read(row.get_ref(1)?),
            model: row.get(2)?,
            delta_points: points(row.get(3)?),
            flags: named,
            request_class,
            agent_type: row.get(6)?,
            cost_usd: row.get(8)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::names;

    /// A ledger with requests and readings written as the gateway writes them.
    struct Ledger {
        conn: Connection,
        _dir: tempfile::TempDir,
    }

    impl Ledger {
        fn new() -> Ledger {
            let dir = tempfile::tempdir().unwrap();
            let conn = crate::ledger::open(&dir.path().join("ledger.sqlite3")).unwrap();
            Ledger { conn, _dir: dir }
        }

        /// A request; returns its row id.
        fn request(&self, ts: i64, model: &str, cost: Option<f64>, class: Option<&str>, flags: i64) -> i64 {
            let id = |value: &str| names::id(&self.conn, value).unwrap();
            let class = class.map(id);
            self.conn
                .execute(
                    concat!(
                        "INSERT INTO requests (id, source, request_id, client, model, upstream, status, streamed,
                        complete, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                        cache_read_tokens, cost_usd, price_version, request_class, flags)
                     VALUES (",
                        crate::ledger::new_request_id!("?1"),
                        ", 0, ?2, ?3, ?4, ?5, 200, 1, 1, 1, 1, 0, 0, 0, ?6, ?7, ?8, ?9)"
                    ),
                    params![
                        ts,
                        format!("req_{ts}"),
                        id("claude-code"),
                        id(model),
                        id("anthropic"),
                        cost,
                        id("builtin-1"),
                        class,
                        flags | flags::WINDOW_HEADERS
                    ],
                )
                .unwrap();
            self.conn.last_insert_rowid()
        }

        fn reading(&self, request: i64, name: &str, resets_at: i64, utilization: f64, delta: Option<f64>) {
            self.conn
                .execute("INSERT OR IGNORE INTO windows (name, resets_at) VALUES (?1, ?2)", params![name, resets_at])
                .unwrap();
            let window: i64 = self
                .conn
                .query_row("SELECT id FROM windows WHERE name = ?1 AND resets_at = ?2", params![name, resets_at], |r| {
                    r.get(0)
                })
                .unwrap();
            self.conn
                .execute(
                    "INSERT INTO window_readings (window, request, utilization, delta, status, raw)
                     VALUES (?1, ?2, ?3, ?4, 'allowed', ?5)",
                    params![window, request, utilization, delta, format!("utilization={utilization}")],
                )
                .unwrap();
        }
    }

    #[test]
    fn the_current_instance_and_its_largest_requests() {
        let ledger = Ledger::new();
        // An earlier 5-hour instance: not the current one.
        let old = ledger.request(1_000, "claude-sonnet-4-5", Some(0.1), Some("main"), 0);
        ledger.reading(old, "5h", 10_000, 0.9, None);
        let first = ledger.request(20_000, "claude-sonnet-4-5", Some(0.2), Some("main"), 0);
        ledger.reading(first, "5h", 30_000, 0.60, None);
        ledger.reading(first, "7d", 900_000, 0.17, None);
        let rebuild = ledger.request(21_000, "claude-opus-5-5", Some(1.5), Some("main"), flags::CACHE_REBUILD_IDLE);
        ledger.reading(rebuild, "5h", 30_000, 0.95, Some(0.35));
        let small = ledger.request(22_000, "claude-haiku-4-5", None, Some("subagent"), 0);
        ledger.reading(small, "5h", 30_000, 0.97, Some(0.02));
        let compaction = ledger.request(23_000, "claude-sonnet-4-5", Some(0.3), Some("compaction"), 0);
        ledger.reading(compaction, "5h", 30_000, 1.0, Some(0.03));
        ledger.reading(compaction, "7d_oi", 0, 0.5, None);
        // The top-level fields are no window.
        ledger.reading(compaction, UNIFIED, 30_000, 0.0, None);

        let report = current(&ledger.conn, 2).unwrap();
        let names: Vec<&str> = report.windows.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["5h", "7d", "7d_oi"]);
        let five = &report.windows[0];
        assert_eq!(five.title, "5-hour window");
        assert_eq!((five.resets_at, five.utilization), (Some(30_000), Some(1.0)));
        assert_eq!(five.recorded_points, 40.0, "35 + 2 + 3 points, the old instance not counted");
        assert_eq!(five.top.len(), 2, "the two largest");
        assert_eq!(five.top[0].delta_points, 35.0);
        assert_eq!(five.top[0].model.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(five.top[0].flags, ["cache rebuild after idle"]);
        assert_eq!(five.top[0].cost_usd, Some(1.5));
        assert_eq!(five.top[1].delta_points, 3.0);
        assert_eq!(five.top[1].flags, ["compaction"]);

        let all = current(&ledger.conn, 10).unwrap();
        let subagent = &all.windows[0].top[2];
        assert_eq!((subagent.delta_points, subagent.cost_usd), (2.0, None), "unpriced stays unknown");
        assert_eq!(subagent.flags, ["subagent"]);
        assert!(all.windows[1].top.is_empty(), "a first reading has no delta");
        assert_eq!(all.windows[2].resets_at, None, "no reset time sent");
    }

    #[test]
    fn requests_that_took_the_same_points_are_listed_newest_first() {
        let ledger = Ledger::new();
        let first = ledger.request(20_000, "claude-sonnet-4-5", Some(0.2), Some("main"), 0);
        ledger.reading(first, "5h", 30_000, 0.12, None);
        // One point each, as the tracker subtracts them: 0.15 - 0.14 is a
        // little less than the others in its last bits, which must not
        // order it.
        let steps = [0.12, 0.13, 0.14, 0.15, 0.16];
        for (at, pair) in steps.windows(2).enumerate() {
            let id = ledger.request(21_000 + at as i64 * 1_000, "claude-sonnet-4-5", Some(0.1), Some("main"), 0);
            ledger.reading(id, "5h", 30_000, pair[1], Some(pair[1] - pair[0]));
        }
        let five = &current(&ledger.conn, 10).unwrap().windows[0];
        let times: Vec<i64> = five.top.iter().map(|t| t.ts_unix_ms).collect();
        assert_eq!(times, [24_000, 23_000, 22_000, 21_000]);
    }

    #[test]
    fn an_empty_ledger_has_no_windows() {
        let ledger = Ledger::new();
        assert_eq!(current(&ledger.conn, 5).unwrap(), WindowsReport { windows: Vec::new() });
    }
}
