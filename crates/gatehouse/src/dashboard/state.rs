//! What the desktop window is sent about the app itself: the `state` event
//! (the same [`Snapshot`] the tray is drawn from, with the tray's model) and
//! the answer to a pasted sign-in code.

use serde::Serialize;
use ts_rs::TS;

use crate::desktop::menu::{self, TrayModel};
use crate::desktop::snapshot::Snapshot;

/// The `state` event and `get_state`: the snapshot, and the tray model made from it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct View {
    pub snapshot: Snapshot,
    pub tray: TrayModel,
}

impl View {
    pub fn new(snapshot: Snapshot) -> View {
        View { tray: menu::tray_model(&snapshot), snapshot }
    }
}

/// The answer to a pasted sign-in code (`submit_login_code`).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LoginReply {
    /// Claude Code finished signing in.
    pub done: bool,
    pub message: String,
}
