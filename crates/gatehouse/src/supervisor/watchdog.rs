//! A supervised gateway that outlives its supervisor calls a new one.
//!
//! The desktop app and `gatehouse gateway supervise` start the gateway with
//! `GATEHOUSE_SUPERVISED=1`. If that supervisor vanishes without handing the
//! gateway over (SIGKILL, a crash, the desktop session dying under it), the
//! gateway keeps answering, so Claude Code keeps working; but nobody would
//! restart it after a crash, or take Claude Code off it if it hung. So the
//! gateway watches the supervisor lock ([`super::lock`]): once nobody has
//! held it for a few seconds, it starts `gatehouse gateway supervise
//! --takeover`, which adopts it. The next launch of the app takes it back as
//! usual.

use std::time::Duration;

use super::lock::SupervisorLock;
use crate::paths::Paths;

/// The variable a supervisor sets for the gateways it starts.
pub(crate) const SUPERVISED_ENV: &str = "GATEHOUSE_SUPERVISED";
/// How often the lock is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Consecutive checks that must find nobody holding it. A supervisor
/// handing over (the app quitting with "keep running", a relaunch taking the
/// gateway back) leaves it free for milliseconds, not seconds.
const UNHELD_CHECKS: u32 = 3;
/// How long a supervisor that was started gets to take the lock before it
/// is looked for again.
const AFTER_TAKEOVER: Duration = Duration::from_secs(15);

/// In a gateway started by a supervisor, watches that supervisor from a
/// background thread for as long as the process runs.
pub(crate) fn start_if_supervised(paths: &Paths) {
    if std::env::var_os(SUPERVISED_ENV).is_none_or(|value| value != "1") {
        return;
    }
    let paths = paths.clone();
    let spawned = std::thread::Builder::new().name("supervisor-watchdog".into()).spawn(move || watch(&paths));
    if let Err(error) = spawned {
        tracing::warn!("cannot watch the supervisor: {error}");
    }
}

fn watch(paths: &Paths) {
    let mut unheld = 0;
    loop {
        std::thread::sleep(CHECK_EVERY);
        if SupervisorLock::is_held(paths) {
            unheld = 0;
            continue;
        }
        unheld += 1;
        if unheld < UNHELD_CHECKS {
            continue;
        }
        unheld = 0;
        tracing::warn!("the app that looked after this gateway is gone; starting `gatehouse gateway supervise`");
        match super::detached::takeover(paths) {
            Ok(pid) => tracing::info!("`gatehouse gateway supervise` (pid {pid}) looks after the gateway now"),
            Err(error) => tracing::warn!("cannot start `gatehouse gateway supervise`: {error:#}"),
        }
        std::thread::sleep(AFTER_TAKEOVER);
    }
}
