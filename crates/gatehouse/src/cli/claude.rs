//! `gatehouse claude …`: Claude Code's settings, status and launcher.

use std::process::ExitCode;

use clap::Subcommand;

use crate::claude_code::scope::Scope;
use crate::claude_code::settings_store::RemoveOutcome;
use crate::claude_code::{doctor, launcher, setup};
use crate::config::Config;
use crate::gateway::runner::RuntimeInfo;
use crate::paths::Paths;

#[derive(Subcommand)]
pub enum ClaudeCommand {
    /// Point Claude Code at the gateway, or with `--team` at a team's LiteLLM
    /// proxy (edits only the keys Gatehouse owns).
    Configure {
        /// Which settings file to edit.
        #[arg(long, value_enum, default_value = "user")]
        scope: Scope,
        /// Gateway URL to use (default: the running gateway's, else the config's).
        #[arg(long, value_name = "URL", conflicts_with = "team")]
        base_url: Option<String>,
        /// Point Claude Code straight at this team proxy (a `remote-litellm`
        /// upstream of the config) with its virtual key, instead of the gateway.
        #[arg(long, value_name = "NAME")]
        team: Option<String>,
    },
    /// Undo `configure`, restoring the settings file exactly.
    Remove {
        #[arg(long, value_enum, default_value = "user")]
        scope: Scope,
    },
    /// Whether Claude Code goes through the gateway, and what would bypass it.
    /// Exits 3 when the gateway does not answer.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run Claude Code through the gateway without changing any settings file.
    Run {
        /// Gateway URL to use (default: the running gateway's, else the config's).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// Arguments passed to `claude`, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

/// Where Gatehouse's own gateway answers now, if it runs: a configured
/// settings file pointing elsewhere is stale.
pub(crate) fn running_gateway(paths: &Paths) -> Option<String> {
    RuntimeInfo::read(paths).map(|info| info.base_url).filter(|url| crate::gateway_client::health(url).is_ok())
}

/// The URL of the gateway to point Claude Code at: `explicit` (checked),
/// else the running gateway's, else the config's.
fn gateway_url(paths: &Paths, config: &Config, explicit: Option<String>) -> anyhow::Result<String> {
    match explicit {
        Some(url) => checked_gateway_url(&url),
        None => Ok(RuntimeInfo::read(paths).map(|info| info.base_url).unwrap_or_else(|| config.gateway.base_url())),
    }
}

/// A `--base-url` that Claude Code can use and that keeps its login safe:
/// an http:// or https:// URL with a host and a valid port, no query or
/// fragment (Claude Code appends `/v1/messages` to it), and plain http://
/// only on this machine, since Claude Code sends its login and the gateway
/// key to it.
fn checked_gateway_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    let example = "such as http://127.0.0.1:4000";
    let uri: http::Uri =
        url.parse().map_err(|error| anyhow::anyhow!("--base-url {url:?} is not a URL ({error}), {example}"))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let Some(authority) = uri.authority().filter(|a| scheme_ok && !a.host().is_empty()) else {
        anyhow::bail!("--base-url {url:?} must be an http:// or https:// URL with a host, {example}");
    };
    if uri.query().is_some() || url.contains('#') || authority.as_str().contains('@') {
        anyhow::bail!(
            "--base-url {url:?} must be the gateway's address alone, with no query, fragment or user, {example}"
        );
    }
    // What follows the host is `:port`, if anything (http's parser drops a
    // port it cannot read instead of refusing it).
    let port = authority.as_str()[authority.host().len()..].strip_prefix(':');
    if port.is_some_and(|port| port.parse::<u16>().is_err() || port == "0") {
        anyhow::bail!("--base-url {url:?} has no valid port: use 1 to 65535, {example}");
    }
    if !crate::config::https_or_loopback(url) {
        anyhow::bail!(
            "--base-url {url:?} would send your Claude login and the gateway key unencrypted to another machine; \
             use https://, or http:// only on this machine (127.0.0.1, ::1 or localhost)"
        );
    }
    Ok(url.to_string())
}

pub fn run(paths: &Paths, config: &Config, command: ClaudeCommand) -> anyhow::Result<ExitCode> {
    let project_dir = std::env::current_dir()?;
    match command {
        ClaudeCommand::Configure { scope, team: Some(team), .. } => {
            let done = setup::configure_team(paths, config, scope, &project_dir, &team)?;
            let verb = if done.created { "created" } else { "updated" };
            outln!(
                "Claude Code now goes through team proxy {team} ({}) ({} settings, {verb} {}).",
                done.base_url,
                done.scope,
                done.settings_path.display()
            );
            outln!(
                "Your Claude login is unchanged; the team's virtual key is sent as x-litellm-api-key. Undo with \
                 `gatehouse claude remove`."
            );
            Ok(ExitCode::SUCCESS)
        }
        ClaudeCommand::Configure { scope, base_url, team: None } => {
            let url = gateway_url(paths, config, base_url)?;
            let done = setup::configure(paths, scope, &project_dir, &url)?;
            let verb = if done.created { "created" } else { "updated" };
            outln!(
                "Claude Code now uses the gateway at {url} ({} settings, {verb} {}).",
                done.scope,
                done.settings_path.display()
            );
            outln!("Your Claude login is unchanged; Gatehouse passes it through.");
            if let Err(error) = crate::gateway_client::health(&url) {
                eprintln!(
                    "warning: {error}. Claude Code's requests will fail until the gateway runs: start it with \
                     `gatehouse gateway run`, or undo this with `gatehouse claude remove`."
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ClaudeCommand::Remove { scope } => {
            let (path, outcome) = setup::remove(paths, scope, &project_dir)?;
            let what = match outcome {
                RemoveOutcome::RestoredExactly => "restored exactly as it was",
                RemoveOutcome::RemovedOurKeys => "removed Gatehouse's keys and kept your later edits",
                RemoveOutcome::Deleted => "deleted (Gatehouse had created it)",
                RemoveOutcome::NotConfigured => "left alone: Gatehouse had not configured it",
            };
            outln!("{}: {what}.", path.display());
            Ok(ExitCode::SUCCESS)
        }
        ClaudeCommand::Status { json } => {
            let mut status = doctor::status(Some(&project_dir), running_gateway(paths).as_deref(), true)?;
            status.name_team(config);
            // Not configured: the gateway in question is Gatehouse's own.
            // Through a team proxy, Claude Code needs no gateway.
            let healthy = status.team_proxy.is_some()
                || status.gateway_answers.unwrap_or_else(|| {
                    gateway_url(paths, config, None).is_ok_and(|url| crate::gateway_client::health(&url).is_ok())
                });
            if json {
                outln!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status)?;
                if status.gateway_answers.is_none() && !healthy {
                    outln!("Gateway: not answering (start it with `gatehouse gateway run`)");
                }
            }
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::from(super::EXIT_GATEWAY_NOT_HEALTHY) })
        }
        ClaudeCommand::Run { base_url, args } => {
            let url = gateway_url(paths, config, base_url)?;
            let code = launcher::run(paths, &url, &args)?;
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
    }
}

/// The human-readable `claude status`.
pub fn print_status(status: &doctor::ClaudeCodeStatus) -> anyhow::Result<()> {
    if let Some(team) = &status.team_proxy {
        outln!(
            "Claude Code: through team proxy {} ({}) ({} settings), not through Gatehouse's gateway",
            team.name.as_deref().unwrap_or("(not in the config)"),
            team.base_url,
            team.scope
        );
    } else if status.configured {
        let answers = match status.gateway_answers {
            Some(true) => "the gateway answers",
            _ => "but NO gateway answers there",
        };
        outln!(
            "Claude Code: uses the gateway at {} ({} settings); {answers}",
            status.effective_base_url.as_deref().unwrap_or_default(),
            status.effective_scope.unwrap_or_default()
        );
    } else if let Some(overridden) = &status.overridden {
        let lower = status.files.iter().find(|f| f.has_gateway_key).map_or("lower", |f| f.scope);
        outln!(
            "Claude Code: does NOT use the gateway: {} settings win over the {lower} settings Gatehouse configured \
             (see the warning below)",
            overridden.scope
        );
    } else {
        // The warnings below say what to do, which is not always configure
        // (a higher settings file may have to change first).
        let what_to_do = if status.warnings.is_empty() { "run `gatehouse claude configure`" } else { "see below" };
        outln!("Claude Code: not configured to use Gatehouse ({what_to_do})");
    }
    for file in status.files.iter().filter(|f| f.exists) {
        let detail = match (&file.error, &file.base_url) {
            (Some(error), _) => error.clone(),
            (None, Some(url)) if file.has_gateway_key => format!("gateway {url}"),
            (None, Some(url)) if file.has_team_key => format!("team proxy {url}"),
            (None, Some(url)) => format!("ANTHROPIC_BASE_URL={url}"),
            (None, None) => "no gateway settings".to_string(),
        };
        outln!("  {:<8} {}: {detail}", file.scope, file.path.display());
    }
    match (&status.login, &status.login_error) {
        (Some(login), _) => outln!("Login: {}", login.describe()),
        (None, Some(error)) => outln!("Login: unknown ({error})"),
        (None, None) => {}
    }
    for warning in &status.warnings {
        outln!("warning: {}", warning.message);
        match &warning.fix.command {
            Some(command) => outln!("  fix: {} (`{command}`)", warning.fix.text),
            None => outln!("  fix: {}", warning.fix.text),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_must_be_a_gateway_address_that_keeps_the_login_safe() {
        for good in
            ["http://127.0.0.1:7411", "http://localhost:7411/", "http://[::1]:7411", "https://gw.example.com/team"]
        {
            assert!(checked_gateway_url(good).is_ok(), "{good}");
        }
        assert_eq!(checked_gateway_url(" http://127.0.0.1:7411/ ").unwrap(), "http://127.0.0.1:7411");
        for (bad, says) in [
            ("notaurl", "http:// or https://"),
            ("ftp://x", "http:// or https://"),
            ("javascript:alert(1)", "http:// or https://"),
            ("http://127.0.0.1:70000", "no valid port"),
            ("http://127.0.0.1:0", "no valid port"),
            ("http://127.0.0.1:7411/path?q=1", "no query"),
            ("http://user@127.0.0.1:7411", "no query, fragment or user"),
            ("http://evil.example.com", "unencrypted"),
            ("http://10.0.0.2:7411", "unencrypted"),
        ] {
            let error = checked_gateway_url(bad).unwrap_err().to_string();
            assert!(error.starts_with("--base-url") && error.contains(says), "{bad}: {error}");
        }
    }
}
