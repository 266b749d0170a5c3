//! How a row keeps Claude Code's `x-claude-code-prompt-id`.
//!
//! Nearly every prompt id is seen by only a few requests, so interning it in
//! `names` like the other strings would cost a `names` row and its UNIQUE
//! index entry (about 90 bytes) per prompt to save about 33 bytes per row:
//! 26 MB per million rows. A canonical UUID (lower-case, hyphenated, which
//! is what Claude Code sends) is kept in the row as its 16 bytes instead;
//! anything else as the text it was. The `request_rows` view
//! ([`VIEW_EXPRESSION`]) shows both as the text that was sent, and the
//! integer ids of ledgers written before this (names' ids) too.

use rusqlite::types::Value;

/// The value a row stores for `prompt_id`: exactly what was sent, in the
/// fewest bytes.
pub(crate) fn stored(prompt_id: &str) -> Value {
    match uuid::Uuid::try_parse(prompt_id) {
        Ok(uuid) if uuid.hyphenated().to_string() == prompt_id => Value::Blob(uuid.as_bytes().to_vec()),
        _ => Value::Text(prompt_id.to_string()),
    }
}

/// The text of `requests.prompt` (aliased `r`, with `names` joined as
/// `prompt` on it), whichever way it is stored.
macro_rules! view_expression {
    () => {
        "CASE typeof(r.prompt) \
         WHEN 'blob' THEN lower(substr(hex(r.prompt), 1, 8) || '-' || substr(hex(r.prompt), 9, 4) || '-' || \
         substr(hex(r.prompt), 13, 4) || '-' || substr(hex(r.prompt), 17, 4) || '-' || substr(hex(r.prompt), 21)) \
         WHEN 'integer' THEN prompt.value ELSE r.prompt END"
    };
}
pub(crate) use view_expression;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canonical_uuid_takes_16_bytes_and_reads_back_as_sent() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE requests (prompt); CREATE TABLE names (id INTEGER PRIMARY KEY, value TEXT);")
            .unwrap();
        conn.execute("INSERT INTO names (id, value) VALUES (7, 'from-names')", []).unwrap();
        let sent = [
            "0f8e2c1a-5b3d-4e6f-9a7b-1c2d3e4f5a6b",
            "0F8E2C1A-5B3D-4E6F-9A7B-1C2D3E4F5A6B",
            "0f8e2c1a5b3d4e6f9a7b1c2d3e4f5a6b",
            "p-1",
            "",
        ];
        for prompt in sent {
            conn.execute("INSERT INTO requests (prompt) VALUES (?1)", [stored(prompt)]).unwrap();
        }
        conn.execute("INSERT INTO requests (prompt) VALUES (7)", []).unwrap();
        let read: Vec<(String, String)> = conn
            .prepare(concat!(
                "SELECT typeof(r.prompt), ",
                view_expression!(),
                " FROM requests r LEFT JOIN names prompt ON prompt.id = r.prompt ORDER BY r.rowid"
            ))
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let types: Vec<&str> = read.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["blob", "text", "text", "text", "text", "integer"]);
        let texts: Vec<&str> = read.iter().map(|(_, text)| text.as_str()).collect();
        assert_eq!(texts[..5], sent, "every id reads back exactly as sent");
        assert_eq!(texts[5], "from-names", "an older ledger's interned id still reads");
        assert!(matches!(stored(sent[0]), Value::Blob(bytes) if bytes.len() == 16));
    }
}
