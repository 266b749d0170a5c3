//! Real SQLite ledgers for the dashboard's tests: a row builder and window
//! readings, written the way the gateway's writer and the transcript import
//! write them.

use std::path::Path;

use rusqlite::{Connection, params};

/// A ledger as the gateway opens it: every migration, the rollup included.
pub(crate) fn create(path: &Path) -> Connection {
    crate::ledger::open(path).unwrap()
}

fn name(conn: &Connection, value: Option<&str>) -> Option<i64> {
    let value = value?;
    conn.execute("INSERT OR IGNORE INTO names (value) VALUES (?1)", [value]).unwrap();
    Some(conn.query_row("SELECT id FROM names WHERE value = ?1", [value], |row| row.get(0)).unwrap())
}

/// One request row; `Row::at(ts)` then adjust fields.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) ts_ms: i64,
    pub(crate) source: i64,
    pub(crate) request_id: Option<String>,
    pub(crate) client: Option<&'static str>,
    pub(crate) model: &'static str,
    pub(crate) status: i64,
    pub(crate) complete: bool,
    pub(crate) input: i64,
    pub(crate) output: i64,
    pub(crate) cache_write_5m: i64,
    pub(crate) cache_write_1h: i64,
    pub(crate) cache_read: i64,
    pub(crate) cost: Option<f64>,
    pub(crate) session: Option<&'static str>,
    pub(crate) project: Option<&'static str>,
    pub(crate) request_class: Option<&'static str>,
    pub(crate) agent_type: Option<&'static str>,
    pub(crate) compaction: Option<&'static str>,
    pub(crate) flags: i64,
}

impl Row {
    pub(crate) fn at(ts_ms: i64) -> Row {
        Row {
            ts_ms,
            source: 0,
            request_id: None,
            client: Some("claude-code"),
            model: "claude-sonnet-4-5",
            status: 200,
            complete: true,
            input: 10,
            output: 100,
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: 0,
            cost: Some(0.01),
            session: Some("session-1"),
            project: Some("/home/u/project"),
            request_class: Some("main"),
            agent_type: None,
            compaction: None,
            flags: 0,
        }
    }

    pub(crate) fn insert(&self, conn: &Connection) -> i64 {
        let transcript = self.source == 1;
        conn.execute(
            concat!(
                "INSERT INTO requests (id, source, request_id, client, model, upstream, status, streamed, complete,
                input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd,
                price_version, ttfb_us, latency_us, session, device, project, error_type, request_class, agent_type,
                prompt, compaction, flags)
             VALUES (",
                crate::ledger::new_request_id!("?1"),
                ", ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                NULL, ?21, ?22, ?23, ?24, ?25)"
            ),
            params![
                self.ts_ms,
                self.source,
                self.request_id,
                name(conn, if transcript { None } else { self.client }),
                name(conn, Some(self.model)),
                name(conn, if transcript { None } else { Some("anthropic") }),
                self.status,
                self.complete,
                self.input,
                self.output,
                self.cache_write_5m,
                self.cache_write_1h,
                self.cache_read,
                self.cost,
                name(conn, Some("2026-11-22")),
                (!transcript).then_some(1_463i64),
                (!transcript).then_some(812_250i64),
                name(conn, self.session),
                name(conn, Some("device-1")),
                name(conn, self.project),
                name(conn, self.request_class),
                name(conn, self.agent_type),
                name(conn, Some("prompt-1")),
                name(conn, self.compaction),
                self.flags,
            ],
        )
        .unwrap();
        conn.last_insert_rowid()
    }
}

/// Stores a reading of window `name` (instance `resets_at`, Unix seconds) carried by `request`.
pub(crate) fn reading(
    conn: &Connection,
    request: i64,
    name: &str,
    resets_at: i64,
    utilization: f64,
    delta: Option<f64>,
    status: Option<&str>,
) {
    conn.execute("INSERT OR IGNORE INTO windows (name, resets_at) VALUES (?1, ?2)", params![name, resets_at]).unwrap();
    let window: i64 = conn
        .query_row("SELECT id FROM windows WHERE name = ?1 AND resets_at = ?2", params![name, resets_at], |row| {
            row.get(0)
        })
        .unwrap();
    conn.execute(
        "INSERT INTO window_readings (window, request, utilization, delta, status, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![window, request, utilization, delta, status, format!("utilization={utilization}; reset={resets_at}")],
    )
    .unwrap();
    conn.execute("UPDATE requests SET flags = flags | 4 WHERE id = ?1", [request]).unwrap();
}
