//! The tray menu as plain data, drawn from a [`Snapshot`].
//!
//! The shell turns a [`TrayModel`] into real menu items and sends the
//! [`Action`] of a clicked item back; the window renders the same model as
//! buttons. Keeping labels, check marks, disabled states and the icon here
//! means they are tested without a display, and the tray and the window say
//! the same thing.

use serde::Serialize;

use super::openrouter::OpenRouterSignIn;
use super::snapshot::{LoginView, Snapshot};
use crate::anthropic::ratelimit::Window;
use crate::app_state::SuspendReason;
use crate::gateway::EngineRun;
use crate::supervisor::GatewayState;

/// Longest error reason shown in a menu label; the window shows all of it.
const MAX_REASON_CHARS: usize = 60;

/// What clicking an item does.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Start or stop the gateway.
    Proxy,
    /// Configure or unconfigure Claude Code.
    ClaudeCode,
    /// Run `claude auth login`, or show the login when already logged in.
    Login,
    /// Sign in to OpenRouter in the browser (its key goes to the keychain),
    /// or open the page of the sign-in that waits.
    OpenRouterSignIn,
    /// "Test connection" for one upstream (the item's target), whose
    /// result comes as a notification.
    TestUpstream,
    OpenDashboard,
    /// The "Today" line: the dashboard's Spend page.
    OpenSpend,
    /// A window line: the dashboard's Windows page.
    OpenWindows,
    OpenLogs,
    RestartGateway,
    StartAtLogin,
    KeepGatewayAfterQuit,
    Quit,
}

impl Action {
    const ALL: [Action; 13] = [
        Action::Proxy,
        Action::ClaudeCode,
        Action::Login,
        Action::OpenRouterSignIn,
        Action::TestUpstream,
        Action::OpenDashboard,
        Action::OpenSpend,
        Action::OpenWindows,
        Action::OpenLogs,
        Action::RestartGateway,
        Action::StartAtLogin,
        Action::KeepGatewayAfterQuit,
        Action::Quit,
    ];

    /// The menu item id.
    pub fn id(self) -> &'static str {
        match self {
            Action::Proxy => "proxy",
            Action::ClaudeCode => "claude_code",
            Action::Login => "login",
            Action::OpenRouterSignIn => "openrouter_sign_in",
            Action::TestUpstream => "test_upstream",
            Action::OpenDashboard => "open_dashboard",
            Action::OpenSpend => "open_spend",
            Action::OpenWindows => "open_windows",
            Action::OpenLogs => "open_logs",
            Action::RestartGateway => "restart_gateway",
            Action::StartAtLogin => "start_at_login",
            Action::KeepGatewayAfterQuit => "keep_gateway_after_quit",
            Action::Quit => "quit",
        }
    }

    pub fn from_id(id: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.id() == id)
    }
}

/// One row of the menu.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A line of information; not clickable.
    Info {
        label: String,
    },
    Button {
        action: Action,
        label: String,
        enabled: bool,
    },
    Check {
        action: Action,
        label: String,
        checked: bool,
        enabled: bool,
    },
    /// A submenu of items that each act on something named.
    Submenu {
        label: String,
        items: Vec<SubmenuItem>,
    },
    Separator,
}

/// An item of a submenu: `action` on `target` (an upstream's name).
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmenuItem {
    pub action: Action,
    pub target: String,
    pub label: String,
}

impl SubmenuItem {
    /// The menu item id: `action:target`, which [`SubmenuItem::parse_id`] reads back.
    pub fn id(&self) -> String {
        format!("{}:{}", self.action.id(), self.target)
    }

    /// The action and target of a submenu item's id.
    pub fn parse_id(id: &str) -> Option<(Action, &str)> {
        let (action, target) = id.split_once(':')?;
        Some((Action::from_id(action)?, target))
    }
}

/// Which tray icon to show.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IconState {
    Running,
    Stopped,
    Error,
    /// Working, but not as asked: starting, restarting, fail-open in force,
    /// or a file Gatehouse needs cannot be read.
    Degraded,
}

impl IconState {
    /// The PNG in `icons/` for this state.
    pub fn file_name(self) -> &'static str {
        match self {
            IconState::Running => "tray-running.png",
            IconState::Stopped => "tray-stopped.png",
            IconState::Error => "tray-error.png",
            IconState::Degraded => "tray-degraded.png",
        }
    }
}

/// The whole tray: icon, tooltip and menu.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrayModel {
    pub icon: IconState,
    pub tooltip: String,
    pub entries: Vec<Entry>,
}

/// Draws the tray from a snapshot.
pub fn tray_model(snapshot: &Snapshot) -> TrayModel {
    let header = gateway_label(&snapshot.gateway);
    // The figures open the dashboard page that explains them.
    let mut entries = vec![Entry::Info { label: header.clone() }];
    // The engine behind the gateway, under it.
    if let Some(label) = engine_label(snapshot) {
        entries.push(Entry::Info { label });
    }
    entries.push(Entry::Button { action: Action::OpenSpend, label: today_label(snapshot), enabled: true });
    let shown = entries.len();
    for window in &snapshot.windows {
        entries.extend(window_label(&window.title, &window.window).map(|label| Entry::Button {
            action: Action::OpenWindows,
            label,
            enabled: true,
        }));
    }
    if entries.len() > shown
        && let Some(as_of) = &snapshot.windows_as_of
    {
        entries.push(Entry::Info { label: format!("Windows {as_of}") });
    }
    if let Some(error) = &snapshot.config_error {
        entries.push(Entry::Info { label: shorten(&format!("Config error: {error}")) });
    }
    if let Some(problem) = &snapshot.recording_problem {
        entries.push(Entry::Info { label: shorten(problem) });
    }
    if let Some(failover) = &snapshot.failover {
        entries.push(Entry::Info {
            label: shorten(&format!("Failing over to {}: {}", failover.served_by, failover.reason)),
        });
    }
    // A budget is worth a line once it is mostly spent.
    for budget in snapshot.budgets.iter().filter(|budget| budget.spent_usd >= 0.8 * budget.limit_usd) {
        entries.push(Entry::Info { label: shorten(&format!("{}: {}", budget.title(), budget.spent_of_limit())) });
    }
    entries.push(Entry::Separator);

    let gateway_running = matches!(snapshot.gateway, GatewayState::Running { .. });
    entries.push(Entry::Check {
        action: Action::Proxy,
        label: "Run gateway".to_string(),
        checked: snapshot.proxy_enabled,
        enabled: true,
    });
    let claude_code_checked = snapshot.claude_code.configured || snapshot.claude_code_paused.is_some();
    entries.push(Entry::Check {
        action: Action::ClaudeCode,
        label: claude_code_label(snapshot, gateway_running),
        checked: claude_code_checked,
        // Turning it off always works: nobody must be stuck pointing at a stopped gateway.
        enabled: gateway_running || claude_code_checked,
    });
    entries.push(Entry::Button { action: Action::Login, label: login_label(&snapshot.login), enabled: true });
    entries.push(Entry::Button {
        action: Action::OpenRouterSignIn,
        label: openrouter_label(&snapshot.openrouter).to_string(),
        enabled: true,
    });
    entries.push(Entry::Submenu {
        label: "Test connection".to_string(),
        items: snapshot
            .upstreams
            .iter()
            .map(|upstream| SubmenuItem {
                action: Action::TestUpstream,
                target: upstream.name.clone(),
                label: format!("{} ({})", upstream.name, upstream.kind),
            })
            .collect(),
    });
    entries.push(Entry::Separator);

    entries.push(Entry::Button { action: Action::OpenDashboard, label: "Open dashboard".to_string(), enabled: true });
    entries.push(Entry::Button { action: Action::OpenLogs, label: "Open logs".to_string(), enabled: true });
    entries.push(Entry::Button {
        action: Action::RestartGateway,
        label: "Restart gateway".to_string(),
        enabled: snapshot.proxy_enabled,
    });
    entries.push(Entry::Separator);

    entries.push(Entry::Check {
        action: Action::StartAtLogin,
        label: "Start at login".to_string(),
        checked: snapshot.start_at_login,
        enabled: true,
    });
    entries.push(Entry::Check {
        action: Action::KeepGatewayAfterQuit,
        label: "Keep gateway running after quit".to_string(),
        checked: snapshot.keep_gateway_after_quit,
        enabled: true,
    });
    entries.push(Entry::Button { action: Action::Quit, label: "Quit".to_string(), enabled: true });
    entries.push(Entry::Info { label: about_line() });

    TrayModel { icon: icon_state(snapshot), tooltip: format!("Gatehouse — {header}"), entries }
}

/// The About line at the foot of the menu, which `gatehouse-desktop
/// --version` prints too: "Gatehouse 0.1.0", the version of the workspace
/// (`[workspace.package] version`), which `gatehouse --version` and the
/// packages carry as well.
pub fn about_line() -> String {
    format!("Gatehouse {}", env!("CARGO_PKG_VERSION"))
}

/// "Gateway: running on 127.0.0.1:7411", "… stopped", "… error: <reason>".
pub fn gateway_label(gateway: &GatewayState) -> String {
    let address = |base_url: &str| base_url.strip_prefix("http://").unwrap_or(base_url).to_string();
    match gateway {
        GatewayState::Stopped => "Gateway: stopped".to_string(),
        GatewayState::Starting => "Gateway: starting…".to_string(),
        GatewayState::Running { base_url, .. } => format!("Gateway: running on {}", address(base_url)),
        GatewayState::Unhealthy { base_url, .. } => format!("Gateway: not answering on {}", address(base_url)),
        GatewayState::Restarting { attempt, .. } => format!("Gateway: restarting (attempt {attempt})…"),
        GatewayState::Failed { reason, .. } => shorten(&format!("Gateway: error: {reason}")),
    }
}

/// The LiteLLM engine's line, while it matters: being installed, or
/// started by the gateway ("LiteLLM: installing… 42%", "… starting…",
/// "… ready", "… down (see Settings)"). An engine that waits for its first
/// request, or none, takes no line.
fn engine_label(snapshot: &Snapshot) -> Option<String> {
    let litellm = &snapshot.litellm;
    if let Some(progress) = &litellm.installing {
        return Some(format!("LiteLLM: installing… {:.0}%", (progress.fraction * 100.0).clamp(0.0, 100.0)));
    }
    let state = match litellm.run? {
        EngineRun::Idle => return None,
        EngineRun::Starting => "starting…",
        EngineRun::Ready => "ready",
        EngineRun::Down => "down (see Settings)",
    };
    Some(format!("LiteLLM: {state}"))
}

/// "Today: $1.23 at API prices · 45 requests", with "· $0.40 billed" when
/// part of it was paid with an API key.
pub fn today_label(snapshot: &Snapshot) -> String {
    match &snapshot.today {
        Ok(totals) => {
            let requests =
                if totals.requests == 1 { "1 request".to_string() } else { format!("{} requests", totals.requests) };
            let unpriced = match totals.unpriced_requests {
                0 => String::new(),
                n => format!(" ({n} unpriced)"),
            };
            // A few requests cost less than a cent; "$0.00" would read as free.
            let dollars = |usd: f64| match usd {
                c if c > 0.0 && c < 0.01 => "<$0.01".to_string(),
                c => format!("${c:.2}"),
            };
            let billed = if totals.billed_usd > 0.0 {
                format!(" · {} billed", dollars(totals.billed_usd))
            } else {
                String::new()
            };
            format!("Today: {} at API prices{billed} · {requests}{unpriced}", dollars(totals.cost_usd))
        }
        Err(error) => shorten(&format!("Today: unavailable ({error})")),
    }
}

/// "5-hour window 42% · resets 14:00", when the gateway has seen the headers.
fn window_label(name: &str, window: &Window) -> Option<String> {
    (window.utilization.is_some() || window.is_rejected()).then(|| format!("{name} {}", window.describe()))
}

fn claude_code_label(snapshot: &Snapshot, gateway_running: bool) -> String {
    const LABEL: &str = "Claude Code uses Gatehouse";
    match snapshot.claude_code_paused {
        Some(SuspendReason::Unhealthy) => format!("{LABEL} (paused: gateway not answering)"),
        Some(SuspendReason::ProxyStopped | SuspendReason::Quit) => format!("{LABEL} (paused while the gateway is off)"),
        None if !gateway_running && !snapshot.claude_code.configured => format!("{LABEL} (start the gateway first)"),
        None => LABEL.to_string(),
    }
}

/// The OpenRouter sign-in's item: start one, or go back to the one waiting.
fn openrouter_label(sign_in: &OpenRouterSignIn) -> &'static str {
    match sign_in {
        OpenRouterSignIn::Waiting { .. } => "OpenRouter sign-in: waiting for the browser…",
        _ => "Sign in to OpenRouter…",
    }
}

/// "Claude subscription: Max (via Claude Code)" / "Log in to Claude…" / not installed.
pub fn login_label(login: &LoginView) -> String {
    match login {
        LoginView::Unknown => "Claude login: checking…".to_string(),
        LoginView::NotInstalled { .. } => {
            "Claude Code is not installed — npm install -g @anthropic-ai/claude-code".to_string()
        }
        LoginView::LoggedOut => "Log in to Claude…".to_string(),
        LoginView::LoggedIn { plan: Some(plan) } => format!("Claude subscription: {plan} (via Claude Code)"),
        LoginView::LoggedIn { plan: None } => "Claude: API account (via Claude Code)".to_string(),
        LoginView::Error { message } => shorten(&format!("Claude login unknown: {message}")),
    }
}

/// The icon for the state the user cares about most: is traffic flowing as asked?
pub fn icon_state(snapshot: &Snapshot) -> IconState {
    match &snapshot.gateway {
        GatewayState::Failed { .. } => IconState::Error,
        GatewayState::Starting | GatewayState::Unhealthy { .. } | GatewayState::Restarting { .. } => {
            IconState::Degraded
        }
        GatewayState::Running { .. }
            if snapshot.claude_code_paused == Some(SuspendReason::Unhealthy)
                || snapshot.config_error.is_some()
                || snapshot.recording_problem.is_some() =>
        {
            IconState::Degraded
        }
        GatewayState::Running { .. } => IconState::Running,
        GatewayState::Stopped if snapshot.config_error.is_some() => IconState::Error,
        GatewayState::Stopped => IconState::Stopped,
    }
}

/// Menu labels stay one short line.
fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= MAX_REASON_CHARS && line.len() == text.len() {
        return line.to_string();
    }
    let mut short: String = line.chars().take(MAX_REASON_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::engines::{LiteLlmInstall, LiteLlmView};
    use crate::desktop::snapshot::{ClaudeCodeView, NamedWindow, SignIn};
    use crate::ledger::query::Totals;
    use crate::upstream_test::UpstreamView;

    fn snapshot(gateway: GatewayState) -> Snapshot {
        Snapshot {
            sign_in: SignIn::Idle,
            openrouter: Default::default(),
            failover: None,
            budgets: Vec::new(),
            gateway,
            proxy_enabled: true,
            claude_code_paused: None,
            keep_gateway_after_quit: false,
            start_at_login: false,
            today: Ok(Totals { requests: 45, cost_usd: 1.234, ..Totals::default() }),
            windows: Vec::new(),
            windows_as_of: None,
            claude_code: ClaudeCodeView::default(),
            login: LoginView::LoggedIn { plan: Some("Max".to_string()) },
            config_error: None,
            upstreams: vec![
                UpstreamView { name: "anthropic".into(), kind: "subscription".into() },
                UpstreamView { name: "openrouter".into(), kind: "openrouter".into() },
            ],
            litellm: LiteLlmView {
                pinned_version: "1.106.2".into(),
                install: LiteLlmInstall::NotInstalled,
                installing: None,
                last_failure: None,
                serves: Vec::new(),
                run: None,
            },
            recording_problem: None,
        }
    }

    fn running() -> GatewayState {
        GatewayState::Running { base_url: "http://127.0.0.1:7411".to_string(), pid: 42, adopted: false }
    }

    fn labels(model: &TrayModel) -> Vec<String> {
        model
            .entries
            .iter()
            .map(|entry| match entry {
                Entry::Info { label } => label.clone(),
                Entry::Button { label, enabled, .. } => {
                    format!("[{label}]{}", if *enabled { "" } else { " (disabled)" })
                }
                Entry::Check { label, checked, enabled, .. } => format!(
                    "[{}] {label}{}",
                    if *checked { "x" } else { " " },
                    if *enabled { "" } else { " (disabled)" }
                ),
                Entry::Submenu { label, items } => format!(
                    "{label} > {}",
                    items.iter().map(|item| format!("[{}]", item.label)).collect::<Vec<_>>().join(" ")
                ),
                Entry::Separator => "---".to_string(),
            })
            .collect()
    }

    fn check(model: &TrayModel, action: Action) -> (String, bool, bool) {
        model
            .entries
            .iter()
            .find_map(|entry| match entry {
                Entry::Check { action: a, label, checked, enabled } if *a == action => {
                    Some((label.clone(), *checked, *enabled))
                }
                _ => None,
            })
            .expect("check item present")
    }

    #[test]
    fn a_running_gateway_shows_the_whole_menu() {
        let mut snapshot = snapshot(running());
        snapshot.windows = vec![NamedWindow {
            name: "5h".into(),
            title: "5-hour window".into(),
            window: Window { utilization: Some(0.42), resets_at: None, status: None },
        }];
        snapshot.windows_as_of = Some("as of 13:58".to_string());
        snapshot.claude_code.configured = true;
        let model = tray_model(&snapshot);
        assert_eq!(model.icon, IconState::Running);
        assert_eq!(model.tooltip, "Gatehouse — Gateway: running on 127.0.0.1:7411");
        assert_eq!(
            labels(&model),
            [
                "Gateway: running on 127.0.0.1:7411",
                "[Today: $1.23 at API prices · 45 requests]",
                "[5-hour window 42%]",
                "Windows as of 13:58",
                "---",
                "[x] Run gateway",
                "[x] Claude Code uses Gatehouse",
                "[Claude subscription: Max (via Claude Code)]",
                "[Sign in to OpenRouter…]",
                "Test connection > [anthropic (subscription)] [openrouter (openrouter)]",
                "---",
                "[Open dashboard]",
                "[Open logs]",
                "[Restart gateway]",
                "---",
                "[ ] Start at login",
                "[ ] Keep gateway running after quit",
                "[Quit]",
                about_line().as_str(),
            ]
        );
        assert_eq!(about_line(), concat!("Gatehouse ", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn claude_code_is_disabled_with_a_reason_while_the_gateway_is_stopped() {
        let mut snapshot = snapshot(GatewayState::Stopped);
        snapshot.proxy_enabled = false;
        let model = tray_model(&snapshot);
        assert_eq!(model.icon, IconState::Stopped);
        assert_eq!(labels(&model)[0], "Gateway: stopped");
        assert_eq!(
            check(&model, Action::ClaudeCode),
            ("Claude Code uses Gatehouse (start the gateway first)".into(), false, false)
        );
        assert_eq!(check(&model, Action::Proxy), ("Run gateway".into(), false, true));
        assert!(labels(&model).contains(&"[Restart gateway] (disabled)".to_string()));

        // Paused while the proxy is off: shown, and it can still be turned off for good.
        snapshot.claude_code_paused = Some(SuspendReason::ProxyStopped);
        assert_eq!(
            check(&tray_model(&snapshot), Action::ClaudeCode),
            ("Claude Code uses Gatehouse (paused while the gateway is off)".into(), true, true)
        );
    }

    #[test]
    fn a_failed_gateway_shows_its_reason_and_the_error_icon() {
        let reason =
            "crashed 5 times in 60 s; last: error: port 7411 on 127.0.0.1 is already in use by another process";
        let model = tray_model(&snapshot(GatewayState::Failed { reason: reason.to_string(), last_lines: vec![] }));
        assert_eq!(model.icon, IconState::Error);
        let header = &labels(&model)[0];
        assert!(header.starts_with("Gateway: error: crashed 5 times"), "{header}");
        assert!(header.ends_with('…') && header.chars().count() == MAX_REASON_CHARS, "{header}");
    }

    #[test]
    fn transitions_and_fail_open_show_as_degraded() {
        // Running, but Claude Code was taken off it: degraded.
        let mut paused = snapshot(running());
        paused.claude_code_paused = Some(SuspendReason::Unhealthy);
        assert_eq!(tray_model(&paused).icon, IconState::Degraded);

        assert_eq!(tray_model(&snapshot(GatewayState::Starting)).icon, IconState::Degraded);
        let restarting = tray_model(&snapshot(GatewayState::Restarting {
            attempt: 2,
            last_error: "exit 1".into(),
            retry_in_ms: 1000,
        }));
        assert_eq!(restarting.icon, IconState::Degraded);
        assert_eq!(labels(&restarting)[0], "Gateway: restarting (attempt 2)…");

        let unhealthy =
            GatewayState::Unhealthy { base_url: "http://127.0.0.1:7411".into(), pid: 42, error: "timeout".into() };
        let model = tray_model(&snapshot(unhealthy.clone()));
        assert_eq!(model.icon, IconState::Degraded);
        assert_eq!(labels(&model)[0], "Gateway: not answering on 127.0.0.1:7411");

        let mut snapshot = snapshot(unhealthy);
        snapshot.claude_code_paused = Some(SuspendReason::Unhealthy);
        let model = tray_model(&snapshot);
        assert_eq!(
            check(&model, Action::ClaudeCode),
            ("Claude Code uses Gatehouse (paused: gateway not answering)".into(), true, true)
        );
    }

    #[test]
    fn a_config_error_is_shown_and_marks_the_icon() {
        let mut snapshot = snapshot(GatewayState::Stopped);
        snapshot.config_error = Some("invalid config /x/config.toml, line 3, column 1, key `gateway.port`: bad".into());
        let model = tray_model(&snapshot);
        assert_eq!(model.icon, IconState::Error);
        assert!(
            labels(&model)[2].starts_with("Config error: invalid config /x/config.toml, line 3"),
            "{:?}",
            labels(&model)
        );
    }

    #[test]
    fn a_ledger_that_cannot_be_written_is_shown_and_marks_the_icon() {
        let mut snapshot = snapshot(running());
        snapshot.recording_problem = Some(
            "Spend is not being recorded: cannot write /x/ledger.sqlite3: database or disk is full. 3 requests \
             wait in memory and will be recorded when it works again."
                .into(),
        );
        let model = tray_model(&snapshot);
        assert_eq!(model.icon, IconState::Degraded);
        let line = &labels(&model)[2];
        assert!(line.starts_with("Spend is not being recorded: cannot write /x/ledger"), "{line}");
        assert!(line.chars().count() <= MAX_REASON_CHARS, "{line}");
    }

    #[test]
    fn the_engine_has_a_line_while_it_is_installed_or_runs_and_none_while_it_waits() {
        let line =
            |snapshot: &Snapshot| labels(&tray_model(snapshot)).into_iter().find(|label| label.starts_with("LiteLLM"));
        let mut snapshot = snapshot(running());
        assert_eq!(line(&snapshot), None, "no engine: no line");
        for (run, expected) in [
            (EngineRun::Idle, None),
            (EngineRun::Starting, Some("LiteLLM: starting…")),
            (EngineRun::Ready, Some("LiteLLM: ready")),
            (EngineRun::Down, Some("LiteLLM: down (see Settings)")),
        ] {
            snapshot.litellm.run = Some(run);
            assert_eq!(line(&snapshot).as_deref(), expected, "{run:?}");
        }
        snapshot.litellm.installing = Some(crate::engines::litellm::install::Progress {
            phase: crate::engines::litellm::install::Phase::Packages,
            fraction: 0.424,
            message: "installing".into(),
        });
        assert_eq!(line(&snapshot).as_deref(), Some("LiteLLM: installing… 42%"));
        let model = tray_model(&snapshot);
        assert!(matches!(&model.entries[1], Entry::Info { label } if label.starts_with("LiteLLM")), "below the header");
    }

    #[test]
    fn login_labels() {
        assert_eq!(login_label(&LoginView::LoggedOut), "Log in to Claude…");
        assert_eq!(openrouter_label(&OpenRouterSignIn::Idle), "Sign in to OpenRouter…");
        let waiting = OpenRouterSignIn::Waiting { url: "https://openrouter.ai/auth?…".to_string() };
        assert_eq!(openrouter_label(&waiting), "OpenRouter sign-in: waiting for the browser…");
        assert_eq!(
            login_label(&LoginView::LoggedIn { plan: Some("Pro".into()) }),
            "Claude subscription: Pro (via Claude Code)"
        );
        assert_eq!(login_label(&LoginView::LoggedIn { plan: None }), "Claude: API account (via Claude Code)");
        assert!(
            login_label(&LoginView::NotInstalled { hint: String::new() })
                .starts_with("Claude Code is not installed — ")
        );
    }

    #[test]
    fn today_label_counts_and_flags_unpriced_requests() {
        let mut snapshot = snapshot(running());
        snapshot.today = Ok(Totals { requests: 1, cost_usd: 0.004, unpriced_requests: 1, ..Totals::default() });
        assert_eq!(today_label(&snapshot), "Today: <$0.01 at API prices · 1 request (1 unpriced)");
        snapshot.today = Ok(Totals { requests: 3, cost_usd: 1.5, billed_usd: 0.4, ..Totals::default() });
        assert_eq!(today_label(&snapshot), "Today: $1.50 at API prices · $0.40 billed · 3 requests");
        snapshot.today = Err("database is locked".into());
        assert_eq!(today_label(&snapshot), "Today: unavailable (database is locked)");
    }

    #[test]
    fn action_ids_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::from_id(action.id()), Some(action));
        }
        assert_eq!(Action::from_id("info-0"), None);
        let item = SubmenuItem {
            action: Action::TestUpstream,
            target: "team-b_2".into(),
            label: "team-b_2 (compatible)".into(),
        };
        assert_eq!(item.id(), "test_upstream:team-b_2");
        assert_eq!(SubmenuItem::parse_id(&item.id()), Some((Action::TestUpstream, "team-b_2")));
        assert_eq!(SubmenuItem::parse_id("test_upstream"), None);
    }
}
