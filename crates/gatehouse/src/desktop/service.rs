//! What the tray items and the window's buttons do.
//!
//! [`DesktopService`] ties the supervisor (the gateway child process), the
//! app's remembered switches, Claude Code's settings and Claude Code's login
//! together, so the shell's commands are one call each. It also gathers the
//! [`Snapshot`] and watches for changes, so the tray and the window follow
//! requests as they land.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::broadcast;

use super::budget_alerts::BudgetAlerts;
use super::notice::Notice;
use super::snapshot::{ClaudeCodeView, LoginView, NamedWindow, SignIn, Snapshot};
use super::window_alerts::WindowAlerts;
use crate::anthropic::ratelimit;
use crate::app_state::ClaudeTarget;
use crate::claude_code::login::{CodeOutcome, LoginSession};
use crate::claude_code::warnings::WarningKind;
use crate::claude_code::{cli_binary, doctor};
use crate::config::Config;
use crate::ledger::query;
use crate::supervisor::{GatewayState, Supervisor, SupervisorEvent, SupervisorOptions, detached};
use crate::upstream_test::UpstreamTest;

/// How often the watcher looks for new requests and state changes.
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// How often `claude auth status` is asked again; it starts a process.
const LOGIN_REFRESH_EVERY: Duration = Duration::from_secs(300);
/// Lines of the gateway's log the window shows.
const LOG_TAIL_LINES: usize = 200;

/// The desktop app's behaviour, shared by the tray and the window.
pub struct DesktopService {
    /// Where Gatehouse's files are, and what the gateway is run with (kept
    /// to hand the gateway over on quit).
    options: SupervisorOptions,
    supervisor: Supervisor,
    login: Mutex<LoginView>,
    login_session: Mutex<Option<LoginSession>>,
    /// Why the last sign-in ended without signing in, until the next one.
    sign_in_failure: Mutex<Option<String>>,
    start_at_login: AtomicBool,
    wake: Sender<()>,
    woken: Mutex<Option<Receiver<()>>>,
    /// Desktop notifications: the subscription windows, as the watcher finds them, and the OpenRouter sign-in's end.
    notices: broadcast::Sender<Notice>,
    /// Told about new ledger rows by the watcher (see [`super::pages`]).
    pub(super) ledger_watch: Mutex<super::pages::LedgerWatch>,
    /// The OpenRouter sign-in (see [`super::openrouter`]).
    pub(super) openrouter: Mutex<super::openrouter::SignInState>,
    /// The LiteLLM engine's install from the app (see [`super::engines`]).
    pub(super) litellm: Mutex<super::engines::LiteLlmState>,
    /// The Overview computed for a window that is starting (see [`Self::prefetch_overview`]).
    pub(super) overview_ahead: Mutex<Option<super::pages::OverviewAhead>>,
}

impl DesktopService {
    /// Starts the supervisor (not yet the gateway: see [`Self::launch`]).
    pub fn new(options: SupervisorOptions) -> anyhow::Result<Arc<DesktopService>> {
        // The gateway a headless supervisor looked after while the app was
        // closed is the app's again: the supervisor takes it back, and
        // adopts it on launch.
        let supervisor = Supervisor::new(options.clone())?;
        let (wake, woken) = mpsc::channel();
        Ok(Arc::new(DesktopService {
            options,
            supervisor,
            login: Mutex::new(LoginView::Unknown),
            login_session: Mutex::new(None),
            sign_in_failure: Mutex::new(None),
            start_at_login: AtomicBool::new(false),
            wake,
            woken: Mutex::new(Some(woken)),
            notices: broadcast::channel(16).0,
            ledger_watch: Mutex::default(),
            openrouter: Mutex::default(),
            litellm: Mutex::default(),
            overview_ahead: Mutex::default(),
        }))
    }

    /// At launch: the proxy comes back as the user left it (on, the very
    /// first time). Claude Code is configured only when the user asks.
    pub fn launch(&self) -> anyhow::Result<()> {
        let result = self.supervisor.resume_last_state();
        self.nudge();
        Ok(result?)
    }

    /// What the user may want to be told about, from now on.
    pub fn events(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.supervisor.subscribe()
    }

    /// Notifications about the subscription windows (a threshold crossed, a
    /// window used up, a window reset), from now on. They are found by
    /// [`Self::watch`], once per crossing; see [`super::window_alerts`].
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Shows `notice` as a desktop notification.
    pub(super) fn notify(&self, notice: Notice) {
        let _ = self.notices.send(notice);
    }

    /// Sends what the windows in `snapshot` deserve, with the settings in
    /// `config.toml` as they are now, and saves what was notified.
    fn notify_windows(&self, alerts: &mut WindowAlerts, snapshot: &Snapshot) {
        let settings = Config::load(&self.options.paths.config_file()).map(|c| c.notifications).unwrap_or_default();
        let before = alerts.clone();
        let windows = snapshot.windows.iter().map(|w| (w.name.as_str(), &w.window));
        let found = alerts.observe(windows, &settings, jiff::Timestamp::now().as_second());
        if *alerts != before
            && let Err(error) = alerts.save(&self.options.paths.window_alerts_file())
        {
            tracing::warn!("cannot save which window notifications were shown (a restart may repeat one): {error}");
        }
        for alert in found {
            self.notify(alert.notice);
        }
    }

    /// Notifies the budgets that crossed 80% or 100% since last said.
    fn notify_budgets(&self, alerts: &mut BudgetAlerts, snapshot: &Snapshot) {
        let before = alerts.clone();
        let found = alerts.observe(&snapshot.budgets);
        if *alerts != before
            && let Err(error) = alerts.save(&self.options.paths.budget_alerts_file())
        {
            tracing::warn!("cannot save which budget notifications were shown (a restart may repeat one): {error}");
        }
        for notice in found {
            self.notify(notice);
        }
    }

    /// Gathers everything the tray and the window show.
    pub fn snapshot(&self) -> Snapshot {
        let app_state = self.supervisor.app_state();
        let gateway = self.supervisor.state();
        let status = match &gateway {
            GatewayState::Running { base_url, .. } => crate::gateway_client::status(base_url).ok(),
            _ => None,
        };
        let recording_problem = status.as_ref().and_then(|status| status.ledger.problem());
        let failover = status.as_ref().and_then(|status| status.failover.clone());
        let budgets = status.as_ref().map(|status| status.budgets.clone()).unwrap_or_default();
        let config = Config::load(&self.options.paths.config_file());
        let upstreams = crate::upstream_test::upstreams(config.as_ref().unwrap_or(&Config::default()));
        let litellm = self.litellm_view(config.as_ref().unwrap_or(&Config::default()), status.as_ref());
        // The windows are what the gateway last saw in Anthropic's headers.
        let limits = status.map(|status| status.rate_limits).filter(|limits| !limits.is_empty());
        Snapshot {
            gateway,
            proxy_enabled: app_state.proxy_enabled == Some(true),
            claude_code_paused: app_state
                .suspended
                .iter()
                .find(|suspended| suspended.target == ClaudeTarget::User)
                .map(|suspended| suspended.reason),
            keep_gateway_after_quit: app_state.keep_gateway_after_quit,
            start_at_login: self.start_at_login.load(Ordering::Relaxed),
            today: query::today(&self.options.paths.ledger_file()).map_err(|e| crate::error_chain::describe(&e)),
            windows_as_of: limits.as_ref().and_then(|l| l.as_of()),
            windows: limits
                .iter()
                .flat_map(|l| l.windows_in_order())
                .map(|(name, window)| NamedWindow {
                    name: name.clone(),
                    title: ratelimit::window_title(name),
                    window: window.clone(),
                })
                .collect(),
            claude_code: self.claude_code_view(),
            login: lock(&self.login).clone(),
            sign_in: self.sign_in(),
            openrouter: self.openrouter_sign_in(),
            failover,
            budgets,
            config_error: config.err().map(|e| e.to_string()),
            upstreams,
            litellm,
            recording_problem,
        }
    }

    fn sign_in(&self) -> SignIn {
        // Locked while a pasted code is handed over: still waiting.
        let running = self.login_session.try_lock().map_or(true, |session| session.is_some());
        match lock(&self.sign_in_failure).clone() {
            _ if running => SignIn::Waiting,
            Some(message) => SignIn::Failed { message },
            None => SignIn::Idle,
        }
    }

    fn claude_code_view(&self) -> ClaudeCodeView {
        // The desktop app has no project of its own: it configures Claude
        // Code's user settings, under the managed ones.
        let running = self.running_gateway_url();
        match doctor::status(None, running.as_deref(), false) {
            Ok(status) => ClaudeCodeView {
                configured: status.configured,
                team_proxy: status.team_proxy.is_some(),
                base_url: status.effective_base_url,
                // Not configured is what the Claude Code line says already.
                warnings: status
                    .warnings
                    .into_iter()
                    .filter(|warning| warning.kind != WarningKind::NotConfigured)
                    .collect(),
                error: None,
            },
            Err(error) => {
                ClaudeCodeView { error: Some(crate::error_chain::describe(&error)), ..ClaudeCodeView::default() }
            }
        }
    }

    /// Where the gateway answers, while it runs.
    pub(super) fn running_gateway_url(&self) -> Option<String> {
        match self.supervisor.state() {
            GatewayState::Running { base_url, .. } => Some(base_url),
            _ => None,
        }
    }

    /// Whether the app took Claude Code's user settings off the gateway for
    /// now; it puts them back itself.
    pub(super) fn user_settings_paused(&self) -> bool {
        self.supervisor.app_state().suspended.iter().any(|suspended| suspended.target == ClaudeTarget::User)
    }

    /// The "Proxy" switch: starts or stops the gateway, and remembers the
    /// choice for the next launch. Stopping takes Claude Code off the
    /// gateway first, so it is never left pointing at a dead port.
    pub fn set_proxy(&self, enabled: bool) -> anyhow::Result<()> {
        let result = if enabled { self.supervisor.start() } else { self.supervisor.stop() };
        self.nudge();
        Ok(result?)
    }

    /// The "Claude Code uses Gatehouse" switch, with the core's configure
    /// and remove semantics (user settings, only Gatehouse's keys).
    pub fn set_claude_code(&self, enabled: bool) -> anyhow::Result<()> {
        self.switch_claude_code(ClaudeTarget::User, enabled)
    }

    /// Configures or removes one Claude Code settings file, which the
    /// supervisor then keeps off a dead gateway.
    pub(super) fn switch_claude_code(&self, target: ClaudeTarget, enabled: bool) -> anyhow::Result<()> {
        let result = if enabled {
            self.supervisor.configure_claude_code(target).map(drop)
        } else {
            self.supervisor.remove_claude_code(target).map(drop)
        };
        self.nudge();
        Ok(result?)
    }

    /// Points `target`'s settings straight at the team proxy `team`.
    pub(super) fn configure_team(&self, target: ClaudeTarget, team: &str) -> anyhow::Result<()> {
        let result = self.supervisor.configure_team(target, team.to_string()).map(drop);
        self.nudge();
        Ok(result?)
    }

    /// "Test connection" for the upstream `name` of the config as it is now
    /// (see [`crate::upstream_test`]). Blocks for up to the request's timeout.
    pub fn test_upstream(&self, name: &str) -> anyhow::Result<UpstreamTest> {
        let config = Config::load(&self.options.paths.config_file())?;
        Ok(crate::upstream_test::test(&config, &self.options.paths, name)?)
    }

    pub fn restart_gateway(&self) -> anyhow::Result<()> {
        let result = self.supervisor.restart();
        self.nudge();
        Ok(result?)
    }

    pub fn set_keep_gateway_after_quit(&self, keep: bool) -> anyhow::Result<()> {
        let result = self.supervisor.set_keep_gateway_after_quit(keep);
        self.nudge();
        Ok(result?)
    }

    /// Records whether the app starts at login; the shell owns that switch.
    pub fn note_start_at_login(&self, enabled: bool) {
        self.start_at_login.store(enabled, Ordering::Relaxed);
        self.nudge();
    }

    /// Asks `claude auth status` again (it starts a process: call it off the UI thread).
    pub fn refresh_login(&self) {
        let view = LoginView::from_status(cli_binary::auth_status());
        *lock(&self.login) = view;
        self.nudge();
    }

    /// Starts `claude auth login`; returns the sign-in URL it printed.
    pub fn start_login(&self) -> anyhow::Result<String> {
        *lock(&self.sign_in_failure) = None;
        let session = LoginSession::start()?;
        let url = session.url().to_string();
        // Replacing an earlier session ends its `claude auth login`.
        *lock(&self.login_session) = Some(session);
        self.nudge();
        Ok(url)
    }

    /// The running sign-in's URL, to open again.
    pub fn sign_in_url(&self) -> Option<String> {
        lock(&self.login_session).as_ref().map(|session| session.url().to_string())
    }

    /// Passes the code from the sign-in page to Claude Code. On success the
    /// session ends and the login is asked again; a refused code keeps the
    /// session open for another try.
    pub fn submit_login_code(&self, code: &str) -> anyhow::Result<CodeOutcome> {
        let mut session = lock(&self.login_session);
        let running = session.as_mut().context("no sign-in is in progress; choose \"Log in to Claude…\" first")?;
        let outcome = running.submit_code(code);
        if !matches!(outcome, Ok(CodeOutcome::Refused(_))) {
            *session = None;
            drop(session);
            self.refresh_login();
        }
        Ok(outcome?)
    }

    pub fn cancel_login(&self) {
        *lock(&self.login_session) = None;
        *lock(&self.sign_in_failure) = None;
        self.nudge();
    }

    /// Forgets a sign-in that Claude Code ended by itself (the browser
    /// returned to its loopback listener, or it failed), keeping why it
    /// failed; true if there was one. Skipped while a pasted code is being
    /// handed over: that call ends it.
    fn end_finished_login(&self) -> bool {
        let Ok(mut session) = self.login_session.try_lock() else { return false };
        let Some(outcome) = session.as_mut().and_then(LoginSession::ended) else { return false };
        *session = None;
        if let Err(message) = outcome {
            tracing::warn!("signing in to Claude did not finish: {message}");
            *lock(&self.sign_in_failure) = Some(message);
        }
        true
    }

    /// The last lines of the gateway's log.
    pub fn log_tail(&self) -> Vec<String> {
        self.supervisor.log_tail(LOG_TAIL_LINES)
    }

    pub fn log_path(&self) -> PathBuf {
        self.supervisor.log_path().to_path_buf()
    }

    /// Stops the gateway and restores Claude Code, unless the user chose to
    /// keep the gateway running after quit.
    pub fn quit(&self) -> anyhow::Result<()> {
        self.cancel_login();
        let app_state = self.supervisor.app_state();
        let keep = app_state.keep_gateway_after_quit;
        self.supervisor.shutdown_for_quit(keep)?;
        // A gateway left running is left looked after (see `detached`).
        if keep && app_state.proxy_enabled == Some(true) {
            let pid = detached::hand_over(&self.options)?;
            tracing::info!(
                "the gateway is looked after by `gatehouse gateway supervise` (pid {pid}) until the next launch"
            );
        }
        Ok(())
    }

    /// Calls `on_change` with a fresh snapshot whenever what the app shows
    /// changes: a request landed, the gateway changed state, a switch moved.
    /// Runs on its own thread; the first snapshot is delivered at once. Each
    /// round also finds the window notifications ([`Self::notices`]).
    pub fn watch(self: &Arc<Self>, mut on_change: impl FnMut(&Snapshot) + Send + 'static) {
        let Some(woken) = lock(&self.woken).take() else {
            tracing::warn!("the desktop service is already being watched");
            return;
        };
        let service = Arc::clone(self);
        std::thread::spawn(move || {
            let mut login_checked: Option<Instant> = None;
            let mut last: Option<Snapshot> = None;
            let mut alerts = WindowAlerts::load(&service.options.paths.window_alerts_file());
            let mut failover = None;
            let mut budget_alerts = BudgetAlerts::load(&service.options.paths.budget_alerts_file());
            loop {
                let snapshot = service.snapshot();
                service.notify_windows(&mut alerts, &snapshot);
                service.notify_budgets(&mut budget_alerts, &snapshot);
                if let Some(notice) = super::notice::for_failover(failover.as_ref(), snapshot.failover.as_ref()) {
                    service.notify(notice);
                }
                failover.clone_from(&snapshot.failover);
                if last.as_ref() != Some(&snapshot) {
                    on_change(&snapshot);
                    last = Some(snapshot);
                }
                service.check_ledger();
                // After the first snapshot, so the tray shows at once; the
                // new login shows on the next round.
                if service.end_finished_login()
                    || login_checked.is_none_or(|checked| checked.elapsed() >= LOGIN_REFRESH_EVERY)
                {
                    service.refresh_login();
                    login_checked = Some(Instant::now());
                }
                let _ = woken.recv_timeout(REFRESH_EVERY);
                while woken.try_recv().is_ok() {}
            }
        });
    }

    pub(super) fn options(&self) -> &SupervisorOptions {
        &self.options
    }

    pub(super) fn gateway_state(&self) -> GatewayState {
        self.supervisor.state()
    }

    pub(super) fn app_state(&self) -> crate::app_state::AppState {
        self.supervisor.app_state()
    }

    /// Whether Claude Code's user settings point at the gateway.
    pub(super) fn claude_code_configured(&self) -> bool {
        self.claude_code_view().configured
    }

    /// Makes the watcher refresh now rather than at its next tick.
    pub(super) fn nudge(&self) {
        let _ = self.wake.send(());
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain
/// data; the data is still the best there is.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
