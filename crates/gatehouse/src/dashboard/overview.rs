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
    /// The ledger's newest request id (0 when empty): the `ledger` event
    /// carries the same number.
    pub ledger_version: i64,
}
