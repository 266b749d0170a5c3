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
use super::warnings::{self, Warning};

/// Variables that change where Claude Code sends requests or which login it
/// uses: the name, what it does, and whether it replaces the login.
const OVERRIDING_VARIABLES: [(&str, &str, bool); 5] = [
    ("ANTHROPIC_API_KEY", "replaces the Claude subscription login with an API key", true),
    ("ANTHROPIC_AUTH_TOKEN", "replaces the Claude subscription login with a bearer token", true),
    ("CLAUDE_CODE_USE_BEDROCK", "sends requests to Amazon Bedrock, around the gateway", false),
    ("CLAUDE_CODE_USE_VERTEX", "sends requests to Google Vertex AI, around the gateway", false),
    ("CLAUDE_CODE_USE_FOUNDRY", "sends requests to Microsoft Foundry, around the gateway", false),
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
    /// Whether it carries an `x-litellm-api-key` header line: a team
    /// proxy's virtual key (see `claude configure --team`).
    pub has_team_key: bool,
    /// Whether it sets `env.ANTHROPIC_CUSTOM_HEADERS` (whose value may hold
    /// secrets, so it is not reported).
    pub sets_custom_headers: bool,
    /// Whether it sets `env.CLAUDE_CODE_GATEWAY_HINT_HEADERS` to `"1"`.
    pub hint_headers: bool,
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
    /// The team proxy Claude Code talks to directly, when the effective
    /// settings point at one with a virtual key (`claude configure --team`).
    pub team_proxy: Option<TeamProxy>,
    pub login: Option<AuthStatus>,
    pub login_error: Option<String>,
    /// Each problem with its fix, most important first.
    pub warnings: Vec<Warning>,
}

/// A team's LiteLLM proxy that Claude Code talks to directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamProxy {
    /// Its `remote-litellm` upstream's name, when the config has one at this URL.
    pub name: Option<String>,
    pub base_url: String,
    pub scope: &'static str,
}

impl ClaudeCodeStatus {
    /// Names the team proxy after the config's `remote-litellm` upstream at its URL.
    pub fn name_team(&mut self, config: &crate::config::Config) {
        if let Some(team) = &mut self.team_proxy {
            team.name = crate::engines::remote::teams(config)
                .find(|upstream| upstream.base_url.as_deref().is_some_and(|url| same_url(url, &team.base_url)))
                .map(|upstream| upstream.name.clone());
        }
    }
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
    /// Which file wins over `lower`'s.
    pub fn message(&self, lower: &str) -> String {
        let what = match &self.base_url {
            Some(url) => format!("{}={url}", self.variable),
            None => format!("its own {}", self.variable),
        };
        format!(
            "{} ({} settings) sets {what}, which wins over {lower} settings, so Claude Code would not use the gateway",
            self.path.display(),
            self.scope,
        )
    }

    /// Which file wins over `lower`'s, and what to do about it.
    pub fn explain(&self, lower: &str) -> String {
        warnings::overridden(self, lower).to_string()
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

/// Where Claude Code's settings files are.
struct Locations<'a> {
    claude_dir: PathBuf,
    managed: PathBuf,
    project_dir: Option<&'a Path>,
}

impl<'a> Locations<'a> {
    /// This machine's, for `project_dir`.
    fn here(project_dir: Option<&'a Path>) -> anyhow::Result<Locations<'a>> {
        Ok(Locations {
            claude_dir: crate::paths::claude_config_dir()?,
            managed: scope::managed_settings_path(),
            project_dir,
        })
    }
}

/// Every settings file Claude Code reads, highest precedence first. Without
/// a project (the desktop app has none of its own), only the managed and
/// user settings: a project's files mean something only in that project.
pub(crate) fn settings_files(project_dir: Option<&Path>) -> anyhow::Result<Vec<SettingsFileState>> {
    Ok(settings_files_with_warnings(&Locations::here(project_dir)?, &mut Vec::new()))
}

fn settings_files_with_warnings(at: &Locations, warnings: &mut Vec<Warning>) -> Vec<SettingsFileState> {
    let mut files = vec![inspect("managed", &at.managed, warnings)];
    for scope in Scope::BY_PRECEDENCE {
        let path = match (scope, at.project_dir) {
            (Scope::User, _) => scope.settings_path(&at.claude_dir, Path::new("")),
            (_, Some(project_dir)) => scope.settings_path(&at.claude_dir, project_dir),
            (_, None) => continue,
        };
        files.push(inspect(scope.name(), &path, warnings));
    }
    files
}

fn inspect(scope: &'static str, path: &Path, warnings: &mut Vec<Warning>) -> SettingsFileState {
    let mut state = SettingsFileState {
        scope,
        path: path.to_path_buf(),
        exists: false,
        base_url: None,
        has_gateway_key: false,
        has_team_key: false,
        sets_custom_headers: false,
        hint_headers: false,
        error: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return state,
        Err(e) => {
            state.exists = true;
            state.error = Some(format!("cannot read: {e}"));
            warnings.push(warnings::unreadable(scope, path, &e));
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
            warnings.push(warnings::invalid_json(scope, path, e.line(), e.column()));
            return state;
        }
    };
    let env = document.get("env");
    let env_string = |name: &str| env.and_then(|e| e.get(name)).and_then(|v| v.as_str()).map(str::to_string);
    state.base_url = env_string("ANTHROPIC_BASE_URL");
    state.sets_custom_headers = env.and_then(|e| e.get("ANTHROPIC_CUSTOM_HEADERS")).is_some_and(|v| !v.is_null());
    state.has_gateway_key = env_string("ANTHROPIC_CUSTOM_HEADERS")
        .is_some_and(|headers| headers.lines().any(|line| settings::gatehouse_key_value(line).is_some()));
    state.has_team_key = env_string("ANTHROPIC_CUSTOM_HEADERS")
        .is_some_and(|headers| settings::has_own_line(&headers, settings::Destination::TeamProxy));
    state.hint_headers = env_string(settings::HINT_HEADERS).as_deref() == Some(settings::HINT_HEADERS_ON);
    for (variable, effect, replaces_login) in OVERRIDING_VARIABLES {
        if env.and_then(|e| e.get(variable)).is_some_and(|v| !v.is_null() && v != "" && v != "0") {
            warnings.push(warnings::setting(scope, path, &format!("env.{variable}"), effect, replaces_login));
        }
    }
    if document.get("apiKeyHelper").is_some_and(|v| !v.is_null()) {
        warnings.push(warnings::setting(
            scope,
            path,
            "apiKeyHelper",
            "replaces the Claude subscription login with the key its script prints",
            true,
        ));
    }
    state
}

/// Inspects every settings scope (a project's only with `project_dir`), the
/// process environment, the gateway and the login. `gatehouse_url` is where
/// Gatehouse's own gateway answers now, if it runs: a configured file that
/// points elsewhere is stale.
pub fn status(
    project_dir: Option<&Path>,
    gatehouse_url: Option<&str>,
    check_login: bool,
) -> anyhow::Result<ClaudeCodeStatus> {
    let probes = Probes {
        env: &|name| std::env::var(name).ok(),
        answers: &|url| crate::gateway_client::health(url).is_ok(),
        gatehouse_url,
    };
    let mut status = inspect_all(&Locations::here(project_dir)?, &probes);
    if check_login {
        match cli_binary::auth_status() {
            Ok(login) => status.login = Some(login),
            Err(error) => status.login_error = Some(error),
        }
    }
    Ok(status)
}

/// What [`inspect_all`] asks of the world beyond the settings files.
struct Probes<'a> {
    /// The environment variable's value.
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Whether a gateway answers `/health` at the URL.
    answers: &'a dyn Fn(&str) -> bool,
    /// Where Gatehouse's own gateway runs now, if it does.
    gatehouse_url: Option<&'a str>,
}

/// The status from the files at `at`, without the login.
fn inspect_all(at: &Locations, probes: &Probes) -> ClaudeCodeStatus {
    let mut warnings = Vec::new();
    let files = settings_files_with_warnings(at, &mut warnings);

    for (variable, effect, _) in OVERRIDING_VARIABLES {
        if (probes.env)(variable).is_some_and(|v| !v.is_empty() && v != "0") {
            warnings.push(warnings::environment_variable(variable, effect));
        }
    }

    let effective = files.iter().find(|f| f.base_url.is_some());
    let effective_base_url = effective.and_then(|f| f.base_url.clone());
    let effective_scope = effective.map(|f| f.scope);
    let keyed = files.iter().find(|f| f.has_gateway_key);
    let overridden = keyed.and_then(|keyed| override_of(&files, keyed.scope));
    if let (Some(overridden), Some(keyed)) = (&overridden, keyed) {
        warnings.push(warnings::overridden(overridden, keyed.scope));
    }
    let configured =
        overridden.is_none() && keyed.is_some() && effective.is_some_and(|e| keyed.is_some_and(|k| k.scope == e.scope));

    let gateway_answers = match (configured, keyed) {
        (true, Some(keyed)) => {
            let url = effective_base_url.as_deref().unwrap_or_default();
            let answers = (probes.answers)(url);
            match probes.gatehouse_url.filter(|running| !same_url(running, url)) {
                Some(running) => {
                    warnings.push(warnings::stale_gateway(keyed.scope, &keyed.path, url, running, answers));
                }
                None if !answers => warnings.push(warnings::gateway_down(keyed.scope, &keyed.path, url)),
                None => {}
            }
            Some(answers)
        }
        _ => None,
    };
    // Claude Code takes the base URL and the headers each from the highest
    // file that sets them: both must come from the team's file.
    let headers_from = files.iter().find(|f| f.sets_custom_headers);
    let team_proxy = effective
        .filter(|e| e.has_team_key && headers_from.is_some_and(|h| h.scope == e.scope))
        .map(|e| TeamProxy { name: None, base_url: e.base_url.clone().unwrap_or_default(), scope: e.scope });
    match keyed {
        // Claude Code goes to the team's proxy, not the gateway: nothing to switch.
        _ if team_proxy.is_some() => {}
        Some(keyed) if !keyed.hint_headers && keyed.base_url.is_some() => {
            warnings.push(warnings::hint_headers_missing(keyed.scope, &keyed.path));
        }
        // Nothing to point at the gateway until every file can be read.
        None if files.iter().all(|f| f.error.is_none()) => match override_of(&files, Scope::User.name()) {
            Some(winner) => warnings.insert(0, warnings::overridden(&winner, Scope::User.name())),
            None => warnings.insert(0, warnings::not_configured()),
        },
        _ => {}
    }

    ClaudeCodeStatus {
        configured,
        effective_base_url,
        effective_scope,
        files,
        overridden,
        gateway_answers,
        team_proxy,
        login: None,
        login_error: None,
        warnings,
    }
}

/// Whether two gateway URLs name the same place (a trailing slash aside).
fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude_code::warnings::{FixActionKind, WarningKind};

    const URL: &str = "http://127.0.0.1:7497";

    /// A machine of temporary folders: Claude's config dir, the managed
    /// settings file, and one project.
    struct Machine {
        root: tempfile::TempDir,
        project: PathBuf,
    }

    impl Machine {
        fn new() -> Machine {
            let root = tempfile::tempdir().unwrap();
            let project = root.path().join("project");
            let machine = Machine { root, project };
            std::fs::create_dir_all(machine.claude_dir()).unwrap();
            std::fs::create_dir_all(machine.project.join(".claude")).unwrap();
            machine
        }
        fn claude_dir(&self) -> PathBuf {
            self.root.path().join("claude")
        }
        fn path(&self, scope: &str) -> PathBuf {
            match scope {
                "managed" => self.root.path().join("managed-settings.json"),
                "user" => self.claude_dir().join("settings.json"),
                "local" => self.project.join(".claude/settings.local.json"),
                _ => self.project.join(".claude/settings.json"),
            }
        }
        fn write(&self, scope: &str, text: &str) -> PathBuf {
            let path = self.path(scope);
            std::fs::write(&path, text).unwrap();
            path
        }
        fn locations(&self, with_project: bool) -> Locations<'_> {
            Locations {
                claude_dir: self.claude_dir(),
                managed: self.path("managed"),
                project_dir: with_project.then_some(self.project.as_path()),
            }
        }
    }

    /// Claude Code pointed at the gateway with a key, as configure leaves it.
    fn keyed(url: &str, hint: bool) -> String {
        let hint = if hint { r#", "CLAUDE_CODE_GATEWAY_HINT_HEADERS": "1""# } else { "" };
        format!(
            r#"{{"env": {{"ANTHROPIC_BASE_URL": "{url}", "ANTHROPIC_CUSTOM_HEADERS": "x-gatehouse-key: ghk_secret_test"{hint}}}}}"#
        )
    }

    fn check(machine: &Machine, env: &[(&str, &str)], answers: bool, running: Option<&str>) -> ClaudeCodeStatus {
        let env = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        let answers = |_: &str| answers;
        let status =
            inspect_all(&machine.locations(true), &Probes { env: &env, answers: &answers, gatehouse_url: running });
        let json = serde_json::to_string(&status).unwrap();
        for secret in ["ghk_secret_test", "sk-ant-api03-FAKE", "tok-FAKE"] {
            assert!(!json.contains(secret), "a status never shows a secret: {json}");
        }
        status
    }

    fn kinds(status: &ClaudeCodeStatus) -> Vec<WarningKind> {
        status.warnings.iter().map(|w| w.kind).collect()
    }

    fn only(status: &ClaudeCodeStatus, kind: WarningKind) -> &Warning {
        let found: Vec<_> = status.warnings.iter().filter(|w| w.kind == kind).collect();
        assert_eq!(found.len(), 1, "one {kind:?} in {:#?}", status.warnings);
        found[0]
    }

    fn action(warning: &Warning) -> Option<FixActionKind> {
        warning.fix.action.as_ref().map(|a| a.kind)
    }

    #[test]
    fn nothing_configured_offers_the_switch_onto_gatehouse() {
        let machine = Machine::new();
        machine.write("user", r#"{"model": "opus"}"#);
        let status = check(&machine, &[], true, Some(URL));
        assert_eq!(kinds(&status), [WarningKind::NotConfigured]);
        let warning = &status.warnings[0];
        assert_eq!(action(warning), Some(FixActionKind::ConfigureUser));
        assert_eq!(warning.fix.action.as_ref().unwrap().label, "Switch Claude Code onto Gatehouse…");
        assert_eq!(warning.fix.command.as_deref(), Some("gatehouse claude configure"));
    }

    #[test]
    fn a_team_proxy_in_the_user_settings_is_reported_as_such() {
        let machine = Machine::new();
        let team = r#"{"env": {"ANTHROPIC_BASE_URL": "https://llm.example.com", "ANTHROPIC_CUSTOM_HEADERS": "x-litellm-api-key: Bearer sk-team-secret"}}"#;
        machine.write("user", team);
        let status = check(&machine, &[], false, Some(URL));
        assert!(!status.configured, "not the gateway");
        let proxy = status.team_proxy.clone().expect("a team proxy");
        assert_eq!((proxy.base_url.as_str(), proxy.scope), ("https://llm.example.com", "user"));
        assert!(status.warnings.is_empty(), "nothing to switch: {:#?}", status.warnings);
        assert!(!serde_json::to_string(&status).unwrap().contains("sk-team-secret"), "the key is not shown");
        // A higher file's own headers win: Claude Code would not send the team key.
        machine.write("local", r#"{"env": {"ANTHROPIC_CUSTOM_HEADERS": "x-other: 1"}}"#);
        assert_eq!(check(&machine, &[], false, Some(URL)).team_proxy, None);
    }

    #[test]
    fn a_healthy_configuration_has_no_warning() {
        let machine = Machine::new();
        machine.write("user", &keyed(URL, true));
        let status = check(&machine, &[], true, Some(&format!("{URL}/")));
        assert!(status.configured && status.warnings.is_empty(), "{:#?}", status.warnings);
        assert_eq!(status.gateway_answers, Some(true));
    }

    #[test]
    fn a_file_that_is_not_json_is_left_to_be_fixed_by_hand() {
        let machine = Machine::new();
        let path = machine.write("user", "{\n  \"env\": {,}\n}\n");
        let status = check(&machine, &[], true, None);
        // Whether Claude Code is configured cannot be told: no switch offered.
        assert_eq!(kinds(&status), [WarningKind::InvalidJson]);
        let warning = &status.warnings[0];
        assert_eq!(warning.path.as_deref(), Some(path.to_str().unwrap()));
        assert_eq!(warning.scope.as_deref(), Some("user"));
        assert!(warning.fix.text.contains("line 2, column 11") && warning.fix.text.contains("by hand"), "{warning:?}");
        assert_eq!(warning.fix.action, None);
    }

    #[test]
    fn a_file_that_cannot_be_read_says_so() {
        let machine = Machine::new();
        std::fs::create_dir_all(machine.path("local")).unwrap();
        let status = check(&machine, &[], true, None);
        let warning = only(&status, WarningKind::Unreadable);
        assert_eq!(warning.scope.as_deref(), Some("local"));
        assert!(warning.fix.text.contains("readable"), "{warning:?}");
        assert!(!kinds(&status).contains(&WarningKind::NotConfigured));
    }

    #[test]
    fn a_login_replaced_in_a_file_names_the_file_and_the_key_by_scope() {
        let machine = Machine::new();
        let user = machine.write(
            "user",
            r#"{"apiKeyHelper": "~/bin/key.sh", "env": {"ANTHROPIC_API_KEY": "sk-ant-api03-FAKE", "CLAUDE_CODE_USE_VERTEX": "0"}}"#,
        );
        let managed = machine.write("managed", r#"{"env": {"ANTHROPIC_AUTH_TOKEN": "tok-FAKE"}}"#);
        let project = machine.write("project", r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}}"#);
        let status = check(&machine, &[], true, None);

        let of = |key: &str| status.warnings.iter().find(|w| w.key.as_deref() == Some(key)).unwrap();
        let api_key = of("env.ANTHROPIC_API_KEY");
        assert_eq!(api_key.kind, WarningKind::LoginReplaced);
        assert_eq!(
            api_key.fix.text,
            format!(
                "Remove `env.ANTHROPIC_API_KEY` from {} so that Claude Code uses your Claude subscription login; \
                 Gatehouse leaves your own settings to you",
                user.display()
            )
        );
        let helper = of("apiKeyHelper");
        assert_eq!(helper.kind, WarningKind::LoginReplaced);
        assert!(helper.fix.text.starts_with(&format!("Remove `apiKeyHelper` from {}", user.display())));
        let token = of("env.ANTHROPIC_AUTH_TOKEN");
        assert_eq!(token.scope.as_deref(), Some("managed"));
        assert!(token.fix.text.starts_with(&format!("Ask the administrator who manages {}", managed.display())));
        let bedrock = of("env.CLAUDE_CODE_USE_BEDROCK");
        assert_eq!(bedrock.kind, WarningKind::ProviderBypass);
        assert!(bedrock.fix.text.contains(&project.display().to_string()) && bedrock.fix.text.contains("through git"));
        assert!(bedrock.fix.text.contains("go through the gateway"), "{bedrock:?}");
        assert!(status.warnings.iter().all(|w| w.kind == WarningKind::NotConfigured || w.fix.action.is_none()));
        assert!(!status.warnings.iter().any(|w| w.key.as_deref() == Some("env.CLAUDE_CODE_USE_VERTEX")), "0 is off");
    }

    #[test]
    fn an_environment_variable_is_unset_in_the_shell() {
        let machine = Machine::new();
        machine.write("user", &keyed(URL, true));
        let status =
            check(&machine, &[("ANTHROPIC_AUTH_TOKEN", "tok-FAKE"), ("CLAUDE_CODE_USE_FOUNDRY", "0")], true, None);
        let warning = only(&status, WarningKind::EnvironmentVariable);
        assert_eq!(warning.key.as_deref(), Some("ANTHROPIC_AUTH_TOKEN"));
        assert_eq!(warning.fix.command.as_deref(), Some("unset ANTHROPIC_AUTH_TOKEN"));
        assert!(warning.fix.text.contains("~/.bashrc"), "{warning:?}");
        assert_eq!(kinds(&status), [WarningKind::EnvironmentVariable]);
    }

    #[test]
    fn an_overriding_file_gets_the_fix_its_scope_allows() {
        // Managed settings win over the user settings Gatehouse configured.
        let machine = Machine::new();
        machine.write("user", &keyed(URL, true));
        let managed = machine.write("managed", r#"{"env": {"ANTHROPIC_BASE_URL": "https://llm.corp.example"}}"#);
        let status = check(&machine, &[], true, Some(URL));
        assert!(!status.configured);
        let warning = only(&status, WarningKind::Overridden);
        assert_eq!(warning.key.as_deref(), Some("env.ANTHROPIC_BASE_URL"));
        assert!(warning.message.contains("wins over user settings"), "{warning:?}");
        assert!(warning.fix.text.starts_with(&format!("Ask the administrator who manages {}", managed.display())));
        assert_eq!((warning.fix.command.as_deref(), action(warning)), (None, None));

        // A committed project file: change it in the repository, or override it locally.
        std::fs::remove_file(&managed).unwrap();
        machine.write("project", r#"{"env": {"ANTHROPIC_CUSTOM_HEADERS": "x-team: a"}}"#);
        let status = check(&machine, &[], true, Some(URL));
        let warning = only(&status, WarningKind::Overridden);
        assert_eq!(warning.key.as_deref(), Some("env.ANTHROPIC_CUSTOM_HEADERS"));
        assert!(warning.fix.text.contains("through git") && warning.fix.text.contains("local settings"));
        assert_eq!(warning.fix.command.as_deref(), Some("gatehouse claude configure --scope local"));

        // A local file: the user's own, on this machine.
        machine.write("local", r#"{"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9999"}}"#);
        let status = check(&machine, &[], true, Some(URL));
        let warning = only(&status, WarningKind::Overridden);
        assert_eq!(warning.scope.as_deref(), Some("local"));
        assert_eq!(warning.fix.command.as_deref(), Some("gatehouse claude configure --scope local"));

        // Nothing configured yet, under managed settings: the switch would be refused, so it is not offered.
        let machine = Machine::new();
        machine.write("managed", r#"{"env": {"ANTHROPIC_BASE_URL": "https://llm.corp.example"}}"#);
        let status = check(&machine, &[], true, Some(URL));
        assert_eq!(kinds(&status), [WarningKind::Overridden]);
        assert_eq!(action(&status.warnings[0]), None);
    }

    #[test]
    fn a_gateway_that_is_down_is_started() {
        let machine = Machine::new();
        machine.write("user", &keyed(URL, true));
        let status = check(&machine, &[], false, None);
        assert_eq!(status.gateway_answers, Some(false));
        let warning = only(&status, WarningKind::GatewayDown);
        assert_eq!(action(warning), Some(FixActionKind::StartGateway));
        assert_eq!(warning.fix.command.as_deref(), Some("gatehouse gateway run"));
        assert!(warning.fix.text.contains("`gatehouse claude remove`"), "{warning:?}");
    }

    #[test]
    fn a_stale_gateway_address_is_configured_again() {
        let machine = Machine::new();
        machine.write("user", &keyed("http://127.0.0.1:7000", true));
        for answers in [false, true] {
            let status = check(&machine, &[], answers, Some(URL));
            let warning = only(&status, WarningKind::StaleGateway);
            assert!(warning.message.contains("http://127.0.0.1:7000") && warning.message.contains(URL), "{warning:?}");
            assert_eq!(action(warning), Some(FixActionKind::ConfigureUser));
            assert_eq!(warning.fix.action.as_ref().unwrap().label, "Configure again…");
            assert_eq!(kinds(&status).len(), 1, "{:#?}", status.warnings);
        }
        // In a project's local settings: the command, run in the project, and the app's button for it.
        std::fs::remove_file(machine.path("user")).unwrap();
        machine.write("local", &keyed("http://127.0.0.1:7000", true));
        let status = check(&machine, &[], false, Some(URL));
        let warning = only(&status, WarningKind::StaleGateway);
        assert_eq!(warning.fix.command.as_deref(), Some("gatehouse claude configure --scope local"));
        assert_eq!(action(warning), Some(FixActionKind::ConfigureLocal));
    }

    #[test]
    fn a_configuration_without_the_hint_headers_is_configured_again() {
        let machine = Machine::new();
        machine.write("user", &keyed(URL, false));
        let status = check(&machine, &[], true, Some(URL));
        let warning = only(&status, WarningKind::HintHeadersMissing);
        assert_eq!(warning.key.as_deref(), Some("env.CLAUDE_CODE_GATEWAY_HINT_HEADERS"));
        assert_eq!(action(warning), Some(FixActionKind::ConfigureUser));
        assert_eq!(warning.fix.command.as_deref(), Some("gatehouse claude configure"));
    }

    #[test]
    fn configure_fixes_what_it_offers_to_fix() {
        let home = tempfile::tempdir().unwrap();
        let paths = crate::paths::Paths::under(home.path());
        let machine = Machine::new();
        let project = machine.project.clone();
        // Configured at an old port, and before Gatehouse set the hint variable.
        super::super::setup::configure(&paths, Scope::Local, &project, "http://127.0.0.1:7000").unwrap();
        let local = machine.path("local");
        let old = std::fs::read_to_string(&local).unwrap();
        std::fs::write(&local, old.replace(",\n    \"CLAUDE_CODE_GATEWAY_HINT_HEADERS\": \"1\"", "")).unwrap();
        let key = super::super::setup::key_in(&old).unwrap();
        let status = check(&machine, &[], false, Some(URL));
        assert_eq!(kinds(&status), [WarningKind::StaleGateway, WarningKind::HintHeadersMissing], "{old}");

        let preview = super::super::preview::configure(&paths, Scope::Local, &project, URL).unwrap();
        assert!(preview.diff.contains(&format!("+    \"ANTHROPIC_BASE_URL\": \"{URL}\"")), "{}", preview.diff);
        assert!(preview.diff.contains("+    \"CLAUDE_CODE_GATEWAY_HINT_HEADERS\": \"1\""), "{}", preview.diff);
        super::super::setup::configure(&paths, Scope::Local, &project, URL).unwrap();
        let status = check(&machine, &[], true, Some(URL));
        assert!(status.warnings.is_empty(), "{:#?}", status.warnings);
        assert_eq!(super::super::setup::key_in(&std::fs::read_to_string(&local).unwrap()), Some(key), "key kept");
    }

    #[test]
    fn without_a_project_only_the_managed_and_user_settings_are_read() {
        let machine = Machine::new();
        machine.write("local", r#"{"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9999"}}"#);
        let answers = |_: &str| true;
        let status =
            inspect_all(&machine.locations(false), &Probes { env: &|_| None, answers: &answers, gatehouse_url: None });
        let scopes: Vec<_> = status.files.iter().map(|f| f.scope).collect();
        assert_eq!(scopes, ["managed", "user"]);
        assert_eq!(kinds(&status), [WarningKind::NotConfigured]);
    }
}
