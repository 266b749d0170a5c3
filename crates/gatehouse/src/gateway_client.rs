//! Asking a running gateway about itself, from another process.
//!
//! The CLI and the tray app use this to tell whether the gateway answers and
//! to read its `/status`. Short timeouts: a gateway that does not answer in
//! a couple of seconds is reported as down rather than waited for.

use std::sync::OnceLock;
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

/// One runtime and client for every probe of the process. The tray polls
/// `/health` every few seconds; building a client each time would reload
/// the TLS roots (milliseconds of CPU) for a plain loopback request.
struct Prober {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

fn prober() -> Result<&'static Prober, String> {
    static PROBER: OnceLock<Result<Prober, String>> = OnceLock::new();
    PROBER
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("gateway-probe")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start an async runtime: {e}"))?;
            let client = reqwest::Client::builder()
                .timeout(TIMEOUT)
                .no_proxy()
                .build()
                .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
            Ok(Prober { runtime, client })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// How long a probe waits for an answer, unless told otherwise.
const TIMEOUT: Duration = Duration::from_secs(2);

/// GETs `url`, waiting up to `timeout`. Blocking: call it from a plain
/// thread, never from inside an async runtime.
fn get(url: &str, timeout: Duration) -> Result<String, ProbeError> {
    let unreachable = |reason: String| ProbeError::Unreachable { url: url.to_string(), reason };
    let prober = prober().map_err(unreachable)?;
    prober.runtime.block_on(async {
        let failed = |e: reqwest::Error| unreachable(describe(&e));
        let response = prober.client.get(url).timeout(timeout).send().await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProbeError::BadAnswer { url: url.to_string(), status: status.as_u16() });
        }
        response.text().await.map_err(failed)
    })
}

/// A short description of a transport error, without any URL query or header.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "connection error"
    };
    crate::error_chain::with_sources(kind, error)
}

/// Whether a gateway answers `GET /health` at `base_url`.
pub fn health(base_url: &str) -> Result<(), ProbeError> {
    health_within(base_url, TIMEOUT)
}

/// [`health`], giving up after `timeout` (at most the usual 2 s).
pub fn health_within(base_url: &str, timeout: Duration) -> Result<(), ProbeError> {
    get(&format!("{}/health", base_url.trim_end_matches('/')), timeout.min(TIMEOUT)).map(drop)
}

/// The gateway's `/status`.
pub fn status(base_url: &str) -> Result<GatewayStatus, ProbeError> {
    let url = format!("{}/status", base_url.trim_end_matches('/'));
    let text = get(&url, TIMEOUT)?;
    serde_json::from_str(&text).map_err(|_| ProbeError::BadAnswer { url, status: 200 })
}
