//! Test hooks read from the environment, so tests can stop a real
//! `gatehouse` process at an exact step instead of killing it at a lucky
//! moment.
//!
//! - `GATEHOUSE_TEST_ABORT_AT=<step>` aborts the process (as `kill -9`
//!   would: no destructors, no clean-up) when it reaches the named step. The
//!   steps are the `&'static str` names passed to [`abort_at`].
//! - `GATEHOUSE_TEST_WAITING_FILE=<path>` is created when Gatehouse finds a
//!   Claude Code settings file that another program is still writing and
//!   waits for it to settle, so a test knows the wait has begun.
//! - `GATEHOUSE_TEST_SETTLE_MS=<ms>` replaces how long a blank or unreadable
//!   settings file must stay untouched before it is believed (see
//!   `settings_store`).
//! - `GATEHOUSE_TEST_HOLD_LEDGER_WHILE=<path>` makes the gateway's ledger
//!   writer commit nothing while that file exists (rows wait in memory, as
//!   while the disk is full), so a test can make the gateway record a
//!   request after the transcript import did.
//! - `GATEHOUSE_TEST_PAUSE_AT=<step>=<path>` makes the process, when it
//!   reaches the named step (see [`pause_at`]), create `<path>.reached` and
//!   then wait while `<path>` exists. With no file at `<path>` it only
//!   announces the step. Two `auth add` into the plain-file store race
//!   deterministically this way.
//!
//! None of them is set in normal use; each is read only on its own (cold) path.

use std::path::PathBuf;
use std::time::Duration;

const ABORT_AT: &str = "GATEHOUSE_TEST_ABORT_AT";
const WAITING_FILE: &str = "GATEHOUSE_TEST_WAITING_FILE";
const SETTLE_MS: &str = "GATEHOUSE_TEST_SETTLE_MS";
const HOLD_LEDGER: &str = "GATEHOUSE_TEST_HOLD_LEDGER_WHILE";
const PAUSE_AT: &str = "GATEHOUSE_TEST_PAUSE_AT";

/// Aborts the process if a test asked to stop at `step`.
pub(crate) fn abort_at(step: &'static str) {
    if std::env::var_os(ABORT_AT).is_some_and(|wanted| wanted == step) {
        eprintln!("gatehouse: aborting at test failpoint {step}");
        std::process::abort();
    }
}

/// Tells a waiting test that Gatehouse is waiting for a file to settle.
pub(crate) fn announce_waiting() {
    if let Some(path) = std::env::var_os(WAITING_FILE) {
        // A test hook: if the file cannot be created the test times out and says so.
        let _ = std::fs::write(path, b"waiting\n");
    }
}

/// `default`, unless a test set its own settle time.
pub(crate) fn settle_time(default: Duration) -> Duration {
    std::env::var(SETTLE_MS).ok().and_then(|ms| ms.parse().ok()).map_or(default, Duration::from_millis)
}

/// The file whose existence holds the ledger writer's commits, if a test
/// named one; read once, when the writer starts.
pub(crate) fn ledger_hold_file() -> Option<PathBuf> {
    std::env::var_os(HOLD_LEDGER).map(PathBuf::from)
}

/// Pauses at `step` if a test asked to (see the module doc).
pub(crate) fn pause_at(step: &'static str) {
    let Some(wanted) = std::env::var_os(PAUSE_AT) else {
        return;
    };
    let wanted = wanted.to_string_lossy();
    let Some(hold) = wanted.strip_prefix(step).and_then(|rest| rest.strip_prefix('=')) else {
        return;
    };
    let hold = PathBuf::from(hold);
    let mut reached = hold.clone().into_os_string();
    reached.push(".reached");
    // A test hook: if the file cannot be created the test times out and says so.
    let _ = std::fs::write(reached, b"reached\n");
    while hold.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
}
