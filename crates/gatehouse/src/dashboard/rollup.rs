//! Spend rolled up by 15-minute slot, kept current by triggers, so that the
//! dashboard's reports over a month of a busy ledger read thousands of
//! small rows instead of hundreds of thousands of requests.
//!
//! `spend_rollup` holds, per slot (`ts_unix_ms / 900000`) and model, the
//! sums of one dimension's groups: `dim` 0 is everything (per source, for
//! the coverage), 1 the project, 2 the session, 3 the client, 4 the request
//! class with the agent type as `key2`. A `NULL` dimension is key 0 (names' ids start at 1).
//! Fifteen minutes divides every time zone's offset, so a local day is a
//! whole number of slots and day boundaries stay exact in any zone.
//!
//! Costs are summed as integer nano-dollars, so a group's sum is exact and
//! the total equals the sum of the groups to the last digit, whatever the
//! order; each request's cost is rounded to 1e-9 USD (at most 0.5 nano-dollar
//! per request). Triggers on `requests` add an inserted row, subtract a
//! deleted one (a transcript row replaced by the gateway's) and do both for
//! an updated one; a group that falls to zero requests is removed.
//! `first_ms` and `last_ms` are the earliest and latest request seen in the
//! cell; a deleted request does not shrink them.
//!
//! [`MIGRATION`] creates the table and triggers and fills it from the rows
//! already there; the ledger runs it as one of its migrations.

/// Milliseconds per slot.
pub(crate) const SLOT_MS: i64 = 900_000;

/// The dimension numbers of `spend_rollup.dim`.
pub(crate) mod dim {
    pub(crate) const ALL: i64 = 0;
    pub(crate) const PROJECT: i64 = 1;
    pub(crate) const SESSION: i64 = 2;
    pub(crate) const CLIENT: i64 = 3;
    pub(crate) const CLASS: i64 = 4;
}

/// The rows one request adds to the rollup (`R` is `NEW` or `OLD`; `S` is
/// the sign). Written out three times below, for the three triggers; a
/// test checks them against a direct aggregation after inserts, updates and
/// deletes.
macro_rules! upsert {
    ($row:literal, $sign:literal, $first:literal, $last:literal) => {
        concat!(
            "INSERT INTO spend_rollup (dim, slot, key, key2, model, source, requests, unpriced, cost_nusd, ",
            "input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, ",
            "first_ms, last_ms) SELECT d.dim, ",
            $row,
            ".ts_unix_ms / 900000, d.key, d.key2, ",
            $row,
            ".model, CASE d.dim WHEN 0 THEN ",
            $row,
            ".source ELSE 0 END, ",
            $sign,
            "1, ",
            $sign,
            "(",
            $row,
            ".cost_usd IS NULL), ",
            $sign,
            "COALESCE(CAST(round(",
            $row,
            ".cost_usd * 1e9) AS INTEGER), 0), ",
            $sign,
            $row,
            ".input_tokens, ",
            $sign,
            $row,
            ".output_tokens, ",
            $sign,
            $row,
            ".cache_write_5m_tokens, ",
            $sign,
            $row,
            ".cache_write_1h_tokens, ",
            $sign,
            $row,
            ".cache_read_tokens, ",
            $first,
            ", ",
            $last,
            " FROM (SELECT 0 AS dim, 0 AS key, 0 AS key2 UNION ALL SELECT 1, COALESCE(",
            $row,
            ".project, 0), 0 UNION ALL SELECT 2, COALESCE(",
            $row,
            ".session, 0), 0 UNION ALL SELECT 3, COALESCE(",
            $row,
            ".client, 0), 0 UNION ALL SELECT 4, COALESCE(",
            $row,
            ".request_class, 0), COALESCE(",
            $row,
            ".agent_type, 0)) AS d WHERE 1 ",
            "ON CONFLICT (dim, slot, key, key2, model, source) DO UPDATE SET ",
            "requests = requests + excluded.requests, unpriced = unpriced + excluded.unpriced, ",
            "cost_nusd = cost_nusd + excluded.cost_nusd, input_tokens = input_tokens + excluded.input_tokens, ",
            "output_tokens = output_tokens + excluded.output_tokens, ",
            "cache_write_5m_tokens = cache_write_5m_tokens + excluded.cache_write_5m_tokens, ",
            "cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens, ",
            "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, ",
            "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms);\n"
        )
    };
}

/// Removes the cells a deleted (or moved) request emptied.
macro_rules! prune {
    () => {
        "DELETE FROM spend_rollup WHERE slot = OLD.ts_unix_ms / 900000 AND model = OLD.model AND requests <= 0;\n"
    };
}

/// Creates `spend_rollup` and its triggers, and rolls up the rows already in
/// the ledger.
pub const MIGRATION: &str = concat!(
    r#"
CREATE TABLE spend_rollup (
    dim                   INTEGER NOT NULL,  -- 0 all, 1 project, 2 session, 3 client, 4 request class (+ agent type)
    slot                  INTEGER NOT NULL,  -- ts_unix_ms / 900000
    key                   INTEGER NOT NULL,  -- names.id of the dimension's value; 0 for NULL
    key2                  INTEGER NOT NULL,  -- dim 4: names.id of the agent type; else 0
    model                 INTEGER NOT NULL,
    source                INTEGER NOT NULL,  -- dim 0: requests.source (coverage); else 0
    requests              INTEGER NOT NULL,
    unpriced              INTEGER NOT NULL,  -- requests without a price (cost_usd NULL)
    cost_nusd             INTEGER NOT NULL,  -- sum of the priced costs, in 1e-9 USD
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    first_ms              INTEGER NOT NULL,
    last_ms               INTEGER NOT NULL,
    PRIMARY KEY (dim, slot, key, key2, model, source)
) WITHOUT ROWID;
CREATE TRIGGER spend_rollup_insert AFTER INSERT ON requests BEGIN
"#,
    upsert!("NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    "END;\nCREATE TRIGGER spend_rollup_delete AFTER DELETE ON requests BEGIN\n",
    upsert!("OLD", "-", "9223372036854775807", "-9223372036854775807"),
    prune!(),
    "END;\nCREATE TRIGGER spend_rollup_update AFTER UPDATE OF ts_unix_ms, source, model, cost_usd, input_tokens, \
     output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, project, session, client, \
     request_class, agent_type ON requests BEGIN\n",
    upsert!("OLD", "-", "9223372036854775807", "-9223372036854775807"),
    upsert!("NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    prune!(),
    r#"END;
INSERT INTO spend_rollup
    SELECT d.dim, r.ts_unix_ms / 900000 AS slot,
        CASE d.dim WHEN 1 THEN COALESCE(r.project, 0) WHEN 2 THEN COALESCE(r.session, 0)
            WHEN 3 THEN COALESCE(r.client, 0) WHEN 4 THEN COALESCE(r.request_class, 0) ELSE 0 END AS key,
        CASE d.dim WHEN 4 THEN COALESCE(r.agent_type, 0) ELSE 0 END AS key2,
        r.model, CASE d.dim WHEN 0 THEN r.source ELSE 0 END, COUNT(*), SUM(r.cost_usd IS NULL),
        COALESCE(SUM(CAST(round(r.cost_usd * 1e9) AS INTEGER)), 0), SUM(r.input_tokens), SUM(r.output_tokens),
        SUM(r.cache_write_5m_tokens), SUM(r.cache_write_1h_tokens), SUM(r.cache_read_tokens),
        MIN(r.ts_unix_ms), MAX(r.ts_unix_ms)
    FROM requests r, (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) d
    GROUP BY 1, 2, 3, 4, 5, 6;
"#
);
