//! The first launch, end to end through WebDriver (as in `desktop_window`):
//! the real app with a fresh Gatehouse home opens its window by itself, on
//! the Overview and its first-run guide, whose three steps say what is
//! true: the gateway the first launch started runs, Claude Code is not
//! configured, and the history is imported (the real Claude Code CLI left a
//! transcript in the sandbox before the app started, and the gateway
//! imports transcripts at start). "Done, hide this" is remembered: the next
//! launch opens no window by itself, and the app no longer offers the guide.
//!
//! Whether the window shows is asked of the X server (`xdotool`, from
//! `scripts/install-test-deps`): under WebDriver the app creates its window
//! hidden, so only the first-run open makes it visible. `trayer` is the
//! tray host, since without one the app shows its window at every launch.
//! Needs what `desktop_window` needs, and `trayer`.

use std::process::Command;

use gatehouse_e2e::claude_cli::{ClaudeAuth, claude};
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use gatehouse_e2e::webdriver::{
    Background, StopGateway, WebDriver, built, free_port, gateway_config, tauri_driver, wait_for, xvfb,
};
use serde_json::Value;

const API_KEY: &str = "sk-ant-api03-FAKE-e2e-first-run-0123456789";

/// Whether a window matching `search` (xdotool's options) is mapped on `display`.
fn has_window(display: &str, search: &[&str]) -> bool {
    Command::new("xdotool")
        .arg("search")
        .arg("--onlyvisible")
        .args(search)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool (Debian package xdotool) must be installed")
        .status
        .success()
}

/// Whether the app's window is shown on `display`.
fn window_shown(display: &str) -> bool {
    has_window(display, &["--name", "^Gatehouse$"])
}

/// The ledger's imported history: transcript files read, and rows known only from them.
fn imported(sandbox: &Sandbox) -> Option<(u64, u64)> {
    let conn = rusqlite::Connection::open_with_flags(sandbox.ledger_file(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()?;
    let files: u64 = conn.query_row("SELECT COUNT(*) FROM transcript_files", [], |r| r.get(0)).ok()?;
    let rows: u64 = conn.query_row("SELECT COUNT(*) FROM requests WHERE source = 1", [], |r| r.get(0)).ok()?;
    (files > 0 && rows > 0).then_some((files, rows))
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The class of the guide's `n`th step ("step" or "step done").
async fn step_class(window: &WebDriver, n: usize) -> String {
    let class = window.property(&format!(".guide .steps li:nth-child({n})"), "className").await;
    class.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_launch_opens_the_guide_once_with_the_steps_as_they_are() {
    let app = built("gatehouse-desktop");
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway_port = gateway_config(&sandbox, &mock.base_url());

    // History from before Gatehouse: the real Claude Code, straight to the
    // upstream, writes its transcript into the sandbox's config dir.
    let output = tokio::task::block_in_place(|| {
        claude(&sandbox, &ClaudeAuth::ApiKey(API_KEY), &["-p", "say hi", "--output-format", "json"])
            .env("ANTHROPIC_BASE_URL", mock.base_url())
            .output()
            .expect("running claude")
    });
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!("claude printed no JSON: {}\n{}", output.status, String::from_utf8_lossy(&output.stderr))
    });
    assert_eq!(result["is_error"], false, "claude failed: {result}");
    assert!(!sandbox.ledger_file().exists(), "no ledger before the first launch");
    assert!(!sandbox.gatehouse_home().join("state/first-run.json").exists());

    let (_xvfb, display) = xvfb(&sandbox.dir.path().join("xvfb.log"));
    // A tray host, as on a desktop: without one the app opens its window
    // at every launch (after a few seconds), which is not what is tested.
    let _tray_host = Background(
        Command::new("trayer")
            .args(["--edge", "top", "--widthtype", "request", "--height", "32"])
            .env("DISPLAY", &display)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(sandbox.dir.path().join("trayer.log")).unwrap())
            .spawn()
            .expect("trayer (Debian package trayer) must be installed"),
    );
    wait_for("trayer", 20, || has_window(&display, &["--class", "trayer"]).then_some(()));
    let port = free_port();
    let mut driver = tauri_driver(&sandbox, &display, port);
    driver.env("GATEHOUSE_CLAUDE_BIN", gatehouse_e2e::claude_cli::claude_bin());
    let _gateway = StopGateway(sandbox.gatehouse_home().join("state").join("gateway.json"));
    let _driver = Background(driver.spawn().expect("tauri-driver"));
    wait_for("tauri-driver", 20, || std::net::TcpStream::connect(("127.0.0.1", port)).ok());

    // 1. The first launch: the window shows by itself, with the guide.
    let window = WebDriver::start(port, &app).await;
    wait_for("the window to show by itself", 30, || window_shown(&display).then_some(()));
    window.displayed_until(".guide", true, 30).await;
    assert_eq!(window.text("#guide-title").await, "Get started");

    // 2. Its steps as they are: the gateway runs, Claude Code is not
    // switched onto it, and the gateway's own import read the transcript.
    window
        .text_until("#gateway", "the gateway to run", |t| t == format!("Gateway: running on 127.0.0.1:{gateway_port}"))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while step_class(&window, 1).await != "step done" {
        assert!(std::time::Instant::now() < deadline, "the gateway step is not done");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(step_class(&window, 2).await, "step", "Claude Code is not configured yet");
    assert!(window.displayed(".guide .steps li:nth-child(2) button").await, "the Claude Code step offers its preview");
    let (files, rows) = wait_for("the gateway's import at start", 30, || imported(&sandbox));
    let expected =
        format!("{} from before Gatehouse, read from {}.", plural(rows, "request"), plural(files, "transcript file"));
    window.text_until(".guide .steps li:nth-child(3)", "the imported history", |t| t.contains(&expected)).await;
    assert_eq!(step_class(&window, 3).await, "step done");
    let state = window.invoke("first_run_state").await;
    assert_eq!(state["show"], true, "{state}");
    assert_eq!(
        (state["imported"]["transcript_files"].as_u64(), state["imported"]["requests"].as_u64()),
        (Some(files), Some(rows))
    );

    // What the window shows, kept past the sandbox's cleanup for a person to look at.
    let keep = std::env::temp_dir().join(format!("gatehouse-first-run-{}.png", std::process::id()));
    std::fs::write(&keep, window.screenshot().await).unwrap();
    println!("screenshot: {}", keep.display());

    // 3. "Done, hide this": gone, and remembered.
    window.click(".guide .card-head button").await;
    window.displayed_until(".guide", false, 30).await;
    let saved = std::fs::read_to_string(sandbox.gatehouse_home().join("state/first-run.json")).unwrap();
    let saved: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!((saved["window_opened"].clone(), saved["guide"].clone()), (Value::Bool(true), "dismissed".into()));
    window.end().await;
    wait_for("the app to end", 30, || (!window_shown(&display)).then_some(()));

    // 4. The next launch stays in the tray: its window exists (WebDriver
    // needs one) but is not shown, and the app offers no guide.
    let window = WebDriver::start(port, &app).await;
    window
        .text_until("#gateway", "the gateway, adopted", |t| {
            t.starts_with(&format!("Gateway: running on 127.0.0.1:{gateway_port}"))
        })
        .await;
    let state = window.invoke("first_run_state").await;
    assert_eq!(state["show"], false, "{state}");
    assert!(!window_shown(&display), "the second launch opened its window by itself");
    assert!(!window.source().await.contains("guide-title"), "the guide is drawn");
    window.end().await;
}
