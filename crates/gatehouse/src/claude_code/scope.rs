//! Claude Code's settings files and their precedence.
//!
//! Claude Code merges settings from several files. From highest precedence
//! to lowest: managed (set by an administrator), local
//! (`.claude/settings.local.json` in the project, not committed), project
//! (`.claude/settings.json`, committed), and user (`settings.json` in the
//! Claude config directory).

use std::path::{Path, PathBuf};

/// A settings file Gatehouse may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// `settings.json` in the Claude config directory: every project.
    User,
    /// `.claude/settings.json` in the current directory: shared through git,
    /// so never given a gateway key. Hidden from `--help`; naming it gets the
    /// reason and the alternatives.
    #[value(hide = true)]
    Project,
    /// `.claude/settings.local.json` in the current directory: this machine only.
    Local,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project => "project",
            Scope::Local => "local",
        }
    }

    /// The settings file of this scope.
    pub fn settings_path(self, claude_dir: &Path, project_dir: &Path) -> PathBuf {
        match self {
            Scope::User => claude_dir.join("settings.json"),
            Scope::Project => project_dir.join(".claude").join("settings.json"),
            Scope::Local => project_dir.join(".claude").join("settings.local.json"),
        }
    }

    /// All scopes, highest precedence first.
    pub const BY_PRECEDENCE: [Scope; 3] = [Scope::Local, Scope::Project, Scope::User];
}

/// Where an administrator's managed settings live on this platform.
pub fn managed_settings_path() -> PathBuf {
    if let Some(path) = std::env::var_os("GATEHOUSE_CLAUDE_MANAGED_SETTINGS") {
        return PathBuf::from(path);
    }
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ClaudeCode/managed-settings.json")
    } else {
        PathBuf::from("/etc/claude-code/managed-settings.json")
    }
}
