//! "Start at login": the XDG autostart entry that starts the desktop app.
//!
//! The entry runs the app from where it is installed (`/usr/bin/gatehouse-desktop`
//! from the package, the AppImage itself, or the build tree), with the
//! icon the package installs and a comment that says what it does. Its file
//! name is the one earlier versions wrote through Tauri's autostart plugin,
//! so an entry written by them is found, shown and replaced.

use std::io;
use std::path::{Path, PathBuf};

/// The entry's file name in the autostart directory.
pub const ENTRY: &str = "Gatehouse.desktop";

/// The icon's name in the icon theme, as the packages install it
/// (`/usr/share/icons/hicolor/*/apps/gatehouse-desktop.png`).
pub const ICON: &str = "gatehouse-desktop";

/// Where the entry lives in `autostart_dir`.
pub fn entry_path(autostart_dir: &Path) -> PathBuf {
    autostart_dir.join(ENTRY)
}

/// Whether "Start at login" is on: the entry exists.
pub fn is_enabled(autostart_dir: &Path) -> bool {
    entry_path(autostart_dir).is_file()
}

/// The program the entry should start: the AppImage when the app runs from
/// one (`$APPIMAGE`, set by its runtime; the executable inside is gone once
/// it ends), else `current_exe`.
pub fn program(current_exe: PathBuf) -> PathBuf {
    crate::appimage::AppImage::running().map_or(current_exe, |image| image.file)
}

/// Writes the entry that starts `program`, or removes it. Creates the
/// autostart directory (and its parents) when needed; removing an entry
/// that is not there is fine.
pub fn set(autostart_dir: &Path, enabled: bool, program: &Path) -> io::Result<()> {
    let path = entry_path(autostart_dir);
    if !enabled {
        return match std::fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        };
    }
    std::fs::create_dir_all(autostart_dir)?;
    crate::fs_atomic::write_private(&path, entry(program).as_bytes())
}

/// The desktop entry's text.
/// `TryExec` makes the session skip it once the program is gone (an
/// AppImage deleted or moved).
fn entry(program: &Path) -> String {
    let program = program.to_string_lossy();
    let exec = crate::supervisor::at_login::quote(&program);
    let try_exec = crate::supervisor::at_login::escape(&program);
    format!(
        "[Desktop Entry]\nType=Application\nVersion=1.0\nName=Gatehouse\n\
         Comment=Starts Gatehouse in the tray at login: the local gateway for Claude Code and what your usage is worth\n\
         Exec={exec}\nTryExec={try_exec}\nIcon={ICON}\nTerminal=false\nStartupNotify=false\nX-GNOME-Autostart-enabled=true\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_runs_the_installed_app_with_its_icon_and_a_comment() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = dir.path().join("config/autostart");
        assert!(!is_enabled(&autostart));
        set(&autostart, true, Path::new("/usr/bin/gatehouse-desktop")).unwrap();
        assert!(is_enabled(&autostart));
        let text = std::fs::read_to_string(autostart.join("Gatehouse.desktop")).unwrap();
        assert!(text.starts_with("[Desktop Entry]\nType=Application\n"), "{text}");
        assert!(text.contains("\nExec=/usr/bin/gatehouse-desktop\nTryExec=/usr/bin/gatehouse-desktop\n"), "{text}");
        assert!(text.contains("\nIcon=gatehouse-desktop\n"), "{text}");
        assert!(text.contains("\nComment=Starts Gatehouse in the tray at login"), "{text}");
        assert!(!text.contains("startup script"), "{text}");
        set(&autostart, false, Path::new("/usr/bin/gatehouse-desktop")).unwrap();
        assert!(!is_enabled(&autostart));
        set(&autostart, false, Path::new("/usr/bin/gatehouse-desktop")).unwrap();
    }

    #[test]
    fn a_path_with_spaces_is_quoted() {
        let text = entry(Path::new("/home/a b/Gatehouse.AppImage"));
        assert!(
            text.contains("\nExec=\"/home/a b/Gatehouse.AppImage\"\nTryExec=/home/a b/Gatehouse.AppImage\n"),
            "{text}"
        );
    }
}
