//! "Log in to Claude…" through the real app window, end to end: tauri-driver
//! 2.1 with Debian's WebKitWebDriver drives the app under Xvfb; the app
//! runs the real Claude Code CLI (`claude auth login`); real headless
//! Chromium plays the user's browser; a mock of Anthropic's sign-in servers
//! sits behind a loopback HTTPS proxy ([`MockClaudeAi`]), so nothing leaves
//! the machine.
//!
//! The browser Claude Code tries to open does not open (the case of no
//! browser at hand), so the user takes the paste path: they open the
//! sign-in page the window shows, and type the code that page shows into
//! the window. The test proves the window then says it is signed in, the
//! login button names the Max plan, and the tokens Anthropic issued are in
//! neither Gatehouse's files, its log, nor the page the window shows.
//!
//! Needs `target/debug/gatehouse-desktop` (`cargo build -p
//! gatehouse-desktop`), the built web UI, and from
//! `scripts/install-test-deps`: tauri-driver under `$GATEHOUSE_TEST_DEPS`,
//! the Claude Code CLI, `xvfb`, `webkit2gtk-driver` and `chromium`. It
//! prints the path of a screenshot of the signed-in window.

use std::path::PathBuf;

use gatehouse_e2e::browser::{Browser, BrowserMode, open_page};
use gatehouse_e2e::claude_cli;
use gatehouse_e2e::harness::{Sandbox, files_containing};
use gatehouse_e2e::mock_claude_ai::{self, MockClaudeAi};
use gatehouse_e2e::sign_in::{self, check_sign_in_url, code_from, last_token_exchange};
use gatehouse_e2e::webdriver::{Background, StopGateway, WebDriver, built, free_port, tauri_driver, wait_for, xvfb};
use serde_json::Value;

/// The window's login button.
const LOGIN_BUTTON: &str = r#"button[data-action="login"]"#;
/// How long `claude auth login` may take to start and print its URL, and
/// to exchange a code, on a busy machine (the app itself allows 30 s and
/// 60 s).
const CLAUDE_SECONDS: u64 = 90;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_to_claude_through_the_window_with_the_pasted_code() {
    let app = built("gatehouse-desktop");
    let claude = claude_cli::claude_bin();
    let sandbox = Sandbox::new();
    let mut mock = MockClaudeAi::bind(sandbox.dir.path());
    mock.start();
    // The browser Claude Code runs notes the URL and fails, as when no
    // browser can be opened, so the sign-in can only finish with a pasted code.
    let browser = Browser::install(sandbox.dir.path(), &mock);
    browser.set_mode(BrowserMode::CannotOpen);
    // The gateway has nothing to do with signing in: it stays off, on a
    // port of the test's own should anything start it.
    std::fs::write(sandbox.config_file(), format!("[gateway]\nport = {}\n", free_port())).unwrap();
    std::fs::create_dir_all(sandbox.gatehouse_home().join("state")).unwrap();
    std::fs::write(sandbox.gatehouse_home().join("state").join("app.json"), r#"{"proxy_enabled": false}"#).unwrap();

    // The app inherits tauri-driver's environment, and the `claude` it
    // starts inherits the app's: this is the only way to point them at the
    // sandbox, the mock and the browser that does not open.
    let (_xvfb, display) = xvfb(&sandbox.dir.path().join("xvfb.log"));
    let port = free_port();
    let mut driver = tauri_driver(&sandbox, &display, port);
    for name in sign_in::UNSET {
        driver.env_remove(name);
    }
    driver
        .envs(sign_in::environment(&mock, &claude, &browser.script))
        // Under WebDriver the app's web view dials WebKitWebDriver on
        // loopback through GLib, which would take these proxies too (it has
        // no loopback exemption), be refused, and the session would never
        // start: GLib alone is told to ignore them. Node does not read this.
        .env("GIO_USE_PROXY_RESOLVER", "dummy");
    let _gateway = StopGateway(sandbox.gatehouse_home().join("state").join("gateway.json"));
    let _driver = Background(driver.spawn().expect("tauri-driver"));
    wait_for("tauri-driver", 20, || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    let window = WebDriver::start(port, &app).await;

    // 1. Logged out: the button offers to log in; it starts Claude Code's
    // sign-in, and the window shows its URL and asks for the code.
    window.text_within(LOGIN_BUTTON, "the logged-out state", CLAUDE_SECONDS, |t| t == "Log in to Claude…").await;
    assert!(!window.displayed("#login-flow").await, "no sign-in runs yet");
    window.click(LOGIN_BUTTON).await;
    let url = window
        .text_within("#sign-in-url", "the sign-in URL", CLAUDE_SECONDS, |t| t.starts_with(sign_in::AUTHORIZE_URL))
        .await;
    window.displayed_until("#login-flow", true, 20).await;
    // Claude Code's own sign-in; it did try the browser, with the twin of
    // this sign-in that returns to its own listener; it did not open.
    let state = check_sign_in_url(&url, &browser, 1);

    // 2. The user opens the URL the window shows in a real browser and
    // reads the code the page shows.
    let page = tokio::task::block_in_place(|| open_page(&mock, &sandbox, &url));
    let code = code_from(&page, &state);

    // 3. They type it into the window and finish signing in.
    window.type_into("#login-code", &code).await;
    assert_eq!(window.property("#login-code", "value").await, code.as_str(), "the window got the code as typed");
    window.click(r#"#login-form button[type="submit"]"#).await;
    // Whatever the window answers first is the answer: an error shows here too.
    let message =
        window.text_within("#login-message", "an answer to the code", CLAUDE_SECONDS, |t| !t.is_empty()).await;
    assert_eq!(message, "Signed in to Claude.");
    window.displayed_until("#login-flow", false, 20).await;
    window
        .text_within(LOGIN_BUTTON, "the login to show the plan", 60, |t| {
            t == "Claude subscription: Max (via Claude Code)"
        })
        .await;
    assert_eq!(window.property("#login-code", "value").await, "", "the code does not stay in the window");

    let shot = window.screenshot().await;
    // Kept past the sandbox's cleanup, for a person to look at.
    let keep = std::env::temp_dir().join(format!("gatehouse-desktop-login-{}.png", std::process::id()));
    std::fs::write(&keep, &shot).unwrap();
    println!("screenshot: {}", keep.display());

    // Claude Code signed in with the pasted code (the manual redirect, not
    // its listener), and keeps the tokens in its own store.
    let body = last_token_exchange(&mock, 200);
    assert_eq!(body["redirect_uri"], mock_claude_ai::MANUAL_REDIRECT_URI);
    assert_eq!(
        format!("{}#{}", body["code"].as_str().unwrap_or_default(), body["state"].as_str().unwrap_or_default()),
        code
    );
    let issued = mock.issued_tokens();
    assert_eq!(issued.len(), 1, "one sign-in, one token pair");
    let credentials = sandbox.claude_dir().join(".credentials.json");
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&credentials).expect("Claude Code's credentials"))
            .expect("credentials JSON");
    assert_eq!(stored["claudeAiOauth"]["accessToken"], issued[0].access_token.as_str());
    assert_eq!(stored["claudeAiOauth"]["subscriptionType"], "max");
    // All of it known to the mock, and no Anthropic host the mock does not serve.
    assert_eq!(mock.unknown_requests().len(), 0, "{:#?}", mock.unknown_requests());
    let refused = mock.refused_connections();
    assert!(!refused.iter().any(|target| target.contains("anthropic") || target.contains("claude")), "{refused:?}");

    // Gatehouse never held a token: not in its files, its log, or the page
    // the window shows.
    let source = window.source().await;
    assert!(source.contains("Claude subscription: Max (via Claude Code)"), "the source is the signed-in window");
    let log = std::fs::read_to_string(sandbox.dir.path().join("app.log")).unwrap_or_default();
    for token in [&issued[0].access_token, &issued[0].refresh_token] {
        assert_eq!(files_containing(&sandbox.gatehouse_home(), token), Vec::<PathBuf>::new());
        assert!(!source.contains(token.as_str()), "the window shows a token");
        assert!(!log.contains(token.as_str()), "the app logged a token");
    }
    window.end().await;
}
