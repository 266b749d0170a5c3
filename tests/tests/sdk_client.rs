//! The official TypeScript SDK (`@anthropic-ai/sdk`) as a second real client
//! of the gateway, next to Claude Code.
//!
//! Each test starts the mock Anthropic API in this process, the real
//! `gatehouse gateway run` against it, and `tests/sdk/anthropic_client.mjs`
//! under Node, which sends one request with the SDK and prints what the SDK
//! saw as JSON. Node and the SDK are installed by `scripts/install-test-deps`;
//! when either is missing the tests fail, they do not skip.
//!
//! Found while writing these: SDK 1.12.0 sends its `apiKey` option as
//! `Authorization: Bearer <key>`, not `x-api-key`; a client that wants
//! `x-api-key` puts it in `defaultHeaders`. And the SDK refuses to send a
//! request with no credential unless `Authorization` is explicitly omitted
//! (`defaultHeaders: { Authorization: null }`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use gatehouse_e2e::harness::{GatewayProcess, LedgerRow, Sandbox};
use gatehouse_e2e::mock_anthropic::{DEFAULT_REPLY, MockAnthropic, MockUsage, RecordedRequest, Scenario};
use serde_json::Value;

/// The SDK version `scripts/install-test-deps` installs.
const SDK_VERSION: &str = "1.12.0";
/// The client's own Anthropic key in these tests.
const CLIENT_KEY: &str = "sk-ant-api03-FAKE-client-own-key";
/// The key the gateway holds for clients that bring none.
const GATEWAY_HELD_KEY: &str = "sk-ant-api03-FAKE-gateway-held";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sdk").join("anthropic_client.mjs")
}

/// `$GATEHOUSE_TEST_DEPS/anthropic-sdk/node_modules/@anthropic-ai/sdk`, after
/// checking that the right version is there. Read from this process's
/// environment: the sandbox gives Node a different `HOME`.
fn sdk_dir() -> PathBuf {
    let deps = std::env::var_os("GATEHOUSE_TEST_DEPS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").expect("HOME or GATEHOUSE_TEST_DEPS must be set");
        PathBuf::from(home).join(".cache").join("gatehouse-test")
    });
    let dir = deps.join("anthropic-sdk").join("node_modules").join("@anthropic-ai").join("sdk");
    let manifest = dir.join("package.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "the Anthropic TypeScript SDK is missing ({}: {e}); install it with scripts/install-test-deps",
            manifest.display()
        )
    });
    let version = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["version"].as_str().map(str::to_owned));
    assert_eq!(
        version.as_deref(),
        Some(SDK_VERSION),
        "{} holds the wrong SDK version; run scripts/install-test-deps",
        manifest.display()
    );
    dir
}

/// The `node` to run: `$GATEHOUSE_NODE`, or `node` on `PATH`. Panics with
/// a clear message when there is none.
fn node() -> PathBuf {
    let node = std::env::var_os("GATEHOUSE_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    match Command::new(&node).arg("--version").stdin(Stdio::null()).output() {
        Ok(output) if output.status.success() => node,
        Ok(output) => panic!(
            "`{} --version` failed: {}; Node.js is needed to run the Anthropic SDK",
            node.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => panic!(
            "cannot run Node.js (`{}`: {e}); install Node.js 18+ and run scripts/install-test-deps",
            node.display()
        ),
    }
}

/// How the SDK authenticates to Anthropic (through the gateway).
#[derive(Clone, Copy)]
enum Credential {
    /// The SDK's `apiKey` option.
    ApiKeyOption,
    /// `x-api-key` in the SDK's `defaultHeaders`.
    XApiKeyHeader,
    /// None: the gateway must add its own.
    None,
}

impl Credential {
    fn arg(self) -> &'static str {
        match self {
            Credential::ApiKeyOption => "api-key",
            Credential::XApiKeyHeader => "x-api-key",
            Credential::None => "none",
        }
    }
}

/// How the gateway key reaches the SDK.
enum GatewayKey<'a> {
    /// `defaultHeaders` in the script.
    DefaultHeaders(&'a str),
    /// `ANTHROPIC_CUSTOM_HEADERS`, which the SDK reads itself, as Claude Code does.
    CustomHeadersEnv(&'a str),
}

/// Runs the SDK script once and returns its JSON result. Secrets go in
/// the environment, never in argv.
async fn run_sdk(
    sandbox: &Sandbox,
    gateway: &GatewayProcess,
    stream: bool,
    credential: Credential,
    key: GatewayKey<'_>,
) -> Value {
    let mut command = Command::new(node());
    // Nothing from the outer environment (ANTHROPIC_*, NODE_OPTIONS, proxies)
    // reaches the SDK; the sandbox supplies HOME and the rest.
    command.env_clear();
    sandbox.isolate(&mut command);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
        .arg(script())
        .arg(&gateway.base_url)
        .arg(if stream { "stream" } else { "nonstream" })
        .arg(credential.arg())
        .env("GATEHOUSE_SDK_DIR", sdk_dir())
        .env("CLIENT_API_KEY", CLIENT_KEY)
        .stdin(Stdio::null());
    match key {
        GatewayKey::DefaultHeaders(key) => command.env("GATEHOUSE_KEY", key),
        GatewayKey::CustomHeadersEnv(key) => command.env("ANTHROPIC_CUSTOM_HEADERS", format!("x-gatehouse-key: {key}")),
    };
    let output = tokio::time::timeout(Duration::from_secs(60), tokio::process::Command::from(command).output())
        .await
        .expect("the SDK script did not finish within 60 s")
        .expect("running node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the SDK script failed ({}):\nstdout: {stdout}\nstderr: {stderr}\ngateway log:\n{}",
        output.status,
        gateway.log()
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the SDK script printed no JSON ({e}):\nstdout: {stdout}\nstderr: {stderr}"))
}

fn header<'r>(request: &'r RecordedRequest, name: &str) -> Option<&'r str> {
    request.header(name).map(|v| std::str::from_utf8(v).expect("UTF-8 header"))
}

/// The only request the mock received.
fn single_request(mock: &MockAnthropic) -> RecordedRequest {
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "the mock should see exactly one request: {requests:#?}");
    let request = requests.into_iter().next().unwrap_or_else(|| unreachable!());
    assert_eq!(request.method, "POST");
    assert_eq!(request.path_and_query, "/v1/messages");
    request
}

/// Checks a successful SDK result and the ledger row it left.
fn assert_success(result: &Value, row: &LedgerRow, client: &str, streamed: bool) {
    assert_eq!(result["ok"], true, "the SDK call failed: {result:#}");
    assert_eq!(result["status"], 200);
    assert_eq!(result["text"], DEFAULT_REPLY, "{result:#}");
    assert_eq!(result["model"], "claude-sonnet-4-5");
    assert_eq!(result["stop_reason"], "end_turn");
    assert_eq!(result["headers"]["x-gatehouse-upstream"], "anthropic", "{result:#}");
    assert!(result["headers"]["request-id"].as_str().is_some_and(|id| id.starts_with("req_")), "{result:#}");

    let usage = MockUsage::default();
    let sdk = &result["usage"];
    assert_eq!(sdk["input_tokens"], usage.input_tokens, "{sdk:#}");
    assert_eq!(sdk["output_tokens"], usage.output_tokens, "{sdk:#}");
    assert_eq!(sdk["cache_read_input_tokens"], usage.cache_read, "{sdk:#}");
    assert_eq!(sdk["cache_creation_input_tokens"], usage.cache_creation_5m + usage.cache_creation_1h, "{sdk:#}");

    assert_eq!(row.client, client);
    assert_eq!(row.upstream, "anthropic");
    assert_eq!(row.model, "claude-sonnet-4-5");
    assert_eq!(row.status, 200);
    assert_eq!(row.streamed, streamed);
    assert!(row.complete, "the SDK read the whole response, so the ledger row must be complete: {row:#?}");
    assert_eq!(row.error_type, None);
    assert_eq!(row.request_id.as_deref(), result["headers"]["request-id"].as_str());
    assert_eq!(row.input_tokens, usage.input_tokens);
    assert_eq!(row.output_tokens, usage.output_tokens);
    assert_eq!(row.cache_write_5m_tokens, usage.cache_creation_5m);
    assert_eq!(row.cache_write_1h_tokens, usage.cache_creation_1h);
    assert_eq!(row.cache_read_tokens, usage.cache_read);
    // The ledger agrees with what the SDK itself reported.
    assert_eq!(sdk["input_tokens"], row.input_tokens);
    assert_eq!(sdk["output_tokens"], row.output_tokens);
    assert_eq!(sdk["cache_read_input_tokens"], row.cache_read_tokens);
    assert_eq!(sdk["cache_creation_input_tokens"], row.cache_write_5m_tokens + row.cache_write_1h_tokens);
    assert!(row.cost_usd.is_some_and(|cost| cost > 0.0), "{row:#?}");
}

/// A sandbox with one issued key, a mock, and a gateway that also holds a
/// key of its own, to show it is not used when the client brings one.
async fn setup(client: &str, gateway_env: &[(&str, &str)]) -> (Sandbox, MockAnthropic, GatewayProcess, String) {
    let sandbox = Sandbox::new();
    let key = sandbox.issue_key(client);
    let mock = MockAnthropic::start().await.expect("starting the mock Anthropic API");
    let gateway = sandbox.start_gateway(&mock.base_url(), gateway_env);
    (sandbox, mock, gateway, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_non_streaming_with_its_own_api_key() {
    let (sandbox, mock, gateway, key) =
        setup("sdk-nonstream", &[("GATEHOUSE_ANTHROPIC_API_KEY", GATEWAY_HELD_KEY)]).await;

    // The SDK's `apiKey` option: 1.12.0 sends it as a bearer token.
    let result = run_sdk(&sandbox, &gateway, false, Credential::ApiKeyOption, GatewayKey::DefaultHeaders(&key)).await;
    let rows = sandbox.ledger_rows(1);
    assert_eq!(rows.len(), 1, "{rows:#?}\n{}", gateway.log());
    assert_success(&result, &rows[0], "sdk-nonstream", false);
    let request = single_request(&mock);
    assert_eq!(header(&request, "authorization"), Some(format!("Bearer {CLIENT_KEY}").as_str()));
    assert_eq!(header(&request, "x-api-key"), None, "the gateway must not add its key to a client's own");
    assert_eq!(header(&request, "x-gatehouse-key"), None, "the gateway key must not reach the upstream");
    assert_eq!(request.json()["stream"], Value::Null);
    assert!(header(&request, "user-agent").is_some_and(|ua| ua.starts_with("Anthropic/JS ")));

    // `x-api-key` set by the client itself passes through unchanged.
    let result = run_sdk(&sandbox, &gateway, false, Credential::XApiKeyHeader, GatewayKey::DefaultHeaders(&key)).await;
    let rows = sandbox.ledger_rows(2);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_success(&result, &rows[1], "sdk-nonstream", false);
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(header(&requests[1], "x-api-key"), Some(CLIENT_KEY));
    assert_eq!(header(&requests[1], "authorization"), None);
    assert_eq!(header(&requests[1], "x-gatehouse-key"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_streaming_final_message_matches_the_ledger() {
    let (sandbox, mock, gateway, key) = setup("sdk-stream", &[("GATEHOUSE_ANTHROPIC_API_KEY", GATEWAY_HELD_KEY)]).await;

    // The gateway key through ANTHROPIC_CUSTOM_HEADERS, the way Gatehouse
    // configures Claude Code.
    let result = run_sdk(&sandbox, &gateway, true, Credential::XApiKeyHeader, GatewayKey::CustomHeadersEnv(&key)).await;
    let rows = sandbox.ledger_rows(1);
    assert_eq!(rows.len(), 1, "{rows:#?}\n{}", gateway.log());
    assert_success(&result, &rows[0], "sdk-stream", true);
    assert_eq!(result["streamed_text"], DEFAULT_REPLY);
    assert!(
        result["headers"]["content-type"].as_str().is_some_and(|ct| ct.starts_with("text/event-stream")),
        "{result:#}"
    );
    let events: Vec<&str> = result["events"].as_array().expect("events").iter().filter_map(Value::as_str).collect();
    assert_eq!(events.first(), Some(&"message_start"), "{events:?}");
    assert_eq!(events.last(), Some(&"message_stop"), "{events:?}");
    assert!(events.contains(&"message_delta"), "{events:?}");

    let request = single_request(&mock);
    assert_eq!(request.json()["stream"], true);
    assert_eq!(header(&request, "x-api-key"), Some(CLIENT_KEY));
    assert_eq!(header(&request, "authorization"), None);
    assert_eq!(header(&request, "x-gatehouse-key"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_without_a_credential_uses_the_gateway_held_key() {
    let (sandbox, mock, gateway, key) =
        setup("sdk-no-credential", &[("GATEHOUSE_ANTHROPIC_API_KEY", GATEWAY_HELD_KEY)]).await;

    for (stream, rows) in [(false, 1), (true, 2)] {
        let result = run_sdk(&sandbox, &gateway, stream, Credential::None, GatewayKey::DefaultHeaders(&key)).await;
        let ledger = sandbox.ledger_rows(rows);
        assert_eq!(ledger.len(), rows, "{ledger:#?}\n{}", gateway.log());
        assert_success(&result, &ledger[rows - 1], "sdk-no-credential", stream);
    }
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(header(request, "x-api-key"), Some(GATEWAY_HELD_KEY));
        assert_eq!(header(request, "authorization"), None);
        assert_eq!(header(request, "x-gatehouse-key"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_without_any_credential_gets_the_gateways_401() {
    // No key held by the gateway either: the gateway says what to do.
    let (sandbox, mock, gateway, key) = setup("sdk-nothing", &[]).await;
    let result = run_sdk(&sandbox, &gateway, false, Credential::None, GatewayKey::DefaultHeaders(&key)).await;
    let error = &result["error"];
    assert_eq!(result["ok"], false, "{result:#}");
    assert_eq!(error["class"], "AuthenticationError", "{result:#}");
    assert_eq!(error["status"], 401);
    assert_eq!(error["type"], "authentication_error");
    let message = error["api_message"].as_str().expect("api_message");
    assert!(message.contains("GATEHOUSE_ANTHROPIC_API_KEY"), "{message}");
    assert!(mock.requests().is_empty(), "nothing may reach the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_surfaces_a_wrong_gateway_key_as_authentication_error() {
    let (sandbox, mock, gateway, _key) = setup("sdk-wrong-key", &[]).await;

    for stream in [false, true] {
        let result = run_sdk(
            &sandbox,
            &gateway,
            stream,
            Credential::ApiKeyOption,
            GatewayKey::DefaultHeaders("ghk_not_a_real_key"),
        )
        .await;
        assert_eq!(result["ok"], false, "{result:#}");
        let error = &result["error"];
        assert_eq!(error["class"], "AuthenticationError", "{result:#}");
        assert_eq!(error["status"], 401);
        assert_eq!(error["type"], "authentication_error");
        let message = error["api_message"].as_str().expect("api_message");
        assert!(message.contains("unknown or revoked gateway key"), "{message}");
        assert!(error["message"].as_str().is_some_and(|m| m.starts_with("401 ")), "{result:#}");
        assert_eq!(error["headers"]["x-gatehouse-error"], "1", "{result:#}");
    }
    assert!(mock.requests().is_empty(), "a rejected request must not reach the upstream");
    assert!(sandbox.ledger_rows(0).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_surfaces_an_upstream_429_as_rate_limit_error() {
    let (sandbox, mock, gateway, key) = setup("sdk-429", &[]).await;

    for (stream, rows) in [(false, 1), (true, 2)] {
        mock.push(Scenario::RateLimited);
        let result =
            run_sdk(&sandbox, &gateway, stream, Credential::XApiKeyHeader, GatewayKey::DefaultHeaders(&key)).await;
        assert_eq!(result["ok"], false, "{result:#}");
        let error = &result["error"];
        assert_eq!(error["class"], "RateLimitError", "{result:#}");
        assert_eq!(error["status"], 429);
        assert_eq!(error["type"], "rate_limit_error");
        assert!(error["api_message"].as_str().is_some_and(|m| m.contains("rate limit")), "{result:#}");
        assert_eq!(error["headers"]["x-gatehouse-upstream"], "anthropic", "{result:#}");
        assert!(error["headers"]["retry-after"].is_string(), "{result:#}");

        let ledger = sandbox.ledger_rows(rows);
        assert_eq!(ledger.len(), rows, "{ledger:#?}");
        let row = &ledger[rows - 1];
        assert_eq!(row.client, "sdk-429");
        assert_eq!(row.status, 429);
        assert_eq!(row.streamed, stream);
        assert_eq!(row.error_type.as_deref(), Some("rate_limit_error"));
        assert_eq!((row.input_tokens, row.output_tokens), (0, 0));
    }
    // maxRetries 0: one request per call.
    assert_eq!(mock.requests().len(), 2);
}
