//! `gatehouse claude status`: is Claude Code going through the gateway, and
//! what could silently bypass it or replace the subscription login?
//!
//! Claude Code takes `env` from every settings scope (managed settings win
//! over local, project and user) and from its own process environment. An
//! `ANTHROPIC_API_KEY` or `ANTHROPIC_AUTH_TOKEN` anywhere replaces the
//! subscription login; `CLAUDE_CODE_USE_BEDROCK` or `_VERTEX` sends traffic
//! around the gateway; a higher scope's `ANTHROPIC_BASE_URL` overrides ours.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cli_binary::{self, AuthStatus};
use super::scope::{self, Scope};
use super::settings;

/// Variables that change where Claude Code sends requests or which login it uses.
const OVERRIDING_VARIABLES: [(&str, &str); 5] = [
    ("ANTHROPIC_API_KEY", "replaces the Claude subscription login with an API key"),
    ("ANTHROPIC_AUTH_TOKEN", "replaces the Claude subscription login with a bearer token"),
    ("CLAUDE_CODE_USE_BEDROCK", "sends requests to Amazon Bedrock, around the gateway"),
    ("CLAUDE_CODE_USE_VERTEX", "sends requests to Google Vertex AI, around the gateway"),
    ("CLAUDE_CODE_USE_FOUNDRY", "sends requests to Microsoft Foundry, around the gateway"),
];

/// One settings file as Gatehouse sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsFileState {
    /// `managed`, `local`, `project` or `user`.
    pub scope: &'static str,
    pub path: PathBuf,
    pub exists: bool,
    /// Its `env.ANTHROPIC_BASE_URL`.
    pub base_url: Option<String>,
    /// Whether it carries an `x-gatehouse-key` header line.
    pub has_gateway_key: bool,
    /// Whether it sets `env.ANTHROPIC_CUSTOM_HEADERS` (whose value may hold
    /// secrets, so it is not reported).
    pub sets_custom_headers: bool,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

/// Everything `claude status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ClaudeCodeStatus {
    /// True when the effective settings point Claude Code at a gateway with a key.
    pub configured: bool,
    /// The base URL Claude Code will use, by precedence.
    pub effective_base_url: Option<String>,
    pub effective_scope: Option<&'static str>,
    /// Settings files, highest precedence first.
    pub files: Vec<SettingsFileState>,
    /// A higher-precedence file whose own gateway variables win over the
    /// file Gatehouse configured, so Claude Code does not use the gateway.
    pub overridden: Option<Override>,
    /// Whether the gateway Claude Code points at answers `/health`.
    pub gateway_answers: Option<bool>,
    pub login: Option<AuthStatus>,
    pub login_error: Option<String>,
    pub warnings: Vec<String>,
}

/// A settings file that takes the gateway away from a lower one: Claude Code
/// takes each `env` variable from the highest-precedence file that sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    /// The winning file's scope (`managed`, `local`, `project`).
    pub scope: &'static str,
    pub path: PathBuf,
    /// `ANTHROPIC_BASE_URL` or `ANTHROPIC_CUSTOM_HEADERS`.
    pub variable: &'static str,
    /// The base URL it sets, when that is the variable.
    pub base_url: Option<String>,
}

impl Override {
    /// Which file wins over `lower`'s, and what to do about it.
    pub fn explain(&self, lower: &str) -> String {
        let what = match &self.base_url {
            Some(url) => format!("{}={url}", self.variable),
            None => format!("its own {}", self.variable),
        };
        let fix = if self.scope == "managed" {
            "ask the administrator who manages it to remove it".to_string()
        } else if self.scope == "local" {
            format!(
                "take {} out of that file, or point that file at the gateway with `gatehouse claude configure --scope local`",
                self.variable
            )
        } else {
            format!("take {} out of that file", self.variable)
        };
        format!(
            "{} ({} settings) sets {what}, which wins over {lower} settings, so Claude Code would not use the gateway: {fix}",
            self.path.display(),
            self.scope,
        )
    }
}

/// The file of higher precedence than `scope`'s whose gateway variables win
/// over it, if any. A higher file that Gatehouse configured itself (it holds
/// a gateway key) sends Claude Code to the gateway too, so it does not count.
pub(crate) fn override_of(files: &[SettingsFileState], scope: &str) -> Option<Override> {
    let higher = files.iter().take_while(|f| f.scope != scope);
    let base_url = higher.clone().find(|f| f.base_url.is_some());
    let headers = higher.clone().find(|f| f.sets_custom_headers);
    let make = |file: &SettingsFileState, variable, base_url| Override {
        scope: file.scope,
        path: file.path.clone(),
        variable,
        base_url,
    };
    match (base_url, headers) {
        (Some(file), _) if !file.has_gateway_key => Some(make(file, "ANTHROPIC_BASE_URL", file.base_url.clone())),
        (_, Some(file)) if !file.has_gateway_key => Some(make(file, "ANTHROPIC_CUSTOM_HEADERS", None)),
        _ => None,
    }
}

/// Every settings file Claude Code reads, highest precedence first.
pub(crate) fn settings_files(project_dir: &Path) -> anyhow::Result<Vec<SettingsFileState>> {
    settings_files_with_warnings(project_dir, &mut Vec::new())
}

fn settings_files_with_warnings(
    project_dir: &Path,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Vec<SettingsFileState>> {
    let claude_dir = crate::paths::claude_config_dir()?;
    let mut files = vec![inspect("managed", &scope::managed_settings_path(), warnings)];
    for scope in Scope::BY_PRECEDENCE {
        files.push(inspect(scope.name(), &scope.settings_path(&claude_dir, project_dir), warnings));
    }
    Ok(files)
}

fn inspect(scope: &'static str, path: &Path, warnings: &mut Vec<String>) -> SettingsFileState {
    let mut state = SettingsFileState {
        scope,
        path: path.to_path_buf(),
        exists: false,
        base_url: None,
        has_gateway_key: false,
        sets_custom_headers: false,
        error: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return state,
        Err(e) => {
            state.exists = true;
            state.error = Some(format!("cannot read: {e}"));
            return state;
        }
    };
    state.exists = true;
    if text.trim().is_empty() {
        return state;
    }
    let document: serde_json::Value = match serde_json::from_str(&text) {
        Ok(document) => document,
        Err(e) => {
            state.error = Some(format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column()));
            warnings.push(format!(
                "{} is not valid JSON (line {}, column {}); Claude Code may ignore it. Fix it by hand.",
                path.display(),
                e.line(),
                e.column()
            ));
            return state;
        }
    };
    let env = document.get("env");
    let env_string = |name: &str| env.and_then(|e| e.get(name)).and_then(|v| v.as_str()).map(str::to_string);
    state.base_url = env_string("ANTHROPIC_BASE_URL");
    state.sets_custom_headers = env.and_then(|e| e.get("ANTHROPIC_CUSTOM_HEADERS")).is_some_and(|v| !v.is_null());
    state.has_gateway_key = env_string("ANTHROPIC_CUSTOM_HEADERS")
        .is_some_and(|headers| headers.lines().any(|line| settings::gatehouse_key_value(line).is_some()));
    for (variable, effect) in OVERRIDING_VARIABLES {
        if env.and_then(|e| e.get(variable)).is_some_and(|v| !v.is_null() && v != "" && v != "0") {
            warnings.push(format!("{variable} is set in {} ({scope} settings): it {effect}", path.display()));
        }
    }
    if document.get("apiKeyHelper").is_some() {
        warnings.push(format!(
            "apiKeyHelper is set in {} ({scope} settings): its key replaces the Claude subscription login",
            path.display()
        ));
    }
    state
}

/// Inspects every settings scope, the process environment, the gateway and the login.
pub fn status(project_dir: &Path, check_login: bool) -> anyhow::Result<ClaudeCodeStatus> {
    let mut warnings = Vec::new();
    let files = settings_files_with_warnings(project_dir, &mut warnings)?;

    for (variable, effect) in OVERRIDING_VARIABLES {
        if std::env::var(variable).is_ok_and(|v| !v.is_empty() && v != "0") {
            warnings.push(format!("{variable} is set in this shell's environment: it {effect}"));
        }
    }

    let effective = files.iter().find(|f| f.base_url.is_some());
    let effective_base_url = effective.and_then(|f| f.base_url.clone());
    let effective_scope = effective.map(|f| f.scope);
    let keyed = files.iter().find(|f| f.has_gateway_key);
    let overridden = keyed.and_then(|keyed| override_of(&files, keyed.scope));
    if let (Some(overridden), Some(keyed)) = (&overridden, keyed) {
        warnings.push(overridden.explain(keyed.scope));
    }
    let configured =
        overridden.is_none() && keyed.is_some() && effective.is_some_and(|e| keyed.is_some_and(|k| k.scope == e.scope));

    let gateway_answers = if configured {
        let url = effective_base_url.as_deref().unwrap_or_default();
        let answers = crate::gateway_client::health(url).is_ok();
        if !answers {
            warnings.push(format!(
                "Claude Code points at {url}, but no gateway answers there: Claude Code's requests will fail. \
                 Start it with `gatehouse gateway run`, or run `gatehouse claude remove`"
            ));
        }
        Some(answers)
    } else {
        None
    };

    let (login, login_error) = if check_login {
        match cli_binary::auth_status() {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error)),
        }
    } else {
        (None, None)
    };

    Ok(ClaudeCodeStatus {
        configured,
        effective_base_url,
        effective_scope,
        files,
        overridden,
        gateway_answers,
        login,
        login_error,
        warnings,
    })
}
