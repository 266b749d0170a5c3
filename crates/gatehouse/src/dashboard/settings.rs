//! The Settings page: the gateway's port, the fail-open timeout, the
//! notification thresholds, price overrides and the data folder, read from
//! and written to `config.toml`. A change is checked as the gateway would
//! check it, and refused with a message per field before anything is written.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// When the app notifies about the subscription windows (`[notifications]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NotificationSettings {
    /// Percentages, strictly increasing, each 1..=100; empty: no threshold notices.
    pub window_thresholds: Vec<u8>,
    /// Notify when a window is at 100% (rejected), with its reset time.
    pub window_rejected: bool,
    /// Notify when a window that was over a threshold resets.
    pub window_reset: bool,
}

/// A model's price override, in US dollars per million tokens
/// (`[pricing.models."name"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PriceOverride {
    pub model: String,
    pub input: f64,
    pub output: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
}

/// What the Settings page shows and saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SettingsForm {
    pub port: u16,
    /// Seconds the gateway may be unhealthy before Claude Code is pointed
    /// back at Anthropic directly.
    pub fail_open_after_secs: u64,
    pub notifications: NotificationSettings,
    pub price_overrides: Vec<PriceOverride>,
}

/// The Settings page (`settings_get`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SettingsView {
    pub form: SettingsForm,
    /// Where Gatehouse keeps its data (ledger, state), to show and open.
    pub data_dir: String,
    pub config_file: String,
    /// `config.toml` cannot be read now: the form shows the defaults, and
    /// saving replaces nothing until the file is fixed by hand.
    pub config_error: Option<String>,
}

/// One thing wrong with a change, by field: `port`, `fail_open_after_secs`,
/// `notifications.window_thresholds`, `price_overrides.<model>.input`, ….
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// What `settings_save` did: saved, or the problems that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SaveOutcome {
    pub saved: bool,
    pub problems: Vec<FieldProblem>,
    /// A change that takes effect only once the gateway restarts (the port).
    pub restart_needed: bool,
}
