//! The subscription windows per request, end to end: the real Claude Code
//! CLI in subscription mode through the real gateway, against the mock
//! upstream whose 5-hour window rises with each request. `gatehouse spend
//! --by window` then names the requests that used the window and by how
//! much, `--by class` splits the spend by Claude Code's request class, and
//! `gatehouse status` shows every window with its age.

use gatehouse_e2e::claude_cli::{ClaudeAuth, claude_print};
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_by_window_names_the_requests_that_used_the_window() {
    let mock = MockAnthropic::start().await.expect("mock");
    // 30%, then 5 points more with every subscription response.
    mock.set_five_hour(0.30, 0.05);
    let sandbox = Sandbox::new();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    sandbox.run_ok(&["claude", "configure", "--base-url", &gateway.base_url]);

    let token = "sk-ant-oat01-FAKE-e2e-windows-token-0123456789";
    let auth = ClaudeAuth::Subscription(token);
    let first = claude_print(&sandbox, &auth, "hello", &["--model", "claude-haiku-4-5"]);
    let second = claude_print(&sandbox, &auth, "hello again", &["--model", "claude-sonnet-4-5"]);
    assert_eq!((&first["is_error"], &second["is_error"]), (&false.into(), &false.into()));
    let requests = mock.requests().into_iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).count();
    assert!(requests >= 2, "{requests}");
    let rows = sandbox.ledger_rows(requests);
    assert_eq!(rows.len(), requests);

    let by_window = json(&sandbox.run_ok(&["spend", "--by", "window", "--json", "--top", "50"]));
    let windows = by_window["windows"].as_array().expect("windows");
    let names: Vec<&str> = windows.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["5h", "7d"], "{by_window}");
    let five = &windows[0];
    assert_eq!(five["title"], "5-hour window");
    let last = 0.30 + 0.05 * (requests - 1) as f64;
    assert!((five["utilization"].as_f64().unwrap() - last).abs() < 1e-9, "{five}");
    // The first reading opens the instance; every later response showed 5 points more.
    let top = five["top"].as_array().expect("top");
    assert_eq!(top.len(), requests - 1, "{five}");
    for request in top {
        assert_eq!(request["delta_points"], 5.0, "{request}");
        assert_eq!(request["request_class"], "main", "{request}");
        assert!(request["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{request}");
        assert!(request["model"].as_str().is_some_and(|m| m.starts_with("claude-")), "{request}");
    }
    assert!((five["recorded_points"].as_f64().unwrap() - 5.0 * (requests - 1) as f64).abs() < 1e-9, "{five}");
    // The weekly window did not move.
    assert_eq!(windows[1]["top"], serde_json::json!([]));

    let table = sandbox.run_ok(&["spend", "--by", "window"]);
    assert!(table.contains("5-hour window: "), "{table}");
    assert!(table.contains("took (points)") && table.contains("5.00"), "{table}");
    let csv = sandbox.run_ok(&["spend", "--by", "window", "--csv"]);
    assert_eq!(csv.lines().count(), 1 + requests - 1, "{csv}");
    assert!(csv.starts_with("window,resets_at,utilization,status,time,request_id,model,delta_points"), "{csv}");

    // A period makes no sense for the current windows: said, not ignored.
    let refused = sandbox.run(&["spend", "--by", "window", "--since", "today"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("leave out --since and --until"));

    // Spend by request class: Claude Code said each was a main request.
    let by_class = json(&sandbox.run_ok(&["spend", "--by", "class", "--json"]));
    let groups = by_class["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{by_class}");
    assert_eq!(groups[0]["key"], "main");
    assert_eq!(groups[0]["requests"], requests as u64);
    let by_agent = json(&sandbox.run_ok(&["spend", "--by", "agent", "--json"]));
    assert_eq!(by_agent["groups"][0]["key"], serde_json::Value::Null, "main requests have no agent type");
    assert!(sandbox.run_ok(&["spend", "--by", "class"]).contains("request class"));

    // `status` shows every window, with its age.
    let status = sandbox.run_ok(&["status"]);
    let shown = format!("5-hour window: {:.0}%", last * 100.0);
    assert!(status.contains(&shown), "{status}");
    assert!(status.contains("Weekly window: 17%"), "{status}");
    assert!(status.contains(", as of "), "{status}");
    drop(gateway);
}

#[test]
fn spend_by_window_on_an_empty_ledger_says_what_to_do() {
    let sandbox = Sandbox::new();
    let text = sandbox.run_ok(&["spend", "--by", "window"]);
    assert!(text.contains("No subscription windows recorded yet"), "{text}");
    let json = json(&sandbox.run_ok(&["spend", "--by", "window", "--json"]));
    assert_eq!(json["windows"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_used_up_window_as_rejected_with_its_reset() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    let key = sandbox.issue_key("tester");
    mock.push(Scenario::RateLimited);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .post(format!("{}/v1/messages", gateway.base_url))
        .header("x-gatehouse-key", &key)
        .header("authorization", "Bearer sk-ant-oat01-FAKE-e2e-rejected")
        .header("anthropic-version", "2023-06-01")
        .json(&serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);

    let status = json(&sandbox.run_ok(&["status", "--json"]));
    let five = &status["gateway"]["rate_limits"]["windows"]["5h"];
    assert_eq!((&five["status"], &five["utilization"]), (&"rejected".into(), &1.0.into()), "{status}");
    assert!(status["gateway"]["rate_limits"]["observed_at"].is_string(), "{status}");
    let text = sandbox.run_ok(&["status"]);
    assert!(text.contains("5-hour window: rejected until "), "not its last percentage: {text}");
    assert!(text.contains("Subscription: rejected until "), "{text}");
    assert!(text.contains(", as of "), "{text}");
    // The rejection is a window reading of its own in the ledger.
    let by_window = json(&sandbox.run_ok(&["spend", "--by", "window", "--json"]));
    assert_eq!(by_window["windows"][0]["status"], "rejected", "{by_window}");
    drop(gateway);
}
