//! `gatehouse claude run`: one Claude Code session through the gateway,
//! without touching any settings file.
//!
//! The base URL and a gateway key reach Claude Code through `--settings`
//! pointing at a private temporary file: command-line settings outrank the
//! user's own files, and the key stays out of argv, which any user can read
//! in `ps`. The key is issued for this run only and revoked, and the file
//! deleted, when Claude Code exits.

use std::process::Command;

use anyhow::Context;

use super::{cli_binary, settings};
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
    let settings = serde_json::json!({"env": {"ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_CUSTOM_HEADERS": headers}});
    let settings_file = paths.state_dir.join(format!("claude-run-{}.json", std::process::id()));
    let status = crate::fs_atomic::write_private(&settings_file, settings.to_string().as_bytes())
        .with_context(|| format!("cannot write {}", settings_file.display()))
        .and_then(|()| {
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
