//! The gateway against an HTTPS upstream, the way real users reach
//! `https://api.anthropic.com`: TLS verified against the machine's trusted
//! roots, HTTP/2 when the upstream offers it through ALPN and HTTP/1.1
//! when it does not, and a clear Anthropic-shaped error when the upstream's
//! certificate is not trusted.
//!
//! The upstream is the mock Anthropic API served over TLS on 127.0.0.1 with
//! a certificate for `localhost` from a CA made by the test. The gateway is
//! told to trust that CA the way a user's machine would be: through
//! `SSL_CERT_FILE`, which rustls-native-certs reads in place of the system
//! store, set in the gateway's environment only. Nothing leaves loopback.

use std::net::ToSocketAddrs;
use std::path::PathBuf;

use gatehouse_e2e::harness::{GatewayProcess, Sandbox};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use gatehouse_e2e::test_ca::TestCa;
use http::Version;
use serde_json::{Value, json};

const API_KEY: &str = "sk-ant-api03-FAKE-e2e-tls-client-key-24680";
const MODEL: &str = "claude-sonnet-4-5";

/// What the upstream offers through ALPN.
const H2_AND_HTTP1: &[&[u8]] = &[b"h2", b"http/1.1"];
const HTTP1_ONLY: &[&[u8]] = &[b"http/1.1"];

/// The mock serves `https://localhost:PORT`; the test must stay on this
/// machine, so `localhost` has to resolve to loopback addresses only.
fn assert_localhost_is_loopback() {
    let addresses: Vec<_> = ("localhost", 443).to_socket_addrs().expect("resolving localhost").collect();
    assert!(
        !addresses.is_empty() && addresses.iter().all(|address| address.ip().is_loopback()),
        "localhost resolves beyond loopback: {addresses:?}"
    );
}

/// An HTTPS mock upstream and the CA that signed its certificate.
struct HttpsUpstream {
    mock: MockAnthropic,
    ca: TestCa,
}

async fn https_upstream(alpn: &[&[u8]]) -> HttpsUpstream {
    assert_localhost_is_loopback();
    let ca = TestCa::new();
    let tls = ca.issue(&["localhost"]).server_config(alpn);
    let mock = MockAnthropic::start_tls(tls).await.expect("TLS mock");
    HttpsUpstream { mock, ca }
}

/// Writes `ca` into the sandbox, as the PEM file a machine's trust store would be.
fn trust_file(sandbox: &Sandbox, ca: &TestCa, name: &str) -> PathBuf {
    let path = sandbox.dir.path().join(name);
    ca.write_pem(&path);
    path
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn messages(gateway: &GatewayProcess, key: &str, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/v1/messages?beta=true", gateway.base_url))
        .header("x-gatehouse-key", key)
        .header("x-api-key", API_KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body)
}

/// A request of a few hundred KB, as Claude Code sends, with multi-byte
/// characters: larger than HTTP/2's initial 64 KB flow-control window, so
/// the body must cross several window updates intact.
fn big_body(stream: bool) -> Value {
    let history: String = (0..20_000).map(|i| format!("zdanie {i} ☕ ")).collect();
    json!({
        "model": MODEL,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": history}],
        "metadata": {"user_id": "{\"device_id\":\"d3v1ce\",\"account_uuid\":\"\",\"session_id\":\"t15-5e55\"}"},
    })
}

/// A reply of about 200 KB, multi-byte and in many SSE deltas, so the
/// response too is larger than one flow-control window.
fn long_reply() -> String {
    (0..15_000).map(|i| format!("słowo{i}→☕ ")).collect()
}

/// The `event:` names and `data:` JSON of an SSE body.
fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            let (event, data) = block.split_once('\n').expect("event and data lines");
            let event = event.strip_prefix("event: ").expect("event line");
            let data = data.strip_prefix("data: ").expect("data line");
            (event.to_string(), serde_json::from_str(data).expect("data is JSON"))
        })
        .collect()
}

/// Checks a ledger row against the mock's default usage, priced as Sonnet 4.5.
fn assert_recorded(row: &gatehouse_e2e::harness::LedgerRow, streamed: bool, request_id: &str) {
    assert_eq!((row.client.as_str(), row.model.as_str(), row.upstream.as_str()), ("tester", MODEL, "anthropic"));
    assert_eq!((row.status, row.streamed, row.complete), (200, streamed, true), "{row:?}");
    assert_eq!((row.input_tokens, row.output_tokens, row.cache_read_tokens), (12, 57, 30000), "{row:?}");
    assert_eq!((row.cache_write_5m_tokens, row.cache_write_1h_tokens), (1500, 300), "{row:?}");
    // Sonnet 4.5: $3 in, $15 out, $3.75 5-minute write, $6 1-hour write, $0.30 read.
    let expected = (12.0 * 3.0 + 57.0 * 15.0 + 1500.0 * 3.75 + 300.0 * 6.0 + 30000.0 * 0.3) / 1e6;
    assert!((row.cost_usd.expect("a priced row") - expected).abs() < 1e-12, "{row:?}");
    assert_eq!(row.session_id.as_deref(), Some("t15-5e55"));
    assert_eq!(row.request_id.as_deref(), Some(request_id), "the row names the upstream's request-id");
    assert_eq!(row.error_type, None);
}

/// Sends a non-streaming and a streaming Messages request through the
/// gateway to an HTTPS upstream offering `alpn`, checks that both arrive
/// intact in each direction and are recorded as over plain HTTP, and
/// returns the HTTP version each request reached the upstream in.
async fn relay_over_https(alpn: &[&[u8]]) -> Vec<Version> {
    let upstream = https_upstream(alpn).await;
    let sandbox = Sandbox::new();
    let ca_file = trust_file(&sandbox, &upstream.ca, "trusted-ca.pem");
    let key = sandbox.issue_key("tester");
    let gateway =
        sandbox.start_gateway(&upstream.mock.base_url(), &[("SSL_CERT_FILE", ca_file.to_str().expect("UTF-8 path"))]);
    let reply = long_reply();

    upstream.mock.push(Scenario::Text(reply.clone()));
    let sent = big_body(false);
    let response = messages(&gateway, &key, &sent).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", gateway.log());
    assert_eq!(response.headers()["x-gatehouse-upstream"], "anthropic");
    let plain_request_id = response.headers()["request-id"].to_str().unwrap().to_string();
    let declared_length = response.content_length();
    let bytes = response.bytes().await.expect("the whole reply");
    assert_eq!(declared_length, Some(bytes.len() as u64), "the upstream's Content-Length is kept and honest");
    let message: Value = serde_json::from_slice(&bytes).expect("a JSON message");
    assert_eq!(message["type"], "message");
    assert_eq!(message["content"][0]["text"].as_str(), Some(reply.as_str()), "the reply must arrive unchanged");

    upstream.mock.push(Scenario::Text(reply.clone()));
    let response = messages(&gateway, &key, &big_body(true)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", gateway.log());
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let stream_request_id = response.headers()["request-id"].to_str().unwrap().to_string();
    let text = response.text().await.expect("the whole stream");
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "the stream must end whole");
    let events = parse_sse(&text);
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    let deltas = names.iter().filter(|name| **name == "content_block_delta").count();
    assert_eq!(&names[..3], ["message_start", "content_block_start", "ping"]);
    assert_eq!(&names[names.len() - 3..], ["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(deltas, names.len() - 6, "nothing but text deltas in between: {:?}", &names[3..names.len() - 3]);
    let streamed: String =
        events.iter().filter_map(|(_, data)| data["delta"]["text"].as_str()).collect::<Vec<_>>().concat();
    assert_eq!(streamed, reply, "the streamed reply must arrive unchanged");

    let seen = upstream.mock.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].path_and_query, "/v1/messages?beta=true");
    assert_eq!(seen[0].body, serde_json::to_vec(&sent).unwrap(), "the request body must arrive byte for byte");
    assert_eq!(seen[1].json(), big_body(true));
    for request in &seen {
        assert_eq!(request.header("x-api-key"), Some(API_KEY.as_bytes()));
        assert_eq!(request.header("x-gatehouse-key"), None, "the gateway key stays on this side");
    }

    let rows = sandbox.ledger_rows(2);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_recorded(&rows[0], false, &plain_request_id);
    assert_recorded(&rows[1], true, &stream_request_id);
    seen.iter().map(|request| request.version).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_offering_h2_is_reached_over_http2() {
    let versions = relay_over_https(H2_AND_HTTP1).await;
    assert_eq!(versions, [Version::HTTP_2, Version::HTTP_2], "ALPN offered h2, so the gateway must use it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_offering_only_http1_is_reached_over_http1() {
    let versions = relay_over_https(HTTP1_ONLY).await;
    assert_eq!(versions, [Version::HTTP_11, Version::HTTP_11]);
}

/// Starts the gateway with `env` against an HTTPS upstream it must not
/// trust, sends one Messages request and checks the refusal: an
/// Anthropic-shaped 502 that names the upstream and says the certificate
/// is the problem, nothing sent upstream, and a ledger row for the failure.
async fn assert_untrusted_upstream_refused(upstream: &HttpsUpstream, sandbox: &Sandbox, env: &[(&str, &str)]) {
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&upstream.mock.base_url(), env);
    let response = messages(&gateway, &key, &big_body(false)).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["x-gatehouse-error"], "1", "the error is the gateway's own");
    let error: Value = response.json().await.expect("an Anthropic-shaped JSON error");
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["error"]["type"], "api_error", "{error}");
    let message = error["error"]["message"].as_str().expect("a message");
    assert!(message.contains("upstream `anthropic`"), "{message}");
    assert!(message.contains(&upstream.mock.base_url()), "{message}");
    assert!(message.contains("invalid peer certificate: UnknownIssuer"), "the message must say why: {message}");
    assert!(message.contains("SSL_CERT_FILE"), "the message must say what to do: {message}");
    assert!(!message.contains("unreachable"), "a refused certificate is no network problem: {message}");
    assert!(upstream.mock.requests().is_empty(), "nothing may be sent over an untrusted connection");

    let rows = sandbox.ledger_rows(1);
    let row = &rows[0];
    assert_eq!((row.status, row.complete), (502, false), "{row:?}");
    assert_eq!(row.error_type.as_deref(), Some("upstream_certificate"), "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_certificate_unknown_to_the_machine_is_refused_clearly() {
    let upstream = https_upstream(H2_AND_HTTP1).await;
    let sandbox = Sandbox::new();
    // No SSL_CERT_FILE from the test: the gateway has only the roots it
    // would have anyway, and none of them can be a CA made a moment ago.
    assert_untrusted_upstream_refused(&upstream, &sandbox, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_certificate_from_another_ca_than_ssl_cert_file_is_refused_clearly() {
    let upstream = https_upstream(H2_AND_HTTP1).await;
    let sandbox = Sandbox::new();
    // The machine trusts a CA, just not the one that signed the upstream's certificate.
    let other = trust_file(&sandbox, &TestCa::new(), "other-ca.pem");
    assert_untrusted_upstream_refused(&upstream, &sandbox, &[("SSL_CERT_FILE", other.to_str().expect("UTF-8 path"))])
        .await;
}
