//! When a budget deserves a notification: at 80% and at 100% of it, once
//! per budget and period.
//!
//! The app reads the budgets from the gateway's `/status` at every refresh.
//! [`BudgetAlerts`] remembers, per budget and period (the first day it
//! counts from), the highest threshold already notified, and is saved in
//! the state directory, so that neither a refresh nor a restarted app
//! notifies the same crossing twice. A new period starts from nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::notice::{Notice, Opens};
use crate::gateway::{BudgetScope, BudgetStatus, Period};

/// The share of a budget, in percent, at which the user hears of it.
const THRESHOLDS: [u32; 2] = [80, 100];

/// The highest threshold notified, per budget and period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct BudgetAlerts {
    notified: BTreeMap<String, u32>,
}

impl BudgetAlerts {
    /// The saved state; empty when there is none or it cannot be read (at
    /// worst a crossing is notified once more).
    pub(crate) fn load(path: &Path) -> BudgetAlerts {
        std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fs_atomic::write_private(path, &json)
    }

    /// Takes in the budgets as the gateway reports them and returns what to
    /// notify: for each budget, the highest threshold newly crossed. No
    /// budgets (no gateway answers) changes nothing.
    pub(crate) fn observe(&mut self, budgets: &[BudgetStatus]) -> Vec<Notice> {
        if budgets.is_empty() {
            return Vec::new();
        }
        let mut notices = Vec::new();
        let mut current = BTreeMap::new();
        for budget in budgets {
            let key = format!("{:?}:{}:{:?}:{}", budget.scope, budget.name, budget.period, budget.since);
            let before = self.notified.get(&key).copied().unwrap_or(0);
            let reached = THRESHOLDS.iter().copied().filter(|&threshold| share(budget) >= threshold).max().unwrap_or(0);
            if reached > before {
                notices.push(notice(budget, reached));
            }
            current.insert(key, reached.max(before));
        }
        // Past periods and removed budgets can notify nothing more.
        self.notified = current;
        notices
    }
}

/// How much of the budget is spent, in whole percent (rounded down, so 80%
/// means at least 80%).
fn share(budget: &BudgetStatus) -> u32 {
    if budget.limit_usd <= 0.0 {
        return 100;
    }
    ((budget.spent_usd / budget.limit_usd) * 100.0 + 1e-9).floor().clamp(0.0, 1000.0) as u32
}

fn notice(budget: &BudgetStatus, reached: u32) -> Notice {
    let period = match budget.period {
        Period::Day => "today",
        Period::Month => "this month",
    };
    let spent = format!("{} spent {period}", budget.spent_of_limit());
    let resets = reset_time(&budget.resets_at);
    let what = match budget.scope {
        BudgetScope::Upstream => format!("requests pass over {}", budget.name),
        BudgetScope::Key => format!("billed requests with key {} stop", budget.name),
    };
    if reached >= 100 {
        Notice {
            opens: Opens::Spend,
            title: format!("{} is used up", budget.title()),
            body: format!("{spent}. Until it resets {resets}, {what}; with no other upstream left they are refused."),
        }
    } else {
        Notice {
            opens: Opens::Spend,
            title: format!("{reached}% of {} used", budget.title()),
            body: format!("{spent}. At the limit, {what} until it resets {resets}."),
        }
    }
}

/// "at midnight" / "on 1 Jan" for an RFC 3339 reset time, in local time.
fn reset_time(resets_at: &str) -> String {
    let Ok(at) = resets_at.parse::<jiff::Timestamp>() else { return "at the end of the period".to_string() };
    let zone = jiff::tz::TimeZone::system();
    let at = at.to_zoned(zone.clone());
    let tomorrow = jiff::Timestamp::now().to_zoned(zone).date().tomorrow().ok();
    if Some(at.date()) == tomorrow { "at midnight".to_string() } else { at.strftime("on %-d %b").to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(spent: f64, since: &str) -> BudgetStatus {
        BudgetStatus {
            scope: BudgetScope::Upstream,
            name: "openrouter".to_string(),
            period: Period::Day,
            since: since.to_string(),
            limit_usd: 5.0,
            spent_usd: spent,
            resets_at: "2026-12-04T00:00:00Z".to_string(),
        }
    }

    fn titles(notices: Vec<Notice>) -> Vec<String> {
        notices.into_iter().map(|notice| notice.title).collect()
    }

    #[test]
    fn each_threshold_is_notified_once_per_period() {
        let mut alerts = BudgetAlerts::default();
        assert!(alerts.observe(&[budget(3.99, "2026-12-03")]).is_empty());
        assert_eq!(titles(alerts.observe(&[budget(4.0, "2026-12-03")])), ["80% of openrouter's daily budget used"]);
        assert!(alerts.observe(&[budget(4.5, "2026-12-03")]).is_empty(), "once, not per refresh");
        let used_up = alerts.observe(&[budget(5.02, "2026-12-03")]);
        assert_eq!(used_up[0].title, "openrouter's daily budget is used up");
        assert!(used_up[0].body.starts_with("$5.02 of $5.00 spent today."), "{}", used_up[0].body);
        assert!(alerts.observe(&[budget(5.5, "2026-12-03")]).is_empty());
        // The next day is a new period.
        assert!(alerts.observe(&[budget(0.0, "2026-12-04")]).is_empty());
        assert_eq!(titles(alerts.observe(&[budget(4.2, "2026-12-04")])), ["80% of openrouter's daily budget used"]);
    }

    #[test]
    fn a_jump_past_both_thresholds_is_one_notice_and_the_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget-alerts.json");
        let mut alerts = BudgetAlerts::load(&path);
        assert_eq!(titles(alerts.observe(&[budget(6.0, "2026-12-03")])), ["openrouter's daily budget is used up"]);
        alerts.save(&path).unwrap();
        let mut restarted = BudgetAlerts::load(&path);
        assert!(restarted.observe(&[budget(6.0, "2026-12-03")]).is_empty());
        assert!(restarted.observe(&[]).is_empty(), "no gateway: nothing changes");
        assert_eq!(restarted, alerts);
    }

    #[test]
    fn a_key_budget_says_what_stops() {
        let mut alerts = BudgetAlerts::default();
        let key = BudgetStatus {
            scope: BudgetScope::Key,
            name: "ci".to_string(),
            period: Period::Month,
            ..budget(4.0, "2026-12-01")
        };
        let notices = alerts.observe(&[key]);
        assert_eq!(notices[0].title, "80% of key ci's monthly budget used");
        assert!(notices[0].body.contains("billed requests with key ci stop"), "{}", notices[0].body);
    }
}
