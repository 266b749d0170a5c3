//! Running the gateway as a process: `gatehouse gateway run`.
//!
//! Binds the port (with a clear error when it is taken), opens the ledger,
//! raises its open-file limit as far as allowed,
//! announces itself in a runtime file, serves until SIGINT or SIGTERM, and
//! on the way out lets in-flight responses finish and every ledger row
//! commit. It owns its tokio runtime so that shutdown can drop every
//! connection task, which is what lets the ledger writer drain and stop.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::Gateway;
use super::upstreams::Upstreams;
use crate::config::Config;
use crate::ledger::{import, project::ProjectResolver, writer::LedgerWriter};
use crate::paths::Paths;
use crate::pricing::PriceTable;
use crate::supervisor::backoff::RestartPolicy;

/// Overrides from the command line.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    pub port: Option<u16>,
    pub anthropic_base_url: Option<String>,
}

/// The runtime file a running gateway writes, so other processes (the CLI,
/// the tray app) can find it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuntimeInfo {
    pub pid: u32,
    pub address: String,
    pub base_url: String,
    pub version: String,
    pub started_at: String,
}

impl RuntimeInfo {
    pub fn read(paths: &Paths) -> Option<RuntimeInfo> {
        let text = std::fs::read_to_string(paths.gateway_runtime_file()).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Runs the gateway in the foreground until a signal stops it.
pub fn run(paths: &Paths, config: &Config, options: &RunOptions) -> anyhow::Result<()> {
    // Each connection holds a file descriptor: use all the system allows.
    match super::fd_limit::raise_to_hard() {
        Ok(Some((before, after))) => tracing::info!("raised the open-file limit from {before} to {after}"),
        Ok(None) => {}
        Err(error) => tracing::warn!("cannot raise the open-file limit: {error}"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let prices = PriceTable::builtin().with_overrides(&config.pricing.models);
    let port = options.port.unwrap_or(config.gateway.port);
    let address = SocketAddr::new(config.gateway.listen, port);

    let listener = runtime.block_on(tokio::net::TcpListener::bind(address)).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "port {port} on {} is already in use by another process; stop that process, or choose another port \
                 with --port or `[gateway] port` in {}",
                config.gateway.listen,
                paths.config_file().display()
            )
        } else {
            anyhow::anyhow!("cannot listen on {address}: {error}")
        }
    })?;
    let bound = listener.local_addr()?;
    // The LiteLLM engine, when an upstream needs it: started now, ready in
    // 10 to 30 s; its upstreams are passed over until then.
    let engine = {
        let _inside = runtime.enter();
        crate::engines::litellm::run::start(config, paths, RestartPolicy::from_config(&config.supervisor))
    };
    let litellm = engine.as_ref().map(|engine| engine.link());
    let upstreams = Upstreams::from_config(config, paths, options.anthropic_base_url.as_deref(), litellm.as_ref())?;
    if let Some(warning) = config.network_exposure_warning() {
        tracing::warn!("{warning}");
    }

    let ledger_path = paths.ledger_file();
    let claude_dir = crate::paths::claude_config_dir()?;
    let projects = ProjectResolver::new(claude_dir.clone());
    let (ledger, writer) = LedgerWriter::spawn(&ledger_path, prices.clone(), projects)
        .with_context(|| format!("cannot open the spend ledger {}", ledger_path.display()))?;
    // What Claude Code did without the gateway, from its transcripts: now,
    // then every few minutes, on a thread of its own.
    let importer = import::spawn_periodic(ledger_path.clone(), claude_dir, prices.clone(), import::IMPORT_EVERY)
        .inspect_err(|error| tracing::warn!("cannot start importing Claude Code's transcripts: {error}"))
        .ok();

    // The budgets start from this period's billed spend in the ledger.
    let meter = super::meter::Meter::from_config(config, prices, &ledger_path);
    let gateway = Arc::new(Gateway::new(config, paths.config_file(), upstreams, ledger, meter)?);
    // The windows outlive a restart: start from what the last gateway saw.
    let rate_limits_file = paths.rate_limits_file();
    if let Some(snapshot) = crate::anthropic::ratelimit::RateLimitSnapshot::load(&rate_limits_file) {
        gateway.restore_rate_limits(&snapshot);
    }
    runtime.spawn(gateway.clone().save_rate_limits(rate_limits_file.clone()));
    let base_url = format!("http://{bound}");
    let info = RuntimeInfo {
        pid: std::process::id(),
        address: bound.to_string(),
        base_url: base_url.clone(),
        version: super::VERSION.to_string(),
        started_at: jiff::Timestamp::now().to_string(),
    };
    let runtime_file = paths.gateway_runtime_file();
    crate::fs_atomic::write_private(&runtime_file, serde_json::to_string_pretty(&info)?.as_bytes())
        .with_context(|| format!("cannot write {}", runtime_file.display()))?;

    for upstream in gateway.upstreams.iter() {
        tracing::info!(kind = %upstream.kind, base_url = %upstream.base_url, "upstream {}", upstream.name);
    }
    tracing::info!(ledger = %ledger_path.display(), "gateway listening on {base_url}");
    // One line on stdout for whoever launched us (scripts, the tray app);
    // a closed stdout must not stop the gateway.
    let _ = writeln!(std::io::stdout(), "gatehouse gateway listening on {base_url}");

    let served = runtime.block_on(super::serve(listener, gateway.clone(), shutdown_signal()));
    if let Some(engine) = engine {
        runtime.block_on(engine.stop());
    }
    // Dropping the runtime drops every connection task, and with them the
    // last ledger senders; the writer then commits what is queued and stops.
    runtime.shutdown_timeout(Duration::from_secs(2));
    gateway.save_rate_limits_now(&rate_limits_file);
    drop(importer);
    drop(gateway);
    writer.join();
    if RuntimeInfo::read(paths).is_some_and(|i| i.pid == std::process::id()) {
        let _ = std::fs::remove_file(&runtime_file);
    }
    tracing::info!("gateway stopped");
    served.context("the gateway server failed")
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!("cannot listen for SIGTERM: {error}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, stopping"),
        _ = terminate.recv() => tracing::info!("SIGTERM received, stopping"),
    }
}
