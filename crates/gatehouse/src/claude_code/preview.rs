//! What `configure` or `remove` would change in a Claude Code settings file,
//! shown before it happens: a unified diff of the file's text.
//!
//! The preview runs the same code that the change itself runs to build the
//! new document ([`super::settings_store`]'s planning step), on the file as
//! it is now, so the change writes exactly what the preview showed. The
//! gateway key is never shown: its value appears as [`HIDDEN_KEY`], and a
//! team proxy's virtual key as [`HIDDEN_TEAM_KEY`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What stands for the gateway key in a preview.
pub const HIDDEN_KEY: &str = "<gateway key, hidden>";
/// What stands for a team proxy's virtual key in a preview.
pub const HIDDEN_TEAM_KEY: &str = "<team key, hidden>";

/// The change to preview or apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SettingsChange {
    /// Point Claude Code at the gateway.
    Configure,
    /// Take Gatehouse out again.
    Remove,
}

/// The change a [`SettingsChange`] would make to one settings file.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SettingsDiff {
    pub change: SettingsChange,
    /// `user` or `local`.
    pub scope: String,
    pub path: String,
    /// A unified diff of the file (`--- a/settings.json`, `+++ b/…`, hunks
    /// with 3 lines of context); empty when nothing changes.
    pub diff: String,
    /// The file's text now; `null` when it does not exist.
    pub before: Option<String>,
    /// Its text afterwards; `null` when the change deletes it (it was
    /// created by configure and holds nothing else).
    pub after: Option<String>,
    pub unchanged: bool,
}

/// One Claude Code settings file, as the Claude Code page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ScopeState {
    /// `managed`, `local`, `project` or `user`, highest precedence first.
    pub scope: String,
    pub path: String,
    pub exists: bool,
    /// It points Claude Code at a gateway with a Gatehouse key.
    pub configured: bool,
    /// It points Claude Code straight at a team's LiteLLM proxy with a
    /// virtual key (`claude configure --team`).
    pub team_proxy: bool,
    pub base_url: Option<String>,
    /// Gatehouse can configure this scope from the app: the user settings,
    /// and a project's local settings (never its committed ones).
    pub can_configure: bool,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

/// The Claude Code page (`claude_code_scopes`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ClaudeCodeScopes {
    /// The managed and user settings; with a project, its local and project
    /// settings too.
    pub scopes: Vec<ScopeState>,
    /// Claude Code goes through a gateway with a Gatehouse key (in the
    /// project, when one is shown).
    pub configured: bool,
    /// The base URL Claude Code uses, by precedence.
    pub effective_base_url: Option<String>,
    /// Anything that bypasses the gateway, replaces the subscription login or
    /// makes the gateway less useful, each with its fix.
    pub warnings: Vec<Warning>,
    /// The project whose settings are shown, if one is.
    pub project: Option<String>,
    /// The projects Claude Code was used in, most recent first, to pick from.
    pub projects: Vec<String>,
    /// The config's team proxies (`remote-litellm` upstreams), by name, to
    /// point Claude Code at instead of the gateway.
    pub team_proxies: Vec<String>,
}

use std::path::Path;

use super::scope::Scope;
use super::settings::GatewayEnv;
use super::warnings::Warning;
use super::{settings_store, setup};
use crate::config::Config;
use crate::paths::Paths;

/// The keys a settings file's text holds, each with what stands for it.
fn keys_in(text: &str) -> Vec<(String, &'static str)> {
    let mut keys: Vec<(String, &'static str)> = setup::key_in(text).map(|key| (key, HIDDEN_KEY)).into_iter().collect();
    keys.extend(setup::team_key_in(text).map(|key| (key, HIDDEN_TEAM_KEY)));
    keys.retain(|(key, _)| !key.is_empty());
    keys
}

/// `text` with the keys (of `keys_in`) shown as what stands for them.
fn hide_key(text: &str, keys: &[(String, &'static str)]) -> String {
    keys.iter().fold(text.to_string(), |text, (key, hidden)| text.replace(key.as_str(), hidden))
}

fn diff_of(
    change: SettingsChange,
    scope: Scope,
    path: &Path,
    before: Option<String>,
    after: Option<String>,
) -> SettingsDiff {
    let name = path.file_name().map_or_else(|| "settings.json".into(), |name| name.to_string_lossy());
    let (old, new) = (before.as_deref().unwrap_or(""), after.as_deref().unwrap_or(""));
    let unchanged = before == after;
    let diff = if unchanged {
        String::new()
    } else {
        let old_name = if before.is_some() { format!("a/{name}") } else { "/dev/null".to_string() };
        let new_name = if after.is_some() { format!("b/{name}") } else { "/dev/null".to_string() };
        similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .to_string()
    };
    SettingsDiff {
        change,
        scope: scope.name().to_string(),
        path: path.display().to_string(),
        diff,
        before,
        after,
        unchanged,
    }
}

/// What `setup::configure` would write to `scope`'s settings file, with the
/// gateway at `base_url`: the same checks and the same planning step, with
/// the key hidden. Nothing is written and no key is issued.
pub fn configure(paths: &Paths, scope: Scope, project_dir: &Path, base_url: &str) -> anyhow::Result<SettingsDiff> {
    setup::refuse_project_scope(scope)?;
    let target = setup::target(paths, scope, project_dir)?;
    setup::refuse_overridden(scope, project_dir)?;
    let env = GatewayEnv::gateway(base_url, HIDDEN_KEY);
    let (before, after) = settings_store::preview_configure(&target, &env)?;
    let keys = before.as_deref().map(keys_in).unwrap_or_default();
    let before = before.map(|text| hide_key(&text, &keys));
    Ok(diff_of(SettingsChange::Configure, scope, &target.settings_path, before, Some(hide_key(&after, &keys))))
}

/// What `setup::configure_team` would write to `scope`'s settings file for
/// the team proxy `team`, with every key hidden. Nothing is written.
pub fn configure_team(
    paths: &Paths,
    config: &Config,
    scope: Scope,
    project_dir: &Path,
    team: &str,
) -> anyhow::Result<SettingsDiff> {
    setup::refuse_project_scope(scope)?;
    let upstream = setup::team_upstream(config, team)?;
    let base_url = upstream.base_url.as_deref().unwrap_or_default().trim_end_matches('/');
    let target = setup::target(paths, scope, project_dir)?;
    setup::refuse_overridden(scope, project_dir)?;
    let env = GatewayEnv::team(base_url, HIDDEN_TEAM_KEY);
    let (before, after) = settings_store::preview_configure(&target, &env)?;
    let keys = before.as_deref().map(keys_in).unwrap_or_default();
    let before = before.map(|text| hide_key(&text, &keys));
    Ok(diff_of(SettingsChange::Configure, scope, &target.settings_path, before, Some(hide_key(&after, &keys))))
}

/// What `setup::remove` would write to `scope`'s settings file, with the
/// key hidden. Nothing is written.
pub fn remove(paths: &Paths, scope: Scope, project_dir: &Path) -> anyhow::Result<SettingsDiff> {
    let target = setup::target(paths, scope, project_dir)?;
    let (before, after) = settings_store::preview_remove(&target)?;
    let keys = before.as_deref().map(keys_in).unwrap_or_default();
    let hide = |text: String| hide_key(&text, &keys);
    Ok(diff_of(SettingsChange::Remove, scope, &target.settings_path, before.map(hide), after.map(hide)))
}

/// Every settings file Claude Code reads in `project_dir` (only the managed
/// and user ones without a project), whether the app can switch it, and
/// the warnings with their fixes; `gatehouse_url` is where Gatehouse's
/// gateway runs, if it does (see [`super::doctor::status`]). The caller
/// fills in the config's team proxies.
pub fn scopes(project_dir: Option<&Path>, gatehouse_url: Option<&str>) -> anyhow::Result<ClaudeCodeScopes> {
    let status = super::doctor::status(project_dir, gatehouse_url, false)?;
    let projects = super::projects::recent(&crate::paths::claude_config_dir()?);
    Ok(ClaudeCodeScopes {
        scopes: status
            .files
            .iter()
            .map(|file| ScopeState {
                scope: file.scope.to_string(),
                path: file.path.display().to_string(),
                exists: file.exists,
                configured: file.has_gateway_key && file.base_url.is_some(),
                team_proxy: file.has_team_key && file.base_url.is_some(),
                base_url: file.base_url.clone(),
                can_configure: matches!(file.scope, "user" | "local"),
                error: file.error.clone(),
            })
            .collect(),
        configured: status.configured,
        effective_base_url: status.effective_base_url,
        warnings: status.warnings,
        project: project_dir.map(|dir| dir.display().to_string()),
        projects: projects.iter().map(|dir| dir.display().to_string()).collect(),
        team_proxies: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:7497";

    /// The file as the preview would show it: the key hidden.
    fn shown(path: &Path) -> Option<String> {
        let text = std::fs::read_to_string(path).ok()?;
        Some(hide_key(&text, &keys_in(&text)))
    }

    #[test]
    fn configure_and_remove_write_exactly_what_the_preview_showed() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let project = tempfile::tempdir().unwrap();
        let file = project.path().join(".claude/settings.local.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let original = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"FOO\": \"1\"\n  }\n}\n";
        std::fs::write(&file, original).unwrap();

        let preview = configure(&paths, Scope::Local, project.path(), URL).unwrap();
        assert_eq!(preview.before.as_deref(), Some(original));
        assert!(!preview.unchanged);
        assert!(preview.diff.starts_with("--- a/settings.local.json\n+++ b/settings.local.json\n"), "{}", preview.diff);
        assert!(preview.diff.contains(&format!("+    \"ANTHROPIC_BASE_URL\": \"{URL}\"")), "{}", preview.diff);
        assert!(preview.diff.contains(HIDDEN_KEY));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original, "a preview writes nothing");
        assert!(!paths.config_file().exists(), "and issues no key");

        setup::configure(&paths, Scope::Local, project.path(), URL).unwrap();
        assert_eq!(shown(&file), preview.after, "configure wrote what the preview showed");
        let written = std::fs::read_to_string(&file).unwrap();
        let key = setup::key_in(&written).unwrap();
        assert!(!preview.diff.contains(&key) && !serde_json::to_string(&preview).unwrap().contains(&key));

        // Configured already: the same key is kept, so nothing changes.
        let again = configure(&paths, Scope::Local, project.path(), URL).unwrap();
        assert!(again.unchanged, "{}", again.diff);
        assert!(!serde_json::to_string(&again).unwrap().contains(&key), "the key is hidden in `before` too");

        let removal = remove(&paths, Scope::Local, project.path()).unwrap();
        assert_eq!(removal.after.as_deref(), Some(original));
        assert!(removal.diff.contains(&format!("-    \"ANTHROPIC_BASE_URL\": \"{URL}\"")), "{}", removal.diff);
        setup::remove(&paths, Scope::Local, project.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original, "remove wrote what the preview showed");

        // A user edit in between: remove takes out only Gatehouse's keys, as previewed.
        setup::configure(&paths, Scope::Local, project.path(), URL).unwrap();
        let edited = std::fs::read_to_string(&file).unwrap().replace("\"opus\"", "\"sonnet\"");
        std::fs::write(&file, &edited).unwrap();
        let removal = remove(&paths, Scope::Local, project.path()).unwrap();
        setup::remove(&paths, Scope::Local, project.path()).unwrap();
        assert_eq!(shown(&file), removal.after);
        assert!(std::fs::read_to_string(&file).unwrap().contains("sonnet"));
    }

    #[test]
    fn a_created_file_shows_as_new_and_its_removal_as_deleted() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let project = tempfile::tempdir().unwrap();
        let file = project.path().join(".claude/settings.local.json");
        let preview = configure(&paths, Scope::Local, project.path(), URL).unwrap();
        assert_eq!(preview.before, None);
        assert!(preview.diff.starts_with("--- /dev/null\n+++ b/settings.local.json\n"), "{}", preview.diff);
        setup::configure(&paths, Scope::Local, project.path(), URL).unwrap();
        assert_eq!(shown(&file), preview.after);
        let removal = remove(&paths, Scope::Local, project.path()).unwrap();
        assert_eq!(removal.after, None);
        assert!(removal.diff.contains("+++ /dev/null"), "{}", removal.diff);
        setup::remove(&paths, Scope::Local, project.path()).unwrap();
        assert!(!file.exists());
        let nothing = remove(&paths, Scope::Local, project.path()).unwrap();
        assert!(nothing.unchanged && nothing.diff.is_empty());
    }

    #[test]
    fn the_project_scope_is_refused_as_configure_refuses_it() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let error = configure(&Paths::under(home.path()), Scope::Project, project.path(), URL).unwrap_err();
        assert!(error.to_string().contains("shared through git"), "{error}");
    }
}
