//! The real Claude Code CLI, through the real gateway, against the mock
//! Anthropic API: both auth modes, cost equal to Claude Code's own, exact
//! restore of its settings, and no secret anywhere it should not be.

use gatehouse_e2e::claude_cli::{ClaudeAuth, claude_print};
use gatehouse_e2e::harness::{LedgerRow, Sandbox};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, MockUsage, RecordedRequest};

/// A user's settings file with things Gatehouse must not disturb: hooks,
/// permissions, their own env and custom header, their own value of the hint
/// variable Gatehouse sets, unicode, 4-space indent.
const USER_SETTINGS: &str = "{\n    \"permissions\": {\n        \"allow\": [\"Bash(ls:*)\"]\n    },\n    \"hooks\": {\n        \"PreToolUse\": []\n    },\n    \"env\": {\n        \"MY_VAR\": \"café ☕\",\n        \"CLAUDE_CODE_GATEWAY_HINT_HEADERS\": \"0\",\n        \"ANTHROPIC_CUSTOM_HEADERS\": \"x-team: blue\"\n    },\n    \"model\": \"opus\"\n}\n";

fn header<'r>(request: &'r RecordedRequest, name: &str) -> Option<&'r str> {
    request.header(name).map(|v| std::str::from_utf8(v).expect("utf-8 header"))
}

fn messages_requests(mock: &MockAnthropic) -> Vec<RecordedRequest> {
    mock.requests().into_iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).collect()
}

/// With `CLAUDE_CODE_GATEWAY_HINT_HEADERS=1`, which `claude configure` and
/// `claude run` set, Claude Code says what kind of request each one is, and
/// the gateway forwards that unchanged.
fn assert_hint_headers(requests: &[RecordedRequest], session_id: Option<&str>) {
    for request in requests {
        let class = header(request, "x-claude-code-request-class");
        assert!(
            matches!(class, Some("main" | "subagent" | "compaction")),
            "request class {class:?} in {:?}",
            request.headers
        );
        assert!(header(request, "x-claude-code-prompt-id").is_some_and(|id| !id.is_empty()), "{:?}", request.headers);
        if let Some(session_id) = session_id {
            assert_eq!(header(request, "x-claude-code-session-id"), Some(session_id));
        }
    }
    assert!(requests.iter().any(|r| header(r, "x-claude-code-request-class") == Some("main")));
}

/// Claude Code's own cost must equal the ledger's, and its token counts too.
fn assert_ledger_matches(result: &serde_json::Value, rows: &[LedgerRow]) {
    assert_eq!(result["is_error"], false, "claude failed: {result}");
    let claude_cost = result["total_cost_usd"].as_f64().expect("total_cost_usd");
    let ledger_cost: f64 = rows.iter().map(|r| r.cost_usd.expect("every row priced")).sum();
    assert!(
        (claude_cost - ledger_cost).abs() < 1e-9,
        "Claude Code says ${claude_cost}, the ledger says ${ledger_cost}: {rows:#?}"
    );
    let usage = &result["usage"];
    let sum = |f: fn(&LedgerRow) -> u64| rows.iter().map(f).sum::<u64>();
    assert_eq!(usage["input_tokens"], sum(|r| r.input_tokens));
    assert_eq!(usage["output_tokens"], sum(|r| r.output_tokens));
    assert_eq!(usage["cache_read_input_tokens"], sum(|r| r.cache_read_tokens));
    assert_eq!(usage["cache_creation_input_tokens"], sum(|r| r.cache_write_5m_tokens + r.cache_write_1h_tokens));
    assert_eq!(usage["cache_creation"]["ephemeral_1h_input_tokens"], sum(|r| r.cache_write_1h_tokens));
    for row in rows {
        assert_eq!(row.client, "claude-code");
        assert_eq!(row.upstream, "anthropic");
        assert!(row.streamed && row.complete, "{row:?}");
        assert_eq!(row.session_id.as_deref(), result["session_id"].as_str());
        assert!(row.device_id.as_deref().is_some_and(|d| d.len() == 64), "{row:?}");
    }
}

/// Everything Gatehouse writes, as one string, for secret checks.
fn everything_gatehouse_wrote(sandbox: &Sandbox, gateway_log: &str) -> String {
    let mut all = gateway_log.to_string();
    let mut stack = vec![sandbox.gatehouse_home()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    all
}

fn gateway_key_in_settings(sandbox: &Sandbox) -> String {
    let text = std::fs::read_to_string(sandbox.claude_dir().join("settings.json")).expect("settings");
    let document: serde_json::Value = serde_json::from_str(&text).expect("settings JSON");
    let headers = document["env"]["ANTHROPIC_CUSTOM_HEADERS"].as_str().expect("custom headers").to_string();
    assert!(headers.starts_with("x-team: blue"), "the user's header line must stay first: {headers:?}");
    assert_eq!(document["env"]["CLAUDE_CODE_GATEWAY_HINT_HEADERS"], "1", "configure turns the hint headers on");
    headers.lines().find_map(|l| l.strip_prefix("x-gatehouse-key: ")).expect("our header line").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_mode_costs_match_and_settings_restore() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let settings = sandbox.claude_dir().join("settings.json");
    std::fs::write(&settings, USER_SETTINGS).unwrap();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);

    let configured = sandbox.run_ok(&["claude", "configure", "--base-url", &gateway.base_url]);
    assert!(configured.contains("now uses the gateway"), "{configured}");
    let gateway_key = gateway_key_in_settings(&sandbox);
    let api_key = "sk-ant-api03-FAKE-e2e-claude-code-own-key-0123456789";

    let auth = ClaudeAuth::ApiKey(api_key);
    let first = claude_print(&sandbox, &auth, "say hi", &[]);
    mock.set_usage(MockUsage {
        input_tokens: 2345,
        output_tokens: 678,
        cache_creation_5m: 0,
        cache_creation_1h: 40_000,
        cache_read: 91,
    });
    let second = claude_print(&sandbox, &auth, "say hi again", &["--model", "claude-sonnet-4-5"]);

    let requests = messages_requests(&mock);
    assert!(!requests.is_empty());
    assert_hint_headers(&requests, None);
    for request in &requests {
        assert_eq!(request.path_and_query, "/v1/messages?beta=true");
        assert_eq!(header(request, "x-api-key"), Some(api_key), "Claude Code's key must pass unchanged");
        assert_eq!(header(request, "x-gatehouse-key"), None, "the gateway key must be stripped");
        assert!(header(request, "user-agent").is_some_and(|ua| ua.starts_with("claude-cli/")));
        assert_eq!(header(request, "x-app"), Some("cli"));
        assert!(header(request, "anthropic-version").is_some());
        assert!(header(request, "anthropic-beta").is_some());
    }

    let rows = sandbox.ledger_rows(requests.len());
    assert_eq!(rows.len(), requests.len(), "one ledger row per request");
    let session = |result: &serde_json::Value| -> Vec<LedgerRow> {
        rows.iter().filter(|r| r.session_id.as_deref() == result["session_id"].as_str()).cloned().collect()
    };
    assert_ledger_matches(&first, &session(&first));
    assert_ledger_matches(&second, &session(&second));
    assert!(session(&second).iter().all(|r| r.model == "claude-sonnet-4-5"));
    // The project comes from the session's transcript, which Claude Code may
    // write after the first response: the ledger fills it in when it appears.
    let project = sandbox.project_dir().to_string_lossy().into_owned();
    let rows = sandbox.ledger_rows_until(|rows| rows.iter().all(|r| r.project.is_some()));
    assert!(
        rows.iter().all(|r| r.project.as_deref() == Some(&project)),
        "project from the transcript: {rows:#?}\n{}",
        gateway.log()
    );

    let spend: serde_json::Value =
        serde_json::from_str(&sandbox.run_ok(&["spend", "--json", "--by", "session"])).expect("spend JSON");
    let total = first["total_cost_usd"].as_f64().unwrap() + second["total_cost_usd"].as_f64().unwrap();
    assert!((spend["total"]["cost_usd"].as_f64().unwrap() - total).abs() < 1e-9, "{spend}");
    assert_eq!(spend["groups"].as_array().unwrap().len(), 2);

    let removed = sandbox.run_ok(&["claude", "remove"]);
    assert!(removed.contains("restored exactly"), "{removed}");
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        USER_SETTINGS,
        "remove must restore the file byte-for-byte, with the user's own hint value"
    );

    let log = gateway.log();
    drop(gateway);
    let written = everything_gatehouse_wrote(&sandbox, &log);
    assert!(!written.contains(api_key), "Claude Code's API key leaked into Gatehouse's files or logs");
    assert!(!written.contains(&gateway_key), "the gateway key leaked into Gatehouse's files or logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_mode_passes_the_login_through_untouched() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    sandbox.run_ok(&["claude", "configure", "--base-url", &gateway.base_url]);
    let gateway_key = gateway_key_in_settings_plain(&sandbox);

    let token = "sk-ant-oat01-FAKE-e2e-fake-subscription-token-AbCdEf0123456789";
    let result = claude_print(&sandbox, &ClaudeAuth::Subscription(token), "hello", &["--model", "claude-haiku-4-5"]);

    let requests = messages_requests(&mock);
    assert!(!requests.is_empty());
    assert_hint_headers(&requests, result["session_id"].as_str());
    let expected_authorization = format!("Bearer {token}");
    for request in &requests {
        let authorization = request.header("authorization").expect("Authorization forwarded");
        assert_eq!(authorization, expected_authorization.as_bytes(), "the login must arrive byte-for-byte");
        assert_eq!(header(request, "x-api-key"), None, "no API key may be added to subscription traffic");
        assert_eq!(header(request, "x-gatehouse-key"), None);
        assert!(header(request, "anthropic-beta").is_some_and(|b| b.contains("oauth-2025-04-20")));
    }
    let rows = sandbox.ledger_rows(requests.len());
    assert_ledger_matches(&result, &rows);
    // The prompt ids read back from the ledger exactly as Claude Code sent them.
    let mut sent: Vec<&str> = requests.iter().filter_map(|r| header(r, "x-claude-code-prompt-id")).collect();
    let mut recorded: Vec<&str> = rows.iter().filter_map(|r| r.prompt_id.as_deref()).collect();
    sent.sort_unstable();
    recorded.sort_unstable();
    assert_eq!(recorded, sent);

    // The subscription's windows, read from the mock's unified headers.
    let status: serde_json::Value = serde_json::from_str(&sandbox.run_ok(&["status", "--json"])).expect("status JSON");
    let limits = &status["gateway"]["rate_limits"];
    assert_eq!(limits["unified_status"], "allowed", "{status}");
    assert_eq!(limits["windows"]["5h"]["utilization"], 0.42);
    assert_eq!(limits["windows"]["7d"]["utilization"], 0.17);
    assert_eq!(status["claude_code"]["configured"], true);
    let text = sandbox.run_ok(&["status"]);
    assert!(text.contains("5-hour window: 42%"), "{text}");

    let log = gateway.log();
    drop(gateway);
    let written = everything_gatehouse_wrote(&sandbox, &log);
    assert!(!written.contains("sk-ant-oat01"), "the subscription token leaked into Gatehouse's files or logs");
    assert!(!written.contains(&gateway_key), "the gateway key leaked into Gatehouse's files or logs");

    let removed = sandbox.run_ok(&["claude", "remove"]);
    assert!(removed.contains("deleted"), "configure created the file, so remove deletes it: {removed}");
    assert!(!sandbox.claude_dir().join("settings.json").exists());
}

fn gateway_key_in_settings_plain(sandbox: &Sandbox) -> String {
    let text = std::fs::read_to_string(sandbox.claude_dir().join("settings.json")).expect("settings");
    let document: serde_json::Value = serde_json::from_str(&text).expect("settings JSON");
    let headers = document["env"]["ANTHROPIC_CUSTOM_HEADERS"].as_str().expect("custom headers");
    assert_eq!(document["env"]["CLAUDE_CODE_GATEWAY_HINT_HEADERS"], "1", "configure turns the hint headers on");
    headers.strip_prefix("x-gatehouse-key: ").expect("only our header line").to_string()
}
