//! `gatehouse auth test`: asks the provider whether it accepts a key, with
//! one real, free request.
//!
//! - Anthropic: `GET {base}/v1/models` with `x-api-key` and
//!   `anthropic-version`.
//! - OpenRouter: `GET {base}/api/v1/key` with `Authorization: Bearer`.
//!
//! The base URLs default to the real services; `$GATEHOUSE_ANTHROPIC_BASE_URL`
//! (else `[anthropic] base_url`) and `$GATEHOUSE_OPENROUTER_BASE_URL`
//! override them, which is how tests point them at a loopback mock.

use std::time::Duration;

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use super::Provider;

/// Overrides the Anthropic API's base URL for `auth test`.
pub(crate) const ANTHROPIC_BASE_URL_ENV: &str = "GATEHOUSE_ANTHROPIC_BASE_URL";
/// Overrides OpenRouter's base URL for `auth test`.
pub(crate) const OPENROUTER_BASE_URL_ENV: &str = "GATEHOUSE_OPENROUTER_BASE_URL";
/// OpenRouter's own base URL.
const OPENROUTER_BASE_URL: &str = "https://openrouter.ai";
/// The API version Claude Code sends; `/v1/models` needs one.
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// How long the provider has to answer.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Longest error body text shown when it is not the provider's JSON.
const MAX_SHOWN_BODY: usize = 300;

/// What the provider said about a key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CheckOutcome {
    /// It accepted the key; `detail` says what it answered.
    Accepted { url: String, detail: String },
    /// It answered with an error status and, usually, a message.
    Rejected { url: String, status: u16, message: String },
    /// It did not answer.
    Unreachable { url: String, reason: String },
    /// The secret cannot be sent at all.
    Unusable { reason: String },
}

/// The base URL `auth test` uses for `provider`.
pub(crate) fn base_url(provider: Provider, anthropic_config_base_url: &str) -> String {
    let (variable, default) = match provider {
        Provider::Anthropic => (ANTHROPIC_BASE_URL_ENV, anthropic_config_base_url),
        Provider::OpenRouter => (OPENROUTER_BASE_URL_ENV, OPENROUTER_BASE_URL),
    };
    std::env::var(variable).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

/// Sends the provider's key check. Blocking: call it from a plain thread.
pub(crate) fn check(provider: Provider, base_url: &str, secret: &SecretString) -> CheckOutcome {
    let base = base_url.trim_end_matches('/');
    let url = match provider {
        Provider::Anthropic => format!("{base}/v1/models"),
        Provider::OpenRouter => format!("{base}/api/v1/key"),
    };
    check_at(provider, url, secret)
}

/// Sends the key check to `url`, with the key as `provider` takes it
/// (Anthropic: `x-api-key`; OpenRouter: `Authorization: Bearer`): for an
/// upstream whose base URL has its own path (`upstream_test`).
pub(crate) fn check_at(provider: Provider, url: String, secret: &SecretString) -> CheckOutcome {
    let unreachable = |reason: String| CheckOutcome::Unreachable { url: url.clone(), reason };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return unreachable(format!("cannot start an async runtime: {e}")),
    };
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => return unreachable(format!("cannot build an HTTP client: {e}")),
    };
    let credential = match provider {
        Provider::Anthropic => HeaderValue::from_str(secret.expose_secret()),
        Provider::OpenRouter => HeaderValue::from_str(&format!("Bearer {}", secret.expose_secret())),
    };
    let Ok(mut credential) = credential else {
        return CheckOutcome::Unusable {
            reason: "it holds characters an HTTP header cannot carry (a line break, a control character); store \
                     it again"
                .to_string(),
        };
    };
    // Keeps the value out of any Debug output of the request.
    credential.set_sensitive(true);
    let request = match provider {
        Provider::Anthropic => {
            client.get(&url).header("x-api-key", credential).header("anthropic-version", ANTHROPIC_VERSION)
        }
        Provider::OpenRouter => client.get(&url).header(http::header::AUTHORIZATION, credential),
    };
    runtime.block_on(async {
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return unreachable(crate::error_chain::request_error(&e, TIMEOUT)),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return unreachable(crate::error_chain::request_error(&e, TIMEOUT)),
        };
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        if status.is_success() {
            let detail = json.as_ref().map_or_else(|| "it answered".to_string(), |json| accepted(provider, json));
            CheckOutcome::Accepted { url: url.clone(), detail }
        } else {
            let message = json
                .as_ref()
                .and_then(|json| json["error"]["message"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(MAX_SHOWN_BODY).collect());
            // A provider could echo the key back; never show it.
            let message = message.replace(secret.expose_secret(), "[REDACTED]");
            CheckOutcome::Rejected { url: url.clone(), status: status.as_u16(), message }
        }
    })
}

/// Whether anything answers a `GET` of `url`, sent without a credential:
/// the HTTP status it answered, or why nothing did. For an upstream whose
/// credential Gatehouse never holds (the subscription's). Blocking.
pub(crate) fn reach(url: &str) -> Result<u16, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start an async runtime: {e}"))?;
    let client =
        reqwest::Client::builder().timeout(TIMEOUT).build().map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    runtime.block_on(async {
        let request = client.get(url).header("anthropic-version", ANTHROPIC_VERSION);
        request
            .send()
            .await
            .map(|response| response.status().as_u16())
            .map_err(|e| crate::error_chain::request_error(&e, TIMEOUT))
    })
}

/// What a successful answer says, in a few words: a model list (Anthropic's
/// `/v1/models`, as most compatible APIs have it), or OpenRouter's key.
fn accepted(provider: Provider, json: &serde_json::Value) -> String {
    if provider == Provider::OpenRouter && json["data"].is_array() {
        return accepted(Provider::Anthropic, json);
    }
    match provider {
        Provider::Anthropic => match json["data"].as_array() {
            // The list is paged (20 a page by default).
            Some(models) if json["has_more"] == true => format!("{}+ models available", models.len()),
            Some(models) => format!("{} models available", models.len()),
            None => "it answered".to_string(),
        },
        Provider::OpenRouter => {
            let data = &json["data"];
            let mut detail = match data["label"].as_str() {
                Some(label) => format!("key {label:?}"),
                None => "the key".to_string(),
            };
            if let Some(usage) = data["usage"].as_f64() {
                detail.push_str(&format!(", ${usage:.2} used"));
            }
            match data["limit_remaining"].as_f64() {
                Some(left) => detail.push_str(&format!(", ${left:.2} left")),
                None if data["limit"].is_null() => detail.push_str(", no credit limit"),
                None => {}
            }
            detail
        }
    }
}
