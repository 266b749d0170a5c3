//! The supervisor's background thread: the gateway's life cycle and fail-open.
//!
//! One thread owns everything that changes: the gateway process, the app
//! state and Claude Code's settings files. [`super::Supervisor`] only sends
//! it requests and reads what it publishes, so every change happens in one
//! order and no lock is held across a slow step (a stop waits up to
//! `stop_timeout_secs`). Between requests it *ticks*: it reads new log
//! lines, checks the process and `/health`, starts a due restart, and runs
//! the fail-open timers.

use std::collections::HashSet;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};

use super::backoff::{CrashHistory, Decision, RestartPolicy};
use super::fail_open::{self, Resumed};
use super::logs::GatewayLog;
use super::process::{self, Gateway};
use super::{GatewayState, SupervisorError, SupervisorEvent, SupervisorOptions, at_login, binary, port};
use crate::app_state::{AppState, ClaudeTarget, SuspendReason};
use crate::claude_code::settings_store::RemoveOutcome;
use crate::claude_code::setup::{self, Configured};
use crate::config::Config;
use crate::gateway::runner::RuntimeInfo;
use crate::paths::Paths;

/// How often the worker looks at a gateway that is starting or due to restart.
const TICK_BUSY: Duration = Duration::from_millis(100);
/// How often it looks otherwise (child exit, log lines, timers).
const TICK_IDLE: Duration = Duration::from_millis(250);
/// `/health` probe interval while the gateway answers; each probe costs a
/// few milliseconds of CPU, so an idle tray does not probe constantly.
const PROBE_HEALTHY: Duration = Duration::from_secs(2);
/// Probe interval while it does not answer.
const PROBE_UNHEALTHY: Duration = Duration::from_millis(500);
/// The shortest wait for a `/health` answer (see `Worker::probe_timeout`):
/// a slow but live gateway must still be able to answer and recover.
const PROBE_TIMEOUT_MIN: Duration = Duration::from_secs(1);
/// How often Claude Code's settings files are checked for fail-open.
const SETTINGS_CHECK: Duration = Duration::from_secs(1);
/// Log lines kept in [`GatewayState::Failed`].
const FAILED_LINES: usize = 20;

/// Where an answer to a request goes.
pub(super) type Reply<T> = mpsc::SyncSender<T>;

/// What the [`super::Supervisor`] handle asks of the worker.
pub(super) enum Request {
    Start(Reply<Result<(), SupervisorError>>),
    Stop(Reply<Result<(), SupervisorError>>),
    Restart(Reply<Result<(), SupervisorError>>),
    ResumeLastState(Reply<Result<(), SupervisorError>>),
    ConfigureClaudeCode(ClaudeTarget, Reply<Result<Configured, SupervisorError>>),
    ConfigureTeam(ClaudeTarget, String, Reply<Result<Configured, SupervisorError>>),
    RemoveClaudeCode(ClaudeTarget, Reply<Result<(PathBuf, RemoveOutcome), SupervisorError>>),
    KeepGatewayAfterQuit(bool, Reply<Result<(), SupervisorError>>),
    Quit(bool, Reply<Result<(), SupervisorError>>),
}

/// The gateway named by the runtime file, if that process is still alive,
/// is that gateway, and listens where the file says. A recycled pid is told
/// apart by its start time: the gateway writes the file after it starts, a
/// newcomer with its pid starts after the file was written. The address
/// tells apart a gateway of another Gatehouse home that happens to have the
/// pid (a stale file after a reboot, or a file copied between homes):
/// stopping or adopting that one would take another user's setup down.
pub(super) fn earlier_gateway(paths: &Paths) -> Option<(RuntimeInfo, process::ProcessInfo)> {
    let info = RuntimeInfo::read(paths)?;
    let written = info.started_at.parse::<jiff::Timestamp>().ok()?.as_second();
    let address = info.address.parse::<SocketAddr>().ok()?;
    // sysinfo's start times are whole seconds derived from the boot time: allow for rounding.
    let gateway = process::inspect(info.pid)
        .filter(|p| p.is_gateway && i64::try_from(p.start_time).is_ok_and(|started| started <= written + 2))
        .filter(|p| port::holder(address.ip(), address.port()).is_some_and(|holder| holder.pid == p.pid))?;
    Some((info, gateway))
}

/// Where the gateway is in its life.
enum Phase {
    Stopped,
    Starting { gateway: Gateway, since: Instant },
    Running { gateway: Gateway, base_url: String, health: Health },
    Waiting { until: Instant, attempt: u32, last_error: String, delay: Duration },
    Failed { reason: String, last_lines: Vec<String> },
}

/// What the `/health` probes of a running gateway say.
struct Health {
    /// `None` while it answers; else the latest error.
    error: Option<String>,
    /// When the current run of failed probes began.
    failing_since: Option<Instant>,
    next_probe: Instant,
}

/// What a tick decided, acted on once the phase is no longer borrowed.
enum Next {
    Wait,
    Publish,
    Crashed(String),
    Ready(String),
    Launch,
}

/// The background thread's state.
pub(super) struct Worker {
    options: SupervisorOptions,
    config: Config,
    log: GatewayLog,
    app: AppState,
    /// `app` as last read from or saved to disk: what `save_app` diffs
    /// against, so another process's changes to the file are kept.
    app_saved: AppState,
    /// Publishes `app` after every save.
    pub(super) app_tx: watch::Sender<AppState>,
    state: watch::Sender<GatewayState>,
    events: broadcast::Sender<SupervisorEvent>,
    phase: Phase,
    crashes: CrashHistory,
    /// The gateway's URL while it runs, and the last one it had after.
    base_url: Option<String>,
    /// Since when the gateway has been down, counted from its last healthy
    /// answer (not from the first failed probe, which a hung gateway takes
    /// the probe's timeout to fail), so fail-open acts after
    /// `fail_open_after_secs` of real downtime.
    unhealthy_since: Option<Instant>,
    /// When the gateway last answered `/health`.
    last_healthy: Option<Instant>,
    next_settings_check: Instant,
    /// Settings files whose error was already reported in this outage or recovery.
    reported: HashSet<PathBuf>,
}

impl Worker {
    pub(super) fn new(
        options: SupervisorOptions,
        mut log: GatewayLog,
        state: watch::Sender<GatewayState>,
        events: broadcast::Sender<SupervisorEvent>,
    ) -> Worker {
        let (app, warning) = AppState::load(&options.paths);
        if let Some(warning) = warning {
            log.note(&warning);
        }
        let config = Config::load(&options.paths.config_file()).unwrap_or_else(|error| {
            // Supervise with the defaults meanwhile: fail-open must work even
            // with a broken config. Starting reports the error too.
            log.note(&format!("{error}; using the default settings until it is fixed"));
            Config::default()
        });
        let now = Instant::now();
        let app_tx = watch::Sender::new(app.clone());
        Worker {
            options,
            config,
            log,
            app_saved: app.clone(),
            app,
            app_tx,
            state,
            events,
            phase: Phase::Stopped,
            crashes: CrashHistory::default(),
            base_url: None,
            unhealthy_since: Some(now),
            last_healthy: None,
            next_settings_check: now,
            reported: HashSet::new(),
        }
    }

    pub(super) fn run(mut self, inbox: &mpsc::Receiver<Request>) {
        loop {
            let tick = match self.phase {
                Phase::Starting { .. } | Phase::Waiting { .. } => TICK_BUSY,
                _ => TICK_IDLE,
            };
            match inbox.recv_timeout(tick) {
                Ok(request) => {
                    if self.handle(request).is_break() {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = self.quit(false);
                    return;
                }
            }
            self.tick(Instant::now());
        }
    }

    /// Serves one request; `Break` after the quit.
    fn handle(&mut self, request: Request) -> ControlFlow<()> {
        // A reply nobody waits for any more (the caller gave up) is fine to drop.
        match request {
            Request::Start(reply) => {
                let _ = reply.send(self.user_start());
            }
            Request::Stop(reply) => {
                let _ = reply.send(self.user_stop());
            }
            Request::Restart(reply) => {
                self.stop_gateway();
                let _ = reply.send(self.user_start());
            }
            Request::ResumeLastState(reply) => {
                let result = if self.app.proxy_enabled == Some(false) { Ok(()) } else { self.user_start() };
                let _ = reply.send(result);
            }
            Request::ConfigureClaudeCode(target, reply) => {
                let _ = reply.send(self.configure_claude_code(target));
            }
            Request::ConfigureTeam(target, team, reply) => {
                let _ = reply.send(self.configure_team(target, &team));
            }
            Request::RemoveClaudeCode(target, reply) => {
                let _ = reply.send(self.remove_claude_code(&target));
            }
            Request::KeepGatewayAfterQuit(keep, reply) => {
                self.app.keep_gateway_after_quit = keep;
                let _ = reply.send(self.save_app());
            }
            Request::Quit(keep_running, reply) => {
                let _ = reply.send(self.quit(keep_running));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    // ---- starting and stopping ------------------------------------------

    fn user_start(&mut self) -> Result<(), SupervisorError> {
        if matches!(self.phase, Phase::Starting { .. } | Phase::Running { .. }) {
            return Ok(());
        }
        self.crashes.clear();
        self.app.proxy_enabled = Some(true);
        let saved = self.save_app();
        self.reload_config()?;
        self.launch()?;
        saved
    }

    fn user_stop(&mut self) -> Result<(), SupervisorError> {
        self.app.proxy_enabled = Some(false);
        // Claude Code first, so no request is sent to a gateway on its way out.
        self.suspend_claude_code(SuspendReason::ProxyStopped, false);
        self.stop_gateway();
        self.save_app()
    }

    fn reload_config(&mut self) -> Result<(), SupervisorError> {
        match Config::load(&self.options.paths.config_file()) {
            Ok(config) => {
                self.config = config;
                Ok(())
            }
            Err(error) => Err(self.fail(SupervisorError::Config(error.to_string()))),
        }
    }

    fn stop_timeout(&self) -> Duration {
        Duration::from_secs(self.config.supervisor.stop_timeout_secs)
    }

    fn policy(&self) -> RestartPolicy {
        RestartPolicy::from_config(&self.config.supervisor)
    }

    /// Adopts or replaces a gateway left by an earlier run, then spawns one.
    fn launch(&mut self) -> Result<(), SupervisorError> {
        let listen = SocketAddr::new(self.config.gateway.listen, self.config.gateway.port);
        if let Some((info, orphan)) = earlier_gateway(&self.options.paths) {
            let same_place = info.address.parse::<SocketAddr>().is_ok_and(|a| a == listen);
            let same_version = info.version == crate::gateway::VERSION;
            if same_place && same_version && crate::gateway_client::health(&info.base_url).is_ok() {
                self.log.note(&format!("adopted the gateway left running by an earlier run: {orphan}"));
                let gateway = Gateway::Adopted { pid: orphan.pid, start_time: orphan.start_time };
                self.became_ready(gateway, info.base_url);
                return Ok(());
            }
            let why = match (same_place, same_version) {
                (false, _) => format!("it listens on {}, the config says {listen}", info.address),
                (true, false) => format!("it is version {}, this app is {}", info.version, crate::gateway::VERSION),
                (true, true) => "it does not answer /health".to_string(),
            };
            self.log.note(&format!("replacing the gateway left by an earlier run ({why}): {orphan}"));
            let ended = process::stop_orphan(&orphan, self.stop_timeout());
            self.log.note(&format!("the earlier gateway {ended}"));
        }
        if let Some(holder) = port::holder(listen.ip(), listen.port()) {
            return Err(self.fail(self.port_in_use(holder)));
        }
        let bin = binary::locate(self.config.supervisor.gatehouse_bin.as_deref(), &self.options.paths.data_dir)
            .map_err(|e| self.fail(SupervisorError::BinaryNotFound(e)))?;
        let spawned = self
            .log
            .child_stdio()
            .and_then(|stdio| process::spawn_gateway(&bin, listen.port(), &self.options.env, stdio));
        let child =
            spawned.map_err(|e| self.fail(SupervisorError::Spawn { bin: bin.clone(), reason: e.to_string() }))?;
        self.log.note(&format!("started {} gateway run --port {} (pid {})", bin.display(), listen.port(), child.id()));
        self.phase = Phase::Starting { gateway: Gateway::Child(child), since: Instant::now() };
        self.publish();
        Ok(())
    }

    fn port_in_use(&self, holder: process::ProcessInfo) -> SupervisorError {
        let description = if holder.is_gateway {
            format!("another Gatehouse gateway that this app did not start: {holder}")
        } else {
            holder.to_string()
        };
        SupervisorError::PortInUse {
            port: self.config.gateway.port,
            holder_pid: holder.pid,
            holder: description,
            config: self.options.paths.config_file(),
        }
    }

    fn became_ready(&mut self, gateway: Gateway, base_url: String) {
        let now = Instant::now();
        self.last_healthy = Some(now);
        let event =
            SupervisorEvent::Started { base_url: base_url.clone(), pid: gateway.pid(), adopted: gateway.is_adopted() };
        self.base_url = Some(base_url.clone());
        self.phase = Phase::Running {
            gateway,
            base_url,
            health: Health { error: None, failing_since: None, next_probe: now + PROBE_HEALTHY },
        };
        self.publish();
        self.emit(event);
        self.sync_login_entry();
    }

    /// Stops whatever gateway there is (ours or adopted) and rests.
    fn stop_gateway(&mut self) {
        match std::mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Starting { mut gateway, .. } | Phase::Running { mut gateway, .. } => {
                let pid = gateway.pid();
                let ended = gateway.stop(self.stop_timeout());
                self.log.note(&format!("stopped the gateway (pid {pid}): it {ended}"));
                self.emit(SupervisorEvent::Stopped);
            }
            Phase::Stopped => {}
            Phase::Waiting { .. } | Phase::Failed { .. } => self.emit(SupervisorEvent::Stopped),
        }
        self.publish();
    }

    fn quit(&mut self, keep_running: bool) -> Result<(), SupervisorError> {
        // Only a healthy gateway is worth leaving alone: nobody watches it after this.
        if keep_running && self.healthy_url().is_some() {
            if let Phase::Running { gateway, .. } = &self.phase {
                self.log.note(&format!("the app quit and left the gateway (pid {}) running", gateway.pid()));
            }
            // Dropping a `Child` neither kills nor waits for it: the gateway
            // carries on, and the next launch adopts it.
            self.phase = Phase::Stopped;
        } else {
            self.suspend_claude_code(SuspendReason::Quit, false);
            self.stop_gateway();
        }
        let _ = self.log.poll();
        self.save_app()
    }

    /// Puts the failure into the state and the log, and hands it back.
    fn fail(&mut self, error: SupervisorError) -> SupervisorError {
        self.log.note(&format!("cannot run the gateway: {error}"));
        self.phase = Phase::Failed { reason: error.to_string(), last_lines: self.log.ring().tail(FAILED_LINES) };
        self.publish();
        error
    }

    // ---- watching --------------------------------------------------------

    fn tick(&mut self, now: Instant) {
        // The log is only for people; failing to read it must not stop supervision.
        let _ = self.log.poll();
        let health_timeout = Duration::from_secs(self.config.supervisor.health_timeout_secs);
        let probe_timeout = self.probe_timeout(now);
        let next = match &mut self.phase {
            Phase::Starting { gateway, since } => {
                let pid = gateway.pid();
                if let Some(ended) = gateway.exited() {
                    Next::Crashed(format!("the gateway (pid {pid}) {ended} before it was ready"))
                } else if let Some(info) = RuntimeInfo::read(&self.options.paths).filter(|info| info.pid == pid)
                    && crate::gateway_client::health(&info.base_url).is_ok()
                {
                    Next::Ready(info.base_url)
                } else if now.duration_since(*since) > health_timeout {
                    let _ = gateway.kill();
                    Next::Crashed(format!(
                        "the gateway (pid {pid}) did not answer /health within {} s of starting and was killed",
                        health_timeout.as_secs()
                    ))
                } else {
                    Next::Wait
                }
            }
            Phase::Running { gateway, base_url, health } => {
                let pid = gateway.pid();
                if let Some(ended) = gateway.exited() {
                    Next::Crashed(format!("the gateway (pid {pid}) {ended}"))
                } else if now < health.next_probe {
                    Next::Wait
                } else {
                    match crate::gateway_client::health_within(base_url, probe_timeout) {
                        Ok(()) => {
                            self.last_healthy = Some(now);
                            health.error = None;
                            health.failing_since = None;
                            health.next_probe = now + PROBE_HEALTHY;
                        }
                        Err(error) => {
                            health.error = Some(error.to_string());
                            health.failing_since.get_or_insert(now);
                            health.next_probe = now + PROBE_UNHEALTHY;
                        }
                    }
                    if health.failing_since.is_some_and(|since| now.duration_since(since) > health_timeout) {
                        let _ = gateway.kill();
                        Next::Crashed(format!(
                            "the gateway (pid {pid}) stopped answering /health for {} s and was killed",
                            health_timeout.as_secs()
                        ))
                    } else {
                        Next::Publish
                    }
                }
            }
            Phase::Waiting { until, .. } if now >= *until => Next::Launch,
            Phase::Waiting { .. } | Phase::Stopped | Phase::Failed { .. } => Next::Wait,
        };
        match next {
            Next::Wait => {}
            Next::Publish => self.publish(),
            Next::Crashed(error) => self.crashed(error, now),
            Next::Ready(base_url) => {
                if let Phase::Starting { gateway, .. } = std::mem::replace(&mut self.phase, Phase::Stopped) {
                    self.log.note(&format!("the gateway (pid {}) is ready at {base_url}", gateway.pid()));
                    self.became_ready(gateway, base_url);
                }
            }
            Next::Launch => {
                // A failed launch has already put itself into the state.
                let _ = self.launch();
            }
        }
        self.watch_claude_code(now);
    }

    /// How long the next `/health` probe may wait. While the gateway is
    /// failing, no longer than until fail-open is due (but at least
    /// [`PROBE_TIMEOUT_MIN`]), so a hung gateway's probe does not hold
    /// fail-open up by the usual 2 s.
    fn probe_timeout(&self, now: Instant) -> Duration {
        let failing = matches!(&self.phase, Phase::Running { health: Health { error: Some(_), .. }, .. });
        match self.unhealthy_since {
            Some(since) if failing => {
                let due = since + Duration::from_secs(self.config.supervisor.fail_open_after_secs);
                due.saturating_duration_since(now).max(PROBE_TIMEOUT_MIN)
            }
            _ => Duration::MAX,
        }
    }

    /// After a crash: restart later, or give up.
    fn crashed(&mut self, error: String, now: Instant) {
        self.log.note(&error);
        let _ = self.log.poll();
        // The port may have been taken while the gateway was down; a restart cannot fix that.
        if let Some(holder) = port::holder(self.config.gateway.listen, self.config.gateway.port) {
            let error = self.port_in_use(holder);
            self.fail(error);
            return;
        }
        let policy = self.policy();
        match self.crashes.record(&policy, now) {
            Decision::Restart { attempt, delay } => {
                self.log.note(&format!("restarting in {} ms (attempt {attempt})", delay.as_millis()));
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                self.emit(SupervisorEvent::Crashed { error: error.clone(), attempt, retry_in_ms });
                self.phase = Phase::Waiting { until: now + delay, attempt, last_error: error, delay };
            }
            Decision::GiveUp { crashes } => {
                let reason = match crashes {
                    1 => format!("the gateway crashed and is not restarted (crash_limit = 1): {error}"),
                    _ => format!(
                        "the gateway crashed {crashes} times within {} s, so it is not restarted again; last: {error}",
                        policy.window.as_secs()
                    ),
                };
                self.log.note(&reason);
                let last_lines = self.log.ring().tail(FAILED_LINES);
                self.emit(SupervisorEvent::CrashLoop { reason: reason.clone(), last_lines: last_lines.clone() });
                self.phase = Phase::Failed { reason, last_lines };
            }
        }
        self.publish();
    }

    fn publish(&self) {
        let state = match &self.phase {
            Phase::Stopped => GatewayState::Stopped,
            Phase::Starting { .. } => GatewayState::Starting,
            Phase::Running { gateway, base_url, health } => match &health.error {
                None => GatewayState::Running {
                    base_url: base_url.clone(),
                    pid: gateway.pid(),
                    adopted: gateway.is_adopted(),
                },
                Some(error) => {
                    GatewayState::Unhealthy { base_url: base_url.clone(), pid: gateway.pid(), error: error.clone() }
                }
            },
            Phase::Waiting { attempt, last_error, delay, .. } => GatewayState::Restarting {
                attempt: *attempt,
                last_error: last_error.clone(),
                retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            Phase::Failed { reason, last_lines } => {
                GatewayState::Failed { reason: reason.clone(), last_lines: last_lines.clone() }
            }
        };
        self.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }

    fn emit(&self, event: SupervisorEvent) {
        // No subscriber is fine: the state still tells the story.
        let _ = self.events.send(event);
    }

    fn save_app(&mut self) -> Result<(), SupervisorError> {
        let saved = self.app.save_merged(&self.app_saved, &self.options.paths).map_err(|e| {
            let error = format!("{}: {e}", crate::app_state::file(&self.options.paths).display());
            self.log.note(&format!("cannot save the app's state: {error}"));
            SupervisorError::State(error)
        });
        if let Ok(merged) = &saved {
            self.app = merged.clone();
            self.app_saved = merged.clone();
        }
        self.app_tx.send_replace(self.app.clone());
        self.sync_login_entry();
        saved.map(|_| ())
    }

    /// Keeps the entry that starts a supervisor at login exactly while
    /// Claude Code points at the gateway (see [`super::at_login`]).
    fn sync_login_entry(&mut self) {
        let Some(dir) = self.options.autostart_dir.clone() else { return };
        let url = self.gateway_url();
        let needed = at_login::needed_for(&self.options.paths, &self.app, &self.options.claude_code, &url);
        let bin = match binary::locate(self.config.supervisor.gatehouse_bin.as_deref(), &self.options.paths.data_dir) {
            Ok(bin) => bin,
            Err(error) if needed => {
                self.log.note(&format!("no login entry to keep Claude Code working after a restart: {error}"));
                return;
            }
            Err(_) => PathBuf::new(),
        };
        // Only what finds the same files; never the rest of the gateway's
        // environment, which may hold secrets.
        let env: Vec<(OsString, OsString)> = [crate::paths::HOME_ENV, "CLAUDE_CONFIG_DIR"]
            .into_iter()
            .filter_map(|name| {
                let from_options = self.options.env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                from_options.or_else(|| std::env::var_os(name)).map(|value| (OsString::from(name), value))
            })
            .collect();
        if let Err(error) = at_login::sync(&dir, needed, &bin, &env) {
            self.log.note(&format!("cannot update the login entry in {}: {error}", dir.display()));
        }
    }

    // ---- Claude Code -----------------------------------------------------

    /// The URL of the gateway while it is running and healthy.
    fn healthy_url(&self) -> Option<&str> {
        match &self.phase {
            Phase::Running { base_url, health: Health { error: None, .. }, .. } => Some(base_url),
            _ => None,
        }
    }

    /// Where Claude Code would find the gateway: where it last ran, else
    /// where the config puts it.
    fn gateway_url(&self) -> String {
        self.base_url.clone().unwrap_or_else(|| self.config.gateway.base_url())
    }

    /// Fail-open and its undoing, on a timer.
    fn watch_claude_code(&mut self, now: Instant) {
        let healthy = self.healthy_url().map(str::to_string);
        match (&healthy, self.unhealthy_since) {
            (Some(_), Some(_)) => {
                self.unhealthy_since = None;
                self.reported.clear();
            }
            (None, None) => {
                self.unhealthy_since = Some(self.last_healthy.unwrap_or(now));
                self.reported.clear();
            }
            _ => {}
        }
        if now < self.next_settings_check {
            return;
        }
        self.next_settings_check = now + SETTINGS_CHECK;
        match (healthy, self.unhealthy_since) {
            (Some(url), _) => self.resume_claude_code(&url),
            (None, Some(since)) => {
                if now.duration_since(since) >= Duration::from_secs(self.config.supervisor.fail_open_after_secs) {
                    let reason = match self.phase {
                        Phase::Stopped if self.app.proxy_enabled == Some(false) => SuspendReason::ProxyStopped,
                        _ => SuspendReason::Unhealthy,
                    };
                    // A running gateway's own probe has just failed: asking
                    // again would only add the probe's timeout.
                    let only_if_dead = !matches!(self.phase, Phase::Running { .. });
                    self.suspend_claude_code(reason, only_if_dead);
                }
            }
            (None, None) => {}
        }
    }

    /// Settings files to keep off a dead gateway. Those already suspended
    /// count too: one the user configured again during the outage points at
    /// the dead gateway once more and must be taken off it again.
    fn watched(&self) -> Vec<ClaudeTarget> {
        let mut targets: Vec<ClaudeTarget> = Vec::new();
        for target in self.options.claude_code.iter().chain(&self.app.claude_code) {
            if !targets.contains(target) {
                targets.push(target.clone());
            }
        }
        targets
    }

    /// Takes the gateway out of every watched settings file that points at
    /// it. With `only_if_dead`, not if something answers at its URL after
    /// all (a gateway started by hand), as Claude Code is not stranded then.
    fn suspend_claude_code(&mut self, reason: SuspendReason, only_if_dead: bool) {
        let url = self.gateway_url();
        let mut pointing = Vec::new();
        for target in self.watched() {
            match fail_open::points_at(&self.options.paths, &target, &url) {
                Ok(true) => pointing.push(target),
                Ok(false) => {}
                Err(error) => self.report(&target, error),
            }
        }
        if pointing.is_empty() || (only_if_dead && crate::gateway_client::health(&url).is_ok()) {
            return;
        }
        let mut files = Vec::new();
        for target in pointing {
            match fail_open::suspend(&self.options.paths, &target, reason) {
                Ok(suspended) => {
                    files.extend(fail_open::settings_path(&self.options.paths, &target).ok());
                    // One record per file: the newest removal describes it.
                    self.app.suspended.retain(|s| s.target != target);
                    self.app.suspended.push(suspended);
                }
                Err(error) => self.report(&target, error),
            }
        }
        if files.is_empty() {
            return;
        }
        let list = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
        self.log.note(&format!("fail-open ({reason:?}): Claude Code now talks to Anthropic directly; changed {list}"));
        let _ = self.save_app();
        self.emit(SupervisorEvent::FailOpenApplied { reason, settings_files: files });
    }

    /// Points the settings fail-open changed back at the healthy gateway.
    fn resume_claude_code(&mut self, url: &str) {
        if self.app.suspended.is_empty() {
            return;
        }
        let before = self.app.suspended.len();
        let mut files = Vec::new();
        let mut kept = Vec::new();
        for suspended in std::mem::take(&mut self.app.suspended) {
            let path = fail_open::settings_path(&self.options.paths, &suspended.target).unwrap_or_default();
            match fail_open::resume(&self.options.paths, &suspended, url) {
                Ok(Resumed::Reapplied) => files.push((path, suspended.reason)),
                Ok(Resumed::AlreadyConfigured) => {}
                Ok(Resumed::LeftAlone(why)) => {
                    self.log.note(&format!("left {} as it is: {why}", path.display()));
                    self.emit(SupervisorEvent::FailOpenLeftAlone { settings_file: path, why });
                }
                Err(error) => {
                    self.report(&suspended.target, error);
                    kept.push(suspended);
                }
            }
        }
        let changed = kept.len() != before;
        self.app.suspended = kept;
        if changed {
            let _ = self.save_app();
        }
        if !files.is_empty() {
            let list = files.iter().map(|(f, _)| f.display().to_string()).collect::<Vec<_>>().join(", ");
            self.log.note(&format!("the gateway is healthy: Claude Code uses it again ({list})"));
        }
        // One event per reason: the user's own "Proxy" click is not news, a
        // recovery is.
        while let Some((_, reason)) = files.first() {
            let reason = *reason;
            let (same, rest): (Vec<_>, Vec<_>) = files.into_iter().partition(|(_, r)| *r == reason);
            files = rest;
            let settings_files = same.into_iter().map(|(f, _)| f).collect();
            self.emit(SupervisorEvent::FailOpenReverted { reason, settings_files });
        }
    }

    /// Reports a settings file error once per outage or recovery, not every second.
    fn report(&mut self, target: &ClaudeTarget, error: String) {
        let path = fail_open::settings_path(&self.options.paths, target).unwrap_or_default();
        if self.reported.insert(path.clone()) {
            self.log.note(&format!("Claude Code settings: {error}"));
            self.emit(SupervisorEvent::ClaudeCodeError { settings_file: path, error });
        }
    }

    fn configure_claude_code(&mut self, target: ClaudeTarget) -> Result<Configured, SupervisorError> {
        let url = self.healthy_url().ok_or(SupervisorError::NotRunning)?.to_string();
        let configured = setup::configure(&self.options.paths, target.scope(), target.project_dir(), &url)
            .map_err(|e| SupervisorError::ClaudeCode(crate::error_chain::describe(&e)))?;
        // A fresh choice by the user replaces whatever fail-open remembered.
        self.app.suspended.retain(|s| s.target != target);
        if !self.app.claude_code.contains(&target) {
            self.app.claude_code.push(target);
        }
        self.save_app()?;
        Ok(configured)
    }

    fn configure_team(&mut self, target: ClaudeTarget, team: &str) -> Result<Configured, SupervisorError> {
        let failed = |e: anyhow::Error| SupervisorError::ClaudeCode(crate::error_chain::describe(&e));
        let config = Config::load(&self.options.paths.config_file()).map_err(|e| failed(e.into()))?;
        let configured =
            setup::configure_team(&self.options.paths, &config, target.scope(), target.project_dir(), team)
                .map_err(failed)?;
        // Claude Code talks to the team proxy now: nothing for the app to
        // keep on, or put back on, the gateway in this file.
        self.app.suspended.retain(|s| s.target != target);
        self.app.claude_code.retain(|t| t != &target);
        self.save_app()?;
        Ok(configured)
    }

    fn remove_claude_code(&mut self, target: &ClaudeTarget) -> Result<(PathBuf, RemoveOutcome), SupervisorError> {
        // Forget first: even if the edit fails, the user does not want the gateway back in this file.
        self.app.suspended.retain(|s| &s.target != target);
        self.app.claude_code.retain(|t| t != target);
        self.save_app()?;
        setup::remove(&self.options.paths, target.scope(), target.project_dir())
            .map_err(|e| SupervisorError::ClaudeCode(crate::error_chain::describe(&e)))
    }
}
