//! Running the real Claude Code CLI (the pinned npm package) in a sandbox.
//!
//! `scripts/install-test-deps` installs it under `$GATEHOUSE_TEST_DEPS`
//! (default `~/.cache/gatehouse-test`). Tests fail, never skip, when it is
//! missing: a test that silently does nothing proves nothing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::harness::Sandbox;

/// The pinned Claude Code version the tests expect.
pub const CLAUDE_CODE_VERSION: &str = "2.1.328";

/// Where test dependencies are installed.
pub fn deps_dir() -> PathBuf {
    std::env::var_os("GATEHOUSE_TEST_DEPS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".cache").join("gatehouse-test")
    })
}

/// The `claude` executable.
pub fn claude_bin() -> PathBuf {
    let bin = deps_dir().join("claude-code").join("node_modules").join(".bin").join("claude");
    assert!(bin.exists(), "the Claude Code CLI is not installed at {}; run `scripts/install-test-deps`", bin.display());
    bin
}

/// How Claude Code authenticates.
pub enum ClaudeAuth<'a> {
    /// `ANTHROPIC_API_KEY` in its environment: it sends `x-api-key`.
    ApiKey(&'a str),
    /// A `.credentials.json` login with this (fake) access token: it sends
    /// `Authorization: Bearer …`, as a logged-in Max subscriber does.
    Subscription(&'a str),
}

/// Writes a Max-subscriber login for Claude Code into the sandbox.
pub fn write_subscription_login(sandbox: &Sandbox, access_token: &str) {
    use std::os::unix::fs::PermissionsExt;
    let expires_at = (std::time::SystemTime::now() + std::time::Duration::from_secs(24 * 3600))
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let credentials = serde_json::json!({"claudeAiOauth": {
        "accessToken": access_token,
        "refreshToken": "sk-ant-ort01-FAKE-e2e-refresh-token-never-used",
        "expiresAt": expires_at,
        "scopes": ["user:inference", "user:profile"],
        "subscriptionType": "max",
        "rateLimitTier": "default_claude_max_20x",
    }});
    let path = sandbox.claude_dir().join(".credentials.json");
    std::fs::write(&path, credentials.to_string()).expect("writing credentials");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod credentials");
}

/// A `claude` command in the sandbox, offline but for the gateway.
pub fn claude(sandbox: &Sandbox, auth: &ClaudeAuth<'_>, args: &[&str]) -> Command {
    let mut command = Command::new(claude_bin());
    sandbox.isolate(&mut command);
    command
        .args(args)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .stdin(Stdio::null());
    match auth {
        ClaudeAuth::ApiKey(key) => {
            command.env("ANTHROPIC_API_KEY", key);
        }
        ClaudeAuth::Subscription(token) => write_subscription_login(sandbox, token),
    }
    command
}

/// Runs `claude -p PROMPT --output-format json` and returns its JSON result.
pub fn claude_print(sandbox: &Sandbox, auth: &ClaudeAuth<'_>, prompt: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["-p", prompt, "--output-format", "json"];
    args.extend_from_slice(extra);
    let output = claude(sandbox, auth, &args).output().expect("running claude");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "claude printed no JSON (exit {:?}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    result
}
