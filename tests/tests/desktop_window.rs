//! The desktop app's window, end to end through WebDriver: tauri-driver
//! 2.1 with Debian's WebKitWebDriver drives the real app under Xvfb. With
//! its own controls it starts the proxy and points Claude Code at it; then
//! the real Claude Code CLI runs `-p` against the mock Anthropic API, and
//! the window's "today" figure must update from the new ledger rows. The
//! mock's 5-hour window rises 5 points per response, and the dashboard must
//! show it: the gauge at the last reading, each request's rise on the
//! Requests page, and the requests that used the window on the Windows page.
//!
//! Needs `target/debug/gatehouse-desktop` (built by `cargo test
//! --workspace`, or `cargo build -p gatehouse-desktop`), the built web UI,
//! and from `scripts/install-test-deps`: tauri-driver under
//! `$GATEHOUSE_TEST_DEPS`, the Claude Code CLI, `xvfb`, `webkit2gtk-driver`
//! and `imagemagick` (for the screenshot, whose path it prints).

use std::process::Command;

use gatehouse_e2e::claude_cli::{self, ClaudeAuth, claude_print};
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use gatehouse_e2e::webdriver::{
    Background, StopGateway, WebDriver, built, free_port, gateway_config, tauri_driver, wait_for, xvfb,
};

/// The window's "today" line for these ledger costs, as the tray words it.
fn today_label(costs: &[f64]) -> String {
    // Not `sum()`: an empty f64 sum is -0.0, which prints as "-0.00".
    let total = costs.iter().fold(0.0, |total, cost| total + cost);
    let cost = if total > 0.0 && total < 0.01 { "<$0.01".to_string() } else { format!("${total:.2}") };
    let requests = if costs.len() == 1 { "1 request".to_string() } else { format!("{} requests", costs.len()) };
    format!("Today: {cost} at API prices · {requests}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_starts_the_proxy_configures_claude_code_and_shows_spend() {
    let app = built("gatehouse-desktop");
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway_port = gateway_config(&sandbox, &mock.base_url());
    // The user left the proxy off last time: the window turns it on.
    std::fs::create_dir_all(sandbox.gatehouse_home().join("state")).unwrap();
    std::fs::write(sandbox.gatehouse_home().join("state").join("app.json"), r#"{"proxy_enabled": false}"#).unwrap();
    let auth = ClaudeAuth::Subscription("sk-ant-oat01-FAKE-desktop-window-test-token");
    claude_cli::write_subscription_login(&sandbox, "sk-ant-oat01-FAKE-desktop-window-test-token");

    let (_xvfb, display) = xvfb(&sandbox.dir.path().join("xvfb.log"));
    let port = free_port();
    let mut driver = tauri_driver(&sandbox, &display, port);
    driver.env("GATEHOUSE_CLAUDE_BIN", claude_cli::claude_bin());
    let _gateway = StopGateway(sandbox.gatehouse_home().join("state").join("gateway.json"));
    let _driver = Background(driver.spawn().expect("tauri-driver"));
    wait_for("tauri-driver", 20, || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    let window = WebDriver::start(port, &app).await;

    // 1. Start the proxy from the window.
    window.text_until("#gateway", "the stopped state", |t| t == "Gateway: stopped").await;
    window.click(r#"input[data-action="proxy"]"#).await;
    let gateway_url = format!("http://127.0.0.1:{gateway_port}");
    window
        .text_until("#gateway", "the gateway to run", |t| t == format!("Gateway: running on 127.0.0.1:{gateway_port}"))
        .await;
    tokio::task::block_in_place(|| gatehouse::gateway_client::health(&gateway_url)).expect("the gateway answers");

    // 2. Point Claude Code at it.
    window.click(r#"input[data-action="claude_code"]"#).await;
    window.text_until("#claude-code-status", "Claude Code to be configured", |t| t.contains(&gateway_url)).await;
    let settings = std::fs::read_to_string(sandbox.claude_dir().join("settings.json")).unwrap();
    assert!(settings.contains("x-gatehouse-key: "), "{settings}");

    // 3. The real Claude Code, through the gateway, against the mock, whose
    // 5-hour window rises 5 points with every response from 30%.
    window.text_until("#facts p", "an empty ledger", |t| t == today_label(&[])).await;
    mock.set_five_hour(0.30, 0.05);
    let result = tokio::task::block_in_place(|| claude_print(&sandbox, &auth, "say hi", &[]));
    assert_eq!(result["is_error"], false, "claude failed: {result}");
    let sent = mock.requests().iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).count();
    let rows = sandbox.ledger_rows(sent);
    assert_eq!(rows.len(), sent, "one ledger row per request");
    let costs: Vec<f64> = rows.iter().map(|row| row.cost_usd.expect("priced")).collect();
    let total: f64 = costs.iter().sum();
    assert!((total - result["total_cost_usd"].as_f64().unwrap()).abs() < 1e-9);

    // 4. The window's "today" figure follows the ledger.
    let expected = today_label(&costs);
    window.text_until("#facts p", "today's spend to update", |t| t == expected).await;

    // 5. The dashboard: the 5-hour gauge at the last reading, each request's
    // rise on the Requests page, and the requests that used the window.
    let again = tokio::task::block_in_place(|| claude_print(&sandbox, &auth, "say bye", &[]));
    assert_eq!(again["is_error"], false, "claude failed: {again}");
    let sent = mock.requests().iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).count();
    assert!(sent >= 2, "two runs of Claude Code made {sent} requests");
    assert_eq!(sandbox.ledger_rows(sent).len(), sent);
    let last = format!("{}%", 30 + 5 * (sent - 1));
    window.text_until(r#"li.gauge[data-window="5h"] .gauge-value"#, "the 5-hour gauge", |t| t == last).await;
    window.click(r#"button[data-page="requests"]"#).await;
    let table = window
        .text_until(
            r#"table[data-testid="requests-table"] tbody"#,
            "every request after the first rising 5 points",
            |t| t.matches("+5.0 pts").count() == sent - 1,
        )
        .await;
    assert_eq!(table.matches('—').count(), 1, "only the window's first reading has no rise: {table}");
    window.click(r#"button[data-page="windows"]"#).await;
    let top = window
        .text_until(r#"table[data-testid="top-requests"] tbody"#, "the requests that used the window", |t| {
            t.matches("+5.0 pts").count() == sent - 1
        })
        .await;
    assert!(!top.contains("unknown price"), "{top}");
    window.click(r#"button[data-page="overview"]"#).await;

    let shot = sandbox.dir.path().join("desktop-window.png");
    let saved = Command::new("/usr/bin/import").args(["-window", "root"]).arg(&shot).env("DISPLAY", &display).status();
    if saved.is_ok_and(|s| s.success()) {
        // Kept past the sandbox's cleanup, for a person to look at.
        let keep = std::env::temp_dir().join(format!("gatehouse-desktop-window-{}.png", std::process::id()));
        std::fs::copy(&shot, &keep).unwrap();
        println!("screenshot: {}", keep.display());
    }

    // The proxy off again: the gateway stops and Claude Code is restored,
    // so nothing outlives the test.
    window.click(r#"input[data-action="proxy"]"#).await;
    window.text_until("#gateway", "the gateway to stop", |t| t == "Gateway: stopped").await;
    assert!(!sandbox.claude_dir().join("settings.json").exists(), "configure created it, so it is removed");
    window.end().await;
}
