//! What `configure` or `remove` would change in a Claude Code settings file,
//! shown before it happens: a unified diff of the file's text.
//!
//! The preview runs the same code that the change itself runs to build the
//! new document ([`super::settings_store`]'s planning step), on the file as
//! it is now, so the change writes exactly what the preview showed. The
//! gateway key is never shown: its value appears as [`HIDDEN_KEY`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What stands for the gateway key in a preview.
pub const HIDDEN_KEY: &str = "<gateway key, hidden>";

/// The change to preview or apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SettingsChange {
    /// Point Claude Code at the gateway.
    Configure,
    /// Take Gatehouse out again.
    Remove,
}

/// The change a [`SettingsChange`] would make to one settings file.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SettingsDiff {
    pub change: SettingsChange,
    /// `user` or `local`.
    pub scope: String,
    pub path: String,
    /// A unified diff of the file (`--- a/settings.json`, `+++ b/…`, hunks
    /// with 3 lines of context); empty when nothing changes.
    pub diff: String,
    /// The file's text now; `null` when it does not exist.
    pub before: Option<String>,
    /// Its text afterwards; `null` when the change deletes it (it was
    /// created by configure and holds nothing else).
    pub after: Option<String>,
    pub unchanged: bool,
}

/// One Claude Code settings file, as the Claude Code page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ScopeState {
    /// `managed`, `local`, `project` or `user`, highest precedence first.
    pub scope: String,
    pub path: String,
    pub exists: bool,
    /// It points Claude Code at a gateway with a Gatehouse key.
    pub configured: bool,
    pub base_url: Option<String>,
    /// Gatehouse can configure this scope from the app (the user scope).
    pub can_configure: bool,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

/// The Claude Code page (`claude_code_scopes`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ClaudeCodeScopes {
    pub scopes: Vec<ScopeState>,
    /// Claude Code goes through a gateway with a Gatehouse key.
    pub configured: bool,
    /// The base URL Claude Code uses, by precedence.
    pub effective_base_url: Option<String>,
    /// Anything that bypasses the gateway or replaces the subscription login.
    pub warnings: Vec<String>,
}
