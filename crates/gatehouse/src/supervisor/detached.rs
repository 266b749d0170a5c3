//! Looking after the gateway while the desktop app is closed.
//!
//! "Keep the gateway running after quit" leaves the gateway serving Claude
//! Code with no app around. Unwatched, a gateway that then crashes or hangs
//! would leave Claude Code pointing at nothing. So the quitting app hands
//! the gateway over to `gatehouse gateway supervise`: the same
//! [`Supervisor`], without a GUI, which restarts the gateway after a crash
//! and applies fail-open, until the app launches again and takes it back.
//! It also runs on its own, on a machine without a desktop.
//!
//! Signals tell it what to do when it ends:
//! - SIGTERM or SIGINT: what the app's "Quit" does, per "keep the gateway
//!   running after quit";
//! - SIGUSR1: hand back to the app: leave the gateway and Claude Code's
//!   settings as they are, and exit.
//!
//! Its pid is in `state/supervise.pid`; there is only ever one.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::signal::unix::{SignalKind, signal};

use super::process::{self, ProcessInfo};
use super::{Supervisor, SupervisorOptions, binary};
use crate::config::Config;
use crate::paths::Paths;

/// How long a headless supervisor gets to hand the gateway back. It only
/// has to let go of it, not stop it.
const HAND_BACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How often its exit is checked while waiting.
const POLL: Duration = Duration::from_millis(50);

/// Where the running headless supervisor's pid is kept.
fn pid_file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("supervise.pid")
}

/// Where its own messages go when the app started it (the gateway's output
/// and the supervisor's notes go to the gateway log, as in the app).
fn log_file(paths: &Paths) -> PathBuf {
    paths.log_dir.join("supervise.log")
}

/// `gatehouse gateway supervise`: runs the gateway as the app would (or
/// adopts the one the app left running) until a signal says how to end.
pub fn run(options: SupervisorOptions) -> anyhow::Result<()> {
    let paths = options.paths.clone();
    if let Some(other) = running(&paths) {
        bail!("{other} already looks after the gateway; stop it first (kill {})", other.pid);
    }
    // Handlers first: SIGUSR1's default action would kill the process, and
    // the app may send it as soon as the pid file exists.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (mut terminate, mut interrupt, mut hand_back) = runtime.block_on(async {
        anyhow::Ok((
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
            signal(SignalKind::user_defined1())?,
        ))
    })?;
    let supervisor = Supervisor::new(options)?;
    let pid_file = pid_file(&paths);
    crate::fs_atomic::write_private(&pid_file, std::process::id().to_string().as_bytes())
        .with_context(|| format!("cannot write {}", pid_file.display()))?;
    let result = supervisor.resume_last_state();
    if let Err(error) = &result {
        tracing::warn!("cannot start the gateway: {error}");
    }
    tracing::info!("looking after the gateway; SIGUSR1 hands it back to the app, SIGTERM quits");

    let handed_back = runtime.block_on(async {
        tokio::select! {
            _ = terminate.recv() => false,
            _ = interrupt.recv() => false,
            _ = hand_back.recv() => true,
        }
    });
    let keep_running = handed_back || supervisor.app_state().keep_gateway_after_quit;
    tracing::info!("{}", if handed_back { "handing the gateway back to the app" } else { "quitting" });
    let quit = supervisor.shutdown_for_quit(keep_running);
    let _ = std::fs::remove_file(&pid_file);
    Ok(quit?)
}

/// For the app's "Quit" with "keep the gateway running": starts
/// `gatehouse gateway supervise` detached from the app, with the
/// environment the app gives its gateway. Returns its pid.
pub fn hand_over(options: &SupervisorOptions) -> anyhow::Result<u32> {
    let paths = &options.paths;
    // A broken config.toml still gets the gateway looked after, by the
    // gatehouse next to the app or on PATH.
    let configured = Config::load(&paths.config_file()).ok().and_then(|config| config.supervisor.gatehouse_bin);
    let bin = binary::locate(configured.as_deref()).map_err(anyhow::Error::msg)?;
    crate::fs_atomic::create_private_dir(&paths.log_dir)?;
    let log = OpenOptions::new().create(true).append(true).open(log_file(paths))?;
    let child = Command::new(&bin)
        .args(["gateway", "supervise"])
        .envs(options.env.iter().map(|(name, value): &(OsString, OsString)| (name, value)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own session: the app's terminal and desktop session ending
        // must not take it along.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run `{} gateway supervise`", bin.display()))?;
    Ok(child.id())
}

/// At the app's launch: makes a headless supervisor let go of the gateway
/// (which the app then adopts), and waits for it to exit. Returns its pid,
/// if one was running.
pub fn take_back(paths: &Paths) -> Option<u32> {
    let headless = running(paths)?;
    tracing::info!("taking the gateway back from {headless}");
    let _ = process::signal_if_unchanged(&headless, libc::SIGUSR1);
    if !exited(&headless, HAND_BACK_TIMEOUT) {
        tracing::warn!("{headless} did not hand the gateway back within {} s; killing it", HAND_BACK_TIMEOUT.as_secs());
        let _ = process::signal_if_unchanged(&headless, libc::SIGKILL);
        exited(&headless, HAND_BACK_TIMEOUT);
    }
    let _ = std::fs::remove_file(pid_file(paths));
    Some(headless.pid)
}

/// The headless supervisor the pid file names, if it still runs.
fn running(paths: &Paths) -> Option<ProcessInfo> {
    let pid = std::fs::read_to_string(pid_file(paths)).ok()?.trim().parse().ok()?;
    process::inspect(pid).filter(|info| info.is_headless_supervisor && info.pid != std::process::id())
}

fn exited(info: &ProcessInfo, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if process::inspect(info.pid).is_none_or(|now| now.start_time != info.start_time) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_pid_file_names_no_supervisor() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(&paths.state_dir).unwrap();
        // This process is not `gatehouse gateway supervise`, and a dead pid is nobody.
        for pid in [std::process::id(), u32::MAX / 2] {
            std::fs::write(pid_file(&paths), pid.to_string()).unwrap();
            assert_eq!(running(&paths), None);
            assert_eq!(take_back(&paths), None);
        }
    }
}
