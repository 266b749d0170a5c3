//! Paid upstreams and routes from the config (`[[upstreams]]`,
//! `[[routes]]`): a model routed to a paid upstream reaches it with the
//! upstream's own key, and the subscription's token and `oauth-*` beta
//! flags never do (the mock's header log says exactly what it received);
//! other models still go to the subscription; an upstream whose key cannot
//! be read refuses in Anthropic's error shape, and says why. A request that
//! fails over to OpenRouter carries OpenRouter's name for its model, while
//! the subscription and the ledger keep Claude Code's.

use gatehouse_e2e::harness::{Sandbox, anthropic_error, files_containing};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
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
    assert_eq!(
        seen.json(),
        body("anthropic/claude-3.5-haiku"),
        "the body arrives unchanged but for the model, by OpenRouter's name for it"
    );

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_fails_over_to_openrouter_names_its_model_as_openrouter_does() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let openrouter = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    // The user maps one family their own way; the others keep the defaults.
    let config = format!(
        r#"
[[upstreams]]
name = "openrouter"
kind = "openrouter"
base_url = "{}"
secret = "env:GATEHOUSE_TEST_OPENROUTER_KEY"
models = {{ "claude-haiku-*" = "anthropic/claude-3.5-haiku" }}
"#,
        openrouter.base_url()
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_OPENROUTER_KEY", PAID_KEY)]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let send = |model: &str, stream: bool| {
        let mut body = body(model);
        body["stream"] = json!(stream);
        // Content that names a model is the conversation's, not the request's.
        body["messages"][0]["content"] =
            json!([{"type": "text", "text": "\"model\": \"claude-sonnet-4-5\"", "model": model}]);
        http.post(format!("{}/v1/messages?beta=true", gateway.base_url))
            .header("x-gatehouse-key", &key)
            .header("anthropic-version", "2023-06-01")
            .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
            .json(&body)
            .send()
    };

    // The subscription's window is used up: on to OpenRouter, by OpenRouter's name.
    subscription.push(Scenario::RateLimited);
    let response = send("claude-sonnet-4-5-20250929", true).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-gatehouse-upstream"], "openrouter");
    let text = response.text().await.unwrap();
    assert!(text.contains("message_stop"), "{text}");
    // The response's own model is relayed as OpenRouter gave it.
    assert!(text.contains(r#""model":"anthropic/claude-sonnet-4.5""#), "{text}");
    let asked = subscription.requests()[0].json();
    assert_eq!(asked["model"], "claude-sonnet-4-5-20250929", "the subscription got Claude Code's name");
    let sent = openrouter.requests()[0].json();
    assert_eq!(sent["model"], "anthropic/claude-sonnet-4.5");
    let mut expected = asked.clone();
    expected["model"] = json!("anthropic/claude-sonnet-4.5");
    assert_eq!(sent, expected, "nothing else changed, the model named in the messages included");

    // The subscription rests: straight to OpenRouter; the user's entry wins over the default.
    let response = send("claude-haiku-4-5", false).await.unwrap();
    assert_eq!(response.headers()["x-gatehouse-upstream"], "openrouter");
    assert_eq!(openrouter.requests()[1].json()["model"], "anthropic/claude-3.5-haiku");
    // A model no entry names goes as it is.
    send("claude-fable-5-2", false).await.unwrap();
    assert_eq!(openrouter.requests()[2].json()["model"], "claude-fable-5-2");
    assert_eq!(subscription.requests().len(), 1);

    // The ledger keeps the model Claude Code asked for, and prices it.
    let rows = sandbox.ledger_rows_until(|rows| rows.len() >= 3);
    let models: Vec<_> = rows.iter().map(|r| (r.model.as_str(), r.upstream.as_str())).collect();
    assert_eq!(
        models,
        [
            ("claude-sonnet-4-5-20250929", "openrouter"),
            ("claude-haiku-4-5", "openrouter"),
            ("claude-fable-5-2", "openrouter")
        ]
    );
    assert!(rows[0].cost_usd.is_some_and(|cost| cost > 0.0), "{:?}", rows[0]);

    // `config show` prints the map in use: the user's entry first, then the defaults.
    let shown = sandbox.run_ok(&["config", "show"]);
    let mine = shown.find(r#""claude-haiku-*" = "anthropic/claude-3.5-haiku""#).expect(&shown);
    let default = shown.find(r#"claude-sonnet-4-5 = "anthropic/claude-sonnet-4.5""#).expect(&shown);
    assert!(mine < default, "{shown}");
}
