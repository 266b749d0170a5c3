//! How a row keeps the upstream's request id.
//!
//! Anthropic's request ids all start with `req_` (`req_011CV…`, 28
//! characters): a row keeps what follows the prefix as a BLOB of its UTF-8
//! bytes, 4 bytes less per row (4 MB per million rows), and anything else
//! (a transcript row's message id, another upstream's id) as the text it
//! was. The `request_rows` view ([`view_expression`]) shows both as the text
//! that was sent, so people reading the ledger with `sqlite3` see no
//! difference; a query that matches an id binds [`stored`].

use rusqlite::types::{Value, ValueRef};

/// The prefix a BLOB id stands without.
const PREFIX: &str = "req_";

/// The value a row stores for `request_id`.
pub(crate) fn stored(request_id: &str) -> Value {
    match request_id.strip_prefix(PREFIX) {
        Some(rest) => Value::Blob(rest.as_bytes().to_vec()),
        None => Value::Text(request_id.to_string()),
    }
}

/// The id a stored value stands for (`None` for NULL or a value that is
/// not an id this module wrote).
pub(crate) fn read(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Text(text) => std::str::from_utf8(text).ok().map(str::to_string),
        ValueRef::Blob(rest) => std::str::from_utf8(rest).ok().map(|rest| format!("{PREFIX}{rest}")),
        _ => None,
    }
}

/// The text of `$column` (a stored request id) as it was sent.
macro_rules! view_expression {
    ($column:literal) => {
        concat!(
            "CASE typeof(",
            $column,
            ") WHEN 'blob' THEN 'req_' || CAST(",
            $column,
            " AS TEXT) ELSE ",
            $column,
            " END"
        )
    };
}
pub(crate) use view_expression;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_req_id_loses_its_prefix_and_reads_back_as_sent() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id)").unwrap();
        let sent = ["req_011CVM7yqcQXqG5zbpQ9Ngd1", "msg_01ABC", "req_", "REQ_x", "req_é", ""];
        for id in sent {
            conn.execute("INSERT INTO t (id) VALUES (?1)", [stored(id)]).unwrap();
        }
        let rows: Vec<(String, i64, String, Option<String>)> = conn
            .prepare(concat!("SELECT typeof(id), length(CAST(id AS BLOB)), ", view_expression!("id"), ", id FROM t"))
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, read(row.get_ref(3)?))))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows[0], ("blob".into(), 24, sent[0].into(), Some(sent[0].into())));
        assert_eq!(rows[1].0, "text", "other ids stay text");
        for (row, id) in rows.iter().zip(sent) {
            assert_eq!((row.2.as_str(), row.3.as_deref()), (id, Some(id)), "SQL and Rust read it as sent");
        }
        let found: i64 =
            conn.query_row("SELECT COUNT(*) FROM t WHERE id = ?1", [stored(sent[0])], |row| row.get(0)).unwrap();
        assert_eq!(found, 1, "a lookup binds the stored value");
    }
}
