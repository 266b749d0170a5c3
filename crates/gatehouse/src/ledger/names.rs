//! Interned strings: the ledger stores each model, session, project, key
//! name, … once in `names` and refers to it by id, which keeps a row small.
//!
//! [`NameCache`] remembers the ids a writer has already looked up. Ids taken
//! inside a transaction that is rolled back are gone with it, so a writer
//! whose commit failed calls [`NameCache::forget`].

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

/// A writer's cache holds at most this many names; then it starts afresh.
/// Sessions and prompts come and go, so it must not grow forever.
const CACHE_LIMIT: usize = 20_000;

/// The id of `value` in `names`, adding it when new.
pub fn id(conn: &Connection, value: &str) -> rusqlite::Result<i64> {
    if let Some(id) = conn
        .prepare_cached("SELECT id FROM names WHERE value = ?1")?
        .query_row(params![value], |row| row.get(0))
        .optional()?
    {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO names (value) VALUES (?1)")?.execute(params![value])?;
    Ok(conn.last_insert_rowid())
}

/// Ids already looked up, for a writer that inserts many rows.
#[derive(Debug, Default)]
pub struct NameCache {
    ids: HashMap<String, i64>,
}

impl NameCache {
    /// The id of `value`, from the cache or the ledger.
    pub fn id(&mut self, conn: &Connection, value: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.ids.get(value) {
            return Ok(id);
        }
        let id = id(conn, value)?;
        if self.ids.len() >= CACHE_LIMIT {
            self.ids.clear();
        }
        self.ids.insert(value.to_string(), id);
        Ok(id)
    }

    /// The id of `value` when there is one.
    pub fn optional(&mut self, conn: &Connection, value: Option<&str>) -> rusqlite::Result<Option<i64>> {
        value.map(|value| self.id(conn, value)).transpose()
    }

    /// Drops every cached id: after a rollback some may not exist.
    pub fn forget(&mut self) {
        self.ids.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_stored_once_and_a_rollback_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
        let mut cache = NameCache::default();
        let first = cache.id(&conn, "claude-sonnet-4-5").unwrap();
        assert_eq!(cache.id(&conn, "claude-sonnet-4-5").unwrap(), first);
        assert_eq!(id(&conn, "claude-sonnet-4-5").unwrap(), first);
        assert_ne!(cache.id(&conn, "claude-haiku-4-5").unwrap(), first);

        let tx = conn.transaction().unwrap();
        let doomed = cache.id(&tx, "rolled-back").unwrap();
        drop(tx);
        cache.forget();
        let again = cache.id(&conn, "rolled-back").unwrap();
        let stored: String = conn.query_row("SELECT value FROM names WHERE id = ?1", [again], |r| r.get(0)).unwrap();
        assert_eq!(stored, "rolled-back");
        let _ = doomed;
        assert_eq!(cache.optional(&conn, None).unwrap(), None);
    }
}
