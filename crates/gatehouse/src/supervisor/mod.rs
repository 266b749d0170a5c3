//! The supervisor: how the desktop app runs the gateway, without any GUI.
//!
//! The tray app never serves Claude Code's traffic itself. It runs
//! `gatehouse gateway run` as a separate process and looks after it, so a
//! crash of the UI never takes the gateway down, and a crash of the gateway
//! never takes Claude Code down. This module is everything that looking
//! after involves; the Tauri shell only forwards clicks to it and draws its
//! state.
//!
//! # What it does
//!
//! - **Start**: finds the `gatehouse` binary, spawns it with its secrets in
//!   the environment (never argv), and calls it running once it has written
//!   its runtime file (`state/gateway.json`) and answers `GET /health`. If a gateway from an earlier run of the app is still
//!   alive (quit with "keep running", or the app crashed), it is *adopted*
//!   when it listens where the config says and is healthy, and replaced
//!   otherwise; there are never two. If any other process holds the port,
//!   the error names it.
//! - **Watch**: the gateway's stdout and stderr go to `logs/gateway.log`
//!   (rotated) and the last lines are kept in memory for the UI. A crash is
//!   followed by a restart with exponential backoff; too many crashes in a
//!   window end in [`GatewayState::Failed`] with the last log lines. A
//!   gateway that stops answering `/health` for `health_timeout_secs` is
//!   killed and restarted.
//! - **Fail-open**: whenever the gateway is unhealthy for
//!   `fail_open_after_secs`, Claude Code settings that point at it are
//!   restored so Claude Code talks to Anthropic directly; they are pointed
//!   at the gateway again once it is healthy. Turning the proxy off and
//!   quitting do the same at once.
//! - **Stop**: SIGTERM, so in-flight responses finish and the ledger
//!   commits; SIGKILL after `stop_timeout_secs`.
//!
//! # API for the shell
//!
//! Every method is synchronous and returns quickly, except [`Supervisor::stop`],
//! [`Supervisor::restart`] and [`Supervisor::shutdown_for_quit`], which wait
//! for the gateway to exit: call them from a blocking task, not the UI
//! thread. The work happens on one background thread, so calls from any
//! thread are serialised.
//!
//! ```no_run
//! use gatehouse::supervisor::{GatewayState, Supervisor, SupervisorOptions};
//!
//! # fn main() -> anyhow::Result<()> {
//! let supervisor = Supervisor::new(SupervisorOptions::from_env()?)?;
//! supervisor.resume_last_state()?; // starts the proxy unless the user left it off
//! let mut states = supervisor.watch(); // tokio watch: redraw the tray on change
//! let mut events = supervisor.subscribe(); // tokio broadcast: notifications
//! if let GatewayState::Failed { reason, last_lines } = supervisor.state() {
//!     eprintln!("{reason}\n{}", last_lines.join("\n"));
//! }
//! let keep = supervisor.app_state().keep_gateway_after_quit;
//! supervisor.shutdown_for_quit(keep)?;
//! # Ok(()) }
//! ```

pub mod at_login;
pub(crate) mod backoff;
pub(crate) mod binary;
pub mod detached;
mod fail_open;
mod lock;
mod logs;
mod port;
mod process;
pub mod quit;
pub(crate) mod watchdog;
mod worker;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;

use serde::Serialize;
use tokio::sync::{broadcast, watch};

pub use crate::app_state::{AppState, ClaudeTarget, SuspendReason, Suspended};
use crate::claude_code::settings_store::RemoveOutcome;
use crate::claude_code::setup::Configured;
use crate::paths::Paths;
use lock::{Headless, SupervisorLock};
use logs::{GatewayLog, LogRing};
use worker::{Reply, Request, Worker};

/// The gateway as the tray shows it.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GatewayState {
    Stopped,
    Starting,
    /// Running and answering `/health`. `adopted` when it was left running
    /// by an earlier run of the app rather than started by this one.
    Running {
        base_url: String,
        pid: u32,
        adopted: bool,
    },
    /// The process is alive but `/health` fails (the tray's "degraded").
    Unhealthy {
        base_url: String,
        pid: u32,
        error: String,
    },
    /// It crashed; the next start is due in `retry_in_ms`.
    Restarting {
        attempt: u32,
        last_error: String,
        retry_in_ms: u64,
    },
    /// It could not be started, or crashed too often; it stays down until
    /// the user starts it again.
    Failed {
        reason: String,
        last_lines: Vec<String>,
    },
}

/// Something the user may want to be told about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SupervisorEvent {
    Started {
        base_url: String,
        pid: u32,
        adopted: bool,
    },
    Crashed {
        error: String,
        attempt: u32,
        retry_in_ms: u64,
    },
    /// Given up after too many crashes; the state is now `Failed`.
    CrashLoop {
        reason: String,
        last_lines: Vec<String>,
    },
    Stopped,
    /// Claude Code's settings no longer point at the gateway.
    FailOpenApplied {
        reason: SuspendReason,
        settings_files: Vec<PathBuf>,
    },
    /// They point at the gateway again; `reason` is why they had stopped.
    FailOpenReverted {
        reason: SuspendReason,
        settings_files: Vec<PathBuf>,
    },
    /// A file fail-open changed was not put back, because the user changed it since.
    FailOpenLeftAlone {
        settings_file: PathBuf,
        why: String,
    },
    /// A Claude Code settings file could not be read or changed.
    ClaudeCodeError {
        settings_file: PathBuf,
        error: String,
    },
}

/// How long a new supervisor waits for the one before it to let go: a
/// headless one only has to let go of the gateway, not stop it.
const TAKE_BACK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a request to the supervisor failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorError {
    #[error(
        "port {port} is in use by {holder}; stop that process, or choose another port with `[gateway] port` in {}",
        config.display()
    )]
    PortInUse { port: u16, holder_pid: u32, holder: String, config: PathBuf },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    BinaryNotFound(String),
    #[error("cannot start {}: {reason}", bin.display())]
    Spawn { bin: PathBuf, reason: String },
    #[error("the gateway is not running and healthy; turn the proxy on and wait until it runs")]
    NotRunning,
    #[error("{0}")]
    ClaudeCode(String),
    #[error("cannot save the app's state: {0}")]
    State(String),
    #[error("the supervisor has stopped")]
    Gone,
    #[error("{0}")]
    AlreadySupervised(String),
}

/// What a [`Supervisor`] needs to know.
#[derive(Clone)]
pub struct SupervisorOptions {
    pub paths: Paths,
    /// Environment for the gateway, on top of the app's own: for example
    /// the Anthropic API key taken from the keychain. This is the only way
    /// secrets reach it. The gateway finds its files through its
    /// environment, so it must agree with `paths` (see [`Self::under`]).
    pub env: Vec<(OsString, OsString)>,
    /// Claude Code settings files to keep off a dead gateway, besides those
    /// configured through [`Supervisor::configure_claude_code`].
    pub claude_code: Vec<ClaudeTarget>,
    /// Where the entry that starts a supervisor at login goes while Claude
    /// Code points at the gateway (see [`at_login`]); `None`: nowhere.
    pub autostart_dir: Option<PathBuf>,
}

impl std::fmt::Debug for SupervisorOptions {
    /// Names the environment variables but not their values, which may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorOptions")
            .field("paths", &self.paths)
            .field("env", &self.env.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("claude_code", &self.claude_code)
            .field("autostart_dir", &self.autostart_dir)
            .finish()
    }
}

impl SupervisorOptions {
    /// Gatehouse's files where the app finds them (`$GATEHOUSE_HOME` or the
    /// platform's directories); the gateway inherits the same environment.
    pub fn from_env() -> anyhow::Result<SupervisorOptions> {
        Ok(SupervisorOptions {
            paths: Paths::resolve()?,
            env: Vec::new(),
            claude_code: vec![ClaudeTarget::User],
            autostart_dir: at_login::autostart_dir(),
        })
    }

    /// Every file under `home`, for the gateway too (through
    /// `GATEHOUSE_HOME`), the login entry included (in `home/autostart`).
    pub fn under(home: &Path) -> SupervisorOptions {
        SupervisorOptions {
            paths: Paths::under(home),
            env: vec![(crate::paths::HOME_ENV.into(), home.into())],
            claude_code: vec![ClaudeTarget::User],
            autostart_dir: Some(home.join("autostart")),
        }
    }
}

/// Runs and watches the gateway; see the module documentation.
pub struct Supervisor {
    /// `None` once the worker has been told to quit.
    requests: Mutex<Option<mpsc::Sender<Request>>>,
    state: watch::Receiver<GatewayState>,
    app: watch::Receiver<AppState>,
    events: broadcast::Sender<SupervisorEvent>,
    logs: LogRing,
    log_path: PathBuf,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Supervisor {
    /// Becomes the one supervisor of the gateway (taking it back from a
    /// `gatehouse gateway supervise` that looks after it, see
    /// [`detached`]), opens the log, reads the app's state and starts the
    /// background thread. The gateway is not started: call
    /// [`Self::resume_last_state`] or [`Self::start`].
    pub fn new(options: SupervisorOptions) -> Result<Supervisor, SupervisorError> {
        let lock = SupervisorLock::acquire(&options.paths, TAKE_BACK_WAIT, Headless::TakeBack)
            .map_err(|e| SupervisorError::State(format!("cannot lock {}: {e}", options.paths.state_dir.display())))?
            .ok_or_else(|| {
                let holder = SupervisorLock::holder(&options.paths).map_or_else(String::new, |p| format!(" (pid {p})"));
                SupervisorError::AlreadySupervised(format!(
                    "another Gatehouse app{holder} already looks after the gateway for {}",
                    options.paths.state_dir.display()
                ))
            })?;
        Self::with_lock(options, lock)
    }

    /// [`Self::new`] for a supervisor that already holds the lock.
    pub(crate) fn with_lock(options: SupervisorOptions, lock: SupervisorLock) -> Result<Supervisor, SupervisorError> {
        let log = GatewayLog::open(&options.paths.log_dir).map_err(|e| {
            SupervisorError::State(format!("cannot open the log in {}: {e}", options.paths.log_dir.display()))
        })?;
        let (state_tx, state) = watch::channel(GatewayState::Stopped);
        let (events, _) = broadcast::channel(64);
        let (requests, inbox) = mpsc::channel();
        let logs = log.ring();
        let log_path = log.path().to_path_buf();
        let worker = Worker::new(options, log, state_tx, events.clone());
        let app = worker.app_tx.subscribe();
        let worker = std::thread::Builder::new()
            .name("gatehouse-supervisor".into())
            .spawn(move || {
                // Held for exactly as long as the gateway is looked after.
                let _lock = lock;
                worker.run(&inbox);
            })
            .map_err(|e| SupervisorError::State(format!("cannot start the supervisor thread: {e}")))?;
        Ok(Supervisor {
            requests: Mutex::new(Some(requests)),
            state,
            app,
            events,
            logs,
            log_path,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Starts the gateway and remembers that the proxy is on. Returns once
    /// it is starting (or adopted); readiness shows in [`Self::state`].
    pub fn start(&self) -> Result<(), SupervisorError> {
        self.ask(Request::Start)?
    }

    /// Takes Claude Code off the gateway, stops the gateway, and remembers
    /// that the proxy is off.
    pub fn stop(&self) -> Result<(), SupervisorError> {
        self.ask(Request::Stop)?
    }

    /// Stops the gateway and starts it again, with a fresh crash count and
    /// the config re-read.
    pub fn restart(&self) -> Result<(), SupervisorError> {
        self.ask(Request::Restart)?
    }

    /// At launch: starts the proxy unless the user turned it off last time
    /// (on the very first launch it starts).
    pub fn resume_last_state(&self) -> Result<(), SupervisorError> {
        self.ask(Request::ResumeLastState)?
    }

    pub fn state(&self) -> GatewayState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change.
    pub fn watch(&self) -> watch::Receiver<GatewayState> {
        self.state.clone()
    }

    /// Events from now on. A receiver that falls more than 64 events behind
    /// loses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.events.subscribe()
    }

    /// The last `n` lines of the gateway's log (at most 500).
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        self.logs.tail(n)
    }

    /// The log file, for "Open logs".
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Points Claude Code's settings at the running gateway, and keeps them
    /// off it whenever it is down.
    pub fn configure_claude_code(&self, target: ClaudeTarget) -> Result<Configured, SupervisorError> {
        self.ask(|reply| Request::ConfigureClaudeCode(target, reply))?
    }

    /// Points Claude Code's settings straight at the team proxy `team` (a
    /// `remote-litellm` upstream of the config): the app no longer keeps
    /// that file on the gateway, and fail-open never touches it.
    pub fn configure_team(&self, target: ClaudeTarget, team: String) -> Result<Configured, SupervisorError> {
        self.ask(|reply| Request::ConfigureTeam(target, team, reply))?
    }

    /// Takes the gateway out of Claude Code's settings for good: it is not
    /// put back when the gateway recovers.
    pub fn remove_claude_code(&self, target: ClaudeTarget) -> Result<(PathBuf, RemoveOutcome), SupervisorError> {
        self.ask(|reply| Request::RemoveClaudeCode(target, reply))?
    }

    /// What the app remembers (the switches, what fail-open changed).
    pub fn app_state(&self) -> AppState {
        self.app.borrow().clone()
    }

    /// Whether Claude Code was taken off the gateway because it is unhealthy
    /// and is waiting to be put back (the tray's "degraded").
    pub fn fail_open_active(&self) -> bool {
        self.app.borrow().suspended.iter().any(|s| s.reason == SuspendReason::Unhealthy)
    }

    pub fn set_keep_gateway_after_quit(&self, keep: bool) -> Result<(), SupervisorError> {
        self.ask(|reply| Request::KeepGatewayAfterQuit(keep, reply))?
    }

    /// For the app's exit. With `keep_running`, a healthy gateway is left
    /// running on its own (the next launch adopts it) and Claude Code stays
    /// on it. Otherwise Claude Code is restored first, then the gateway
    /// stopped; the next launch puts Claude Code back on the gateway.
    ///
    /// Afterwards every other call returns [`SupervisorError::Gone`].
    /// Dropping the supervisor without calling this is the same as
    /// `shutdown_for_quit(false)`.
    pub fn shutdown_for_quit(&self, keep_running: bool) -> Result<(), SupervisorError> {
        let result = self.ask(|reply| Request::Quit(keep_running, reply));
        self.join();
        result?
    }

    fn ask<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T, SupervisorError> {
        let (reply, answer) = mpsc::sync_channel(1);
        lock(&self.requests)
            .as_ref()
            .ok_or(SupervisorError::Gone)?
            .send(request(reply))
            .map_err(|_| SupervisorError::Gone)?;
        // Not holding the lock while waiting: other threads may ask meanwhile.
        answer.recv().map_err(|_| SupervisorError::Gone)
    }

    /// Closes the request channel, which makes the worker quit (if no
    /// `Quit` came first), and waits for it.
    fn join(&self) {
        lock(&self.requests).take();
        let worker = lock(&self.worker).take();
        if let Some(worker) = worker {
            // A panic in the worker has already been reported by the panic hook.
            let _ = worker.join();
        }
    }
}

/// A poisoned lock only means a thread panicked while holding it; what it
/// guards (a channel end, a thread handle) is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_names_environment_variables_but_hides_their_values() {
        let mut options = SupervisorOptions::under(Path::new("/home/gh"));
        options.env.push(("GATEHOUSE_ANTHROPIC_API_KEY".into(), "sk-ant-api03-FAKE-secret".into()));
        let debug = format!("{options:?}");
        assert!(debug.contains("GATEHOUSE_ANTHROPIC_API_KEY") && debug.contains("GATEHOUSE_HOME"), "{debug}");
        assert!(!debug.contains("sk-ant-api03-FAKE-secret"), "{debug}");
    }
}
