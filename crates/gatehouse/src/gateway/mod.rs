//! The gateway: a local HTTP server Claude Code talks through.
//!
//! It checks who is calling (loopback `Host`, no browser `Origin`, a valid
//! `x-gatehouse-key`), forwards the request unchanged to the upstream its
//! route names (see `upstreams` and `routes`), and relays the response as it
//! arrives, while a ledger writer records what the request would cost.
//! OpenAI's Chat Completions (`POST /v1/chat/completions`) are served the
//! same way through the LiteLLM engine, which translates them, to the paid
//! upstreams of their route and never to the subscription. `GET /health` and `GET /status` describe the gateway
//! itself and need no key.

mod budgets;
mod fd_limit;
pub mod guard;
mod key_limits;
mod log_safe;
mod meter;
mod metered;
pub(crate) mod model_map;
mod openai_models;
pub mod proxy;
mod routes;
pub mod runner;
mod server;
mod sticky;
mod stream_tail;
pub mod upstream_client;
mod upstreams;

pub use budgets::{BudgetScope, BudgetStatus, Period};
pub use server::serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;

use crate::anthropic::errors::{ErrorKind, error_response};
use crate::anthropic::ratelimit::{RateLimitHeaders, RateLimitSnapshot};
use crate::auth::gateway_keys::KeyRing;
use crate::config::Config;
use crate::ledger::health::LedgerStatus;
use crate::ledger::writer::LedgerSender;
use meter::Meter;
use proxy::Endpoint;
use routes::Routes;
use upstreams::Upstreams;

/// The version reported by `/status`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How stale the key list may get before a valid key is checked against
/// the config file again; this is how long a revocation takes to bite.
const KEY_RECHECK: Duration = Duration::from_secs(1);

/// The gateway keys, reloaded from the config file when it changes: a key
/// issued while the gateway runs works at once, and a revoked one stops
/// working within [`KEY_RECHECK`].
struct LiveKeys {
    config_path: PathBuf,
    ring: KeyRing,
    loaded_mtime: Option<SystemTime>,
    checked: Instant,
}

impl LiveKeys {
    fn load(config_path: PathBuf, config: &Config) -> LiveKeys {
        let loaded_mtime = std::fs::metadata(&config_path).and_then(|m| m.modified()).ok();
        LiveKeys {
            ring: KeyRing::from_entries(config.key_hashes()),
            config_path,
            loaded_mtime,
            checked: Instant::now(),
        }
    }

    /// Re-reads the keys if the config file changed since they were loaded.
    fn reload_if_changed(&mut self) {
        self.checked = Instant::now();
        let mtime = std::fs::metadata(&self.config_path).and_then(|m| m.modified()).ok();
        if mtime == self.loaded_mtime {
            return;
        }
        match Config::load(&self.config_path) {
            Ok(config) => {
                self.ring = KeyRing::from_entries(config.key_hashes());
                self.loaded_mtime = mtime;
                tracing::info!(keys = self.ring.len(), "reloaded gateway keys");
            }
            Err(error) => tracing::warn!("keeping the previous gateway keys: {error}"),
        }
    }
}

/// Everything the request handlers share.
pub struct Gateway {
    upstreams: Upstreams,
    /// Which of `upstreams` serve which model.
    routes: Routes,
    /// The same, for Chat Completions requests: through the LiteLLM engine,
    /// never to the subscription.
    chat_routes: Routes,
    /// The sessions a later upstream of their route took over.
    sticky: sticky::Sticky,
    keys: RwLock<LiveKeys>,
    ledger: LedgerSender,
    /// The budgets and per-key limits, with what was spent and used.
    meter: Arc<Meter>,
    rate_limits: Mutex<RateLimitHeaders>,
    /// Wakes [`Gateway::save_rate_limits`] when a rate-limit value changed.
    rate_limits_changed: tokio::sync::Notify,
    /// The change count of the last snapshot saved.
    rate_limits_saved: AtomicU64,
    max_body_bytes: usize,
    /// How long requests pass over an upstream that failed them.
    failover_cooldown: Duration,
    /// Whether requests are failing over, since when and why (see
    /// [`Gateway::note_failover`]); `failing_over` says so without the lock.
    failover: Mutex<Option<FailoverStatus>>,
    failing_over: std::sync::atomic::AtomicBool,
    /// Which `Host` values are answered (see [`guard`]).
    hosts: guard::Hosts,
    /// How long a request body may take to arrive.
    body_timeout: Duration,
    started: Instant,
    started_at: jiff::Timestamp,
    listen: Mutex<Option<SocketAddr>>,
    /// Ends the streams still running when the shutdown grace is over.
    stream_cut: Arc<metered::StreamCut>,
    /// Keeps running out of file descriptors from flooding the log.
    out_of_files: server::LogThrottle,
}

impl Gateway {
    /// The gateway for `config`, sending to `upstreams` by the config's
    /// routes, counting against the budgets and limits of `meter`.
    pub(crate) fn new(
        config: &Config,
        config_path: PathBuf,
        upstreams: Upstreams,
        ledger: LedgerSender,
        meter: Meter,
    ) -> anyhow::Result<Gateway> {
        let routes = Routes::from_config(config, &upstreams)?;
        let chat_routes = routes.via_litellm(&upstreams);
        Ok(Gateway {
            keys: RwLock::new(LiveKeys::load(config_path, config)),
            upstreams,
            routes,
            chat_routes,
            sticky: sticky::Sticky::default(),
            ledger,
            meter: Arc::new(meter),
            rate_limits: Mutex::new(RateLimitHeaders::default()),
            rate_limits_changed: tokio::sync::Notify::new(),
            rate_limits_saved: AtomicU64::new(0),
            max_body_bytes: config.gateway.max_body_bytes,
            failover_cooldown: Duration::from_secs(config.gateway.failover_cooldown_secs),
            failover: Mutex::new(None),
            failing_over: std::sync::atomic::AtomicBool::new(false),
            hosts: if config.gateway.allow_non_loopback && !config.gateway.listen.is_loopback() {
                guard::Hosts::AnyAddress
            } else {
                guard::Hosts::Loopback
            },
            body_timeout: server::header_timeout(),
            started: Instant::now(),
            started_at: jiff::Timestamp::now(),
            listen: Mutex::new(None),
            stream_cut: Arc::default(),
            out_of_files: server::LogThrottle::default(),
        })
    }

    /// The name of the client holding `key`. The key list is re-read from
    /// the config on a miss, and on a hit once it is older than [`KEY_RECHECK`].
    fn client_for(&self, key: &[u8]) -> Option<Arc<str>> {
        let keys = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(name) = keys.ring.client_for(key)
            && keys.checked.elapsed() < KEY_RECHECK
        {
            return Some(name);
        }
        drop(keys);
        let mut keys = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.reload_if_changed();
        keys.ring.client_for(key)
    }

    fn observe_rate_limits(&self, headers: &HeaderMap) {
        let mut seen = self.rate_limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = seen.changes();
        seen.observe(headers);
        if seen.changes() != before {
            self.rate_limits_changed.notify_one();
        }
    }

    /// Starts from the rate-limit windows a previous gateway saved.
    pub(crate) fn restore_rate_limits(&self, snapshot: &RateLimitSnapshot) {
        *self.rate_limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            RateLimitHeaders::from_snapshot(snapshot);
    }

    /// Saves the rate-limit snapshot to `path` whenever a value changes, at
    /// most once per [`RATE_LIMITS_SAVE_EVERY`], off the request path. Runs
    /// until dropped; [`Gateway::save_rate_limits_now`] saves the last word.
    pub(crate) async fn save_rate_limits(self: Arc<Self>, path: PathBuf) {
        loop {
            self.rate_limits_changed.notified().await;
            let (gateway, path) = (self.clone(), path.clone());
            let _ = tokio::task::spawn_blocking(move || gateway.save_rate_limits_now(&path)).await;
            tokio::time::sleep(RATE_LIMITS_SAVE_EVERY).await;
        }
    }

    /// Saves the snapshot to `path` if a value changed since the last save.
    /// A failure is logged: the file is only a cache.
    pub(crate) fn save_rate_limits_now(&self, path: &std::path::Path) {
        let (changes, snapshot) = {
            let seen = self.rate_limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if seen.changes() == self.rate_limits_saved.load(Ordering::Relaxed) {
                return;
            }
            (seen.changes(), seen.snapshot())
        };
        match snapshot.save(path) {
            Ok(()) => self.rate_limits_saved.store(changes, Ordering::Relaxed),
            Err(error) => tracing::warn!("cannot save the rate-limit windows to {}: {error}", path.display()),
        }
    }

    /// Follows whether requests fail over: a request that went on from an
    /// earlier upstream starts a failover (`passed_over`: who and why); one
    /// served by the first upstream of a route that has others ends it.
    /// Costs a request that changes nothing one atomic load.
    pub(crate) fn note_failover(&self, passed_over: &[String], served_by: &str, could_fail_over: bool) {
        let failing = self.failing_over.load(Ordering::Relaxed);
        if passed_over.is_empty() {
            if failing && could_fail_over {
                *self.failover.lock().unwrap_or_else(|p| p.into_inner()) = None;
                self.failing_over.store(false, Ordering::Relaxed);
                tracing::info!("failover over: {served_by} serves again");
            }
            return;
        }
        let mut failover = self.failover.lock().unwrap_or_else(|p| p.into_inner());
        if failover.as_ref().is_none_or(|f| f.served_by != served_by) {
            *failover = Some(FailoverStatus {
                since: jiff::Timestamp::now().to_string(),
                reason: passed_over.join("; "),
                served_by: served_by.to_string(),
            });
            self.failing_over.store(true, Ordering::Relaxed);
        }
    }

    /// What `GET /status` reports.
    pub fn status(&self) -> GatewayStatus {
        GatewayStatus {
            version: VERSION.to_string(),
            pid: std::process::id(),
            listen: self.listen.lock().unwrap_or_else(|p| p.into_inner()).map(|a| a.to_string()),
            started_at: self.started_at.to_string(),
            uptime_secs: self.started.elapsed().as_secs(),
            upstream: self.upstreams.first().status(),
            upstreams: self.upstreams.iter().map(|upstream| upstream.status()).collect(),
            rate_limits: self.rate_limits.lock().unwrap_or_else(|p| p.into_inner()).snapshot(),
            ledger: self.ledger.status(),
            failover: self.failover.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            budgets: self.meter.budgets.status(),
            litellm: self.upstreams.engine().map(|link| link.status()),
        }
    }
}

/// Requests are failing over: served by a later upstream of their route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct FailoverStatus {
    /// When it began (RFC 3339).
    pub since: String,
    /// Who was passed over, and why: `anthropic: the subscription's window is used up`.
    pub reason: String,
    /// The upstream that serves instead.
    pub served_by: String,
}

/// The JSON body of `GET /status`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct GatewayStatus {
    pub version: String,
    pub pid: u32,
    pub listen: Option<String>,
    pub started_at: String,
    pub uptime_secs: u64,
    /// The first upstream (the subscription's).
    pub upstream: UpstreamStatus,
    /// Every upstream, in the config's order (absent from older gateways).
    #[serde(default)]
    pub upstreams: Vec<UpstreamStatus>,
    pub rate_limits: RateLimitSnapshot,
    /// Whether served requests are being recorded (absent from older gateways).
    #[serde(default)]
    pub ledger: LedgerStatus,
    /// Whether requests are failing over (absent from older gateways).
    #[serde(default)]
    pub failover: Option<FailoverStatus>,
    /// Every budget of the config, with its spend (absent from older gateways).
    #[serde(default)]
    pub budgets: Vec<BudgetStatus>,
    /// The LiteLLM engine, when the config has an upstream it serves
    /// (absent otherwise, and from older gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub litellm: Option<EngineStatus>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct UpstreamStatus {
    pub name: String,
    /// `subscription`, `anthropic`, `openrouter` or `compatible`.
    #[serde(default)]
    pub kind: String,
    pub base_url: String,
    /// Where the gateway's own API key comes from; never the key.
    pub api_key: String,
    /// Until when requests pass over it after a failure (local time), if they do.
    #[serde(default)]
    pub resting_until: Option<String>,
    /// The engine that serves it, for an upstream reached through one
    /// (absent otherwise, and from older gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineStatus>,
}

/// An engine behind the gateway, as `/status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EngineStatus {
    /// `litellm`.
    pub name: String,
    /// Whether it takes requests now.
    pub ready: bool,
    /// `ready`, or why not: starting (for how long), stopped, not installed.
    pub detail: String,
    /// Where it is in its life (`down` from older gateways).
    #[serde(default)]
    pub run: EngineRun,
}

/// Where an engine is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum EngineRun {
    /// Not started: it starts with the first request that needs it.
    Idle,
    /// Started, not yet answering.
    Starting,
    Ready,
    /// Stopped, crashed, or cannot start (not installed, no credentials).
    #[default]
    Down,
}

/// The gateway's routes.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new().fallback(dispatch).with_state(gateway)
}

async fn dispatch(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(refusal) = guard::check(&parts.uri, &parts.headers, gateway.hosts) {
        return error_response(StatusCode::FORBIDDEN, ErrorKind::Permission, refusal.message());
    }
    let path = parts.uri.path();
    match (&parts.method, path) {
        (&Method::GET, "/health") => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        (&Method::GET, "/status") => axum::Json(gateway.status()).into_response(),
        (&Method::POST, "/v1/messages") => proxy::forward(gateway, Endpoint::Messages, parts, body).await,
        (&Method::POST, "/v1/messages/count_tokens") => {
            proxy::forward(gateway, Endpoint::CountTokens, parts, body).await
        }
        (&Method::GET, "/v1/models") if openai_models::asked_by_openai_client(&parts.headers) => {
            openai_models::list(&gateway, &parts.headers)
        }
        (&Method::POST, "/v1/chat/completions") => {
            proxy::forward(gateway, Endpoint::ChatCompletions, parts, body).await
        }
        (_, path) if path.starts_with("/v1/") => proxy::forward(gateway, Endpoint::Other, parts, body).await,
        _ => error_response(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            &format!("{} {path} is not a Gatehouse or Anthropic API endpoint", parts.method),
        ),
    }
}

/// How often, at most, the rate-limit snapshot is saved.
const RATE_LIMITS_SAVE_EVERY: Duration = Duration::from_secs(1);
