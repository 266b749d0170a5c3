//! The desktop app's memory between launches: `state/app.json`.
//!
//! `config.toml` is the user's hand-edited file; this one is the app's own:
//! the toggles the user flipped in the tray, and the Claude Code settings
//! files that the app took the gateway out of by itself (fail-open, proxy
//! off, quit) so it can put the gateway back later. Remembering *why* a file
//! was changed is what lets the app re-apply its own removals while leaving
//! alone a removal the user made.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::claude_code::scope::Scope;
use crate::paths::Paths;

/// Everything the app remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// Whether the user last left the proxy on. `None` until the first
    /// launch has started it: running the proxy is what the app is for.
    pub proxy_enabled: Option<bool>,
    /// Leave the gateway running, detached, when the app quits; the next
    /// launch adopts it.
    pub keep_gateway_after_quit: bool,
    /// Claude Code settings files the user configured through the app; the
    /// supervisor keeps them off a dead gateway (fail-open).
    pub claude_code: Vec<ClaudeTarget>,
    /// Settings files the app unconfigured by itself and will configure
    /// again once the gateway is healthy.
    pub suspended: Vec<Suspended>,
}

/// A Claude Code settings file the app manages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum ClaudeTarget {
    /// `settings.json` in Claude Code's config directory: every project.
    User,
    /// `.claude/settings.local.json` of one project: this machine only.
    Local { project_dir: PathBuf },
}

impl ClaudeTarget {
    pub fn scope(&self) -> Scope {
        match self {
            ClaudeTarget::User => Scope::User,
            ClaudeTarget::Local { .. } => Scope::Local,
        }
    }

    /// The project directory, for scopes that live in one; the user scope
    /// ignores it.
    pub fn project_dir(&self) -> &Path {
        match self {
            ClaudeTarget::User => Path::new(""),
            ClaudeTarget::Local { project_dir } => project_dir,
        }
    }
}

/// A settings file the app took the gateway out of, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspended {
    pub target: ClaudeTarget,
    pub reason: SuspendReason,
    /// `env.ANTHROPIC_BASE_URL` just after the removal. If it differs when
    /// the gateway is back, the user has pointed Claude Code elsewhere and
    /// the gateway is not put back.
    pub base_url_after: Option<String>,
    /// When it was removed (RFC 3339).
    pub since: String,
}

/// Why the app unconfigured Claude Code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspendReason {
    /// The gateway stopped answering (fail-open).
    Unhealthy,
    /// The user turned the proxy off.
    ProxyStopped,
    /// The app quit and stopped the gateway.
    Quit,
}

/// Where the app's state lives.
pub fn file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("app.json")
}

impl AppState {
    /// Reads the state; a missing file is a first launch. A file that cannot
    /// be understood is moved aside to `app.json.corrupt` (so nothing is
    /// silently overwritten) and the defaults are used: the app must start
    /// even then. The second value says what happened, for the log.
    pub fn load(paths: &Paths) -> (AppState, Option<String>) {
        let path = file(paths);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (AppState::default(), None),
            Err(e) => {
                return (AppState::default(), Some(format!("cannot read {}: {e}; using defaults", path.display())));
            }
        };
        match serde_json::from_str(&text) {
            Ok(state) => (state, None),
            Err(e) => {
                let aside = path.with_extension("json.corrupt");
                let moved = match std::fs::rename(&path, &aside) {
                    Ok(()) => format!("moved it to {}", aside.display()),
                    Err(rename) => format!("could not move it aside: {rename}"),
                };
                (AppState::default(), Some(format!("{} is not valid ({e}); {moved}; using defaults", path.display())))
            }
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, paths: &Paths) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fs_atomic::write_private(&file(paths), &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_home_is_a_first_launch_and_state_round_trips() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let (state, warning) = AppState::load(&paths);
        assert_eq!((state.proxy_enabled, warning), (None, None));
        let state = AppState {
            proxy_enabled: Some(false),
            keep_gateway_after_quit: true,
            claude_code: vec![ClaudeTarget::User],
            suspended: vec![Suspended {
                target: ClaudeTarget::Local { project_dir: "/p".into() },
                reason: SuspendReason::Unhealthy,
                base_url_after: None,
                since: "2026-01-01T00:00:00Z".into(),
            }],
        };
        state.save(&paths).unwrap();
        assert_eq!(AppState::load(&paths), (state, None));
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_not_lost() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        std::fs::create_dir_all(&paths.state_dir).unwrap();
        std::fs::write(file(&paths), "{ not json").unwrap();
        let (state, warning) = AppState::load(&paths);
        assert_eq!(state, AppState::default());
        assert!(warning.unwrap().contains("app.json.corrupt"));
        assert_eq!(std::fs::read_to_string(paths.state_dir.join("app.json.corrupt")).unwrap(), "{ not json");
    }
}
