//! Finding and asking the `claude` CLI.
//!
//! Gatehouse never signs in to Claude itself: the login is Claude Code's.
//! This module only locates the CLI and reads `claude auth status --json`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Overrides which `claude` executable Gatehouse runs.
pub const CLAUDE_BIN_ENV: &str = "GATEHOUSE_CLAUDE_BIN";

/// The `claude` executable: `$GATEHOUSE_CLAUDE_BIN`, else `claude` on PATH.
pub fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(CLAUDE_BIN_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("claude")).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How to get Claude Code, for messages.
pub const INSTALL_HINT: &str = "install Claude Code with `npm install -g @anthropic-ai/claude-code`, \
     or point $GATEHOUSE_CLAUDE_BIN at its `claude` executable";

/// The parts of `claude auth status --json` Gatehouse shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthStatus {
    #[serde(default)]
    pub logged_in: bool,
    pub auth_method: Option<String>,
    pub api_provider: Option<String>,
    pub subscription_type: Option<String>,
    pub plan_tier: Option<String>,
}

/// Runs `claude auth status --json`. Claude exits 1 when not logged in but
/// still prints the JSON, so the output is read whatever the exit code.
pub fn auth_status() -> Result<AuthStatus, String> {
    let binary = find().ok_or_else(|| format!("Claude Code is not installed: {INSTALL_HINT}"))?;
    let mut child = Command::new(&binary)
        .args(["auth", "status", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{} auth status` did not answer within 15 s", binary.display()));
            }
        }
    }
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut output);
    }
    serde_json::from_str(output.trim())
        .map_err(|_| format!("`{} auth status --json` printed something unexpected", binary.display()))
}

impl AuthStatus {
    /// One line for people, e.g. "logged in to Claude Max (claude.ai)".
    pub fn describe(&self) -> String {
        if !self.logged_in {
            return "not logged in; run `claude auth login`".to_string();
        }
        let plan = match (&self.subscription_type, &self.plan_tier) {
            (Some(kind), Some(tier)) => format!("Claude {} ({tier})", capitalize(kind)),
            (Some(kind), None) => format!("Claude {}", capitalize(kind)),
            _ => "an API account".to_string(),
        };
        match &self.auth_method {
            Some(method) => format!("logged in to {plan} via {method}"),
            None => format!("logged in to {plan}"),
        }
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
