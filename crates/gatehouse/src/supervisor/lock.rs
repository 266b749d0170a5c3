//! One supervisor at a time: `state/supervisor.lock`.
//!
//! Whoever looks after the gateway, the desktop app or `gatehouse gateway
//! supervise`, holds an exclusive lock on this file for as long as it does,
//! and writes its pid into it. The kernel drops the lock the moment that
//! process ends, however it ends: Quit, a crash, SIGKILL, the session going
//! away. So the lock is the one reliable answer to "does anybody look after
//! the gateway?": a gateway whose supervisor vanished finds out from it (see
//! [`super::watchdog`]), and a second supervisor knows it is not needed.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fs4::FileExt;

use super::process;
use crate::paths::Paths;

/// How often a waiting supervisor tries the lock again.
const RETRY: Duration = Duration::from_millis(50);

/// Where the lock lives.
fn file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("supervisor.lock")
}

/// The held lock; dropping it (or the process ending) lets go.
#[derive(Debug)]
pub(crate) struct SupervisorLock {
    _file: File,
}

/// What a supervisor does about a headless one that holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Headless {
    /// Asks it to hand the gateway back (SIGUSR1), as the app does at launch.
    TakeBack,
    /// Leaves it be, as another headless supervisor does.
    Respect,
}

impl SupervisorLock {
    /// Takes the lock, waiting up to `wait` for the holder to let go. With
    /// [`Headless::TakeBack`], a `gatehouse gateway supervise` holding it is
    /// asked to hand the gateway back, and killed if it has not within
    /// `wait`. `Ok(None)` when someone else still holds it.
    pub(crate) fn acquire(paths: &Paths, wait: Duration, headless: Headless) -> io::Result<Option<SupervisorLock>> {
        let mut file = crate::file_lock::open(&file(paths))?;
        let deadline = Instant::now() + wait;
        let mut asked: Option<u32> = None;
        loop {
            match FileExt::try_lock(&file) {
                Ok(()) => break,
                Err(fs4::TryLockError::WouldBlock) => {}
                Err(fs4::TryLockError::Error(error)) => return Err(error),
            }
            let holder = holder_in(&mut file).and_then(process::inspect).filter(|p| p.is_headless_supervisor);
            let now = Instant::now();
            match holder {
                Some(holder) if headless == Headless::TakeBack && asked != Some(holder.pid) => {
                    tracing::info!("taking the gateway back from {holder}");
                    let _ = process::signal_if_unchanged(&holder, libc::SIGUSR1);
                    asked = Some(holder.pid);
                }
                Some(holder) if headless == Headless::TakeBack && now >= deadline => {
                    tracing::warn!("{holder} did not hand the gateway back within {} s; killing it", wait.as_secs());
                    let _ = process::signal_if_unchanged(&holder, libc::SIGKILL);
                    // Its lock goes with it: one more wait.
                    return Self::acquire(paths, wait, Headless::Respect);
                }
                _ if now >= deadline => return Ok(None),
                _ => {}
            }
            std::thread::sleep(RETRY);
        }
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(std::process::id().to_string().as_bytes())?;
        file.sync_all()?;
        Ok(Some(SupervisorLock { _file: file }))
    }

    /// Whether anybody holds the lock now. Takes it for an instant to find
    /// out, so a supervisor acquiring it meanwhile waits one retry.
    pub(crate) fn is_held(paths: &Paths) -> bool {
        let Ok(file) = File::open(file(paths)) else { return false };
        matches!(FileExt::try_lock(&file), Err(fs4::TryLockError::WouldBlock))
    }

    /// The pid of the process that holds the lock, if anybody does.
    pub(crate) fn holder(paths: &Paths) -> Option<u32> {
        if !Self::is_held(paths) {
            return None;
        }
        holder_in(&mut File::open(file(paths)).ok()?)
    }
}

/// The pid written in the lock file.
fn holder_in(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_the_lock_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        assert!(!SupervisorLock::is_held(&paths));
        let held = SupervisorLock::acquire(&paths, Duration::ZERO, Headless::Respect).unwrap().unwrap();
        assert!(SupervisorLock::is_held(&paths));
        assert_eq!(SupervisorLock::holder(&paths), Some(std::process::id()));
        // The holder (this process) is no headless supervisor: nothing to take back.
        let second = SupervisorLock::acquire(&paths, Duration::from_millis(200), Headless::TakeBack).unwrap();
        assert!(second.is_none(), "two supervisors held the lock at once");
        drop(held);
        // Another test's child process, forked but not yet exec'd, can hold
        // a copy of the lock's descriptor for a moment (close-on-exec closes
        // it only at exec): the lock is free once that moment passes.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while SupervisorLock::is_held(&paths) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!SupervisorLock::is_held(&paths));
        assert_eq!(SupervisorLock::holder(&paths), None);
        assert!(SupervisorLock::acquire(&paths, Duration::ZERO, Headless::Respect).unwrap().is_some());
    }
}
