//! Running from an AppImage: where it is, and its place on the desktop.
//!
//! An AppImage is one file the user keeps where they like; its runtime
//! mounts (or extracts) it, sets `APPIMAGE` to the file and `APPDIR` to
//! where its files are, and runs the app from there. Those files exist only
//! while the app runs. So whatever must outlive the app points at the file
//! itself ("Start at login"), or at a copy outside it (the gateway; see the
//! supervisor's `binary`).
//!
//! Nothing installs an AppImage, so the app does what a package would, each
//! time it starts from one ([`AppImage::integrate`]):
//! - a menu entry (`gatehouse-appimage.desktop` in the user's applications
//!   folder) that runs the file, with `TryExec` so that the menu drops it
//!   once the file is deleted or moved (the next start from the new place
//!   writes it again);
//! - the icons, in the user's icon theme folder;
//! - the `gatehouse` command, as a link in `~/.local/bin` to the gateway's
//!   copy, when that folder is on `PATH` and no other `gatehouse` is.
//!
//! The entry and the icons have names of their own, which it rewrites when
//! they differ; a `gatehouse` already in `~/.local/bin`, a file or a link,
//! is never replaced.

use std::io;
use std::path::{Path, PathBuf};

use crate::desktop::start_at_login::ICON;
use crate::fs_atomic;
use crate::supervisor::at_login;

/// The menu entry's file name, apart from a package's `Gatehouse.desktop`
/// so that both can be there.
const MENU_ENTRY: &str = "gatehouse-appimage.desktop";

/// The AppImage this process runs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppImage {
    /// The AppImage file.
    pub(crate) file: PathBuf,
    /// Where its files are while it runs.
    pub(crate) dir: PathBuf,
}

/// Where the app puts what a package would install: the user's data
/// folder (`~/.local/share`) and their own programs folder (`~/.local/bin`)
/// with the `PATH` that decides whether a link there is worth making.
#[derive(Debug, Clone)]
pub(crate) struct Desktop {
    data_home: PathBuf,
    bin_dir: PathBuf,
    path: Option<std::ffi::OsString>,
}

impl Desktop {
    /// The user's folders, as the XDG base directories give them.
    fn from_env() -> Option<Desktop> {
        let dirs = directories::BaseDirs::new()?;
        Some(Desktop {
            data_home: dirs.data_dir().to_path_buf(),
            bin_dir: dirs.home_dir().join(".local").join("bin"),
            path: std::env::var_os("PATH"),
        })
    }
}

/// What the app does as it starts: when it runs from an AppImage, puts it
/// on the desktop ([`AppImage::integrate`]); `None` otherwise.
pub fn integrate_running(paths: &crate::paths::Paths) -> Option<io::Result<Integrated>> {
    let image = AppImage::running()?;
    let desktop = Desktop::from_env()?;
    Some(image.integrate(&desktop, &crate::supervisor::binary::copy_path(&paths.data_dir)))
}

/// What [`AppImage::integrate`] changed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Integrated {
    pub menu_entry: Option<PathBuf>,
    pub icons: usize,
    pub command: Option<PathBuf>,
}

impl AppImage {
    /// The AppImage this process runs from, from its runtime's variables;
    /// `None` when it runs from anywhere else.
    pub(crate) fn running() -> Option<AppImage> {
        let file = std::env::var_os("APPIMAGE").filter(|v| !v.is_empty())?;
        let dir = std::env::var_os("APPDIR").filter(|v| !v.is_empty())?;
        Some(AppImage { file: PathBuf::from(file), dir: PathBuf::from(dir) })
    }

    /// Whether `path` (canonical) is one of the AppImage's files.
    pub(crate) fn contains(&self, path: &Path) -> bool {
        self.dir.canonicalize().is_ok_and(|dir| path.starts_with(dir))
    }

    /// Puts the menu entry, the icons and the `gatehouse` link (linked to
    /// `gateway_copy`) in place where they are missing or out of date.
    pub(crate) fn integrate(&self, desktop: &Desktop, gateway_copy: &Path) -> io::Result<Integrated> {
        let mut done = Integrated::default();
        let icons = desktop.data_home.join("icons");
        for (source, relative) in self.icons()? {
            if update(&icons.join(relative), &std::fs::read(source)?, 0o644)? {
                done.icons += 1;
            }
        }
        let entry = desktop.data_home.join("applications").join(MENU_ENTRY);
        if update(&entry, self.menu_entry().as_bytes(), 0o644)? {
            done.menu_entry = Some(entry);
        }
        done.command = self.link_command(desktop, gateway_copy)?;
        Ok(done)
    }

    /// The icons the AppImage carries, with their place under an icons
    /// folder (`hicolor/128x128/apps/gatehouse-desktop.png`).
    fn icons(&self) -> io::Result<Vec<(PathBuf, PathBuf)>> {
        let hicolor = self.dir.join("usr/share/icons/hicolor");
        let file = format!("{ICON}.png");
        let mut icons = Vec::new();
        let sizes = match std::fs::read_dir(&hicolor) {
            Ok(sizes) => sizes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(icons),
            Err(error) => return Err(error),
        };
        for size in sizes {
            let size = size?.file_name();
            let source = hicolor.join(&size).join("apps").join(&file);
            if source.is_file() {
                icons.push((source, Path::new("hicolor").join(&size).join("apps").join(&file)));
            }
        }
        icons.sort();
        Ok(icons)
    }

    fn menu_entry(&self) -> String {
        let file = self.file.to_string_lossy();
        format!(
            "[Desktop Entry]\nType=Application\nVersion=1.0\nName=Gatehouse\n\
             Comment=The local gateway for Claude Code, and what your usage is worth\n\
             Exec={}\nTryExec={}\nIcon={ICON}\nTerminal=false\nCategories=Development;\n",
            at_login::quote(&file),
            at_login::escape(&file),
        )
    }

    /// Links `gatehouse` in the user's programs folder to `target`, when
    /// that folder is on `PATH` and no other `gatehouse` is on it. A link
    /// there already is left alone: ours, or one the user made.
    fn link_command(&self, desktop: &Desktop, target: &Path) -> io::Result<Option<PathBuf>> {
        let link = desktop.bin_dir.join("gatehouse");
        let dirs: Vec<PathBuf> =
            desktop.path.as_deref().map(|p| std::env::split_paths(p).collect()).unwrap_or_default();
        if !dirs.iter().any(|dir| dir == &desktop.bin_dir) {
            return Ok(None);
        }
        match std::fs::read_link(&link) {
            // Ours already, or a link the user made.
            Ok(_) => return Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let elsewhere =
                    dirs.iter().filter(|dir| *dir != &desktop.bin_dir).any(|dir| dir.join("gatehouse").exists());
                if elsewhere {
                    return Ok(None);
                }
            }
            // A file that is not a link is the user's.
            Err(_) => return Ok(None),
        }
        std::fs::create_dir_all(&desktop.bin_dir)?;
        // One name: one app runs at a time, and a link a kill left is replaced.
        let temp = link.with_file_name(".gatehouse.link.tmp");
        let _ = std::fs::remove_file(&temp);
        std::os::unix::fs::symlink(target, &temp)?;
        std::fs::rename(&temp, &link)?;
        Ok(Some(link))
    }
}

/// Writes `bytes` to `path` atomically, with `mode`, unless it holds them
/// already; whether it wrote.
fn update(path: &Path, bytes: &[u8], mode: u32) -> io::Result<bool> {
    if std::fs::read(path).is_ok_and(|current| current == bytes) {
        return Ok(false);
    }
    let dir = fs_atomic::parent_dir(path);
    std::fs::create_dir_all(dir)?;
    fs_atomic::remove_stale_temp_files(path);
    fs_atomic::TempFile::write(path, bytes, Some(mode), None)?.persist(path)?;
    fs_atomic::sync_dir(dir)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(root: &Path) -> AppImage {
        let dir = root.join("mnt");
        for size in ["32x32", "128x128"] {
            let apps = dir.join("usr/share/icons/hicolor").join(size).join("apps");
            std::fs::create_dir_all(&apps).unwrap();
            std::fs::write(apps.join("gatehouse-desktop.png"), size).unwrap();
        }
        AppImage { file: root.join("My Apps/Gatehouse.AppImage"), dir }
    }

    fn desktop(root: &Path, path: &[&Path]) -> Desktop {
        Desktop {
            data_home: root.join("home/.local/share"),
            bin_dir: root.join("home/.local/bin"),
            path: Some(std::env::join_paths(path).unwrap()),
        }
    }

    #[test]
    fn the_menu_entry_runs_the_file_and_goes_from_the_menu_with_it() {
        let root = tempfile::tempdir().unwrap();
        let image = image(root.path());
        let desktop = desktop(root.path(), &[Path::new("/usr/bin")]);
        let copy = root.path().join("data/bin/gatehouse");

        let done = image.integrate(&desktop, &copy).unwrap();
        let entry = desktop.data_home.join("applications/gatehouse-appimage.desktop");
        assert_eq!(done, Integrated { menu_entry: Some(entry.clone()), icons: 2, command: None });
        let text = std::fs::read_to_string(&entry).unwrap();
        let file = root.path().join("My Apps/Gatehouse.AppImage").display().to_string();
        assert!(text.contains(&format!("\nExec=\"{file}\"\n")), "{text}");
        assert!(text.contains(&format!("\nTryExec={file}\n")), "{text}");
        assert!(text.contains("\nIcon=gatehouse-desktop\n") && text.contains("\nCategories=Development;\n"), "{text}");
        let icon = desktop.data_home.join("icons/hicolor/128x128/apps/gatehouse-desktop.png");
        assert_eq!(std::fs::read_to_string(icon).unwrap(), "128x128");

        // The next start finds everything in place.
        assert_eq!(image.integrate(&desktop, &copy).unwrap(), Integrated::default());
        // Moved: the entry follows the file.
        let moved = AppImage { file: root.path().join("Gatehouse.AppImage"), ..image };
        assert!(moved.integrate(&desktop, &copy).unwrap().menu_entry.is_some());
        assert!(std::fs::read_to_string(&entry).unwrap().contains("\nTryExec="));
    }

    #[test]
    fn the_command_is_linked_only_where_path_finds_it_and_no_other_gatehouse_is() {
        let root = tempfile::tempdir().unwrap();
        let image = image(root.path());
        let copy = root.path().join("data/bin/gatehouse");
        let other = root.path().join("usr/bin");
        std::fs::create_dir_all(&other).unwrap();

        // ~/.local/bin is not on PATH: no link.
        let off_path = desktop(root.path(), &[&other]);
        assert_eq!(image.integrate(&off_path, &copy).unwrap().command, None);

        // On PATH, but another gatehouse is there (a package): no link.
        let on_path = desktop(root.path(), &[&root.path().join("home/.local/bin"), &other]);
        std::fs::write(other.join("gatehouse"), "").unwrap();
        assert_eq!(image.integrate(&on_path, &copy).unwrap().command, None);
        std::fs::remove_file(other.join("gatehouse")).unwrap();

        // The folder does not exist yet: made, and the link points at the copy.
        let link = on_path.bin_dir.join("gatehouse");
        assert_eq!(image.integrate(&on_path, &copy).unwrap().command, Some(link.clone()));
        assert_eq!(std::fs::read_link(&link).unwrap(), copy);
        assert_eq!(image.integrate(&on_path, &copy).unwrap().command, None, "already in place");

        // A gatehouse of the user's own is never replaced.
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, "#!/bin/sh\n").unwrap();
        assert_eq!(image.integrate(&on_path, &copy).unwrap().command, None);
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "#!/bin/sh\n");
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("/opt/gatehouse/bin/gatehouse", &link).unwrap();
        assert_eq!(image.integrate(&on_path, &copy).unwrap().command, None);
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/opt/gatehouse/bin/gatehouse"));
    }
}
