//! `config.toml`: the user's settings for Gatehouse.
//!
//! The file is meant to be edited by hand, so every key has a default, unknown
//! keys are refused (a typo must not be silently ignored), and a bad value is
//! reported with the file, the key and the line. Gatehouse itself edits only
//! the `[[keys]]` tables, through `toml_edit`, so the user's comments and
//! layout survive. Secrets never live here: gateway keys are stored as
//! SHA-256 hashes, the Anthropic API key is named by an environment
//! variable, and other secrets live in the OS keychain (`[secrets]`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pricing::ModelPrice;

mod check;

pub(crate) use check::https_or_loopback;

/// The default port of the gateway.
pub const DEFAULT_PORT: u16 = 7411;
/// Anthropic's own request size limit, which the gateway mirrors.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// The environment variable that holds the Anthropic API key by default.
pub const DEFAULT_API_KEY_ENV: &str = "GATEHOUSE_ANTHROPIC_API_KEY";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub anthropic: AnthropicConfig,
    /// Gateway keys, by name. Several entries may share a name.
    pub keys: Vec<GatewayKeyEntry>,
    pub pricing: PricingConfig,
    pub supervisor: SupervisorConfig,
    pub notifications: NotificationsConfig,
    pub secrets: SecretsConfig,
    /// Paid upstreams besides the subscription (`[anthropic]`), each with
    /// its own key, by reference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<UpstreamConfig>,
    /// Which upstreams serve which models. None: every model goes to the
    /// subscription first, then to the paid upstreams in their order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    /// Caps on billed dollars, per upstream or per gateway key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetConfig>,
    /// Request and token rates per gateway key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<LimitConfig>,
}

/// A budget (`[[budgets]]`): the most that one upstream, or one gateway
/// key, may spend in billed dollars (requests served with an API key) per
/// local day and per calendar month. Once it is reached, requests pass over
/// that upstream (or, for a key, every billed upstream) until it resets;
/// with nothing left to serve them they are answered 429.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// The upstream it caps: `anthropic` (its API-key traffic) or a `[[upstreams]]` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The gateway key it caps, by name (`gatehouse keys list`); exactly one of `upstream` and `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// USD per local day, from midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_usd: Option<f64>,
    /// USD per calendar month, from the 1st at midnight, local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_usd: Option<f64>,
}

/// Rate limits for one gateway key (`[[limits]]`), over the last minute,
/// rolling. A request over a limit is answered 429 with `retry-after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// The gateway key, by name.
    pub key: String,
    /// Messages requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute: input, cache writes and output (cache reads are
    /// not counted, as in Anthropic's own limits). A request's tokens are
    /// known when it ends, so the request that crosses the limit completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
}

/// The name of the subscription's upstream (`[anthropic]`), in routes,
/// `x-gatehouse-upstream` and the ledger.
pub const SUBSCRIPTION_UPSTREAM: &str = "anthropic";

/// A paid upstream (`[[upstreams]]`). A paid upstream gets its own key and
/// never the client's credentials: a subscription token goes to Anthropic
/// only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// What routes and the ledger call it: letters, digits, `-`, `_`.
    pub name: String,
    pub kind: UpstreamKindConfig,
    /// Default: the kind's own (Anthropic's API, OpenRouter's
    /// Anthropic-compatible API). Required for `compatible`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The key, by reference only: `keychain:NAME` (see `gatehouse auth
    /// add`), `env:VARIABLE` for servers, or `file:NAME` with the plain-file
    /// store.
    pub secret: String,
    /// Model names this upstream knows by other names: `pattern = "name"`,
    /// tried in the file's order, before the kind's defaults (OpenRouter's
    /// slugs; see [`crate::gateway`]'s model map).
    #[serde(default, skip_serializing_if = "ModelMapConfig::is_empty")]
    pub models: ModelMapConfig,
    /// The AWS region, for `bedrock` (and only for it), as `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `[[upstreams]] models`: `(pattern, name)` pairs in the order the file
/// writes them (a TOML table has no order of its own, so the keys' places
/// in the file give it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelMapConfig(pub Vec<(String, String)>);

impl ModelMapConfig {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for ModelMapConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(pattern, name)| (pattern, name)))
    }
}

impl<'de> Deserialize<'de> for ModelMapConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<toml::Spanned<String>, String>::deserialize(deserializer)?;
        let mut entries: Vec<_> = entries.into_iter().collect();
        entries.sort_by_key(|(pattern, _)| pattern.span().start);
        Ok(ModelMapConfig(entries.into_iter().map(|(pattern, name)| (pattern.into_inner(), name)).collect()))
    }
}

/// The kinds of paid upstream; each sends its key its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamKindConfig {
    /// Anthropic's API with an API key (`x-api-key`).
    Anthropic,
    /// OpenRouter's Anthropic-compatible API (`Authorization: Bearer`).
    #[serde(rename = "openrouter")]
    OpenRouter,
    /// Any other Anthropic-compatible API (`Authorization: Bearer`).
    Compatible,
    /// Claude on AWS Bedrock, served through the LiteLLM engine, which signs
    /// each request with the AWS credentials of `secret`
    /// (`ACCESS_KEY_ID:SECRET_ACCESS_KEY`, or `…:SESSION_TOKEN` after
    /// them). `base_url` is the Bedrock runtime endpoint, by default AWS's
    /// own for `region`.
    Bedrock,
    /// A team's shared LiteLLM proxy at `base_url`, with the team member's
    /// virtual key (`sk-…`) as `secret`, sent as `x-litellm-api-key:
    /// Bearer …`. `gatehouse claude configure --team NAME` points Claude
    /// Code at it directly; routes may also name it as a paid upstream.
    #[serde(rename = "remote-litellm")]
    RemoteLitellm,
}

impl UpstreamKindConfig {
    /// What the config, `/status` and `gatehouse upstreams test` call it.
    pub fn name(self) -> &'static str {
        match self {
            UpstreamKindConfig::Anthropic => "anthropic",
            UpstreamKindConfig::OpenRouter => "openrouter",
            UpstreamKindConfig::Compatible => "compatible",
            UpstreamKindConfig::Bedrock => "bedrock",
            UpstreamKindConfig::RemoteLitellm => "remote-litellm",
        }
    }

    /// The kind's own base URL, if it has one (Bedrock's depends on the
    /// region: see [`UpstreamConfig::bedrock_endpoint`]).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            UpstreamKindConfig::Anthropic => Some("https://api.anthropic.com"),
            UpstreamKindConfig::OpenRouter => Some("https://openrouter.ai/api"),
            UpstreamKindConfig::Compatible | UpstreamKindConfig::Bedrock | UpstreamKindConfig::RemoteLitellm => None,
        }
    }

    /// Whether the gateway reaches this kind through the LiteLLM engine
    /// rather than by itself.
    pub fn through_litellm(self) -> bool {
        matches!(self, UpstreamKindConfig::Bedrock)
    }

    /// LiteLLM's provider for this kind: how the LiteLLM engine reaches it
    /// for requests that need LiteLLM (Bedrock's, and every Chat
    /// Completions request). `None` for a team's LiteLLM proxy, which
    /// speaks Chat Completions itself.
    pub fn litellm_provider(self) -> Option<&'static str> {
        match self {
            UpstreamKindConfig::Anthropic | UpstreamKindConfig::Compatible => Some("anthropic"),
            UpstreamKindConfig::OpenRouter => Some("openrouter"),
            UpstreamKindConfig::Bedrock => Some("bedrock"),
            UpstreamKindConfig::RemoteLitellm => None,
        }
    }
}

impl UpstreamConfig {
    /// A `bedrock` upstream's runtime endpoint: its `base_url`, else AWS's
    /// own for its region.
    pub fn bedrock_endpoint(&self) -> Option<String> {
        match (&self.base_url, &self.region) {
            (Some(url), _) => Some(url.trim_end_matches('/').to_string()),
            (None, Some(region)) => Some(format!("https://bedrock-runtime.{region}.amazonaws.com")),
            (None, None) => None,
        }
    }
}

/// A route (`[[routes]]`): the models it serves, and the upstreams that
/// serve them, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A model name; `*` stands for any run of characters (`claude-opus-*`, `*`).
    pub models: String,
    /// Upstream names: `anthropic` (the subscription) or a `[[upstreams]]` name.
    pub upstreams: Vec<String>,
}

/// Where `gatehouse auth add` keeps secrets (see [`crate::secrets`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// `"keychain"` (the default): the OS keychain. `"file"`: a plain file
    /// readable only by the user, for headless servers without a keychain.
    pub store: crate::secrets::StoreKind,
}

/// Which subscription-window notifications the desktop app shows (see
/// [`crate::desktop::window_alerts`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Percentages of a window at which to notify, once per crossing, per
    /// window; strictly increasing, each 1 to 100. Empty: none.
    pub window_thresholds: Vec<u32>,
    /// Notify when a window is used up (`rejected`), with when it resets.
    pub window_rejected: bool,
    /// Notify when a window that was over a threshold resets.
    pub window_reset: bool,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig { window_thresholds: vec![80, 95], window_rejected: true, window_reset: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to listen on. Loopback by default: the gateway is for this machine.
    pub listen: IpAddr,
    /// Must be `true` for a `listen` address that is not loopback: the
    /// gateway is then reachable from the network.
    pub allow_non_loopback: bool,
    pub port: u16,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Seconds allowed to connect to the upstream.
    pub connect_timeout_secs: u64,
    /// Seconds the upstream may stay silent mid-response before the request fails.
    pub idle_timeout_secs: u64,
    /// Seconds requests pass over an upstream that failed them (overloaded,
    /// 5xx, unreachable) before it is tried again; a used-up subscription
    /// window rests until the reset its headers give.
    pub failover_cooldown_secs: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: IpAddr::from([127, 0, 0, 1]),
            allow_non_loopback: false,
            port: DEFAULT_PORT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            connect_timeout_secs: 10,
            idle_timeout_secs: 600,
            failover_cooldown_secs: 60,
        }
    }
}

impl GatewayConfig {
    /// The URL clients use to reach the gateway.
    pub fn base_url(&self) -> String {
        let host = match self.listen {
            IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_string(),
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        format!("http://{host}:{}", self.port)
    }
}

/// The Anthropic upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnthropicConfig {
    pub base_url: String,
    /// Name of the environment variable holding an Anthropic API key, used
    /// when a request carries no credential of its own.
    pub api_key_env: String,
    /// That key by reference instead (`keychain:anthropic`, see `gatehouse
    /// auth add`); when set, `api_key_env` is not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Default for AnthropicConfig {
    fn default() -> Self {
        AnthropicConfig {
            base_url: "https://api.anthropic.com".to_string(),
            api_key_env: DEFAULT_API_KEY_ENV.to_string(),
            secret: None,
        }
    }
}

/// How the desktop app runs and watches the gateway (see [`crate::supervisor`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisorConfig {
    /// The `gatehouse` executable to run. Unset: the one next to the app,
    /// else the first on `PATH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gatehouse_bin: Option<PathBuf>,
    /// Seconds the gateway may be unhealthy before Claude Code's settings
    /// are pointed back at Anthropic directly (fail-open).
    pub fail_open_after_secs: u64,
    /// Seconds a starting gateway has to answer `/health`, and a running one
    /// may stop answering before it is restarted.
    pub health_timeout_secs: u64,
    /// Milliseconds before the first restart after a crash; doubles each time.
    pub restart_delay_ms: u64,
    /// The longest wait between restarts, in seconds.
    pub restart_delay_max_secs: u64,
    /// After this many crashes within `crash_window_secs`, stop restarting
    /// and show the error (at least 1; 1 means never restart).
    pub crash_limit: u32,
    pub crash_window_secs: u64,
    /// Seconds a stopping gateway gets after SIGTERM before it is killed.
    /// Longer than the gateway's own 10 s grace for in-flight responses.
    pub stop_timeout_secs: u64,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            gatehouse_bin: None,
            fail_open_after_secs: 10,
            health_timeout_secs: 20,
            restart_delay_ms: 500,
            restart_delay_max_secs: 30,
            crash_limit: 5,
            crash_window_secs: 120,
            stop_timeout_secs: 15,
        }
    }
}

/// A gateway key as stored: its name and hash, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayKeyEntry {
    pub name: String,
    /// Lowercase hex SHA-256 of the key.
    pub sha256: String,
    /// When the key was issued (RFC 3339).
    #[serde(default)]
    pub created: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// Per-model price overrides, in USD per million tokens.
    pub models: BTreeMap<String, ModelPrice>,
}

/// A config file that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(InvalidConfig),
}

/// Where and why a config file is wrong.
#[derive(Debug)]
pub struct InvalidConfig {
    pub path: PathBuf,
    /// Dotted key path, when the error is about a value.
    pub key: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config {}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
            if let Some(column) = self.column {
                write!(f, ", column {column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}. Fix the file (see the README's config reference) and try again.", self.message)
    }
}

impl Config {
    /// Reads the config file; a missing file means all defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
        }
    }

    /// Parses config text; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |key: Option<String>, error: &toml::de::Error| {
            let (line, column) = match error.span() {
                Some(span) => {
                    let (line, column) = line_and_column(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            ConfigError::Invalid(InvalidConfig {
                path: path.to_path_buf(),
                key,
                line,
                column,
                message: error.message().trim().to_string(),
            })
        };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| invalid(None, &e))?;
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            let key = (key != "." && !key.is_empty()).then_some(key);
            invalid(key, e.inner())
        })?;
        match check::first_problem(&config) {
            None => Ok(config),
            Some(problem) => {
                let (line, column) = problem.locate(text).map_or((None, None), |offset| {
                    let (line, column) = line_and_column(text, offset);
                    (Some(line), Some(column))
                });
                Err(ConfigError::Invalid(InvalidConfig {
                    path: path.to_path_buf(),
                    key: Some(problem.key()),
                    line,
                    column,
                    message: problem.message,
                }))
            }
        }
    }

    /// The warning to give when the gateway is reachable from the network
    /// (`listen` is not loopback and `allow_non_loopback` says so).
    pub(crate) fn network_exposure_warning(&self) -> Option<String> {
        let listen = self.gateway.listen;
        (!listen.is_loopback()).then(|| {
            format!(
                "the gateway listens on {listen}, which is not loopback (allow_non_loopback = true): anyone on the \
                 network can reach it; requests still need a gateway key, but /health and /status answer anyone. \
                 Set `listen = \"127.0.0.1\"` under [gateway] unless you mean this"
            )
        })
    }

    /// The gateway key entries, for authenticating clients.
    pub fn key_hashes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys.iter().map(|k| (k.name.as_str(), k.sha256.as_str()))
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Edits the `[[keys]]` tables of the config file in place, keeping the rest
/// of the file (comments included) as the user wrote it.
pub fn edit_keys(path: &Path, edit: impl FnOnce(&mut Vec<GatewayKeyEntry>)) -> Result<(), ConfigError> {
    // Another process (the app, the supervisor, another CLI) may be editing
    // the keys too: without the lock one of the two edits would be lost.
    let _lock =
        crate::file_lock::FileLock::beside(path).map_err(|e| ConfigError::Write { path: e.path, source: e.source })?;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
    };
    // Validate the whole file first: never rewrite a file we do not understand.
    let mut keys = Config::parse(path, &text)?.keys;
    edit(&mut keys);
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        ConfigError::Invalid(InvalidConfig {
            path: path.to_path_buf(),
            key: None,
            line: None,
            column: None,
            message: e.message().to_string(),
        })
    })?;
    let mut tables = toml_edit::ArrayOfTables::new();
    for key in &keys {
        let mut table = toml_edit::Table::new();
        table.insert("name", toml_edit::value(key.name.as_str()));
        table.insert("sha256", toml_edit::value(key.sha256.as_str()));
        table.insert("created", toml_edit::value(key.created.as_str()));
        tables.push(table);
    }
    if tables.is_empty() {
        document.remove("keys");
    } else {
        document.insert("keys", toml_edit::Item::ArrayOfTables(tables));
    }
    let mut out = document.to_string();
    // Removing the last `[[keys]]` can take the file's final newline with it.
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    crate::fs_atomic::write_private(path, out.as_bytes())
        .map_err(|source| ConfigError::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        let config = Config::parse(Path::new("c.toml"), "").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.gateway.base_url(), "http://127.0.0.1:7411");
    }

    #[test]
    fn bad_value_names_file_key_and_line() {
        let text = "[gateway]\nlisten = \"127.0.0.1\"\nport = \"eighty\"\n";
        let err = Config::parse(Path::new("/x/config.toml"), text).unwrap_err().to_string();
        assert!(err.contains("/x/config.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("gateway.port"), "{err}");
    }

    #[test]
    fn unknown_key_is_refused() {
        let text = "[gateway]\nprot = 1\n";
        let err = Config::parse(Path::new("c.toml"), text).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn the_secret_store_is_the_keychain_unless_the_file_is_chosen() {
        assert_eq!(Config::default().secrets.store, crate::secrets::StoreKind::Keychain);
        let config = Config::parse(Path::new("c.toml"), "[secrets]\nstore = \"file\"\n").unwrap();
        assert_eq!(config.secrets.store, crate::secrets::StoreKind::File);
        let err = Config::parse(Path::new("c.toml"), "[secrets]\nstore = \"vault\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("secrets.store"), "{err}");
    }

    #[test]
    fn syntax_error_names_line() {
        let err = Config::parse(Path::new("c.toml"), "[gateway\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn editing_keys_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# my comment\n[gateway]\nport = 9000 # mine\n").unwrap();
        edit_keys(&path, |keys| {
            keys.push(GatewayKeyEntry { name: "a".into(), sha256: "0a".repeat(32), created: "now".into() })
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my comment\n[gateway]\nport = 9000 # mine\n"), "{text}");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.keys.len(), 1);
        edit_keys(&path, |keys| keys.clear()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# my comment\n[gateway]\nport = 9000 # mine\n");
    }
}
