//! `gatehouse quit`: what the app's "Quit" does, from outside the app.
//!
//! A person at a terminal, or the package's removal (its `prerm` runs this
//! as each user with Gatehouse files), ends Gatehouse with it: the app is
//! asked to quit (SIGTERM, which ends it as "Quit" does); a headless
//! `gatehouse gateway supervise` still looking after the gateway (the app's
//! "Keep gateway running after quit") is asked the same; a gateway left
//! running with nobody looking after it is stopped; and every Claude Code
//! settings file the app looks after that still points at the gateway is
//! restored, exactly as "Quit" restores it. The user's data and settings
//! stay. With `forget_login`, both autostart entries go as well ("Start at
//! login" and the gateway's login entry), because the programs they run are
//! about to be removed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::lock::SupervisorLock;
use super::{Supervisor, SupervisorError, SupervisorOptions, at_login, process};
use crate::app_state::AppState;

/// How long the app, or a headless supervisor, gets to quit after SIGTERM:
/// it restores Claude Code and stops the gateway first.
const QUIT_WAIT: Duration = Duration::from_secs(30);
/// How long a gateway nobody looks after gets to stop.
const GATEWAY_STOP_WAIT: Duration = Duration::from_secs(10);
/// How often a waiting quit looks again.
const POLL: Duration = Duration::from_millis(100);

/// What went wrong, for the one line the command prints.
#[derive(Debug, thiserror::Error)]
pub enum QuitError {
    #[error(
        "{what} (pid {pid}) did not quit within {secs} s of SIGTERM; end it (kill {pid}) and run `gatehouse quit` again"
    )]
    StillRunning { what: &'static str, pid: u32, secs: u64 },
    #[error("cannot ask {what} (pid {pid}) to quit: {source}")]
    Signal { what: &'static str, pid: u32, source: std::io::Error },
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    #[error("cannot remove {path}: {source}; remove it by hand")]
    Entry { path: PathBuf, source: std::io::Error },
}

/// What [`quit`] did, for the command to say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Quitted {
    /// The app, or headless supervisors, that were asked to quit.
    pub supervisors: Vec<u32>,
    /// The gateway stopped because nobody looked after it.
    pub orphan_gateway: Option<u32>,
    /// Autostart entries removed (with `forget_login`).
    pub removed_entries: Vec<PathBuf>,
}

/// Quits Gatehouse for the files `options` names; see the module
/// documentation.
pub fn quit(options: SupervisorOptions, forget_login: bool) -> Result<Quitted, QuitError> {
    let paths = options.paths.clone();
    let mut done = Quitted::default();
    // Whoever holds the lock looks after the gateway. The app hands over to
    // a headless supervisor when the user chose to keep the gateway running:
    // that one is asked next.
    while let Some(holder) = SupervisorLock::holder(&paths).and_then(process::inspect) {
        let what = if holder.is_headless_supervisor { "`gatehouse gateway supervise`" } else { "the Gatehouse app" };
        process::signal_if_unchanged(&holder, libc::SIGTERM).map_err(|source| QuitError::Signal {
            what,
            pid: holder.pid,
            source,
        })?;
        wait_until(QUIT_WAIT, || process::inspect(holder.pid).is_none_or(|now| now.start_time != holder.start_time))
            .then_some(())
            .ok_or(QuitError::StillRunning { what, pid: holder.pid, secs: QUIT_WAIT.as_secs() })?;
        done.supervisors.push(holder.pid);
        if !holder.is_headless_supervisor && handed_over(&options) {
            // The supervisor it started takes the lock within moments.
            wait_until(QUIT_WAIT, || SupervisorLock::is_held(&paths));
        }
    }
    // Nobody looks after the gateway now: this process does, for as long as
    // it takes to stop a gateway left running and restore Claude Code, so no
    // gateway's watchdog starts a supervisor meanwhile.
    let supervisor = Supervisor::new(options.clone())?;
    if let Some((_, gateway)) = super::worker::earlier_gateway(&paths) {
        let ended = process::stop_orphan(&gateway, GATEWAY_STOP_WAIT);
        tracing::info!("stopped the gateway nobody looked after: {gateway} {ended}");
        done.orphan_gateway = Some(gateway.pid);
    }
    supervisor.shutdown_for_quit(false)?;
    if forget_login && let Some(dir) = &options.autostart_dir {
        for path in [dir.join(at_login::ENTRY), crate::desktop::start_at_login::entry_path(dir)] {
            match std::fs::remove_file(&path) {
                Ok(()) => done.removed_entries.push(path),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(QuitError::Entry { path, source }),
            }
        }
    }
    Ok(done)
}

/// Whether the app, as it quit, left the gateway to a headless supervisor.
fn handed_over(options: &SupervisorOptions) -> bool {
    let (app, _) = AppState::load(&options.paths);
    app.keep_gateway_after_quit && app.proxy_enabled == Some(true)
}

/// Polls `done` until it holds or `wait` has passed; whether it held.
fn wait_until(wait: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}
