//! After a reboot, Claude Code is never left pointing at a dead gateway.
//!
//! A reboot, a power cut or a logout that kills every process ends the app
//! and the gateway with no chance to restore Claude Code's settings, and
//! Claude Code would then fail until Gatehouse ran again. So while a
//! settings file the app looks after points Claude Code at the gateway, an
//! XDG autostart entry (`gatehouse-gateway.desktop`) runs `gatehouse gateway
//! supervise --at-login` at the next login. That brings the gateway back,
//! or, if it cannot start, fail-open restores Claude Code within
//! `fail_open_after_secs`. It leaves at once if the app started first (the
//! app then looks after the gateway), and the entry is removed as soon as
//! no settings file points at the gateway: Claude Code turned off, "Proxy"
//! off, "Quit", fail-open.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::app_state::{AppState, ClaudeTarget};
use crate::config::Config;
use crate::paths::Paths;

/// The entry's file name in the autostart directory.
pub(crate) const ENTRY: &str = "gatehouse-gateway.desktop";

/// Where desktop sessions look for programs to start at login
/// (`$XDG_CONFIG_HOME/autostart`, by default `~/.config/autostart`).
pub fn autostart_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("autostart"))
}

/// Whether Claude Code would be stranded if everything stopped now: the
/// proxy is on, and a settings file the supervisor looks after points at
/// the gateway at `url` (fail-open and "Quit" have restored the others).
pub(crate) fn needed_for(paths: &Paths, app: &AppState, targets: &[ClaudeTarget], url: &str) -> bool {
    app.proxy_enabled != Some(false)
        && targets
            .iter()
            .chain(&app.claude_code)
            .any(|target| super::fail_open::points_at(paths, target, url).unwrap_or(false))
}

/// [`needed_for`], read from disk, for `gatehouse gateway supervise --at-login`.
pub(crate) fn needed(paths: &Paths) -> bool {
    let (app, _) = AppState::load(paths);
    let config = Config::load(&paths.config_file()).unwrap_or_default();
    needed_for(paths, &app, &[ClaudeTarget::User], &config.gateway.base_url())
}

/// Writes the entry when `needed`, removes it otherwise. `bin` is the
/// `gatehouse` executable; `env` is what the gateway's supervisor needs to
/// find the same files (`GATEHOUSE_HOME`, `CLAUDE_CONFIG_DIR`).
pub(crate) fn sync(dir: &Path, needed: bool, bin: &Path, env: &[(OsString, OsString)]) -> io::Result<()> {
    let path = dir.join(ENTRY);
    if !needed {
        return match std::fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        };
    }
    let text = entry(bin, env);
    if std::fs::read_to_string(&path).is_ok_and(|existing| existing == text) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    crate::fs_atomic::write_private(&path, text.as_bytes())
}

/// The desktop entry's text.
fn entry(bin: &Path, env: &[(OsString, OsString)]) -> String {
    let mut exec: Vec<String> = Vec::new();
    if !env.is_empty() {
        exec.push("env".into());
        exec.extend(env.iter().map(|(name, value)| format!("{}={}", name.to_string_lossy(), value.to_string_lossy())));
    }
    exec.push(bin.to_string_lossy().into_owned());
    exec.extend(["gateway", "supervise", "--at-login"].map(String::from));
    let exec = exec.iter().map(|arg| quote(arg)).collect::<Vec<_>>().join(" ");
    format!(
        "[Desktop Entry]\nType=Application\nName=Gatehouse gateway\n\
         Comment=Keeps Claude Code working through Gatehouse after a restart; removed when Claude Code stops using it\n\
         Exec={exec}\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n"
    )
}

/// A string value of a desktop entry (`TryExec`, a path), with the file
/// format's escapes.
pub(crate) fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\n', "\\n").replace('\t', "\\t").replace('\r', "\\r")
}

/// One argument of an `Exec` key, quoted as the Desktop Entry spec says:
/// in double quotes when it holds a reserved character, with `"`, `` ` ``,
/// `$` and `\` escaped inside, then the string escapes of the file format
/// (a backslash doubled again) and `%` doubled for field codes.
pub(crate) fn quote(arg: &str) -> String {
    const RESERVED: &[char] =
        &[' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')', '`'];
    let arg = arg.replace('%', "%%");
    if !arg.contains(RESERVED) && !arg.is_empty() {
        return arg;
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\\' => quoted.push_str("\\\\\\\\"),
            '\n' => quoted.push_str("\\n"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_arguments_are_quoted_as_the_desktop_entry_spec_says() {
        assert_eq!(quote("/usr/bin/gatehouse"), "/usr/bin/gatehouse");
        assert_eq!(quote("/home/a b/gatehouse"), "\"/home/a b/gatehouse\"");
        assert_eq!(quote("x$y\"z`"), "\"x\\$y\\\"z\\`\"");
        assert_eq!(quote("a\\b"), "\"a\\\\\\\\b\"");
        assert_eq!(quote("100%"), "100%%");
    }

    #[test]
    fn the_entry_is_written_when_needed_and_removed_when_not() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = dir.path().join("config/autostart");
        let env = [(OsString::from("GATEHOUSE_HOME"), OsString::from("/home/u/my gatehouse"))];
        sync(&autostart, true, Path::new("/opt/Gatehouse/gatehouse"), &env).unwrap();
        let text = std::fs::read_to_string(autostart.join(ENTRY)).unwrap();
        assert!(
            text.contains(
                "\nExec=env \"GATEHOUSE_HOME=/home/u/my gatehouse\" /opt/Gatehouse/gatehouse gateway supervise --at-login\n"
            ),
            "{text}"
        );
        sync(&autostart, false, Path::new("/opt/Gatehouse/gatehouse"), &env).unwrap();
        assert!(!autostart.join(ENTRY).exists());
        // Removing what is not there is fine.
        sync(&autostart, false, Path::new("/opt/Gatehouse/gatehouse"), &env).unwrap();
    }

    #[test]
    fn a_string_value_with_a_backslash_or_a_line_break_is_escaped() {
        assert_eq!(escape("/a\\b\nc"), "/a\\\\b\\nc");
    }
}
