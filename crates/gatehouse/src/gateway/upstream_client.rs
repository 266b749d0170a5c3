//! The HTTP client for the hop from the gateway to the upstream.
//!
//! It is hyper's own pooled client, not a convenience client such as
//! reqwest: the gateway already holds a parsed request, so URL parsing,
//! header-map conversions, redirect following and body wrappers would all be
//! work done per request for nothing. TLS is rustls with the platform's
//! roots; `http://` works too (tests and local upstreams use it), and HTTP/2
//! is used when the upstream offers it.
//!
//! An HTTP proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, or their lowercase forms, read as curl reads
//! them) is honoured as reqwest and Claude Code honour it: behind a
//! corporate proxy there is often no other way out to the upstream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tower_service::Service;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// Why the upstream gave no response head.
#[derive(Debug)]
pub enum SendError {
    /// No response head within the read timeout.
    Timeout,
    Client(hyper_util::client::legacy::Error),
}

impl SendError {
    /// Whether the upstream was too slow (connecting or answering), rather than unreachable.
    pub fn is_timeout(&self) -> bool {
        match self {
            SendError::Timeout => true,
            SendError::Client(error) => caused_by_timeout(error),
        }
    }

    /// The EMFILE or ENFILE that kept the gateway from connecting, if that was the cause.
    pub(crate) fn out_of_files(&self) -> Option<&std::io::Error> {
        let SendError::Client(error) = self else { return None };
        crate::gateway::fd_limit::find_exhaustion(error)
    }

    /// Whether the upstream's TLS certificate was refused: not trusted by
    /// this machine, expired, or for another name.
    pub fn certificate_refused(&self) -> bool {
        let SendError::Client(error) = self else { return false };
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if is_refused_certificate(cause) {
                return true;
            }
            source = cause.source();
        }
        false
    }

    /// The proxy's `host:port`, when the failure was in reaching the upstream through it.
    pub fn proxy(&self) -> Option<&str> {
        let SendError::Client(error) = self else { return None };
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if let Some(proxy) = cause.downcast_ref::<ProxyError>() {
                return Some(&proxy.proxy);
            }
            source = cause.source();
        }
        None
    }

    /// A short description, without any URL or header.
    pub fn describe(&self) -> String {
        match self {
            SendError::Timeout => "timed out waiting for the response".to_string(),
            SendError::Client(error) => {
                let kind = if caused_by_timeout(error) {
                    "timed out"
                } else if self.certificate_refused() {
                    "TLS certificate refused"
                } else if error.is_connect() {
                    "could not connect"
                } else {
                    "connection error"
                };
                with_causes(kind, error)
            }
        }
    }
}

/// `kind`, then `error` and every underlying cause of it.
pub fn with_causes(kind: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut description = kind.to_string();
    let mut source = Some(error);
    while let Some(cause) = source {
        description.push_str(": ");
        description.push_str(&cause.to_string());
        source = cause.source();
    }
    description
}

/// Whether `error` is rustls refusing a certificate. It arrives wrapped in
/// io::Errors (tokio-rustls wraps it, hyper-rustls wraps that), whose
/// `source()` skips the wrapped error, so they are unwrapped by hand.
fn is_refused_certificate(mut error: &(dyn std::error::Error + 'static)) -> bool {
    loop {
        if let Some(rustls::Error::InvalidCertificate(_)) = error.downcast_ref::<rustls::Error>() {
            return true;
        }
        match error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => error = inner,
            None => return false,
        }
    }
}

fn caused_by_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut) {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Where requests go: the parts of the base URL, split once at start-up.
#[derive(Debug, Clone)]
pub struct BaseUri {
    scheme: Scheme,
    authority: Authority,
    /// A path the base URL has beyond its host, without a trailing slash.
    prefix: Option<String>,
}

impl BaseUri {
    /// Splits an `http://` or `https://` URL with a host.
    pub fn parse(base_url: &str) -> Result<BaseUri, String> {
        let uri: Uri = base_url.parse().map_err(|e| format!("is not a valid URL: {e}"))?;
        let parts = uri.into_parts();
        let scheme = parts.scheme.filter(|s| *s == Scheme::HTTP || *s == Scheme::HTTPS);
        let (Some(scheme), Some(authority)) = (scheme, parts.authority) else {
            return Err("must be an http:// or https:// URL with a host".to_string());
        };
        let prefix = parts.path_and_query.map(|pq| pq.as_str().trim_end_matches('/').to_string());
        Ok(BaseUri { scheme, authority, prefix: prefix.filter(|p| !p.is_empty()) })
    }

    /// The upstream URI for a request that arrived with `path_and_query`.
    pub fn join(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let path_and_query = match (&self.prefix, path_and_query) {
            (None, Some(pq)) => pq.clone(),
            (None, None) => PathAndQuery::from_static("/"),
            (Some(prefix), pq) => PathAndQuery::try_from(format!("{prefix}{}", pq.map_or("/", PathAndQuery::as_str)))?,
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }

    /// The base URL without its path, as the proxy rules see it.
    fn origin(&self) -> Uri {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()
            .expect("a scheme and authority that were already parsed")
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failed attempt to open a CONNECT tunnel. It names the proxy by host
/// and port only: the proxy URL may carry a password.
#[derive(Debug)]
struct ProxyError {
    proxy: Arc<str>,
    /// The tunnel's own error (a type hyper-util does not export).
    source: BoxError,
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot reach the upstream through the proxy {}", self.proxy)
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Opens TCP connections to the upstream, directly or through an HTTP
/// proxy. One type for both, so the client's type does not depend on the
/// environment; TLS, when the upstream is `https://`, goes on top of either.
#[derive(Clone)]
enum Connector {
    Direct(HttpConnector),
    /// Through `proxy` (its `host:port`) with HTTP CONNECT. `http://`
    /// upstreams are tunnelled too, rather than sent to the proxy in
    /// absolute form: simpler, and the real upstream is `https://` anyway.
    Proxied {
        tunnel: Tunnel<HttpConnector>,
        proxy: Arc<str>,
    },
}

impl Connector {
    /// A direct connector, or a tunnel through the proxy `proxies` names for
    /// `base` (checked once, here, since the upstream never changes).
    fn new(base: &BaseUri, http: HttpConnector, proxies: &Matcher) -> anyhow::Result<Connector> {
        let Some(intercept) = proxies.intercept(&base.origin()) else {
            return Ok(Connector::Direct(http));
        };
        let (proxy, tunnel) = tunnel_through(&intercept, http)?;
        tracing::info!("upstream via proxy http://{proxy}");
        Ok(Connector::Proxied { tunnel, proxy: Arc::from(proxy) })
    }
}

/// A CONNECT tunnel through `intercept`, and the proxy's `host:port`.
fn tunnel_through(intercept: &Intercept, http: HttpConnector) -> anyhow::Result<(String, Tunnel<HttpConnector>)> {
    // The matcher keeps the credentials out of `uri()`, so none of this can
    // leak them into a message.
    let uri = intercept.uri();
    let host = uri.host().unwrap_or_default();
    let scheme = uri.scheme_str().unwrap_or("http");
    if scheme != "http" {
        // TLS to the proxy, or SOCKS, is not supported; going direct instead
        // would quietly bypass a proxy the user asked for.
        anyhow::bail!(
            "the proxy {scheme}://{host} named by HTTPS_PROXY, HTTP_PROXY or ALL_PROXY is not supported: \
             only http:// proxies are; change it, or exclude the upstream with NO_PROXY"
        );
    }
    let proxy = format!("{host}:{}", uri.port_u16().unwrap_or(80));
    let mut tunnel = Tunnel::new(uri.clone(), http);
    if let Some(auth) = intercept.basic_auth() {
        // `with_auth` marks the value sensitive, which keeps it out of Debug output.
        tunnel = tunnel.with_auth(auth.clone());
    }
    Ok((proxy, tunnel))
}

/// `dst` with its scheme's default port made explicit: the tunnel would
/// otherwise ask the proxy for port 443 for an `http://` upstream.
fn with_port(dst: Uri) -> Uri {
    if dst.port().is_some() || dst.scheme() != Some(&Scheme::HTTP) {
        return dst;
    }
    let authority = dst.host().and_then(|host| Authority::try_from(format!("{host}:80")).ok());
    let mut parts = dst.clone().into_parts();
    parts.authority = authority;
    Uri::from_parts(parts).unwrap_or(dst)
}

impl Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Connector::Direct(http) => http.poll_ready(cx).map_err(Into::into),
            Connector::Proxied { tunnel, proxy } => tunnel
                .poll_ready(cx)
                .map_err(|source| ProxyError { proxy: proxy.clone(), source: source.into() }.into()),
        }
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self {
            Connector::Direct(http) => {
                let connecting = http.call(dst);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
            Connector::Proxied { tunnel, proxy } => {
                let (connecting, proxy) = (tunnel.call(with_port(dst)), proxy.clone());
                Box::pin(async move {
                    connecting.await.map_err(|source| ProxyError { proxy, source: source.into() }.into())
                })
            }
        }
    }
}

/// A pooled client for one upstream.
pub struct UpstreamClient {
    client: Client<HttpsConnector<Connector>, Full<Bytes>>,
    read_timeout: Duration,
}

impl UpstreamClient {
    /// A client for `base`. `read_timeout` bounds the wait for the response
    /// head, and every wait for the next piece of the body (see `MeteredBody`).
    /// `connect_timeout` bounds opening TCP connections, to the proxy if any.
    pub fn new(base: &BaseUri, connect_timeout: Duration, read_timeout: Duration) -> anyhow::Result<UpstreamClient> {
        let mut roots = rustls::RootCertStore::empty();
        // Native stores often hold a few certificates rustls cannot parse;
        // those are skipped, as browsers and curl do.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let connector = Connector::new(base, http, &Matcher::from_env())?;
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(https);
        Ok(UpstreamClient { client, read_timeout })
    }

    pub fn read_timeout(&self) -> Duration {
        self.read_timeout
    }

    /// Sends `request` and waits for the response head.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Response<Incoming>, SendError> {
        match tokio::time::timeout(self.read_timeout, self.client.request(request)).await {
            Ok(result) => result.map_err(SendError::Client),
            Err(_) => Err(SendError::Timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_uri_keeps_query_and_prefix() {
        let pq = PathAndQuery::from_static("/v1/messages?beta=true");
        let plain = BaseUri::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(plain.join(Some(&pq)).unwrap(), "http://127.0.0.1:9/v1/messages?beta=true");
        let prefixed = BaseUri::parse("https://gateway.example/anthropic/").unwrap();
        assert_eq!(prefixed.join(Some(&pq)).unwrap(), "https://gateway.example/anthropic/v1/messages?beta=true");
        assert!(BaseUri::parse("ftp://example.com").is_err());
        assert!(BaseUri::parse("/relative").is_err());
    }

    #[test]
    fn proxy_follows_the_rules_and_keeps_credentials_out_of_sight() {
        let base = BaseUri::parse("https://api.anthropic.com").unwrap();
        let matcher = |all: &str, no: &str| Matcher::builder().all(all.to_string()).no(no.to_string()).build();
        let connector = |m: &Matcher| Connector::new(&base, HttpConnector::new(), m);

        let Connector::Proxied { tunnel, proxy } = connector(&matcher("http://u:FAKE-secret@proxy.corp", "")).unwrap()
        else {
            panic!("the proxy applies");
        };
        assert_eq!(&*proxy, "proxy.corp:80");
        assert!(!format!("{tunnel:?}").contains("FAKE-secret"));
        assert!(matches!(
            connector(&matcher("http://proxy.corp:3128", ".anthropic.com")).unwrap(),
            Connector::Direct(_)
        ));

        let error = connector(&matcher("socks5://u:FAKE-secret@proxy.corp:1080", "")).err().unwrap().to_string();
        assert!(error.contains("socks5://proxy.corp") && !error.contains("FAKE-secret"), "{error}");
    }

    #[test]
    fn tunnelled_http_upstreams_name_port_80() {
        assert_eq!(with_port("http://example.com/v1".parse().unwrap()), "http://example.com:80/v1");
        assert_eq!(with_port("http://[::1]/".parse().unwrap()), "http://[::1]:80/");
        assert_eq!(with_port("http://example.com:8080/".parse().unwrap()), "http://example.com:8080/");
        // The tunnel itself defaults https to 443.
        assert_eq!(with_port("https://example.com/".parse().unwrap()), "https://example.com/");
    }
}
