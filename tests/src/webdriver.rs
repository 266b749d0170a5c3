//! Driving the real desktop app through WebDriver: tauri-driver 2.1 with
//! Debian's WebKitWebDriver, on an Xvfb display of the test's own.
//!
//! Shared by the window tests, with the guards that stop what they start
//! (the X server, tauri-driver and its WebKitWebDriver, a gateway the app
//! left running) however a test ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::claude_cli;
use crate::harness::Sandbox;
/// The poller the window tests wait with, re-exported for them.
pub use crate::harness::wait_for;

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long an element may take to appear or become clickable.
const CLICK_SECONDS: u64 = 20;
/// The longest any one WebDriver command may take; starting the app is the
/// slowest, on a busy machine.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long WebKitWebDriver may take to listen after tauri-driver does.
const DRIVER_START: Duration = Duration::from_secs(20);

/// Kills a background process, and the processes it started, when the
/// test ends, however it ends. tauri-driver leaves its WebKitWebDriver
/// running when it is killed.
pub struct Background(pub Child);

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
pub struct StopGateway(pub PathBuf);

impl Drop for StopGateway {
    fn drop(&mut self) {
        let runtime: Option<Value> = std::fs::read_to_string(&self.0).ok().and_then(|t| serde_json::from_str(&t).ok());
        if let Some(pid) = runtime.and_then(|r| r["pid"].as_u64()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Writes the sandbox's `config.toml` for an app whose gateway forwards to
/// `upstream` on a port of its own; returns that port.
pub fn gateway_config(sandbox: &Sandbox, upstream: &str) -> u16 {
    let port = free_port();
    std::fs::write(
        sandbox.config_file(),
        format!("[gateway]\nport = {port}\n\n[anthropic]\nbase_url = \"{upstream}\"\n"),
    )
    .unwrap();
    port
}

/// A binary cargo built next to this test's `deps/` folder.
pub fn built(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join(name);
    assert!(path.exists(), "{} is missing: build it with `cargo build -p gatehouse-desktop`", path.display());
    path
}

/// An X server of its own, on the first free display.
pub fn xvfb(log: &Path) -> (Background, String) {
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

/// tauri-driver on `port`, isolated in the sandbox, for an app on
/// `display`; its output goes to `tauri-driver.log` and the app's to
/// `app.log` in the sandbox. The app inherits this environment, so the
/// caller adds what the app needs before spawning it.
pub fn tauri_driver(sandbox: &Sandbox, display: &str, port: u16) -> Command {
    let program = claude_cli::deps_dir().join("tauri-driver").join("bin").join("tauri-driver");
    assert!(program.exists(), "{} is missing; run scripts/install-test-deps", program.display());
    let mut driver = Command::new(&program);
    sandbox.isolate(&mut driver);
    driver
        .args(["--port", &port.to_string(), "--native-port", &free_port().to_string()])
        .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
        .env("DISPLAY", display)
        // A bus of nobody's: a desktop session's own Gatehouse must not
        // receive this instance's single-instance hand-over.
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", sandbox.dir.path().join("no-bus").display()))
        .env("NO_AT_BRIDGE", "1")
        .stdout(std::fs::File::create(sandbox.dir.path().join("tauri-driver.log")).unwrap())
        .stderr(std::fs::File::create(sandbox.dir.path().join("app.log")).unwrap());
    driver
}

/// Just enough of the WebDriver protocol.
pub struct WebDriver {
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
        Self::answer(&url, response).await
    }

    /// The `value` of a successful answer; a failed one fails the test.
    async fn answer(url: &str, response: reqwest::Response) -> Value {
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {value}");
        value["value"].clone()
    }

    /// A session with the app at `application`, through tauri-driver on `port`.
    pub async fn start(port: u16, application: &Path) -> WebDriver {
        // A command that never answers (the app's web view could not reach
        // the driver, say) fails the test rather than hanging it.
        let client = reqwest::Client::builder().no_proxy().timeout(COMMAND_TIMEOUT).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application},
        }}});
        // tauri-driver listens at once but starts WebKitWebDriver beside it;
        // until that one listens too, tauri-driver drops the connection
        // without an answer. No session exists then, so asking again is safe.
        let url = format!("{base}/session");
        let deadline = Instant::now() + DRIVER_START;
        let response = loop {
            match client.post(&url).json(&capabilities).send().await {
                Ok(response) => break response,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("{url}: {e}; asking again while WebKitWebDriver starts");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("{url}: {e}"),
            }
        };
        let session = Self::answer(&url, response).await["sessionId"].as_str().unwrap().to_string();
        WebDriver { client, session, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    async fn get(&self, path: &str) -> Value {
        Self::call(&self.client, reqwest::Method::GET, self.url(path), None).await
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

    /// The element's rendered text; empty when it does not exist.
    pub async fn text(&self, css: &str) -> String {
        match self.find(css).await {
            Some(element) => {
                self.get(&format!("/element/{element}/text")).await.as_str().unwrap_or_default().to_string()
            }
            None => String::new(),
        }
    }

    /// A DOM property of the element, such as an input's `value`.
    pub async fn property(&self, css: &str, name: &str) -> Value {
        let element = self.find(css).await.unwrap_or_else(|| panic!("no {css} in the window"));
        self.get(&format!("/element/{element}/property/{name}")).await
    }

    /// Whether the element exists and is shown (not `hidden`, nor inside
    /// something hidden).
    pub async fn displayed(&self, css: &str) -> bool {
        let Some(element) = self.find(css).await else { return false };
        // The element may leave the page between the two calls (a page
        // redrawing): the driver then answers "stale element reference",
        // which means it is not shown.
        let url = self.url(&format!("/element/{element}/displayed"));
        let response = self.client.get(&url).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        if value["value"]["error"] == "stale element reference" {
            return false;
        }
        assert!(status.is_success(), "{url}: {status} {value}");
        value["value"].as_bool() == Some(true)
    }

    /// Waits until the element is shown (`true`) or not (`false`).
    pub async fn displayed_until(&self, css: &str, shown: bool, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while self.displayed(css).await != shown {
            let state = if shown { "shown" } else { "hidden" };
            assert!(Instant::now() < deadline, "timed out after {seconds} s waiting for {css} to be {state}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the element once it exists and can be clicked.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(CLICK_SECONDS);
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

    /// Types `text` into the element, as key presses.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await.unwrap_or_else(|| panic!("no {css} in the window"));
        let url = self.url(&format!("/element/{element}/value"));
        Self::call(&self.client, reqwest::Method::POST, url, Some(json!({"text": text}))).await;
    }

    /// Waits (up to 30 s) until the element's text satisfies `check`; returns it.
    pub async fn text_until(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.text_within(css, what, 30, check).await
    }

    /// Waits up to `seconds` until the element's text satisfies `check`; returns it.
    pub async fn text_within(&self, css: &str, what: &str, seconds: u64, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let text = self.text(css).await;
            if check(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; {css} says {text:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The page as the window holds it now (the live DOM, serialised).
    pub async fn source(&self) -> String {
        self.get("/source").await.as_str().unwrap_or_default().to_string()
    }

    /// Calls one of the app's IPC commands from the page, as the page's own
    /// code does; its answer, or `{"error": …}` when it fails.
    pub async fn invoke(&self, command: &str) -> Value {
        let script = "const done = arguments[arguments.length - 1];
            window.__TAURI_INTERNALS__.invoke(arguments[0]).then(done, (e) => done({ error: String(e) }));";
        let url = self.url("/execute/async");
        Self::call(&self.client, reqwest::Method::POST, url, Some(json!({"script": script, "args": [command]}))).await
    }

    /// A PNG of what the window shows.
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.get("/screenshot").await;
        STANDARD.decode(encoded.as_str().unwrap_or_default()).expect("a base64 screenshot")
    }

    /// Ends the session, which closes the app.
    pub async fn end(self) {
        let _ = self.client.delete(format!("{}/session/{}", self.base, self.session)).send().await;
    }
}
