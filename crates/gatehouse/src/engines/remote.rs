//! The remote engine: a team's shared LiteLLM proxy (`remote-litellm`
//! upstreams), and what it says about the team member's virtual key.
//!
//! Gatehouse runs nothing here. `gatehouse claude configure --team NAME`
//! points Claude Code at the proxy directly (see
//! [`crate::claude_code::setup::configure_team`]); this module reads that
//! key's spend and budget from the proxy's `GET /key/info`, sent with the key
//! itself in `x-litellm-api-key: Bearer …`, so it needs no admin rights.
//! LiteLLM answers `{"key": …, "info": {…}}` (its `info_key_fn` in
//! `litellm/proxy/management_endpoints/key_management_endpoints.py`); only
//! the fields shown are read, and the key never appears in what is returned
//! or in an error.

use std::time::Duration;

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::config::{Config, UpstreamConfig, UpstreamKindConfig};
use crate::paths::Paths;

/// How long the proxy has to answer.
const TIMEOUT: Duration = Duration::from_secs(15);
/// The longest error message of the proxy's that is shown.
const MAX_SHOWN: usize = 300;

/// One team proxy's view of the team member's key.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct TeamKeyInfo {
    /// The upstream's name in the config.
    pub team: String,
    pub base_url: String,
    /// The key's alias on the proxy, if it has one.
    pub key_alias: Option<String>,
    /// USD spent by the key (in the current budget window, when it has one).
    pub spend_usd: f64,
    /// The key's budget in USD, if it has one.
    pub max_budget_usd: Option<f64>,
    /// The budget window, as LiteLLM writes it (`30d`, `1h`).
    pub budget_duration: Option<String>,
    /// When spend next resets to 0 (RFC 3339, as the proxy gives it).
    pub budget_reset_at: Option<String>,
    /// `active`, `expired`, `revoked` or `deleted`, as the proxy says.
    pub status: Option<String>,
}

impl TeamKeyInfo {
    /// `$1.2345 of $50.00 (resets 2026-12-31T00:00:00Z)`, or without a budget
    /// `$1.2345, no budget`.
    pub fn describe_spend(&self) -> String {
        let reset = self.budget_reset_at.as_deref().map(|at| format!(", resets {at}")).unwrap_or_default();
        match self.max_budget_usd {
            Some(budget) => format!("${:.4} of ${budget:.2} budget{reset}", self.spend_usd),
            None => format!("${:.4}, no budget{reset}", self.spend_usd),
        }
    }
}

/// Why a team key's spend could not be read.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum TeamKeyError {
    #[error("cannot read the virtual key of team proxy \"{team}\": {why}; store it with `gatehouse auth add {team}`")]
    NoKey { team: String, why: String },
    #[error(
        "team proxy \"{team}\" refused the virtual key (HTTP {status} from {url}): it is wrong, expired or blocked; \
         store the right one with `gatehouse auth add {team}`, or ask the team's LiteLLM admin"
    )]
    KeyRefused { team: String, url: String, status: u16 },
    #[error("team proxy \"{team}\" is unreachable at {url}: {reason}; check its base_url and the network")]
    Unreachable { team: String, url: String, reason: String },
    #[error("team proxy \"{team}\" answered HTTP {status} at {url}: {message}")]
    Failed { team: String, url: String, status: u16, message: String },
    #[error(
        "team proxy \"{team}\" answered {url} with something that is not LiteLLM's key info ({why}); check that its \
         base_url is the LiteLLM proxy itself"
    )]
    UnexpectedBody { team: String, url: String, why: String },
}

/// The part of LiteLLM's `/key/info` answer that is read.
#[derive(Deserialize)]
struct KeyInfoBody {
    info: KeyInfoFields,
}

#[derive(Deserialize)]
struct KeyInfoFields {
    #[serde(default)]
    key_alias: Option<String>,
    #[serde(default)]
    spend: Option<f64>,
    #[serde(default)]
    max_budget: Option<f64>,
    #[serde(default)]
    budget_duration: Option<String>,
    #[serde(default)]
    budget_reset_at: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// The `remote-litellm` upstreams of the config.
pub fn teams(config: &Config) -> impl Iterator<Item = &UpstreamConfig> {
    config.upstreams.iter().filter(|upstream| upstream.kind == UpstreamKindConfig::RemoteLitellm)
}

/// Asks `upstream`'s proxy about its virtual key. Blocking.
pub fn key_info(paths: &Paths, config: &Config, upstream: &UpstreamConfig) -> Result<TeamKeyInfo, TeamKeyError> {
    let team = upstream.name.clone();
    let key = crate::claude_code::setup::team_key(paths, config, upstream)
        .map_err(|why| TeamKeyError::NoKey { team: team.clone(), why: format!("{why:#}") })?;
    let base_url = upstream.base_url.as_deref().unwrap_or_default().trim_end_matches('/').to_string();
    fetch(&team, &base_url, &key)
}

/// `GET {base_url}/key/info` with `key`. Blocking.
pub(crate) fn fetch(team: &str, base_url: &str, key: &SecretString) -> Result<TeamKeyInfo, TeamKeyError> {
    let url = format!("{base_url}/key/info");
    let unreachable = |reason: String| TeamKeyError::Unreachable { team: team.to_string(), url: url.clone(), reason };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| unreachable(format!("cannot start an async runtime: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| unreachable(format!("cannot build an HTTP client: {e}")))?;
    let mut credential =
        HeaderValue::from_str(&format!("Bearer {}", key.expose_secret())).map_err(|_| TeamKeyError::NoKey {
            team: team.to_string(),
            why: "it holds characters an HTTP header cannot carry".to_string(),
        })?;
    credential.set_sensitive(true);
    let request = client.get(&url).header(crate::claude_code::settings::TEAM_KEY_HEADER, credential);
    let (status, body) = runtime.block_on(async {
        let response = request.send().await.map_err(|e| unreachable(crate::error_chain::request_error(&e, TIMEOUT)))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| unreachable(crate::error_chain::request_error(&e, TIMEOUT)))?;
        Ok::<_, TeamKeyError>((status, body))
    })?;
    read_answer(team, base_url, &url, status, &body, key.expose_secret())
}

/// What the proxy's answer means. `key` is redacted from anything shown.
fn read_answer(
    team: &str,
    base_url: &str,
    url: &str,
    status: u16,
    body: &[u8],
    key: &str,
) -> Result<TeamKeyInfo, TeamKeyError> {
    let team = team.to_string();
    let url = url.to_string();
    if status == 401 || status == 403 {
        // LiteLLM's message quotes part of the key and its hash: not shown.
        return Err(TeamKeyError::KeyRefused { team, url, status });
    }
    if !(200..300).contains(&status) {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let message = json
            .as_ref()
            .and_then(|json| json["error"]["message"].as_str().or(json["detail"].as_str()))
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(body).to_string());
        let mut message: String = message.replace(key, "[REDACTED]").chars().take(MAX_SHOWN).collect();
        if message.to_ascii_lowercase().contains(" db") || message.contains("Database not connected") {
            message.push_str(" (LiteLLM keeps key spend only with its database: ask the team's LiteLLM admin)");
        }
        return Err(TeamKeyError::Failed { team, url, status, message });
    }
    let answer: KeyInfoBody = serde_json::from_slice(body).map_err(|e| TeamKeyError::UnexpectedBody {
        team: team.clone(),
        url: url.clone(),
        why: e.to_string().replace(key, "[REDACTED]"),
    })?;
    let info = answer.info;
    let Some(spend) = info.spend.filter(|spend| spend.is_finite()) else {
        return Err(TeamKeyError::UnexpectedBody { team, url, why: "it has no `info.spend`".to_string() });
    };
    Ok(TeamKeyInfo {
        team,
        base_url: base_url.to_string(),
        key_alias: info.key_alias,
        spend_usd: spend,
        max_budget_usd: info.max_budget.filter(|budget| budget.is_finite()),
        budget_duration: info.budget_duration,
        budget_reset_at: info.budget_reset_at,
        status: info.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-team-virtual-key-test";

    fn answer(status: u16, body: &str) -> Result<TeamKeyInfo, TeamKeyError> {
        read_answer("team", "https://llm.example.com", "https://llm.example.com/key/info", status, body.as_bytes(), KEY)
    }

    #[test]
    fn spend_budget_and_reset_are_read_from_litellms_answer() {
        let body = r#"{"key": "sk-team-virtual-key-test", "info": {"key_alias": "alice-laptop", "spend": 1.23456,
            "max_budget": 50.0, "budget_duration": "30d", "budget_reset_at": "2027-01-01T00:00:00Z",
            "status": "active", "models": [], "metadata": {}, "token_ignored": "x"}}"#;
        let info = answer(200, body).unwrap();
        assert_eq!(info.key_alias.as_deref(), Some("alice-laptop"));
        assert_eq!(info.spend_usd, 1.23456);
        assert_eq!(info.max_budget_usd, Some(50.0));
        assert_eq!(info.describe_spend(), "$1.2346 of $50.00 budget, resets 2027-01-01T00:00:00Z");
        assert!(!serde_json::to_string(&info).unwrap().contains(KEY), "the key is not returned");
        let unbudgeted = answer(200, r#"{"key": "k", "info": {"spend": 0.0, "max_budget": null}}"#).unwrap();
        assert_eq!(unbudgeted.describe_spend(), "$0.0000, no budget");
    }

    #[test]
    fn each_failure_says_what_is_wrong_without_the_key() {
        let refused = answer(401, r#"{"error": {"message": "Received API Key = sk-team-virtual-key-test"}}"#);
        let refused = refused.unwrap_err();
        assert!(matches!(refused, TeamKeyError::KeyRefused { status: 401, .. }), "{refused:?}");
        assert!(refused.to_string().contains("gatehouse auth add team"), "{refused}");
        let failed = answer(500, r#"{"error": {"message": "Database not connected sk-team-virtual-key-test"}}"#);
        let failed = failed.unwrap_err().to_string();
        assert!(failed.contains("HTTP 500") && failed.contains("Database not connected"), "{failed}");
        assert!(failed.contains("keeps key spend only with its database"), "{failed}");
        for body in ["<html>hello</html>", r#"{"info": {"key_alias": "a"}}"#, r#"{"data": []}"#] {
            let error = answer(200, body).unwrap_err();
            assert!(matches!(error, TeamKeyError::UnexpectedBody { .. }), "{body}: {error:?}");
        }
        for error in [refused.to_string(), failed] {
            assert!(!error.contains(KEY), "{error}");
        }
    }

    #[test]
    fn an_unreachable_proxy_is_reported_as_such() {
        let key = SecretString::from(KEY.to_string());
        let error = fetch("team", "http://127.0.0.1:9", &key).unwrap_err();
        assert!(matches!(error, TeamKeyError::Unreachable { .. }), "{error:?}");
        assert!(error.to_string().contains("unreachable at http://127.0.0.1:9/key/info"), "{error}");
    }
}
