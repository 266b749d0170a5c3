//! `gatehouse status`: the gateway, Claude Code, today's spend and the
//! subscription's rate-limit windows, in one place.

use std::process::ExitCode;

use serde::Serialize;

use crate::anthropic::ratelimit::{self, RateLimitSnapshot};
use crate::claude_code::doctor::{self, ClaudeCodeStatus};
use crate::config::Config;
use crate::engines::remote::{self, TeamKeyInfo};
use crate::gateway::GatewayStatus;
use crate::gateway::runner::RuntimeInfo;
use crate::ledger::query;
use crate::paths::Paths;

#[derive(Serialize)]
struct Overall {
    gateway_url: String,
    gateway: Option<GatewayStatus>,
    gateway_error: Option<String>,
    /// The windows the last gateway saved, when none answers now.
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_rate_limits: Option<RateLimitSnapshot>,
    claude_code: ClaudeCodeStatus,
    /// Each team proxy's word on the team member's key, in the config's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    team_proxies: Vec<TeamSpend>,
    today: query::Totals,
    /// Whether the ledger holds any request at all.
    recorded_any: bool,
}

/// One team proxy's key spend, or why it could not be read.
#[derive(Serialize)]
struct TeamSpend {
    team: String,
    key_info: Option<TeamKeyInfo>,
    error: Option<String>,
}

/// Prints the status; exits [`super::EXIT_GATEWAY_NOT_HEALTHY`] when no healthy
/// gateway answers, so scripts can tell.
pub fn run(paths: &Paths, config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let gateway_url = RuntimeInfo::read(paths).map_or_else(|| config.gateway.base_url(), |info| info.base_url);
    let (gateway, gateway_error) = match crate::gateway_client::status(&gateway_url) {
        Ok(status) => (Some(status), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let saved_rate_limits = match gateway {
        Some(_) => None,
        None => RateLimitSnapshot::load(&paths.rate_limits_file()).filter(|limits| !limits.is_empty()),
    };
    let running = gateway.is_some().then_some(gateway_url.as_str());
    let mut claude_code = doctor::status(Some(&std::env::current_dir()?), running, true)?;
    claude_code.name_team(config);
    let team_proxies = remote::teams(config)
        .map(|upstream| match remote::key_info(paths, config, upstream) {
            Ok(info) => TeamSpend { team: upstream.name.clone(), key_info: Some(info), error: None },
            Err(error) => TeamSpend { team: upstream.name.clone(), key_info: None, error: Some(error.to_string()) },
        })
        .collect();
    let ledger_path = paths.ledger_file();
    let today = query::today(&ledger_path)?;
    let recorded_any = today.requests > 0 || query::recorded_any(&ledger_path)?;
    let overall = Overall {
        gateway_url,
        gateway,
        gateway_error,
        saved_rate_limits,
        claude_code,
        team_proxies,
        today,
        recorded_any,
    };
    let code =
        if overall.gateway.is_some() { ExitCode::SUCCESS } else { ExitCode::from(super::EXIT_GATEWAY_NOT_HEALTHY) };
    if json {
        outln!("{}", serde_json::to_string_pretty(&overall)?);
        return Ok(code);
    }
    match &overall.gateway {
        Some(status) => {
            outln!(
                "Gateway: running on {} (version {}, pid {}, up {}), upstream {} {}; API key {}",
                status.listen.as_deref().unwrap_or(&overall.gateway_url),
                status.version,
                status.pid,
                human_duration(status.uptime_secs),
                status.upstream.name,
                status.upstream.base_url,
                status.upstream.api_key
            );
            if let Some(problem) = status.ledger.problem() {
                outln!("Recording: {problem}");
            }
            for upstream in status.upstreams.iter().skip(1) {
                let resting = upstream
                    .resting_until
                    .as_deref()
                    .map(|until| format!(", resting until {until}"))
                    .unwrap_or_default();
                outln!(
                    "  also upstream {} ({}) {}; key {}{resting}",
                    upstream.name,
                    upstream.kind,
                    upstream.base_url,
                    upstream.api_key
                );
            }
            if let Some(engine) = &status.litellm {
                outln!("LiteLLM engine: {}", engine_line(engine));
            }
            if let Some(failover) = &status.failover {
                outln!("Failing over to {} since {}: {}", failover.served_by, failover.since, failover.reason);
            }
            for budget in &status.budgets {
                outln!("Budget: {}: {} billed", budget.title(), budget.spent_of_limit());
            }
            print_windows(&status.rate_limits)?;
        }
        None => {
            outln!("Gateway: not running or not healthy ({})", overall.gateway_error.as_deref().unwrap_or_default());
            if let Some(limits) = &overall.saved_rate_limits {
                outln!("Last seen by the gateway:");
                print_windows(limits)?;
            }
        }
    }
    super::claude::print_status(&overall.claude_code)?;
    for team in &overall.team_proxies {
        match (&team.key_info, &team.error) {
            (Some(info), _) => outln!(
                "Team proxy {} ({}): key {}: {}",
                info.team,
                info.base_url,
                info.key_alias.as_deref().unwrap_or("(no alias)"),
                info.describe_spend()
            ),
            (None, error) => outln!("Team proxy {}: {}", team.team, error.as_deref().unwrap_or_default()),
        }
    }
    if !overall.recorded_any {
        outln!(
            "Today: no requests recorded yet. Requests are recorded as they pass through the gateway: run \
             `gatehouse claude configure` so Claude Code uses it."
        );
    } else if overall.today.requests == 0 {
        outln!("Today: no requests yet today (`gatehouse spend` shows earlier days)");
    } else {
        let flag = if overall.today.unpriced_requests > 0 { " (plus requests with no known price)" } else { "" };
        let billed = if overall.today.billed_usd > 0.0 {
            format!(", of which ${:.4} billed to API keys", overall.today.billed_usd)
        } else {
            String::new()
        };
        outln!(
            "Today: ${:.4} at API prices{billed} · {} requests{flag}",
            overall.today.cost_usd,
            overall.today.requests
        );
    }
    Ok(code)
}

/// The subscription's status and windows, with the time they were seen.
/// The LiteLLM engine behind the gateway, in a few words.
fn engine_line(engine: &crate::gateway::EngineStatus) -> String {
    use crate::gateway::EngineRun;
    match engine.run {
        EngineRun::Idle => "not started; it starts with the first Chat Completions request".to_string(),
        EngineRun::Starting => format!("starting: {}", engine.detail),
        EngineRun::Ready => "ready (Chat Completions on /v1/chat/completions, and Bedrock)".to_string(),
        EngineRun::Down => format!("down: {}", engine.detail),
    }
}

fn print_windows(limits: &RateLimitSnapshot) -> anyhow::Result<()> {
    if limits.is_empty() {
        outln!("Subscription windows: not seen yet (they arrive with the first subscription request)");
        return Ok(());
    }
    outln!(
        "Subscription: {}{}{}",
        limits.describe_status(),
        limits.representative_claim.as_deref().map(|c| format!(" (deciding window: {c})")).unwrap_or_default(),
        limits.as_of().map(|at| format!(", {at}")).unwrap_or_default()
    );
    for (name, window) in limits.windows_in_order() {
        outln!("  {}: {}", ratelimit::window_title(name), window.describe());
    }
    if let Some(seconds) = limits.retry_after_secs {
        outln!("  retry after: {seconds} s");
    }
    Ok(())
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}
