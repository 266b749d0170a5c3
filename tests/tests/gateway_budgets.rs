//! Budgets and limits: a paid upstream stops at its budget, even under
//! concurrent requests (the bound: one request in flight per connection),
//! and a restarted gateway still knows what was spent; a key's requests and
//! tokens per minute are limited. The subscription's own traffic is never
//! billed nor capped. Mock upstreams on loopback count what reached them.

use gatehouse::ledger::flags;
use gatehouse_e2e::harness::{Sandbox, anthropic_error, header};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use serde_json::{Value, json};

const OAUTH_TOKEN: &str = "sk-ant-oat01-FAKE-subscription-token-4b21";
const PAID_KEY: &str = "sk-ant-api03-FAKE-paid-budget-key-8c1d";
/// What one mock reply costs at Sonnet 4.5's list prices: 12 input, 57
/// output, 1,500 + 300 cache-write (5 m, 1 h) and 30,000 cache-read tokens.
const REPLY_USD: f64 = 0.017316;

fn paid_upstream(base_url: &str) -> String {
    format!(
        "[[upstreams]]\nname = \"paid\"\nkind = \"anthropic\"\nbase_url = \"{base_url}\"\n\
         secret = \"env:GATEHOUSE_TEST_PAID_KEY\"\n"
    )
}

async fn send(http: &reqwest::Client, base_url: &str, key: &str) -> reqwest::Response {
    let body = json!({ "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": false,
        "messages": [{"role": "user", "content": "hi"}] });
    http.post(format!("{base_url}/v1/messages"))
        .header("x-gatehouse-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "oauth-2025-04-20,claude-code-20250219")
        .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn status(http: &reqwest::Client, base_url: &str) -> Value {
    http.get(format!("{base_url}/status")).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_upstream_stops_at_its_daily_budget_and_a_restart_remembers_the_spend() {
    let subscription = MockAnthropic::start().await.unwrap();
    let paid = MockAnthropic::start().await.unwrap();
    let sandbox = Sandbox::new();
    let config = format!("{}\n[[budgets]]\nupstream = \"paid\"\ndaily_usd = 0.05\n", paid_upstream(&paid.base_url()));
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let env = [("GATEHOUSE_TEST_PAID_KEY", PAID_KEY)];
    let gateway = sandbox.start_gateway(&subscription.base_url(), &env);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    // The subscription serves: not billed, not counted.
    let response = send(&http, &gateway.base_url, &key).await;
    assert_eq!((response.status().as_u16(), header(&response, "x-gatehouse-upstream")), (200, "anthropic".into()));
    // Its window runs out: the paid key serves, three replies' worth of $0.05.
    subscription.push(Scenario::RateLimited);
    for served in 1..=3 {
        let response = send(&http, &gateway.base_url, &key).await;
        assert_eq!(
            (response.status().as_u16(), header(&response, "x-gatehouse-upstream")),
            (200, "paid".into()),
            "paid reply {served}"
        );
        response.bytes().await.unwrap();
    }
    // 3 × $0.017316 = $0.051948 ≥ $0.05: the fourth has nowhere to go.
    let response = send(&http, &gateway.base_url, &key).await;
    assert_eq!(header(&response, "x-should-retry"), "false");
    let (status_code, kind, message) = anthropic_error(response).await;
    assert_eq!((status_code, kind.as_str()), (429, "rate_limit_error"), "{message}");
    assert!(message.contains("anthropic: cooling down until"), "{message}");
    assert!(
        message.contains(
            "paid: upstream `paid`'s daily budget of $0.0500 is used up ($0.0519 spent); it resets at midnight"
        ),
        "{message}"
    );
    assert!(message.contains("[[budgets]]"), "{message}");
    assert_eq!(paid.requests().len(), 3, "nothing more reached the paid upstream");

    let now = status(&http, &gateway.base_url).await;
    let budget = &now["budgets"][0];
    assert_eq!(
        (budget["scope"].as_str(), budget["name"].as_str(), budget["period"].as_str()),
        (Some("upstream"), Some("paid"), Some("day"))
    );
    assert!((budget["spent_usd"].as_f64().unwrap() - 3.0 * REPLY_USD).abs() < 1e-9, "{budget}");
    assert_eq!(budget["limit_usd"], 0.05);
    let said = sandbox.run_ok(&["status"]);
    assert!(said.contains("Budget: paid's daily budget: $0.0519 of $0.0500 billed"), "{said}");
    assert!(said.contains("  also upstream paid (anthropic) http://127.0.0.1:"), "{said}");
    assert!(said.contains("; key its own"), "{said}");
    assert!(said.contains("Today: $0.0693 at API prices, of which $0.0519 billed to API keys · 4 requests"), "{said}");
    assert_eq!(now["upstreams"][0]["resting_until"].as_str().map(|until| until.len() >= 5), Some(true), "{now:#}");

    // The ledger tells billed rows from the subscription's.
    let rows = sandbox.ledger_rows(4);
    assert_eq!(rows.len(), 4, "the refused request is not a served one: {rows:?}");
    let conn = rusqlite::Connection::open(sandbox.ledger_file()).unwrap();
    let billed: Vec<(String, bool, bool)> = conn
        .prepare("SELECT upstream, flags & ?1 != 0, flags & ?2 != 0 FROM request_rows ORDER BY id")
        .unwrap()
        .query_map([flags::BILLED, flags::FAILOVER_QUOTA | flags::FAILOVER_PASSED_OVER], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        billed,
        [
            ("anthropic".to_string(), false, false),
            ("paid".to_string(), true, true),
            ("paid".to_string(), true, true),
            ("paid".to_string(), true, true)
        ]
    );
    drop(conn);
    assert!(!gateway.log().contains(PAID_KEY) && !gateway.log().contains(OAUTH_TOKEN));
    gateway.stop();

    // A new gateway starts from the ledger's spend: still used up.
    let gateway = sandbox.start_gateway(&subscription.base_url(), &env);
    subscription.push(Scenario::RateLimited);
    let response = send(&http, &gateway.base_url, &key).await;
    let (status_code, _, message) = anthropic_error(response).await;
    assert_eq!(status_code, 429, "{message}");
    assert!(message.contains("the subscription's window is used up"), "{message}");
    assert!(message.contains("daily budget of $0.0500 is used up ($0.0519 spent)"), "{message}");
    assert_eq!(paid.requests().len(), 3);
    // The subscription now rests until its reset, and the budget is still used up.
    let response = send(&http, &gateway.base_url, &key).await;
    assert_eq!(response.status(), 429);
    let budget = status(&http, &gateway.base_url).await["budgets"][0].clone();
    assert!((budget["spent_usd"].as_f64().unwrap() - 3.0 * REPLY_USD).abs() < 1e-9, "{budget}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_overshoot_a_budget_by_at_most_one_request_per_connection() {
    const CONNECTIONS: usize = 4;
    const BUDGET_USD: f64 = 0.1;
    let paid = MockAnthropic::start().await.unwrap();
    let sandbox = Sandbox::new();
    let config = format!(
        "{}\n[[routes]]\nmodels = \"*\"\nupstreams = [\"paid\"]\n\n[[budgets]]\nupstream = \"paid\"\nmonthly_usd = {BUDGET_USD}\n",
        paid_upstream(&paid.base_url())
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&paid.base_url(), &[("GATEHOUSE_TEST_PAID_KEY", PAID_KEY)]);

    // Each task is one client connection, sending until it is refused.
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (base_url, key) = (gateway.base_url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(1).build().unwrap();
            let mut served = 0;
            loop {
                let response = send(&http, &base_url, &key).await;
                match response.status().as_u16() {
                    200 => {
                        response.bytes().await.unwrap();
                        served += 1;
                    }
                    429 => {
                        let (_, kind, message) = anthropic_error(response).await;
                        assert_eq!(kind, "rate_limit_error");
                        assert!(message.contains("monthly budget of $0.1000 is used up"), "{message}");
                        return served;
                    }
                    other => panic!("unexpected status {other}"),
                }
            }
        }));
    }
    let mut served = 0;
    for task in tasks {
        served += task.await.unwrap();
    }
    let spent = served as f64 * REPLY_USD;
    // Up to the cap, the budget is used; past it, by at most one request per connection.
    let at_least = (BUDGET_USD / REPLY_USD).ceil() as usize;
    assert!(served >= at_least, "served {served}, the budget allows {at_least}");
    assert!(spent < BUDGET_USD + CONNECTIONS as f64 * REPLY_USD, "served {served}: ${spent} spent");
    assert_eq!(paid.requests().len(), served, "refused requests never reached the upstream");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let budget = status(&http, &gateway.base_url).await["budgets"][0].clone();
    assert!((budget["spent_usd"].as_f64().unwrap() - spent).abs() < 1e-9, "{budget}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_requests_and_tokens_per_minute_are_limited() {
    let upstream = MockAnthropic::start().await.unwrap();
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.config_file(),
        "[[limits]]\nkey = \"ci\"\nrequests_per_minute = 2\n\n[[limits]]\nkey = \"batch\"\ntokens_per_minute = 1000\n",
    )
    .unwrap();
    let ci = sandbox.issue_key("ci");
    let batch = sandbox.issue_key("batch");
    let free = sandbox.issue_key("free");
    let gateway = sandbox.start_gateway(&upstream.base_url(), &[]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    for _ in 0..2 {
        assert_eq!(send(&http, &gateway.base_url, &ci).await.status(), 200);
    }
    let response = send(&http, &gateway.base_url, &ci).await;
    let retry_after: u64 = header(&response, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status_code, kind, message) = anthropic_error(response).await;
    assert_eq!((status_code, kind.as_str()), (429, "rate_limit_error"), "{message}");
    assert!(message.starts_with("gateway key `ci` is limited to 2 requests per minute, and made 2"), "{message}");
    assert!(message.contains("[[limits]]"), "{message}");

    // A reply is 1,869 counted tokens (input, cache writes, output): one is over 1,000.
    assert_eq!(send(&http, &gateway.base_url, &batch).await.status(), 200);
    let (status_code, _, message) = anthropic_error(send(&http, &gateway.base_url, &batch).await).await;
    assert_eq!(status_code, 429, "{message}");
    assert!(message.contains("limited to 1000 tokens per minute, and used 1869"), "{message}");

    // Other keys are not limited, and the refused requests never reached the upstream.
    for _ in 0..3 {
        assert_eq!(send(&http, &gateway.base_url, &free).await.status(), 200);
    }
    assert_eq!(upstream.requests().len(), 2 + 1 + 3);
}
