//! Finding the `gatehouse` executable the desktop app runs as its gateway.
//!
//! A configured path wins, because a user who sets one means it. Otherwise
//! the copy shipped next to the app's own executable (the app bundle or
//! `cargo build` output), so the app and its gateway come from one build;
//! else the first `gatehouse` on `PATH`.
//!
//! An AppImage is the exception: its files exist only while the app runs
//! (mounted, or extracted to a temporary directory), yet the gateway, its
//! supervisor and the login entry that keeps Claude Code working after a
//! reboot must outlive the app. So the copy inside the AppImage is first
//! copied to `<data dir>/bin/gatehouse`, and that copy is what runs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::appimage::AppImage;
use crate::fs_atomic::{self, TempFile};

/// The executable's file name.
const NAME: &str = "gatehouse";

/// Finds the binary, or says where it looked. `data_dir` holds the copy
/// taken out of an AppImage.
pub fn locate(configured: Option<&Path>, data_dir: &Path) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return if is_executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err(format!(
                "`[supervisor] gatehouse_bin` is {}, which is not an executable file; fix the path in config.toml \
                 or remove it to use the gatehouse next to the app or on PATH",
                path.display()
            ))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| Some(exe.parent()?.join(NAME)).filter(|candidate| is_executable(candidate)));
    if let Some(path) = beside {
        return match AppImage::running() {
            Some(image) if image.contains(&path) => copy_out(&path, &copy_path(data_dir)).map_err(|e| {
                format!("cannot copy {} out of the AppImage to {}: {e}", path.display(), data_dir.display())
            }),
            _ => Ok(path),
        };
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(NAME)).find(|c| is_executable(c)));
    on_path.ok_or_else(|| {
        "cannot find the `gatehouse` executable next to the app or on PATH; install it (cargo install --path \
         crates/gatehouse) or set `[supervisor] gatehouse_bin` in config.toml"
            .to_string()
    })
}

/// Where the copy taken out of an AppImage is.
pub(crate) fn copy_path(data_dir: &Path) -> PathBuf {
    data_dir.join("bin").join(NAME)
}

/// Copies `source` to `target` atomically, executable, with the source's
/// modification time, unless `target` already has its size and time (the
/// same build: an AppImage's files keep the time they were built at).
/// Replacing a copy that is running is fine: it keeps the old file.
fn copy_out(source: &Path, target: &Path) -> std::io::Result<PathBuf> {
    let from = std::fs::metadata(source)?;
    let modified = from.modified()?;
    if let Ok(to) = std::fs::metadata(target)
        && to.len() == from.len()
        && to.modified().ok() == Some(modified)
    {
        return Ok(target.to_path_buf());
    }
    let dir = fs_atomic::parent_dir(target);
    fs_atomic::create_private_dir(dir)?;
    fs_atomic::remove_stale_temp_files(target);
    let temp = TempFile::write(target, &std::fs::read(source)?, Some(0o755), None)?;
    std::fs::File::open(temp.path())?.set_modified(modified)?;
    temp.persist(target)?;
    fs_atomic::sync_dir(dir)?;
    Ok(target.to_path_buf())
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_path_must_be_an_executable_file() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("gw");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let error = locate(Some(&script), dir.path()).unwrap_err();
        assert!(error.contains("not an executable file"), "{error}");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate(Some(&script), dir.path()).unwrap(), script);
        assert!(locate(Some(dir.path()), dir.path()).is_err());
    }

    #[test]
    fn the_copy_out_of_an_appimage_is_made_once_per_build() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("mnt/usr/bin/gatehouse");
        std::fs::create_dir_all(source.parent().unwrap()).unwrap();
        std::fs::write(&source, "build 1").unwrap();
        let target = dir.path().join("data/bin/gatehouse");

        assert_eq!(copy_out(&source, &target).unwrap(), target);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "build 1");
        let copied = std::fs::metadata(&target).unwrap();
        assert_eq!(copied.permissions().mode() & 0o777, 0o755);
        assert_eq!(copied.modified().unwrap(), std::fs::metadata(&source).unwrap().modified().unwrap());

        // The same build again: the copy stays as it is.
        copy_out(&source, &target).unwrap();
        assert_eq!(std::fs::metadata(&target).unwrap().ino(), copied.ino());

        // Another build replaces it, with no temporary file left beside it.
        std::fs::write(&source, "build 22").unwrap();
        copy_out(&source, &target).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "build 22");
        let names: Vec<_> =
            std::fs::read_dir(target.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["gatehouse"]);
    }
}
