//! OpenAI's Chat Completions API on the gateway, for real: OpenAI's own
//! Python SDK sends `POST /v1/chat/completions` with a gateway key as its
//! API key; the gateway starts the pinned LiteLLM engine with the first such
//! request and sends it through LiteLLM, which translates it, to a paid
//! upstream (`kind = "anthropic"`, here a loopback mock of Anthropic's API
//! with its own API key). The subscription never serves one.
//!
//! The mock proves the request arrived in Anthropic's shape with the
//! upstream's own key and none of the client's; the ledger records it like
//! any other request, streaming included, with the tokens the upstream
//! reported; and no secret is in any file Gatehouse wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use gatehouse::ledger::flags;
use gatehouse_e2e::harness::{GatewayProcess, LedgerRow, Sandbox, files_containing};
use gatehouse_e2e::litellm::install_shared_venv;
use gatehouse_e2e::mock_anthropic::{DEFAULT_REPLY, MockAnthropic, MockUsage};
use gatehouse_e2e::mock_openrouter::{CHAT_ANSWER, CHAT_USAGE, Choice, MockOpenRouter};
use serde_json::Value;

const API_KEY: &str = "sk-ant-api03-FAKE-paid-upstream-key-c7e1";

struct Rig {
    subscription: MockAnthropic,
    paid: MockAnthropic,
    sandbox: Sandbox,
    gateway: GatewayProcess,
    key: String,
    python: PathBuf,
}

/// The gateway with the subscription first and a paid `anthropic` upstream
/// after it; Haiku routed to the subscription alone.
async fn rig() -> Rig {
    let paid = MockAnthropic::start().await.expect("mock");
    let upstream = format!(
        "[[upstreams]]\nname = \"api\"\nkind = \"anthropic\"\nbase_url = \"{}\"\nsecret = \"env:GATEHOUSE_TEST_API_KEY\"\n\n\
         [[routes]]\nmodels = \"claude-haiku-*\"\nupstreams = [\"anthropic\"]\n\n\
         [[routes]]\nmodels = \"*\"\nupstreams = [\"anthropic\", \"api\"]\n",
        paid.base_url()
    );
    rig_with(paid, &upstream, ("GATEHOUSE_TEST_API_KEY", API_KEY)).await
}

/// The gateway with the subscription first and the paid upstreams of
/// `config` after it, whose key is in the environment variable `key`.
async fn rig_with(paid: MockAnthropic, config: &str, key: (&str, &str)) -> Rig {
    let subscription = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let python = install_shared_venv(&sandbox).join("bin/python");
    std::fs::write(sandbox.config_file(), config).unwrap();
    let gateway_key = sandbox.issue_key("chat-app");
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[key]);
    Rig { subscription, paid, sandbox, gateway, key: gateway_key, python }
}

impl Rig {
    /// What OpenAI's SDK saw of one request (see `tests/python/openai_chat.py`).
    fn chat(&self, mode: &str, model: &str, api_key: &str) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/openai_chat.py");
        let output = Command::new(&self.python)
            .arg(script)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_PROXY", "*")
            .env("GATEHOUSE_BASE_URL", format!("{}/v1", self.gateway.base_url))
            .env("GATEHOUSE_API_KEY", api_key)
            .env("CHAT_MODEL", model)
            .env("CHAT_MODE", mode)
            .output()
            .expect("running OpenAI's SDK");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the SDK failed: {}\n{}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.gateway.log(),
            self.litellm_log()
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn litellm_log(&self) -> String {
        std::fs::read_to_string(self.sandbox.gatehouse_home().join("logs/litellm.log")).unwrap_or_default()
    }
}

/// The tokens the mock reports, as the ledger must have them.
fn assert_tokens(row: &LedgerRow, usage: MockUsage) {
    let writes = usage.cache_creation_5m + usage.cache_creation_1h;
    assert_eq!(
        (
            row.input_tokens,
            row.output_tokens,
            row.cache_write_5m_tokens + row.cache_write_1h_tokens,
            row.cache_read_tokens
        ),
        (usage.input_tokens, usage.output_tokens, writes, usage.cache_read),
        "{row:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openais_sdk_is_served_through_litellm_by_the_paid_upstream_and_recorded() {
    let rig = rig().await;
    let usage = MockUsage::default();

    // The first request starts LiteLLM, and waits for it.
    let plain = rig.chat("plain", "claude-sonnet-4-5", &rig.key);
    assert_eq!(plain["content"], DEFAULT_REPLY, "{plain}");
    let prompt = usage.input_tokens + usage.cache_creation_5m + usage.cache_creation_1h + usage.cache_read;
    assert_eq!(plain["usage"]["prompt_tokens"], prompt, "{plain}");
    assert_eq!(plain["usage"]["completion_tokens"], usage.output_tokens);

    // A stream as most apps ask for it: the usage chunk the gateway asked
    // for on the ledger's behalf (one without choices) never reaches the app.
    let stream = rig.chat("stream", "claude-sonnet-4-5", &rig.key);
    assert_eq!(stream["content"], DEFAULT_REPLY, "{stream}");
    assert_eq!(stream["empty_choices"], 0, "no chunk without choices: {stream}");
    assert_eq!(stream["finish_reason"], "stop");

    // An app that asks for the usage gets it.
    let asked = rig.chat("stream_usage", "claude-sonnet-4-5", &rig.key);
    assert_eq!(asked["content"], DEFAULT_REPLY, "{asked}");
    assert_eq!(asked["usage"]["completion_tokens"], usage.output_tokens, "{asked}");

    // Every request reached the paid upstream in Anthropic's shape, with its
    // own key, and none of the client's credentials; none the subscription.
    assert_eq!(rig.subscription.request_count(), 0);
    let requests = rig.paid.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.path_and_query.split('?').next(), Some("/v1/messages"));
        assert_eq!(request.header("x-api-key"), Some(API_KEY.as_bytes()));
        assert_eq!(request.header("authorization"), None);
        assert_eq!(request.json()["model"], "claude-sonnet-4-5");
    }

    // The ledger has each, billed, with the upstream's tokens and a price.
    let rows = rig.sandbox.ledger_rows(3);
    assert_eq!(rows.len(), 3, "{rows:?}\n{}", rig.gateway.log());
    for (row, streamed) in rows.iter().zip([false, true, true]) {
        assert_eq!(
            (row.client.as_str(), row.upstream.as_str(), row.model.as_str()),
            ("chat-app", "api", "claude-sonnet-4-5")
        );
        assert_eq!((row.status, row.streamed, row.complete), (200, streamed, true), "{row:?}");
        assert_eq!(row.flags & (flags::CHAT_COMPLETIONS | flags::BILLED), flags::CHAT_COMPLETIONS | flags::BILLED);
        assert_tokens(row, usage);
        assert!(row.cost_usd.is_some_and(|cost| cost > 0.0), "{row:?}");
        assert!(row.request_id.is_some(), "LiteLLM's call id: {row:?}");
    }

    // No secret in any file Gatehouse wrote (LiteLLM's config and log included).
    for secret in [API_KEY, rig.key.as_str()] {
        let found = files_containing(&rig.sandbox.gatehouse_home(), secret);
        let found: Vec<_> = found.into_iter().filter(|path| !path.ends_with("config.toml")).collect();
        assert!(found.is_empty(), "a secret is written in {found:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_never_serves_chat_completions_and_a_wrong_key_is_told_so() {
    let rig = rig().await;

    // Haiku's route has only the subscription: refused, in OpenAI's shape, saying why.
    let refused = rig.chat("plain", "claude-haiku-4-5", &rig.key);
    assert_eq!(
        (refused["error"].as_str(), refused["status"].as_u64()),
        (Some("PermissionDeniedError"), Some(403)),
        "{refused}"
    );
    let message = refused["body"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("never sent to the Claude subscription"), "{refused}");
    assert_eq!(refused["body"]["type"], "permission_error");

    // The model list offers what a paid upstream serves, not what only the subscription does.
    let listed = rig.chat("models", "", &rig.key);
    let models: Vec<&str> = listed["models"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(models.contains(&"claude-sonnet-4-5") && models.contains(&"claude-opus-4-6"), "{listed}");
    assert!(!models.iter().any(|m| m.starts_with("claude-haiku-")), "{listed}");
    assert_eq!(rig.chat("models", "", "ghk_not-a-key")["status"], 401);

    let wrong = rig.chat("plain", "claude-sonnet-4-5", "ghk_not-a-key");
    assert_eq!(
        (wrong["error"].as_str(), wrong["status"].as_u64()),
        (Some("AuthenticationError"), Some(401)),
        "{wrong}"
    );
    assert!(wrong["body"]["message"].as_str().unwrap_or_default().contains("gatehouse keys issue"), "{wrong}");

    let unknown = rig.chat("plain", "", &rig.key);
    assert_eq!(unknown["status"], 400, "{unknown}");

    assert_eq!(rig.subscription.request_count(), 0);
    assert_eq!(rig.paid.request_count(), 0);
    assert!(rig.sandbox.ledger_rows_until(|_| true).is_empty(), "refusals are not requests");
}

const OPENROUTER_KEY: &str = "sk-or-v1-FAKE-chat-upstream-9d2e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openrouter_upstream_serves_chat_completions_by_its_own_slugs() {
    let openrouter = MockOpenRouter::start(Choice::Approve);
    let config = format!(
        "[[upstreams]]\nname = \"or\"\nkind = \"openrouter\"\nbase_url = \"{}/api\"\nsecret = \"env:GATEHOUSE_TEST_OR_KEY\"\n",
        openrouter.base
    );
    let unused = MockAnthropic::start().await.expect("mock");
    let rig = rig_with(unused, &config, ("GATEHOUSE_TEST_OR_KEY", OPENROUTER_KEY)).await;

    let plain = rig.chat("plain", "claude-sonnet-4-5", &rig.key);
    assert_eq!(plain["content"], CHAT_ANSWER, "{plain}");
    let stream = rig.chat("stream", "claude-sonnet-4-5", &rig.key);
    assert_eq!(stream["content"], CHAT_ANSWER, "{stream}");
    assert_eq!(stream["empty_choices"], 0, "OpenRouter's usage chunk is kept from the app that did not ask: {stream}");

    let chats: Vec<_> = openrouter.seen().into_iter().filter_map(|seen| seen.get("chat").cloned()).collect();
    assert_eq!(chats.len(), 2, "{chats:?}");
    for chat in &chats {
        assert_eq!(chat["model"], "anthropic/claude-sonnet-4.5", "OpenRouter's slug: {chat}");
        assert_eq!(chat["authorization"], format!("Bearer {OPENROUTER_KEY}"));
    }
    assert_eq!(rig.subscription.request_count(), 0);

    let (prompt, cached, completion) = CHAT_USAGE;
    let rows = rig.sandbox.ledger_rows(2);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(
            (row.upstream.as_str(), row.model.as_str(), row.status, row.complete),
            ("or", "claude-sonnet-4-5", 200, true),
            "{row:?}"
        );
        assert_eq!(
            (row.input_tokens, row.cache_read_tokens, row.output_tokens),
            (prompt - cached, cached, completion),
            "{row:?}"
        );
        assert!(row.cost_usd.is_some_and(|cost| cost > 0.0), "{row:?}");
    }
    let found = files_containing(&rig.sandbox.gatehouse_home(), OPENROUTER_KEY);
    assert!(found.is_empty(), "the key is written in {found:?}");
}

/// Bad Chat Completions requests are told what is wrong in OpenAI's error
/// shape, before anything is sent anywhere; and without LiteLLM installed,
/// the answer says how to install it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_chat_requests_get_openai_shaped_errors_that_say_what_to_do() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let paid = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let config = format!(
        "[gateway]\nmax_body_bytes = 4096\n\n[[upstreams]]\nname = \"api\"\nkind = \"anthropic\"\nbase_url = \"{}\"\n\
         secret = \"env:GATEHOUSE_TEST_API_KEY\"\n",
        paid.base_url()
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("chat-app");
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_API_KEY", API_KEY)]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/v1/chat/completions", gateway.base_url);
    let error_of = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(body.get("type").is_none(), "not Anthropic's envelope: {body}");
        (
            status,
            body["error"]["type"].as_str().unwrap().to_string(),
            body["error"]["message"].as_str().unwrap().to_string(),
        )
    };
    let chat = r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#;
    let said = sandbox.run_ok(&["status"]);
    assert!(said.contains("LiteLLM engine: not started; it starts with the first Chat Completions request"), "{said}");

    let (status, kind, message) = error_of(http.post(&url).body(chat).send().await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(message.contains("gatehouse keys issue"), "{message}");

    let (status, kind, message) =
        error_of(http.post(&url).bearer_auth(&key).body("{not json").send().await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    assert!(message.contains("not valid JSON"), "{message}");

    let (status, _, message) =
        error_of(http.post(&url).bearer_auth(&key).body(r#"{"messages":[]}"#).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(message.starts_with("model: field required"), "{message}");

    let huge =
        format!(r#"{{"model":"claude-sonnet-4-5","messages":[{{"role":"user","content":"{}"}}]}}"#, "x".repeat(8192));
    let (status, _, message) = error_of(http.post(&url).bearer_auth(&key).body(huge).send().await.unwrap()).await;
    assert_eq!(status, 413);
    assert!(message.contains("max_body_bytes"), "{message}");

    // LiteLLM is not installed in this home: the engine cannot start, and says how to fix it.
    let (status, kind, message) = error_of(http.post(&url).bearer_auth(&key).body(chat).send().await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (503, "server_error"));
    assert!(message.contains("run `gatehouse engine litellm install`"), "{message}");
    let said = sandbox.run_ok(&["status"]);
    assert!(said.contains("LiteLLM engine: down: the LiteLLM engine cannot start: LiteLLM is not installed"), "{said}");

    assert_eq!((subscription.request_count(), paid.request_count()), (0, 0));
    assert!(sandbox.ledger_rows_until(|_| true).is_empty(), "refusals are not requests");
}
