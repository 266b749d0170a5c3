//! "Log in to Claude…" in the desktop app, end to end: the app's own
//! service drives the real Claude Code CLI (`claude auth login`), real
//! headless Chromium plays the user's browser, and a mock of Anthropic's
//! sign-in servers sits behind a loopback HTTPS proxy
//! ([`MockClaudeAi`]), so nothing leaves the machine.
//!
//! It proves, in the order a user meets them:
//! 1. a code that is not whole is refused in Claude Code's own words and
//!    the sign-in keeps waiting; a whole but wrong code ends it, with
//!    Claude Code's message, and leaves the user logged out;
//! 2. the paste path: the browser could not be opened, the user opens the
//!    sign-in page the window shows, and pastes the code that page shows;
//! 3. the usual path: the browser Claude Code opens returns the sign-in to
//!    Claude Code by itself, and the app notices without a code;
//!
//! and after each login, that the plan reads "Max", that the tokens sit in
//! Claude Code's own credential store and nowhere in Gatehouse's files,
//! log or window state.
//!
//! One test, on purpose: the `claude` the app starts inherits this
//! process's environment (HOME, CLAUDE_CONFIG_DIR, the proxy, the CA, the
//! browser), which the app offers no other way to set. Setting it is only
//! sound while no other thread runs, so it happens first thing in the only
//! test of this file (a file is a process of its own).
//!
//! Needs, from `scripts/install-test-deps`: the Claude Code CLI and Debian's
//! `chromium`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gatehouse::claude_code::login::CodeOutcome;
use gatehouse::desktop::service::DesktopService;
use gatehouse::desktop::snapshot::{LoginView, SignIn};
use gatehouse::supervisor::SupervisorOptions;
use gatehouse_e2e::browser::{Browser, BrowserMode, open_page};
use gatehouse_e2e::claude_cli;
use gatehouse_e2e::harness::{Sandbox, files_containing, wait_for};
use gatehouse_e2e::mock_claude_ai::{self, MockClaudeAi, RecordedRequest};
use gatehouse_e2e::sign_in::{self, check_sign_in_url, code_from, is_token_exchange, last_token_exchange};
use serde_json::Value;

/// What Claude Code 2.1.328 says about a code without its `#state` half.
const NOT_WHOLE: &str = "That doesn't look like the full code. Copy all of it, including the # in the middle.";
/// What it says when the token endpoint refuses a code (`invalid_grant`).
const NOT_ACCEPTED: &str = "Couldn't log in: That code wasn't accepted.";

#[test]
fn logging_in_to_claude_from_the_app_is_claude_codes_own_sign_in() {
    let sandbox = Sandbox::new();
    let claude = claude_cli::claude_bin();
    let mut mock = MockClaudeAi::bind(sandbox.dir.path());
    let browser = Browser::install(sandbox.dir.path(), &mock);
    // SAFETY: nothing else runs yet: this is the only test in this file,
    // and the mock starts its threads below.
    unsafe { isolate_this_process(&sandbox, &mock, &browser, &claude) };
    mock.start();

    let service = DesktopService::new(SupervisorOptions::under(&sandbox.gatehouse_home())).expect("desktop service");
    // As the app does: the watcher keeps the tray and the window current.
    service.watch(|_| {});
    let login_is = |wanted: LoginView| {
        wait_for(&format!("the app to show {wanted:?}"), 60, || {
            let login = service.snapshot().login;
            (login == wanted).then_some(())
        })
    };
    login_is(LoginView::LoggedOut);
    let credentials = sandbox.claude_dir().join(".credentials.json");

    // 1. Codes Claude Code will not take.
    browser.set_mode(BrowserMode::CannotOpen);
    let url = service.start_login().expect("starting the sign-in");
    assert_eq!(service.snapshot().sign_in, SignIn::Waiting, "the window asks for the code");
    let state = check_sign_in_url(&url, &browser, 1);
    let code = code_from(&open_page(&mock, &sandbox, &url), &state);
    assert_eq!(
        service.submit_login_code(code.split('#').next().unwrap()).expect("a refused code is not an error"),
        CodeOutcome::Refused(NOT_WHOLE.to_string())
    );
    assert_eq!(service.sign_in_url().as_deref(), Some(url.as_str()), "after a refused code the sign-in goes on");
    let wrong = format!("{}{code}", if code.starts_with('A') { "B" } else { "A" });
    let error = service.submit_login_code(&wrong).expect_err("a wrong code fails the sign-in");
    assert!(format!("{error:#}").contains(NOT_ACCEPTED), "{error:#}");
    assert_eq!(service.sign_in_url(), None, "Claude Code ends the sign-in after a wrong code");
    login_is(LoginView::LoggedOut);
    assert!(!credentials.exists());
    let refused = mock.requests().into_iter().filter(is_token_exchange).collect::<Vec<_>>();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0].status, 400);

    // 2. The browser did not open: the user opens the page the window
    // shows, and pastes the code it shows.
    let url = service.start_login().expect("starting the sign-in again");
    let state = check_sign_in_url(&url, &browser, 2);
    let code = code_from(&open_page(&mock, &sandbox, &url), &state);
    assert_eq!(service.submit_login_code(&code).expect("signing in"), CodeOutcome::LoggedIn);
    login_is(LoginView::LoggedIn { plan: Some("Max".to_string()) });
    let body = last_token_exchange(&mock, 200);
    assert_eq!(body["redirect_uri"], mock_claude_ai::MANUAL_REDIRECT_URI);
    assert_eq!(body["state"], state.as_str());
    assert_eq!(format!("{}#{}", body["code"].as_str().unwrap(), state), code);
    let pasted = mock.issued_tokens().last().cloned().expect("tokens issued");
    check_claude_code_holds(&credentials, &pasted.access_token, &pasted.refresh_token);

    // 3. The usual way: the browser Claude Code opens hands the sign-in back
    // to Claude Code's own listener, and nobody pastes anything.
    logout(&claude);
    let revoked = mock.requests().into_iter().rfind(|r| r.path() == "/v1/oauth/token/revoke").expect("a revocation");
    let revoked: Value = serde_json::from_str(&revoked.body).expect("a JSON revocation");
    assert_eq!(revoked["token"], pasted.refresh_token.as_str(), "logging out revokes Claude Code's refresh token");
    service.refresh_login();
    login_is(LoginView::LoggedOut);
    browser.set_mode(BrowserMode::Follows);
    let url = service.start_login().expect("starting the sign-in a third time");
    let state = check_sign_in_url(&url, &browser, 3);
    login_is(LoginView::LoggedIn { plan: Some("Max".to_string()) });
    assert_eq!(service.sign_in_url(), None, "the finished sign-in is over");
    assert_eq!(service.snapshot().sign_in, SignIn::Idle, "the window no longer asks for a code");
    let page = wait_for("the browser to land on the success page", 60, || browser.page(3));
    assert!(page.contains("You're all set up for Claude Code"), "{page}");
    let body = last_token_exchange(&mock, 200);
    assert_eq!(body["state"], state.as_str());
    let callback = body["redirect_uri"].as_str().unwrap_or_default();
    assert!(callback.starts_with("http://localhost:") && callback.ends_with("/callback"), "{body}");
    let automatic = mock.issued_tokens().last().cloned().expect("tokens issued");
    assert_ne!(automatic, pasted);
    check_claude_code_holds(&credentials, &automatic.access_token, &automatic.refresh_token);

    // What Claude Code asked of "Anthropic": all of it known to the mock,
    // and no host the mock does not serve.
    assert_eq!(mock.unknown_requests().iter().map(describe).collect::<Vec<_>>(), Vec::<String>::new());
    let refused = mock.refused_connections();
    assert!(!refused.iter().any(|target| target.contains("anthropic") || target.contains("claude")), "{refused:?}");
    let cli = mock.requests().into_iter().filter(|r| !is_browser(r)).map(|r| describe(&r)).collect::<Vec<_>>();
    eprintln!("Claude Code's requests to the mock:\n  {}", cli.join("\n  "));
    for expected in [
        "POST platform.claude.com/v1/oauth/token -> 400",
        "POST platform.claude.com/v1/oauth/token -> 200",
        "GET api.anthropic.com/api/oauth/profile -> 200",
        "GET api.anthropic.com/api/oauth/claude_cli/roles -> 200",
        "POST platform.claude.com/v1/oauth/token/revoke -> 200",
    ] {
        assert!(cli.contains(&expected.to_string()), "{expected} missing from {cli:#?}");
    }

    // Gatehouse never held a token: not in its files, its log, or what it
    // shows the window.
    let issued = mock.issued_tokens();
    assert_eq!(issued.len(), 2);
    let shown = serde_json::to_string(&service.snapshot()).expect("snapshot JSON");
    let log = service.log_tail().join("\n");
    for token in issued.iter().flat_map(|t| [&t.access_token, &t.refresh_token]) {
        assert_eq!(files_containing(&sandbox.gatehouse_home(), token), Vec::<PathBuf>::new());
        assert!(!shown.contains(token.as_str()) && !log.contains(token.as_str()));
    }
    // Only Claude Code's own store holds the live one.
    assert_eq!(files_containing(sandbox.dir.path(), &automatic.access_token), vec![credentials.clone()]);
}

/// Points everything `claude` and Gatehouse read at the sandbox and the mock.
///
/// # Safety
/// No other thread may exist: environment changes race with any reader.
unsafe fn isolate_this_process(sandbox: &Sandbox, mock: &MockClaudeAi, browser: &Browser, claude: &Path) {
    // SAFETY: the caller guarantees no other thread exists.
    unsafe {
        sign_in::isolate_this_process(sandbox);
        for (name, value) in sign_in::environment(mock, claude, &browser.script) {
            std::env::set_var(name, value);
        }
    }
}

fn is_browser(request: &RecordedRequest) -> bool {
    request.header("user-agent").is_some_and(|agent| agent.starts_with("Mozilla/"))
}

fn describe(request: &RecordedRequest) -> String {
    format!("{} {}{} -> {}", request.method, request.host, request.path(), request.status)
}

/// Checks Claude Code's credential file holds this login, for Max, private.
fn check_claude_code_holds(credentials: &Path, access_token: &str, refresh_token: &str) {
    let text = std::fs::read_to_string(credentials).expect("Claude Code's credentials file");
    let stored: Value = serde_json::from_str(&text).expect("credentials JSON");
    let oauth = &stored["claudeAiOauth"];
    assert_eq!(oauth["accessToken"], access_token);
    assert_eq!(oauth["refreshToken"], refresh_token);
    assert_eq!(oauth["subscriptionType"], "max");
    assert_eq!(oauth["rateLimitTier"], mock_claude_ai::RATE_LIMIT_TIER);
    let mode = std::fs::metadata(credentials).expect("credentials metadata").permissions().mode();
    assert_eq!(mode & 0o077, 0, "the credentials file is readable by others: {mode:o}");
}

/// `claude auth logout`, as the user would run it.
fn logout(claude: &Path) {
    let output =
        Command::new(claude).args(["auth", "logout"]).stdin(Stdio::null()).output().expect("claude auth logout");
    assert!(output.status.success(), "claude auth logout: {}", String::from_utf8_lossy(&output.stderr));
}
