//! The gateway behind a corporate proxy: the real `gatehouse` binary reaches
//! the mock Anthropic API through an HTTP CONNECT proxy named by
//! `HTTPS_PROXY` / `HTTP_PROXY` (or their lowercase forms), skips it for
//! hosts in `NO_PROXY`, sends the proxy's credentials without ever logging
//! them, and says plainly when the proxy is what cannot be reached.
//!
//! The proxy is a few lines of tokio in this file. The mock upstream is plain
//! `http://`, which the gateway tunnels with CONNECT all the same, so the
//! proxy sees exactly what it would see for `https://api.anthropic.com`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use gatehouse_e2e::harness::{GatewayProcess, Sandbox, anthropic_error, files_containing};
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const API_KEY: &str = "sk-ant-api03-FAKE-e2e-proxy-client-key-24680";
const PROXY_PASSWORD: &str = "FAKE-proxy-password";

/// What the proxy received in one CONNECT request.
#[derive(Debug, Clone, PartialEq)]
struct Connect {
    target: String,
    proxy_authorization: Option<String>,
}

/// How the proxy answers a CONNECT.
#[derive(Clone, Copy)]
enum Answer {
    /// `200`, then bytes copied both ways to the target.
    Tunnel,
    /// `407 Proxy Authentication Required`, then close.
    AuthRequired,
}

/// A loopback HTTP CONNECT proxy recording each CONNECT it gets.
struct ConnectProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Connect>>>,
}

impl ConnectProxy {
    async fn start(answer: Answer) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy listener");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recording = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, answer, recording.clone()));
            }
        });
        ConnectProxy { addr, seen }
    }

    fn seen(&self) -> Vec<Connect> {
        self.seen.lock().unwrap().clone()
    }

    /// `http://user:FAKE-proxy-password@127.0.0.1:PORT`.
    fn url_with_credentials(&self) -> String {
        format!("http://user:{PROXY_PASSWORD}@{}", self.addr)
    }
}

async fn serve(mut client: TcpStream, answer: Answer, seen: Arc<Mutex<Vec<Connect>>>) -> std::io::Result<()> {
    // Byte by byte up to the blank line, so nothing after the head (the
    // tunnelled bytes) is taken from the socket here.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(client.read_u8().await?);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let target = match request_line.split(' ').collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_string(),
        _ => {
            client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n").await?;
            return Ok(());
        }
    };
    let proxy_authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization").then(|| value.trim().to_string())
    });
    seen.lock().unwrap().push(Connect { target: target.clone(), proxy_authorization });
    match answer {
        Answer::AuthRequired => {
            client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await?;
        }
        Answer::Tunnel => {
            let mut upstream = TcpStream::connect(&target).await?;
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await?;
            tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        }
    }
    Ok(())
}

struct Rig {
    mock: MockAnthropic,
    sandbox: Sandbox,
    gateway: GatewayProcess,
    key: String,
}

async fn rig(env: &[(&str, &str)]) -> Rig {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&mock.base_url(), env);
    Rig { mock, sandbox, gateway, key }
}

impl Rig {
    /// A Messages request to the gateway, sent directly (the test's own
    /// client must not use any proxy).
    async fn messages(&self) -> reqwest::Response {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        http.post(format!("{}/v1/messages", self.gateway.base_url))
            .header("x-gatehouse-key", &self.key)
            .header("x-api-key", API_KEY)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi"}],
            }))
            .send()
            .await
            .unwrap()
    }

    fn upstream_target(&self) -> String {
        self.mock.addr().to_string()
    }

    /// The proxy password, plain or as the Basic credential, must be in no
    /// file of the sandbox: the gateway's log (its stderr), config, ledger.
    fn assert_password_nowhere(&self) {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{PROXY_PASSWORD}"));
        for secret in [PROXY_PASSWORD, basic.as_str()] {
            let found = files_containing(self.sandbox.dir.path(), secret);
            assert!(found.is_empty(), "the proxy credentials leaked into {found:?}:\n{}", self.gateway.log());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_tunnel_through_the_proxy_with_its_credentials() {
    let proxy = ConnectProxy::start(Answer::Tunnel).await;
    let url = proxy.url_with_credentials();
    let rig = rig(&[("HTTPS_PROXY", &url), ("HTTP_PROXY", &url)]).await;

    let response = rig.messages().await;
    assert_eq!(response.status(), 200, "{}", rig.gateway.log());
    let message: Value = response.json().await.unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(rig.mock.requests().len(), 1, "the request reached the upstream");

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{PROXY_PASSWORD}"));
    let seen = proxy.seen();
    assert_eq!(
        seen.first(),
        Some(&Connect { target: rig.upstream_target(), proxy_authorization: Some(format!("Basic {basic}")) }),
        "{seen:?}"
    );
    let log = rig.gateway.log();
    assert!(log.contains(&format!("upstream via proxy http://{}", proxy.addr)), "{log}");
    rig.assert_password_nowhere();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_sends_requests_direct() {
    let proxy = ConnectProxy::start(Answer::Tunnel).await;
    let url = format!("http://{}", proxy.addr);
    // The lowercase forms, which curl reads too.
    let rig = rig(&[("https_proxy", &url), ("http_proxy", &url), ("no_proxy", "127.0.0.1")]).await;

    let response = rig.messages().await;
    assert_eq!(response.status(), 200, "{}", rig.gateway.log());
    assert_eq!(rig.mock.requests().len(), 1);
    assert_eq!(proxy.seen(), Vec::new(), "NO_PROXY covers the upstream");
    assert!(!rig.gateway.log().contains("upstream via proxy"), "{}", rig.gateway.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_proxy_is_named_in_the_error() {
    // A port nothing listens on: the proxy refuses the connection.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let url = format!("http://user:{PROXY_PASSWORD}@{closed}");
    let rig = rig(&[("HTTPS_PROXY", &url), ("HTTP_PROXY", &url)]).await;

    let (status, kind, message) = anthropic_error(rig.messages().await).await;
    assert_eq!((status, kind.as_str()), (502, "api_error"), "{message}");
    assert!(message.contains(&format!("cannot reach the upstream through the proxy {closed}")), "{message}");
    assert!(message.contains("HTTPS_PROXY"), "the hint points at the proxy settings: {message}");
    assert!(!message.contains(PROXY_PASSWORD), "{message}");
    assert!(rig.mock.requests().is_empty());
    rig.assert_password_nowhere();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_demanding_credentials_is_named_in_the_error() {
    let proxy = ConnectProxy::start(Answer::AuthRequired).await;
    let url = format!("http://{}", proxy.addr);
    let rig = rig(&[("HTTPS_PROXY", &url), ("HTTP_PROXY", &url)]).await;

    let (status, _, message) = anthropic_error(rig.messages().await).await;
    assert_eq!(status, 502, "{message}");
    assert!(message.contains(&format!("through the proxy {}", proxy.addr)), "{message}");
    assert!(message.contains("proxy authorization required"), "{message}");
    assert_eq!(proxy.seen().first().map(|c| c.proxy_authorization.clone()), Some(None));
}
