//! The desktop app's memory between launches: `state/app.json`.
//!
//! `config.toml` is the user's hand-edited file; this one is the app's own:
//! the toggles the user flipped in the tray, and the Claude Code settings
//! files that the app took the gateway out of by itself (fail-open, proxy
//! off, quit) so it can put the gateway back later. Remembering *why* a file
//! was changed is what lets the app re-apply its own removals while leaving
//! alone a removal the user made.
//!
//! The desktop app and `gatehouse gateway supervise` may both run and both
//! change the file, so every write is a read-modify-write under an OS file
//! lock ([`AppState::save_merged`]): it applies only what this process
//! changed since it last read the file, on top of what is there now.

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
#[derive(ts_rs::TS)]
#[ts(export)]
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

    /// Writes the state atomically, under the lock, replacing whatever is there.
    pub fn save(&self, paths: &Paths) -> std::io::Result<()> {
        let _lock = lock(paths)?;
        self.write(paths)
    }

    fn write(&self, paths: &Paths) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fs_atomic::write_private(&file(paths), &json)
    }

    /// Saves what changed from `base` (the state as this process last read
    /// or saved it) to `self`, merged into the file as another process may
    /// have left it meanwhile, under the lock. Returns the state now on disk,
    /// the caller's new base.
    pub(crate) fn save_merged(&self, base: &AppState, paths: &Paths) -> std::io::Result<AppState> {
        let _lock = lock(paths)?;
        let (theirs, _) = AppState::load(paths);
        let merged = merge(base, self, theirs);
        merged.write(paths)?;
        Ok(merged)
    }
}

fn lock(paths: &Paths) -> std::io::Result<crate::file_lock::FileLock> {
    crate::file_lock::FileLock::beside(&file(paths)).map_err(|e| std::io::Error::new(e.source.kind(), e.to_string()))
}

/// Three-way merge: `theirs` with the changes from `base` to `ours` applied.
fn merge(base: &AppState, ours: &AppState, mut theirs: AppState) -> AppState {
    if ours.proxy_enabled != base.proxy_enabled {
        theirs.proxy_enabled = ours.proxy_enabled;
    }
    if ours.keep_gateway_after_quit != base.keep_gateway_after_quit {
        theirs.keep_gateway_after_quit = ours.keep_gateway_after_quit;
    }
    theirs.claude_code.retain(|t| ours.claude_code.contains(t) || !base.claude_code.contains(t));
    for added in ours.claude_code.iter().filter(|t| !base.claude_code.contains(t)) {
        if !theirs.claude_code.contains(added) {
            theirs.claude_code.push(added.clone());
        }
    }
    theirs.suspended.retain(|s| ours.suspended.contains(s) || !base.suspended.contains(s));
    for added in ours.suspended.iter().filter(|s| !base.suspended.contains(s)) {
        // One record per settings file: the newer removal describes it.
        theirs.suspended.retain(|s| s.target != added.target);
        theirs.suspended.push(added.clone());
    }
    theirs
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
    fn two_writers_keep_each_others_changes() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let base = AppState { claude_code: vec![ClaudeTarget::User], ..AppState::default() };
        base.save(&paths).unwrap();
        let project = ClaudeTarget::Local { project_dir: "/p".into() };
        let suspended = Suspended {
            target: ClaudeTarget::User,
            reason: SuspendReason::Unhealthy,
            base_url_after: None,
            since: "2026-01-01T00:00:00Z".into(),
        };
        // The app and the headless supervisor both started from `base`.
        let app = AppState {
            proxy_enabled: Some(false),
            claude_code: vec![ClaudeTarget::User, project.clone()],
            ..base.clone()
        };
        let supervisor = AppState { suspended: vec![suspended.clone()], ..base.clone() };
        app.save_merged(&base, &paths).unwrap();
        let on_disk = supervisor.save_merged(&base, &paths).unwrap();
        let expected = AppState {
            proxy_enabled: Some(false),
            keep_gateway_after_quit: false,
            claude_code: vec![ClaudeTarget::User, project.clone()],
            suspended: vec![suspended],
        };
        assert_eq!(on_disk, expected);
        assert_eq!(AppState::load(&paths).0, expected);

        // A removal made by one writer is not undone by the other.
        let app = AppState { claude_code: vec![project.clone()], ..expected.clone() };
        app.save_merged(&expected, &paths).unwrap();
        let supervisor = AppState { keep_gateway_after_quit: true, ..expected.clone() };
        let on_disk = supervisor.save_merged(&expected, &paths).unwrap();
        assert_eq!(on_disk.claude_code, vec![project]);
        assert!(on_disk.keep_gateway_after_quit);
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
