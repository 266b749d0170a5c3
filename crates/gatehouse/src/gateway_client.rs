//! Asking a running gateway about itself, from another process.
//!
//! The CLI and the tray app use this to tell whether the gateway answers and
//! to read its `/status`. Short timeouts: a gateway that does not answer in
//! a couple of seconds is reported as down rather than waited for.

use std::time::Duration;

use crate::gateway::GatewayStatus;

/// Why a gateway could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no gateway answers at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the service at {url} answered {status}; it is not a Gatehouse gateway or it is unhealthy")]
    BadAnswer { url: String, status: u16 },
}

fn get(url: &str) -> Result<String, ProbeError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
        ProbeError::Unreachable { url: url.to_string(), reason: format!("cannot start an async runtime: {e}") }
    })?;
    runtime.block_on(async {
        let unreachable = |e: reqwest::Error| ProbeError::Unreachable {
            url: url.to_string(),
            reason: crate::gateway::proxy::describe_reqwest_error(&e),
        };
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(2)).no_proxy().build().map_err(unreachable)?;
        let response = client.get(url).send().await.map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProbeError::BadAnswer { url: url.to_string(), status: status.as_u16() });
        }
        response.text().await.map_err(unreachable)
    })
}

/// Whether a gateway answers `GET /health` at `base_url`.
pub fn health(base_url: &str) -> Result<(), ProbeError> {
    get(&format!("{}/health", base_url.trim_end_matches('/'))).map(drop)
}

/// The gateway's `/status`.
pub fn status(base_url: &str) -> Result<GatewayStatus, ProbeError> {
    let url = format!("{}/status", base_url.trim_end_matches('/'));
    let text = get(&url)?;
    serde_json::from_str(&text).map_err(|_| ProbeError::BadAnswer { url, status: 200 })
}
