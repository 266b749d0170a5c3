//! One picture of everything the tray and the window show.
//!
//! A [`Snapshot`] is plain data: the gateway's state, the user's switches,
//! today's spend, the subscription windows, whether Claude Code goes
//! through Gatehouse, the Claude login, and whether requests are recorded.
//! The tray menu and the window are both drawn from it, so they never
//! disagree, and it is serialised as-is for the window's page.

use serde::Serialize;

use super::engines::LiteLlmView;
use super::openrouter::OpenRouterSignIn;
use crate::anthropic::ratelimit::Window;
use crate::app_state::SuspendReason;
use crate::claude_code::cli_binary::{self, AuthStatus};
use crate::claude_code::warnings::Warning;
use crate::gateway::{BudgetStatus, FailoverStatus};
use crate::ledger::query::Totals;
use crate::supervisor::GatewayState;
use crate::upstream_test::UpstreamView;

/// A `claude auth login` the app started, as the window follows it.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignIn {
    /// None is running.
    Idle,
    /// Waiting for the browser, or for the code the sign-in page shows.
    Waiting,
    /// Claude Code ended it without signing in; its own words on why.
    Failed { message: String },
}

/// The Claude login, which belongs to Claude Code.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginView {
    /// Not asked yet (`claude auth status` runs off the UI thread).
    Unknown,
    NotInstalled {
        hint: String,
    },
    LoggedOut,
    /// `plan` is e.g. "Max", or `None` for an API (Console) account.
    LoggedIn {
        plan: Option<String>,
    },
    /// `claude auth status` could not be asked.
    Error {
        message: String,
    },
}

impl LoginView {
    /// Interprets the outcome of `claude auth status --json`.
    pub fn from_status(status: Result<AuthStatus, String>) -> LoginView {
        match status {
            Ok(status) if status.logged_in => LoginView::LoggedIn { plan: status.subscription_type.map(capitalize) },
            Ok(_) => LoginView::LoggedOut,
            Err(_) if cli_binary::find().is_none() => {
                LoginView::NotInstalled { hint: cli_binary::INSTALL_HINT.to_string() }
            }
            Err(message) => LoginView::Error { message },
        }
    }
}

fn capitalize(word: String) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// Whether Claude Code goes through Gatehouse (user settings).
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClaudeCodeView {
    pub configured: bool,
    /// The gateway URL Claude Code's settings point at.
    pub base_url: Option<String>,
    /// They point at a team's LiteLLM proxy instead (`base_url` is its URL).
    pub team_proxy: bool,
    /// Anything that bypasses the gateway or replaces the subscription login,
    /// each with its fix (the Claude Code page offers the buttons).
    pub warnings: Vec<Warning>,
    /// Why Claude Code's settings could not be read, if they could not.
    pub error: Option<String>,
}

/// One subscription window, by its name in the headers (`5h`, `7d`, `7d_oi`, …).
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedWindow {
    pub name: String,
    /// What people call it: "5-hour window".
    pub title: String,
    #[serde(flatten)]
    pub window: Window,
}

/// Everything the tray and the window show.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub gateway: GatewayState,
    /// The "Run gateway" switch: whether the user wants the gateway running.
    pub proxy_enabled: bool,
    /// Why the app took Claude Code off the gateway for now (the gateway is
    /// unhealthy, the proxy is off); it puts it back when the gateway is.
    pub claude_code_paused: Option<SuspendReason>,
    pub keep_gateway_after_quit: bool,
    pub start_at_login: bool,
    /// Today's spend, or why it could not be read.
    pub today: Result<Totals, String>,
    /// Every subscription window the gateway has seen, 5-hour and weekly first.
    pub windows: Vec<NamedWindow>,
    /// When the gateway saw the windows: "as of 14:02".
    pub windows_as_of: Option<String>,
    pub claude_code: ClaudeCodeView,
    pub login: LoginView,
    pub sign_in: SignIn,
    /// The OpenRouter sign-in started from the tray or the window.
    pub openrouter: OpenRouterSignIn,
    /// Whether Claude Code's requests are failing over to a paid upstream.
    pub failover: Option<FailoverStatus>,
    /// The budgets of `[[budgets]]`, with this period's billed spend.
    pub budgets: Vec<BudgetStatus>,
    /// `config.toml` could not be read, with its file and line.
    pub config_error: Option<String>,
    /// The upstreams of the config, for "Test connection" (only the
    /// subscription's while the config cannot be read).
    pub upstreams: Vec<UpstreamView>,
    /// The LiteLLM engine behind the gateway (the built-in gateway is
    /// `gateway`): its install, an install running, the upstreams it serves.
    pub litellm: LiteLlmView,
    /// The running gateway cannot record requests in the ledger, and why.
    pub recording_problem: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_is_read_from_claude_auth_status() {
        let max = AuthStatus {
            logged_in: true,
            subscription_type: Some("max".into()),
            plan_tier: Some("max_20x".into()),
            ..AuthStatus::default()
        };
        assert_eq!(LoginView::from_status(Ok(max)), LoginView::LoggedIn { plan: Some("Max".into()) });
        let console = AuthStatus { logged_in: true, auth_method: Some("console".into()), ..AuthStatus::default() };
        assert_eq!(LoginView::from_status(Ok(console)), LoginView::LoggedIn { plan: None });
        assert_eq!(LoginView::from_status(Ok(AuthStatus::default())), LoginView::LoggedOut);
    }
}
