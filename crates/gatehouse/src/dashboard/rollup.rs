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
//!
//! A second level ([`DAYS_MIGRATION`]) keeps the group dimensions 1 to 4
//! also per UTC day, as `dim` 11 to 14 with `slot` the day number
//! (`ts_unix_ms / 86400000`): a month by session is then about 9,000 day
//! cells and at most two days of hour cells around them.
//!
//! Since [`HOURS_MIGRATION`] (migration 9) the group dimensions' cells
//! below a day are hours (`slot` = `ts_unix_ms / 3600000`), half as many
//! cells as by 15 minutes (10 MB per million rows); the everything
//! dimension keeps its 15-minute cells. A range's partial hours at either
//! end (a local day in a zone with a :30 or :45 offset) are read from the
//! requests, at most two hours of them. [`spans`] splits a range into
//! these parts.
//!
//! Since [`BILLED_MIGRATION`] (migration 10) every cell also keeps its
//! billed part: `billed_requests` and `billed_nusd`, the requests served
//! with a paid credential (`ledger::flags::BILLED`) and their cost. The rest
//! of `cost_nusd` is subscription-equivalent (what Claude Code's
//! subscription login used, at API list prices; transcript rows, which say
//! nothing of the credential, count here).
//!
//! Since [`ONE_TRIGGER_MIGRATION`] (migration 11) one trigger per event
//! keeps all three levels, with one statement for a request's nine cells,
//! instead of a trigger per level, and the table declares no column types
//! and no `NOT NULL` (only the triggers write it): the same cells for fewer
//! instructions per recorded request.

/// Milliseconds per slot.
pub(crate) const SLOT_MS: i64 = 900_000;
/// Slots per hour, the group dimensions' cell.
const SLOTS_PER_HOUR: i64 = 4;
/// Hours per UTC day, the day level's cell.
const HOURS_PER_DAY: i64 = 24;

/// The dimension numbers of `spend_rollup.dim`.
pub(crate) mod dim {
    pub(crate) const ALL: i64 = 0;
    pub(crate) const PROJECT: i64 = 1;
    pub(crate) const SESSION: i64 = 2;
    pub(crate) const CLIENT: i64 = 3;
    pub(crate) const CLASS: i64 = 4;
    /// Added to dimensions 1 to 4 for their day cells.
    pub(crate) const DAYS: i64 = 10;
}

/// A part of a range: in one level's cells, `dim` (a day level's when the
/// cells are days) and `[first, end)` in that level's slot numbers; or, when
/// `rows`, the requests of the 15-minute slots `[first, end)` one by one,
/// grouped by `dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) dim: i64,
    pub(crate) first: i64,
    pub(crate) end: i64,
    pub(crate) rows: bool,
}

/// `n / d` rounded up.
fn ceil_div(n: i64, d: i64) -> i64 {
    n.div_euclid(d) + i64::from(n.rem_euclid(d) != 0)
}

/// What covers the 15-minute slots `[first, end)` of dimension `dim`. The
/// everything dimension: its 15-minute cells. A group dimension (1 to 4,
/// kept by the hour since migration 9): the whole UTC days inside from the
/// day level, where the ledger has it (`days`), the whole hours around
/// them, and the requests of the partial hours at either end (a local day
/// in a zone with a :30 or :45 offset starts within an hour).
pub(crate) fn spans(dim: i64, first: i64, end: i64, days: bool) -> Vec<Span> {
    let cells = |dim, first, end| Span { dim, first, end, rows: false };
    if !(dim::PROJECT..=dim::CLASS).contains(&dim) {
        return vec![cells(dim, first, end)];
    }
    let rows = |first, end| Span { dim, first, end, rows: true };
    let (first_hour, end_hour) = (ceil_div(first, SLOTS_PER_HOUR), end.div_euclid(SLOTS_PER_HOUR));
    if first_hour >= end_hour {
        return [rows(first, end)].into_iter().filter(|span| span.first < span.end).collect();
    }
    let (first_day, end_day) = (ceil_div(first_hour, HOURS_PER_DAY), end_hour.div_euclid(HOURS_PER_DAY));
    let middle = if days && first_day < end_day {
        vec![
            cells(dim, first_hour, first_day * HOURS_PER_DAY),
            cells(dim + dim::DAYS, first_day, end_day),
            cells(dim, end_day * HOURS_PER_DAY, end_hour),
        ]
    } else {
        vec![cells(dim, first_hour, end_hour)]
    };
    std::iter::once(rows(first, first_hour * SLOTS_PER_HOUR))
        .chain(middle)
        .chain(std::iter::once(rows(end_hour * SLOTS_PER_HOUR, end)))
        .filter(|span| span.first < span.end)
        .collect()
}

/// Whether the ledger keeps the day level ([`DAYS_MIGRATION`], migration 5,
/// ran; every later version keeps it); a reader opens a ledger read-only,
/// so it may find one that a gateway of this version has not migrated yet.
pub(crate) fn has_day_cells(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(version >= 5)
}

/// The time span of a session's requests, `[first, last]` in Unix ms, from
/// its day cells: the ledger keeps no index on `requests.session`, so a
/// lookup of a session's rows is bounded by this span and reads that range
/// of row ids (ids are times, see `ledger::id_at`). `None` when the
/// session has no request.
pub(crate) fn session_span(conn: &rusqlite::Connection, session: i64) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.prepare_cached(
        "SELECT MIN(first_ms), MAX(last_ms) FROM spend_rollup WHERE dim = ?1 AND key = ?2 AND requests > 0",
    )?
    .query_row(rusqlite::params![dim::SESSION + dim::DAYS, session], |row| {
        Ok(row.get::<_, Option<i64>>(0)?.zip(row.get::<_, Option<i64>>(1)?))
    })
}

/// The slot number of a request (`$row` is `NEW` or `OLD`) in a level's cells.
macro_rules! slot_of {
    (slots, $row:literal) => {
        concat!($row, ".ts_unix_ms / 900000")
    };
    (quarters, $row:literal) => {
        concat!($row, ".ts_unix_ms / 900000")
    };
    (hours, $row:literal) => {
        concat!($row, ".ts_unix_ms / 3600000")
    };
    (days, $row:literal) => {
        concat!($row, ".ts_unix_ms / 86400000")
    };
}

/// The dimensions a request adds to in a level, as a table of `dim, key, key2`.
macro_rules! dims {
    (slots, $row:literal) => {
        concat!(
            "(SELECT 0 AS dim, 0 AS key, 0 AS key2 UNION ALL SELECT 1, COALESCE(",
            $row,
            ".project, 0), 0 UNION ALL SELECT 2, COALESCE(",
            $row,
            ".session, 0), 0 UNION ALL SELECT 3, COALESCE(",
            $row,
            ".client, 0), 0 UNION ALL SELECT 4, COALESCE(",
            $row,
            ".request_class, 0), COALESCE(",
            $row,
            ".agent_type, 0))"
        )
    };
    (quarters, $row:literal) => {
        "(SELECT 0 AS dim, 0 AS key, 0 AS key2)"
    };
    (hours, $row:literal) => {
        concat!(
            "(SELECT 1 AS dim, COALESCE(",
            $row,
            ".project, 0) AS key, 0 AS key2 UNION ALL SELECT 2, COALESCE(",
            $row,
            ".session, 0), 0 UNION ALL SELECT 3, COALESCE(",
            $row,
            ".client, 0), 0 UNION ALL SELECT 4, COALESCE(",
            $row,
            ".request_class, 0), COALESCE(",
            $row,
            ".agent_type, 0))"
        )
    };
    (days, $row:literal) => {
        concat!(
            "(SELECT 11 AS dim, COALESCE(",
            $row,
            ".project, 0) AS key, 0 AS key2 UNION ALL SELECT 12, COALESCE(",
            $row,
            ".session, 0), 0 UNION ALL SELECT 13, COALESCE(",
            $row,
            ".client, 0), 0 UNION ALL SELECT 14, COALESCE(",
            $row,
            ".request_class, 0), COALESCE(",
            $row,
            ".agent_type, 0))"
        )
    };
}

/// The sums a cell keeps beyond those of migration 4: none before
/// [`BILLED_MIGRATION`] (`plain`), the billed requests and their cost since
/// (`billed`). Their columns, their values for a request (`$row`, signed),
/// and how a conflict adds them.
macro_rules! extra_columns {
    (plain) => {
        ""
    };
    (billed) => {
        "billed_requests, billed_nusd, "
    };
}
macro_rules! extra_values {
    (plain, $row:literal, $sign:literal) => {
        ""
    };
    // 256 is `ledger::flags::BILLED` (asserted below).
    (billed, $row:literal, $sign:literal) => {
        concat!(
            $sign,
            "((",
            $row,
            ".flags & 256) != 0), ",
            $sign,
            "(CASE WHEN ",
            $row,
            ".flags & 256 THEN COALESCE(CAST(round(",
            $row,
            ".cost_usd * 1e9) AS INTEGER), 0) ELSE 0 END), "
        )
    };
}
macro_rules! extra_set {
    (plain) => {
        ""
    };
    (billed) => {
        "billed_requests = billed_requests + excluded.billed_requests, \
         billed_nusd = billed_nusd + excluded.billed_nusd, "
    };
}

const _: () = assert!(crate::ledger::flags::BILLED == 256, "the rollup's SQL spells the billed bit as 256");

/// The rows one request adds to a level's cells (`R` is `NEW` or `OLD`;
/// `S` is the sign), with the `plain` or `billed` sums (see
/// [`extra_columns`]). Written out three times per level below, for the
/// three triggers; a test checks them against a direct aggregation after
/// inserts, updates and deletes.
macro_rules! upsert {
    ($level:ident, $row:literal, $sign:literal, $first:literal, $last:literal) => {
        upsert!($level, $row, $sign, $first, $last, plain)
    };
    ($level:ident, $row:literal, $sign:literal, $first:literal, $last:literal, $sums:ident) => {
        concat!(
            "INSERT INTO spend_rollup (dim, slot, key, key2, model, source, requests, unpriced, cost_nusd, ",
            extra_columns!($sums),
            "input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, ",
            "first_ms, last_ms) SELECT d.dim, ",
            slot_of!($level, $row),
            ", d.key, d.key2, ",
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
            extra_values!($sums, $row, $sign),
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
            " FROM ",
            dims!($level, $row),
            " AS d WHERE 1 ",
            "ON CONFLICT (dim, slot, key, key2, model, source) DO UPDATE SET ",
            add_sums!($sums),
            "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms);\n"
        )
    };
}

/// How a conflict adds a request's sums (`plain` or `billed`, see
/// [`extra_columns`]) to a cell's.
macro_rules! add_sums {
    ($sums:ident) => {
        concat!(
            "requests = requests + excluded.requests, unpriced = unpriced + excluded.unpriced, ",
            "cost_nusd = cost_nusd + excluded.cost_nusd, ",
            extra_set!($sums),
            "input_tokens = input_tokens + excluded.input_tokens, ",
            "output_tokens = output_tokens + excluded.output_tokens, ",
            "cache_write_5m_tokens = cache_write_5m_tokens + excluded.cache_write_5m_tokens, ",
            "cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens, ",
            "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, "
        )
    };
}

/// The update trigger's event: the columns the rollup sums or groups by.
macro_rules! rolled_up_columns {
    () => {
        "AFTER UPDATE OF ts_unix_ms, source, model, cost_usd, input_tokens, output_tokens, cache_write_5m_tokens, \
         cache_write_1h_tokens, cache_read_tokens, project, session, client, request_class, agent_type ON requests"
    };
}

/// The update triggers' event since migration 8, where the time is the id's
/// (`ts_unix_ms` is computed from it).
macro_rules! rolled_up_columns_v8 {
    () => {
        "AFTER UPDATE OF id, source, model, cost_usd, input_tokens, output_tokens, cache_write_5m_tokens, \
         cache_write_1h_tokens, cache_read_tokens, project, session, client, request_class, agent_type ON requests"
    };
}

/// The update triggers' event since [`BILLED_MIGRATION`]: the flags too,
/// which say whether a request was billed.
macro_rules! rolled_up_columns_v10 {
    () => {
        "AFTER UPDATE OF id, source, model, cost_usd, input_tokens, output_tokens, cache_write_5m_tokens, \
         cache_write_1h_tokens, cache_read_tokens, project, session, client, request_class, agent_type, flags \
         ON requests"
    };
}

/// Removes the cells a deleted (or moved) request emptied.
macro_rules! prune {
    (slots) => {
        "DELETE FROM spend_rollup WHERE slot = OLD.ts_unix_ms / 900000 AND model = OLD.model AND requests <= 0;\n"
    };
    (days) => {
        "DELETE FROM spend_rollup WHERE dim > 10 AND slot = OLD.ts_unix_ms / 86400000 AND model = OLD.model \
         AND requests <= 0;\n"
    };
    (quarters) => {
        "DELETE FROM spend_rollup WHERE dim = 0 AND slot = OLD.ts_unix_ms / 900000 AND model = OLD.model \
         AND requests <= 0;\n"
    };
    (hours) => {
        "DELETE FROM spend_rollup WHERE dim BETWEEN 1 AND 4 AND slot = OLD.ts_unix_ms / 3600000 \
         AND model = OLD.model AND requests <= 0;\n"
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
    upsert!(slots, "NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    "END;\nCREATE TRIGGER spend_rollup_delete AFTER DELETE ON requests BEGIN\n",
    upsert!(slots, "OLD", "-", "9223372036854775807", "-9223372036854775807"),
    prune!(slots),
    "END;\nCREATE TRIGGER spend_rollup_update ",
    rolled_up_columns!(),
    " BEGIN\n",
    upsert!(slots, "OLD", "-", "9223372036854775807", "-9223372036854775807"),
    upsert!(slots, "NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    prune!(slots),
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

/// Adds the day level of dimensions 1 to 4 (`dim` 11 to 14), with its own
/// triggers, filled from the 15-minute cells already there.
pub const DAYS_MIGRATION: &str = concat!(
    "CREATE TRIGGER spend_rollup_days_insert AFTER INSERT ON requests BEGIN\n",
    upsert!(days, "NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    "END;\nCREATE TRIGGER spend_rollup_days_delete AFTER DELETE ON requests BEGIN\n",
    upsert!(days, "OLD", "-", "9223372036854775807", "-9223372036854775807"),
    prune!(days),
    "END;\nCREATE TRIGGER spend_rollup_days_update ",
    rolled_up_columns!(),
    " BEGIN\n",
    upsert!(days, "OLD", "-", "9223372036854775807", "-9223372036854775807"),
    upsert!(days, "NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    prune!(days),
    r#"END;
INSERT INTO spend_rollup
    SELECT dim + 10, slot / 96, key, key2, model, source, SUM(requests), SUM(unpriced), SUM(cost_nusd),
        SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m_tokens), SUM(cache_write_1h_tokens),
        SUM(cache_read_tokens), MIN(first_ms), MAX(last_ms)
    FROM spend_rollup WHERE dim BETWEEN 1 AND 4
    GROUP BY 1, 2, 3, 4, 5, 6;
"#
);

/// The triggers of one level (`quarters`, `hours` or `days`), named
/// `spend_rollup_<name>_insert` and so on, on the table migration 8 made
/// (its update trigger watches the id, which holds the time).
macro_rules! level_triggers {
    ($level:ident, $name:literal) => {
        level_triggers!($level, $name, plain, rolled_up_columns_v8)
    };
    ($level:ident, $name:literal, $sums:ident, $columns:ident) => {
        concat!(
            "CREATE TRIGGER spend_rollup_",
            $name,
            "_insert AFTER INSERT ON requests BEGIN\n",
            upsert!($level, "NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms", $sums),
            "END;\nCREATE TRIGGER spend_rollup_",
            $name,
            "_delete AFTER DELETE ON requests BEGIN\n",
            upsert!($level, "OLD", "-", "9223372036854775807", "-9223372036854775807", $sums),
            prune!($level),
            "END;\nCREATE TRIGGER spend_rollup_",
            $name,
            "_update ",
            $columns!(),
            " BEGIN\n",
            upsert!($level, "OLD", "-", "9223372036854775807", "-9223372036854775807", $sums),
            upsert!($level, "NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms", $sums),
            prune!($level),
            "END;\n"
        )
    };
}

/// Migration 9: the rollup's triggers on the table migration 8 made
/// (dropping the old table dropped them), and the group dimensions 1 to 4
/// by the hour instead of by 15 minutes (half as many cells, 10 MB per
/// million rows): their 15-minute cells are summed into hours. The
/// everything dimension (0) keeps its 15-minute cells, for local days in
/// any zone; see [`spans`] for how a range reads the hours.
pub const HOURS_MIGRATION: &str = concat!(
    level_triggers!(quarters, "quarters"),
    level_triggers!(hours, "hours"),
    level_triggers!(days, "days"),
    r#"
CREATE TEMP TABLE rollup_hours AS
    SELECT dim, slot / 4 AS slot, key, key2, model, source, SUM(requests) AS requests, SUM(unpriced) AS unpriced,
        SUM(cost_nusd) AS cost_nusd, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
        SUM(cache_write_5m_tokens) AS cache_write_5m_tokens, SUM(cache_write_1h_tokens) AS cache_write_1h_tokens,
        SUM(cache_read_tokens) AS cache_read_tokens, MIN(first_ms) AS first_ms, MAX(last_ms) AS last_ms
    FROM spend_rollup WHERE dim BETWEEN 1 AND 4
    GROUP BY dim, slot / 4, key, key2, model, source;
DELETE FROM spend_rollup WHERE dim BETWEEN 1 AND 4;
INSERT INTO spend_rollup SELECT * FROM rollup_hours ORDER BY dim, slot, key, key2, model, source;
DROP TABLE rollup_hours;
"#
);

/// Migration 10: the billed part of each cell's spend, `billed_requests`
/// and `billed_nusd` (the cost of the requests whose `flags` have
/// `ledger::flags::BILLED`, in 1e-9 USD, rounded per request as
/// `cost_nusd` is), so `cost_nusd - billed_nusd` is the
/// subscription-equivalent part to the last nano-dollar. The triggers are
/// made again to keep them (and to follow a change of `flags`); the cells
/// already there get them from the rows they sum.
pub const BILLED_MIGRATION: &str = concat!(
    r#"
DROP TRIGGER spend_rollup_quarters_insert;
DROP TRIGGER spend_rollup_quarters_delete;
DROP TRIGGER spend_rollup_quarters_update;
DROP TRIGGER spend_rollup_hours_insert;
DROP TRIGGER spend_rollup_hours_delete;
DROP TRIGGER spend_rollup_hours_update;
DROP TRIGGER spend_rollup_days_insert;
DROP TRIGGER spend_rollup_days_delete;
DROP TRIGGER spend_rollup_days_update;
ALTER TABLE spend_rollup ADD COLUMN billed_requests INTEGER NOT NULL DEFAULT 0;  -- requests with flags & 256
ALTER TABLE spend_rollup ADD COLUMN billed_nusd INTEGER NOT NULL DEFAULT 0;      -- their priced cost, in 1e-9 USD
"#,
    level_triggers!(quarters, "quarters", billed, rolled_up_columns_v10),
    level_triggers!(hours, "hours", billed, rolled_up_columns_v10),
    level_triggers!(days, "days", billed, rolled_up_columns_v10),
    r#"
CREATE TEMP TABLE rollup_billed AS
    SELECT d.dim,
        CASE WHEN d.dim = 0 THEN r.ts_unix_ms / 900000 WHEN d.dim < 10 THEN r.ts_unix_ms / 3600000
            ELSE r.ts_unix_ms / 86400000 END AS slot,
        CASE d.dim % 10 WHEN 1 THEN COALESCE(r.project, 0) WHEN 2 THEN COALESCE(r.session, 0)
            WHEN 3 THEN COALESCE(r.client, 0) WHEN 4 THEN COALESCE(r.request_class, 0) ELSE 0 END AS key,
        CASE d.dim % 10 WHEN 4 THEN COALESCE(r.agent_type, 0) ELSE 0 END AS key2,
        r.model AS model, CASE d.dim WHEN 0 THEN r.source ELSE 0 END AS source, COUNT(*) AS requests,
        COALESCE(SUM(CAST(round(r.cost_usd * 1e9) AS INTEGER)), 0) AS nusd
    FROM requests r, (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
        UNION ALL SELECT 11 UNION ALL SELECT 12 UNION ALL SELECT 13 UNION ALL SELECT 14) d
    WHERE r.flags & 256
    GROUP BY 1, 2, 3, 4, 5, 6;
UPDATE spend_rollup SET billed_requests = b.requests, billed_nusd = b.nusd
    FROM rollup_billed b
    WHERE spend_rollup.dim = b.dim AND spend_rollup.slot = b.slot AND spend_rollup.key = b.key
        AND spend_rollup.key2 = b.key2 AND spend_rollup.model = b.model AND spend_rollup.source = b.source;
DROP TABLE rollup_billed;
"#
);

/// What one request (`$row`, `NEW` or `OLD`) adds to each of its cells,
/// after the cell's keys: its sums with the billed part, signed (`$sign`),
/// then `first_ms` and `last_ms` (`$first`, `$last`).
macro_rules! cell_values {
    ($row:literal, $sign:literal, $first:literal, $last:literal) => {
        concat!(
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
            extra_values!(billed, $row, $sign),
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
            $last
        )
    };
}

/// The cells of the group dimensions (`$project` to `$class`: 1 to 4, or 11
/// to 14 for the day level) that one request adds to in a level (`hours`
/// or `days`), each a `UNION ALL SELECT` of its keys and [`cell_values`].
macro_rules! group_cells {
    ($level:ident, $project:literal, $session:literal, $client:literal, $class:literal,
     $row:literal, $sign:literal, $first:literal, $last:literal) => {
        concat!(
            "\nUNION ALL SELECT ",
            $project,
            ", ",
            slot_of!($level, $row),
            ", COALESCE(",
            $row,
            ".project, 0), 0, ",
            $row,
            ".model, 0, ",
            cell_values!($row, $sign, $first, $last),
            "\nUNION ALL SELECT ",
            $session,
            ", ",
            slot_of!($level, $row),
            ", COALESCE(",
            $row,
            ".session, 0), 0, ",
            $row,
            ".model, 0, ",
            cell_values!($row, $sign, $first, $last),
            "\nUNION ALL SELECT ",
            $client,
            ", ",
            slot_of!($level, $row),
            ", COALESCE(",
            $row,
            ".client, 0), 0, ",
            $row,
            ".model, 0, ",
            cell_values!($row, $sign, $first, $last),
            "\nUNION ALL SELECT ",
            $class,
            ", ",
            slot_of!($level, $row),
            ", COALESCE(",
            $row,
            ".request_class, 0), COALESCE(",
            $row,
            ".agent_type, 0), ",
            $row,
            ".model, 0, ",
            cell_values!($row, $sign, $first, $last)
        )
    };
}

/// One statement for all nine cells a request (`$row`, signed by `$sign`)
/// adds to: its 15-minute cell of everything, its hour and its day cells of
/// the four group dimensions. A compound `SELECT` of one row per cell, with
/// no subquery, so SQLite runs it as a single loop; `first_ms` and
/// `last_ms` are kept with `CASE` rather than `min()` and `max()`, which are
/// function calls.
macro_rules! upsert_cells {
    ($row:literal, $sign:literal, $first:literal, $last:literal) => {
        concat!(
            "INSERT INTO spend_rollup (dim, slot, key, key2, model, source, requests, unpriced, cost_nusd, ",
            extra_columns!(billed),
            "input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, ",
            "first_ms, last_ms)\nSELECT 0, ",
            slot_of!(quarters, $row),
            ", 0, 0, ",
            $row,
            ".model, ",
            $row,
            ".source, ",
            cell_values!($row, $sign, $first, $last),
            group_cells!(hours, "1", "2", "3", "4", $row, $sign, $first, $last),
            group_cells!(days, "11", "12", "13", "14", $row, $sign, $first, $last),
            "\nON CONFLICT (dim, slot, key, key2, model, source) DO UPDATE SET ",
            add_sums!(billed),
            "first_ms = CASE WHEN excluded.first_ms < first_ms THEN excluded.first_ms ELSE first_ms END, ",
            "last_ms = CASE WHEN excluded.last_ms > last_ms THEN excluded.last_ms ELSE last_ms END;\n"
        )
    };
}

/// Migration 11: the same cells, kept by one trigger per event instead of
/// one per level (three), in a table without column types or `NOT NULL`.
/// Each trigger SQLite runs allocates and clears a frame of registers and
/// opens its own cursor, and every cell written checks each `NOT NULL`
/// column and applies each column's affinity, twice when the cell exists:
/// the cells are written only by these triggers, whose values are never
/// NULL and always integers, so those checks bought nothing. The cells are
/// copied as they are. See docs/BENCHMARKS.md for what it saves.
pub const ONE_TRIGGER_MIGRATION: &str = concat!(
    r#"
DROP TRIGGER spend_rollup_quarters_insert;
DROP TRIGGER spend_rollup_quarters_delete;
DROP TRIGGER spend_rollup_quarters_update;
DROP TRIGGER spend_rollup_hours_insert;
DROP TRIGGER spend_rollup_hours_delete;
DROP TRIGGER spend_rollup_hours_update;
DROP TRIGGER spend_rollup_days_insert;
DROP TRIGGER spend_rollup_days_delete;
DROP TRIGGER spend_rollup_days_update;
CREATE TABLE spend_rollup_v11 (
    dim,                    -- 0 all, 1 project, 2 session, 3 client, 4 request class (+ agent type); 11-14 by day
    slot,                   -- dim 0: ts_unix_ms / 900000; 1-4: / 3600000; 11-14: / 86400000
    key,                    -- names.id of the dimension's value; 0 for NULL
    key2,                   -- dim 4 and 14: names.id of the agent type; else 0
    model,
    source,                 -- dim 0: requests.source (coverage); else 0
    requests,
    unpriced,               -- requests without a price (cost_usd NULL)
    cost_nusd,              -- sum of the priced costs, in 1e-9 USD
    input_tokens,
    output_tokens,
    cache_write_5m_tokens,
    cache_write_1h_tokens,
    cache_read_tokens,
    first_ms,
    last_ms,
    billed_requests,        -- requests with flags & 256
    billed_nusd,            -- their priced cost, in 1e-9 USD
    PRIMARY KEY (dim, slot, key, key2, model, source)
) WITHOUT ROWID;
INSERT INTO spend_rollup_v11 SELECT dim, slot, key, key2, model, source, requests, unpriced, cost_nusd,
        input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, first_ms,
        last_ms, billed_requests, billed_nusd
    FROM spend_rollup ORDER BY dim, slot, key, key2, model, source;
DROP TABLE spend_rollup;
ALTER TABLE spend_rollup_v11 RENAME TO spend_rollup;
CREATE TRIGGER spend_rollup_insert AFTER INSERT ON requests BEGIN
"#,
    upsert_cells!("NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    "END;\nCREATE TRIGGER spend_rollup_delete AFTER DELETE ON requests BEGIN\n",
    upsert_cells!("OLD", "-", "9223372036854775807", "-9223372036854775807"),
    prune!(quarters),
    prune!(hours),
    prune!(days),
    "END;\nCREATE TRIGGER spend_rollup_update ",
    rolled_up_columns_v10!(),
    " BEGIN\n",
    upsert_cells!("OLD", "-", "9223372036854775807", "-9223372036854775807"),
    upsert_cells!("NEW", "", "NEW.ts_unix_ms", "NEW.ts_unix_ms"),
    prune!(quarters),
    prune!(hours),
    prune!(days),
    "END;\n"
);
