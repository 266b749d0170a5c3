//! Paid upstreams and routes from the config (`[[upstreams]]`,
//! `[[routes]]`): a model routed to a paid upstream reaches it with the
//! upstream's own key, and the subscription's token and `oauth-*` beta
//! flags never do (the mock's header log says exactly what it received);
//! other models still go to the subscription; an upstream whose key cannot
//! be read refuses in Anthropic's error shape, and says why.

use gatehouse_e2e::harness::{Sandbox, anthropic_error, files_containing};
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use serde_json::{Value, json};

const OAUTH_TOKEN: &str = "sk-ant-oat01-FAKE-subscription-token-9d8e";
const PAID_KEY: &str = "sk-or-v1-FAKE-paid-upstream-key-41c7";

fn body(model: &str) -> Value {
    json!({ "model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_model_reaches_the_paid_upstream_with_its_key_and_never_the_subscriptions() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let openrouter = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let config = format!(
        r#"
[[upstreams]]
name = "openrouter"
kind = "openrouter"
base_url = "{}"
secret = "env:GATEHOUSE_TEST_OPENROUTER_KEY"

[[upstreams]]
name = "team"
kind = "compatible"
base_url = "{}"
secret = "env:GATEHOUSE_TEST_UNSET_TEAM_KEY"

[[routes]]
models = "claude-3-5-haiku-*"
upstreams = ["openrouter"]

[[routes]]
models = "team-*"
upstreams = ["team"]

[[routes]]
models = "*"
upstreams = ["anthropic"]
"#,
        openrouter.base_url(),
        openrouter.base_url()
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_OPENROUTER_KEY", PAID_KEY)]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let send = |model: &str| {
        http.post(format!("{}/v1/messages?beta=true", gateway.base_url))
            .header("x-gatehouse-key", &key)
            .header("anthropic-version", "2023-06-01")
            .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
            .header("anthropic-beta", "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14")
            .json(&body(model))
            .send()
    };

    // Routed to OpenRouter (the mock speaks its Anthropic-compatible API): its key, as Bearer;
    // nothing of the subscription.
    let response = send("claude-3-5-haiku-20241022").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-gatehouse-upstream"], "openrouter");
    let seen = &openrouter.requests()[0];
    assert_eq!(seen.path_and_query, "/v1/messages?beta=true");
    assert_eq!(seen.header("authorization"), Some(format!("Bearer {PAID_KEY}").as_bytes()));
    assert_eq!(seen.header("x-api-key"), None);
    assert_eq!(seen.header("anthropic-beta"), Some(&b"claude-code-20250219,interleaved-thinking-2025-05-14"[..]));
    for (name, value) in &seen.headers {
        let value = String::from_utf8_lossy(value);
        assert!(!value.contains(OAUTH_TOKEN) && !value.contains("oauth-"), "{name}: {value} reached OpenRouter");
    }
    assert_eq!(seen.json(), body("claude-3-5-haiku-20241022"), "the body arrives unchanged");

    // Any other model: the subscription, with Claude Code's own login, as before.
    let response = send("claude-sonnet-4-5").await.unwrap();
    assert_eq!(response.headers()["x-gatehouse-upstream"], "anthropic");
    let seen = &subscription.requests()[0];
    assert_eq!(seen.header("authorization"), Some(format!("Bearer {OAUTH_TOKEN}").as_bytes()));
    assert!(
        subscription
            .requests()
            .iter()
            .all(|r| r.header("authorization") != Some(format!("Bearer {PAID_KEY}").as_bytes()))
    );

    // An upstream whose key cannot be read refuses, in Anthropic's shape, saying why; nothing is sent.
    let (status, kind, message) = anthropic_error(send("team-large").await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(
        message.contains("upstream `team` has no key") && message.contains("GATEHOUSE_TEST_UNSET_TEAM_KEY"),
        "{message}"
    );
    assert_eq!(openrouter.requests().len(), 1);

    // The ledger says who served; no key or token is in any file.
    let rows = sandbox.ledger_rows_until(|rows| rows.len() >= 2);
    let upstreams: Vec<_> = rows.iter().map(|r| (r.model.as_str(), r.upstream.as_str())).collect();
    assert!(upstreams.contains(&("claude-3-5-haiku-20241022", "openrouter")), "{upstreams:?}");
    assert!(upstreams.contains(&("claude-sonnet-4-5", "anthropic")), "{upstreams:?}");
    for secret in [PAID_KEY, OAUTH_TOKEN] {
        assert!(files_containing(sandbox.dir.path(), secret).is_empty(), "{secret} is in a file");
    }
    assert!(!gateway.log().contains(PAID_KEY));
}
