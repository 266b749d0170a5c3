//! The IPC commands, called by name with the arguments the window's page
//! passes (as its process forwards them to the app), on Tauri's mock
//! runtime (no display): with the real core, a real gateway child process
//! and real settings files in a temporary home.
//!
//! One test function: the commands share process-wide environment
//! (`HOME`, `CLAUDE_CONFIG_DIR`), so the steps run in order.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::desktop::service::DesktopService;
use gatehouse::supervisor::SupervisorOptions;
use serde_json::{Value, json};
use tauri::App;
use tauri::test::{MockRuntime, mock_builder, mock_context, noop_assets};

fn invoke(app: &App<MockRuntime>, cmd: &str, args: Value) -> Result<Value, String> {
    tauri::async_runtime::block_on(gatehouse_desktop::dispatch(app.handle(), cmd, args))
        .map(|json| serde_json::from_str(json.get()).expect("an answer is JSON"))
        .map_err(|error| error.to_string())
}

/// Polls `get_state` until `check` holds.
fn state_until(app: &App<MockRuntime>, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = invoke(app, "get_state", json!({})).unwrap();
        if check(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; last state: {state:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `gatehouse` binary of this build, which the supervisor runs.
fn gatehouse_bin() -> std::path::PathBuf {
    let test_exe = std::env::current_exe().unwrap();
    let bin = test_exe.parent().and_then(Path::parent).unwrap().join("gatehouse");
    assert!(bin.exists(), "{} is missing: build it with `cargo build -p gatehouse`", bin.display());
    bin
}

fn mock_app(home: &Path) -> App<MockRuntime> {
    let gatehouse_home = home.join("gatehouse");
    std::fs::create_dir_all(&gatehouse_home).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        gatehouse_home.join("config.toml"),
        format!("[gateway]\nport = {port}\n\n[supervisor]\ngatehouse_bin = {:?}\n", gatehouse_bin()),
    )
    .unwrap();
    let service = DesktopService::new(SupervisorOptions::under(&gatehouse_home)).unwrap();
    mock_builder().manage(Arc::clone(&service)).build(mock_context(noop_assets())).unwrap()
}

#[test]
fn the_windows_commands_drive_the_real_core() {
    let home = tempfile::tempdir().unwrap();
    // SAFETY: set before any other thread of this test binary reads them.
    unsafe {
        std::env::set_var("HOME", home.path());
        std::env::set_var("XDG_CONFIG_HOME", home.path().join(".config"));
        std::env::set_var("CLAUDE_CONFIG_DIR", home.path().join("claude"));
        std::env::set_var("GATEHOUSE_CLAUDE_BIN", home.path().join("no-claude-here"));
    }
    let settings = home.path().join("claude").join("settings.json");
    let app = mock_app(home.path());

    // Stopped: the tray model says so, and Claude Code cannot be configured yet.
    let state = invoke(&app, "get_state", json!({})).unwrap();
    assert_eq!(state["snapshot"]["gateway"]["state"], "stopped");
    assert_eq!(state["tray"]["entries"][0]["label"], "Gateway: stopped");
    assert_eq!(state["tray"]["icon"], "stopped");
    let error = invoke(&app, "set_claude_code", json!({ "enabled": true })).unwrap_err();
    assert!(error.contains("turn the proxy on"), "{error}");

    // LiteLLM: not installed (the home is new), and "Uninstall" says there was nothing to remove.
    assert_eq!(state["snapshot"]["litellm"]["install"]["state"], "not_installed");
    assert_eq!(state["snapshot"]["litellm"]["pinned_version"], "1.106.2");
    let uninstalled = invoke(&app, "litellm_uninstall", json!({})).unwrap();
    assert!(uninstalled["message"].as_str().unwrap().contains("nothing was removed"), "{uninstalled}");
    assert!(!settings.exists());

    // Proxy on: the gateway runs and answers.
    invoke(&app, "set_proxy", json!({ "enabled": true })).unwrap();
    let state = state_until(&app, "the gateway to run", |s| s["snapshot"]["gateway"]["state"] == "running");
    let base_url = state["snapshot"]["gateway"]["base_url"].as_str().unwrap().to_string();
    gatehouse::gateway_client::health(&base_url).unwrap();
    assert_eq!(state["snapshot"]["proxy_enabled"], true);
    assert_eq!(state["tray"]["icon"], "running");
    assert!(invoke(&app, "log_tail", json!({})).unwrap().as_array().is_some_and(|lines| !lines.is_empty()));

    // Claude Code on and off, with the core's semantics.
    invoke(&app, "set_claude_code", json!({ "enabled": true })).unwrap();
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains(&format!("\"ANTHROPIC_BASE_URL\": \"{base_url}\"")), "{text}");
    assert!(text.contains("x-gatehouse-key: "));
    assert!(!text.contains("ANTHROPIC_API_KEY") && !text.contains("ANTHROPIC_AUTH_TOKEN"));
    state_until(&app, "Claude Code to show as configured", |s| s["snapshot"]["claude_code"]["configured"] == true);
    invoke(&app, "set_claude_code", json!({ "enabled": false })).unwrap();
    assert!(!settings.exists(), "configure created the file, so remove deletes it");

    // The diff preview shows the change, and applying it writes exactly that (the key hidden).
    let preview = invoke(&app, "claude_code_preview", json!({ "change": "configure" })).unwrap();
    assert!(preview["diff"].as_str().unwrap().starts_with("--- /dev/null\n+++ b/settings.json\n"), "{preview:#}");
    assert!(!settings.exists(), "a preview writes nothing");
    invoke(&app, "claude_code_apply", json!({ "change": "configure" })).unwrap();
    let text = std::fs::read_to_string(&settings).unwrap();
    let key = text.split("x-gatehouse-key: ").nth(1).unwrap().split(['"', '\\']).next().unwrap();
    assert_eq!(text.replace(key, gatehouse::claude_code::preview::HIDDEN_KEY), preview["after"].as_str().unwrap());
    let removal = invoke(&app, "claude_code_preview", json!({ "change": "remove" })).unwrap();
    assert_eq!(removal["after"], Value::Null, "configure created the file, so remove deletes it");
    assert!(!removal.to_string().contains(key), "the key is never shown");
    invoke(&app, "claude_code_apply", json!({ "change": "remove" })).unwrap();
    assert!(!settings.exists());
    let scopes = invoke(&app, "claude_code_scopes", json!({})).unwrap();
    assert!(scopes["scopes"].as_array().unwrap().iter().any(|s| s["scope"] == "user" && s["can_configure"] == true));
    // A warning's "Open the file" opens Claude Code's settings files, and nothing else.
    let error = invoke(&app, "open_claude_settings_file", json!({ "path": "/etc/passwd" })).unwrap_err();
    assert!(error.contains("not a Claude Code settings file"), "{error}");

    dashboard_pages(&app, &home.path().join("gatehouse"));

    // "Start at login" is real: the autostart entry appears and goes.
    let autostart_dir = home.path().join(".config").join("autostart");
    std::fs::create_dir_all(home.path().join(".config")).unwrap();
    invoke(&app, "set_start_at_login", json!({ "enabled": true })).unwrap();
    assert_eq!(std::fs::read_dir(&autostart_dir).unwrap().count(), 1);
    let entry = std::fs::read_to_string(autostart_dir.join("Gatehouse.desktop")).unwrap();
    let exe = std::env::current_exe().unwrap();
    assert!(entry.contains(&format!("\nExec={}\n", exe.display())), "{entry}");
    assert!(entry.contains("\nIcon=gatehouse-desktop\n"), "{entry}");
    state_until(&app, "Start at login to show", |s| s["snapshot"]["start_at_login"] == true);
    invoke(&app, "set_start_at_login", json!({ "enabled": false })).unwrap();
    assert_eq!(std::fs::read_dir(&autostart_dir).unwrap().count(), 0);

    invoke(&app, "set_keep_gateway_after_quit", json!({ "enabled": true })).unwrap();
    state_until(&app, "keep running to show", |s| s["snapshot"]["keep_gateway_after_quit"] == true);
    invoke(&app, "set_keep_gateway_after_quit", json!({ "enabled": false })).unwrap();

    // Errors reach the page as one message.
    let error = invoke(&app, "submit_login_code", json!({ "code": "abc#def" })).unwrap_err();
    assert!(error.contains("no sign-in is in progress"), "{error}");
    let error = invoke(&app, "start_login", json!({})).unwrap_err();
    assert!(error.contains("no-claude-here"), "{error}");
    let error = invoke(&app, "set_proxy", json!({})).unwrap_err();
    assert!(error.contains("enabled"), "{error}");

    // Signing in is Claude Code's: the window gets its URL and passes the code on.
    let fake_claude = home.path().join("claude-login");
    std::fs::write(
        &fake_claude,
        "#!/bin/sh\necho \"If the browser didn't open, visit: https://claude.example/oauth?x=1\"\n\
         while printf 'Paste code here if prompted > ' && read code; do\n\
         case \"$code\" in *#*) echo 'Login successful.'; exit 0;; *) echo 'Not the full code.' >&2;; esac; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake_claude, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // SAFETY: as above; no other thread reads the environment concurrently.
    unsafe { std::env::set_var("GATEHOUSE_CLAUDE_BIN", &fake_claude) };
    assert_eq!(invoke(&app, "start_login", json!({})).unwrap(), "https://claude.example/oauth?x=1");
    let reply = invoke(&app, "submit_login_code", json!({ "code": "partial" })).unwrap();
    assert_eq!(reply, json!({ "done": false, "message": "Not the full code." }));
    let reply = invoke(&app, "submit_login_code", json!({ "code": "abc#def" })).unwrap();
    assert_eq!(reply["done"], true);

    // Proxy off: the gateway stops.
    invoke(&app, "set_proxy", json!({ "enabled": false })).unwrap();
    state_until(&app, "the gateway to stop", |s| s["snapshot"]["gateway"]["state"] == "stopped");
    assert!(gatehouse::gateway_client::health(&base_url).is_err());
}

/// The dashboard's commands over the app's real ledger, and the `ledger`
/// event when a request lands.
fn dashboard_pages(app: &App<MockRuntime>, gatehouse_home: &Path) {
    use tauri::Manager as _;
    let overview = invoke(app, "dashboard_overview", json!({})).unwrap();
    assert_eq!(overview["today"]["requests"], 0);
    assert_eq!(overview["today"]["cost_usd"], 0.0, "nothing recorded costs $0, not an unknown price");

    let service = Arc::clone(&app.state::<Arc<DesktopService>>());
    let (events, received) = std::sync::mpsc::channel();
    // What the app sends the window as its `ledger` event. The version is
    // noted now: a row recorded after this is news.
    service.on_ledger_change(move |changed| {
        let _ = events.send(serde_json::to_string(changed).unwrap());
    });
    service.watch(|_| {});
    let ledger = gatehouse::ledger::open(&gatehouse_home.join("data").join("ledger.sqlite3")).unwrap();
    let model = gatehouse::ledger::names::id(&ledger, "claude-sonnet-4-5").unwrap();
    let prices = gatehouse::ledger::names::id(&ledger, "test-prices").unwrap();
    ledger
        .execute(
            "INSERT INTO requests (id, source, model, status, streamed, complete, input_tokens, output_tokens,
                cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd, price_version)
             VALUES (?1 << 10, 0, ?2, 200, 1, 1, 10, 20, 0, 0, 1000, 0.25, ?3)",
            rusqlite::params![jiff::Timestamp::now().as_millisecond(), model, prices],
        )
        .unwrap();
    let id = ledger.last_insert_rowid();
    let event: Value = serde_json::from_str(&received.recv_timeout(Duration::from_secs(30)).unwrap()).unwrap();
    let version: i64 = ledger.query_row("SELECT MAX(seq) FROM request_feed", [], |row| row.get(0)).unwrap();
    assert_eq!((event["version"].as_i64(), event["rows"][0]["id"].as_i64()), (Some(version), Some(id)));
    assert_eq!(event["rows"][0]["cost_usd"], 0.25);

    let overview = invoke(app, "dashboard_overview", json!({})).unwrap();
    assert_eq!((overview["today"]["requests"].clone(), overview["today"]["cost_usd"].clone()), (json!(1), json!(0.25)));
    let query = json!({ "range": null, "by": "model" });
    let report = invoke(app, "spend_report", json!({ "query": query })).unwrap();
    assert_eq!(report["rows"][0]["key"], "claude-sonnet-4-5");
    assert_eq!(report["days"].as_array().unwrap().len(), 30);
    let export = invoke(app, "spend_export", json!({ "query": query, "format": "csv", "save": true })).unwrap();
    let saved = std::fs::read_to_string(export["path"].as_str().unwrap()).unwrap();
    assert_eq!(saved, export["contents"].as_str().unwrap());
    assert!(saved.contains("model,claude-sonnet-4-5,1,0.250000,"), "{saved}");
    let rows = invoke(app, "recent_requests", json!({ "query": { "limit": null, "before_id": null } })).unwrap();
    assert_eq!(rows[0]["id"], id);
    let details = invoke(app, "request_details", json!({ "id": id })).unwrap();
    assert_eq!(details["price_version"], "test-prices");
    let windows = invoke(app, "windows_report", json!({ "query": { "days": null, "top": null } })).unwrap();
    assert_eq!(windows["windows"], json!([]));
    let lines = invoke(app, "log_lines", json!({})).unwrap();
    let times: Vec<i64> = lines.as_array().unwrap().iter().filter_map(|l| l["ts_ms"].as_i64()).collect();
    assert!(!times.is_empty() && times.windows(2).all(|t| t[0] >= t[1]), "newest first: {lines:#}");

    // History from Claude Code's transcripts, imported on request (the first-run guide's step 3).
    // Before Claude Code wrote any, there is nothing to import: the step is done, from any process.
    let first = invoke(app, "first_run_state", json!({})).unwrap();
    assert_eq!((first["imported"].clone(), first["nothing_to_import"].clone()), (json!(null), json!(true)));
    let transcripts = std::path::PathBuf::from(std::env::var_os("CLAUDE_CONFIG_DIR").unwrap()).join("projects/-app");
    std::fs::create_dir_all(&transcripts).unwrap();
    let line = json!({
        "type": "assistant", "uuid": "u-1", "timestamp": "2026-11-30T10:00:09.000Z", "requestId": "req_imported",
        "sessionId": "s-imported", "cwd": "/home/me/app", "version": "2.1.328",
        "message": { "id": "msg_imported", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{ "type": "text", "text": "hi" }], "stop_reason": "end_turn",
            "usage": { "input_tokens": 12, "output_tokens": 159, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0 } }
    });
    std::fs::write(transcripts.join("s-imported.jsonl"), format!("{line}\n")).unwrap();
    let summary = invoke(app, "import_transcripts", json!({})).unwrap();
    assert_eq!(summary["rows_added"], 1, "{summary:#}");
    let imported = invoke(
        app,
        "spend_report",
        json!({ "query": {
        "range": { "first_day": "2026-11-29", "last_day": "2026-12-01" }, "by": "session" } }),
    )
    .unwrap();
    assert_eq!(imported["total"]["requests"], 1, "{imported:#}");
    assert_eq!(imported["rows"][0]["key"], "s-imported");
    // The first-run guide counts that history from the ledger, and "Done" is remembered.
    let first = invoke(app, "first_run_state", json!({})).unwrap();
    assert_eq!(
        (first["imported"]["transcript_files"].clone(), first["imported"]["requests"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(first["nothing_to_import"], false);
    assert_eq!(first["show"], true, "Claude Code is not configured: a step is left");
    invoke(app, "first_run_done", json!({})).unwrap();
    assert_eq!(invoke(app, "first_run_state", json!({})).unwrap()["show"], false);

    let settings = invoke(app, "settings_get", json!({})).unwrap();
    let mut form = settings["form"].clone();
    form["fail_open_after_secs"] = json!(12);
    let outcome = invoke(app, "settings_save", json!({ "form": form })).unwrap();
    assert_eq!(outcome["saved"], true, "{outcome:#}");
    let config = std::fs::read_to_string(gatehouse_home.join("config.toml")).unwrap();
    assert!(config.contains("fail_open_after_secs = 12"), "{config}");
    form["price_overrides"] = json!([{ "model": "m", "input": -1.0, "output": 1.0, "cache_write_5m": 1.0,
        "cache_write_1h": 1.0, "cache_read": 1.0 }]);
    let outcome = invoke(app, "settings_save", json!({ "form": form })).unwrap();
    assert_eq!(
        (outcome["saved"].clone(), outcome["problems"][0]["field"].clone()),
        (json!(false), json!("price_overrides.m.input"))
    );
}
