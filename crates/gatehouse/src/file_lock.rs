//! Exclusive OS file locks that serialise read-modify-write cycles across
//! processes: the CLI, the desktop app and `gatehouse gateway supervise` all
//! take the same lock before editing a shared file.
//!
//! The lock is an advisory `flock` on a separate, empty `.lock` file beside
//! what it protects (the protected file itself is replaced by rename, which
//! would drop a lock held on it). The lock file is never deleted: deleting it
//! would let a waiting process lock an orphaned inode while a newcomer locks a
//! fresh one. The kernel releases the lock when its holder exits, however it
//! exits, so a killed process never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use fs4::FileExt;

/// An exclusive lock, held until dropped.
#[derive(Debug)]
pub(crate) struct FileLock {
    // Closing the file releases the lock.
    _file: File,
}

/// Why a lock could not be taken.
#[derive(thiserror::Error, Debug)]
#[error("cannot lock {}: {source}; check that Gatehouse may write to that directory, then try again", path.display())]
pub(crate) struct LockError {
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: io::Error,
}

impl FileLock {
    /// Waits for the exclusive lock on `lock_path`, creating the file (and
    /// its private directory) if needed.
    pub(crate) fn acquire(lock_path: &Path) -> Result<FileLock, LockError> {
        let error = |source| LockError { path: lock_path.to_owned(), source };
        let file = open(lock_path).map_err(error)?;
        // Named in full: newer Rust has an inherent `File::lock` too.
        FileExt::lock(&file).map_err(error)?;
        Ok(FileLock { _file: file })
    }

    /// The lock guarding the file at `path`: `.NAME.lock` beside it.
    pub(crate) fn beside(path: &Path) -> Result<FileLock, LockError> {
        FileLock::acquire(&lock_path_for(path))
    }
}

/// Opens (creating it, and its private directory, if needed) a lock file,
/// readable only by the user, without touching what it holds.
pub(crate) fn open(lock_path: &Path) -> io::Result<File> {
    crate::fs_atomic::create_private_dir(crate::fs_atomic::parent_dir(lock_path))?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(crate::fs_atomic::PRIVATE_FILE_MODE)
        .open(lock_path)
}

/// The lock file that guards `path`.
pub(crate) fn lock_path_for(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy());
    crate::fs_atomic::parent_dir(path).join(format!(".{name}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let first = FileLock::beside(&path).unwrap();
        assert!(dir.path().join("sub/.config.toml.lock").exists());
        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _second = FileLock::beside(&path).unwrap();
            tx.send(()).unwrap();
        });
        // While the first lock is held the second cannot be taken.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(first);
        rx.recv_timeout(Duration::from_secs(30)).expect("the waiter gets the lock once it is released");
        waiter.join().unwrap();
    }
}
