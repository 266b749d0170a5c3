//! `gatehouse claude configure` and `remove`: pointing Claude Code's
//! settings at the gateway, or at a team's LiteLLM proxy
//! ([`configure_team`]), and back.
//!
//! Each configured settings file holds its own gateway key named
//! `claude-code`. Configuring again keeps a key that still works, so Claude
//! Code sessions already running with it are not cut off; removing revokes
//! it. The file edits themselves (merge, atomic write, exact restore) live in
//! [`super::settings_store`].
//!
//! Every change holds one OS file lock ([`lock`]) for its whole
//! read-modify-write, so configures and removes from the CLI, the desktop app
//! and `gatehouse gateway supervise` run one at a time. Each also starts by
//! healing what a killed predecessor left ([`heal`]): temporary files beside
//! the settings, and `claude-code` keys that no settings file holds. The
//! steps are ordered so that a kill at any point leaves nothing the next
//! command cannot clean up.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::scope::Scope;
use super::settings::{self, Destination, GatewayEnv};
use super::settings_store::{self, ConfigureOutcome, RemoveOutcome, SettingsTarget};
use super::{doctor, launcher};
use crate::auth::gateway_keys;
use crate::config::{Config, UpstreamConfig, UpstreamKindConfig};
use crate::file_lock::FileLock;
use crate::paths::Paths;
use crate::secrets::SecretRef;
use secrecy::{ExposeSecret, SecretString};

/// Takes the lock that every change to Claude Code's settings files, and to
/// the keys Gatehouse hands Claude Code, holds for its whole duration.
pub(crate) fn lock(paths: &Paths) -> anyhow::Result<FileLock> {
    Ok(FileLock::acquire(&paths.claude_records_dir().join(".lock"))?)
}

/// A settings file of higher precedence sets its own gateway variables, so
/// configuring a lower one would change nothing Claude Code uses.
#[derive(thiserror::Error, Debug)]
#[error("{}; nothing was changed", winner.explain(scope))]
pub struct OverriddenError {
    pub winner: doctor::Override,
    pub scope: &'static str,
}

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
    refuse_project_scope(scope)?;
    let target = target(paths, scope, project_dir)?;
    let _lock = lock(paths)?;
    heal(paths, &target)?;
    refuse_overridden(scope, project_dir)?;
    let config_path = paths.config_file();
    let previous_key = current_key(&target.settings_path);
    // A key that still works is kept: Claude Code sessions already running
    // hold it, and revoking it would cut them off mid-work.
    let reusable = match &previous_key {
        Some(previous) => gateway_keys::is_valid(&config_path, gateway_keys::CLAUDE_CODE_KEY_NAME, previous)?,
        None => false,
    };
    let key = match previous_key.filter(|_| reusable) {
        Some(previous) => previous,
        None => gateway_keys::issue(&config_path, gateway_keys::CLAUDE_CODE_KEY_NAME, false)?,
    };
    crate::failpoint::abort_at("configure-key-issued");
    let outcome = match settings_store::configure(&target, &GatewayEnv::gateway(base_url, &key)) {
        Ok(outcome) => outcome,
        Err(error) => {
            if !reusable {
                // The key was never handed out; do not leave it valid.
                let _ = gateway_keys::revoke_key(&config_path, &key);
            }
            return Err(error.into());
        }
    };
    // A previous key that was not reused is no valid `claude-code` key, so
    // there is nothing to revoke: it is invalid already, or it is some other
    // client's key that is not Gatehouse's to take away.
    Ok(Configured {
        scope: scope.name(),
        settings_path: target.settings_path,
        created: matches!(outcome, ConfigureOutcome::Created { .. }),
        base_url: base_url.to_string(),
    })
}

/// Points one scope's settings at the team proxy `team` (a `remote-litellm`
/// upstream of the config) with the team's virtual key from its secret
/// store. A gateway key the file held is revoked: Claude Code no longer
/// goes through the gateway.
pub fn configure_team(
    paths: &Paths,
    config: &Config,
    scope: Scope,
    project_dir: &Path,
    team: &str,
) -> anyhow::Result<Configured> {
    refuse_project_scope(scope)?;
    let upstream = team_upstream(config, team)?;
    let base_url = upstream.base_url.as_deref().unwrap_or_default().trim_end_matches('/');
    let key = team_key(paths, config, upstream)?;
    let target = target(paths, scope, project_dir)?;
    let _lock = lock(paths)?;
    heal(paths, &target)?;
    refuse_overridden(scope, project_dir)?;
    let previous_key = current_key(&target.settings_path);
    let outcome = settings_store::configure(&target, &GatewayEnv::team(base_url, key.expose_secret()))?;
    if let Some(previous) = previous_key {
        gateway_keys::revoke_key(&paths.config_file(), &previous)?;
    }
    Ok(Configured {
        scope: scope.name(),
        settings_path: target.settings_path,
        created: matches!(outcome, ConfigureOutcome::Created { .. }),
        base_url: base_url.to_string(),
    })
}

/// The `remote-litellm` upstream called `team`.
pub(crate) fn team_upstream<'a>(config: &'a Config, team: &str) -> anyhow::Result<&'a UpstreamConfig> {
    let teams: Vec<&UpstreamConfig> =
        config.upstreams.iter().filter(|upstream| upstream.kind == UpstreamKindConfig::RemoteLitellm).collect();
    if let Some(upstream) = teams.iter().find(|upstream| upstream.name == team) {
        return Ok(upstream);
    }
    if teams.is_empty() {
        anyhow::bail!(
            "there is no team proxy \"{team}\": add one to the config as [[upstreams]] with name = \"{team}\", kind = \
             \"remote-litellm\", base_url = \"https://…\" and secret = \"keychain:{team}\", then store the team's \
             virtual key with `gatehouse auth add {team}`"
        );
    }
    let names: Vec<String> = teams.iter().map(|upstream| format!("\"{}\"", upstream.name)).collect();
    anyhow::bail!(
        "there is no team proxy \"{team}\"; the config's team proxies (remote-litellm) are {}",
        names.join(", ")
    )
}

/// The team's virtual key, from the store its `secret` names.
pub(crate) fn team_key(paths: &Paths, config: &Config, upstream: &UpstreamConfig) -> anyhow::Result<SecretString> {
    let name = &upstream.name;
    let reference = SecretRef::parse(&upstream.secret, config.secrets.store)
        .map_err(|why| anyhow::anyhow!("the team proxy \"{name}\"'s secret: {why}"))?;
    let resolved = reference.resolve(paths).map_err(|why| {
        anyhow::anyhow!(
            "cannot read the virtual key of team proxy \"{name}\" ({reference}): {why}; store it with `gatehouse auth \
             add {name}`"
        )
    })?;
    Ok(resolved.secret)
}

/// The project scope is shared through git: no key goes there.
pub(crate) fn refuse_project_scope(scope: Scope) -> anyhow::Result<()> {
    if scope == Scope::Project {
        anyhow::bail!(
            "the project scope is .claude/settings.json, which is shared through git, and the gateway key must not \
             be committed; use `--scope local` (.claude/settings.local.json, this machine only) or `--scope user`"
        );
    }
    Ok(())
}

/// Refuses a scope whose gateway variables a higher-precedence file overrides.
/// An empty `project_dir` is no project (the app's user scope, see
/// [`crate::app_state::ClaudeTarget::project_dir`]): only managed settings
/// can win over the user's then, not some `.claude` beside the app's working
/// directory.
pub(crate) fn refuse_overridden(scope: Scope, project_dir: &Path) -> anyhow::Result<()> {
    let project = Some(project_dir).filter(|dir| !dir.as_os_str().is_empty());
    let files = doctor::settings_files(project)?;
    match doctor::override_of(&files, scope.name()) {
        Some(winner) => Err(OverriddenError { winner, scope: scope.name() }.into()),
        None => Ok(()),
    }
}

/// Undoes `configure` for one scope and revokes its key.
pub fn remove(paths: &Paths, scope: Scope, project_dir: &Path) -> anyhow::Result<(PathBuf, RemoveOutcome)> {
    let target = target(paths, scope, project_dir)?;
    let _lock = lock(paths)?;
    // Taking Claude Code off the gateway comes first: fail-open relies on it
    // even when the config is broken and keys cannot be revoked.
    let healed = heal(paths, &target);
    let previous_key = current_key(&target.settings_path);
    let outcome = settings_store::remove(&target)?;
    crate::failpoint::abort_at("remove-settings-restored");
    if let Some(key) = previous_key {
        gateway_keys::revoke_key(&paths.config_file(), &key)?;
    }
    healed?;
    Ok((target.settings_path, outcome))
}

/// Cleans up after a `configure`, `remove` or `claude run` that was killed
/// part-way: temporary files beside the settings files Gatehouse knows (they
/// may hold a key), `claude-code` keys that none of those files holds, and
/// the leftovers of dead `claude run` sessions. The caller holds [`lock`], so
/// no other command is between issuing a key and writing it.
pub(crate) fn heal(paths: &Paths, target: &SettingsTarget) -> anyhow::Result<()> {
    let mut files = known_settings_files(paths);
    files.push(target.settings_path.clone());
    if let Ok(claude_dir) = crate::paths::claude_config_dir() {
        files.push(Scope::User.settings_path(&claude_dir, Path::new("")));
    }
    let mut held = HashSet::new();
    let mut all_read = true;
    for file in &files {
        let real = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        crate::fs_atomic::remove_stale_temp_files(&real);
        match settings_store::read_settled(file) {
            Ok(text) => held.extend(text.as_deref().and_then(key_in).map(|key| gateway_keys::hash(&key))),
            Err(_) => all_read = false,
        }
    }
    // A file that cannot be read may hold a key: revoking it would lock
    // Claude Code out, so orphans wait for a run that can read every file.
    if all_read {
        gateway_keys::revoke_unheld(&paths.config_file(), gateway_keys::CLAUDE_CODE_KEY_NAME, &held)
            .context("cannot revoke the gateway keys that no Claude Code settings file holds")?;
    }
    launcher::heal_runs(paths)
}

/// The settings files Gatehouse's records say it configured.
fn known_settings_files(paths: &Paths) -> Vec<PathBuf> {
    #[derive(serde::Deserialize)]
    struct RecordPath {
        settings_path: PathBuf,
    }
    let Ok(entries) = std::fs::read_dir(paths.claude_records_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<RecordPath>(&bytes).ok())
        .map(|record| record.settings_path)
        .collect()
}

/// The gateway key a settings file currently holds, if any.
fn current_key(settings_path: &Path) -> Option<String> {
    key_in(&settings_store::read_settled(settings_path).ok()??)
}

/// The gateway key in a settings file's text, if any.
pub(crate) fn key_in(text: &str) -> Option<String> {
    custom_headers(text)?.lines().find_map(settings::gatehouse_key_value).map(str::to_string)
}

/// The team proxy's virtual key in a settings file's text, if any.
pub(crate) fn team_key_in(text: &str) -> Option<String> {
    let headers = custom_headers(text)?;
    let value = headers.lines().find_map(|line| Destination::TeamProxy.value_in(line))?;
    Some(value.strip_prefix("Bearer ").unwrap_or(value).trim().to_string())
}

fn custom_headers(text: &str) -> Option<String> {
    let document: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(document.get("env")?.get("ANTHROPIC_CUSTOM_HEADERS")?.as_str()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_proxy_is_found_by_name_and_needs_its_key() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let text = "[[upstreams]]\nname = \"acme\"\nkind = \"remote-litellm\"\nbase_url = \"https://llm.example.com\"\n\
                    secret = \"env:GATEHOUSE_TEST_TEAM_KEY_NEVER_SET\"\n";
        let config = Config::parse(Path::new("c.toml"), text).unwrap();
        let configure = |config: &Config, team: &str| {
            configure_team(&paths, config, Scope::User, Path::new(""), team).unwrap_err().to_string()
        };
        let typo = configure(&config, "acne");
        assert!(typo.contains("no team proxy \"acne\"") && typo.contains("are \"acme\""), "{typo}");
        let none = configure(&Config::default(), "acme");
        assert!(none.contains("kind = \"remote-litellm\"") && none.contains("gatehouse auth add acme"), "{none}");
        let no_key = configure(&config, "acme");
        assert!(no_key.contains("cannot read the virtual key of team proxy \"acme\""), "{no_key}");
        assert!(no_key.contains("gatehouse auth add acme"), "{no_key}");
        let project = configure_team(&paths, &config, Scope::Project, Path::new(""), "acme").unwrap_err().to_string();
        assert!(project.contains("shared through git"), "{project}");
    }

    #[test]
    fn remove_restores_the_file_even_when_the_config_is_broken() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let project = tempfile::tempdir().unwrap();
        let file = project.path().join(".claude/settings.local.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "{\"model\": \"opus\"}").unwrap();
        configure(&paths, Scope::Local, project.path(), "http://127.0.0.1:7497").unwrap();
        let config = paths.config_file();
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}\n[gateway]\nport = \"not a number\"\n")).unwrap();

        assert!(remove(&paths, Scope::Local, project.path()).is_err(), "the key could not be revoked: say so");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"model\": \"opus\"}", "but Claude Code is restored");
    }
}
