//! `gatehouse status`: the gateway, Claude Code, today's spend and the
//! subscription's rate-limit windows, in one place.

use serde::Serialize;

use crate::claude_code::doctor::{self, ClaudeCodeStatus};
use crate::config::Config;
use crate::gateway::GatewayStatus;
use crate::gateway::runner::RuntimeInfo;
use crate::ledger::query;
use crate::paths::Paths;

#[derive(Serialize)]
struct Overall {
    gateway_url: String,
    gateway: Option<GatewayStatus>,
    gateway_error: Option<String>,
    claude_code: ClaudeCodeStatus,
    today: query::Totals,
}

pub fn run(paths: &Paths, config: &Config, json: bool) -> anyhow::Result<()> {
    let gateway_url = RuntimeInfo::read(paths).map_or_else(|| config.gateway.base_url(), |info| info.base_url);
    let (gateway, gateway_error) = match crate::gateway_client::status(&gateway_url) {
        Ok(status) => (Some(status), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let claude_code = doctor::status(&std::env::current_dir()?, true)?;
    let today = query::today(&paths.ledger_file())?;
    let overall = Overall { gateway_url, gateway, gateway_error, claude_code, today };
    if json {
        println!("{}", serde_json::to_string_pretty(&overall)?);
        return Ok(());
    }
    match &overall.gateway {
        Some(status) => {
            println!(
                "Gateway: running on {} (version {}, pid {}, up {}), upstream {} {}; API key {}",
                status.listen.as_deref().unwrap_or(&overall.gateway_url),
                status.version,
                status.pid,
                human_duration(status.uptime_secs),
                status.upstream.name,
                status.upstream.base_url,
                status.upstream.api_key
            );
            let limits = &status.rate_limits;
            if limits.is_empty() {
                println!("Subscription windows: not seen yet (they arrive with the first subscription request)");
            } else {
                println!(
                    "Subscription: {}{}",
                    limits.unified_status.as_deref().unwrap_or("unknown"),
                    limits
                        .representative_claim
                        .as_deref()
                        .map(|c| format!(" (deciding window: {c})"))
                        .unwrap_or_default()
                );
                println!("  5-hour window: {}", limits.five_hour.describe());
                println!("  weekly window: {}", limits.seven_day.describe());
                if let Some(seconds) = limits.retry_after_secs {
                    println!("  retry after: {seconds} s");
                }
            }
        }
        None => println!("Gateway: stopped ({})", overall.gateway_error.as_deref().unwrap_or_default()),
    }
    super::claude::print_status(&overall.claude_code);
    let flag = if overall.today.unpriced_requests > 0 { " (plus requests with no known price)" } else { "" };
    println!("Today: ${:.4} at API prices · {} requests{flag}", overall.today.cost_usd, overall.today.requests);
    Ok(())
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}
