//! The real Claude Code CLI, logged in to a subscription, through the
//! gateway when the subscription's 5-hour window is used up: the mock's
//! quota 429 sends the request on to a paid Anthropic key, Claude Code's
//! run still succeeds, the paid upstream never sees the subscription's
//! token, and the ledger and `gatehouse status` say what happened.

use gatehouse::ledger::flags;
use gatehouse_e2e::claude_cli::{ClaudeAuth, claude_print};
use gatehouse_e2e::harness::{Sandbox, files_containing};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};

const TOKEN: &str = "sk-ant-oat01-FAKE-e2e-failover-subscription-token-0123456789";
const PAID_KEY: &str = "sk-ant-api03-FAKE-e2e-failover-paid-key-9876";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_keeps_working_on_the_paid_key_when_the_subscription_window_is_used_up() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let paid = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.config_file(),
        format!(
            "[[upstreams]]\nname = \"paid\"\nkind = \"anthropic\"\nbase_url = {:?}\nsecret = \"env:GATEHOUSE_TEST_PAID_KEY\"\n",
            paid.base_url()
        ),
    )
    .unwrap();
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_PAID_KEY", PAID_KEY)]);
    sandbox.run_ok(&["claude", "configure", "--base-url", &gateway.base_url]);

    // The window is full: the subscription's next answer is the quota 429.
    subscription.push(Scenario::RateLimited);
    let result = claude_print(&sandbox, &ClaudeAuth::Subscription(TOKEN), "hello", &["--model", "claude-haiku-4-5"]);
    assert_eq!(result["is_error"], false, "Claude Code's run succeeded: {result}");

    let refused: Vec<_> =
        subscription.requests().into_iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).collect();
    assert_eq!(refused.len(), 1, "the subscription was asked once, then rested until its reset");
    let served: Vec<_> = paid.requests().into_iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).collect();
    assert!(!served.is_empty());
    for request in &served {
        assert_eq!(request.header("x-api-key"), Some(PAID_KEY.as_bytes()));
        assert_eq!(request.header("authorization"), None, "the subscription's token never reaches the paid upstream");
        assert!(request.header("anthropic-beta").is_none_or(|b| !String::from_utf8_lossy(b).contains("oauth-")));
    }

    // The ledger: every row served by the paid key, the first failed over from the used-up window.
    let rows = sandbox.ledger_rows(served.len());
    assert!(rows.iter().all(|row| row.upstream == "paid" && row.status == 200), "{rows:?}");
    let conn = rusqlite::Connection::open(sandbox.ledger_file()).unwrap();
    let first: i64 =
        conn.query_row("SELECT flags FROM request_rows ORDER BY id LIMIT 1", [], |row| row.get(0)).unwrap();
    assert_eq!(flags::failover_reason(first).as_deref(), Some("failed over: the subscription's window was used up"));

    // `gatehouse status`: the window is shown rejected, and the failover with its reason.
    let status = sandbox.run_ok(&["status"]);
    assert!(status.contains("Failing over to paid since "), "{status}");
    assert!(status.contains("anthropic: the subscription's window is used up"), "{status}");
    let json: serde_json::Value = serde_json::from_str(&sandbox.run_ok(&["status", "--json"])).unwrap();
    assert_eq!(json["gateway"]["rate_limits"]["windows"]["5h"]["status"], "rejected", "{json}");

    let log = gateway.log();
    drop(gateway);
    assert!(!log.contains(TOKEN) && !log.contains(PAID_KEY));
    for secret in [TOKEN, PAID_KEY] {
        assert!(
            files_containing(sandbox.dir.path(), secret).iter().all(|f| f.starts_with(sandbox.claude_dir())),
            "{secret} in a Gatehouse file"
        );
    }
    sandbox.run_ok(&["claude", "remove"]);
}

/// With the subscription's window used up and the paid key's budget too,
/// Claude Code gets the gateway's 429 at once (no retries: the gateway says
/// none can help before the reset) and shows its message, which names the
/// budget; the paid upstream is never asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_shows_which_budget_stopped_it_when_nothing_is_left() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let paid = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.config_file(),
        format!(
            "[[upstreams]]\nname = \"paid\"\nkind = \"anthropic\"\nbase_url = {:?}\nsecret = \"env:GATEHOUSE_TEST_PAID_KEY\"\n\n\
             [[budgets]]\nupstream = \"paid\"\nmonthly_usd = 0\n",
            paid.base_url()
        ),
    )
    .unwrap();
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_PAID_KEY", PAID_KEY)]);
    sandbox.run_ok(&["claude", "configure", "--base-url", &gateway.base_url]);

    subscription.push(Scenario::RateLimited);
    let started = std::time::Instant::now();
    let result = claude_print(&sandbox, &ClaudeAuth::Subscription(TOKEN), "hello", &["--model", "claude-haiku-4-5"]);
    assert_eq!(result["is_error"], true, "{result}");
    let said = result["result"].as_str().unwrap_or_default();
    assert!(said.contains("upstream `paid`'s monthly budget of $0.0000 is used up"), "{result}");
    let messages = |mock: &MockAnthropic| {
        mock.requests().into_iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).count()
    };
    assert_eq!(messages(&paid), 0, "the paid upstream was never asked");
    assert_eq!(messages(&subscription), 1, "the subscription rests until its reset");
    let refusals = gateway.log().matches("no upstream may serve this request now").count();
    assert_eq!(refusals, 1, "Claude Code did not retry: {}", gateway.log());
    eprintln!("Claude Code gave up after {:?}", started.elapsed());
    sandbox.run_ok(&["claude", "remove"]);
}
