//! The desktop app's window, end to end through WebDriver: tauri-driver
//! 2.1 with Debian's WebKitWebDriver drives the real app under Xvfb. With
//! its own controls it starts the proxy and points Claude Code at it; then
//! the real Claude Code CLI runs `-p` against the mock Anthropic API, and
//! the window's "today" figure must update from the new ledger rows.
//!
//! Needs `target/debug/gatehouse-desktop` (built by `cargo test
//! --workspace`, or `cargo build -p gatehouse-desktop`), the built web UI,
//! and from `scripts/install-test-deps`: tauri-driver under
//! `$GATEHOUSE_TEST_DEPS`, the Claude Code CLI, `xvfb`, `webkit2gtk-driver`
//! and `imagemagick` (for the screenshot, whose path it prints).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_e2e::claude_cli::{self, ClaudeAuth, claude_print};
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use serde_json::{Value, json};

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Kills a background process, and the processes it started, when the
/// test ends, however it ends. tauri-driver leaves its WebKitWebDriver
/// running when it is killed.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let pid = self.0.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let _ = Command::new("kill").arg(child).status();
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stops the gateway the app started, if the test ends before the app
/// could: a killed app leaves its gateway running, by design.
struct StopGateway(PathBuf);

impl Drop for StopGateway {
    fn drop(&mut self) {
        let runtime: Option<Value> = std::fs::read_to_string(&self.0).ok().and_then(|t| serde_json::from_str(&t).ok());
        if let Some(pid) = runtime.and_then(|r| r["pid"].as_u64()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn built(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join(name);
    assert!(path.exists(), "{} is missing: build it with `cargo build -p gatehouse-desktop`", path.display());
    path
}

fn wait_for<T>(what: &str, seconds: u64, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {seconds} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An X server of its own, on the first free display.
fn xvfb(log: &Path) -> (Background, String) {
    let number = (120..).find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()).unwrap();
    let display = format!(":{number}");
    let child = Command::new("Xvfb")
        .args([display.as_str(), "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("Xvfb (Debian package xvfb) must be installed");
    wait_for("Xvfb", 10, || Path::new(&format!("/tmp/.X11-unix/X{number}")).exists().then_some(()));
    (Background(child), display)
}

/// Just enough of the WebDriver protocol.
struct WebDriver {
    client: reqwest::Client,
    session: String,
    base: String,
}

impl WebDriver {
    async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
        let mut request = client.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {value}");
        value["value"].clone()
    }

    async fn start(port: u16, application: &Path) -> WebDriver {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application},
        }}});
        let session = Self::call(&client, reqwest::Method::POST, format!("{base}/session"), Some(capabilities)).await;
        let session = session["sessionId"].as_str().unwrap().to_string();
        WebDriver { client, session, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    async fn find(&self, css: &str) -> Option<String> {
        let response = self
            .client
            .post(self.url("/element"))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?;
        let value: Value = response.json().await.ok()?;
        value["value"][ELEMENT].as_str().map(str::to_string)
    }

    async fn text(&self, css: &str) -> String {
        match self.find(css).await {
            Some(element) => {
                let text =
                    Self::call(&self.client, reqwest::Method::GET, self.url(&format!("/element/{element}/text")), None)
                        .await;
                text.as_str().unwrap_or_default().to_string()
            }
            None => String::new(),
        }
    }

    /// Clicks the element once it exists and can be clicked.
    async fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(element) = self.find(css).await {
                let response = self
                    .client
                    .post(self.url(&format!("/element/{element}/click")))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                if response.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "cannot click {css}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the element's text satisfies `check`; returns it.
    async fn text_until(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.text(css).await;
            if check(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; {css} says {text:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn end(self) {
        let _ = self.client.delete(format!("{}/session/{}", self.base, self.session)).send().await;
    }
}

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
    let tauri_driver = claude_cli::deps_dir().join("tauri-driver").join("bin").join("tauri-driver");
    assert!(tauri_driver.exists(), "{} is missing; run scripts/install-test-deps", tauri_driver.display());
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway_port = free_port();
    std::fs::write(
        sandbox.config_file(),
        format!("[gateway]\nport = {gateway_port}\n\n[anthropic]\nbase_url = \"{}\"\n", mock.base_url()),
    )
    .unwrap();
    // The user left the proxy off last time: the window turns it on.
    std::fs::create_dir_all(sandbox.gatehouse_home().join("state")).unwrap();
    std::fs::write(sandbox.gatehouse_home().join("state").join("app.json"), r#"{"proxy_enabled": false}"#).unwrap();
    let auth = ClaudeAuth::Subscription("sk-ant-oat01-FAKE-desktop-window-test-token");
    claude_cli::write_subscription_login(&sandbox, "sk-ant-oat01-FAKE-desktop-window-test-token");

    let (_xvfb, display) = xvfb(&sandbox.dir.path().join("xvfb.log"));
    let (port, native_port) = (free_port(), free_port());
    let mut driver = Command::new(&tauri_driver);
    sandbox.isolate(&mut driver);
    driver
        .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
        .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
        .env("DISPLAY", &display)
        .env("GATEHOUSE_CLAUDE_BIN", claude_cli::claude_bin())
        // A bus of nobody's: a desktop session's own Gatehouse must not
        // receive this instance's single-instance hand-over.
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", sandbox.dir.path().join("no-bus").display()))
        .env("NO_AT_BRIDGE", "1")
        .stdout(std::fs::File::create(sandbox.dir.path().join("tauri-driver.log")).unwrap())
        .stderr(std::fs::File::create(sandbox.dir.path().join("app.log")).unwrap());
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

    // 3. The real Claude Code, through the gateway, against the mock.
    window.text_until("#facts p", "an empty ledger", |t| t == today_label(&[])).await;
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
