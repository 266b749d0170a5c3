//! Failover before the first byte: a request whose upstream cannot serve
//! it (the subscription's quota 429, a 529, a 5xx, no connection) goes on
//! to the next upstream of its route with that upstream's own key, and the
//! one that failed rests (until the reset its headers give, or the
//! configured cooldown) before it is tried again. A 429 without the
//! subscription's headers is the client's to see, and a stream that broke
//! after its first byte is never sent twice. Two mock upstreams on loopback
//! say exactly what each received.

use gatehouse::ledger::flags;
use gatehouse_e2e::harness::{GatewayProcess, Sandbox, header};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use serde_json::{Value, json};

const OAUTH_TOKEN: &str = "sk-ant-oat01-FAKE-subscription-token-77ab";
const API_KEY: &str = "sk-ant-api03-FAKE-clients-own-key-19cd";
const PAID_KEY: &str = "sk-ant-api03-FAKE-paid-fallback-key-5e2f";

struct Rig {
    subscription: MockAnthropic,
    paid: MockAnthropic,
    sandbox: Sandbox,
    gateway: GatewayProcess,
    key: String,
    http: reqwest::Client,
}

/// The subscription at `subscription_url` (the mock's, unless given), and
/// a paid Anthropic upstream behind it on the default route.
async fn rig(subscription_url: Option<&str>, cooldown_secs: u64) -> Rig {
    let subscription = MockAnthropic::start().await.expect("mock");
    let paid = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let config = format!(
        "[gateway]\nfailover_cooldown_secs = {cooldown_secs}\n\n[[upstreams]]\nname = \"paid\"\nkind = \"anthropic\"\n\
         base_url = \"{}\"\nsecret = \"env:GATEHOUSE_TEST_PAID_KEY\"\n",
        paid.base_url()
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let url = subscription_url.map_or_else(|| subscription.base_url(), str::to_string);
    let gateway = sandbox.start_gateway(&url, &[("GATEHOUSE_TEST_PAID_KEY", PAID_KEY)]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Rig { subscription, paid, sandbox, gateway, key, http }
}

impl Rig {
    /// A Messages request as Claude Code sends it: its subscription login,
    /// or with `api_key` its own API key.
    async fn send(&self, stream: bool, api_key: bool) -> reqwest::Response {
        let request = self
            .http
            .post(format!("{}/v1/messages", self.gateway.base_url))
            .header("x-gatehouse-key", &self.key)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "oauth-2025-04-20,claude-code-20250219");
        let request = if api_key {
            request.header("x-api-key", API_KEY)
        } else {
            request.header("authorization", format!("Bearer {OAUTH_TOKEN}"))
        };
        let body = json!({ "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": "hi"}] });
        request.json(&body).send().await.unwrap()
    }

    /// What the paid upstream received: its own key only, never Claude Code's.
    fn assert_paid_got_only_its_key(&self) {
        for seen in self.paid.requests() {
            assert_eq!(seen.header("x-api-key"), Some(PAID_KEY.as_bytes()));
            assert_eq!(seen.header("authorization"), None);
            assert_eq!(seen.header("anthropic-beta"), Some(&b"claude-code-20250219"[..]));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_up_subscription_window_fails_over_to_the_paid_key_until_its_reset() {
    let rig = rig(None, 60).await;
    rig.subscription.push(Scenario::RateLimited);
    let response = rig.send(false, false).await;
    assert_eq!(response.status(), 200, "Claude Code's request still succeeds");
    assert_eq!(header(&response, "x-gatehouse-upstream"), "paid");
    assert_eq!(header(&response, "x-gatehouse-failover"), "anthropic: the subscription's window is used up");
    let message: Value = response.json().await.unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(rig.subscription.requests().len(), 1);
    rig.assert_paid_got_only_its_key();

    // The subscription rests until the reset its headers gave: the next request goes straight to the key.
    let response = rig.send(true, false).await;
    assert_eq!(header(&response, "x-gatehouse-upstream"), "paid");
    assert!(header(&response, "x-gatehouse-failover").starts_with("anthropic: cooling down until "));
    let text = response.text().await.unwrap();
    assert!(text.contains("message_stop"), "{text}");
    assert_eq!(rig.subscription.requests().len(), 1, "the resting subscription was not asked");
    assert_eq!(rig.paid.requests().len(), 2);
    rig.assert_paid_got_only_its_key();

    // The window the refusal reported is shown, and the ledger says who served.
    let status: Value =
        rig.http.get(format!("{}/status", rig.gateway.base_url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["rate_limits"]["windows"]["5h"]["status"], "rejected", "{status:#}");
    let rows = rig.sandbox.ledger_rows(2);
    assert!(rows.iter().all(|row| row.upstream == "paid" && row.status == 200), "{rows:?}");
    // … and each failover, with its reason.
    let conn = rusqlite::Connection::open(rig.sandbox.ledger_file()).unwrap();
    let reasons: Vec<Option<String>> = conn
        .prepare("SELECT flags FROM request_rows ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get::<_, i64>(0))
        .unwrap()
        .map(|flags| flags::failover_reason(flags.unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            Some("failed over: the subscription's window was used up".to_string()),
            Some("failed over: an upstream was resting or had no key".to_string())
        ]
    );
    assert!(!rig.gateway.log().contains(PAID_KEY) && !rig.gateway.log().contains(OAUTH_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_fails_over_and_the_subscription_is_tried_again_after_its_cooldown_but_other_429s_and_broken_streams_do_not()
 {
    let rig = rig(None, 1).await;

    // A 429 without the subscription's headers (API-key traffic) is the client's to see.
    rig.subscription.push(Scenario::RateLimited);
    let response = rig.send(false, true).await;
    assert_eq!((response.status().as_u16(), header(&response, "x-gatehouse-upstream")), (429, "anthropic".into()));
    assert_eq!(header(&response, "x-gatehouse-failover"), "");
    assert!(rig.paid.requests().is_empty());

    // 529 overloaded and 500: on to the paid key.
    for (scenario, reason) in [
        (Scenario::Overloaded, "anthropic: is overloaded (529)"),
        (Scenario::ServerError, "anthropic: answered 500 Internal Server Error"),
    ] {
        rig.subscription.push(scenario);
        let response = rig.send(false, false).await;
        assert_eq!((response.status().as_u16(), header(&response, "x-gatehouse-upstream")), (200, "paid".into()));
        assert_eq!(header(&response, "x-gatehouse-failover"), reason);
        // After the 1 s cooldown the subscription is asked first again, and serves.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let response = rig.send(false, false).await;
        assert_eq!(header(&response, "x-gatehouse-upstream"), "anthropic", "back on the subscription");
    }
    rig.assert_paid_got_only_its_key();
    let paid_before = rig.paid.requests().len();

    // A stream that broke after its first byte reached the client is never sent again.
    rig.subscription.push(Scenario::DropMidStream);
    let response = rig.send(true, false).await;
    assert_eq!((response.status().as_u16(), header(&response, "x-gatehouse-upstream")), (200, "anthropic".into()));
    let text = response.text().await.unwrap_or_default();
    assert!(!text.contains("message_stop"), "{text}");
    assert_eq!(rig.paid.requests().len(), paid_before, "no failover after the first byte");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_subscription_fails_over() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let rig = rig(Some(&url), 60).await;
    let response = rig.send(false, false).await;
    assert_eq!((response.status().as_u16(), header(&response, "x-gatehouse-upstream")), (200, "paid".into()));
    assert_eq!(header(&response, "x-gatehouse-failover"), "anthropic: is unreachable");
    rig.assert_paid_got_only_its_key();
}

/// A session that a later upstream took over sticks to it while it serves,
/// passing over the paid upstream before it even once that one rests no
/// more, so its prompt cache survives; other sessions take the route in
/// order; and once the subscription serves again, the session goes back to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_sticks_to_the_paid_upstream_that_took_it_over_until_the_subscription_serves_again() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let first = MockAnthropic::start().await.expect("mock");
    let second = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let upstream = |name: &str, mock: &MockAnthropic| {
        format!(
            "[[upstreams]]\nname = \"{name}\"\nkind = \"anthropic\"\nbase_url = \"{}\"\nsecret = \"env:GATEHOUSE_TEST_PAID_KEY\"\n\n",
            mock.base_url()
        )
    };
    let config = format!(
        "[gateway]\nfailover_cooldown_secs = 3\n\n{}{}",
        upstream("first", &first),
        upstream("second", &second)
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_PAID_KEY", PAID_KEY)]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let send = |session: &'static str| {
        let request = http
            .post(format!("{}/v1/messages", gateway.base_url))
            .header("x-gatehouse-key", &key)
            .header("anthropic-version", "2023-06-01")
            .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
            .header("x-claude-code-session-id", session)
            .json(&json!({ "model": "claude-sonnet-4-5", "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi"}] }));
        async move {
            let response = request.send().await.unwrap();
            let served = (response.status().as_u16(), header(&response, "x-gatehouse-upstream"));
            response.bytes().await.unwrap();
            served
        }
    };
    // Session B must find the subscription still resting from A's 529: a
    // cooldown of 1 s was shorter than a loaded CI machine between the two.
    let rest = || tokio::time::sleep(std::time::Duration::from_millis(3100));

    // The subscription and the first paid upstream are overloaded: the second takes session A over.
    subscription.push(Scenario::Overloaded);
    first.push(Scenario::Overloaded);
    assert_eq!(send("session-a").await, (200, "second".to_string()));
    rest().await;

    // Both rested; the subscription is overloaded again, the first is fine. A stays on the second…
    subscription.push(Scenario::Overloaded);
    assert_eq!(send("session-a").await, (200, "second".to_string()));
    assert_eq!(first.requests().len(), 1, "the first was not asked for A's request");
    // … while session B takes the route in order.
    assert_eq!(send("session-b").await, (200, "first".to_string()));
    rest().await;

    // The subscription serves again: A goes back to it, and is no longer stuck to the second.
    assert_eq!(send("session-a").await, (200, "anthropic".to_string()));
    subscription.push(Scenario::Overloaded);
    assert_eq!(send("session-a").await, (200, "first".to_string()));
    assert_eq!(second.requests().len(), 2);
}
