//! A status warning and its fix: what `gatehouse claude status` prints and
//! the Claude Code page lists, from one source.
//!
//! Each [`Warning`] has a stable [`WarningKind`], the problem in the user's
//! words, the settings file (or shell variable) it comes from, and a
//! [`Fix`]: what to do, in words; the command that does it from a terminal
//! when Gatehouse has one; and, when Gatehouse can do it safely itself, a
//! [`FixAction`] the page offers as a button. Gatehouse only ever changes the
//! keys it owns, through the same preview and apply as its switch: a fix
//! that needs a user's, an administrator's or a repository's setting taken
//! out names the file and the key, and leaves the edit to them.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

/// What a warning is about. The names are stable (the page and `--json`
/// readers match on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum WarningKind {
    /// No settings file points Claude Code at the gateway.
    NotConfigured,
    /// A settings file is not valid JSON.
    InvalidJson,
    /// A settings file exists but cannot be read.
    Unreadable,
    /// `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN` or `apiKeyHelper` in a
    /// settings file replaces the subscription login.
    LoginReplaced,
    /// `CLAUDE_CODE_USE_BEDROCK`, `_VERTEX` or `_FOUNDRY` in a settings file
    /// sends requests around the gateway.
    ProviderBypass,
    /// One of those variables is set in the environment, over every settings file.
    EnvironmentVariable,
    /// A higher-precedence file's own `ANTHROPIC_BASE_URL` or
    /// `ANTHROPIC_CUSTOM_HEADERS` wins over the file Gatehouse configured.
    Overridden,
    /// Claude Code points at a gateway that does not answer, and Gatehouse's
    /// own gateway is not running.
    GatewayDown,
    /// Claude Code points at another address than the one Gatehouse's
    /// gateway runs at (an earlier port, a gateway that has moved).
    StaleGateway,
    /// The file Gatehouse configured lacks `CLAUDE_CODE_GATEWAY_HINT_HEADERS=1`
    /// (configured by an older Gatehouse), so requests come without their kind.
    HintHeadersMissing,
}

/// What the page can do about a warning itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum FixActionKind {
    /// Configure Claude Code's user settings: the switch's own configure,
    /// shown as a diff preview first.
    ConfigureUser,
    /// Configure the local settings (`.claude/settings.local.json`, this
    /// machine only) of the project the page shows, through the same diff
    /// preview: they win over the project's committed settings.
    ConfigureLocal,
    /// Start Gatehouse's gateway (the "Run gateway" switch).
    StartGateway,
}

/// A button the page offers for a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FixAction {
    pub kind: FixActionKind,
    /// The button's words: "Switch Claude Code onto Gatehouse…".
    pub label: String,
}

/// What to do about a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Fix {
    /// What to do, in words, naming the file and the key where there is one.
    pub text: String,
    /// The terminal command that does it, when there is one.
    pub command: Option<String>,
    /// What Gatehouse can do itself, when it can do it safely.
    pub action: Option<FixAction>,
}

/// One thing that keeps Claude Code off the gateway or off the subscription
/// login, or makes it less useful, with its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Warning {
    pub kind: WarningKind,
    /// What is wrong.
    pub message: String,
    /// The settings scope it comes from (`managed`, `local`, `project`, `user`).
    pub scope: Option<String>,
    /// The file it comes from.
    pub path: Option<String>,
    /// The setting or variable to change: `env.ANTHROPIC_API_KEY`,
    /// `apiKeyHelper`, or a variable's bare name for the environment.
    pub key: Option<String>,
    pub fix: Fix,
}

impl std::fmt::Display for Warning {
    /// The message and its fix on one line, for plain-text lists.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}. Fix: {}", self.message, self.fix.text)?;
        if let Some(command) = &self.fix.command {
            write!(f, " (`{command}`)")?;
        }
        Ok(())
    }
}

/// The words of the button that configures the user settings.
const SWITCH_ONTO_GATEHOUSE: &str = "Switch Claude Code onto Gatehouse…";
const CONFIGURE_AGAIN: &str = "Configure again…";
/// The words of the button that configures a project's local settings.
const SWITCH_PROJECT: &str = "Switch this project onto Gatehouse…";

fn action(kind: FixActionKind, label: &str) -> Option<FixAction> {
    Some(FixAction { kind, label: label.to_string() })
}

/// `gatehouse claude configure` for `scope`, and the button for the user
/// and local scopes (the two Gatehouse writes).
fn configure_fix(text: String, scope: &str, label: &str) -> Fix {
    let (command, action) = match scope {
        "user" => ("gatehouse claude configure".to_string(), action(FixActionKind::ConfigureUser, label)),
        "local" => (local_command(), action(FixActionKind::ConfigureLocal, label)),
        other => (format!("gatehouse claude configure --scope {other}"), None),
    };
    Fix { text, command: Some(command), action }
}

/// Configuring the local settings of the project Claude Code runs in.
fn local_command() -> String {
    "gatehouse claude configure --scope local".to_string()
}

fn in_file(scope: &str, path: &Path) -> (Option<String>, Option<String>) {
    (Some(scope.to_string()), Some(path.display().to_string()))
}

/// How to take a setting out of a file Gatehouse must not edit.
fn take_out(scope: &str, path: &Path, key: &str, so_that: &str) -> String {
    let path = path.display();
    match scope {
        "managed" => format!(
            "Ask the administrator who manages {path} to remove `{key}` from it {so_that}; \
             managed settings win over every other file, and only they can change them"
        ),
        "project" => format!(
            "Remove `{key}` from {path} {so_that}; that file is shared through git, so change it in the repository \
             (and keep keys out of it)"
        ),
        _ => format!("Remove `{key}` from {path} {so_that}; Gatehouse leaves your own settings to you"),
    }
}

/// No settings file points Claude Code at the gateway.
pub(crate) fn not_configured() -> Warning {
    Warning {
        kind: WarningKind::NotConfigured,
        message: "Claude Code does not go through Gatehouse: no settings file points it at the gateway".to_string(),
        scope: None,
        path: None,
        key: None,
        fix: configure_fix(
            "Point Claude Code's user settings at the gateway; Gatehouse adds only its own keys and shows the change \
             first"
                .to_string(),
            "user",
            SWITCH_ONTO_GATEHOUSE,
        ),
    }
}

pub(crate) fn invalid_json(scope: &str, path: &Path, line: usize, column: usize) -> Warning {
    let (scope_name, file) = in_file(scope, path);
    Warning {
        kind: WarningKind::InvalidJson,
        message: format!(
            "{} ({scope} settings) is not valid JSON (line {line}, column {column}); Claude Code may ignore it",
            path.display()
        ),
        scope: scope_name,
        path: file,
        key: None,
        fix: Fix {
            text: format!(
                "Fix the JSON in {} by hand at line {line}, column {column}; Gatehouse does not edit a file it cannot \
                 read as JSON",
                path.display()
            ),
            command: None,
            action: None,
        },
    }
}

pub(crate) fn unreadable(scope: &str, path: &Path, error: &std::io::Error) -> Warning {
    let (scope_name, file) = in_file(scope, path);
    Warning {
        kind: WarningKind::Unreadable,
        message: format!("{} ({scope} settings) cannot be read: {error}", path.display()),
        scope: scope_name,
        path: file,
        key: None,
        fix: Fix {
            text: format!(
                "Make {} readable by your user (check its owner and permissions); Claude Code cannot read it either",
                path.display()
            ),
            command: None,
            action: None,
        },
    }
}

/// A variable or `apiKeyHelper` in a settings file that replaces the login
/// or sends requests around the gateway. `effect` completes "it …".
pub(crate) fn setting(scope: &str, path: &Path, key: &str, effect: &str, replaces_login: bool) -> Warning {
    let (scope_name, file) = in_file(scope, path);
    let so_that = if replaces_login {
        "so that Claude Code uses your Claude subscription login"
    } else {
        "so that Claude Code's requests go through the gateway"
    };
    Warning {
        kind: if replaces_login { WarningKind::LoginReplaced } else { WarningKind::ProviderBypass },
        message: format!("{key} is set in {} ({scope} settings): it {effect}", path.display()),
        scope: scope_name,
        path: file,
        key: Some(key.to_string()),
        fix: Fix { text: take_out(scope, path, key, so_that), command: None, action: None },
    }
}

/// A variable set in the environment Gatehouse runs in.
pub(crate) fn environment_variable(variable: &str, effect: &str) -> Warning {
    Warning {
        kind: WarningKind::EnvironmentVariable,
        message: format!(
            "{variable} is set in the environment (your shell or login session): it {effect}, whatever the \
             settings files say"
        ),
        scope: None,
        path: None,
        key: Some(variable.to_string()),
        fix: Fix {
            text: format!(
                "Remove the line that exports {variable} from your shell's startup files (~/.bashrc, ~/.zshrc, \
                 ~/.profile) and open a new terminal; in the current shell, unset it"
            ),
            command: Some(format!("unset {variable}")),
            action: None,
        },
    }
}

/// A higher file's gateway variables win over the one Gatehouse configured.
pub(crate) fn overridden(winner: &super::doctor::Override, lower: &str) -> Warning {
    let (scope, path) = in_file(winner.scope, &winner.path);
    let key = format!("env.{}", winner.variable);
    let so_that = "so that Claude Code uses the gateway";
    let fix = match winner.scope {
        "local" => Fix {
            text: format!(
                "Remove `{key}` from {} {so_that}, or let Gatehouse point that file at the gateway",
                winner.path.display()
            ),
            command: Some(local_command()),
            action: action(FixActionKind::ConfigureLocal, SWITCH_PROJECT),
        },
        "project" => Fix {
            text: format!(
                "{}; or, on this machine only, point the project's local settings (which win over it) at the gateway",
                take_out("project", &winner.path, &key, so_that)
            ),
            command: Some(local_command()),
            action: action(FixActionKind::ConfigureLocal, SWITCH_PROJECT),
        },
        other => Fix { text: take_out(other, &winner.path, &key, so_that), command: None, action: None },
    };
    Warning { kind: WarningKind::Overridden, message: winner.message(lower), scope, path, key: Some(key), fix }
}

/// The file Gatehouse configured points at `url`, where nothing answers, and
/// Gatehouse's gateway is not running.
pub(crate) fn gateway_down(scope: &str, path: &Path, url: &str) -> Warning {
    let (scope_name, file) = in_file(scope, path);
    Warning {
        kind: WarningKind::GatewayDown,
        message: format!("Claude Code points at {url}, but no gateway answers there: Claude Code's requests will fail"),
        scope: scope_name,
        path: file,
        key: Some("env.ANTHROPIC_BASE_URL".to_string()),
        fix: Fix {
            text: format!(
                "Start the gateway, or take Claude Code off it (`gatehouse claude remove{}`)",
                scope_flag(scope)
            ),
            command: Some("gatehouse gateway run".to_string()),
            action: action(FixActionKind::StartGateway, "Start the gateway"),
        },
    }
}

/// The file Gatehouse configured points at `url`, but its gateway runs at `running`.
pub(crate) fn stale_gateway(scope: &str, path: &Path, url: &str, running: &str, answers: bool) -> Warning {
    let (scope_name, file) = in_file(scope, path);
    let consequence = if answers {
        "so Claude Code's requests go to another gateway"
    } else {
        "where nothing answers, so Claude Code's requests will fail"
    };
    Warning {
        kind: WarningKind::StaleGateway,
        message: format!(
            "{} ({scope} settings) points Claude Code at {url}, but Gatehouse's gateway runs at {running}, \
             {consequence}",
            path.display()
        ),
        scope: scope_name,
        path: file,
        key: Some("env.ANTHROPIC_BASE_URL".to_string()),
        fix: configure_fix(
            format!("Configure Claude Code again, so its {scope} settings point at {running}; the key is kept"),
            scope,
            CONFIGURE_AGAIN,
        ),
    }
}

/// The file Gatehouse configured lacks the hint headers variable.
pub(crate) fn hint_headers_missing(scope: &str, path: &Path) -> Warning {
    let (scope_name, file) = in_file(scope, path);
    let variable = super::settings::HINT_HEADERS;
    Warning {
        kind: WarningKind::HintHeadersMissing,
        message: format!(
            "{} ({scope} settings) points Claude Code at the gateway without {variable}=1, so requests come without \
             their kind: main, subagent or compaction cannot be told apart",
            path.display()
        ),
        scope: scope_name,
        path: file,
        key: Some(format!("env.{variable}")),
        fix: configure_fix(
            format!(
                "Configure Claude Code again: Gatehouse adds {variable}=1 to its {scope} settings and keeps the key"
            ),
            scope,
            CONFIGURE_AGAIN,
        ),
    }
}

fn scope_flag(scope: &str) -> String {
    if scope == "user" { String::new() } else { format!(" --scope {scope}") }
}
