//! The gateway under hostile load: idle and slow connections, too many
//! connections for the open-file limit, upstreams that end streams by
//! closing the connection, huge responses, HTTP/2, ambiguous targets,
//! unparsable requests, log injection and streams cut by a shutdown. Each
//! runs the real `gatehouse` binary between raw sockets or reqwest and the
//! mock Anthropic API.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use futures_util::StreamExt;
use gatehouse_e2e::harness::{GatewayProcess, Sandbox, anthropic_error, wait_for};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use serde_json::{Value, json};

const API_KEY: &str = "sk-ant-api03-FAKE-e2e-hostile-key-24680";

struct Rig {
    mock: MockAnthropic,
    sandbox: Sandbox,
    gateway: GatewayProcess,
    key: String,
    http: reqwest::Client,
}

async fn rig_limited(env: &[(&str, &str)], open_files: Option<(u64, u64)>) -> Rig {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway_limited(&mock.base_url(), env, open_files);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Rig { mock, sandbox, gateway, key, http }
}

async fn rig(env: &[(&str, &str)]) -> Rig {
    rig_limited(env, None).await
}

fn body(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

impl Rig {
    fn addr(&self) -> String {
        self.gateway.base_url.trim_start_matches("http://").to_string()
    }

    fn messages(&self, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/v1/messages", self.gateway.base_url))
            .header("x-gatehouse-key", &self.key)
            .header("x-api-key", API_KEY)
            .header("anthropic-version", "2023-06-01")
            .json(body)
    }

    /// Sends `request` as raw bytes and reads the answer until the gateway
    /// closes the connection (or 20 s pass).
    fn raw(&self, request: &[u8]) -> String {
        let mut tcp = TcpStream::connect(self.addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        tcp.write_all(request).unwrap();
        let mut received = Vec::new();
        let _ = tcp.read_to_end(&mut received);
        String::from_utf8_lossy(&received).into_owned()
    }
}

/// The status and JSON body of a raw HTTP/1.1 answer.
fn parse_answer(answer: &str) -> (u16, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON body: {answer:?}"));
    (status, body)
}

/// Whether the gateway closed `tcp` (EOF or reset) within 20 s.
fn closed_by_gateway(tcp: &mut TcpStream) -> bool {
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buffer = [0u8; 4096];
    loop {
        match tcp.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_are_closed() {
    let rig = rig(&[("GATEHOUSE_TEST_HEADER_TIMEOUT_MS", "500")]).await;
    let mut idle = TcpStream::connect(rig.addr()).unwrap();
    let mut slow = TcpStream::connect(rig.addr()).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let mut kept_alive = TcpStream::connect(rig.addr()).unwrap();
    kept_alive.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = [0u8; 512];
    let n = kept_alive.read(&mut answer).unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));

    for (what, tcp) in [("idle", &mut idle), ("slow", &mut slow), ("kept-alive", &mut kept_alive)] {
        assert!(closed_by_gateway(tcp), "the {what} connection was not closed");
    }
    // The gateway still serves.
    let health = rig.http.get(format!("{}/health", rig.gateway.base_url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_bodies_get_a_408_and_the_connection_closed() {
    let rig = rig(&[("GATEHOUSE_TEST_HEADER_TIMEOUT_MS", "500")]).await;
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-gatehouse-key: {}\r\nx-api-key: {API_KEY}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"model\":",
        rig.key
    );
    let answer = rig.raw(head.as_bytes());
    let (status, body) = parse_answer(&answer);
    assert_eq!((status, body["error"]["type"].as_str()), (408, Some("invalid_request_error")), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
}

/// The connection cap the gateway logged at start, if it logged one.
fn logged_cap(gateway: &GatewayProcess) -> Option<usize> {
    // The line comes right after the "listening" line the harness waited for.
    for _ in 0..25 {
        let log = gateway.log();
        if let Some(at) = log.find("max_connections=") {
            return log[at + "max_connections=".len()..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let rig = rig_limited(&[], Some((64, 256))).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", rig.gateway.pid())).unwrap();
    let open_files = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let numbers: Vec<&str> = open_files.split_whitespace().filter(|w| w.parse::<u64>().is_ok()).collect();
    assert_eq!(numbers, ["256", "256"], "{open_files}");
    assert_eq!(logged_cap(&rig.gateway), Some((256 - 32) / 2));
    assert!(rig.gateway.log().contains("raised the open-file limit from 64 to 256"), "{}", rig.gateway.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_connections_get_a_clear_503_and_the_log_says_why() {
    let rig = rig_limited(&[], Some((80, 80))).await;
    // Past the cap by two (a gateway with no cap: more than its 80 descriptors).
    let cap = logged_cap(&rig.gateway).unwrap_or(80);
    assert!(cap <= 80, "the cap ({cap}) must leave room under the open-file limit of 80");
    let idle: Vec<TcpStream> = (0..cap + 2).map(|_| TcpStream::connect(rig.addr()).unwrap()).collect();

    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let response = client.get(format!("{}/health", rig.gateway.base_url)).send().await.expect("an answer, not a hang");
    let (status, kind, message) = anthropic_error(response).await;
    assert_eq!((status, kind.as_str()), (503, "overloaded_error"), "{message}");
    assert!(message.contains("connections open") && message.contains("ulimit -n"), "{message}");
    let log = wait_for("the connection-limit warning", 10, || {
        let log = rig.gateway.log();
        log.contains("connection limit reached").then_some(log)
    });
    assert_eq!(log.matches("connection limit reached").count(), 1, "one warning, not one per connection:\n{log}");

    // Once the idle connections go, everyone is served again.
    drop(idle);
    wait_for("the gateway to serve again", 20, || {
        let mut tcp = TcpStream::connect(rig.addr()).ok()?;
        tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).ok()?;
        answer.starts_with("HTTP/1.1 200").then_some(())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_files_is_not_called_a_network_problem() {
    // A cap far above what 64 descriptors allow, so descriptors run out first.
    let rig = rig_limited(&[("GATEHOUSE_TEST_MAX_CONNECTIONS", "1000")], Some((64, 64))).await;
    // This client's connection is open (and pooled) before descriptors run out.
    let health = rig.http.get(format!("{}/health", rig.gateway.base_url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Idle connections take every descriptor left; the rest wait in the backlog.
    // Full means every number below the limit is taken (descriptors inherited
    // from the test runner, such as cargo's jobserver, may sit above it).
    let fds = format!("/proc/{}/fd", rig.gateway.pid());
    let below_limit = || {
        let entries = std::fs::read_dir(&fds).ok()?;
        Some(entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).filter(|&n| n < 64).count())
    };
    let mut idle = Vec::new();
    wait_for("the gateway to run out of descriptors", 20, || {
        for _ in 0..8 {
            idle.push(TcpStream::connect(rig.addr()).ok()?);
        }
        (below_limit()? >= 64).then_some(())
    });

    let response = rig.messages(&body("claude-sonnet-4-5", false)).send().await.unwrap();
    let (status, kind, message) = anthropic_error(response).await;
    assert_eq!((status, kind.as_str()), (503, "overloaded_error"), "{message}");
    assert!(message.contains("run out of open files") && message.contains("ulimit -n"), "{message}");
    assert!(!message.contains("network"), "{message}");
    let log = wait_for("the log to say why", 10, || {
        let log = rig.gateway.log();
        log.contains("cannot accept connections: the gateway has run out of open files").then_some(log)
    });
    assert!(log.contains("could not connect to upstream `anthropic`: the gateway has run out of open files"), "{log}");
    drop(idle);
}

/// The SSE events of a response body, as (event name, data).
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_string(), serde_json::from_str(data).ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_delimited_streams_are_judged_by_message_stop() {
    let rig = rig(&[]).await;
    rig.mock.push(Scenario::CloseDelimited);
    let text = rig.messages(&body("claude-sonnet-4-5", true)).send().await.unwrap().text().await.unwrap();
    let names: Vec<String> = events(&text).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names.last().map(String::as_str), Some("message_stop"), "{text}");
    assert!(!names.iter().any(|n| n == "error"), "{text}");

    rig.mock.push(Scenario::CloseDelimitedDropMidStream);
    let text = rig.messages(&body("claude-sonnet-4-5", true)).send().await.unwrap().text().await.unwrap();
    let events = events(&text);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error", "a truncated stream must end with an error event: {text}");
    assert!(data["error"]["message"].as_str().unwrap().contains("before its `message_stop`"), "{data}");

    let rows = rig.sandbox.ledger_rows(2);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].complete && rows[0].error_type.is_none(), "{:?}", rows[0]);
    assert!(!rows[1].complete, "{:?}", rows[1]);
    assert_eq!(rows[1].error_type.as_deref(), Some("upstream_truncated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_stream_is_whole_however_it_was_chunked_and_spaced() {
    let rig = rig(&[]).await;
    // message_stop split across chunks anywhere, its JSON spaced: no error
    // event is added after it (an SDK would throw, and Claude Code retry).
    let sizes = [1, 7, 20, 40, 333];
    for size in sizes {
        rig.mock.push(Scenario::Rechunked(size));
        let text = rig.messages(&body("claude-sonnet-4-5", true)).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains("event: error"), "chunks of {size}: {text}");
        assert!(text.trim_end().ends_with(r#"data: {"type": "message_stop"}"#), "chunks of {size}: {text}");
    }
    let rows = rig.sandbox.ledger_rows(sizes.len());
    assert!(rows.iter().all(|row| row.complete && row.error_type.is_none()), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_inside_a_line_ends_that_event_before_the_gateway_s_error() {
    let rig = rig(&[]).await;
    rig.mock.push(Scenario::CutInsideLine);
    let text = rig.messages(&body("claude-sonnet-4-5", true)).send().await.unwrap().text().await.unwrap();
    let (name, data) = events(&text).pop().unwrap_or_else(|| panic!("no events: {text}"));
    assert_eq!(name, "error", "the error event parses as one of its own: {text}");
    assert!(data["error"]["message"].as_str().unwrap().contains("failed mid-response"), "{data}");
    let rows = rig.sandbox.ledger_rows(1);
    assert!(!rows[0].complete, "{:?}", rows[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_left_open_after_message_stop_ends_for_the_client() {
    let rig = rig(&[]).await;
    rig.mock.push(Scenario::OpenAfterStop);
    // The upstream holds the connection for an hour, and the gateway's idle
    // timeout is ten minutes: the body ends only if the gateway ends it
    // after message_stop. (The deadline only keeps a broken build from
    // hanging the suite.)
    let response = rig.messages(&body("claude-sonnet-4-5", true)).send().await.unwrap();
    let text = tokio::time::timeout(Duration::from_secs(120), response.text())
        .await
        .expect("the gateway never ended the response after message_stop")
        .unwrap();
    assert_eq!(events(&text).last().map(|(name, _)| name.as_str()), Some("message_stop"), "{text}");
    assert!(!text.contains("event: error"), "{text}");
    let rows = rig.sandbox.ledger_rows(1);
    assert!(rows[0].complete && rows[0].error_type.is_none(), "{:?}", rows[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_of_a_stream_over_the_keep_limit_is_its_last_usage() {
    let rig = rig(&[]).await;
    // Exactly the 32 MB the gateway keeps whole, then 8 MB more and the end
    // of the stream, with the final usage.
    rig.mock.push(Scenario::Padded { head_bytes: 32 * 1024 * 1024, tail_bytes: 8 * 1024 * 1024 });
    let response = rig.messages(&body("claude-sonnet-4-5", true)).send().await.unwrap();
    let mut received = 0usize;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        received += chunk.unwrap().len();
    }
    assert!(received > 40 * 1024 * 1024, "{received}");
    let rows = rig.sandbox.ledger_rows(1);
    let row = &rows[0];
    assert!(row.complete, "{row:?}");
    let expected = gatehouse_e2e::mock_anthropic::MockUsage::default();
    assert_eq!((row.input_tokens, row.output_tokens), (expected.input_tokens, expected.output_tokens), "{row:?}");
    assert_eq!(row.cache_read_tokens, expected.cache_read);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_refused_the_http2_way_and_h2c_upgrade_is_ignored() {
    let rig = rig(&[]).await;
    let mut tcp = TcpStream::connect(rig.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // The client preface and an empty SETTINGS frame, as `curl --http2-prior-knowledge` sends.
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").unwrap();
    let mut frames = Vec::new();
    let _ = tcp.read_to_end(&mut frames);
    let mut kinds = Vec::new();
    let mut rest = &frames[..];
    let mut goaway = None;
    while rest.len() >= 9 {
        let length = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        let payload = &rest[9..(9 + length).min(rest.len())];
        kinds.push(rest[3]);
        if rest[3] == 7 {
            goaway = Some(payload.to_vec());
        }
        rest = &rest[(9 + length).min(rest.len())..];
    }
    let goaway = goaway.unwrap_or_else(|| panic!("no GOAWAY frame among frames of types {kinds:?}"));
    assert_eq!(&goaway[4..8], &[0, 0, 0, 0x0d], "HTTP_1_1_REQUIRED");
    assert!(String::from_utf8_lossy(&goaway[8..]).contains("HTTP/1.1"));

    let answer = rig.raw(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_hosts_are_refused() {
    let rig = rig(&[]).await;
    let two_hosts = rig.raw(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let (status, body) = parse_answer(&two_hosts);
    assert_eq!((status, body["error"]["type"].as_str()), (403, Some("permission_error")), "{two_hosts}");
    assert!(body["error"]["message"].as_str().unwrap().contains("more than one Host"), "{body}");

    let foreign = rig.raw(b"GET http://evil.example/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let (status, body) = parse_answer(&foreign);
    assert_eq!((status, body["error"]["type"].as_str()), (403, Some("permission_error")), "{foreign}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not this machine"), "{body}");

    let own = format!("GET http://{}/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", rig.addr());
    assert!(rig.raw(own.as_bytes()).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_requests_get_anthropic_shaped_errors() {
    let rig = rig(&[]).await;
    let many_headers: String = (0..101).map(|i| format!("X-Filler-{i}: {i}\r\n")).collect();
    let huge_header = format!("X-Huge: {}\r\n", "a".repeat(1024 * 1024));
    for (what, request, expected) in [
        (
            "bad framing",
            "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n".to_string(),
            400,
        ),
        ("101 headers", format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n{many_headers}\r\n"), 431),
        ("a huge header", format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n{huge_header}\r\n"), 431),
    ] {
        let answer = rig.raw(request.as_bytes());
        let (status, body) = parse_answer(&answer);
        assert_eq!(status, expected, "{what}: {answer}");
        assert_eq!(body["type"], "error", "{what}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{what}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_text_in_the_log_is_clipped_and_escaped() {
    let rig = rig(&[]).await;
    let model = format!("claude-x\nFORGED LOG LINE\u{1b}[31m{}", "m".repeat(5000));
    let response = rig.messages(&body(&model, false)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let long_path = format!("/v1/{}", "p".repeat(5000));
    let _ = rig
        .http
        .get(format!("{}{long_path}", rig.gateway.base_url))
        .header("x-gatehouse-key", &rig.key)
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    let log = wait_for("both requests in the log", 10, || {
        let log = rig.gateway.log();
        (log.matches("status=").count() >= 2).then_some(log)
    });
    assert!(!log.lines().any(|line| line.starts_with("FORGED")), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");
    assert!(log.contains("claude-x\\nFORGED"), "{log}");
    assert!(!log.contains(&"m".repeat(1000)) && !log.contains(&"p".repeat(1000)), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_cut_by_shutdown_say_so() {
    let rig = rig(&[("GATEHOUSE_TEST_SHUTDOWN_GRACE_MS", "300")]).await;
    rig.mock.push(Scenario::SlowStream { chunk_delay: Duration::from_secs(3) });
    let response = rig.messages(&body("claude-sonnet-4-5", true)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("message_start"));

    let pid = rig.gateway.pid().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let mut text = String::from_utf8_lossy(&first).into_owned();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = events(&text);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error", "{text}");
    assert!(data["error"]["message"].as_str().unwrap().contains("shutting down"), "{data}");
    let rows = rig.sandbox.ledger_rows(1);
    assert_eq!(rows[0].error_type.as_deref(), Some("gateway_shutdown"), "{:?}", rows[0]);
    assert!(!rows[0].complete);
}
