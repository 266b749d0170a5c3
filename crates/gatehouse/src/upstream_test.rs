//! "Test connection" for an upstream: `gatehouse upstreams test`, the tray's
//! "Test connection" submenu and the Settings page's "Test" buttons.
//!
//! A paid upstream gets one real, free request with its own key, the one
//! `gatehouse auth test` sends ([`provider_check`]): Anthropic's
//! `GET /v1/models` (`x-api-key`), OpenRouter's `GET /v1/key` under its base
//! URL (`Authorization: Bearer`), a compatible API's `GET /v1/models`
//! (`Authorization: Bearer`), a team's LiteLLM proxy's `GET /key/info`
//! (`x-litellm-api-key`). The answer says whether it is reachable and
//! accepts the key. Gatehouse never holds the subscription's token, so the
//! subscription's upstream is asked only whether it answers at all (a
//! request without a credential), and Claude Code, which holds the login,
//! is asked whether it is logged in (`claude auth status`).
//!
//! Each test blocks for up to the request's timeout: call it off any thread
//! that draws.

use serde::Serialize;

use crate::claude_code::cli_binary::{self, AuthStatus};
use crate::config::{Config, SUBSCRIPTION_UPSTREAM, UpstreamConfig, UpstreamKindConfig};
use crate::engines::remote::TeamKeyError;
use crate::paths::Paths;
use crate::secrets::provider_check::{self, CheckOutcome};
use crate::secrets::{Provider, SecretRef};

/// How a test ended, from best to worst news for the user.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Reachable, and the key is accepted (the subscription: reachable, and
    /// Claude Code is logged in).
    Ok,
    /// Reachable, but it refused the key (401 or 403).
    KeyRefused,
    /// Nothing answered, or it answered with another error.
    Unreachable,
    /// There is no key to test: its reference cannot be read.
    NoKey,
    /// The subscription answers, but Claude Code is not logged in (or not
    /// installed), so it has no login to pass through.
    NotLoggedIn,
}

impl Verdict {
    /// The exit status of `gatehouse upstreams test` for this verdict.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Ok => 0,
            Verdict::KeyRefused => 4,
            Verdict::Unreachable => 5,
            Verdict::NoKey | Verdict::NotLoggedIn => 7,
        }
    }
}

/// The result of testing one upstream.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamTest {
    /// Its name, as routes and the ledger call it.
    pub upstream: String,
    /// `subscription`, `anthropic`, `openrouter` or `compatible`.
    pub kind: String,
    pub verdict: Verdict,
    /// One line for people: what was asked and what it answered.
    pub message: String,
}

/// A name no upstream of the config has.
#[derive(Debug, thiserror::Error)]
#[error("no upstream is called \"{name}\"; the upstreams are {}", .known.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "))]
pub struct UnknownUpstream {
    pub name: String,
    pub known: Vec<String>,
}

/// An upstream of the config, as the tray's "Test connection" submenu and
/// the Settings page list it.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamView {
    pub name: String,
    /// `subscription`, `anthropic`, `openrouter` or `compatible`.
    pub kind: String,
}

/// The upstreams of the config, in its order: the subscription's first.
pub fn upstreams(config: &Config) -> Vec<UpstreamView> {
    let subscription = UpstreamView { name: SUBSCRIPTION_UPSTREAM.to_string(), kind: "subscription".to_string() };
    let paid = config.upstreams.iter().map(|u| UpstreamView { name: u.name.clone(), kind: u.kind.name().to_string() });
    std::iter::once(subscription).chain(paid).collect()
}

/// The upstreams' names, in the config's order.
pub fn names(config: &Config) -> Vec<String> {
    upstreams(config).into_iter().map(|upstream| upstream.name).collect()
}

/// Tests the upstream called `name`, asking `claude auth status` for the
/// subscription's login. Blocking.
pub fn test(config: &Config, paths: &Paths, name: &str) -> Result<UpstreamTest, UnknownUpstream> {
    test_with(config, paths, name, claude_login)
}

/// [`test`], with the subscription's login read by `login`.
pub(crate) fn test_with(
    config: &Config,
    paths: &Paths,
    name: &str,
    login: impl FnOnce() -> Result<AuthStatus, String>,
) -> Result<UpstreamTest, UnknownUpstream> {
    if name == SUBSCRIPTION_UPSTREAM {
        return Ok(subscription(&config.anthropic.base_url, login));
    }
    let upstream = config
        .upstreams
        .iter()
        .find(|upstream| upstream.name == name)
        .ok_or_else(|| UnknownUpstream { name: name.to_string(), known: names(config) })?;
    Ok(paid(config, paths, upstream))
}

/// Claude Code's login, as `claude auth status` reports it.
fn claude_login() -> Result<AuthStatus, String> {
    if cli_binary::find().is_none() {
        return Err(format!("Claude Code is not found ({})", cli_binary::INSTALL_HINT));
    }
    cli_binary::auth_status()
}

/// The subscription: does its base URL answer, and is Claude Code logged in?
fn subscription(base_url: &str, login: impl FnOnce() -> Result<AuthStatus, String>) -> UpstreamTest {
    let url = format!("{}/v1/models", base_url.trim_end_matches('/'));
    let result = |verdict, message| UpstreamTest {
        upstream: SUBSCRIPTION_UPSTREAM.to_string(),
        kind: "subscription".to_string(),
        verdict,
        message,
    };
    let status = match provider_check::reach(&url) {
        Ok(status) => status,
        Err(reason) => {
            return result(
                Verdict::Unreachable,
                format!(
                    "unreachable at {url}: {reason}. Check the network (and HTTPS_PROXY), or `[anthropic] base_url`"
                ),
            );
        }
    };
    let reachable = format!("reachable (GET {url} without a credential answered HTTP {status})");
    match login() {
        Ok(login) if login.logged_in => {
            result(Verdict::Ok, format!("{reachable}; Claude Code is {}", login.describe()))
        }
        Ok(login) => result(Verdict::NotLoggedIn, format!("{reachable}; Claude Code is {}", login.describe())),
        Err(why) => result(Verdict::NotLoggedIn, format!("{reachable}; Claude Code's login is unknown: {why}")),
    }
}

/// A paid upstream: one request with its own key.
fn paid(config: &Config, paths: &Paths, upstream: &UpstreamConfig) -> UpstreamTest {
    let kind = upstream.kind.name();
    let result =
        |verdict, message| UpstreamTest { upstream: upstream.name.clone(), kind: kind.to_string(), verdict, message };
    let no_key = |why: String| {
        result(
            Verdict::NoKey,
            format!(
                "no key to test: {why}. Store it with `gatehouse auth add {}`, or fix the upstream's `secret`",
                upstream.name
            ),
        )
    };
    let reference = match SecretRef::parse(&upstream.secret, config.secrets.store) {
        Ok(reference) => reference,
        Err(error) => return no_key(error.to_string()),
    };
    let resolved = match reference.resolve(paths) {
        Ok(resolved) => resolved,
        Err(error) => return no_key(format!("{reference}: {error}")),
    };
    if upstream.kind == UpstreamKindConfig::Bedrock {
        return bedrock(upstream, &resolved.secret, result, no_key);
    }
    if upstream.kind == UpstreamKindConfig::RemoteLitellm {
        let base = upstream.base_url.as_deref().unwrap_or_default().trim_end_matches('/');
        return match crate::engines::remote::fetch(&upstream.name, base, &resolved.secret) {
            Ok(info) => result(
                Verdict::Ok,
                format!(
                    "reachable, and its key ({reference}) is accepted: {} (GET {base}/key/info)",
                    info.describe_spend()
                ),
            ),
            Err(error @ TeamKeyError::KeyRefused { .. }) => result(Verdict::KeyRefused, error.to_string()),
            Err(error) => result(Verdict::Unreachable, error.to_string()),
        };
    }
    let Some(base) = upstream.base_url.as_deref().or(upstream.kind.default_base_url()) else {
        return result(Verdict::Unreachable, "it has no base_url; set one in the config".to_string());
    };
    let base = base.trim_end_matches('/');
    // How the key is sent, and the free request that proves it.
    let (provider, url) = match upstream.kind {
        UpstreamKindConfig::Anthropic => (Provider::Anthropic, format!("{base}/v1/models")),
        UpstreamKindConfig::OpenRouter => (Provider::OpenRouter, format!("{base}/v1/key")),
        UpstreamKindConfig::Compatible | UpstreamKindConfig::Bedrock | UpstreamKindConfig::RemoteLitellm => {
            (Provider::OpenRouter, format!("{base}/v1/models"))
        }
    };
    match provider_check::check_at(provider, url, &resolved.secret) {
        CheckOutcome::Accepted { url, detail } => {
            result(Verdict::Ok, format!("reachable, and its key ({reference}) is accepted: {detail} (GET {url})"))
        }
        CheckOutcome::Rejected { url, status: status @ (401 | 403), message } => result(
            Verdict::KeyRefused,
            format!("reachable, but it refused its key ({reference}): HTTP {status}: {message} (GET {url})"),
        ),
        CheckOutcome::Rejected { url, status, message } => result(
            Verdict::Unreachable,
            format!("answered HTTP {status}: {message} (GET {url}); check its base_url, or try again later"),
        ),
        CheckOutcome::Unreachable { url, reason } => result(
            Verdict::Unreachable,
            format!("unreachable at {url}: {reason}. Check the network (and HTTPS_PROXY), or its base_url"),
        ),
        CheckOutcome::Unusable { reason } => no_key(format!("{reference} cannot be sent: {reason}")),
    }
}

/// A `bedrock` upstream: its secret must be AWS credentials, and its
/// runtime endpoint must answer. Bedrock's runtime has no free request that
/// proves the credentials, so they are checked by the first real one; the
/// message says so.
fn bedrock(
    upstream: &UpstreamConfig,
    secret: &secrecy::SecretString,
    result: impl Fn(Verdict, String) -> UpstreamTest,
    no_key: impl Fn(String) -> UpstreamTest,
) -> UpstreamTest {
    if let Err(error) = crate::engines::litellm::aws::AwsCredentials::parse(&upstream.name, secret) {
        return no_key(error.to_string());
    }
    let Some(endpoint) = upstream.bedrock_endpoint() else {
        return result(Verdict::Unreachable, "it has no region; set `region`, as \"us-east-1\"".to_string());
    };
    match provider_check::reach(&endpoint) {
        Ok(status) => result(
            Verdict::Ok,
            format!(
                "reachable (GET {endpoint} answered HTTP {status}), and its secret is AWS credentials; AWS checks \
                 them on the first request, through the LiteLLM engine"
            ),
        ),
        Err(reason) => result(
            Verdict::Unreachable,
            format!("unreachable at {endpoint}: {reason}. Check the network (and HTTPS_PROXY), its region or base_url"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::path::Path;

    use super::*;

    /// A loopback server that answers each request with `status` and
    /// `body`, and hands back each request's head.
    fn answering(status: &'static str, body: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (heads, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                let _ = heads.send(String::from_utf8_lossy(&head).into_owned());
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, received)
    }

    fn config(upstreams: &str) -> Config {
        Config::parse(Path::new("c"), upstreams).unwrap()
    }

    fn nowhere() -> Paths {
        Paths::under(Path::new("/nonexistent/gatehouse"))
    }

    fn logged_in() -> Result<AuthStatus, String> {
        Ok(AuthStatus { logged_in: true, subscription_type: Some("max".into()), ..AuthStatus::default() })
    }

    fn paid_config(kind: &str, base_url: &str, secret: &str) -> Config {
        config(&format!(
            "[[upstreams]]\nname = \"paid\"\nkind = \"{kind}\"\nbase_url = \"{base_url}\"\nsecret = \"{secret}\"\n"
        ))
    }

    #[test]
    fn a_paid_upstream_is_asked_with_its_own_key_and_says_whether_it_accepts_it() {
        // SAFETY: a variable no other test reads or writes.
        unsafe { std::env::set_var("GATEHOUSE_TEST_UPSTREAM_TEST_KEY", "sk-or-v1-FAKE-upstream-test") };
        let secret = "env:GATEHOUSE_TEST_UPSTREAM_TEST_KEY";
        let (url, heads) = answering("200 OK", r#"{"data":{"label":"gatehouse","usage":1.5,"limit":null}}"#);
        let tested =
            test_with(&paid_config("openrouter", &format!("{url}/api"), secret), &nowhere(), "paid", logged_in)
                .unwrap();
        assert_eq!((tested.verdict, tested.kind.as_str()), (Verdict::Ok, "openrouter"));
        assert!(tested.message.contains("key \"gatehouse\", $1.50 used"), "{}", tested.message);
        let head = heads.recv().unwrap().to_lowercase();
        assert!(head.starts_with("get /api/v1/key "), "{head}");
        assert!(head.contains("authorization: bearer sk-or-v1-fake-upstream-test"), "{head}");

        let (url, heads) = answering("401 Unauthorized", r#"{"error":{"message":"invalid x-api-key"}}"#);
        let tested = test_with(&paid_config("anthropic", &url, secret), &nowhere(), "paid", logged_in).unwrap();
        assert_eq!(tested.verdict, Verdict::KeyRefused);
        assert!(tested.message.contains("HTTP 401: invalid x-api-key"), "{}", tested.message);
        assert!(!tested.message.contains("FAKE"), "never the key");
        let head = heads.recv().unwrap().to_lowercase();
        assert!(head.starts_with("get /v1/models ") && head.contains("x-api-key: sk-or-v1-fake"), "{head}");

        let dead = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        let tested = test_with(&paid_config("compatible", &url, secret), &nowhere(), "paid", logged_in).unwrap();
        assert_eq!((tested.verdict, tested.verdict.exit_code()), (Verdict::Unreachable, 5));
        assert!(tested.message.contains("could not connect"), "{}", tested.message);

        let unset = paid_config("openrouter", &url, "env:GATEHOUSE_TEST_UPSTREAM_TEST_UNSET");
        let tested = test_with(&unset, &nowhere(), "paid", logged_in).unwrap();
        assert_eq!((tested.verdict, tested.verdict.exit_code()), (Verdict::NoKey, 7));
        assert!(tested.message.contains("gatehouse auth add paid"), "{}", tested.message);
    }

    #[test]
    fn the_subscription_is_asked_only_whether_it_answers_and_claude_code_whether_it_is_logged_in() {
        let (url, heads) = answering("401 Unauthorized", r#"{"type":"error"}"#);
        let config = config(&format!("[anthropic]\nbase_url = \"{url}\"\n"));
        let tested = test_with(&config, &nowhere(), "anthropic", logged_in).unwrap();
        assert_eq!((tested.verdict, tested.kind.as_str()), (Verdict::Ok, "subscription"));
        assert!(
            tested.message.contains("answered HTTP 401); Claude Code is logged in to Claude Max"),
            "{}",
            tested.message
        );
        let head = heads.recv().unwrap().to_lowercase();
        assert!(!head.contains("authorization") && !head.contains("x-api-key"), "no credential: {head}");

        let tested = test_with(&config, &nowhere(), "anthropic", || Ok(AuthStatus::default())).unwrap();
        assert_eq!(tested.verdict, Verdict::NotLoggedIn);
        assert!(tested.message.contains("claude auth login"), "{}", tested.message);

        let unknown = test_with(&config, &nowhere(), "nope", logged_in).unwrap_err().to_string();
        assert_eq!(unknown, "no upstream is called \"nope\"; the upstreams are \"anthropic\"");
    }
}
