//! Who may talk to the gateway.
//!
//! The gateway listens on loopback, but a web page in the user's browser can
//! still reach loopback ports. Two checks shut that door: the `Host` header
//! must name a loopback host (a DNS-rebinding page would send its own
//! domain), and no `Origin` header may be present (browsers add one to
//! cross-site requests; Claude Code and the SDKs never send it).

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// Why a request was refused before authentication.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    BadHost,
    BrowserOrigin,
}

impl Refusal {
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::BadHost => {
                "the gateway only answers requests addressed to 127.0.0.1, localhost or [::1]; \
                 set ANTHROPIC_BASE_URL to http://127.0.0.1:<port>"
            }
            Refusal::BrowserOrigin => {
                "requests from web pages (with an Origin header) are refused to protect the gateway \
                 from cross-site requests; call it from Claude Code or an SDK instead"
            }
        }
    }
}

/// Checks the `Host` and `Origin` headers.
pub fn check(headers: &HeaderMap) -> Result<(), Refusal> {
    if headers.contains_key(ORIGIN) {
        return Err(Refusal::BrowserOrigin);
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).ok_or(Refusal::BadHost)?;
    if is_loopback_host(host) { Ok(()) } else { Err(Refusal::BadHost) }
}

/// True for `localhost`, `127.x.y.z` and `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, port)) if port.is_empty() || valid_port(port) => inside,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if valid_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn valid_port(with_colon: &str) -> bool {
    with_colon.strip_prefix(':').unwrap_or(with_colon).parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(host: Option<&str>, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(host) = host {
            h.insert(HOST, HeaderValue::from_str(host).unwrap());
        }
        if let Some(origin) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        h
    }

    #[test]
    fn loopback_hosts_pass() {
        for host in ["127.0.0.1:7411", "localhost:1", "LOCALHOST", "[::1]:80", "[::1]", "127.1.2.3"] {
            assert_eq!(check(&headers(Some(host), None)), Ok(()), "{host}");
        }
    }

    #[test]
    fn other_hosts_fail() {
        for host in ["evil.com", "evil.com:7411", "localhost.evil.com", "10.0.0.1:80", "[::2]:1", "127.0.0.1:x", ""] {
            assert_eq!(check(&headers(Some(host), None)), Err(Refusal::BadHost), "{host}");
        }
        assert_eq!(check(&headers(None, None)), Err(Refusal::BadHost));
    }

    #[test]
    fn any_origin_fails() {
        assert_eq!(check(&headers(Some("localhost"), Some("null"))), Err(Refusal::BrowserOrigin));
        assert_eq!(check(&headers(Some("localhost"), Some("http://localhost:7411"))), Err(Refusal::BrowserOrigin));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    proptest! {
        /// Any Host header value is judged without panicking.
        #[test]
        fn any_host_is_judged(host in "[ -~]{0,64}") {
            let mut headers = http::HeaderMap::new();
            if let Ok(value) = http::HeaderValue::from_str(&host) {
                headers.insert(http::header::HOST, value);
            }
            let _ = super::check(&headers);
        }
    }
}
