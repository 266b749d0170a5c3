//! The Overview page: spend today, over 7 and 30 days, what caching saved,
//! how much went through the gateway, what each kind of request cost, and
//! every subscription window as it stands.

use serde::Serialize;
use ts_rs::TS;

use super::spend::SpendTotals;
use super::windows::WindowNow;

/// How many of a range's requests the gateway saw, against those imported
/// from Claude Code's transcripts (the `source` column).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct CoverageView {
    pub gateway_requests: u64,
    pub imported_requests: u64,
    /// gateway / (gateway + imported), 0..1; `null` when there is no request.
    pub gateway_share: Option<f64>,
}

/// One kind of request today: its class and agent type, and its part of the day.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ClassShare {
    /// `main`, `subagent`, `compaction`, …; `null` when Claude Code did not say.
    pub request_class: Option<String>,
    /// `Explore`, …; `null` when Claude Code did not say.
    pub agent_type: Option<String>,
    /// "Subagent (Explore)", "Main", "Compaction", "Unclassified".
    pub label: String,
    #[serde(flatten)]
    pub totals: SpendTotals,
    /// This kind's part of the day's priced cost, 0..1; `null` when the day
    /// has no priced cost.
    pub share_of_cost: Option<f64>,
}

/// The Overview page. The gateway's state, Claude Code's and the login come
/// with the `state` event (`View`), as for the tray.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Overview {
    /// Today's local date, `YYYY-MM-DD`: the Spend page's default range ends here.
    pub today_date: String,
    /// Since local midnight.
    pub today: SpendTotals,
    /// The last 7 and 30 local days, today included.
    pub last_7_days: SpendTotals,
    pub last_30_days: SpendTotals,
    /// Over the last 7 days.
    pub coverage_7d: CoverageView,
    /// Today's requests by class and agent type, dearest first.
    pub by_class_today: Vec<ClassShare>,
    /// Every subscription window, 5-hour and weekly first, from the ledger's
    /// latest readings (so they show while the gateway is stopped too).
    pub windows: Vec<WindowNow>,
    /// The ledger's version (0 when empty), which grows with each row
    /// recorded: the `ledger` event carries the same number.
    pub ledger_version: i64,
}

/// What people call a kind of request.
fn class_label(class: Option<&str>, agent: Option<&str>) -> String {
    let class = match class {
        None => "Unclassified".to_string(),
        Some(class) => {
            let mut chars = class.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    };
    match agent {
        Some(agent) => format!("{class} ({agent})"),
        None => class,
    }
}

impl super::Dashboard {
    /// The Overview page.
    pub fn overview(&self) -> Result<Overview, super::DashboardError> {
        self.overview_at(jiff::Timestamp::now().as_millisecond())
    }

    pub(crate) fn overview_at(&self, now_ms: i64) -> Result<Overview, super::DashboardError> {
        use super::rollup::{SLOT_MS, dim};
        use super::spend::{Acc, CELL_COLUMNS, Names, Savings};
        let today = jiff::Timestamp::from_millisecond(now_ms)
            .map(|ts| ts.to_zoned(self.zone.clone()).date())
            .unwrap_or_else(|_| super::days::today(&self.zone));
        let span = |days: i64| today.checked_sub(jiff::Span::new().days(days - 1)).unwrap_or(today);
        let month = super::days::between(&self.zone, span(30), today)?;
        let start_of = |days: usize| month[month.len() - days].start_ms;
        let (today_ms, week_ms, month_ms, until_ms) = (start_of(1), start_of(7), start_of(30), month[29].end_ms);
        let mut overview = Overview {
            today_date: today.to_string(),
            today: SpendTotals::default(),
            last_7_days: SpendTotals::default(),
            last_30_days: SpendTotals::default(),
            coverage_7d: CoverageView::default(),
            by_class_today: Vec::new(),
            windows: Vec::new(),
            ledger_version: 0,
        };
        let Some(conn) = self.read()? else { return Ok(overview) };
        let run = |overview: &mut Overview| -> rusqlite::Result<()> {
            let slot = |ms: i64| ms.div_euclid(SLOT_MS);
            let mut statement = conn.prepare_cached(&format!(
                "SELECT slot, model, source, {CELL_COLUMNS} FROM spend_rollup WHERE dim = ?1 AND slot >= ?2 AND slot < ?3"
            ))?;
            let cells = statement
                .query_map(rusqlite::params![dim::ALL, slot(month_ms), slot(until_ms)], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?, Acc::cell(row, 3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            // Today's hours, and its partial hour's requests in a zone with
            // a :30 or :45 offset.
            let classes: Vec<(i64, i64, i64, Acc)> = super::spend::cells(&conn, dim::CLASS, today_ms, until_ms, false)?
                .into_iter()
                .map(|cell| (cell.key, cell.key2, cell.model, cell.sums))
                .collect();
            let names =
                Names::load(&conn, cells.iter().map(|c| c.1).chain(classes.iter().flat_map(|c| [c.0, c.1, c.2])))?;
            let mut savings = Savings::new(&self.prices);
            let (mut day, mut week, mut all) = (Acc::default(), Acc::default(), Acc::default());
            let mut coverage = CoverageView::default();
            for (slot, model, source, sums) in &cells {
                let per_token = savings.per_token(*model, &names);
                let start = slot * SLOT_MS;
                all.add(sums, per_token);
                if start >= week_ms {
                    week.add(sums, per_token);
                    let requests = u64::try_from(sums.requests).unwrap_or(0);
                    if *source == 1 {
                        coverage.imported_requests += requests;
                    } else {
                        coverage.gateway_requests += requests;
                    }
                }
                if start >= today_ms {
                    day.add(sums, per_token);
                }
            }
            let seen = coverage.gateway_requests + coverage.imported_requests;
            coverage.gateway_share = (seen > 0).then(|| coverage.gateway_requests as f64 / seen as f64);
            let mut kinds: std::collections::BTreeMap<(i64, i64), Acc> = Default::default();
            for (class, agent, model, sums) in &classes {
                kinds.entry((*class, *agent)).or_default().add(sums, savings.per_token(*model, &names));
            }
            let day_cost = day.totals().cost_usd.filter(|cost| *cost > 0.0);
            overview.by_class_today = kinds
                .iter()
                .map(|((class, agent), acc)| {
                    let totals = acc.totals();
                    let (class, agent) = (names.get(*class).map(str::to_string), names.get(*agent).map(str::to_string));
                    ClassShare {
                        label: class_label(class.as_deref(), agent.as_deref()),
                        request_class: class,
                        agent_type: agent,
                        share_of_cost: day_cost.map(|day| totals.cost_usd.unwrap_or(0.0) / day),
                        totals,
                    }
                })
                .collect();
            overview.by_class_today.sort_by(|a, b| {
                b.totals
                    .cost_usd
                    .unwrap_or(-1.0)
                    .total_cmp(&a.totals.cost_usd.unwrap_or(-1.0))
                    .then(b.totals.requests.cmp(&a.totals.requests))
            });
            (overview.today, overview.last_7_days, overview.last_30_days) = (day.totals(), week.totals(), all.totals());
            overview.coverage_7d = coverage;
            overview.windows = super::windows::current(&conn, now_ms)?;
            overview.ledger_version = super::requests::feed_version(&conn)?;
            Ok(())
        };
        run(&mut overview).map_err(|source| self.error(source))?;
        Ok(overview)
    }
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;

    use super::super::Dashboard;
    use super::super::testing::{self, Row, reading};
    use crate::pricing::PriceTable;

    const DAY: i64 = 86_400_000;

    #[test]
    fn the_overview_sums_today_the_week_and_the_month_with_coverage_and_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let zone = TimeZone::get("America/New_York").unwrap();
        let dashboard = Dashboard::with_zone(dir.path().join("ledger.sqlite3"), PriceTable::builtin(), zone);
        // 2026-11-10 15:00 in New York (UTC-5).
        let now: i64 = "2026-11-10T20:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let empty = dashboard.overview_at(now).unwrap();
        assert_eq!((empty.today.requests, empty.today.cost_usd, empty.ledger_version), (0, Some(0.0), 0));
        assert_eq!(
            (empty.last_7_days.cost_usd, empty.last_30_days.cost_usd),
            (Some(0.0), Some(0.0)),
            "nothing costs $0"
        );
        assert_eq!(empty.today_date, "2026-11-10");
        let conn = testing::create(dashboard.ledger_path());
        // Today (local): two main requests, a subagent, and an imported one.
        Row { cost: Some(0.30), cache_read: 1_000_000, ..Row::at(now - 3_600_000) }.insert(&conn);
        Row { cost: Some(0.10), flags: crate::ledger::flags::BILLED, ..Row::at(now - 60_000) }.insert(&conn);
        Row {
            cost: Some(0.60),
            request_class: Some("subagent"),
            agent_type: Some("Explore"),
            ..Row::at(now - 120_000)
        }
        .insert(&conn);
        Row { source: 1, client: None, request_class: None, cost: Some(1.0), ..Row::at(now - 7_200_000) }.insert(&conn);
        // 19:30 local yesterday is 00:30 UTC today: yesterday, locally.
        let yesterday = "2026-11-10T00:30:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        Row { cost: Some(5.0), ..Row::at(yesterday) }.insert(&conn);
        Row { cost: Some(7.0), flags: crate::ledger::flags::BILLED, ..Row::at(now - 10 * DAY) }.insert(&conn);
        Row { cost: Some(11.0), ..Row::at(now - 40 * DAY) }.insert(&conn);
        let last = Row { model: "mystery-model", cost: None, ..Row::at(now - 3 * DAY) }.insert(&conn);
        reading(&conn, last, "5h", (now + 3_600_000) / 1000, 0.25, None, None);

        let overview = dashboard.overview_at(now).unwrap();
        assert_eq!(overview.today.requests, 4);
        assert!((overview.today.cost_usd.unwrap() - 2.0).abs() < 1e-9);
        // The $0.10 request was billed; the rest, the imported one included, is subscription-equivalent.
        assert_eq!((overview.today.billed_usd, overview.today.subscription_usd), (Some(0.1), Some(1.9)));
        assert_eq!(overview.today.billed_requests, 1);
        assert_eq!((overview.last_7_days.billed_usd, overview.last_30_days.billed_usd), (Some(0.1), Some(7.1)));
        assert!((overview.today.cache_savings_usd.unwrap() - 2.7).abs() < 1e-9, "{:?}", overview.today);
        assert_eq!((overview.last_7_days.requests, overview.last_7_days.unpriced_requests), (6, 1));
        assert!((overview.last_7_days.cost_usd.unwrap() - 7.0).abs() < 1e-9);
        assert_eq!(overview.last_30_days.requests, 7);
        assert_eq!(overview.coverage_7d.gateway_requests, 5);
        assert_eq!(overview.coverage_7d.imported_requests, 1);
        assert!((overview.coverage_7d.gateway_share.unwrap() - 5.0 / 6.0).abs() < 1e-12);
        let kinds: Vec<(&str, f64)> =
            overview.by_class_today.iter().map(|k| (k.label.as_str(), k.share_of_cost.unwrap())).collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert_eq!(kinds[0].0, "Unclassified");
        assert!((kinds[0].1 - 0.5).abs() < 1e-9);
        assert_eq!(kinds[1].0, "Subagent (Explore)");
        assert!((kinds[1].1 - 0.3).abs() < 1e-9, "subagents cost 30% of today");
        assert!((kinds.iter().map(|k| k.1).sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(overview.windows.len(), 1);
        assert_eq!(overview.windows[0].utilization, Some(0.25));
        assert_eq!(overview.ledger_version, 8, "the `ledger` event's version: one per row recorded");
    }
}
