//! The spend ledger: one SQLite row per Messages API request.
//!
//! The gateway never writes here itself. It hands each finished exchange to
//! the [`writer`], a thread that parses usage, prices it and commits rows in
//! batches, so the request path never waits on the disk, and keeps rows it
//! could not commit until it can; [`health`] says how that is going. WAL
//! mode lets `gatehouse spend` and the dashboard read while the gateway
//! writes.

pub mod coverage;
pub mod flags;
pub mod health;
pub mod import;
pub mod names;
pub mod project;
pub(crate) mod prompt_id;
pub mod query;
pub mod record;
pub(crate) mod request_id;
#[cfg(feature = "synth")]
pub mod synth;
pub(crate) mod transcript;
pub mod windows;
mod windows_tracker;
pub mod writer;

use std::path::Path;

use rusqlite::Connection;

/// The schema, versioned through SQLite's `user_version`. Each entry moves
/// the ledger one version on, in place, keeping every row.
/// The `request_rows` view: for people reading the ledger with sqlite3,
/// every row with its strings. Created by migration 2, made again by 7.
macro_rules! request_rows_view {
    () => {
        concat!(
            r#"CREATE VIEW request_rows AS SELECT r.id,
        strftime('%Y-%m-%dT%H:%M:%fZ', r.ts_unix_ms / 1000.0, 'unixepoch') AS ts, r.ts_unix_ms,
        CASE r.source WHEN 1 THEN 'transcript' ELSE 'gateway' END AS source, "#,
            request_id::view_expression!("r.request_id"),
            r#" AS request_id, client.value AS client, model.value AS model, upstream.value AS upstream, r.status, r.streamed, r.complete,
        r.input_tokens, r.output_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens, r.cache_read_tokens,
        r.cost_usd, price_version.value AS price_version, r.ttfb_us / 1000.0 AS ttfb_ms,
        r.latency_us / 1000.0 AS latency_ms, session.value AS session_id, device.value AS device_id,
        project.value AS project, error_type.value AS error_type, request_class.value AS request_class,
        agent_type.value AS agent_type, "#,
            prompt_id::view_expression!(),
            r#" AS prompt_id, compaction.value AS compaction, r.flags
    FROM requests r
    LEFT JOIN names client ON client.id = r.client
    LEFT JOIN names model ON model.id = r.model
    LEFT JOIN names upstream ON upstream.id = r.upstream
    LEFT JOIN names price_version ON price_version.id = r.price_version
    LEFT JOIN names session ON session.id = r.session
    LEFT JOIN names device ON device.id = r.device
    LEFT JOIN names project ON project.id = r.project
    LEFT JOIN names error_type ON error_type.id = r.error_type
    LEFT JOIN names request_class ON request_class.id = r.request_class
    LEFT JOIN names agent_type ON agent_type.id = r.agent_type
    LEFT JOIN names prompt ON prompt.id = r.prompt
    LEFT JOIN names compaction ON compaction.id = r.compaction;
"#
        )
    };
}

const MIGRATIONS: &[&str] = &[
    // 1: one row per request, strings inline.
    r#"
CREATE TABLE requests (
    id                    INTEGER PRIMARY KEY,
    ts                    TEXT NOT NULL,     -- RFC 3339, UTC: when the request arrived
    ts_unix_ms            INTEGER NOT NULL,
    request_id            TEXT,              -- the upstream's request-id header
    client                TEXT NOT NULL,     -- name of the gateway key used
    model                 TEXT NOT NULL,
    upstream              TEXT NOT NULL,
    status                INTEGER NOT NULL,  -- HTTP status returned to the client
    streamed              INTEGER NOT NULL,
    complete              INTEGER NOT NULL,  -- 0: the upstream or client broke off
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cost_usd              REAL,              -- NULL: no price known for the model
    price_version         TEXT NOT NULL,
    ttfb_ms               REAL,
    latency_ms            REAL NOT NULL,
    session_id            TEXT,
    device_id             TEXT,
    project               TEXT,
    error_type            TEXT
);
CREATE INDEX requests_ts ON requests (ts_unix_ms);
CREATE INDEX requests_session ON requests (session_id);
"#,
    // 2: compact rows (repeated strings interned in `names`, times as
    // integers), the request's kind from Claude Code's hint headers, rows
    // imported from transcripts, and the subscription windows' readings.
    concat!(
        r#"
CREATE TABLE names (
    id    INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);
INSERT OR IGNORE INTO names (value)
    SELECT client FROM requests UNION SELECT model FROM requests UNION SELECT upstream FROM requests
    UNION SELECT price_version FROM requests UNION SELECT session_id FROM requests WHERE session_id IS NOT NULL
    UNION SELECT device_id FROM requests WHERE device_id IS NOT NULL
    UNION SELECT project FROM requests WHERE project IS NOT NULL
    UNION SELECT error_type FROM requests WHERE error_type IS NOT NULL;

CREATE TABLE requests_v2 (
    id                    INTEGER PRIMARY KEY,
    ts_unix_ms            INTEGER NOT NULL,  -- when the request arrived (a transcript row: when the answer was written)
    source                INTEGER NOT NULL,  -- 0: through the gateway; 1: imported from a Claude Code transcript
    request_id            TEXT,              -- the upstream's request-id (a transcript row without one: its message id)
    client                INTEGER,           -- names: the gateway key's name; NULL for transcript rows
    model                 INTEGER NOT NULL,  -- names
    upstream              INTEGER,           -- names; NULL for transcript rows
    status                INTEGER NOT NULL,  -- HTTP status returned to the client
    streamed              INTEGER NOT NULL,
    complete              INTEGER NOT NULL,  -- 0: the upstream or client broke off
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cost_usd              REAL,              -- NULL: no price known for the model
    price_version         INTEGER NOT NULL,  -- names
    ttfb_us               INTEGER,           -- microseconds
    latency_us            INTEGER,           -- microseconds
    session               INTEGER,           -- names: Claude Code's session id
    device                INTEGER,           -- names
    project               INTEGER,           -- names: Claude Code's working directory
    error_type            INTEGER,           -- names
    request_class         INTEGER,           -- names: x-claude-code-request-class (main, subagent, compaction)
    agent_type            INTEGER,           -- names: x-claude-code-agent-type (Explore, …)
    prompt                INTEGER,           -- names: x-claude-code-prompt-id
    compaction            INTEGER,           -- names: x-claude-code-compaction (manual, …)
    flags                 INTEGER NOT NULL DEFAULT 0  -- see ledger::flags
);
INSERT INTO requests_v2 (id, ts_unix_ms, source, request_id, client, model, upstream, status, streamed, complete,
        input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd,
        price_version, ttfb_us, latency_us, session, device, project, error_type)
    SELECT r.id, r.ts_unix_ms, 0, r.request_id,
        (SELECT id FROM names WHERE value = r.client), (SELECT id FROM names WHERE value = r.model),
        (SELECT id FROM names WHERE value = r.upstream), r.status, r.streamed, r.complete,
        r.input_tokens, r.output_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens, r.cache_read_tokens,
        r.cost_usd, (SELECT id FROM names WHERE value = r.price_version),
        CAST(round(r.ttfb_ms * 1000) AS INTEGER), CAST(round(r.latency_ms * 1000) AS INTEGER),
        (SELECT id FROM names WHERE value = r.session_id), (SELECT id FROM names WHERE value = r.device_id),
        (SELECT id FROM names WHERE value = r.project), (SELECT id FROM names WHERE value = r.error_type)
    FROM requests r ORDER BY r.id;
DROP TABLE requests;
ALTER TABLE requests_v2 RENAME TO requests;
CREATE INDEX requests_ts ON requests (ts_unix_ms);
CREATE INDEX requests_session ON requests (session);
-- The gateway's row wins over a transcript's: see `writer`.
CREATE INDEX requests_transcript_request ON requests (request_id) WHERE source = 1;

-- One window instance: a name and its reset time; a new reset time is a new window.
CREATE TABLE windows (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,              -- '5h', '7d', '7d_oi', …; 'unified' holds the top-level fields
    resets_at INTEGER NOT NULL DEFAULT 0, -- Unix seconds; 0 when not sent
    UNIQUE (name, resets_at)
);
-- Change points only: see `windows_tracker`.
CREATE TABLE window_readings (
    window      INTEGER NOT NULL,  -- windows
    request     INTEGER NOT NULL,  -- requests: the response that carried it
    utilization REAL,              -- 0 to 1, as sent
    delta       REAL,              -- the rise this response showed; NULL for an instance's first reading
    status      TEXT,              -- the window's own status header, when sent
    raw         TEXT NOT NULL,     -- the window's raw headers, "field=value" joined by "; "
    PRIMARY KEY (window, request)
) WITHOUT ROWID;
CREATE INDEX window_readings_request ON window_readings (request);

"#,
        request_rows_view!()
    ),
    // 3: transcript import progress (see `import`).
    import::MIGRATION,
    // 4: spend rolled up by 15-minute slot, kept by triggers, for the
    // dashboard's reports (see `dashboard::rollup`).
    crate::dashboard::rollup::MIGRATION,
    // 5: the rollup's group dimensions also per UTC day, so a month by
    // session or project reads days instead of 15-minute slots.
    crate::dashboard::rollup::DAYS_MIGRATION,
    // 6: no index on the session (13.5 MB per million rows): the writer's
    // two lookups by session are bounded by the session's span in the
    // rollup's day cells (`dashboard::rollup::session_span`) and walk
    // `requests_ts`.
    "DROP INDEX requests_session;",
    // 7: prompt ids in the row, not in `names` (see `prompt_id`): the view
    // reads both.
    concat!("DROP VIEW request_rows;\n", request_rows_view!()),
    // 8: time-ordered row ids (see [`id_at`]): a time range is a range of
    // the table's own key, so `requests_ts` (17 MB per million rows) and the
    // stored time go; `ts_unix_ms` is computed from the id. `req_…` request
    // ids lose their prefix (see `request_id`). Every window
    // reading follows its request to the new id. The rollup's triggers and
    // the view are made again on the new table (the triggers by 9); the
    // rollup's cells stay as they are.
    concat!(
        r#"
DROP VIEW request_rows;
CREATE TEMP TABLE request_id_map (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
INSERT INTO request_id_map
    SELECT id, (ts_unix_ms << 10) + ROW_NUMBER() OVER (PARTITION BY ts_unix_ms ORDER BY id) - 1 FROM requests;
CREATE TABLE requests_v8 (
    id                    INTEGER PRIMARY KEY,  -- (ts_unix_ms << 10) + n: see ledger::id_at
    ts_unix_ms            INTEGER NOT NULL GENERATED ALWAYS AS (id >> 10) VIRTUAL,  -- when the request arrived (a transcript row: when the answer was written)
    source                INTEGER NOT NULL,  -- 0: through the gateway; 1: imported from a Claude Code transcript
    request_id            TEXT,              -- the upstream's request-id (a transcript row without one: its message id); a `req_…` one as a BLOB of what follows `req_`: see ledger::request_id
    client                INTEGER,           -- names: the gateway key's name; NULL for transcript rows
    model                 INTEGER NOT NULL,  -- names
    upstream              INTEGER,           -- names; NULL for transcript rows
    status                INTEGER NOT NULL,  -- HTTP status returned to the client
    streamed              INTEGER NOT NULL,
    complete              INTEGER NOT NULL,  -- 0: the upstream or client broke off
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cost_usd              REAL,              -- NULL: no price known for the model
    price_version         INTEGER NOT NULL,  -- names
    ttfb_us               INTEGER,           -- microseconds
    latency_us            INTEGER,           -- microseconds
    session               INTEGER,           -- names: Claude Code's session id
    device                INTEGER,           -- names
    project               INTEGER,           -- names: Claude Code's working directory
    error_type            INTEGER,           -- names
    request_class         INTEGER,           -- names: x-claude-code-request-class (main, subagent, compaction)
    agent_type            INTEGER,           -- names: x-claude-code-agent-type (Explore, …)
    prompt                INTEGER,           -- x-claude-code-prompt-id: see ledger::prompt_id
    compaction            INTEGER,           -- names: x-claude-code-compaction (manual, …)
    flags                 INTEGER NOT NULL DEFAULT 0  -- see ledger::flags
);
INSERT INTO requests_v8 (id, source, request_id, client, model, upstream, status, streamed, complete,
        input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd,
        price_version, ttfb_us, latency_us, session, device, project, error_type, request_class, agent_type, prompt,
        compaction, flags)
    SELECT m.new, r.source,
        CASE WHEN substr(r.request_id, 1, 4) = 'req_' THEN CAST(substr(r.request_id, 5) AS BLOB) ELSE r.request_id END,
        r.client, r.model, r.upstream, r.status, r.streamed, r.complete,
        r.input_tokens, r.output_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens, r.cache_read_tokens,
        r.cost_usd, r.price_version, r.ttfb_us, r.latency_us, r.session, r.device, r.project, r.error_type,
        r.request_class, r.agent_type, r.prompt, r.compaction, r.flags
    FROM requests r JOIN request_id_map m ON m.old = r.id ORDER BY m.new;
UPDATE window_readings SET request = (SELECT new FROM request_id_map WHERE old = window_readings.request);
-- The live list's feed (see `dashboard::requests`): ids no longer grow with
-- each row recorded, so the rows recorded since a version are listed here.
-- It starts at the old ids, so a version read before this stays comparable.
CREATE TABLE request_feed (
    seq     INTEGER PRIMARY KEY,  -- grows with each row recorded
    request INTEGER NOT NULL      -- requests.id
);
INSERT INTO request_feed (seq, request) SELECT old, new FROM request_id_map ORDER BY old DESC LIMIT 1000;
DROP TABLE request_id_map;
DROP TABLE requests;
ALTER TABLE requests_v8 RENAME TO requests;
CREATE UNIQUE INDEX requests_transcript_request ON requests (request_id) WHERE source = 1;
-- Transcript rows in time order (the key is the rowid), for `coverage`.
CREATE INDEX requests_transcript ON requests (source) WHERE source = 1;
CREATE TRIGGER request_feed_insert AFTER INSERT ON requests BEGIN
    INSERT INTO request_feed (request) VALUES (NEW.id);
    DELETE FROM request_feed WHERE seq <= last_insert_rowid() - 1000;
END;
"#,
        request_rows_view!()
    ),
    // 9: the rollup's triggers on the table 8 made, and its group
    // dimensions by the hour (see `dashboard::rollup`).
    crate::dashboard::rollup::HOURS_MIGRATION,
    // 10: the rollup's cells keep their billed part (requests served with a
    // paid credential, `flags::BILLED`), so reports tell billed dollars from
    // subscription-equivalent ones (see `dashboard::rollup`).
    crate::dashboard::rollup::BILLED_MIGRATION,
    // 11: the same rollup kept by one trigger per event instead of three,
    // cheaper for the ledger writer (see `dashboard::rollup`).
    crate::dashboard::rollup::ONE_TRIGGER_MIGRATION,
    // 12: what the LiteLLM engine's callback reports of each request it
    // served, by LiteLLM's call id (the request row's `request_id`): its own
    // cost and usage, kept beside the gateway's to show where they disagree
    // (see `engines::litellm::callback`). Whitelisted fields only.
    r#"
CREATE TABLE engine_costs (
    call_id               TEXT PRIMARY KEY,
    ts_unix_ms            INTEGER NOT NULL,
    model                 TEXT,
    response_cost         REAL,
    input_tokens          INTEGER,
    output_tokens         INTEGER,
    cache_write_tokens    INTEGER,
    cache_read_tokens     INTEGER
) WITHOUT ROWID;
"#,
];

/// How many rows one millisecond can hold: a row's id is
/// `(ts_unix_ms << 10) + n`, `n` counting the rows stamped in the same
/// millisecond (migration 8). Ids so stay below 2^53 (exact in JavaScript)
/// until the year 2248.
pub(crate) const ID_BITS: u32 = 10;

/// The first row id of millisecond `ms`: `ts_unix_ms >= ms` is
/// `id >= id_at(ms)`, a range of the table's key.
pub(crate) fn id_at(ms: i64) -> i64 {
    ms.saturating_mul(1 << ID_BITS)
}

/// Whether the ledger's rollup keeps the billed part of its cells
/// (migration 10): a reader opens a ledger read-only, so it may find one
/// that no gateway of this version has migrated yet.
pub(crate) fn has_billed_sums(conn: &Connection) -> rusqlite::Result<bool> {
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(version >= 10)
}

/// Whether the ledger's row ids are time-ordered and its rollup's group
/// dimensions by the hour (migrations 8 and 9 ran): a reader opens a
/// ledger read-only, so it may find one that no gateway of this version
/// has migrated yet.
pub(crate) fn has_time_ids(conn: &Connection) -> rusqlite::Result<bool> {
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(version >= 9)
}

/// The SQL expression of the id of a new row stamped at `$ts` (an SQL
/// expression, such as a parameter): the next free one in its millisecond.
/// The 1025th row of one millisecond (only ever seen in tests) takes the
/// next id after the newest row instead, a little later.
macro_rules! new_request_id {
    ($ts:literal) => {
        concat!(
            "(SELECT CASE WHEN last IS NULL THEN (",
            $ts,
            ") << 10 WHEN last + 1 < ((",
            $ts,
            ") + 1) << 10 THEN last + 1 ELSE (SELECT MAX(id) + 1 FROM requests) END FROM (SELECT (SELECT id FROM \
             requests WHERE id >= (",
            $ts,
            ") << 10 AND id < ((",
            $ts,
            ") + 1) << 10 ORDER BY id DESC LIMIT 1) AS last))"
        )
    };
}
pub(crate) use new_request_id;

/// Opens (creating or migrating) the ledger for writing.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent() {
        // Failure surfaces as SQLite's own "unable to open" error below.
        let _ = crate::fs_atomic::create_private_dir(dir);
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a committed batch survives even a power cut. Commits happen off
    // the request path, so their fsync costs no client any latency.
    conn.pragma_update(None, "synchronous", "FULL")?;
    let from = migrate(&mut conn)?;
    if (1..REWRITES_REQUESTS).contains(&from) {
        // Migration 8 copied every row to a new table (and 9 the rollup's
        // cells): the old pages are free now, and the file twice its size
        // until it is rewritten. The migration is committed by now: a
        // VACUUM that fails (another process busy writing past the timeout,
        // a full disk) leaves a correct ledger that is only bigger, so the
        // ledger opens anyway.
        if let Err(error) = conn.execute_batch("VACUUM") {
            tracing::warn!("the ledger was migrated but could not be compacted (VACUUM): {error}");
        }
    }
    Ok(conn)
}

/// Opens the ledger for reading; `None` when no ledger exists yet.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Option<Connection>> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(Some(conn))
}

/// The last migration that rewrites much of the ledger (8 copies
/// `requests` to a new table, 9 sums the rollup's 15-minute cells into
/// hours): a ledger migrated past it is vacuumed.
const REWRITES_REQUESTS: usize = 9;

/// Brings the schema up to date; returns the version it found. The version
/// is read inside a write transaction, so two processes opening an old
/// ledger at once (the gateway starting while `gatehouse import` runs)
/// migrate it once.
fn migrate(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: usize = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", index + 1)?;
    }
    tx.commit()?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_of_the_previous_version_is_migrated_in_place_keeping_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            for (i, (model, session, project, cost)) in [
                ("claude-sonnet-4-5", Some("s-1"), Some("/home/a/p"), Some(0.012_345_678_901_234_5)),
                ("claude-sonnet-4-5", Some("s-1"), None, Some(0.5)),
                ("mystery-model", None, None, None),
            ]
            .into_iter()
            .enumerate()
            {
                conn.execute(
                    "INSERT INTO requests (ts, ts_unix_ms, request_id, client, model, upstream, status, streamed,
                     complete, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                     cache_read_tokens, cost_usd, price_version, ttfb_ms, latency_ms, session_id, device_id, project,
                     error_type)
                     VALUES ('2026-12-01T10:00:00Z', ?1, ?2, 'claude-code', ?3, 'anthropic', 200, 1, 1, 10, 20, 30,
                     40, 50, ?4, 'builtin-1', 1.4631150000000002, 812.25, ?5, 'dev', ?6, NULL)",
                    rusqlite::params![
                        1_764_583_200_000i64 + i as i64,
                        format!("req_{i}"),
                        model,
                        cost,
                        session,
                        project
                    ],
                )
                .unwrap();
            }
        }
        let conn = open(&path).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        type Row = (String, String, Option<f64>, Option<String>, Option<String>, i64, f64, String);
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT request_id, model, cost_usd, session_id, project, input_tokens + output_tokens
                    + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens, latency_ms, source
                 FROM request_rows ORDER BY id",
            )
            .unwrap()
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0, "req_0");
        assert_eq!(rows[0].2, Some(0.012_345_678_901_234_5), "costs keep every bit");
        assert_eq!((rows[0].3.as_deref(), rows[0].4.as_deref()), (Some("s-1"), Some("/home/a/p")));
        assert_eq!((rows[2].1.as_str(), rows[2].2), ("mystery-model", None));
        assert!(rows.iter().all(|row| row.5 == 150 && row.6 == 812.25 && row.7 == "gateway"));
        let ttfb: f64 = conn.query_row("SELECT ttfb_ms FROM request_rows LIMIT 1", [], |row| row.get(0)).unwrap();
        assert_eq!(ttfb, 1.463);
        let names: i64 = conn.query_row("SELECT COUNT(*) FROM names", [], |row| row.get(0)).unwrap();
        assert_eq!(names, 8, "each string once");
        drop(conn);
        // Opening again changes nothing.
        let conn = open(&path).unwrap();
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0)).unwrap();
        assert_eq!(count, 3);
    }

    /// Migration 8: every row keeps its time and columns under a
    /// time-ordered id, every window reading follows its request, the rollup
    /// keeps counting, and the live list's version stays comparable.
    #[test]
    fn a_version_7_ledger_gets_time_ordered_ids_keeping_every_row_and_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let t = 1_764_583_200_000i64;
        {
            let conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..7] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            conn.execute_batch(
                "INSERT INTO names (id, value) VALUES (1, 'claude-sonnet-4-5'), (2, 'builtin-1'), (3, 's-1');
                 INSERT INTO windows (id, name, resets_at) VALUES (1, '5h', 1764600000);",
            )
            .unwrap();
            // Two rows in one millisecond, then a transcript row imported
            // later for an earlier time.
            for (ts, source, request_id, cost) in [
                (t, 0, "req_a", 0.012_345_678_901_234_5),
                (t + 1_000, 0, "req_b", 0.25),
                (t + 1_000, 0, "req_c", 0.5),
                (t - 60_000, 1, "msg_d", 1.0),
            ] {
                conn.execute(
                    "INSERT INTO requests (ts_unix_ms, source, request_id, model, status, streamed, complete,
                     input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
                     cost_usd, price_version, session, prompt)
                     VALUES (?1, ?2, ?3, 1, 200, 1, 1, 10, 20, 0, 0, 50, ?4, 2, 3, x'0f8e2c1a5b3d4e6f9a7b1c2d3e4f5a6b')",
                    rusqlite::params![ts, source, request_id, cost],
                )
                .unwrap();
            }
            for request in [2, 3] {
                conn.execute(
                    "INSERT INTO window_readings (window, request, utilization, delta, raw) VALUES (1, ?1, 0.5, 0.1, 'x')",
                    [request],
                )
                .unwrap();
            }
        }
        let rollup = |conn: &Connection| -> Vec<(i64, i64, i64, i64, i64)> {
            conn.prepare("SELECT dim, slot, key, requests, cost_nusd FROM spend_rollup ORDER BY 1, 2, 3, 4, 5")
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let before = rollup(&Connection::open(&path).unwrap());
        let conn = open(&path).unwrap();
        let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let rows: Vec<(i64, i64, String, f64, String)> = conn
            .prepare("SELECT id, ts_unix_ms, request_id, cost_usd, prompt_id FROM request_rows ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let ids: Vec<i64> = vec![(t - 60_000) << 10, t << 10, ((t + 1_000) << 10), ((t + 1_000) << 10) + 1];
        assert_eq!(rows.iter().map(|row| row.0).collect::<Vec<_>>(), ids, "in time order, then in the old order");
        assert_eq!(
            rows.iter().map(|row| (row.1, row.2.as_str())).collect::<Vec<_>>(),
            [(t - 60_000, "msg_d"), (t, "req_a"), (t + 1_000, "req_b"), (t + 1_000, "req_c")]
        );
        assert_eq!(rows[1].3, 0.012_345_678_901_234_5, "costs keep every bit");
        assert!(rows.iter().all(|row| row.4 == "0f8e2c1a-5b3d-4e6f-9a7b-1c2d3e4f5a6b"));
        let readings: Vec<String> = conn
            .prepare("SELECT r.request_id FROM window_readings wr JOIN request_rows r ON r.id = wr.request ORDER BY 1")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(readings, ["req_b", "req_c"], "each reading still points at its request");
        let stored: Vec<(String, i64)> = conn
            .prepare("SELECT typeof(request_id), length(request_id) FROM requests ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(stored[..2], [("text".to_string(), 5), ("blob".to_string(), 1)], "`req_` ids lose their prefix");
        // The group dimensions' 15-minute cells are summed into hours.
        let mut hours = std::collections::BTreeMap::new();
        for (dim, slot, key, requests, cost) in before {
            let slot = if (1..=4).contains(&dim) { slot / 4 } else { slot };
            let cell = hours.entry((dim, slot, key)).or_insert((0, 0));
            (cell.0, cell.1) = (cell.0 + requests, cell.1 + cost);
        }
        let expected: Vec<_> =
            hours.into_iter().map(|((dim, slot, key), (n, cost))| (dim, slot, key, n, cost)).collect();
        assert_eq!(rollup(&conn), expected, "the rollup's cells are kept, the group dimensions' by the hour");
        assert!(expected.iter().any(|cell| cell.0 == 2 && cell.1 == t / 3_600_000));
        let free: i64 = conn.pragma_query_value(None, "freelist_count", |row| row.get(0)).unwrap();
        assert_eq!(free, 0, "the old table's pages are given back");
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' ORDER BY 1")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(indexes, ["requests_transcript", "requests_transcript_request"], "no index on the time");
        // The live list's version goes on from the old ids.
        let feed: i64 = conn.query_row("SELECT MAX(seq) FROM request_feed", [], |row| row.get(0)).unwrap();
        assert_eq!(feed, 4);
        // New rows: the next free id of their millisecond, the rollup's
        // triggers count them, the feed lists them.
        for request_id in ["req_e", "req_f"] {
            conn.execute(
                concat!(
                    "INSERT INTO requests (id, source, request_id, model, status, streamed, complete, input_tokens,
                     output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd,
                     price_version) VALUES (",
                    new_request_id!("?1"),
                    ", 0, ?2, 1, 200, 1, 1, 1, 1, 0, 0, 0, 0.125, 2)"
                ),
                rusqlite::params![t + 1_000, request_id],
            )
            .unwrap();
        }
        assert_eq!(conn.last_insert_rowid(), ((t + 1_000) << 10) + 3);
        let (count, cost): (i64, i64) = conn
            .query_row(
                "SELECT SUM(requests), SUM(cost_nusd) FROM spend_rollup WHERE dim = 0 AND slot = ?1",
                [(t + 1_000) / 900_000],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((count, cost), (5, 1_000_000_000 + 12_345_679));
        let feed: Vec<(i64, i64)> = conn
            .prepare("SELECT seq, request FROM request_feed ORDER BY seq")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(feed[4..], [(5, ((t + 1_000) << 10) + 2), (6, ((t + 1_000) << 10) + 3)]);
    }

    /// Migration 10: a version-9 ledger keeps every row and every cell of
    /// its rollup, and each cell gains the billed part of the rows it sums
    /// (equal to a direct sum over the rows, to the nano-dollar); rows
    /// recorded afterwards keep it exact.
    #[test]
    fn a_version_9_ledger_gets_the_billed_sums_of_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let t = 1_764_583_200_000i64;
        let insert = |conn: &Connection, i: i64, flags: i64| {
            conn.execute(
                concat!(
                    "INSERT INTO requests (id, source, request_id, client, model, status, streamed, complete,
                     input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
                     cost_usd, price_version, session, project, request_class, agent_type, flags) VALUES (",
                    new_request_id!("?1"),
                    ", ?2, ?3, ?4, ?5, 200, 1, 1, 10, 20, 0, 0, 50, ?6, 2, ?7, ?8, ?9, ?10, ?11)"
                ),
                rusqlite::params![
                    t + i * 1_234_567,
                    i64::from(i % 7 == 6),
                    format!("req_{i}"),
                    (i % 7 != 6).then_some(3 + i % 2),
                    if i % 10 == 9 { 6 } else { 1 },
                    (i % 10 != 9).then_some(i as f64 * 0.000_123_456_789_1),
                    (i % 3 != 0).then_some(7 + i % 3),
                    (i % 4 != 0).then_some(9),
                    (i % 5 != 0).then_some(10),
                    (i % 5 == 1).then_some(11),
                    flags
                ],
            )
            .unwrap();
        };
        {
            let conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..9] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 9).unwrap();
            conn.execute_batch(
                "INSERT INTO names (id, value) VALUES (1, 'claude-sonnet-4-5'), (2, 'builtin-1'), (3, 'claude-code'),
                 (4, 'ci'), (6, 'mystery-model'), (8, 's-1'), (9, '/p/a'), (10, 'subagent'), (11, 'Explore');",
            )
            .unwrap();
            // Over four days; some served with a paid key, some not, some
            // transcript rows, some without a price.
            for i in 0..300 {
                let billed = if i % 7 != 6 && i % 3 == 1 { crate::ledger::flags::BILLED } else { 0 };
                insert(&conn, i, billed | ((i % 2) * flags::WINDOW_HEADERS));
            }
            conn.execute("DELETE FROM requests WHERE id % 11 = 0", []).unwrap();
        }
        type Key = (i64, i64, i64, i64, i64, i64);
        let cells = |conn: &Connection| -> std::collections::BTreeMap<Key, Vec<i64>> {
            conn.prepare(
                "SELECT dim, slot, key, key2, model, source, requests, unpriced, cost_nusd, input_tokens,
                    output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, first_ms, last_ms
                 FROM spend_rollup",
            )
            .unwrap()
            .query_map([], |row| {
                let key = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?);
                Ok((key, (6..16).map(|i| row.get(i)).collect::<rusqlite::Result<Vec<i64>>>()?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        let before = cells(&Connection::open(&path).unwrap());
        assert!(before.len() > 300);
        let conn = open(&path).unwrap();
        let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        assert_eq!(cells(&conn), before, "every cell is kept as it was");
        // The billed sums a direct pass over the rows gives, per cell.
        let expected = |conn: &Connection| -> std::collections::BTreeMap<Key, (i64, i64)> {
            let mut sums = std::collections::BTreeMap::new();
            let rows: Vec<[Option<i64>; 10]> = conn
                .prepare(
                    "SELECT ts_unix_ms, source, model, project, session, client, request_class, agent_type, flags,
                        CAST(round(cost_usd * 1e9) AS INTEGER) FROM requests",
                )
                .unwrap()
                .query_map([], |row| {
                    let mut columns = [None; 10];
                    for (i, column) in columns.iter_mut().enumerate() {
                        *column = row.get(i)?;
                    }
                    Ok(columns)
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            for [ts, source, model, project, session, client, class, agent, row_flags, nusd] in rows {
                let (ts, model, row_flags) = (ts.unwrap(), model.unwrap(), row_flags.unwrap());
                let billed = row_flags & flags::BILLED != 0;
                let keys = [
                    (0, ts / 900_000, 0, 0, source.unwrap()),
                    (1, ts / 3_600_000, project.unwrap_or(0), 0, 0),
                    (2, ts / 3_600_000, session.unwrap_or(0), 0, 0),
                    (3, ts / 3_600_000, client.unwrap_or(0), 0, 0),
                    (4, ts / 3_600_000, class.unwrap_or(0), agent.unwrap_or(0), 0),
                    (11, ts / 86_400_000, project.unwrap_or(0), 0, 0),
                    (12, ts / 86_400_000, session.unwrap_or(0), 0, 0),
                    (13, ts / 86_400_000, client.unwrap_or(0), 0, 0),
                    (14, ts / 86_400_000, class.unwrap_or(0), agent.unwrap_or(0), 0),
                ];
                for (dim, slot, key, key2, source) in keys {
                    let cell = sums.entry((dim, slot, key, key2, model, source)).or_insert((0, 0));
                    if billed {
                        (cell.0, cell.1) = (cell.0 + 1, cell.1 + nusd.unwrap_or(0));
                    }
                }
            }
            sums
        };
        let billed = |conn: &Connection| -> std::collections::BTreeMap<Key, (i64, i64)> {
            conn.prepare("SELECT dim, slot, key, key2, model, source, billed_requests, billed_nusd FROM spend_rollup")
                .unwrap()
                .query_map([], |row| {
                    Ok((
                        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?),
                        (row.get(6)?, row.get(7)?),
                    ))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let direct = expected(&conn);
        assert_eq!(billed(&conn), direct, "each cell's billed part is the sum over its rows");
        let (billed_rows, billed_nusd) =
            direct.iter().filter(|(key, _)| key.0 == 0).fold((0, 0), |sum, (_, cell)| (sum.0 + cell.0, sum.1 + cell.1));
        assert!(billed_rows > 50 && billed_nusd > 0, "{billed_rows} {billed_nusd}");
        // Rows recorded, changed and removed after the migration: the cells follow.
        for i in 300..340 {
            insert(&conn, i, if i % 2 == 0 { flags::BILLED } else { 0 });
        }
        conn.execute("UPDATE requests SET flags = (flags | 256) - (flags & 256) WHERE id % 13 = 0", []).unwrap();
        conn.execute("DELETE FROM requests WHERE id % 17 = 0", []).unwrap();
        assert_eq!(billed(&conn), expected(&conn), "the triggers keep the billed part");
        let total: (i64, i64) = conn
            .query_row(
                "SELECT SUM((flags & 256) != 0), SUM(CASE WHEN flags & 256 THEN CAST(round(cost_usd * 1e9) AS INTEGER) END)
                 FROM requests",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let rolled: (i64, i64) = conn
            .query_row("SELECT SUM(billed_requests), SUM(billed_nusd) FROM spend_rollup WHERE dim = 0", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!(rolled, total);
    }

    /// Migration 11: a version-10 ledger keeps every cell of its rollup, and
    /// the one trigger per event keeps exactly the cells, every column of
    /// them, that the three per level kept: the same inserts, updates and
    /// deletes on a ledger left at version 10 and on one migrated to 11
    /// give the same table.
    #[test]
    fn the_one_trigger_rollup_keeps_the_cells_the_per_level_triggers_kept() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_764_583_200_000i64;
        let insert = |conn: &Connection, i: i64| {
            conn.execute(
                concat!(
                    "INSERT INTO requests (id, source, request_id, client, model, status, streamed, complete,
                     input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
                     cost_usd, price_version, session, project, request_class, agent_type, flags) VALUES (",
                    new_request_id!("?1"),
                    ", ?2, ?3, ?4, ?5, 200, 1, 1, ?6, 20, ?7, 3, 50, ?8, 2, ?9, ?10, ?11, ?12, ?13)"
                ),
                rusqlite::params![
                    // Out of time order, over four days.
                    t + (i * 7_919 % 400) * 987_654,
                    i64::from(i % 7 == 6),
                    format!("req_{i}"),
                    (i % 7 != 6).then_some(3 + i % 2),
                    if i % 10 == 9 { 6 } else { 1 + i % 2 },
                    i * 11,
                    i % 5,
                    (i % 10 != 9).then_some(i as f64 * 0.000_123_456_789_1),
                    (i % 3 != 0).then_some(7 + i % 3),
                    (i % 4 != 0).then_some(9),
                    (i % 5 != 0).then_some(10),
                    (i % 5 == 1).then_some(11),
                    if i % 3 == 1 { flags::BILLED } else { 0 }
                ],
            )
            .unwrap();
        };
        let cells = |conn: &Connection| -> Vec<Vec<i64>> {
            conn.prepare("SELECT * FROM spend_rollup ORDER BY dim, slot, key, key2, model, source")
                .unwrap()
                .query_map([], |row| (0..18).map(|i| row.get(i)).collect())
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let changes = |conn: &Connection, from: i64| {
            for i in from..from + 200 {
                insert(conn, i);
            }
            conn.execute("DELETE FROM requests WHERE id % 11 = 0", []).unwrap();
            conn.execute("UPDATE requests SET id = id + (3600000 << 10), cost_usd = 0.5 WHERE id % 13 = 0", [])
                .unwrap();
            conn.execute(
                "UPDATE requests SET flags = (flags | 256) - (flags & 256), session = 8 WHERE id % 17 = 0",
                [],
            )
            .unwrap();
        };
        let ledgers: Vec<Connection> = ["v10", "v11"]
            .iter()
            .map(|name| {
                let conn = Connection::open(dir.path().join(name)).unwrap();
                for migration in &MIGRATIONS[..10] {
                    conn.execute_batch(migration).unwrap();
                }
                conn.pragma_update(None, "user_version", 10).unwrap();
                changes(&conn, 0);
                conn
            })
            .collect();
        let before = cells(&ledgers[0]);
        assert!(before.len() > 200, "{} cells", before.len());
        assert_eq!(cells(&ledgers[1]), before);
        drop(ledgers);
        let (v10, v11) = (Connection::open(dir.path().join("v10")).unwrap(), open(&dir.path().join("v11")).unwrap());
        let version: usize = v11.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        assert_eq!(cells(&v11), before, "every cell is kept as it was");
        changes(&v10, 200);
        changes(&v11, 200);
        assert_eq!(cells(&v11), cells(&v10), "the triggers keep the same cells");
        v10.execute("DELETE FROM requests", []).unwrap();
        v11.execute("DELETE FROM requests", []).unwrap();
        assert_eq!(cells(&v11), Vec::<Vec<i64>>::new(), "an emptied cell is removed");
    }

    /// The 1025th row of a millisecond takes the next id after the newest
    /// row; the feed keeps its last 1000 entries.
    #[test]
    fn a_full_millisecond_takes_the_next_free_id() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("ledger.sqlite3")).unwrap();
        let t = 1_764_583_200_000i64;
        let model = names::id(&conn, "claude-sonnet-4-5").unwrap();
        let insert = |ts: i64| -> i64 {
            conn.execute(
                concat!(
                    "INSERT INTO requests (id, source, model, status, streamed, complete, input_tokens, output_tokens,
                     cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, price_version) VALUES (",
                    new_request_id!("?1"),
                    ", 0, ?2, 200, 1, 1, 1, 1, 0, 0, 0, ?2)"
                ),
                rusqlite::params![ts, model],
            )
            .unwrap();
            conn.last_insert_rowid()
        };
        insert(t + 5);
        for n in 0..1024 {
            assert_eq!(insert(t), (t << 10) + n);
        }
        assert_eq!(insert(t), ((t + 5) << 10) + 1, "after the newest row");
        assert_eq!(insert(t + 1), (t + 1) << 10, "the next millisecond has room");
        let (entries, first): (i64, i64) = conn
            .query_row("SELECT COUNT(*), MIN(seq) FROM request_feed", [], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap();
        assert_eq!((entries, first), (1000, 1027 - 999), "1027 rows recorded");
    }

    /// The gateway and `gatehouse import` may open a ledger of the previous
    /// version at the same moment: one connection migrates (and compacts)
    /// it, the other waits and finds it migrated; both open it, and every
    /// row and reading is there once.
    #[test]
    fn two_openers_of_a_version_7_ledger_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let t = 1_764_583_200_000i64;
        {
            let conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..7] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            conn.execute_batch(
                "INSERT INTO names (id, value) VALUES (1, 'claude-sonnet-4-5'), (2, 'builtin-1');
                 INSERT INTO windows (id, name, resets_at) VALUES (1, '5h', 1764600000);",
            )
            .unwrap();
            for i in 0..2_000i64 {
                conn.execute(
                    "INSERT INTO requests (ts_unix_ms, source, request_id, model, status, streamed, complete,
                     input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
                     cost_usd, price_version)
                     VALUES (?1, 0, ?2, 1, 200, 1, 1, 10, 20, 0, 0, 50, 0.25, 2)",
                    rusqlite::params![t + i * 7, format!("req_{i:024}")],
                )
                .unwrap();
            }
            conn.execute_batch(
                "INSERT INTO window_readings (window, request, utilization, delta, raw)
                 SELECT 1, id, 0.5, 0.1, 'x' FROM requests WHERE id % 100 = 0",
            )
            .unwrap();
        }
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let openers: Vec<_> = (0..2)
            .map(|_| {
                let (path, start) = (path.clone(), std::sync::Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    open(&path).map(|_| ())
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
        let conn = open(&path).unwrap();
        let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let (rows, distinct_ids, cost): (i64, i64, f64) = conn
            .query_row("SELECT COUNT(*), COUNT(DISTINCT request_id), SUM(cost_usd) FROM requests", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .unwrap();
        assert_eq!((rows, distinct_ids, cost), (2_000, 2_000, 500.0));
        let readings: i64 = conn
            .query_row("SELECT COUNT(*) FROM window_readings w JOIN requests r ON r.id = w.request", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(readings, 20, "every reading still points at its request");
    }
}
