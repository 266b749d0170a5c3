//! Where Gatehouse keeps its files.
//!
//! Everything lives under one root so that a user (or a test) can find, back
//! up or wipe it in one place. `$GATEHOUSE_HOME` overrides the platform's
//! directories, which is how tests isolate themselves completely.

use std::path::{Path, PathBuf};

/// The environment variable that relocates every Gatehouse file.
pub const HOME_ENV: &str = "GATEHOUSE_HOME";

/// The directories Gatehouse reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Holds `config.toml`.
    pub config_dir: PathBuf,
    /// Holds the spend ledger.
    pub data_dir: PathBuf,
    /// Holds logs.
    pub log_dir: PathBuf,
    /// Holds runtime and undo records: the gateway's pid file, what
    /// `claude configure` changed, and backups of Claude Code's settings.
    pub state_dir: PathBuf,
}

impl Paths {
    /// Resolves the directories from `$GATEHOUSE_HOME`, else the platform's
    /// conventions (XDG on Linux).
    pub fn resolve() -> anyhow::Result<Paths> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Paths::under(Path::new(&home)));
        }
        let dirs = directories::ProjectDirs::from("dev", "gatehouse", "gatehouse").ok_or_else(|| {
            anyhow::anyhow!("cannot find a home directory; set {HOME_ENV} to a directory Gatehouse may use")
        })?;
        let state_dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).to_path_buf();
        Ok(Paths {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            log_dir: state_dir.join("logs"),
            state_dir,
        })
    }

    /// All directories under one root.
    pub fn under(root: &Path) -> Paths {
        Paths {
            config_dir: root.to_path_buf(),
            data_dir: root.join("data"),
            log_dir: root.join("logs"),
            state_dir: root.join("state"),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn ledger_file(&self) -> PathBuf {
        self.data_dir.join("ledger.sqlite3")
    }

    /// Written by a running gateway: its pid, address and version.
    pub fn gateway_runtime_file(&self) -> PathBuf {
        self.state_dir.join("gateway.json")
    }

    /// The subscription's rate-limit windows as the gateway last saw them.
    pub(crate) fn rate_limits_file(&self) -> PathBuf {
        self.state_dir.join("ratelimit.json")
    }

    /// What the desktop app already notified about each subscription window.
    pub(crate) fn window_alerts_file(&self) -> PathBuf {
        self.state_dir.join("window-alerts.json")
    }

    /// Which budget notifications were shown (see `desktop::budget_alerts`).
    pub(crate) fn budget_alerts_file(&self) -> PathBuf {
        self.state_dir.join("budget-alerts.json")
    }

    /// The LiteLLM engine's own files: its venv, generated `config.yaml`
    /// and what was installed (see `engines::litellm`).
    pub(crate) fn litellm_dir(&self) -> PathBuf {
        self.data_dir.join("engines").join("litellm")
    }

    /// Records of what `gatehouse claude configure` changed, one per settings file.
    pub fn claude_records_dir(&self) -> PathBuf {
        self.state_dir.join("claude-code")
    }

    pub fn claude_backups_dir(&self) -> PathBuf {
        self.state_dir.join("claude-code").join("backups")
    }
}

/// Claude Code's own configuration directory, found the way Claude Code finds
/// it: `$CLAUDE_CONFIG_DIR` when set, else `~/.claude`.
pub fn claude_config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = directories::BaseDirs::new()
        .ok_or_else(|| anyhow::anyhow!("cannot find the home directory; set CLAUDE_CONFIG_DIR"))?;
    Ok(home.home_dir().join(".claude"))
}
