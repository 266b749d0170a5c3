//! A loopback stand-in for Anthropic's sign-in servers, reached through an
//! HTTPS intercepting proxy.
//!
//! `claude auth login` talks to fixed hosts (`claude.com`,
//! `platform.claude.com`, `api.anthropic.com`): its override for the OAuth
//! host only admits Anthropic's own. What it does honour is `HTTPS_PROXY`
//! and `NODE_EXTRA_CA_CERTS`, and a browser takes a proxy too. So this mock
//! is a proxy on 127.0.0.1: it answers `CONNECT` for the hosts it serves by
//! terminating TLS itself, with a certificate from a CA made at test time,
//! and refuses (502) every other host, so nothing leaves the machine.
//!
//! Behind it are the parts of Anthropic's OAuth service that Claude Code
//! 2.1.328 uses, as read from its binary: the authorize page (which "signs
//! in" a fake Max subscriber and redirects with `code` and `state`), the
//! page that shows the code as `code#state` for pasting, the token endpoint
//! (PKCE-checked, single-use codes, OAuth error bodies), token revocation,
//! the profile, and the success page. API answers carry a `request-id`
//! header, as Anthropic's do (Claude Code trusts a profile more when it has
//! one). Every request is recorded; paths the mock does not know get a 404
//! and are recorded too, so a test can insist there were none.
//!
//! Issued tokens are obviously fake (`sk-ant-oat01-FAKE-…`,
//! `sk-ant-ort01-FAKE-…`) and valid only against this mock.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::Query;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::test_ca::TestCa;

/// Claude Code's OAuth client id (in its binary, and in every sign-in URL).
pub const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
/// Where the code is shown when the browser cannot return it to Claude Code.
pub const MANUAL_REDIRECT_URI: &str = "https://platform.claude.com/oauth/code/callback";
/// Where Claude Code sends the browser after an automatic sign-in.
pub const SUCCESS_PATH: &str = "/oauth/code/success";

/// The hosts behind the proxy; every other `CONNECT` is refused.
pub const SERVED_HOSTS: [&str; 3] = ["claude.com", "platform.claude.com", "api.anthropic.com"];

/// The fake subscriber every sign-in signs in as.
pub const ACCOUNT_EMAIL: &str = "max.subscriber@example.com";
pub const ACCOUNT_UUID: &str = "5f1c7a2e-0000-4000-8000-00000000fa4e";
pub const ORGANIZATION_UUID: &str = "9b3d1e40-0000-4000-8000-00000000fa4e";
pub const ORGANIZATION_NAME: &str = "max.subscriber@example.com's Organization";
/// The Max 20x tier, as `organization.rate_limit_tier` names it.
pub const RATE_LIMIT_TIER: &str = "default_claude_max_20x";
const APPLICATION_UUID: &str = "3e4f5a6b-0000-4000-8000-00000000fa4e";

/// Access tokens live eight hours, as Anthropic's do.
const ACCESS_TOKEN_SECONDS: u64 = 8 * 3600;
/// An authorization code is good once, for a few minutes.
const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Request bodies here are small JSON; the cap only stops a runaway client.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A `CONNECT` request head is a few lines.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The scopes Claude Code 2.1.328 knows; an authorize request for any other
/// is refused with `invalid_scope`, as an OAuth server does.
const KNOWN_SCOPES: [&str; 14] = [
    "org:create_api_key",
    "user:profile",
    "user:inference",
    "user:sessions:claude_code",
    "user:mcp_servers",
    "user:file_upload",
    "user:plugins",
    "user:projects:read",
    "user:projects:write",
    "user:privacy_consents:write",
    "user:design:read",
    "user:design:write",
    "user:office",
    "user:ccr_inference",
];

/// One request the mock received through the proxy.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub host: String,
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// What the mock answered.
    pub status: u16,
}

impl RecordedRequest {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// A token pair the token endpoint issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
}

/// What the authorize page granted, until the code is exchanged.
struct Grant {
    redirect_uri: String,
    code_challenge: String,
    state: String,
    scopes: Vec<String>,
    issued_at: Instant,
}

#[derive(Default)]
struct State {
    grants: HashMap<String, Grant>,
    /// Live access tokens and their scopes.
    access_tokens: HashMap<String, Vec<String>>,
    /// Live refresh tokens and their scopes.
    refresh_tokens: HashMap<String, Vec<String>>,
    issued: Vec<IssuedTokens>,
    requests: Vec<RecordedRequest>,
    refused: Vec<String>,
    request_ids: u64,
}

/// The mock: a proxy on 127.0.0.1 with Anthropic's sign-in servers behind it.
///
/// Made in two steps so a test can put its addresses into the environment
/// before any thread exists: [`MockClaudeAi::bind`] makes the CA, writes it
/// and binds the port; [`MockClaudeAi::start`] starts serving.
pub struct MockClaudeAi {
    listener: Option<std::net::TcpListener>,
    address: SocketAddr,
    tls: Arc<ServerConfig>,
    ca_file: PathBuf,
    leaf_spki_sha256: String,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl MockClaudeAi {
    /// Makes a CA and a certificate for [`SERVED_HOSTS`], writes the CA to
    /// `dir` (for `NODE_EXTRA_CA_CERTS`) and binds a loopback port. Starts
    /// no thread.
    pub fn bind(dir: &Path) -> MockClaudeAi {
        let ca = TestCa::new();
        let leaf = ca.issue(&SERVED_HOSTS);
        let ca_file = dir.join("mock-claude-ai-ca.pem");
        ca.write_pem(&ca_file);
        // Chromium is told to trust this one key rather than a CA: it does
        // not read NODE_EXTRA_CA_CERTS, and a profile-wide CA needs NSS tools.
        let leaf_spki_sha256 = leaf.spki_sha256().to_string();
        // HTTP/1.1 only: it is all the mock speaks.
        let tls = leaf.server_config(&[b"http/1.1"]);

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the proxy port");
        let address = listener.local_addr().expect("proxy address");
        MockClaudeAi {
            listener: Some(listener),
            address,
            tls,
            ca_file,
            leaf_spki_sha256,
            state: Arc::new(Mutex::new(State::default())),
            runtime: None,
        }
    }

    /// Starts serving, on a runtime of its own (the tests that use it block).
    pub fn start(&mut self) {
        let Some(listener) = self.listener.take() else { return };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("mock-claude-ai")
            .build()
            .expect("tokio runtime");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let acceptor = TlsAcceptor::from(Arc::clone(&self.tls));
        let state = Arc::clone(&self.state);
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(proxy_connection(stream, acceptor.clone(), Arc::clone(&state)));
            }
        });
        self.runtime = Some(runtime);
    }

    /// `HTTPS_PROXY` for Claude Code.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The CA certificate (PEM), for `NODE_EXTRA_CA_CERTS`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Flags that send Chromium through the proxy and make it accept the
    /// mock's certificate. Loopback addresses are never proxied by Chromium,
    /// so Claude Code's own `localhost` callback is reached directly.
    pub fn chromium_flags(&self) -> Vec<String> {
        vec![
            format!("--proxy-server={}", self.proxy_url()),
            format!("--ignore-certificate-errors-spki-list={}", self.leaf_spki_sha256),
        ]
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Requests for paths the mock does not serve.
    pub fn unknown_requests(&self) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|request| request.status == 404).collect()
    }

    /// `CONNECT` targets (or plain-HTTP requests) the proxy refused.
    pub fn refused_connections(&self) -> Vec<String> {
        lock(&self.state).refused.clone()
    }

    /// Every token pair issued so far.
    pub fn issued_tokens(&self) -> Vec<IssuedTokens> {
        lock(&self.state).issued.clone()
    }
}

impl Drop for MockClaudeAi {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One client connection to the proxy: a `CONNECT` to a served host becomes
/// a TLS tunnel to the mock; anything else is refused.
async fn proxy_connection(stream: TcpStream, acceptor: TlsAcceptor, state: Arc<Mutex<State>>) {
    // The client sends nothing after the head until it has the answer, so
    // the buffered reader holds no tunnel bytes when TLS takes it over.
    let mut stream = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let before = head.len();
        match stream.read_line(&mut head).await {
            Ok(0) | Err(_) => return,
            Ok(_) if head.len() > MAX_HEAD_BYTES => return,
            Ok(_) if head[before..].trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default().to_string());
    let host = target.strip_suffix(":443").filter(|host| method == "CONNECT" && SERVED_HOSTS.contains(host));
    let Some(host) = host.map(str::to_string) else {
        lock(&state).refused.push(format!("{method} {target}"));
        let _ = stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
        return;
    };
    if stream.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.is_err() {
        return;
    }
    let Ok(tls) = acceptor.accept(stream).await else { return };
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let (state, host) = (Arc::clone(&state), host.clone());
        async move { Ok::<_, Infallible>(answer(&state, &host, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
}

/// Reads the request, answers it and records both.
async fn answer(state: &Mutex<State>, host: &str, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut state = lock(state);
    let response = route(&mut state, host, &parts.method, &parts.uri, &parts.headers, &body);
    state.requests.push(RecordedRequest {
        host: host.to_string(),
        method: parts.method.to_string(),
        target: parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: response.status().as_u16(),
    });
    response
}

fn route(
    state: &mut State,
    host: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let query = || Query::<HashMap<String, String>>::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let mut response = match (host, method.as_str(), uri.path()) {
        ("claude.com", "GET", "/cai/oauth/authorize") => authorize(state, &query()),
        ("platform.claude.com", "GET", "/oauth/code/callback") => code_page(&query()),
        ("platform.claude.com", "GET", SUCCESS_PATH) => html(StatusCode::OK, "Success", SUCCESS_PAGE),
        // Browsers ask every site for one.
        (_, "GET", "/favicon.ico") => favicon(),
        ("platform.claude.com", "POST", "/v1/oauth/token") => token(state, headers, body),
        ("platform.claude.com", "POST", "/v1/oauth/token/revoke") => revoke(state, body),
        ("api.anthropic.com", "GET", "/api/oauth/profile") => profile(state, headers),
        ("api.anthropic.com", "GET", "/api/oauth/claude_cli/roles") => roles(state, headers),
        ("api.anthropic.com", "GET", "/api/organization/claude_code_first_token_date") => {
            first_token_date(state, headers)
        }
        _ => html(StatusCode::NOT_FOUND, "Not found", "<h1>404</h1><p>This page could not be found.</p>"),
    };
    // Anthropic stamps its API answers with a request id.
    if host != "claude.com" {
        state.request_ids += 1;
        let id = format!("req_011CFAKE{:016}", state.request_ids);
        response.headers_mut().insert("request-id", id.parse().expect("request id header"));
    }
    response
}

/// `GET claude.com/cai/oauth/authorize`: checks the request the way an
/// OAuth server must, "signs in" the fake subscriber (who approves at
/// once) and sends the browser back with a one-time code.
fn authorize(state: &mut State, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    let redirect_uri = param("redirect_uri");
    // Without a client and a registered redirect there is nowhere safe to
    // send an error: it is shown on the page instead.
    if param("client_id") != CLIENT_ID {
        return html(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<h1>Invalid OAuth request</h1><p>Unknown client.</p>",
        );
    }
    if !is_registered_redirect(redirect_uri) {
        return html(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<h1>Invalid OAuth request</h1><p>Invalid redirect URI.</p>",
        );
    }
    let state_param = param("state");
    let error = if param("response_type") != "code" {
        Some(("unsupported_response_type", "response_type must be code"))
    } else if param("code_challenge_method") != "S256" || !is_base64url(param("code_challenge"), 43) {
        Some(("invalid_request", "a code_challenge with code_challenge_method S256 is required"))
    } else if state_param.is_empty() {
        Some(("invalid_request", "state is required"))
    } else if param("scope").split(' ').any(|scope| !KNOWN_SCOPES.contains(&scope)) {
        Some(("invalid_scope", "unknown scope"))
    } else {
        None
    };
    if let Some((error, description)) = error {
        return redirect(&format!(
            "{redirect_uri}?error={error}&error_description={}&state={}",
            percent_encode(description),
            percent_encode(state_param)
        ));
    }
    let code = random_token();
    state.grants.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.to_string(),
            code_challenge: param("code_challenge").to_string(),
            state: state_param.to_string(),
            scopes: param("scope").split(' ').map(String::from).collect(),
            issued_at: Instant::now(),
        },
    );
    redirect(&format!("{redirect_uri}?code={}&state={}", percent_encode(&code), percent_encode(state_param)))
}

/// Claude Code's client may return to Anthropic's code page, or to a
/// listener of its own on any loopback port.
fn is_registered_redirect(uri: &str) -> bool {
    if uri == MANUAL_REDIRECT_URI {
        return true;
    }
    uri.strip_prefix("http://localhost:")
        .and_then(|rest| rest.strip_suffix("/callback"))
        .is_some_and(|port| port.parse::<u16>().is_ok())
}

/// `GET platform.claude.com/oauth/code/callback`: the page that shows the
/// code to paste into Claude Code, as `code#state`.
fn code_page(query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let (Some(code), Some(state)) = (query.get("code"), query.get("state")) else {
        let reason = query.get("error_description").or(query.get("error")).map(String::as_str).unwrap_or("no code");
        return html(
            StatusCode::BAD_REQUEST,
            "Authentication error",
            &format!("<h1>Authentication error</h1><p>{}</p>", escape_html(reason)),
        );
    };
    html(
        StatusCode::OK,
        "Authentication Code",
        &format!(
            "<main><h1>Authentication Code</h1><p>Paste this into Claude Code:</p>\
             <div><code id=\"oauth-code\">{}#{}</code></div><button type=\"button\">Copy Code</button></main>",
            escape_html(code),
            escape_html(state)
        ),
    )
}

const SUCCESS_PAGE: &str = "<main><h1>Build something great</h1>\
    <p>You're all set up for Claude Code. You can now close this window.</p></main>";

/// `POST platform.claude.com/v1/oauth/token`, the OAuth token endpoint
/// (JSON bodies, as Claude Code sends them).
fn token(state: &mut State, headers: &HeaderMap, body: &[u8]) -> Response<Full<Bytes>> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let Some(request) = serde_json::from_slice::<Value>(body).ok().filter(|_| is_json) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Request body must be JSON.");
    };
    let field = |name: &str| request[name].as_str().unwrap_or_default();
    if field("client_id") != CLIENT_ID {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client.");
    }
    let scopes = match field("grant_type") {
        "authorization_code" => {
            // A code is spent by any attempt, right or wrong.
            let Some(grant) = state.grants.remove(field("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid 'code' in request.");
            };
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
            if grant.issued_at.elapsed() > CODE_LIFETIME {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Authorization code expired.");
            }
            if challenge != grant.code_challenge {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid code verifier.");
            }
            if field("redirect_uri") != grant.redirect_uri || field("state") != grant.state {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Redirect URI or state mismatch.");
            }
            grant.scopes
        }
        "refresh_token" => {
            let Some(scopes) = state.refresh_tokens.remove(field("refresh_token")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Refresh token not found or invalid.");
            };
            scopes
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant type {other:?}."),
            );
        }
    };
    let tokens = IssuedTokens {
        access_token: format!("sk-ant-oat01-FAKE-{}", random_token()),
        refresh_token: format!("sk-ant-ort01-FAKE-{}", random_token()),
    };
    state.access_tokens.insert(tokens.access_token.clone(), scopes.clone());
    state.refresh_tokens.insert(tokens.refresh_token.clone(), scopes.clone());
    state.issued.push(tokens.clone());
    let expires_in = request["expires_in"].as_u64().unwrap_or(ACCESS_TOKEN_SECONDS);
    json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "access_token": tokens.access_token,
            "expires_in": expires_in,
            "refresh_token": tokens.refresh_token,
            "scope": scopes.join(" "),
            "organization": {"uuid": ORGANIZATION_UUID, "name": ORGANIZATION_NAME},
            "account": {"uuid": ACCOUNT_UUID, "email_address": ACCOUNT_EMAIL},
        }),
    )
}

/// `POST platform.claude.com/v1/oauth/token/revoke` (on logout).
fn revoke(state: &mut State, body: &[u8]) -> Response<Full<Bytes>> {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let token = request["token"].as_str().unwrap_or_default();
    state.refresh_tokens.remove(token);
    state.access_tokens.remove(token);
    json_response(StatusCode::OK, &json!({}))
}

/// The scopes of the `Authorization: Bearer` token, if the mock issued it.
fn bearer_scopes<'s>(state: &'s State, headers: &HeaderMap) -> Option<&'s [String]> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| state.access_tokens.get(token))
        .map(Vec::as_slice)
}

fn unauthorized() -> Response<Full<Bytes>> {
    api_error(StatusCode::UNAUTHORIZED, "authentication_error", "Invalid bearer token")
}

/// `GET api.anthropic.com/api/oauth/profile`: who the token belongs to,
/// and the plan (`organization_type` `claude_max` is what makes it "max").
fn profile(state: &State, headers: &HeaderMap) -> Response<Full<Bytes>> {
    match bearer_scopes(state, headers) {
        Some(scopes) if scopes.iter().any(|scope| scope == "user:profile") => json_response(
            StatusCode::OK,
            &json!({
                "account": {
                    "uuid": ACCOUNT_UUID,
                    "full_name": "Max Subscriber",
                    "display_name": "Max",
                    "email": ACCOUNT_EMAIL,
                    "has_claude_max": true,
                    "has_claude_pro": false,
                    "created_at": "2025-03-01T09:00:00.000000Z",
                },
                "organization": {
                    "uuid": ORGANIZATION_UUID,
                    "name": ORGANIZATION_NAME,
                    "organization_type": "claude_max",
                    "billing_type": "stripe_subscription",
                    "rate_limit_tier": RATE_LIMIT_TIER,
                    "has_extra_usage_enabled": false,
                    "subscription_status": "active",
                    "subscription_created_at": "2025-03-01T09:05:00.000000Z",
                },
                "application": {"uuid": APPLICATION_UUID, "name": "Claude Code", "slug": "claude-code"},
            }),
        ),
        Some(_) => scope_error("user:profile"),
        None => unauthorized(),
    }
}

/// `GET api.anthropic.com/api/oauth/claude_cli/roles`: the subscriber's
/// role in their own (personal) organization.
fn roles(state: &State, headers: &HeaderMap) -> Response<Full<Bytes>> {
    if bearer_scopes(state, headers).is_none() {
        return unauthorized();
    }
    json_response(
        StatusCode::OK,
        &json!({"organization_role": "admin", "workspace_role": null, "organization_name": ORGANIZATION_NAME}),
    )
}

/// `GET api.anthropic.com/api/organization/claude_code_first_token_date`:
/// a new subscriber has not used Claude Code yet.
fn first_token_date(state: &State, headers: &HeaderMap) -> Response<Full<Bytes>> {
    if bearer_scopes(state, headers).is_none() {
        return unauthorized();
    }
    json_response(StatusCode::OK, &json!({"first_token_date": null}))
}

fn scope_error(scope: &str) -> Response<Full<Bytes>> {
    api_error(
        StatusCode::FORBIDDEN,
        "permission_error",
        &format!("OAuth token does not meet scope requirement {scope}"),
    )
}

/// An OAuth error body (RFC 6749 §5.2), which Claude Code reads `error` from.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({"error": error, "error_description": description}))
}

/// Anthropic's API error envelope.
fn api_error(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({"type": "error", "error": {"type": kind, "message": message}}))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn html(status: StatusCode, title: &str, body: &str) -> Response<Full<Bytes>> {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body>{body}</body></html>"
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Full::new(Bytes::from(page)))
        .expect("response")
}

fn favicon() -> Response<Full<Bytes>> {
    let icon =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"8\" cy=\"8\" r=\"7\"/></svg>";
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "image/svg+xml")
        .body(Full::new(Bytes::from(icon)))
        .expect("response")
}

fn redirect(location: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .body(Full::new(Bytes::new()))
        .expect("response")
}

/// 32 random bytes, base64url: the shape of Anthropic's codes and tokens.
fn random_token() -> String {
    let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()].iter().flat_map(|id| *id.as_bytes()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn is_base64url(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
