//! `gatehouse claude run`: one Claude Code session through the gateway,
//! without touching any settings file.
//!
//! The base URL and a gateway key reach Claude Code through `--settings`
//! pointing at a private temporary file: command-line settings outrank the
//! user's own files, and the key stays out of argv, which any user can read
//! in `ps`. The key is issued for this run only and revoked, and the file
//! deleted, when Claude Code exits. A run that is killed cannot do that
//! itself, so every later run (and every `claude configure` or `remove`)
//! deletes the files of runs whose process is gone and revokes every run key
//! that no live run holds ([`heal_runs`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::{cli_binary, settings, setup};
use crate::auth::gateway_keys;
use crate::paths::Paths;

/// The key name runs are attributed to in the ledger.
pub const RUN_KEY_NAME: &str = "claude-code-run";

/// Runs `claude` with `args`; returns its exit code.
pub fn run(paths: &Paths, base_url: &str, args: &[String]) -> anyhow::Result<i32> {
    crate::gateway_client::health(base_url).map_err(|error| {
        anyhow::anyhow!("{error}; start it with `gatehouse gateway run` (Claude Code was not started)")
    })?;
    let binary = cli_binary::find()
        .ok_or_else(|| anyhow::anyhow!("Claude Code is not installed: {}", cli_binary::INSTALL_HINT))?;
    let config_path = paths.config_file();
    // Issuing the key and writing the file that holds it happen under the
    // lock, so another command's clean-up never sees the key without its file.
    let lock = setup::lock(paths)?;
    heal_runs(paths)?;
    let key = gateway_keys::issue(&config_path, RUN_KEY_NAME, false)?;
    // Keep the user's own custom headers; ours is one more line.
    let headers = match std::env::var("ANTHROPIC_CUSTOM_HEADERS") {
        Ok(existing) if !existing.trim().is_empty() => {
            let kept: Vec<&str> =
                existing.lines().filter(|line| settings::gatehouse_key_value(line).is_none()).collect();
            format!("{}\n{}: {key}", kept.join("\n"), gateway_keys::HEADER)
        }
        _ => format!("{}: {key}", gateway_keys::HEADER),
    };
    let settings = serde_json::json!({"env": {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_CUSTOM_HEADERS": headers,
        settings::HINT_HEADERS: settings::HINT_HEADERS_ON,
    }});
    let settings_file = run_file(paths, std::process::id());
    let written = crate::fs_atomic::write_private(&settings_file, settings.to_string().as_bytes())
        .with_context(|| format!("cannot write {}", settings_file.display()));
    drop(lock);
    crate::failpoint::abort_at("run-settings-written");
    let status = written.and_then(|()| {
        Command::new(&binary)
            .arg("--settings")
            .arg(&settings_file)
            .args(args)
            .status()
            .with_context(|| format!("cannot start {}", binary.display()))
    });
    let _ = std::fs::remove_file(&settings_file);
    let revoked = gateway_keys::revoke_key(&config_path, &key);
    let status = status?;
    revoked.context("the run's gateway key could not be revoked")?;
    Ok(status.code().unwrap_or(1))
}

/// The settings file of the run with process id `pid`.
fn run_file(paths: &Paths, pid: u32) -> PathBuf {
    paths.state_dir.join(format!("claude-run-{pid}.json"))
}

/// The process id of a run's settings file, from its name.
fn run_pid(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("claude-run-")?.strip_suffix(".json")?.parse().ok()
}

/// Deletes the settings files of runs whose process is gone and revokes
/// every run key that no running session holds. The caller holds
/// [`setup::lock`].
pub(crate) fn heal_runs(paths: &Paths) -> anyhow::Result<()> {
    let mut held = HashSet::new();
    for entry in std::fs::read_dir(&paths.state_dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Some(pid) = run_pid(&path) else {
            continue;
        };
        if crate::fs_atomic::process_alive(pid) {
            if let Some(key) = run_key(&path) {
                held.insert(gateway_keys::hash(&key));
            }
        } else {
            std::fs::remove_file(&path)
                .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
                .with_context(|| format!("cannot delete {}, left by a `claude run` that was killed", path.display()))?;
        }
    }
    gateway_keys::revoke_unheld(&paths.config_file(), RUN_KEY_NAME, &held)
        .context("cannot revoke the keys of `claude run` sessions that were killed")?;
    Ok(())
}

/// The gateway key in a run's settings file.
fn run_key(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let document: serde_json::Value = serde_json::from_str(&text).ok()?;
    let headers = document.get("env")?.get("ANTHROPIC_CUSTOM_HEADERS")?.as_str()?;
    headers.lines().find_map(settings::gatehouse_key_value).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_runs_file_is_deleted_and_its_key_revoked_but_a_live_runs_kept() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let config = paths.config_file();
        let write_run = |pid: u32, key: &str| {
            let headers = format!("{}: {key}", gateway_keys::HEADER);
            let json = serde_json::json!({"env": {"ANTHROPIC_CUSTOM_HEADERS": headers}});
            crate::fs_atomic::write_private(&run_file(&paths, pid), json.to_string().as_bytes()).unwrap();
        };
        // A process that has exited: its pid is free.
        let mut child = Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let dead_key = gateway_keys::issue(&config, RUN_KEY_NAME, false).unwrap();
        write_run(dead, &dead_key);
        // Issued by a run killed before it wrote its file.
        let unwritten_key = gateway_keys::issue(&config, RUN_KEY_NAME, false).unwrap();
        let live_key = gateway_keys::issue(&config, RUN_KEY_NAME, false).unwrap();
        write_run(std::process::id(), &live_key);

        heal_runs(&paths).unwrap();
        assert!(!run_file(&paths, dead).exists());
        assert!(run_file(&paths, std::process::id()).exists());
        assert!(!gateway_keys::is_valid(&config, RUN_KEY_NAME, &dead_key).unwrap());
        assert!(!gateway_keys::is_valid(&config, RUN_KEY_NAME, &unwritten_key).unwrap());
        assert!(gateway_keys::is_valid(&config, RUN_KEY_NAME, &live_key).unwrap());
    }
}
