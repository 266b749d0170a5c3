//! The Spend page: spend over a range of local days, as daily bars by model
//! and as a table of groups (project, session, client, model, request class,
//! agent type), with the same numbers exported as CSV or JSON.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Totals over a set of requests. `cost_usd` sums the requests whose model
/// has a price; the others are counted in `unpriced_requests`, and when no
/// request of the set has a price `cost_usd` is `null` (never 0).
///
/// `cost_usd` is `billed_usd + subscription_usd`, exactly in nano-dollars
/// (each is a whole number of 1e-9 USD): billed dollars were paid for
/// (requests served with an API key: a paid upstream's, the gateway's own,
/// or the client's), subscription-equivalent dollars are what Claude Code's
/// subscription login used, at API list prices. Requests imported from
/// transcripts say nothing of their credential and count as
/// subscription-equivalent.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendTotals {
    pub requests: u64,
    pub cost_usd: Option<f64>,
    /// The billed part of `cost_usd`; `null` when `cost_usd` is.
    pub billed_usd: Option<f64>,
    /// The subscription-equivalent part of `cost_usd`; `null` when `cost_usd` is.
    pub subscription_usd: Option<f64>,
    /// The requests served with a paid credential (priced or not).
    pub billed_requests: u64,
    pub unpriced_requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Cache writes of both lifetimes (5 minutes and 1 hour).
    pub cache_write_tokens: u64,
    pub cache_read_tokens: u64,
    /// What the cache reads saved against the full input price, per model:
    /// `cache_read_tokens × (input price − cache read price)`. `null` when no
    /// cache-reading request has a price.
    pub cache_savings_usd: Option<f64>,
}

/// No requests: they cost $0, known, not an unknown price (so a new
/// install's Overview says "$0.00" for the week, as it does for today).
impl Default for SpendTotals {
    fn default() -> SpendTotals {
        Acc::default().totals()
    }
}

/// What the rows of the table are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SpendGroup {
    Model,
    /// Claude Code's working directory.
    Project,
    /// Claude Code session id.
    Session,
    /// Gateway key name (transcript rows have none).
    Client,
    /// `main`, `subagent`, `compaction`, … (x-claude-code-request-class).
    RequestClass,
    /// `Explore`, … (x-claude-code-agent-type).
    AgentType,
}

/// A range of local calendar days, both ends included, as `YYYY-MM-DD` in
/// the operating system's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DayRange {
    pub first_day: String,
    pub last_day: String,
}

/// The arguments of `spend_report` and `spend_export`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SpendQuery {
    /// `null`: the last 30 days, today included.
    pub range: Option<DayRange>,
    pub by: SpendGroup,
}

/// One model's part of one day's bar.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ModelSpend {
    pub model: String,
    pub requests: u64,
    /// `null`: no price known for this model.
    pub cost_usd: Option<f64>,
    pub unpriced_requests: u64,
}

/// One local day.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendDay {
    /// `YYYY-MM-DD`, local.
    pub day: String,
    /// Local midnight starting the day, and the next one (a day is 23 or 25
    /// hours long when the clocks change).
    pub start_ms: i64,
    pub end_ms: i64,
    pub total: SpendTotals,
    /// By model, dearest first; empty on a day without requests.
    pub models: Vec<ModelSpend>,
}

/// One row of the table: one project, session, model, ….
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendRow {
    /// The group's value; `null` where unknown (no project, no session, …).
    pub key: Option<String>,
    /// What to show: the key, shortened where useful, or "(none)".
    pub label: String,
    #[serde(flatten)]
    pub totals: SpendTotals,
    /// The first and last request of the group in the range.
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The Spend page.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendReport {
    /// The range the report covers (the default one filled in).
    pub range: DayRange,
    /// Local midnight of the first day, and of the day after the last.
    pub since_ms: i64,
    pub until_ms: i64,
    pub by: SpendGroup,
    /// Every day of the range, empty days included, oldest first.
    pub days: Vec<SpendDay>,
    /// The models in the range, dearest first: the bars' series, in order.
    pub models: Vec<String>,
    /// Dearest first. The totals of the rows add up to `total`.
    pub rows: Vec<SpendRow>,
    pub total: SpendTotals,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// An export of the table: the same rows and numbers as [`SpendReport::rows`].
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SpendExport {
    /// A file name to suggest: `gatehouse-spend-project-2026-11-01-2026-11-30.csv`.
    pub file_name: String,
    pub contents: String,
    /// Where it was saved, when the command saved it.
    pub path: Option<String>,
}

/// Sums of rollup cells (see [`super::rollup`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Acc {
    pub(crate) requests: i64,
    pub(crate) unpriced: i64,
    pub(crate) cost_nusd: i64,
    pub(crate) billed_requests: i64,
    pub(crate) billed_nusd: i64,
    input: i64,
    output: i64,
    cache_write_5m: i64,
    cache_write_1h: i64,
    cache_read: i64,
    pub(crate) first_ms: i64,
    pub(crate) last_ms: i64,
    savings: f64,
    /// Some cell had a model with a price, so `savings` is a figure.
    savings_known: bool,
}

impl Default for Acc {
    fn default() -> Acc {
        Acc {
            requests: 0,
            unpriced: 0,
            cost_nusd: 0,
            billed_requests: 0,
            billed_nusd: 0,
            input: 0,
            output: 0,
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: 0,
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            savings: 0.0,
            savings_known: false,
        }
    }
}

/// A rollup cell's sums, in [`Acc::cell`]'s order.
pub(crate) const CELL_COLUMNS: &str = "requests, unpriced, cost_nusd, input_tokens, output_tokens, \
    cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, first_ms, last_ms, billed_requests, billed_nusd";

impl Acc {
    /// Reads [`CELL_COLUMNS`] from `row` at `offset`.
    pub(crate) fn cell(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<Acc> {
        Ok(Acc {
            requests: row.get(offset)?,
            unpriced: row.get(offset + 1)?,
            cost_nusd: row.get(offset + 2)?,
            input: row.get(offset + 3)?,
            output: row.get(offset + 4)?,
            cache_write_5m: row.get(offset + 5)?,
            cache_write_1h: row.get(offset + 6)?,
            cache_read: row.get(offset + 7)?,
            first_ms: row.get(offset + 8)?,
            last_ms: row.get(offset + 9)?,
            billed_requests: row.get(offset + 10)?,
            billed_nusd: row.get(offset + 11)?,
            savings: 0.0,
            savings_known: false,
        })
    }

    /// Adds one model's cell; `saving` is what a cache-read token saves on
    /// that model (`None`: no price).
    pub(crate) fn add(&mut self, cell: &Acc, saving: Option<f64>) {
        self.requests += cell.requests;
        self.unpriced += cell.unpriced;
        self.cost_nusd += cell.cost_nusd;
        self.billed_requests += cell.billed_requests;
        self.billed_nusd += cell.billed_nusd;
        self.input += cell.input;
        self.output += cell.output;
        self.cache_write_5m += cell.cache_write_5m;
        self.cache_write_1h += cell.cache_write_1h;
        self.cache_read += cell.cache_read;
        self.first_ms = self.first_ms.min(cell.first_ms);
        self.last_ms = self.last_ms.max(cell.last_ms);
        if let Some(per_token) = saving {
            self.savings += cell.cache_read as f64 * per_token;
            self.savings_known = true;
        }
        if cell.savings_known {
            self.savings += cell.savings;
            self.savings_known = true;
        }
    }

    pub(crate) fn totals(&self) -> SpendTotals {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        // Unknown only when every request had no price: nothing at all costs $0.
        let priced = self.requests == 0 || self.requests > self.unpriced;
        let usd = |nusd: i64| priced.then(|| nusd as f64 / 1e9);
        SpendTotals {
            requests: count(self.requests),
            cost_usd: usd(self.cost_nusd),
            billed_usd: usd(self.billed_nusd),
            subscription_usd: usd(self.cost_nusd - self.billed_nusd),
            billed_requests: count(self.billed_requests),
            unpriced_requests: count(self.unpriced),
            input_tokens: count(self.input),
            output_tokens: count(self.output),
            cache_write_tokens: count(self.cache_write_5m + self.cache_write_1h),
            cache_read_tokens: count(self.cache_read),
            cache_savings_usd: self.savings_known.then_some(self.savings),
        }
    }
}

/// What one cache-read token saves on each model, against its full input
/// price (base rates); `None` for a model without a price.
#[derive(Debug)]
pub(crate) struct Savings<'a> {
    prices: &'a crate::pricing::PriceTable,
    known: std::collections::HashMap<i64, Option<f64>>,
}

impl<'a> Savings<'a> {
    pub(crate) fn new(prices: &'a crate::pricing::PriceTable) -> Savings<'a> {
        Savings { prices, known: std::collections::HashMap::new() }
    }

    pub(crate) fn per_token(&mut self, model_id: i64, names: &Names) -> Option<f64> {
        *self.known.entry(model_id).or_insert_with(|| {
            let price = self.prices.lookup(names.get(model_id)?)?;
            Some((price.input - price.cache_read).max(0.0) / 1e6)
        })
    }
}

/// Names by id, for the ids a report met.
#[derive(Debug, Default)]
pub(crate) struct Names(std::collections::HashMap<i64, String>);

impl Names {
    /// Looks up `ids` in the ledger's `names`.
    pub(crate) fn load(conn: &rusqlite::Connection, ids: impl IntoIterator<Item = i64>) -> rusqlite::Result<Names> {
        let ids: std::collections::BTreeSet<i64> = ids.into_iter().filter(|id| *id > 0).collect();
        let json = serde_json::to_string(&ids).expect("a list of integers serialises");
        let mut statement =
            conn.prepare_cached("SELECT id, value FROM names WHERE id IN (SELECT value FROM json_each(?1))")?;
        let pairs = statement.query_map([json], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(Names(pairs.collect::<rusqlite::Result<_>>()?))
    }

    pub(crate) fn get(&self, id: i64) -> Option<&str> {
        self.0.get(&id).map(String::as_str)
    }
}

impl SpendGroup {
    /// The rollup dimension the rows come from.
    fn dim(self) -> i64 {
        use super::rollup::dim;
        match self {
            SpendGroup::Model => dim::ALL,
            SpendGroup::Project => dim::PROJECT,
            SpendGroup::Session => dim::SESSION,
            SpendGroup::Client => dim::CLIENT,
            SpendGroup::RequestClass | SpendGroup::AgentType => dim::CLASS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SpendGroup::Model => "model",
            SpendGroup::Project => "project",
            SpendGroup::Session => "session",
            SpendGroup::Client => "client",
            SpendGroup::RequestClass => "request_class",
            SpendGroup::AgentType => "agent_type",
        }
    }

    /// What a row shows for `key`.
    fn label(self, key: Option<&str>) -> String {
        match (self, key) {
            (_, None) => "(none)".to_string(),
            (SpendGroup::Project, Some(path)) => super::tilde(path),
            (_, Some(key)) => key.to_string(),
        }
    }
}

/// One rollup cell of a report query: its slot or group key, model and sums.
pub(crate) struct Cell {
    pub(crate) slot: i64,
    pub(crate) key: i64,
    pub(crate) key2: i64,
    pub(crate) model: i64,
    pub(crate) sums: Acc,
}

impl super::Dashboard {
    /// The Spend page.
    pub fn spend(&self, query: &SpendQuery) -> Result<SpendReport, super::DashboardError> {
        use super::days;
        let (first, last) = match &query.range {
            Some(range) => (days::parse(&range.first_day)?, days::parse(&range.last_day)?),
            None => {
                let today = days::today(&self.zone);
                (today.checked_sub(jiff::Span::new().days(29)).unwrap_or(today), today)
            }
        };
        let days = days::between(&self.zone, first, last)?;
        let (since_ms, until_ms) = (days[0].start_ms, days[days.len() - 1].end_ms);
        let range = DayRange { first_day: first.to_string(), last_day: last.to_string() };
        let mut report = SpendReport {
            range,
            since_ms,
            until_ms,
            by: query.by,
            days: days
                .iter()
                .map(|day| SpendDay {
                    day: day.date.to_string(),
                    start_ms: day.start_ms,
                    end_ms: day.end_ms,
                    total: SpendTotals::default(),
                    models: Vec::new(),
                })
                .collect(),
            models: Vec::new(),
            rows: Vec::new(),
            total: SpendTotals::default(),
        };
        let Some(conn) = self.read()? else { return Ok(report) };
        let mut run = || -> rusqlite::Result<()> {
            let daily = cells(&conn, super::rollup::dim::ALL, since_ms, until_ms, true)?;
            let grouped = if query.by == SpendGroup::Model {
                Vec::new()
            } else {
                cells(&conn, query.by.dim(), since_ms, until_ms, false)?
            };
            let names =
                Names::load(&conn, daily.iter().chain(&grouped).flat_map(|cell| [cell.model, cell.key, cell.key2]))?;
            let mut savings = Savings::new(&self.prices);
            // Days by model, and the models over the range.
            let mut by_day: Vec<std::collections::BTreeMap<i64, Acc>> = vec![Default::default(); days.len()];
            let mut by_model: std::collections::BTreeMap<i64, Acc> = Default::default();
            let mut total = Acc::default();
            for cell in &daily {
                let per_token = savings.per_token(cell.model, &names);
                if let Some(index) = days::index_of(&days, cell.slot * super::rollup::SLOT_MS) {
                    by_day[index].entry(cell.model).or_default().add(&cell.sums, per_token);
                }
                by_model.entry(cell.model).or_default().add(&cell.sums, per_token);
                total.add(&cell.sums, per_token);
            }
            let model_name = |id: i64| names.get(id).unwrap_or("(unknown model)").to_string();
            for (day, models) in report.days.iter_mut().zip(&by_day) {
                let mut day_total = Acc::default();
                for acc in models.values() {
                    day_total.add(acc, None);
                }
                day.total = day_total.totals();
                day.models = models
                    .iter()
                    .map(|(model, acc)| {
                        let totals = acc.totals();
                        ModelSpend {
                            model: model_name(*model),
                            requests: totals.requests,
                            cost_usd: totals.cost_usd,
                            unpriced_requests: totals.unpriced_requests,
                        }
                    })
                    .collect();
                day.models.sort_by(|a, b| dearest_first((a.cost_usd, a.requests), (b.cost_usd, b.requests)));
            }
            let mut groups: std::collections::BTreeMap<(i64, i64), Acc> = Default::default();
            if query.by == SpendGroup::Model {
                groups.extend(by_model.iter().map(|(model, acc)| ((*model, 0), *acc)));
            } else {
                for cell in &grouped {
                    let key = if query.by == SpendGroup::AgentType { (cell.key2, 0) } else { (cell.key, 0) };
                    let per_token = savings.per_token(cell.model, &names);
                    groups.entry(key).or_default().add(&cell.sums, per_token);
                }
            }
            let mut models: Vec<(String, SpendTotals)> =
                by_model.iter().map(|(model, acc)| (model_name(*model), acc.totals())).collect();
            models.sort_by(|a, b| dearest_first((a.1.cost_usd, a.1.requests), (b.1.cost_usd, b.1.requests)));
            report.models = models.into_iter().map(|(model, _)| model).collect();
            report.rows = groups
                .iter()
                .map(|((key, _), acc)| {
                    let key = names.get(*key).map(str::to_string);
                    SpendRow {
                        label: query.by.label(key.as_deref()),
                        key,
                        totals: acc.totals(),
                        first_ms: acc.first_ms,
                        last_ms: acc.last_ms,
                    }
                })
                .collect();
            report.rows.sort_by(|a, b| {
                dearest_first((a.totals.cost_usd, a.totals.requests), (b.totals.cost_usd, b.totals.requests))
                    .then_with(|| a.label.cmp(&b.label))
            });
            report.total = total.totals();
            Ok(())
        };
        run().map_err(|source| self.error(source))?;
        Ok(report)
    }

    /// The table of `query` as CSV or JSON: the same rows and numbers as
    /// [`Self::spend`]'s.
    pub fn spend_export(&self, query: &SpendQuery, format: ExportFormat) -> Result<SpendExport, super::DashboardError> {
        let report = self.spend(query)?;
        let extension = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        };
        let file_name = format!(
            "gatehouse-spend-{}-{}-{}.{extension}",
            query.by.name().replace('_', "-"),
            report.range.first_day,
            report.range.last_day
        );
        let contents = match format {
            ExportFormat::Csv => to_csv(&report),
            ExportFormat::Json => to_json(&report),
        };
        Ok(SpendExport { file_name, contents, path: None })
    }
}

/// Saves an export in `dir` under its file name, or under "name (2).csv"
/// and so on when that exists (an export never replaces a file).
pub fn save_export(dir: &std::path::Path, export: &mut SpendExport) -> Result<(), super::DashboardError> {
    let (stem, extension) = export.file_name.rsplit_once('.').unwrap_or((&export.file_name, ""));
    for attempt in 1..1000 {
        let name = if attempt == 1 { export.file_name.clone() } else { format!("{stem} ({attempt}).{extension}") };
        let path = dir.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                use std::io::Write as _;
                file.write_all(export.contents.as_bytes())
                    .map_err(|source| super::DashboardError::Export { path: path.clone(), source })?;
                export.path = Some(path.display().to_string());
                return Ok(());
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(super::DashboardError::Export { path, source }),
        }
    }
    let path = dir.join(&export.file_name);
    Err(super::DashboardError::Export { path, source: std::io::Error::other("too many exports of that name") })
}

/// Orders by cost, dearest first, then unpriced ones by request count.
fn dearest_first(a: (Option<f64>, u64), b: (Option<f64>, u64)) -> std::cmp::Ordering {
    let cost = |c: Option<f64>| c.unwrap_or(-1.0);
    cost(b.0).total_cmp(&cost(a.0)).then(b.1.cmp(&a.1))
}

/// The cells of dimension `dim` over `[since, until)` (15-minute
/// boundaries): `by_slot`, the 15-minute cells only; else as
/// [`rollup::spans`](super::rollup::spans) splits the range, with the
/// partial hours' requests summed into cells of the same shape.
pub(crate) fn cells(
    conn: &rusqlite::Connection,
    dim: i64,
    since: i64,
    until: i64,
    by_slot: bool,
) -> rusqlite::Result<Vec<Cell>> {
    use super::rollup::{self, SLOT_MS};
    let (low, high) = (since.div_euclid(SLOT_MS), until.div_euclid(SLOT_MS));
    let days = !by_slot && rollup::has_day_cells(conn)?;
    let mut statement = conn.prepare_cached(&format!(
        "SELECT slot, key, key2, model, {CELL_COLUMNS} FROM spend_rollup WHERE dim = ?1 AND slot >= ?2 AND slot < ?3"
    ))?;
    let mut cells = Vec::new();
    let spans = if by_slot {
        vec![rollup::Span { dim, first: low, end: high, rows: false }]
    } else {
        rollup::spans(dim, low, high, days)
    };
    let read = |row: &rusqlite::Row<'_>| {
        Ok(Cell {
            slot: row.get(0)?,
            key: row.get(1)?,
            key2: row.get(2)?,
            model: row.get(3)?,
            sums: Acc::cell(row, 4)?,
        })
    };
    for span in spans {
        if span.rows {
            let mut rows = conn.prepare_cached(&row_cells(dim))?;
            let found = rows.query_map(
                [crate::ledger::id_at(span.first * SLOT_MS), crate::ledger::id_at(span.end * SLOT_MS)],
                read,
            )?;
            for cell in found {
                cells.push(cell?);
            }
            continue;
        }
        for cell in statement.query_map(rusqlite::params![span.dim, span.first, span.end], read)? {
            cells.push(cell?);
        }
    }
    Ok(cells)
}

/// SQL summing the requests of an id range (`?1`, `?2`) into cells of
/// group dimension `dim`, as the rollup's triggers would.
fn row_cells(dim: i64) -> String {
    use super::rollup::dim;
    let (key, key2) = match dim {
        dim::PROJECT => ("project", "0"),
        dim::SESSION => ("session", "0"),
        dim::CLIENT => ("client", "0"),
        _ => ("request_class", "COALESCE(agent_type, 0)"),
    };
    format!(
        "SELECT MIN(ts_unix_ms) / {}, COALESCE({key}, 0), {key2}, model, COUNT(*), SUM(cost_usd IS NULL),
            COALESCE(SUM(CAST(round(cost_usd * 1e9) AS INTEGER)), 0), SUM(input_tokens), SUM(output_tokens),
            SUM(cache_write_5m_tokens), SUM(cache_write_1h_tokens), SUM(cache_read_tokens), MIN(ts_unix_ms),
            MAX(ts_unix_ms), SUM((flags & {billed}) != 0),
            COALESCE(SUM(CASE WHEN flags & {billed} THEN CAST(round(cost_usd * 1e9) AS INTEGER) END), 0)
         FROM requests WHERE id >= ?1 AND id < ?2 GROUP BY 2, 3, 4",
        super::rollup::SLOT_MS,
        billed = crate::ledger::flags::BILLED,
    )
}

const CSV_HEADER: [&str; 15] = [
    "group",
    "key",
    "requests",
    "cost_usd",
    "billed_usd",
    "subscription_usd",
    "billed_requests",
    "unpriced_requests",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cache_savings_usd",
    "first",
    "last",
];

/// RFC 3339 in UTC, for exports.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|ts| ts.to_string()).unwrap_or_default()
}

/// The table as CSV: one line per row, then a `total` line. An unknown cost
/// is an empty cell, never 0.
fn to_csv(report: &SpendReport) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let money = |value: Option<f64>| value.map(|v| format!("{v:.6}")).unwrap_or_default();
    let write = |writer: &mut csv::Writer<Vec<u8>>, group: &str, key: &str, totals: &SpendTotals, first, last| {
        writer.write_record([
            group.to_string(),
            key.to_string(),
            totals.requests.to_string(),
            money(totals.cost_usd),
            money(totals.billed_usd),
            money(totals.subscription_usd),
            totals.billed_requests.to_string(),
            totals.unpriced_requests.to_string(),
            totals.input_tokens.to_string(),
            totals.output_tokens.to_string(),
            totals.cache_write_tokens.to_string(),
            totals.cache_read_tokens.to_string(),
            money(totals.cache_savings_usd),
            first,
            last,
        ])
    };
    let result = (|| -> csv::Result<()> {
        writer.write_record(CSV_HEADER)?;
        for row in &report.rows {
            let key = crate::untrusted_text::for_spreadsheet(row.key.as_deref().unwrap_or(""));
            write(&mut writer, report.by.name(), &key, &row.totals, rfc3339(row.first_ms), rfc3339(row.last_ms))?;
        }
        write(&mut writer, "total", "", &report.total, String::new(), String::new())
    })();
    result.expect("writing CSV to memory cannot fail");
    String::from_utf8(writer.into_inner().expect("writing CSV to memory cannot fail"))
        .expect("the CSV is made of UTF-8 strings")
}

/// The table as JSON: the range, the rows and the total, as the page has them.
fn to_json(report: &SpendReport) -> String {
    #[derive(Serialize)]
    struct Export<'a> {
        range: &'a DayRange,
        by: SpendGroup,
        rows: &'a [SpendRow],
        total: &'a SpendTotals,
    }
    let export = Export { range: &report.range, by: report.by, rows: &report.rows, total: &report.total };
    serde_json::to_string_pretty(&export).expect("the report serialises")
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;

    use super::super::testing::{self, Row};
    use super::super::{Dashboard, days};
    use super::*;
    use crate::pricing::PriceTable;

    fn dashboard(dir: &std::path::Path, zone: &str) -> Dashboard {
        Dashboard::with_zone(dir.join("ledger.sqlite3"), PriceTable::builtin(), TimeZone::get(zone).unwrap())
    }

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn range(first: &str, last: &str) -> Option<DayRange> {
        Some(DayRange { first_day: first.into(), last_day: last.into() })
    }

    #[test]
    fn an_empty_or_missing_ledger_shows_every_day_with_nothing_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let dashboard = dashboard(dir.path(), "UTC");
        let query = SpendQuery { range: None, by: SpendGroup::Project };
        let report = dashboard.spend(&query).unwrap();
        assert_eq!(report.days.len(), 30, "the default range is the last 30 days");
        assert_eq!(report.range.last_day, days::today(&TimeZone::UTC).to_string());
        assert!(report.rows.is_empty());
        assert_eq!(report.total, SpendTotals::default());
        assert_eq!(report.total.cost_usd, Some(0.0), "no request costs $0, not an unknown price");
        assert!(report.days.iter().all(|day| day.total.cost_usd == Some(0.0)));

        testing::create(dashboard.ledger_path());
        let report = dashboard.spend(&query).unwrap();
        assert_eq!((report.days.len(), report.rows.len(), report.total.requests), (30, 0, 0));
    }

    #[test]
    fn rows_add_up_to_the_total_and_unknown_prices_are_flagged_never_zero() {
        let dir = tempfile::tempdir().unwrap();
        let dashboard = dashboard(dir.path(), "UTC");
        let conn = testing::create(dashboard.ledger_path());
        let base = ms("2026-11-10T12:00:00Z");
        let rows = [
            Row { cost: Some(0.1), cache_read: 1_000_000, ..Row::at(base) },
            Row { cost: Some(0.2), project: Some("/p/b"), session: Some("s-2"), ..Row::at(base + 1_000) },
            Row { model: "mystery-model", cost: None, project: Some("/p/b"), ..Row::at(base + 2_000) },
            Row { model: "mystery-model", cost: None, project: Some("/p/c"), ..Row::at(base + 3_000) },
            Row { project: None, session: None, cost: Some(0.3), ..Row::at(base + 86_400_000) },
            Row { source: 1, client: None, cost: Some(0.05), ..Row::at(base + 86_400_001) },
        ];
        for row in &rows {
            row.insert(&conn);
        }
        let by_project =
            dashboard.spend(&SpendQuery { range: range("2026-11-09", "2026-11-12"), by: SpendGroup::Project }).unwrap();
        assert_eq!(by_project.total.requests, 6);
        assert_eq!(by_project.total.unpriced_requests, 2);
        assert!((by_project.total.cost_usd.unwrap() - 0.65).abs() < 1e-12, "{:?}", by_project.total);
        let label = |report: &SpendReport, label: &str| -> SpendRow {
            report.rows.iter().find(|row| row.label == label).cloned().unwrap_or_else(|| panic!("{label}: {report:#?}"))
        };
        let c = label(&by_project, "/p/c");
        assert_eq!((c.totals.cost_usd, c.totals.unpriced_requests, c.totals.requests), (None, 1, 1));
        let b = label(&by_project, "/p/b");
        assert_eq!((b.totals.unpriced_requests, b.totals.requests), (1, 2), "a partly priced group");
        assert!((b.totals.cost_usd.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(label(&by_project, "(none)").key, None);
        assert_eq!(by_project.rows.last().unwrap().label, "/p/c", "unpriced rows sort last");

        for by in [
            SpendGroup::Model,
            SpendGroup::Project,
            SpendGroup::Session,
            SpendGroup::Client,
            SpendGroup::RequestClass,
            SpendGroup::AgentType,
        ] {
            let report = dashboard.spend(&SpendQuery { range: range("2026-11-09", "2026-11-12"), by }).unwrap();
            let sum = |f: fn(&SpendTotals) -> u64| report.rows.iter().map(|row| f(&row.totals)).sum::<u64>();
            assert_eq!(sum(|t| t.requests), report.total.requests, "{by:?}");
            assert_eq!(sum(|t| t.unpriced_requests), report.total.unpriced_requests, "{by:?}");
            assert_eq!(sum(|t| t.input_tokens), report.total.input_tokens, "{by:?}");
            assert_eq!(sum(|t| t.cache_read_tokens), report.total.cache_read_tokens, "{by:?}");
            let cost: f64 = report.rows.iter().filter_map(|row| row.totals.cost_usd).sum();
            assert!((cost - report.total.cost_usd.unwrap()).abs() < 1e-9, "{by:?}");
            let days: u64 = report.days.iter().map(|day| day.total.requests).sum();
            assert_eq!(days, report.total.requests, "{by:?}: the bars hold every request");
            assert_eq!(report.days.len(), 4);
            assert_eq!(report.models, ["claude-sonnet-4-5", "mystery-model"]);
            assert_eq!(
                report.rows.iter().map(|row| &row.label).collect::<std::collections::HashSet<_>>().len(),
                report.rows.len(),
                "{by:?}: one row per group"
            );
        }
        let by_model =
            dashboard.spend(&SpendQuery { range: range("2026-11-09", "2026-11-12"), by: SpendGroup::Model }).unwrap();
        let mystery = label(&by_model, "mystery-model");
        assert_eq!((mystery.totals.cost_usd, mystery.totals.cache_savings_usd), (None, None));
        // Sonnet 4.5: input $3, cache read $0.30 per million: a million cache-read tokens saved $2.70.
        let sonnet = label(&by_model, "claude-sonnet-4-5");
        assert!((sonnet.totals.cache_savings_usd.unwrap() - 2.7).abs() < 1e-9, "{sonnet:?}");
        let day = &by_model.days[1];
        assert_eq!(day.day, "2026-11-10");
        assert_eq!(
            day.models.iter().map(|m| (m.model.as_str(), m.requests)).collect::<Vec<_>>(),
            [("claude-sonnet-4-5", 2), ("mystery-model", 2)]
        );
        assert_eq!(day.models[1].cost_usd, None);
    }

    /// Billed and subscription-equivalent dollars: every total, day and row
    /// splits its cost exactly, in nano-dollars; transcript rows are
    /// subscription-equivalent; a billed request without a price is counted
    /// as billed, at no cost (never $0 for a row with no priced request).
    #[test]
    fn costs_split_into_billed_and_subscription_to_the_nano_dollar() {
        use crate::ledger::flags::BILLED;
        let dir = tempfile::tempdir().unwrap();
        let dashboard = dashboard(dir.path(), "UTC");
        let conn = testing::create(dashboard.ledger_path());
        let base = ms("2026-11-10T12:00:00Z");
        for row in [
            Row { cost: Some(0.1), flags: BILLED, ..Row::at(base) },
            // 1.4 nano-dollars: rounded to 1, the same in every sum.
            Row { cost: Some(0.000_000_001_4), flags: BILLED | 4, project: Some("/p/b"), ..Row::at(base + 1) },
            Row { cost: Some(0.2), flags: 4, project: Some("/p/b"), ..Row::at(base + 2) },
            Row { source: 1, client: None, cost: Some(0.05), ..Row::at(base + 3) },
            Row { model: "mystery-model", cost: None, flags: BILLED, project: Some("/p/c"), ..Row::at(base + 4) },
            Row { cost: Some(0.3), flags: BILLED, ..Row::at(base + 86_400_000) },
        ] {
            row.insert(&conn);
        }
        let nusd = |usd: Option<f64>| usd.map(|usd| (usd * 1e9).round() as i64);
        let split = |totals: &SpendTotals| {
            assert_eq!(
                nusd(totals.billed_usd).zip(nusd(totals.subscription_usd)).map(|(b, s)| b + s),
                nusd(totals.cost_usd),
                "{totals:?}"
            );
            (nusd(totals.billed_usd), nusd(totals.subscription_usd), totals.billed_requests)
        };
        let query = SpendQuery { range: range("2026-11-10", "2026-11-11"), by: SpendGroup::Project };
        let report = dashboard.spend(&query).unwrap();
        assert_eq!(split(&report.total), (Some(400_000_001), Some(250_000_000), 4));
        assert_eq!(split(&report.days[0].total), (Some(100_000_001), Some(250_000_000), 3));
        assert_eq!(split(&report.days[1].total), (Some(300_000_000), Some(0), 1));
        let rows: Vec<_> =
            report.rows.iter().map(|row| (row.key.as_deref().unwrap_or(""), split(&row.totals))).collect();
        assert_eq!(
            rows,
            [
                ("/home/u/project", (Some(400_000_000), Some(50_000_000), 2)),
                ("/p/b", (Some(1), Some(200_000_000), 1)),
                ("/p/c", (None, None, 1)),
            ]
        );
        for by in [SpendGroup::Model, SpendGroup::Session, SpendGroup::Client, SpendGroup::AgentType] {
            let report = dashboard.spend(&SpendQuery { by, ..query.clone() }).unwrap();
            let billed: i64 = report.rows.iter().filter_map(|row| nusd(row.totals.billed_usd)).sum();
            let subscription: i64 = report.rows.iter().filter_map(|row| nusd(row.totals.subscription_usd)).sum();
            assert_eq!(
                (Some(billed), Some(subscription)),
                (nusd(report.total.billed_usd), nusd(report.total.subscription_usd)),
                "{by:?}"
            );
        }
        let csv = dashboard.spend_export(&query, ExportFormat::Csv).unwrap();
        let mut reader = csv::Reader::from_reader(csv.contents.as_bytes());
        let header = reader.headers().unwrap().clone();
        let total = reader.records().map(Result::unwrap).last().unwrap();
        let column = |name: &str| &total[header.iter().position(|h| h == name).unwrap()];
        assert_eq!(
            (column("billed_usd"), column("subscription_usd"), column("billed_requests")),
            ("0.400000", "0.250000", "4")
        );
    }

    #[test]
    fn days_are_local_days_of_the_zone() {
        let dir = tempfile::tempdir().unwrap();
        // India is UTC+05:30: a day starts at 18:30 UTC the day before.
        let dashboard = dashboard(dir.path(), "Asia/Kolkata");
        let conn = testing::create(dashboard.ledger_path());
        Row::at(ms("2026-11-10T18:29:59.999Z")).insert(&conn); // 23:59:59.999 on the 10th, local
        Row::at(ms("2026-11-10T18:30:00Z")).insert(&conn); // 00:00 on the 11th, local
        Row::at(ms("2026-11-11T18:29:00Z")).insert(&conn); // 23:59 on the 11th, local
        let report =
            dashboard.spend(&SpendQuery { range: range("2026-11-10", "2026-11-11"), by: SpendGroup::Model }).unwrap();
        assert_eq!(report.since_ms, ms("2026-11-09T18:30:00Z"));
        assert_eq!(report.until_ms, ms("2026-11-11T18:30:00Z"));
        let counts: Vec<(String, u64)> = report.days.iter().map(|d| (d.day.clone(), d.total.requests)).collect();
        assert_eq!(counts, [("2026-11-10".to_string(), 1), ("2026-11-11".to_string(), 2)]);
        let utc = super::super::Dashboard::with_zone(
            dashboard.ledger_path().to_path_buf(),
            PriceTable::builtin(),
            TimeZone::UTC,
        );
        let report =
            utc.spend(&SpendQuery { range: range("2026-11-10", "2026-11-11"), by: SpendGroup::Model }).unwrap();
        let counts: Vec<u64> = report.days.iter().map(|d| d.total.requests).collect();
        assert_eq!(counts, [2, 1], "the same rows fall on other days in UTC");
    }

    /// Every grouping of the Spend page equals the rows it covers, in zones
    /// whose local days start within an hour (the rollup's group cells are
    /// hours), and today's breakdown by class adds up to today.
    #[test]
    fn every_grouping_equals_the_rows_in_zones_with_half_and_quarter_hour_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let end = jiff::Timestamp::from_second(1_764_583_200).unwrap();
        crate::ledger::synth::generate(&path, &crate::ledger::synth::Spec { rows: 3_000, days: 6, seed: 5, end })
            .unwrap();
        let conn = crate::ledger::open(&path).unwrap();
        // And a request every 7 minutes, so every partial hour has some.
        for i in 0..(8 * 24 * 60 / 7) {
            Row {
                project: [Some("/p/a"), Some("/p/b"), None][i % 3],
                session: [Some("s-1"), Some("s-2"), Some("s-3"), None][i % 4],
                request_class: [Some("main"), Some("subagent"), None][i % 5 % 3],
                agent_type: if i % 5 == 1 { Some("Explore") } else { None },
                cost: if i % 9 == 0 { None } else { Some(i as f64 * 0.000_123_456_789) },
                source: (i % 6 == 0).into(),
                ..Row::at(end.as_millisecond() - 7 * 86_400_000 + i as i64 * 420_000)
            }
            .insert(&conn);
        }
        let groups = [
            (SpendGroup::Model, "model"),
            (SpendGroup::Project, "project"),
            (SpendGroup::Session, "session"),
            (SpendGroup::Client, "client"),
            (SpendGroup::RequestClass, "request_class"),
            (SpendGroup::AgentType, "agent_type"),
        ];
        let mut compared = 0;
        for zone in ["Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Australia/Eucla", "UTC"] {
            let dashboard =
                super::super::Dashboard::with_zone(path.clone(), PriceTable::builtin(), TimeZone::get(zone).unwrap());
            for (first, last) in
                [("2025-11-26", "2025-11-29"), ("2025-11-28", "2025-11-28"), ("2025-11-24", "2025-12-02")]
            {
                for (by, column) in groups {
                    let report = dashboard.spend(&SpendQuery { range: range(first, last), by }).unwrap();
                    type Sums = std::collections::BTreeMap<Option<String>, (u64, i64)>;
                    let rolled: Sums = report
                        .rows
                        .iter()
                        .map(|row| {
                            let nusd = (row.totals.cost_usd.unwrap_or(0.0) * 1e9).round() as i64;
                            (row.key.clone(), (row.totals.requests, nusd))
                        })
                        .collect();
                    let direct: Sums = conn
                        .prepare(&format!(
                            "SELECT n.value, COUNT(*), COALESCE(SUM(CAST(round(r.cost_usd * 1e9) AS INTEGER)), 0)
                             FROM requests r LEFT JOIN names n ON n.id = r.{column}
                             WHERE r.ts_unix_ms >= ?1 AND r.ts_unix_ms < ?2 GROUP BY 1"
                        ))
                        .unwrap()
                        .query_map([report.since_ms, report.until_ms], |row| {
                            Ok((row.get(0)?, (row.get(1)?, row.get(2)?)))
                        })
                        .unwrap()
                        .collect::<rusqlite::Result<_>>()
                        .unwrap();
                    assert_eq!(rolled, direct, "{zone} {first}..{last} by {column}");
                    compared += direct.values().map(|sums| sums.0).sum::<u64>();
                }
            }
            for hour in [0, 7, 13] {
                let overview = dashboard.overview_at(end.as_millisecond() - 2 * 86_400_000 + hour * 3_600_000).unwrap();
                let by_class: u64 = overview.by_class_today.iter().map(|kind| kind.totals.requests).sum();
                assert_eq!(by_class, overview.today.requests, "{zone}, today's kinds add up to today");
                assert!(overview.today.requests > 0);
            }
        }
        assert!(compared > 10_000, "the ranges cover rows");
    }

    #[test]
    fn the_rollup_follows_inserts_updates_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let conn = testing::create(&dir.path().join("ledger.sqlite3"));
        let base = ms("2026-11-10T12:00:00Z");
        let models = ["claude-sonnet-4-5", "claude-opus-4-5", "mystery-model"];
        let projects = [Some("/p/a"), Some("/p/b"), None];
        let mut ids = Vec::new();
        for i in 0..300i64 {
            let row = Row {
                model: models[(i % 3) as usize],
                project: projects[(i % 5 % 3) as usize],
                session: if i % 7 == 0 { None } else { Some("s-1") },
                request_class: [Some("main"), Some("subagent"), None][(i % 4 % 3) as usize],
                agent_type: if i % 4 == 1 { Some("Explore") } else { None },
                cost: if i % 3 == 2 { None } else { Some(i as f64 * 0.000_123_456_789) },
                source: i % 11 / 10,
                input: i * 3,
                cache_read: i * 1000,
                flags: if i % 4 == 0 { crate::ledger::flags::BILLED | 4 } else { 4 },
                // Over three UTC days, for the day level.
                ..Row::at(base + i * 797_000)
            };
            ids.push(row.insert(&conn));
        }
        conn.execute("DELETE FROM requests WHERE id % 13 = 0", []).unwrap();
        conn.execute(
            "UPDATE requests SET id = id + (3600000 << 10), cost_usd = 0.5, input_tokens = 7 WHERE id % 17 = 0",
            [],
        )
        .unwrap();
        conn.execute("UPDATE requests SET source = 0 WHERE id % 19 = 0", []).unwrap();
        // A request's billed flag set, and cleared, after the fact.
        conn.execute("UPDATE requests SET flags = flags | 256 WHERE id % 23 = 0", []).unwrap();
        conn.execute("UPDATE requests SET flags = flags & ~256 WHERE id % 29 = 0", []).unwrap();
        // A transcript row replaced by the gateway's billed one, as the writer does.
        let transcript: i64 = conn
            .query_row("SELECT id FROM requests WHERE source = 1 AND cost_usd IS NOT NULL LIMIT 1", [], |r| r.get(0))
            .unwrap();
        let replaced: f64 =
            conn.query_row("SELECT cost_usd FROM requests WHERE id = ?1", [transcript], |r| r.get(0)).unwrap();
        conn.execute("DELETE FROM requests WHERE id = ?1", [transcript]).unwrap();
        Row { cost: Some(replaced), flags: crate::ledger::flags::BILLED, ..Row::at(transcript >> 10) }.insert(&conn);
        type Cell = (i64, i64, i64, i64, i64, i64, i64);
        let direct = |dim_key: &str, source: &str, slot_ms: i64| -> Vec<Cell> {
            conn.prepare(&format!(
                "SELECT ts_unix_ms / {slot_ms}, {dim_key}, model, COUNT(*), SUM(cost_usd IS NULL),
                    COALESCE(SUM(CAST(round(cost_usd * 1e9) AS INTEGER)), 0) + SUM(input_tokens) * 1000000000000
                    + SUM(cache_read_tokens) + {source} * 7,
                    SUM((flags & 256) != 0) * 1000000000000
                    + COALESCE(SUM(CASE WHEN flags & 256 THEN CAST(round(cost_usd * 1e9) AS INTEGER) END), 0)
                 FROM requests GROUP BY 1, 2, 3, {source} ORDER BY 1, 2, 3, 6"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        let rolled = |dim: i64, key: &str| -> Vec<Cell> {
            conn.prepare(&format!(
                "SELECT slot, {key}, model, requests, unpriced,
                    cost_nusd + input_tokens * 1000000000000 + cache_read_tokens + source * 7,
                    billed_requests * 1000000000000 + billed_nusd
                 FROM spend_rollup WHERE dim = {dim} ORDER BY 1, 2, 3, 6"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        let billed: i64 =
            conn.query_row("SELECT SUM(billed_requests) FROM spend_rollup WHERE dim = 0", [], |r| r.get(0)).unwrap();
        assert!(billed > 50, "billed rows are counted: {billed}");
        use super::super::rollup::SLOT_MS;
        const DAY_MS: i64 = 86_400_000;
        const HOUR_MS: i64 = 3_600_000;
        assert_eq!(rolled(0, "0"), direct("0", "source", SLOT_MS));
        for (dim, key) in [(1, "project"), (2, "session"), (3, "client")] {
            let column = format!("COALESCE({key}, 0)");
            assert_eq!(rolled(dim, "key"), direct(&column, "(0 * source)", HOUR_MS), "{key} by hour");
            let days = rolled(dim + 10, "key");
            assert_eq!(days, direct(&column, "(0 * source)", DAY_MS), "{key} by day");
            assert!(days.iter().map(|cell| cell.0).collect::<std::collections::BTreeSet<_>>().len() >= 3);
        }
        let class = "COALESCE(request_class, 0) * 100000 + COALESCE(agent_type, 0)";
        assert_eq!(rolled(4, "key * 100000 + key2"), direct(class, "(0 * source)", HOUR_MS));
        assert_eq!(rolled(14, "key * 100000 + key2"), direct(class, "(0 * source)", DAY_MS));
        conn.execute("DELETE FROM requests", []).unwrap();
        let left: i64 = conn.query_row("SELECT COUNT(*) FROM spend_rollup", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 0, "an emptied cell is removed");
    }

    #[test]
    fn the_export_has_the_tables_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let dashboard = dashboard(dir.path(), "UTC");
        let conn = testing::create(dashboard.ledger_path());
        let base = ms("2026-11-10T12:00:00Z");
        Row { cost: Some(0.125), ..Row::at(base) }.insert(&conn);
        Row { model: "mystery-model", cost: None, project: Some("/p/x,\"y\""), ..Row::at(base + 1) }.insert(&conn);
        let query = SpendQuery { range: range("2026-11-10", "2026-11-10"), by: SpendGroup::Project };
        let report = dashboard.spend(&query).unwrap();
        let csv = dashboard.spend_export(&query, ExportFormat::Csv).unwrap();
        assert_eq!(csv.file_name, "gatehouse-spend-project-2026-11-10-2026-11-10.csv");
        let mut reader = csv::Reader::from_reader(csv.contents.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), report.rows.len() + 1);
        for (record, row) in records.iter().zip(&report.rows) {
            assert_eq!(&record[1], row.key.as_deref().unwrap_or(""));
            assert_eq!(record[2].parse::<u64>().unwrap(), row.totals.requests);
            match row.totals.cost_usd {
                Some(cost) => assert!((record[3].parse::<f64>().unwrap() - cost).abs() < 1e-6),
                None => assert_eq!(&record[3], "", "an unknown cost is empty, never 0"),
            }
        }
        assert_eq!(&records[2][0], "total");
        assert_eq!(&records[2][3], "0.125000");
        let json = dashboard.spend_export(&query, ExportFormat::Json).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json.contents).unwrap();
        assert_eq!(value["rows"], serde_json::to_value(&report.rows).unwrap());
        assert_eq!(value["total"]["cost_usd"], 0.125);

        let mut saved = csv.clone();
        save_export(dir.path(), &mut saved).unwrap();
        let mut again = csv.clone();
        save_export(dir.path(), &mut again).unwrap();
        assert_ne!(saved.path, again.path, "an export never replaces a file");
        assert_eq!(std::fs::read_to_string(again.path.unwrap()).unwrap(), csv.contents);
    }
}
