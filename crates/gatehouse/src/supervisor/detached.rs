//! Looking after the gateway while the desktop app is closed.
//!
//! "Keep the gateway running after quit" leaves the gateway serving Claude
//! Code with no app around. Unwatched, a gateway that then crashes or hangs
//! would leave Claude Code pointing at nothing. So the quitting app hands
//! the gateway over to `gatehouse gateway supervise`: the same
//! [`Supervisor`], without a GUI, which restarts the gateway after a crash
//! and applies fail-open, until the app launches again and takes it back.
//! The same happens when the app vanishes without quitting (the gateway's
//! [`super::watchdog`] starts it), and at login while Claude Code points at
//! the gateway ([`super::at_login`]). It also runs on its own, on a machine
//! without a desktop.
//!
//! Signals tell it what to do when it ends:
//! - SIGTERM, SIGINT or SIGHUP: Claude Code is restored and the gateway
//!   stopped, as the app's "Quit" does. This is what a logout or a shutdown
//!   sends, so Claude Code is never left pointing at a gateway that is about
//!   to die;
//! - SIGUSR1: hand back to the app: leave the gateway and Claude Code's
//!   settings as they are, and exit.
//!
//! There is only ever one supervisor: it holds [`SupervisorLock`], whose
//! file names its pid.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

use super::lock::{Headless, SupervisorLock};
use super::{Supervisor, SupervisorOptions, binary};
use crate::config::Config;
use crate::paths::Paths;

/// How long a supervisor started to take over waits for the one before it
/// (the quitting app) to let go.
const TAKEOVER_WAIT: Duration = Duration::from_secs(10);

/// How long any other supervisor waits for the lock.
const BRIEF_WAIT: Duration = Duration::from_secs(2);

/// Why `gatehouse gateway supervise` was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// By hand: it is an error if something already looks after the gateway.
    Manual,
    /// To take over from an app that quit or vanished: it waits for the app
    /// to let go, and leaves quietly if another supervisor got there first.
    Takeover,
    /// At login, by the entry [`super::at_login`] keeps: it leaves quietly
    /// if the app already runs, or if Claude Code no longer needs it.
    AtLogin,
}

/// Where its own messages go when the app or the gateway started it (the
/// gateway's output and the supervisor's notes go to the gateway log, as in
/// the app).
fn log_file(paths: &Paths) -> PathBuf {
    paths.log_dir.join("supervise.log")
}

/// `gatehouse gateway supervise`: runs the gateway as the app would (or
/// adopts the one the app left running) until a signal says how to end.
pub fn run(options: SupervisorOptions, start: Start) -> anyhow::Result<()> {
    let paths = options.paths.clone();
    if start == Start::AtLogin && !super::at_login::needed(&paths) {
        tracing::info!("Claude Code does not point at the gateway any more; nothing to look after");
        return Ok(());
    }
    if start == Start::Takeover && home_gone(&paths) {
        // Nothing of the app that started the gateway is left to resume:
        // starting a gateway from defaults would take the default port.
        tracing::info!("{} is gone; nothing to look after", paths.state_dir.display());
        return Ok(());
    }
    // Handlers first: SIGUSR1's default action would kill the process, and
    // the app may send it as soon as the lock names this process.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (mut terminate, mut interrupt, mut hang_up, mut hand_back) = runtime.block_on(async {
        anyhow::Ok((
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
            signal(SignalKind::hangup())?,
            signal(SignalKind::user_defined1())?,
        ))
    })?;
    // Even when nobody supervises, a gateway's watchdog may hold the lock
    // for an instant to look at it: a moment's patience tells the two apart.
    let wait = if start == Start::Takeover { TAKEOVER_WAIT } else { BRIEF_WAIT };
    let lock = SupervisorLock::acquire(&paths, wait, Headless::Respect)
        .with_context(|| format!("cannot lock {}", paths.state_dir.display()))?;
    let Some(lock) = lock else {
        let holder = SupervisorLock::holder(&paths).map_or_else(String::new, |pid| format!(" (pid {pid})"));
        if start == Start::Manual {
            anyhow::bail!(
                "the Gatehouse app or another `gatehouse gateway supervise`{holder} already looks after the gateway"
            );
        }
        tracing::info!("the gateway is already looked after{holder}");
        return Ok(());
    };
    let supervisor = Supervisor::with_lock(options, lock)?;
    let result = supervisor.resume_last_state();
    if let Err(error) = &result {
        tracing::warn!("cannot start the gateway: {error}");
    }
    tracing::info!("looking after the gateway; SIGUSR1 hands it back to the app, SIGTERM quits");

    let handed_back = runtime.block_on(async {
        tokio::select! {
            _ = terminate.recv() => false,
            _ = interrupt.recv() => false,
            _ = hang_up.recv() => false,
            _ = hand_back.recv() => true,
        }
    });
    tracing::info!("{}", if handed_back { "handing the gateway back to the app" } else { "quitting" });
    Ok(supervisor.shutdown_for_quit(handed_back)?)
}

/// For the app's "Quit" with "keep the gateway running": starts
/// `gatehouse gateway supervise` detached from the app, with the
/// environment the app gives its gateway. Returns its pid.
pub fn hand_over(options: &SupervisorOptions) -> anyhow::Result<u32> {
    // A broken config.toml still gets the gateway looked after, by the
    // gatehouse next to the app or on PATH.
    let configured = Config::load(&options.paths.config_file()).ok().and_then(|config| config.supervisor.gatehouse_bin);
    let bin = binary::locate(configured.as_deref(), &options.paths.data_dir).map_err(anyhow::Error::msg)?;
    spawn(&bin, &options.paths, &options.env)
}

/// For a gateway whose supervisor vanished: starts `gatehouse gateway
/// supervise` (this very executable) with the gateway's own environment.
pub(crate) fn takeover(paths: &Paths) -> anyhow::Result<u32> {
    if home_gone(paths) {
        anyhow::bail!("{} is gone (the Gatehouse home was deleted); nothing to look after", paths.state_dir.display());
    }
    spawn(&std::env::current_exe()?, paths, &[])
}

/// Whether the Gatehouse home a gateway was started in has been deleted
/// (its state directory, which every supervised start creates, is gone).
fn home_gone(paths: &Paths) -> bool {
    !paths.state_dir.is_dir()
}

fn spawn(bin: &Path, paths: &Paths, env: &[(OsString, OsString)]) -> anyhow::Result<u32> {
    crate::fs_atomic::create_private_dir(&paths.log_dir)?;
    let log = OpenOptions::new().create(true).append(true).open(log_file(paths))?;
    let child = Command::new(bin)
        .args(["gateway", "supervise", "--takeover"])
        .envs(env.iter().map(|(name, value)| (name, value)))
        .env_remove(super::watchdog::SUPERVISED_ENV)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C meant for the app's terminal must
        // not take it along.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run `{} gateway supervise`", bin.display()))?;
    Ok(child.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_home_is_not_taken_over_nor_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("gatehouse");
        let paths = Paths::under(&home);
        let error = takeover(&paths).unwrap_err();
        assert!(error.to_string().contains("the Gatehouse home was deleted"), "{error}");
        assert!(!home.exists(), "nothing was created where the home was");
    }
}
