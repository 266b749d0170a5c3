//! The spend ledger: one SQLite row per Messages API request.
//!
//! The gateway never writes here itself. It hands each finished exchange to
//! the [`writer`], a thread that parses usage, prices it and commits rows in
//! batches, so the request path never waits on the disk, and keeps rows it
//! could not commit until it can; [`health`] says how that is going. WAL
//! mode lets `gatehouse spend` and the dashboard read while the gateway
//! writes.

pub mod health;
pub mod project;
pub mod query;
pub mod record;
pub mod writer;

use std::path::Path;

use rusqlite::Connection;

/// The schema, versioned through SQLite's `user_version`.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

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
    migrate(&mut conn)?;
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

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let tx = conn.transaction()?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", index + 1)?;
    }
    tx.commit()
}
