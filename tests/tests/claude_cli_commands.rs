//! `gatehouse claude configure|remove|status|run` as a user runs them:
//! bad settings files, warnings about what bypasses the gateway, and one
//! Claude Code session through `claude run` without touching any file.

use gatehouse_e2e::claude_cli::{claude_bin, write_subscription_login};
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::MockAnthropic;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn invalid_settings_json_is_refused_and_left_untouched() {
    let sandbox = Sandbox::new();
    let settings = sandbox.claude_dir().join("settings.json");
    let broken = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"A\": 1,,\n  }\n}\n";
    std::fs::write(&settings, broken).unwrap();
    let before = std::fs::metadata(&settings).unwrap().modified().unwrap();
    let output = sandbox.run(&["claude", "configure", "--base-url", "http://127.0.0.1:1"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&settings.display().to_string()), "{message}");
    assert!(message.contains("line 4") && message.contains("column"), "{message}");
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), broken);
    assert_eq!(std::fs::metadata(&settings).unwrap().modified().unwrap(), before);
    // No key may be left valid for a configuration that never happened.
    let config = std::fs::read_to_string(sandbox.config_file()).unwrap_or_default();
    assert!(!config.contains("claude-code"), "{config}");
}

#[test]
fn project_scope_is_refused_because_it_is_committed() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["claude", "configure", "--scope", "project", "--base-url", "http://127.0.0.1:1"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--scope local"), "{}", stderr(&output));
    assert!(!sandbox.project_dir().join(".claude").exists());
}

#[test]
fn local_scope_round_trips_and_warns_when_no_gateway_answers() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["claude", "configure", "--scope", "local", "--base-url", "http://127.0.0.1:9"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("no gateway answers"), "{}", stderr(&output));
    let local = sandbox.project_dir().join(".claude").join("settings.local.json");
    let text = std::fs::read_to_string(&local).unwrap();
    assert!(text.contains("\"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:9\""), "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&local).unwrap().permissions().mode() & 0o777, 0o600);

    let output = sandbox.run(&["claude", "status"]);
    assert_eq!(output.status.code(), Some(3), "exit code for a gateway that does not answer");
    let status = String::from_utf8_lossy(&output.stdout);
    assert!(status.contains("no gateway answers there"), "{status}");
    sandbox.run_ok(&["claude", "remove", "--scope", "local"]);
    assert!(!local.exists());
}

#[test]
fn status_warns_about_everything_that_bypasses_the_gateway() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.claude_dir().join("settings.json"),
        r#"{"env": {"ANTHROPIC_API_KEY": "sk-ant-api03-FAKE-in-user-settings", "CLAUDE_CODE_USE_BEDROCK": "1"}}"#,
    )
    .unwrap();
    sandbox.run_ok(&["claude", "configure", "--scope", "local", "--base-url", "http://127.0.0.1:9"]);
    // Set after configure, which would have refused to configure a scope
    // that managed settings override.
    std::fs::write(
        sandbox.dir.path().join("managed-settings.json"),
        r#"{"env": {"ANTHROPIC_BASE_URL": "https://llm.corp.example"}}"#,
    )
    .unwrap();
    let output = sandbox.gatehouse(&["claude", "status", "--json"]).env("ANTHROPIC_AUTH_TOKEN", "x").output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let warnings = status["warnings"].to_string();
    for expected in [
        "ANTHROPIC_API_KEY is set in",
        "CLAUDE_CODE_USE_BEDROCK is set in",
        "ANTHROPIC_AUTH_TOKEN is set in the environment",
    ] {
        assert!(warnings.contains(expected), "missing {expected:?} in {warnings}");
    }
    let kinds: Vec<&str> = status["warnings"].as_array().unwrap().iter().map(|w| w["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["login_replaced", "provider_bypass", "environment_variable", "overridden"], "{warnings}");
    let user_settings = sandbox.claude_dir().join("settings.json").display().to_string();
    assert_eq!(status["warnings"][0]["key"], "env.ANTHROPIC_API_KEY");
    assert_eq!(status["warnings"][0]["path"], user_settings.as_str());
    assert_eq!(status["warnings"][2]["fix"]["command"], "unset ANTHROPIC_AUTH_TOKEN");
    assert!(status["warnings"][3]["fix"]["text"].as_str().unwrap().starts_with("Ask the administrator"), "{warnings}");

    // The text prints each warning with its fix under it, in the same words.
    let output = sandbox.gatehouse(&["claude", "status"]).env("ANTHROPIC_AUTH_TOKEN", "x").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    for warning in status["warnings"].as_array().unwrap() {
        let message = format!("warning: {}\n", warning["message"].as_str().unwrap());
        let fix = warning["fix"]["text"].as_str().unwrap();
        let at = text.find(&message).unwrap_or_else(|| panic!("{message:?} missing from {text}"));
        assert!(text[at + message.len()..].starts_with(&format!("  fix: {fix}")), "{text}");
    }
    assert!(text.contains(&format!("  fix: Remove `env.ANTHROPIC_API_KEY` from {user_settings}")), "{text}");
    assert_eq!(status["configured"], false, "managed settings override the local gateway: {status}");
    assert_eq!(status["overridden"]["scope"], "managed", "{status}");
    assert_eq!(status["effective_scope"], "managed");
    assert!(!warnings.contains("sk-ant-api03-FAKE-in-user-settings"), "status must not echo secrets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_gateway_address_is_warned_with_its_fix_and_configure_fixes_it() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    // Configured for a gateway at another port (an earlier run's).
    sandbox.run_ok(&["claude", "configure", "--base-url", "http://127.0.0.1:9"]);
    let settings = sandbox.claude_dir().join("settings.json");
    let key = std::fs::read_to_string(&settings).unwrap();

    let output = sandbox.run(&["claude", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let warnings = status["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{status}");
    assert_eq!(warnings[0]["kind"], "stale_gateway");
    assert!(warnings[0]["message"].as_str().unwrap().contains(&gateway.base_url), "{status}");
    assert_eq!(warnings[0]["fix"]["command"], "gatehouse claude configure");
    assert_eq!(warnings[0]["fix"]["action"]["kind"], "configure_user");

    // The fix as printed: configure again points Claude Code at the running gateway, with the same key.
    sandbox.run_ok(&["claude", "configure"]);
    let status: serde_json::Value = serde_json::from_str(&sandbox.run_ok(&["claude", "status", "--json"])).unwrap();
    assert_eq!(status["warnings"], serde_json::json!([]), "{status}");
    assert_eq!(status["effective_base_url"], gateway.base_url.as_str());
    let gateway_key = |text: &str| text.lines().find(|l| l.contains("x-gatehouse-key")).map(str::to_string);
    assert_eq!(gateway_key(&std::fs::read_to_string(&settings).unwrap()), gateway_key(&key), "the key is kept");
}

#[test]
fn status_reports_the_login_from_claude_itself() {
    let sandbox = Sandbox::new();
    write_subscription_login(&sandbox, "sk-ant-oat01-FAKE-status-check-token");
    let output =
        sandbox.gatehouse(&["claude", "status", "--json"]).env("GATEHOUSE_CLAUDE_BIN", claude_bin()).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["login"]["loggedIn"], true, "{status}");
    assert_eq!(status["login"]["subscriptionType"], "max", "{status}");
    let text = String::from_utf8(
        sandbox.gatehouse(&["claude", "status"]).env("GATEHOUSE_CLAUDE_BIN", claude_bin()).output().unwrap().stdout,
    )
    .unwrap();
    assert!(text.contains("Login: logged in to Claude Max"), "{text}");
    assert!(!text.contains("sk-ant-oat01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_run_goes_through_the_gateway_without_editing_settings() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let settings = sandbox.claude_dir().join("settings.json");
    std::fs::write(&settings, "{\"model\": \"opus\"}").unwrap();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    let token = "sk-ant-oat01-FAKE-claude-run-token-42";
    write_subscription_login(&sandbox, token);
    let output = sandbox
        .gatehouse(&["claude", "run", "--base-url", &gateway.base_url, "--", "-p", "hi", "--output-format", "json"])
        .env("GATEHOUSE_CLAUDE_BIN", claude_bin())
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}\n{}", String::from_utf8_lossy(&output.stdout), stderr(&output));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("claude's JSON");
    assert_eq!(result["is_error"], false, "{result}");
    let rows = sandbox.ledger_rows(1);
    assert_eq!(rows[0].client, "claude-code-run");
    assert!((rows[0].cost_usd.unwrap() - result["total_cost_usd"].as_f64().unwrap()).abs() < 1e-9);
    let seen = &mock.requests()[0];
    assert_eq!(seen.header("authorization"), Some(format!("Bearer {token}").as_bytes()));
    // `claude run` turns Claude Code's hint headers on, as configure does.
    assert_eq!(seen.header("x-claude-code-request-class"), Some(&b"main"[..]), "{:?}", seen.headers);
    assert_eq!(seen.header("x-claude-code-session-id"), result["session_id"].as_str().map(str::as_bytes));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{\"model\": \"opus\"}", "settings untouched");
    let config = std::fs::read_to_string(sandbox.config_file()).unwrap();
    assert!(!config.contains("claude-code-run"), "the run's key is revoked when Claude Code exits: {config}");
    let leftovers: Vec<_> =
        std::fs::read_dir(sandbox.gatehouse_home().join("state")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().starts_with("claude-run-")), "{leftovers:?}");
}

#[test]
fn claude_run_refuses_when_no_gateway_answers() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .gatehouse(&["claude", "run", "--base-url", "http://127.0.0.1:9", "--", "-p", "hi"])
        .env("GATEHOUSE_CLAUDE_BIN", claude_bin())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("gatehouse gateway run"), "{}", stderr(&output));
}
