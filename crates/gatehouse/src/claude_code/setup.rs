//! `gatehouse claude configure` and `remove`: pointing Claude Code's
//! settings at the gateway and back.
//!
//! Each configured settings file gets its own gateway key named
//! `claude-code`. Configuring again rotates that file's key; removing
//! revokes it. The file edits themselves (merge, atomic write, exact
//! restore) live in [`super::settings_store`].

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::scope::Scope;
use super::settings::{self, GatewayEnv};
use super::settings_store::{self, ConfigureOutcome, RemoveOutcome, SettingsTarget};
use crate::auth::gateway_keys;
use crate::paths::Paths;

/// Where a scope's settings file and Gatehouse's record of it live.
pub fn target(paths: &Paths, scope: Scope, project_dir: &Path) -> anyhow::Result<SettingsTarget> {
    let claude_dir = crate::paths::claude_config_dir()?;
    let settings_path = scope.settings_path(&claude_dir, project_dir);
    let id = &gateway_keys::hash(&settings_path.to_string_lossy())[..16];
    Ok(SettingsTarget {
        record_path: paths.claude_records_dir().join(format!("{}-{id}.json", scope.name())),
        backup_dir: paths.claude_backups_dir(),
        settings_path,
    })
}

/// What `configure` did.
#[derive(Debug, Serialize)]
pub struct Configured {
    pub scope: &'static str,
    pub settings_path: PathBuf,
    pub created: bool,
    pub base_url: String,
}

/// Points one scope's settings at the gateway with a fresh key.
pub fn configure(paths: &Paths, scope: Scope, project_dir: &Path, base_url: &str) -> anyhow::Result<Configured> {
    if scope == Scope::Project {
        anyhow::bail!(
            "the project scope is .claude/settings.json, which is shared through git, and the gateway key must not \
             be committed; use `--scope local` (.claude/settings.local.json, this machine only) or `--scope user`"
        );
    }
    let target = target(paths, scope, project_dir)?;
    let previous_key = current_key(&target.settings_path);
    let config_path = paths.config_file();
    let key = gateway_keys::issue(&config_path, gateway_keys::CLAUDE_CODE_KEY_NAME, false)?;
    let outcome = match settings_store::configure(&target, &GatewayEnv { base_url, gateway_key: &key }) {
        Ok(outcome) => outcome,
        Err(error) => {
            // The key was never handed out; do not leave it valid.
            let _ = gateway_keys::revoke_key(&config_path, &key);
            return Err(error.into());
        }
    };
    if let Some(previous) = previous_key.filter(|previous| *previous != key) {
        gateway_keys::revoke_key(&config_path, &previous).context("the old gateway key could not be revoked")?;
    }
    Ok(Configured {
        scope: scope.name(),
        settings_path: target.settings_path,
        created: matches!(outcome, ConfigureOutcome::Created { .. }),
        base_url: base_url.to_string(),
    })
}

/// Undoes `configure` for one scope and revokes its key.
pub fn remove(paths: &Paths, scope: Scope, project_dir: &Path) -> anyhow::Result<(PathBuf, RemoveOutcome)> {
    let target = target(paths, scope, project_dir)?;
    let previous_key = current_key(&target.settings_path);
    let outcome = settings_store::remove(&target)?;
    if let Some(key) = previous_key {
        gateway_keys::revoke_key(&paths.config_file(), &key)?;
    }
    Ok((target.settings_path, outcome))
}

/// The gateway key a settings file currently holds, if any.
fn current_key(settings_path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(settings_path).ok()?;
    let document: serde_json::Value = serde_json::from_str(&text).ok()?;
    let headers = document.get("env")?.get("ANTHROPIC_CUSTOM_HEADERS")?.as_str()?;
    headers.lines().find_map(settings::gatehouse_key_value).map(str::to_string)
}
