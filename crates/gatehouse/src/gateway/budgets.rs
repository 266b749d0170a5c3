//! Budgets: caps on billed dollars per local day and per calendar month,
//! for one upstream or one gateway key (`[[budgets]]`).
//!
//! Checking a budget reads a running meter in memory, never the disk. The
//! meter starts from the ledger's billed rows of the current day and month
//! when the gateway starts, and each billed request adds its cost when its
//! response ends (see [`super::meter`]). A period that has ended starts
//! again from zero at the next check.
//!
//! A request is let through while the spend is below the cap, and its cost
//! is only known when it ends, so the spend can pass a cap by the requests
//! already in flight when it was reached: at most one request per client
//! connection (HTTP/1.1 carries one request at a time), each costing what
//! its own response costs. Requests that arrive after the cap was reached
//! never pass it.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _, Zoned};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::ledger::flags;

/// Nano-dollars per dollar: costs are summed as integers, so that adding
/// many small costs stays exact.
const NANOS_PER_USD: f64 = 1e9;

/// What a budget caps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// The billed spend served by this upstream.
    Upstream(Arc<str>),
    /// The billed spend of the requests made with this gateway key.
    Key(Arc<str>),
}

/// The period a budget counts over, in the local time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Period {
    Day,
    Month,
}

impl Period {
    /// The first day of the period that `today` is in.
    fn start(self, today: Date) -> Date {
        match self {
            Period::Day => today,
            Period::Month => today.first_of_month(),
        }
    }

    /// The first day of the next period.
    fn next(self, start: Date) -> Date {
        match self {
            Period::Day => start.tomorrow().unwrap_or(start),
            Period::Month => start.checked_add(1.month()).unwrap_or(start),
        }
    }

    fn adjective(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Month => "monthly",
        }
    }
}

/// One cap: a scope, a period and a limit, with the spend so far.
struct Cap {
    scope: Scope,
    period: Period,
    limit_nanos: u64,
    spent: Mutex<Spent>,
}

/// The spend of a cap's current period.
#[derive(Debug, Clone, Copy)]
struct Spent {
    /// The first day of the period counted.
    since: Date,
    nanos: u64,
}

impl Cap {
    fn applies(&self, upstream: &str, client: &str) -> bool {
        match &self.scope {
            Scope::Upstream(name) => &**name == upstream,
            Scope::Key(name) => &**name == client,
        }
    }

    /// The spend of the period `today` is in; an ended period counts as zero.
    fn current(&self, today: Date) -> Spent {
        let mut spent = self.spent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let since = self.period.start(today);
        if spent.since != since {
            *spent = Spent { since, nanos: 0 };
        }
        *spent
    }

    fn add(&self, today: Date, nanos: u64) {
        let mut spent = self.spent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let since = self.period.start(today);
        if spent.since != since {
            *spent = Spent { since, nanos: 0 };
        }
        spent.nanos = spent.nanos.saturating_add(nanos);
    }

    /// "upstream `openrouter`'s daily budget of $5.00".
    fn describe(&self) -> String {
        let limit = dollars(self.limit_nanos as f64 / NANOS_PER_USD, self.limit_nanos as f64 / NANOS_PER_USD);
        match &self.scope {
            Scope::Upstream(name) => format!("upstream `{name}`'s {} budget of {limit}", self.period.adjective()),
            Scope::Key(name) => format!("gateway key `{name}`'s {} budget of {limit}", self.period.adjective()),
        }
    }

    fn status(&self, zone: &TimeZone, today: Date) -> BudgetStatus {
        let spent = self.current(today);
        let (kind, name) = match &self.scope {
            Scope::Upstream(name) => (BudgetScope::Upstream, name.to_string()),
            Scope::Key(name) => (BudgetScope::Key, name.to_string()),
        };
        BudgetStatus {
            scope: kind,
            name,
            period: self.period,
            since: spent.since.to_string(),
            limit_usd: self.limit_nanos as f64 / NANOS_PER_USD,
            spent_usd: spent.nanos as f64 / NANOS_PER_USD,
            resets_at: midnight(zone, self.period.next(spent.since)),
        }
    }
}

/// The budgets of the config, with their running spend.
pub(crate) struct Budgets {
    caps: Vec<Cap>,
    zone: TimeZone,
}

/// A billed request refused because a budget that covers it is used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exhausted {
    /// "upstream `openrouter`'s daily budget of $5.00 is used up ($5.02 spent); it resets at 00:00"
    pub(crate) message: String,
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Budgets {
    /// The config's budgets, in the system's time zone, each starting from
    /// the billed spend the ledger at `ledger` holds for its current period.
    pub(crate) fn from_config(config: &Config, ledger: &Path) -> Budgets {
        Budgets::new(config, TimeZone::system(), ledger)
    }

    fn new(config: &Config, zone: TimeZone, ledger: &Path) -> Budgets {
        let today = Timestamp::now().to_zoned(zone.clone()).date();
        let mut caps = Vec::new();
        for budget in &config.budgets {
            let scope = match (&budget.upstream, &budget.key) {
                (Some(upstream), _) => Scope::Upstream(Arc::from(upstream.as_str())),
                (None, Some(key)) => Scope::Key(Arc::from(key.as_str())),
                (None, None) => continue,
            };
            for (period, usd) in [(Period::Day, budget.daily_usd), (Period::Month, budget.monthly_usd)] {
                if let Some(usd) = usd {
                    caps.push(Cap {
                        scope: scope.clone(),
                        period,
                        limit_nanos: nanos(usd),
                        spent: Mutex::new(Spent { since: period.start(today), nanos: 0 }),
                    });
                }
            }
        }
        let budgets = Budgets { caps, zone };
        if !budgets.caps.is_empty()
            && let Err(error) = budgets.load(ledger, today)
        {
            tracing::warn!(
                "cannot read this period's billed spend from the ledger {}; the budgets count from zero: {error}",
                ledger.display()
            );
        }
        budgets
    }

    /// Adds the billed rows of the ledger since the start of the current
    /// month (which holds the current day) to the caps they fall under: a
    /// range of the ledger's time-ordered key.
    fn load(&self, ledger: &Path, today: Date) -> rusqlite::Result<()> {
        let Some(conn) = crate::ledger::open_read_only(ledger)? else { return Ok(()) };
        let month_start = midnight_ms(&self.zone, Period::Month.start(today));
        let day_start = midnight_ms(&self.zone, today);
        let mut statement = conn.prepare(
            "SELECT upstream.value, client.value, r.cost_usd, r.ts_unix_ms FROM requests r
             JOIN names upstream ON upstream.id = r.upstream JOIN names client ON client.id = r.client
             WHERE r.id >= ?1 AND r.flags & ?2 != 0 AND r.cost_usd IS NOT NULL",
        )?;
        let rows = statement.query_map(rusqlite::params![crate::ledger::id_at(month_start), flags::BILLED], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, f64>(2)?, row.get::<_, i64>(3)?))
        })?;
        for row in rows {
            let (upstream, client, cost, at) = row?;
            for cap in self.caps.iter().filter(|cap| cap.applies(&upstream, &client)) {
                if cap.period == Period::Month || at >= day_start {
                    cap.add(today, nanos(cost));
                }
            }
        }
        Ok(())
    }

    fn today(&self) -> Date {
        Timestamp::now().to_zoned(self.zone.clone()).date()
    }

    /// Whether a request of `client` served by `upstream`, if billed, is
    /// counted by any budget: only then is its cost worked out when it ends.
    #[inline]
    pub(crate) fn covers(&self, upstream: &str, client: &str) -> bool {
        !self.caps.is_empty() && self.caps.iter().any(|cap| cap.applies(upstream, client))
    }

    /// Whether a billed request of `client` may go to `upstream`: `Err`
    /// names the first budget covering it that is used up, and its reset.
    #[inline]
    pub(crate) fn check(&self, upstream: &str, client: &str) -> Result<(), Exhausted> {
        if self.caps.is_empty() {
            return Ok(());
        }
        let today = self.today();
        for cap in self.caps.iter().filter(|cap| cap.applies(upstream, client)) {
            let spent = cap.current(today);
            if spent.nanos >= cap.limit_nanos {
                let resets = local_reset(&self.zone, cap.period.next(spent.since));
                let limit = cap.limit_nanos as f64 / NANOS_PER_USD;
                let spent = dollars(spent.nanos as f64 / NANOS_PER_USD, limit);
                return Err(Exhausted {
                    message: format!("{} is used up ({spent} spent); it resets {resets}", cap.describe()),
                });
            }
        }
        Ok(())
    }

    /// Counts the cost of a billed request of `client` served by `upstream`.
    pub(crate) fn settle(&self, upstream: &str, client: &str, cost_usd: f64) {
        let today = self.today();
        for cap in self.caps.iter().filter(|cap| cap.applies(upstream, client)) {
            cap.add(today, nanos(cost_usd));
        }
    }

    /// Every budget and its spend so far, for `/status`.
    pub(crate) fn status(&self) -> Vec<BudgetStatus> {
        let today = self.today();
        self.caps.iter().map(|cap| cap.status(&self.zone, today)).collect()
    }
}

/// What a budget is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BudgetScope {
    Upstream,
    Key,
}

/// One budget in `/status`: how much of it is spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct BudgetStatus {
    pub scope: BudgetScope,
    /// The upstream's or the gateway key's name.
    pub name: String,
    pub period: Period,
    /// The first day of the current period (local, `2026-12-01`).
    pub since: String,
    pub limit_usd: f64,
    pub spent_usd: f64,
    /// When the period ends (RFC 3339).
    pub resets_at: String,
}

impl BudgetStatus {
    /// "$4.20 of $5.00", for people.
    pub fn spent_of_limit(&self) -> String {
        format!("{} of {}", dollars(self.spent_usd, self.limit_usd), dollars(self.limit_usd, self.limit_usd))
    }

    /// "openrouter's daily budget" / "key laptop's monthly budget", for people.
    pub fn title(&self) -> String {
        let period = match self.period {
            Period::Day => "daily",
            Period::Month => "monthly",
        };
        match self.scope {
            BudgetScope::Upstream => format!("{}'s {period} budget", self.name),
            BudgetScope::Key => format!("key {}'s {period} budget", self.name),
        }
    }
}

fn nanos(usd: f64) -> u64 {
    // Negative or NaN costs count as nothing; the config refuses such limits.
    (usd * NANOS_PER_USD).round().max(0.0) as u64
}

/// `$4.20` as part of a budget of `limit` dollars: to the cent, or to a
/// hundredth of a cent for a budget under a dollar.
fn dollars(usd: f64, limit: f64) -> String {
    if limit < 1.0 { format!("${usd:.4}") } else { format!("${usd:.2}") }
}

fn midnight_zoned(zone: &TimeZone, day: Date) -> Option<Zoned> {
    day.to_zoned(zone.clone()).ok()
}

/// The start of `day` in `zone`, in Unix ms.
fn midnight_ms(zone: &TimeZone, day: Date) -> i64 {
    midnight_zoned(zone, day).map_or(0, |at| at.timestamp().as_millisecond())
}

/// The start of `day` in `zone`, RFC 3339.
fn midnight(zone: &TimeZone, day: Date) -> String {
    midnight_zoned(zone, day).map(|at| at.timestamp().to_string()).unwrap_or_default()
}

/// "at midnight" / "on 2027-01-01 at midnight", for a reset on `day`.
fn local_reset(zone: &TimeZone, day: Date) -> String {
    let tomorrow = Timestamp::now().to_zoned(zone.clone()).date().tomorrow().ok();
    if Some(day) == tomorrow { "at midnight".to_string() } else { format!("on {day} at midnight") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BudgetConfig;

    fn config(budgets: Vec<BudgetConfig>) -> Config {
        Config { budgets, ..Config::default() }
    }

    fn budget(upstream: Option<&str>, key: Option<&str>, daily: Option<f64>, monthly: Option<f64>) -> BudgetConfig {
        BudgetConfig {
            upstream: upstream.map(str::to_string),
            key: key.map(str::to_string),
            daily_usd: daily,
            monthly_usd: monthly,
        }
    }

    fn nowhere() -> &'static Path {
        Path::new("/nonexistent/gatehouse/ledger.sqlite")
    }

    #[test]
    fn a_budget_refuses_once_its_spend_reaches_the_cap_and_names_itself() {
        let budgets = Budgets::new(
            &config(vec![budget(Some("openrouter"), None, Some(1.0), Some(10.0))]),
            TimeZone::UTC,
            nowhere(),
        );
        assert!(budgets.covers("openrouter", "laptop"));
        assert!(!budgets.covers("anthropic", "laptop"));
        budgets.settle("openrouter", "laptop", 0.6);
        assert_eq!(budgets.check("openrouter", "laptop"), Ok(()));
        budgets.settle("openrouter", "laptop", 0.4);
        let refused = budgets.check("openrouter", "laptop").unwrap_err().message;
        assert!(
            refused.starts_with("upstream `openrouter`'s daily budget of $1.00 is used up ($1.00 spent)"),
            "{refused}"
        );
        assert!(refused.ends_with("it resets at midnight"), "{refused}");
        // Another upstream is not capped by it.
        assert_eq!(budgets.check("anthropic", "laptop"), Ok(()));
        let status = budgets.status();
        assert_eq!(status.len(), 2);
        assert_eq!((status[0].period, status[0].spent_usd, status[0].limit_usd), (Period::Day, 1.0, 1.0));
        assert_eq!((status[1].period, status[1].spent_usd, status[1].limit_usd), (Period::Month, 1.0, 10.0));
        assert_eq!(status[0].title(), "openrouter's daily budget");
    }

    #[test]
    fn many_small_costs_add_up_exactly() {
        let budgets = Budgets::new(&config(vec![budget(None, Some("ci"), Some(0.3), None)]), TimeZone::UTC, nowhere());
        for _ in 0..2 {
            budgets.settle("anthropic", "ci", 0.1);
        }
        assert_eq!(budgets.check("anthropic", "ci"), Ok(()), "0.1 + 0.1 is below 0.3");
        budgets.settle("openrouter", "ci", 0.1);
        // 0.1 + 0.1 + 0.1 in floating point is 0.30000000000000004; in nano-dollars it is exactly the cap.
        let refused = budgets.check("openrouter", "ci").unwrap_err().message;
        assert!(
            refused.starts_with("gateway key `ci`'s daily budget of $0.3000 is used up ($0.3000 spent)"),
            "{refused}"
        );
        assert_eq!(budgets.check("openrouter", "laptop"), Ok(()), "another key is not capped");
    }

    #[test]
    fn an_ended_period_counts_from_zero() {
        let budgets = Budgets::new(
            &config(vec![budget(Some("openrouter"), None, Some(1.0), Some(1.0))]),
            TimeZone::UTC,
            nowhere(),
        );
        let cap = &budgets.caps[0];
        let yesterday = budgets.today().yesterday().unwrap();
        *cap.spent.lock().unwrap() = Spent { since: yesterday, nanos: 5_000_000_000 };
        assert_eq!(cap.current(budgets.today()).nanos, 0, "yesterday's spend is not today's");
        let last_month = budgets.today().first_of_month().yesterday().unwrap().first_of_month();
        *budgets.caps[1].spent.lock().unwrap() = Spent { since: last_month, nanos: 5_000_000_000 };
        assert_eq!(budgets.check("openrouter", "any"), Ok(()));
    }

    #[test]
    fn the_meter_starts_from_the_ledgers_billed_rows_of_the_period() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let conn = crate::ledger::open(&path).unwrap();
        let now = Timestamp::now().as_millisecond();
        let today_start = midnight_ms(&TimeZone::UTC, Timestamp::now().to_zoned(TimeZone::UTC).date());
        let month_start = midnight_ms(&TimeZone::UTC, Timestamp::now().to_zoned(TimeZone::UTC).date().first_of_month());
        let insert = |n: i64, at: i64, upstream: &str, client: &str, cost: f64, row_flags: i64| {
            for name in [upstream, client, "m"] {
                conn.execute("INSERT OR IGNORE INTO names (value) VALUES (?1)", [name]).unwrap();
            }
            conn.execute(
                "INSERT INTO requests (id, source, client, model, upstream, status, streamed, complete, input_tokens,
                     output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd, flags,
                     latency_us, price_version)
                 VALUES (?1, 0, (SELECT id FROM names WHERE value = ?2), (SELECT id FROM names WHERE value = 'm'),
                     (SELECT id FROM names WHERE value = ?3), 200, 0, 1, 1, 1, 0, 0, 0, ?4, ?5, 1,
                     (SELECT id FROM names WHERE value = 'm'))",
                rusqlite::params![crate::ledger::id_at(at) + n, client, upstream, cost, row_flags],
            )
            .unwrap();
        };
        insert(0, now, "openrouter", "laptop", 0.25, flags::BILLED);
        insert(1, now, "openrouter", "laptop", 9.0, 0); // not billed
        insert(2, now, "anthropic", "laptop", 0.5, flags::BILLED | flags::FAILOVER_QUOTA);
        insert(3, month_start - 1, "openrouter", "laptop", 100.0, flags::BILLED); // last month
        if today_start > month_start {
            insert(4, today_start - 1, "openrouter", "laptop", 2.0, flags::BILLED); // this month, not today
        }
        drop(conn);
        let budgets = Budgets::new(
            &config(vec![
                budget(Some("openrouter"), None, Some(10.0), Some(10.0)),
                budget(None, Some("laptop"), Some(10.0), None),
            ]),
            TimeZone::UTC,
            &path,
        );
        let spent: Vec<f64> = budgets.status().iter().map(|status| status.spent_usd).collect();
        let earlier_this_month = if today_start > month_start { 2.0 } else { 0.0 };
        assert_eq!(spent, [0.25, 0.25 + earlier_this_month, 0.75]);
    }
}
