//! Claude Code's settings under the conditions that used to lose them or
//! lock Claude Code out: a program saving the file in place while
//! `configure` reads it, several `configure`s at once, a `configure`,
//! `remove` or `claude run` killed between two steps, a read-only file, and a
//! higher settings scope that overrides ours. Every run is the real
//! `gatehouse` binary on real files; kills happen at named steps through the
//! `GATEHOUSE_TEST_ABORT_AT` failpoint, not at lucky moments.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use gatehouse::auth::gateway_keys;
use gatehouse::config::Config;
use gatehouse_e2e::harness::{Sandbox, wait_for};
use gatehouse_e2e::mock_anthropic::MockAnthropic;

const ORIGINAL: &str = "{\n  \"model\": \"opus\",\n  \"hooks\": {\"Stop\": []},\n  \"env\": {\"DEBUG\": \"1\"}\n}\n";
const DEAD_GATEWAY: &str = "http://127.0.0.1:9";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn user_settings(sandbox: &Sandbox) -> PathBuf {
    sandbox.claude_dir().join("settings.json")
}

/// The `x-gatehouse-key` in a settings file, if any.
fn key_in(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let document: serde_json::Value = serde_json::from_str(&text).ok()?;
    let headers = document["env"]["ANTHROPIC_CUSTOM_HEADERS"].as_str()?.to_string();
    headers.lines().find_map(|line| line.strip_prefix("x-gatehouse-key: ").map(str::to_string))
}

/// The hashes of the valid keys named `name`.
fn valid_keys(sandbox: &Sandbox, name: &str) -> Vec<String> {
    Config::load(&sandbox.config_file())
        .unwrap()
        .keys
        .into_iter()
        .filter(|k| k.name == name)
        .map(|k| k.sha256)
        .collect()
}

/// Temporary files left beside a settings file.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Claude Code either has no gateway key, or one the gateway accepts; and
/// that key is the only valid `claude-code` key.
fn assert_no_lock_out_and_no_orphan(sandbox: &Sandbox) {
    let valid = valid_keys(sandbox, "claude-code");
    match key_in(&user_settings(sandbox)) {
        Some(key) => assert_eq!(valid, vec![gateway_keys::hash(&key)], "settings hold a key the gateway must accept"),
        None => assert!(valid.is_empty(), "valid claude-code keys that no settings file holds: {valid:?}"),
    }
    assert!(temp_files(&sandbox.claude_dir()).is_empty(), "{:?}", temp_files(&sandbox.claude_dir()));
}

#[test]
fn a_file_caught_mid_save_is_waited_for_not_mistaken_for_empty() {
    let sandbox = Sandbox::new();
    let settings = user_settings(&sandbox);
    // Another program saving in place: it has truncated the file and not
    // yet written the new contents.
    std::fs::write(&settings, "").unwrap();
    let waiting = sandbox.dir.path().join("configure-is-waiting");
    let mut configure = sandbox
        .gatehouse(&["claude", "configure", "--base-url", DEAD_GATEWAY])
        .env("GATEHOUSE_TEST_WAITING_FILE", &waiting)
        .env("GATEHOUSE_TEST_SETTLE_MS", "600000")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("configure to wait for the half-saved file", 60, || {
        if waiting.exists() {
            return Some(());
        }
        if let Some(status) = configure.try_wait().unwrap() {
            panic!(
                "configure finished ({status}) without waiting, leaving {:?}",
                std::fs::read_to_string(&settings).unwrap()
            );
        }
        None
    });
    // The other program finishes its save.
    std::fs::write(&settings, ORIGINAL).unwrap();
    let output = configure.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));

    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("\"model\": \"opus\"") && text.contains("\"Stop\"") && text.contains("DEBUG"), "{text}");
    assert!(key_in(&settings).is_some(), "{text}");
    let backups: Vec<_> = std::fs::read_dir(sandbox.gatehouse_home().join("state/claude-code/backups"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(backups, vec![ORIGINAL.to_string()], "one backup, of the real contents");

    sandbox.run_ok(&["claude", "remove"]);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL);
    assert_no_lock_out_and_no_orphan(&sandbox);
}

#[test]
fn concurrent_configures_and_removes_never_lock_claude_code_out() {
    let sandbox = Sandbox::new();
    let settings = user_settings(&sandbox);
    std::fs::write(&settings, ORIGINAL).unwrap();
    for round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|i| {
                let command = if round == 1 && i % 2 == 1 { "remove" } else { "configure" };
                let args: &[&str] = if command == "configure" {
                    &["claude", "configure", "--base-url", DEAD_GATEWAY]
                } else {
                    &["claude", "remove"]
                };
                sandbox
                    .gatehouse(args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "round {round}: {}", stderr(&output));
        }
        assert_no_lock_out_and_no_orphan(&sandbox);
    }
    sandbox.run_ok(&["claude", "remove"]);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL, "remove restores the user's file exactly");
    assert_no_lock_out_and_no_orphan(&sandbox);
}

#[test]
fn configuring_again_keeps_the_key_running_sessions_hold() {
    let sandbox = Sandbox::new();
    let settings = user_settings(&sandbox);
    std::fs::write(&settings, ORIGINAL).unwrap();
    sandbox.run_ok(&["claude", "configure", "--base-url", DEAD_GATEWAY]);
    let first = key_in(&settings).unwrap();
    sandbox.run_ok(&["claude", "configure", "--base-url", "http://127.0.0.1:10"]);
    assert_eq!(key_in(&settings).unwrap(), first, "a working key is kept");
    assert_eq!(valid_keys(&sandbox, "claude-code"), vec![gateway_keys::hash(&first)]);
    assert!(std::fs::read_to_string(&settings).unwrap().contains("http://127.0.0.1:10"));
    sandbox.run_ok(&["claude", "remove"]);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL);
}

#[test]
fn a_kill_at_any_step_is_healed_by_the_next_command() {
    let steps = [
        ("configure", "configure-key-issued"),
        ("configure", "settings-temp-written"),
        ("configure", "settings-before-rename"),
        ("remove", "settings-temp-written"),
        ("remove", "settings-before-rename"),
        ("remove", "remove-settings-restored"),
    ];
    for (command, step) in steps {
        for next in ["configure", "remove"] {
            let sandbox = Sandbox::new();
            let settings = user_settings(&sandbox);
            std::fs::write(&settings, ORIGINAL).unwrap();
            if command == "remove" {
                sandbox.run_ok(&["claude", "configure", "--base-url", DEAD_GATEWAY]);
            }
            let args: &[&str] = match command {
                "configure" => &["claude", "configure", "--base-url", DEAD_GATEWAY],
                _ => &["claude", "remove"],
            };
            let killed = sandbox.gatehouse(args).env("GATEHOUSE_TEST_ABORT_AT", step).stdin(Stdio::null()).output();
            let killed = killed.unwrap();
            assert!(!killed.status.success(), "{command} did not stop at {step}: {}", stderr(&killed));
            assert!(stderr(&killed).contains(step), "{}", stderr(&killed));

            let next_args: &[&str] = match next {
                "configure" => &["claude", "configure", "--base-url", DEAD_GATEWAY],
                _ => &["claude", "remove"],
            };
            let output = sandbox.run(next_args);
            assert!(output.status.success(), "{next} after a kill at {command}/{step}: {}", stderr(&output));
            assert_no_lock_out_and_no_orphan(&sandbox);
            if next == "remove" {
                assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL, "after {command}/{step}");
            } else {
                assert!(key_in(&settings).is_some(), "after {command}/{step}");
            }
            sandbox.run_ok(&["claude", "remove"]);
            assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL, "after {command}/{step}, {next}");
            assert_no_lock_out_and_no_orphan(&sandbox);
        }
    }
}

#[test]
fn a_read_only_settings_file_is_refused_and_left_alone() {
    let sandbox = Sandbox::new();
    let settings = user_settings(&sandbox);
    std::fs::write(&settings, ORIGINAL).unwrap();
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o444)).unwrap();
    let output = sandbox.run(&["claude", "configure", "--base-url", DEAD_GATEWAY]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&settings.display().to_string()) && message.contains("read-only"), "{message}");
    assert!(message.contains("chmod u+w"), "{message}");
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL);
    assert_eq!(std::fs::metadata(&settings).unwrap().permissions().mode() & 0o777, 0o444);
    assert!(valid_keys(&sandbox, "claude-code").is_empty());
}

#[test]
fn a_higher_scope_that_overrides_ours_is_named_with_the_fix() {
    let sandbox = Sandbox::new();
    let settings = user_settings(&sandbox);
    std::fs::write(&settings, ORIGINAL).unwrap();
    let local = sandbox.project_dir().join(".claude/settings.local.json");
    std::fs::create_dir_all(local.parent().unwrap()).unwrap();
    let mine = "{\"env\": {\"ANTHROPIC_BASE_URL\": \"https://llm.mine.example\"}}";
    std::fs::write(&local, mine).unwrap();

    let output = sandbox.run(&["claude", "configure", "--base-url", DEAD_GATEWAY]);
    assert!(!output.status.success(), "configure must not claim success");
    let message = stderr(&output);
    let local_name = local.display().to_string();
    for expected in [local_name.as_str(), "local settings", "https://llm.mine.example", "--scope local"] {
        assert!(message.contains(expected), "missing {expected:?} in {message}");
    }
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), ORIGINAL);
    assert!(valid_keys(&sandbox, "claude-code").is_empty());

    // Configured first, overridden later: status says which file wins.
    std::fs::remove_file(&local).unwrap();
    sandbox.run_ok(&["claude", "configure", "--base-url", DEAD_GATEWAY]);
    std::fs::write(&local, mine).unwrap();
    let output = sandbox.run(&["claude", "status"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("not configured"), "{text}");
    assert!(text.contains("does NOT use the gateway") && text.contains(&local.display().to_string()), "{text}");
    let json = sandbox.run(&["claude", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["overridden"]["scope"], "local", "{status}");
    assert_eq!(status["overridden"]["variable"], "ANTHROPIC_BASE_URL", "{status}");
}

#[test]
fn claude_status_exits_3_when_the_gateway_does_not_answer() {
    let sandbox = Sandbox::new();
    sandbox.run_ok(&["claude", "configure", "--base-url", DEAD_GATEWAY]);
    let output = sandbox.run(&["claude", "status"]);
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stdout));
    sandbox.run_ok(&["claude", "remove"]);
    let output = sandbox.run(&["claude", "status"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "no gateway runs at all: {text}");
    // The first line points at the warnings, whose fixes say what to do.
    assert!(text.starts_with("Claude Code: not configured to use Gatehouse (see below)\n"), "{text}");
    assert!(text.contains("  fix: ") && text.contains("`gatehouse claude configure`"), "{text}");
}

#[test]
fn the_help_offers_only_scopes_that_configure_accepts() {
    let sandbox = Sandbox::new();
    for command in ["configure", "remove"] {
        let help = sandbox.run_ok(&["claude", command, "--help"]);
        assert!(help.contains("user") && help.contains("local"), "{help}");
        assert!(!help.contains("- project"), "{command} --help offers a scope it refuses: {help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_claude_run_leaves_no_working_key_after_the_next_command() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    let output = sandbox
        .gatehouse(&["claude", "run", "--base-url", &gateway.base_url, "--", "-p", "hi"])
        .env("GATEHOUSE_CLAUDE_BIN", "/bin/true")
        .env("GATEHOUSE_TEST_ABORT_AT", "run-settings-written")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success(), "{}", stderr(&output));
    let state = sandbox.gatehouse_home().join("state");
    let run_files = || -> Vec<PathBuf> {
        std::fs::read_dir(&state)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("claude-run-"))
            .collect()
    };
    let left = run_files();
    assert_eq!(left.len(), 1, "the killed run's file is there: {left:?}");
    let key = key_in(&left[0]).expect("it holds the run's key");
    assert_eq!(valid_keys(&sandbox, "claude-code-run"), vec![gateway_keys::hash(&key)], "and the key still works");

    let output = sandbox
        .gatehouse(&["claude", "run", "--base-url", &gateway.base_url, "--", "-p", "hi"])
        .env("GATEHOUSE_CLAUDE_BIN", "/bin/true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(run_files().is_empty(), "{:?}", run_files());
    assert!(valid_keys(&sandbox, "claude-code-run").is_empty(), "the killed run's key is revoked");
}
