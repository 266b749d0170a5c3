//! Crash-safe file replacement.
//!
//! A file is either wholly old or wholly new: write a temporary file beside
//! it, fsync it, rename it over the target, then fsync the directory so the
//! rename itself survives a power cut. Used for every file Gatehouse writes
//! that someone relies on: the config, Claude Code's settings, undo records.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Permission bits of files that may hold secrets or the user's settings.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Atomically replaces `path` with `bytes`, readable only by the user. A
/// symlink at `path` (a dotfile manager's) is followed: the file it points
/// to is replaced and the link stays.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let followed;
    let path = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            followed = fs::canonicalize(path).map_err(|error| {
                io::Error::new(error.kind(), format!("{} is a symlink to a missing file: {error}", path.display()))
            })?;
            followed.as_path()
        }
        _ => path,
    };
    let dir = parent_dir(path);
    create_private_dir(dir)?;
    remove_stale_temp_files(path);
    TempFile::write(path, bytes, Some(PRIVATE_FILE_MODE), None)?.persist(path)?;
    sync_dir(dir)
}

/// The directory a file lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// A file being written next to its target; removed unless it is renamed
/// into place, so a failed write leaves no debris.
pub struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Writes `bytes` to a new private file beside `target`, then gives it
    /// `mode` and `owner` (when set) and flushes it to disk.
    pub fn write(target: &Path, bytes: &[u8], mode: Option<u32>, owner: Option<(u32, u32)>) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy());
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent_dir(target).join(format!("{}{}-{unique}.tmp", temp_prefix(&name), std::process::id()));
        let file = open_private(&path)?;
        let temp = TempFile { path, persisted: false };
        fill(&file, bytes, mode, owner)?;
        Ok(temp)
    }

    /// Where the file is, until it is renamed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file over `target`.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            // Best effort: a leftover dot-file is harmless, and the real error
            // (if any) is already being reported.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// How the temporary files for a target named `name` begin; the writer's
/// pid and a counter follow.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.gatehouse-")
}

/// Deletes temporary files beside `target` left by a Gatehouse process that
/// died before renaming them (a kill, a power cut): they may hold a copy of
/// a secret. Files of a process that still runs are its business and stay.
/// Best effort: a file that cannot be listed or deleted is left for next time.
pub(crate) fn remove_stale_temp_files(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy()) else {
        return;
    };
    let prefix = temp_prefix(&name);
    let Ok(entries) = fs::read_dir(parent_dir(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split_once('-').and_then(|(pid, _)| pid.parse::<u32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this pid exists (it may belong to someone else).
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // Signal 0 checks existence without sending anything.
    // SAFETY: kill with signal 0 has no effect beyond the check.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Writes `bytes`, applies `mode` and `owner`, and flushes to disk.
pub fn fill(mut file: &File, bytes: &[u8], mode: Option<u32>, owner: Option<(u32, u32)>) -> io::Result<()> {
    file.write_all(bytes)?;
    if let Some(mode) = mode {
        // Set exactly: the umask may have narrowed the mode given to open().
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    if let Some((uid, gid)) = owner {
        // When root edits a user's file, the replacement must stay the
        // user's. Only root may give a file away; anyone else already owns
        // what they create, so a failure here changes nothing.
        let _ = std::os::unix::fs::fchown(file, Some(uid), Some(gid));
    }
    file.sync_all()
}

/// Opens a new file that only its owner can read, failing if it exists.
pub fn open_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(PRIVATE_FILE_MODE).open(path)
}

/// Creates a directory (and parents) that only the user can enter. Only new
/// directories get this mode; existing ones keep theirs.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// The permission bits of a file.
pub fn mode_of(meta: &fs::Metadata) -> Option<u32> {
    Some(meta.permissions().mode() & 0o7777)
}

/// The owner and group of a file.
pub fn owner_of(meta: &fs::Metadata) -> Option<(u32, u32)> {
    Some((meta.uid(), meta.gid()))
}

/// Makes a rename durable: the new directory entry must reach the disk too.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlinked_file_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        fs::create_dir(&dotfiles).unwrap();
        let real = dotfiles.join("config.toml");
        fs::write(&real, "old\n").unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        write_private(&link, b"new\n").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
        assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
        let debris: Vec<_> = fs::read_dir(dir.path()).unwrap().chain(fs::read_dir(&dotfiles).unwrap()).collect();
        assert_eq!(debris.len(), 3, "no temporary file left: {debris:?}");

        fs::remove_file(&real).unwrap();
        let error = write_private(&link, b"again\n").unwrap_err();
        assert!(error.to_string().contains("symlink to a missing file"), "{error}");
        assert!(!real.exists(), "a dangling link is not written through");
    }
}
