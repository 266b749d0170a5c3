//! Heap the tray app has freed, given back to the system.
//!
//! The dashboard's pages make the tray app read the ledger and build large
//! answers (Spend by session is thousands of rows), on tokio's worker and
//! blocking threads. glibc's allocator keeps what those threads free in
//! its arenas, ready for reuse, so the app kept about 13 MiB more resident
//! after the window closed than before it opened: 102 to 104 MiB against
//! issue 8's 100 MB. [`give_back`] asks the allocator to return its free
//! pages (`malloc_trim`, which walks every arena); [`give_back_after_close`]
//! does so when the window closes and again once the threads that answered
//! it have ended. [`few_arenas`] keeps the allocator to two arenas, so that
//! what one thread frees is reused by the next instead of sitting in an
//! arena of its own: trimming alone left 102 MiB after the window closed
//! from Spend by session in some runs, two arenas 89 MiB.

use std::time::Duration;

/// How long after the window closes the second trim comes: tokio ends a
/// blocking thread after 10 s without work, and what the thread held
/// (statement caches, its buffers) is freed only then.
const AFTER_THREADS_END: Duration = Duration::from_secs(12);

/// Arenas for the tray app: its threads mostly wait, so two are plenty.
const ARENAS: i32 = 2;

/// Keeps the allocator to [`ARENAS`] arenas. Called first thing in the tray
/// app, before it starts threads; nothing where the C library is not glibc.
pub fn few_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Returns the allocator's free pages to the system; nothing where the
/// C library is not glibc.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free;
    // it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// For when the window has closed: gives back now, and again once the
/// threads that answered its pages have ended, from a thread of its own.
pub fn give_back_after_close() {
    give_back();
    let spawned = std::thread::Builder::new().name("give-back".into()).spawn(|| {
        std::thread::sleep(AFTER_THREADS_END);
        give_back();
    });
    if let Err(error) = spawned {
        tracing::debug!("cannot start the thread that gives memory back later: {error}");
    }
}
