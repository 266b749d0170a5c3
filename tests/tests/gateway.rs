//! The gateway over real HTTP: the `gatehouse` binary between a reqwest
//! client and the mock Anthropic API. Covers passthrough, streaming,
//! safety checks, upstream failures, rate-limit capture and the ledger.

use std::time::Duration;

use futures_util::StreamExt;
use gatehouse_e2e::harness::{GatewayProcess, Sandbox, anthropic_error};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use serde_json::{Value, json};

const API_KEY: &str = "sk-ant-api03-FAKE-e2e-client-key-987654321";
const OAUTH_TOKEN: &str = "sk-ant-oat01-FAKE-e2e-gateway-test-token-123456789";

struct Rig {
    mock: MockAnthropic,
    sandbox: Sandbox,
    gateway: GatewayProcess,
    key: String,
    http: reqwest::Client,
}

async fn rig_with(config: &str, env: &[(&str, &str)]) -> Rig {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    if !config.is_empty() {
        std::fs::write(sandbox.config_file(), config).unwrap();
    }
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&mock.base_url(), env);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Rig { mock, sandbox, gateway, key, http }
}

async fn rig() -> Rig {
    rig_with("", &[]).await
}

fn body(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi ☕"}],
        "metadata": {"user_id": "{\"device_id\":\"d3v1ce\",\"account_uuid\":\"\",\"session_id\":\"5e55-10n\"}"},
    })
}

impl Rig {
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.gateway.base_url))
            .header("x-gatehouse-key", &self.key)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
    }

    fn messages(&self) -> reqwest::RequestBuilder {
        self.post("/v1/messages?beta=true").header("x-api-key", API_KEY)
    }

    /// A Messages request as a logged-in subscriber's Claude Code sends it.
    async fn subscription_request(&self) -> reqwest::Response {
        self.post("/v1/messages")
            .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
            .json(&body("claude-opus-5-5", false))
            .send()
            .await
            .unwrap()
    }

    async fn status(&self) -> Value {
        self.http.get(format!("{}/status", self.gateway.base_url)).send().await.unwrap().json().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_passes_through_and_is_recorded() {
    let rig = rig().await;
    let response =
        rig.messages().header("x-custom-thing", "kept").json(&body("claude-sonnet-4-5", false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-gatehouse-upstream"], "anthropic");
    assert!(response.headers().contains_key("request-id"));
    let message: Value = response.json().await.unwrap();
    assert_eq!(message["type"], "message");

    let seen = &rig.mock.requests()[0];
    assert_eq!(seen.path_and_query, "/v1/messages?beta=true", "the query string must be kept");
    assert_eq!(seen.header("x-api-key"), Some(API_KEY.as_bytes()));
    assert_eq!(seen.header("x-custom-thing"), Some(&b"kept"[..]));
    assert_eq!(seen.header("x-gatehouse-key"), None);
    assert_eq!(seen.json(), body("claude-sonnet-4-5", false), "the body must arrive unchanged");

    let rows = rig.sandbox.ledger_rows(1);
    let row = &rows[0];
    assert_eq!((row.client.as_str(), row.model.as_str(), row.status), ("tester", "claude-sonnet-4-5", 200));
    assert!(!row.streamed && row.complete);
    assert_eq!((row.input_tokens, row.output_tokens, row.cache_read_tokens), (12, 57, 30000));
    assert_eq!((row.cache_write_5m_tokens, row.cache_write_1h_tokens), (1500, 300));
    // Sonnet 4.5: $3 in, $15 out, $3.75 5-minute write, $6 1-hour write, $0.30 read.
    let expected = (12.0 * 3.0 + 57.0 * 15.0 + 1500.0 * 3.75 + 300.0 * 6.0 + 30000.0 * 0.3) / 1e6;
    assert!((row.cost_usd.unwrap() - expected).abs() < 1e-12, "{row:?}");
    assert_eq!(row.session_id.as_deref(), Some("5e55-10n"));
    assert_eq!(row.device_id.as_deref(), Some("d3v1ce"));
    assert_eq!(row.request_id.as_deref().map(|r| r.starts_with("req_")), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_arrives_incrementally_and_unchanged() {
    let rig = rig().await;
    rig.mock.push(Scenario::SlowStream { chunk_delay: Duration::from_millis(150) });
    let response = rig.messages().json(&body("claude-opus-5-5", true)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut stream = response.bytes_stream();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk.expect("stream chunk"));
    }
    // A buffering proxy would deliver the paced events in one piece.
    assert!(chunks.len() >= 4, "expected the events to arrive separately, got {} chunk(s)", chunks.len());
    let first = String::from_utf8_lossy(&chunks[0]);
    assert!(first.starts_with("event: message_start\n") && !first.contains("message_stop"), "{first}");
    let all: Vec<u8> = chunks.concat();
    let text = String::from_utf8(all).unwrap();
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{text}");

    let row = &rig.sandbox.ledger_rows(1)[0];
    assert!(row.streamed && row.complete, "{row:?}");
    assert_eq!((row.output_tokens, row.cache_write_1h_tokens), (57, 300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_dying_mid_stream_ends_with_an_sse_error_and_an_incomplete_row() {
    let rig = rig().await;
    rig.mock.push(Scenario::DropMidStream);
    let response = rig.messages().json(&body("claude-opus-5-5", true)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("the gateway ends the stream cleanly");
    assert!(text.starts_with("event: message_start"), "{text}");
    let (_, last_event) = text.trim_end().rsplit_once("\n\n").unwrap();
    assert!(last_event.starts_with("event: error\ndata: "), "{last_event}");
    let error: Value = serde_json::from_str(last_event.split_once("data: ").unwrap().1).unwrap();
    assert_eq!(error["error"]["type"], "api_error");
    assert!(error["error"]["message"].as_str().unwrap().contains("upstream `anthropic`"), "{error}");

    let row = &rig.sandbox.ledger_rows(1)[0];
    assert!(!row.complete, "{row:?}");
    assert_eq!(row.error_type.as_deref(), Some("upstream_failed"));
    assert_eq!(row.input_tokens, 12, "usage seen before the cut is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_hanging_up_mid_stream_is_recorded_incomplete() {
    let rig = rig().await;
    rig.mock.push(Scenario::SlowStream { chunk_delay: Duration::from_millis(300) });
    let response = rig.messages().json(&body("claude-opus-5-5", true)).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let _first = stream.next().await.unwrap().unwrap();
    drop(stream);
    let rows = rig.sandbox.ledger_rows(1);
    assert!(!rows[0].complete);
    assert_eq!(rows[0].error_type.as_deref(), Some("client_gone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_quota_rejection_passes_through_and_updates_status() {
    let rig = rig().await;
    // First an allowed subscription request, then the quota runs out.
    assert_eq!(rig.subscription_request().await.status(), 200);
    let status = rig.status().await;
    assert_eq!(status["rate_limits"]["unified_status"], "allowed");
    assert_eq!(status["rate_limits"]["windows"]["5h"]["utilization"], 0.42);

    rig.mock.push(Scenario::RateLimited);
    let rejected = rig.subscription_request().await;
    assert_eq!(rejected.status(), 429);
    assert!(rejected.headers().contains_key("retry-after"));
    assert_eq!(rejected.headers()["anthropic-ratelimit-unified-status"], "rejected");
    let (_, kind, _) = anthropic_error(rejected).await;
    assert_eq!(kind, "rate_limit_error");

    let status = rig.status().await;
    let limits = &status["rate_limits"];
    assert_eq!(limits["unified_status"], "rejected");
    assert_eq!(limits["representative_claim"], "five_hour");
    assert_eq!(limits["windows"]["5h"]["utilization"], 1.0);
    assert!(limits["retry_after_secs"].as_u64().is_some(), "{limits}");
    assert!(limits["windows"]["5h"]["resets_at"].as_i64().is_some(), "{limits}");

    let text = rig.sandbox.run_ok(&["status"]);
    assert!(text.contains("5-hour window: rejected until "), "{text}");
    let rows = rig.sandbox.ledger_rows(2);
    assert_eq!(rows[1].status, 429);
    assert_eq!(rows[1].error_type.as_deref(), Some("rate_limit_error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_pass_through_with_their_status() {
    let rig = rig().await;
    for (scenario, status, kind) in
        [(Scenario::Overloaded, 529, "overloaded_error"), (Scenario::ServerError, 500, "api_error")]
    {
        rig.mock.push(scenario);
        let response = rig.messages().json(&body("claude-opus-5-5", true)).send().await.unwrap();
        let (got_status, got_kind, _) = anthropic_error(response).await;
        assert_eq!((got_status, got_kind.as_str()), (status, kind));
    }
    let rows = rig.sandbox.ledger_rows(2);
    assert_eq!(rows.iter().map(|r| r.status).collect::<Vec<_>>(), vec![529, 500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_is_required_and_checked() {
    let rig = rig().await;
    let url = format!("{}/v1/messages", rig.gateway.base_url);
    let send_with = |key: Option<&str>| {
        let mut request = rig.http.post(&url).header("x-api-key", API_KEY).json(&body("claude-opus-5-5", false));
        if let Some(key) = key {
            request = request.header("x-gatehouse-key", key);
        }
        request.send()
    };
    let (status, kind, message) = anthropic_error(send_with(None).await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(message.contains("x-gatehouse-key") && message.contains("gatehouse claude configure"), "{message}");

    let (status, kind, _) = anthropic_error(send_with(Some("ghk_not-a-real-key")).await.unwrap()).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(rig.mock.requests().is_empty(), "nothing may reach the upstream without a valid key");

    // A key issued while the gateway runs works at once.
    let fresh = rig.sandbox.issue_key("late-comer");
    assert_eq!(send_with(Some(&fresh)).await.unwrap().status(), 200);
    assert_eq!(rig.sandbox.ledger_rows(1)[0].client, "late-comer");

    // A revoked key stops working without a restart too, within a second.
    rig.sandbox.run_ok(&["keys", "revoke", "late-comer"]);
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let status = send_with(Some(&fresh)).await.unwrap().status().as_u16();
        statuses.push(status);
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(statuses.last(), Some(&401), "the revoked key kept working: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_and_foreign_hosts_are_refused() {
    let rig = rig().await;
    let origin = rig.messages().header("origin", "https://evil.example").json(&body("m", false)).send().await.unwrap();
    assert_eq!(anthropic_error(origin).await.1, "permission_error");
    let host = rig.messages().header("host", "evil.example:7411").json(&body("m", false)).send().await.unwrap();
    let (status, kind, message) = anthropic_error(host).await;
    assert_eq!((status, kind.as_str()), (403, "permission_error"));
    assert!(message.contains("127.0.0.1"), "{message}");
    let health_rebound =
        rig.http.get(format!("{}/status", rig.gateway.base_url)).header("host", "evil.example").send().await.unwrap();
    assert_eq!(health_rebound.status(), 403);
    assert!(rig.mock.requests().is_empty());
    let health = rig.http.get(format!("{}/health", rig.gateway.base_url)).send().await.unwrap();
    assert_eq!(health.status(), 200, "health needs no key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_anthropic_shaped_errors() {
    let rig = rig_with("[gateway]\nmax_body_bytes = 4096\n", &[]).await;
    let malformed = rig.messages().body("{\"model\": \"claude-opus-5-5\", \"messages\": [").send().await.unwrap();
    let (status, kind, message) = anthropic_error(malformed).await;
    assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    assert!(message.contains("not valid JSON"), "{message}");

    let no_model = rig.messages().json(&json!({"messages": []})).send().await.unwrap();
    let (status, _, message) = anthropic_error(no_model).await;
    assert_eq!(status, 400);
    assert!(message.contains("model"), "{message}");

    let big = json!({"model": "claude-opus-5-5", "messages": [{"role": "user", "content": "x".repeat(10_000)}]});
    let too_large = rig.messages().json(&big).send().await.unwrap();
    let (status, kind, message) = anthropic_error(too_large).await;
    assert_eq!((status, kind.as_str()), (413, "request_too_large"));
    assert!(message.contains("4096") && message.contains("max_body_bytes"), "{message}");

    // Without a Content-Length the limit still holds.
    let chunks = futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1000])));
    let chunked = rig.messages().body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
    assert_eq!(chunked.status(), 413);

    let unknown = rig.http.get(format!("{}/nope", rig.gateway.base_url)).send().await.unwrap();
    assert_eq!(anthropic_error(unknown).await.1, "not_found_error");
    assert!(rig.mock.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_upstream_is_a_502_naming_it() {
    let sandbox = Sandbox::new();
    let key = sandbox.issue_key("tester");
    // A port that was just free: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let gateway = sandbox.start_gateway(&format!("http://{dead}"), &[]);
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/v1/messages", gateway.base_url))
        .header("x-gatehouse-key", &key)
        .header("x-api-key", API_KEY)
        .json(&body("claude-opus-5-5", true))
        .send()
        .await
        .unwrap();
    let (status, kind, message) = anthropic_error(response).await;
    assert_eq!((status, kind.as_str()), (502, "api_error"));
    assert!(message.contains("upstream `anthropic`") && message.contains(&dead.to_string()), "{message}");
    let row = &sandbox.ledger_rows(1)[0];
    assert_eq!((row.status, row.error_type.as_deref(), row.complete), (502, Some("upstream_unreachable"), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_the_client_lacks_come_from_the_gateway_or_a_clear_error() {
    let rig = rig().await;
    let bare = rig.post("/v1/messages").json(&body("claude-opus-5-5", false)).send().await.unwrap();
    let (status, kind, message) = anthropic_error(bare).await;
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(message.contains("GATEHOUSE_ANTHROPIC_API_KEY") && message.contains("claude auth login"), "{message}");
    drop(rig);

    let held = "sk-ant-api03-FAKE-gateway-held-key-5555";
    let rig = rig_with("", &[("GATEHOUSE_ANTHROPIC_API_KEY", held)]).await;
    let response = rig.post("/v1/messages").json(&body("claude-opus-5-5", false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(rig.mock.requests()[0].header("x-api-key"), Some(held.as_bytes()));
    // A client's own login always wins over the gateway's key.
    assert_eq!(rig.subscription_request().await.status(), 200);
    let second = &rig.mock.requests()[1];
    assert_eq!(second.header("x-api-key"), None);
    assert_eq!(second.header("authorization"), Some(format!("Bearer {OAUTH_TOKEN}").as_bytes()));

    let log = rig.gateway.log();
    assert!(!log.contains(held) && !log.contains(OAUTH_TOKEN), "secrets in the gateway log:\n{log}");
    let config = std::fs::read_to_string(rig.sandbox.config_file()).unwrap();
    assert!(!config.contains(&rig.key), "the gateway key itself must never be stored");
    let ledger = std::fs::read(rig.sandbox.ledger_file()).unwrap();
    for secret in [held, OAUTH_TOKEN, rig.key.as_str()] {
        assert!(!String::from_utf8_lossy(&ledger).contains(secret), "a secret reached the ledger");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_endpoints_pass_through() {
    let rig = rig().await;
    let count = rig
        .post("/v1/messages/count_tokens")
        .header("x-api-key", API_KEY)
        .json(&body("claude-opus-5-5", false))
        .send()
        .await
        .unwrap();
    assert_eq!(count.status(), 200);
    assert!(count.json::<Value>().await.unwrap()["input_tokens"].as_u64().unwrap() > 0);
    let models = rig
        .http
        .get(format!("{}/v1/models", rig.gateway.base_url))
        .header("x-gatehouse-key", &rig.key)
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
    assert_eq!(models.headers()["x-gatehouse-upstream"], "anthropic");
    assert!(models.json::<Value>().await.unwrap()["data"].as_array().is_some_and(|d| !d.is_empty()));
    // Only Messages requests cost money, so only they are in the ledger.
    let response = rig.messages().json(&body("claude-opus-5-5", false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(rig.sandbox.ledger_rows(1).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_models_are_flagged_not_free() {
    let rig = rig().await;
    let response = rig.messages().json(&body("claude-mystery-9", false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let row = &rig.sandbox.ledger_rows(1)[0];
    assert_eq!(row.cost_usd, None, "an unknown model must not become $0");
    let report: Value = serde_json::from_str(&rig.sandbox.run_ok(&["spend", "--json"])).unwrap();
    assert_eq!(report["total"]["unpriced_requests"], 1);
    assert_eq!(report["total"]["unpriced_models"], json!(["claude-mystery-9"]));
    let table = rig.sandbox.run_ok(&["spend", "--by", "model"]);
    assert!(table.contains("no known price") && table.contains("claude-mystery-9"), "{table}");
    let csv = rig.sandbox.run_ok(&["spend", "--csv", "--by", "model"]);
    assert!(csv.starts_with("key,requests,cost_usd,"), "{csv}");

    // A price override in config.toml applies from the next gateway start.
    drop(rig);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_overrides_apply() {
    let config = "[pricing.models.\"claude-mystery-9\"]\ninput = 1.0\noutput = 2.0\ncache_write_5m = 3.0\ncache_write_1h = 4.0\ncache_read = 5.0\n";
    let rig = rig_with(config, &[]).await;
    let response = rig.messages().json(&body("claude-mystery-9", false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let row = &rig.sandbox.ledger_rows(1)[0];
    let expected = (12.0 * 1.0 + 57.0 * 2.0 + 1500.0 * 3.0 + 300.0 * 4.0 + 30000.0 * 5.0) / 1e6;
    assert!((row.cost_usd.unwrap() - expected).abs() < 1e-12, "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_commits_every_row_and_removes_the_runtime_file() {
    let rig = rig().await;
    for _ in 0..5 {
        let response = rig.messages().json(&body("claude-opus-5-5", true)).send().await.unwrap();
        response.bytes().await.unwrap();
    }
    let runtime_file = rig.sandbox.gatehouse_home().join("state").join("gateway.json");
    assert!(runtime_file.exists());
    let status = rig.gateway.stop();
    assert!(status.success(), "graceful stop exits 0: {status:?}");
    assert!(!runtime_file.exists());
    assert_eq!(rig.sandbox.ledger_rows(5).len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_windows_survive_a_gateway_restart_and_status_dates_them() {
    // A port of our own, so that `gatehouse status` with the gateway stopped
    // asks a port where nothing answers.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rig = rig_with(&format!("[gateway]\nport = {port}\n"), &[]).await;
    assert_eq!(rig.subscription_request().await.status(), 200);
    rig.mock.push(Scenario::RateLimited);
    assert_eq!(rig.subscription_request().await.status(), 429);

    let running = rig.sandbox.run(&["status"]);
    assert_eq!(running.status.code(), Some(0));
    let text = String::from_utf8(running.stdout).unwrap();
    assert!(text.contains("Subscription: rejected until "), "{text}");
    assert!(text.contains(", as of "), "{text}");

    let Rig { mock, sandbox, gateway, .. } = rig;
    assert!(gateway.stop().success());
    let saved: Value =
        serde_json::from_slice(&std::fs::read(sandbox.gatehouse_home().join("state/ratelimit.json")).unwrap())
            .expect("the gateway saved its last rate-limit snapshot");
    assert_eq!(saved["unified_status"], "rejected");

    // No gateway: `status` says so with exit code 3, and still shows the windows last seen.
    let stopped = sandbox.run(&["status"]);
    assert_eq!(stopped.status.code(), Some(3), "{stopped:?}");
    let text = String::from_utf8(stopped.stdout).unwrap();
    assert!(text.contains("Gateway: not running or not healthy"), "{text}");
    assert!(text.contains("Last seen by the gateway:") && text.contains("5-hour window: rejected until "), "{text}");
    assert_eq!(sandbox.run(&["status", "--json"]).status.code(), Some(3));

    // A new gateway starts from the saved windows.
    let restarted = sandbox.start_gateway(&mock.base_url(), &[]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let status: Value = http.get(format!("{}/status", restarted.base_url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["rate_limits"]["unified_status"], "rejected", "{status}");
    assert_eq!(status["rate_limits"]["windows"]["5h"]["utilization"], 1.0, "{status}");
    assert_eq!(status["rate_limits"]["observed_at"], saved["observed_at"]);
    drop(restarted);
}
