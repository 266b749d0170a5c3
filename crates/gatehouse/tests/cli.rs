//! The `gatehouse` binary's behaviour on bad input and on a fresh home,
//! without a gateway running.

use std::process::{Command, Output};

fn gatehouse(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_HOME", home)
        .env("CLAUDE_CONFIG_DIR", home.join("claude"))
        .env_remove("GATEHOUSE_ANTHROPIC_API_KEY")
        .output()
        .expect("running gatehouse")
}

#[test]
fn bad_config_names_file_line_and_key_and_fails() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "[gateway]\nport = 7411\nmax_body_bytes = \"lots\"\n").unwrap();
    for args in [&["config", "show"][..], &["spend"], &["gateway", "run"], &["claude", "status"]] {
        let output = gatehouse(home.path(), args);
        assert!(!output.status.success(), "{args:?} must fail on a bad config");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&config.display().to_string()), "{args:?}: {stderr}");
        assert!(stderr.contains("line 3"), "{args:?}: {stderr}");
        assert!(stderr.contains("gateway.max_body_bytes"), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "[gateway]\nport = 7411\nmax_body_bytes = \"lots\"\n");
}

#[test]
fn the_names_claude_code_revokes_cannot_be_issued_by_hand() {
    let home = tempfile::tempdir().unwrap();
    for name in ["claude-code", "claude-code-run"] {
        let output = gatehouse(home.path(), &["keys", "issue", name]);
        assert!(!output.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("choose another name"), "{stderr}");
    }
    assert!(
        !home.path().join("config.toml").exists() || {
            let text = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
            !text.contains("claude-code")
        }
    );
}

#[test]
fn config_path_and_show_on_a_fresh_home() {
    let home = tempfile::tempdir().unwrap();
    let path = gatehouse(home.path(), &["config", "path"]);
    assert!(path.status.success());
    assert_eq!(String::from_utf8_lossy(&path.stdout).trim(), home.path().join("config.toml").display().to_string());
    let show = gatehouse(home.path(), &["config", "show"]);
    assert!(show.status.success());
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("port = 7411"), "{text}");
    assert!(text.contains("api_key_env = \"GATEHOUSE_ANTHROPIC_API_KEY\""), "{text}");
}

#[test]
fn issued_key_appears_only_as_a_hash() {
    let home = tempfile::tempdir().unwrap();
    let issued = gatehouse(home.path(), &["keys", "issue", "script"]);
    assert!(issued.status.success());
    let key = String::from_utf8(issued.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("ghk_"), "{key}");
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(!config.contains(&key));
    let show = String::from_utf8(gatehouse(home.path(), &["config", "show"]).stdout).unwrap();
    assert!(show.contains("name = \"script\"") && !show.contains(&key), "{show}");
    assert!(gatehouse(home.path(), &["keys", "revoke", "script"]).status.success());
    assert!(!gatehouse(home.path(), &["keys", "revoke", "script"]).status.success());
}

#[test]
fn spend_on_an_empty_home_is_zero() {
    let home = tempfile::tempdir().unwrap();
    let output = gatehouse(home.path(), &["spend", "--json", "--by", "model"]);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["total"]["requests"], 0);
    assert_eq!(report["groups"], serde_json::json!([]));
}

#[test]
fn port_in_use_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let output = gatehouse(home.path(), &["gateway", "run", "--port", &port]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("port {port}")) && stderr.contains("already in use"), "{stderr}");
}
