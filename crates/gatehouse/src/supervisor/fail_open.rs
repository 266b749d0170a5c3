//! Fail-open: Claude Code must never be left pointing at a dead gateway.
//!
//! When the gateway is down (unhealthy for a while, turned off, or the app
//! quits), the supervisor takes the gateway out of the Claude Code settings
//! files that point at it, with the same exact-restore edit as `gatehouse
//! claude remove`, so Claude Code talks to Anthropic directly. It remembers
//! each file it changed in the app state ([`Suspended`]) and puts the
//! gateway back, with a fresh key, once the gateway is healthy again.
//!
//! A removal is only the app's to undo while the user has not overridden it:
//! if the file points at the gateway again (someone re-ran `configure`), or
//! its `ANTHROPIC_BASE_URL` has changed since (the user chose another
//! endpoint), the record is dropped and the file left as the user has it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::app_state::{ClaudeTarget, SuspendReason, Suspended};
use crate::claude_code::{settings, settings_store, setup};
use crate::paths::Paths;

/// The settings file behind a target.
pub fn settings_path(paths: &Paths, target: &ClaudeTarget) -> Result<PathBuf, String> {
    setup::target(paths, target.scope(), target.project_dir())
        .map(|t| t.settings_path)
        .map_err(|e| crate::error_chain::describe(&e))
}

/// Whether the target's settings send Claude Code to the gateway at `base_url`.
pub fn points_at(paths: &Paths, target: &ClaudeTarget, base_url: &str) -> Result<bool, String> {
    let path = settings_path(paths, target)?;
    let Some(text) = settings_store::read(&path).map_err(|e| e.to_string())? else {
        return Ok(false);
    };
    let configured = settings::gateway_in(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(configured.and_then(|c| c.base_url).is_some_and(|url| same_gateway(&url, base_url)))
}

/// Takes the gateway out of the target's settings and says how to put it back.
pub fn suspend(paths: &Paths, target: &ClaudeTarget, reason: SuspendReason) -> Result<Suspended, String> {
    let (path, _) =
        setup::remove(paths, target.scope(), target.project_dir()).map_err(|e| crate::error_chain::describe(&e))?;
    Ok(Suspended {
        target: target.clone(),
        reason,
        base_url_after: base_url_in(&path)?,
        since: jiff::Timestamp::now().to_string(),
    })
}

/// What [`resume`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// The gateway is back in the settings.
    Reapplied,
    /// Someone configured it again already.
    AlreadyConfigured,
    /// The user pointed Claude Code elsewhere since; left alone, and why.
    LeftAlone(String),
}

/// Puts the gateway back into settings that [`suspend`] took it out of.
pub fn resume(paths: &Paths, suspended: &Suspended, base_url: &str) -> Result<Resumed, String> {
    let target = &suspended.target;
    if points_at(paths, target, base_url)? {
        return Ok(Resumed::AlreadyConfigured);
    }
    let path = settings_path(paths, target)?;
    let now = base_url_in(&path)?;
    if now != suspended.base_url_after {
        return Ok(Resumed::LeftAlone(format!(
            "its ANTHROPIC_BASE_URL changed from {} to {} after Gatehouse took the gateway out, so your choice stands",
            suspended.base_url_after.as_deref().unwrap_or("unset"),
            now.as_deref().unwrap_or("unset"),
        )));
    }
    setup::configure(paths, target.scope(), target.project_dir(), base_url)
        .map_err(|e| crate::error_chain::describe(&e))?;
    Ok(Resumed::Reapplied)
}

/// `env.ANTHROPIC_BASE_URL` of a settings file, as Claude Code reads it.
fn base_url_in(path: &Path) -> Result<Option<String>, String> {
    let Some(text) = settings_store::read(path).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    settings::env_value(&text, "ANTHROPIC_BASE_URL").map_err(|e| format!("{}: {e}", path.display()))
}

/// Whether two base URLs reach the same local gateway: the same port on a
/// loopback host (`localhost`, `127.0.0.1` and `[::1]` are one gateway), or
/// the same URL.
fn same_gateway(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (reqwest::Url::parse(a), reqwest::Url::parse(b)) else {
        return a.trim_end_matches('/') == b.trim_end_matches('/');
    };
    let loopback = |url: &reqwest::Url| {
        url.host_str().is_some_and(|host| {
            host.eq_ignore_ascii_case("localhost")
                || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        })
    };
    let same_host = a.host_str() == b.host_str() || (loopback(&a) && loopback(&b));
    a.scheme() == b.scheme() && same_host && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Gatehouse home and a project whose local settings hold the user's
    /// own keys: the temporary directories (kept alive), the paths, the
    /// target, its file and that file's original text.
    fn local_settings() -> ([tempfile::TempDir; 2], Paths, ClaudeTarget, PathBuf, &'static str) {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let project = tempfile::tempdir().unwrap();
        let target = ClaudeTarget::Local { project_dir: project.path().to_path_buf() };
        let file = project.path().join(".claude/settings.local.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let original = "{\n  \"permissions\": { \"allow\": [\"Bash(ls)\"] }\n}\n";
        std::fs::write(&file, original).unwrap();
        ([home, project], paths, target, file, original)
    }

    #[test]
    fn loopback_spellings_of_one_port_are_one_gateway() {
        assert!(same_gateway("http://127.0.0.1:7411", "http://localhost:7411/"));
        assert!(same_gateway("http://[::1]:7411", "http://127.0.0.1:7411"));
        assert!(!same_gateway("http://127.0.0.1:7412", "http://127.0.0.1:7411"));
        assert!(!same_gateway("https://proxy.example.com:7411", "http://127.0.0.1:7411"));
    }

    #[test]
    fn fail_open_racing_configure_and_remove_never_leaves_a_refused_or_orphan_key() {
        use crate::auth::gateway_keys;
        let (_dirs, paths, target, file, original) = local_settings();
        let url = "http://127.0.0.1:7498";
        setup::configure(&paths, target.scope(), target.project_dir(), url).unwrap();

        std::thread::scope(|scope| {
            for _ in 0..2 {
                // The supervisor's fail-open path: take the gateway out, put it back.
                scope.spawn(|| {
                    for _ in 0..8 {
                        let suspended = suspend(&paths, &target, SuspendReason::Unhealthy).unwrap();
                        resume(&paths, &suspended, url).unwrap();
                    }
                });
                // The CLI or the app's toggle at the same time.
                scope.spawn(|| {
                    for _ in 0..8 {
                        setup::configure(&paths, target.scope(), target.project_dir(), url).unwrap();
                        setup::remove(&paths, target.scope(), target.project_dir()).unwrap();
                    }
                });
            }
        });

        let valid: Vec<String> = crate::config::Config::load(&paths.config_file())
            .unwrap()
            .keys
            .into_iter()
            .filter(|k| k.name == gateway_keys::CLAUDE_CODE_KEY_NAME)
            .map(|k| k.sha256)
            .collect();
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        let held = document["env"]["ANTHROPIC_CUSTOM_HEADERS"]
            .as_str()
            .and_then(|headers| headers.lines().find_map(settings::gatehouse_key_value))
            .map(gateway_keys::hash);
        match held {
            Some(hash) => assert_eq!(valid, vec![hash], "the key Claude Code holds must be the one valid key"),
            None => assert!(valid.is_empty(), "orphan keys: {valid:?}"),
        }
        setup::remove(&paths, target.scope(), target.project_dir()).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    }

    #[test]
    fn a_team_proxy_configuration_is_never_the_gateways_to_take_out() {
        let (_dirs, paths, target, file, _) = local_settings();
        // Even a team proxy on the very address the gateway would have.
        let url = "http://127.0.0.1:7497";
        let settings = setup::target(&paths, target.scope(), target.project_dir()).unwrap();
        settings_store::configure(&settings, &settings::GatewayEnv::team(url, "sk-team-fail-open")).unwrap();
        let team = std::fs::read_to_string(&file).unwrap();
        assert!(!points_at(&paths, &target, url).unwrap(), "fail-open would take it out");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), team);
    }

    #[test]
    fn suspend_restores_exactly_and_resume_reapplies_unless_the_user_moved_on() {
        let (_dirs, paths, target, file, original) = local_settings();
        let url = "http://127.0.0.1:7499";

        setup::configure(&paths, target.scope(), target.project_dir(), url).unwrap();
        assert!(points_at(&paths, &target, url).unwrap());
        assert!(!points_at(&paths, &target, "http://127.0.0.1:7500").unwrap());

        let suspended = suspend(&paths, &target, SuspendReason::Unhealthy).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
        assert_eq!(resume(&paths, &suspended, url).unwrap(), Resumed::Reapplied);
        assert!(points_at(&paths, &target, url).unwrap());
        assert_eq!(resume(&paths, &suspended, url).unwrap(), Resumed::AlreadyConfigured);

        let suspended = suspend(&paths, &target, SuspendReason::Unhealthy).unwrap();
        std::fs::write(&file, "{\"env\": {\"ANTHROPIC_BASE_URL\": \"https://mine.example\"}}").unwrap();
        assert!(
            matches!(resume(&paths, &suspended, url).unwrap(), Resumed::LeftAlone(why) if why.contains("mine.example"))
        );
        assert!(!points_at(&paths, &target, url).unwrap());
    }
}
