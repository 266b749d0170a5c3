//! Signing the real Claude Code in against [`MockClaudeAi`], from the
//! test's side: the environment that points `claude auth login` at the mock
//! (and keeps the outer environment out of it), and the checks a test makes
//! of the sign-in it starts: the authorize URL and its browser twin, the
//! code the code page shows, the token exchange.
//!
//! The user's browser for these sign-ins is [`crate::browser`].

use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;

use crate::browser::Browser;
use crate::harness::Sandbox;
use crate::mock_claude_ai::{CLIENT_ID, MockClaudeAi, RecordedRequest};

/// How the sign-in URL Claude Code prints (and the app shows) begins.
pub const AUTHORIZE_URL: &str = "https://claude.com/cai/oauth/authorize?";

/// Variables of the outer environment that would change how Claude Code
/// signs in or where its traffic goes.
pub const UNSET: [&str; 16] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_REFRESH_TOKEN",
    "CLAUDE_CODE_CUSTOM_OAUTH_URL",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "GATEHOUSE_ANTHROPIC_API_KEY",
    "https_proxy",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The environment, as name/value pairs, in which the app runs `claude` (the
/// Claude Code binary) and that `claude` signs in against `mock`, opening
/// `browser` (a `$BROWSER` script) for the user. The sandbox's own
/// variables (`HOME`, `CLAUDE_CONFIG_DIR`, …) and [`UNSET`] are the
/// caller's to apply.
pub fn environment(mock: &MockClaudeAi, claude: &Path, browser: &Path) -> Vec<(&'static str, OsString)> {
    vec![
        ("GATEHOUSE_CLAUDE_BIN", claude.into()),
        // Both schemes, so a plain-HTTP request is refused by the mock too.
        ("HTTPS_PROXY", mock.proxy_url().into()),
        ("HTTP_PROXY", mock.proxy_url().into()),
        ("NODE_EXTRA_CA_CERTS", mock.ca_file().into()),
        ("BROWSER", browser.into()),
        ("DISABLE_AUTOUPDATER", "1".into()),
        // Telemetry and feature flags are not part of signing in.
        ("DISABLE_TELEMETRY", "1".into()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
    ]
}

/// The sign-in URL must be Claude Code's own sign-in with Anthropic's code
/// page as the redirect; `browser` must have been asked to open its twin
/// (its `nth` URL), the same sign-in returning to Claude Code's loopback
/// listener. Returns the sign-in's state.
pub fn check_sign_in_url(url: &str, browser: &Browser, nth: usize) -> String {
    assert!(url.starts_with(AUTHORIZE_URL), "{url}");
    assert_eq!(query_param(url, "client_id"), CLIENT_ID);
    assert_eq!(query_param(url, "code_challenge_method"), "S256");
    assert_eq!(query_param(url, "redirect_uri"), "https%3A%2F%2Fplatform.claude.com%2Foauth%2Fcode%2Fcallback");
    let opened = browser.opened(nth);
    assert!(query_param(&opened, "redirect_uri").starts_with("http%3A%2F%2Flocalhost%3A"), "{opened}");
    assert_eq!(query_param(&opened, "state"), query_param(url, "state"), "{opened}");
    assert_eq!(query_param(&opened, "code_challenge"), query_param(url, "code_challenge"), "{opened}");
    query_param(url, "state")
}

/// The (still percent-encoded) value of the query parameter `name` in
/// `url`; empty when it has none.
pub fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, query)| query).unwrap_or_default();
    let prefix = format!("{name}=");
    query.split('&').find_map(|pair| pair.strip_prefix(&prefix)).unwrap_or_default().to_string()
}

/// The `code#state` the code page shows for the sign-in with this `state`:
/// the run of code characters before `#state`.
pub fn code_from(page: &str, state: &str) -> String {
    let marker = format!("#{state}");
    let end = page.find(&marker).unwrap_or_else(|| panic!("no code for this sign-in on the page:\n{page}"));
    let start = page[..end].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).map_or(0, |i| i + 1);
    assert!(end > start, "an empty code on the page:\n{page}");
    format!("{}{marker}", &page[start..end])
}

/// The body of the last token request, which the mock answered with `status`.
pub fn last_token_exchange(mock: &MockClaudeAi, status: u16) -> Value {
    let exchange = mock.requests().into_iter().rfind(is_token_exchange).expect("a token exchange");
    assert_eq!(exchange.status, status, "{exchange:#?}");
    serde_json::from_str(&exchange.body).expect("a JSON token request")
}

/// Whether `request` is one to the token endpoint (a code or refresh
/// token exchanged for tokens).
pub fn is_token_exchange(request: &RecordedRequest) -> bool {
    request.host == "platform.claude.com" && request.path() == "/v1/oauth/token"
}

/// Points this process at the sandbox, as the app would see a user's machine.
///
/// # Safety
/// No other thread may exist yet.
pub unsafe fn isolate_this_process(sandbox: &Sandbox) {
    let set = [
        ("HOME", sandbox.home().into_os_string()),
        ("CLAUDE_CONFIG_DIR", sandbox.claude_dir().into_os_string()),
        ("GATEHOUSE_HOME", sandbox.gatehouse_home().into_os_string()),
        ("GATEHOUSE_CLAUDE_MANAGED_SETTINGS", sandbox.dir.path().join("managed-settings.json").into_os_string()),
    ];
    // SAFETY: the caller guarantees no other thread exists.
    unsafe {
        for name in UNSET.iter().chain(&["CLAUDE_CODE_USE_FOUNDRY"]) {
            std::env::remove_var(name);
        }
        for (name, value) in set {
            std::env::set_var(name, value);
        }
    }
}
