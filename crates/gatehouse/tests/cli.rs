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
    std::fs::write(home.path().join("config.toml"), "[gateway]\nport = 7411\n").unwrap();
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
    let after = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert_eq!(after, "[gateway]\nport = 7411\n", "the file as it was, final newline included");
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

/// A pipe whose reader is already gone, as `gatehouse … | head` leaves
/// stdout once `head` has quit. The reader is closed before the command
/// starts, so its first write fails, every time.
fn closed_pipe() -> std::process::Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // CLOEXEC: no other test's child may inherit the reader and keep the pipe open.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    writer.into()
}

/// A home whose config names a port where no gateway answers.
fn quiet_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(home.path().join("config.toml"), format!("[gateway]\nport = {port}\n")).unwrap();
    home
}

fn command(home: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .current_dir(home)
        .env("GATEHOUSE_HOME", home)
        .env("CLAUDE_CONFIG_DIR", home.join("claude"))
        .env("GATEHOUSE_CLAUDE_BIN", home.join("no-claude-here"))
        .env_remove("GATEHOUSE_ANTHROPIC_API_KEY");
    command
}

#[test]
fn every_command_exits_quietly_on_a_closed_stdout() {
    let home = quiet_home();
    assert!(gatehouse(home.path(), &["keys", "issue", "kept"]).status.success());
    let commands: &[&[&str]] = &[
        &["config", "path"],
        &["config", "show"],
        &["keys", "list"],
        &["keys", "issue", "script"],
        &["keys", "revoke", "script"],
        &["spend"],
        &["spend", "--json"],
        &["spend", "--csv"],
        &["spend", "--by", "model"],
        &["import"],
        &["import", "--json"],
        &["status"],
        &["status", "--json"],
        &["claude", "status"],
        &["claude", "status", "--json"],
        &["claude", "configure"],
        &["claude", "remove"],
        &["--help"],
        &["--version"],
        &["spend", "--help"],
    ];
    for args in commands {
        let output =
            command(home.path(), args).stdout(closed_pipe()).stderr(std::process::Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe") && !stderr.contains("backtrace"),
            "{args:?} on a closed stdout: {stderr}"
        );
        // 128 + SIGPIPE, what a shell reports for `cat` in the same place;
        // clap's own help and version output ignore the closed pipe.
        let expected = if args.iter().any(|a| a.starts_with("--h") || a.starts_with("--v")) { 0 } else { 141 };
        assert_eq!(output.status.code(), Some(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn the_gateway_keeps_running_with_a_closed_stdout() {
    let home = quiet_home();
    let mut child = command(home.path(), &["gateway", "run", "--port", "0"])
        .stdout(closed_pipe())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runtime = home.path().join("state/gateway.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let url = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the gateway exited ({status}) instead of serving");
        }
        let info: Option<serde_json::Value> =
            std::fs::read(&runtime).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if let Some(url) = info.and_then(|i| i["base_url"].as_str().map(str::to_string)) {
            break url;
        }
        assert!(std::time::Instant::now() < deadline, "the gateway never announced itself");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let health = command(home.path(), &["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    assert_eq!(status["gateway_url"], url.as_str());
    assert_eq!(health.status.code(), Some(0), "{status}");
    assert!(child.try_wait().unwrap().is_none(), "the gateway died after announcing itself");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}

#[test]
fn status_exits_3_when_no_gateway_answers() {
    let home = quiet_home();
    let output = gatehouse(home.path(), &["status"]);
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Gateway: not running or not healthy"), "{text}");
    assert!(text.contains("Today: no requests recorded yet") && text.contains("gatehouse claude configure"), "{text}");
    let json = gatehouse(home.path(), &["status", "--json"]);
    assert_eq!(json.status.code(), Some(3));
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["gateway"], serde_json::Value::Null);
}

#[test]
fn empty_ledger_and_no_keys_say_so_and_what_to_do() {
    let home = quiet_home();
    let keys = gatehouse(home.path(), &["keys", "list"]);
    assert!(keys.status.success());
    assert!(keys.stdout.is_empty(), "the list itself is empty");
    let said = String::from_utf8_lossy(&keys.stderr);
    assert!(said.contains("No gateway keys") && said.contains("gatehouse keys issue"), "{said}");

    for ledger_exists in [false, true] {
        if ledger_exists {
            gatehouse::ledger::open(&home.path().join("data/ledger.sqlite3")).unwrap();
        }
        let spend = gatehouse(home.path(), &["spend"]);
        assert!(spend.status.success());
        let text = String::from_utf8_lossy(&spend.stdout);
        assert!(text.contains("No requests recorded yet") && text.contains("gatehouse claude configure"), "{text}");
    }
}

#[test]
fn an_os_error_is_said_once() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("config.toml")).unwrap();
    let output = gatehouse(home.path(), &["config", "show"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("Is a directory").count(), 1, "{stderr}");
    assert!(stderr.contains(&home.path().join("config.toml").display().to_string()), "{stderr}");
}

#[test]
fn values_that_break_later_are_refused_by_every_command() {
    for (text, key, line) in [
        ("[gateway]\nport = 7411\nidle_timeout_secs = 18446744073709551615\n", "gateway.idle_timeout_secs", 3),
        ("[gateway]\nidle_timeout_secs = 0\n", "gateway.idle_timeout_secs", 2),
        ("[gateway]\nmax_body_bytes = 0\n", "gateway.max_body_bytes", 2),
        ("[supervisor]\ncrash_limit = 0\n", "supervisor.crash_limit", 2),
        ("[anthropic]\nbase_url = \"api.anthropic.com\"\n", "anthropic.base_url", 2),
        ("[gateway]\nlisten = \"0.0.0.0\"\n", "gateway.listen", 2),
        ("[[keys]]\nname = \"x\"\nsha256 = \"not-hex\"\n", "keys[0].sha256", 3),
        (
            "[pricing.models.m]\ninput = -3.0\noutput = 1.0\ncache_write_5m = 1.0\ncache_write_1h = 1.0\ncache_read = 1.0\n",
            "pricing.models.m.input",
            2,
        ),
    ] {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join("config.toml");
        std::fs::write(&config, text).unwrap();
        for args in [&["config", "show"][..], &["gateway", "run", "--port", "0"], &["spend"], &["keys", "list"]] {
            let output = gatehouse(home.path(), args);
            assert!(!output.status.success(), "{args:?} must refuse {text:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(&config.display().to_string()), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("line {line},")), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("key `{key}`")), "{args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn a_gateway_opened_to_the_network_on_purpose_warns() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), "[gateway]\nlisten = \"0.0.0.0\"\nallow_non_loopback = true\n")
        .unwrap();
    let mut child = command(home.path(), &["gateway", "run", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.starts_with("gatehouse gateway listening on "), "{first}");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("anyone on the") && stderr.contains("network"), "{stderr}");
}

#[test]
fn since_and_until_keep_the_time_and_offset_given() {
    let home = quiet_home();
    let conn = gatehouse::ledger::open(&home.path().join("data/ledger.sqlite3")).unwrap();
    for at in ["2026-12-02T15:40:00Z", "2026-12-02T15:50:00Z"] {
        let ms = at.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let name = |value: &str| gatehouse::ledger::names::id(&conn, value).unwrap();
        let (client, model, upstream, version) = (name("c"), name("m"), name("anthropic"), name("v"));
        conn.execute(
            // A row's id holds its time (see `gatehouse::ledger`): ms << 10.
            "INSERT INTO requests (id, source, client, model, upstream, status, streamed, complete,
             input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd,
             price_version, latency_us) VALUES (?1 << 10, 0, ?2, ?3, ?4, 200, 0, 1, 1, 1, 0, 0, 0, 0.01, ?5, 1000)",
            rusqlite::params![ms, client, model, upstream, version],
        )
        .unwrap();
    }
    drop(conn);
    let requests = |tz: &str, args: &[&str]| {
        let mut all = vec!["spend", "--json"];
        all.extend(args);
        let output = command(home.path(), &all).env("TZ", tz).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report["total"]["requests"].as_u64().unwrap()
    };
    assert_eq!(requests("UTC", &["--until", "2026-12-02T15:45:00+00:00"]), 1);
    assert_eq!(requests("UTC", &["--until", "2026-12-02T15:45:00Z"]), 1);
    assert_eq!(requests("UTC", &["--since", "2026-12-02T16:45:00+01:00"]), 1);
    assert_eq!(requests("UTC", &["--since", "2026-12-02T15:45:00-01:00"]), 0);
    // Without an offset the time is local: 15:45 in UTC+9 is 06:45 UTC.
    assert_eq!(requests("UTC", &["--until", "2026-12-02T15:45"]), 1);
    assert_eq!(requests("JST-9", &["--until", "2026-12-02T15:45"]), 0);
    assert_eq!(requests("UTC", &["--since", "2026-12-02", "--until", "2026-12-02"]), 2);

    let output = command(home.path(), &["spend", "--since", "2027-01-01"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("No requests in this period"), "{text}");
    let refused = command(home.path(), &["spend", "--since", "last tuesday"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("RFC 3339"));
}

#[test]
fn import_says_what_it_did_and_reads_a_transcript_once() {
    let home = tempfile::tempdir().unwrap();
    let projects = home.path().join("claude").join("projects");
    let stdout = |args: &[&str]| {
        let output = gatehouse(home.path(), args);
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let nothing = stdout(&["import"]);
    assert_eq!(nothing.trim(), format!("No Claude Code transcripts in {}: nothing to import.", projects.display()));

    std::fs::create_dir_all(projects.join("-home-me-app")).unwrap();
    let line = |output: u64, stop: Option<&str>| {
        serde_json::json!({
            "type": "assistant", "requestId": "req_cli1", "timestamp": "2026-11-30T10:00:00.000Z",
            "sessionId": "s1", "cwd": "/home/me/app",
            "message": {"id": "msg_cli1", "model": "claude-haiku-4-5", "stop_reason": stop,
                "usage": {"input_tokens": 10, "output_tokens": output}}
        })
        .to_string()
            + "\n"
    };
    std::fs::write(projects.join("-home-me-app").join("s1.jsonl"), line(3, None) + &line(90, Some("end_turn")))
        .unwrap();
    assert_eq!(
        stdout(&["import"]).trim(),
        "1 transcript files read (0 unchanged), 1 messages found, 1 rows added, 0 updated, 0 skipped as already \
         recorded by the gateway"
    );
    let again: serde_json::Value = serde_json::from_str(&stdout(&["import", "--json"])).unwrap();
    assert_eq!((&again["files_unchanged"], &again["rows_added"]), (&1.into(), &0.into()), "{again}");
    let spend: serde_json::Value = serde_json::from_str(&stdout(&["spend", "--json"])).unwrap();
    assert_eq!((&spend["total"]["requests"], &spend["total"]["output_tokens"]), (&1.into(), &90.into()), "{spend}");
}

#[test]
fn text_from_transcripts_and_key_names_cannot_repaint_the_terminal_or_run_in_a_spreadsheet() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("claude").join("projects").join("-x");
    std::fs::create_dir_all(&dir).unwrap();
    let line = |n: u32, cwd: &str| {
        serde_json::json!({
            "type": "assistant", "requestId": format!("req_h{n}"), "timestamp": "2026-11-30T10:00:00.000Z",
            "sessionId": "s1", "cwd": cwd,
            "message": {"id": format!("msg_h{n}"), "model": "claude-haiku-4-5", "stop_reason": "end_turn",
                "usage": {"input_tokens": 10, "output_tokens": 5}}
        })
        .to_string()
            + "\n"
    };
    std::fs::write(dir.join("s1.jsonl"), line(1, "/esc\u{1b}[31mRED") + &line(2, "=cmd|' /C calc'!A0")).unwrap();
    assert!(gatehouse(home.path(), &["import"]).status.success());
    let args = ["spend", "--since", "2026-11-29", "--until", "2026-12-01", "--by", "project"];
    let table = String::from_utf8(gatehouse(home.path(), &args).stdout).unwrap();
    assert!(!table.contains('\u{1b}'), "{table}");
    assert!(table.contains("/esc\\u{1b}[31mRED"), "{table}");
    let csv = String::from_utf8(gatehouse(home.path(), &[&args[..], &["--csv"]].concat()).stdout).unwrap();
    assert!(csv.contains("'=cmd|' /C calc'!A0"), "{csv}");
    assert!(!csv.lines().any(|line| line.starts_with('=')), "{csv}");

    for name in ["a\nb", "\u{1b}[2J", " padded", &"x".repeat(65)] {
        let output = gatehouse(home.path(), &["keys", "issue", name]);
        assert!(!output.status.success(), "{name:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cannot name a key") && !stderr.contains('\u{1b}'), "{stderr}");
    }
    assert!(gatehouse(home.path(), &["keys", "issue", "my laptop"]).status.success());
}

#[test]
fn keys_issued_at_once_through_a_symlinked_config_are_all_kept_and_the_link_stays() {
    let home = tempfile::tempdir().unwrap();
    let dotfiles = tempfile::tempdir().unwrap();
    let real = dotfiles.path().join("config.toml");
    std::fs::write(&real, "# mine\n[gateway]\nport = 7411\n").unwrap();
    let link = home.path().join("config.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    // Eight processes at once, each read-modify-writing the file.
    let names: Vec<String> = (0..8).map(|n| format!("client-{n}")).collect();
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            let mut command = command(home.path(), &["keys", "issue", name]);
            command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for (name, child) in names.iter().zip(children) {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.starts_with("# mine\n"), "{text}");
    for name in &names {
        assert!(text.contains(&format!("name = \"{name}\"")), "{name} lost: {text}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dotfiles.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary files: {leftovers:?}");
}
