//! Who may talk to the gateway.
//!
//! The gateway listens on loopback, but a web page in the user's browser can
//! still reach loopback ports. Two checks shut that door: the `Host` header
//! must name a loopback host (a DNS-rebinding page would send its own
//! domain), and no `Origin` header may be present (browsers add one to
//! cross-site requests; Claude Code and the SDKs never send it).
//!
//! A gateway opened to the network on purpose (`allow_non_loopback = true`)
//! also answers a `Host` that is an IP address, as clients on other machines
//! send; a domain name other than `localhost` stays refused, since that is
//! what a rebinding page sends.
//!
//! A request must also say unambiguously whom it is for (RFC 9112 §3.2):
//! two `Host` headers are refused, and a target in absolute form
//! (`POST http://host/v1/messages`) is judged by its own authority, which
//! then stands in for `Host`.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Uri};

/// Why a request was refused before authentication.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    BadHost,
    BrowserOrigin,
    TwoHosts,
    ForeignTarget,
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
            Refusal::TwoHosts => {
                "the request has more than one Host header, so whom it is for is ambiguous; send exactly one \
                 Host header naming 127.0.0.1, localhost or [::1]"
            }
            Refusal::ForeignTarget => {
                "the request target names a host that is not this machine's loopback; the gateway is no proxy \
                 for other hosts: send the request to http://127.0.0.1:<port> with a path such as /v1/messages"
            }
        }
    }
}

/// Which hosts a request may be addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosts {
    /// `localhost` and loopback addresses: the gateway listens on loopback.
    Loopback,
    /// Those and any IP address: the gateway was opened to the network.
    AnyAddress,
}

/// Checks the request target and the `Host` and `Origin` headers.
pub fn check(target: &Uri, headers: &HeaderMap, allowed: Hosts) -> Result<(), Refusal> {
    if headers.contains_key(ORIGIN) {
        return Err(Refusal::BrowserOrigin);
    }
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(Refusal::TwoHosts);
    }
    if let Some(authority) = target.authority() {
        // An absolute-form target's authority replaces Host (RFC 9112 §3.2.2).
        return if host_allowed(authority.as_str(), allowed) { Ok(()) } else { Err(Refusal::ForeignTarget) };
    }
    let host = host.and_then(|h| h.to_str().ok()).ok_or(Refusal::BadHost)?;
    if host_allowed(host, allowed) { Ok(()) } else { Err(Refusal::BadHost) }
}

/// True for `localhost`, `127.x.y.z` and `[::1]`, with or without a port;
/// with [`Hosts::AnyAddress`], for any IP address too.
fn host_allowed(host: &str, hosts: Hosts) -> bool {
    if host.contains('@') {
        // user-info has no place in a target; refuse rather than guess.
        return false;
    }
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
    name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || hosts == Hosts::AnyAddress)
}

fn valid_port(with_colon: &str) -> bool {
    with_colon.strip_prefix(':').unwrap_or(with_colon).parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn check(headers: &HeaderMap) -> Result<(), Refusal> {
        super::check(&Uri::from_static("/v1/messages"), headers, Hosts::Loopback)
    }

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
    fn a_gateway_opened_to_the_network_answers_ip_addresses_but_no_other_names() {
        let target = Uri::from_static("/v1/messages");
        for host in ["10.0.0.1:7411", "192.168.1.20", "[fd00::2]:7411", "localhost"] {
            assert_eq!(super::check(&target, &headers(Some(host), None), Hosts::AnyAddress), Ok(()), "{host}");
        }
        for host in ["evil.com", "laptop.local:7411", ""] {
            let refused = super::check(&target, &headers(Some(host), None), Hosts::AnyAddress);
            assert_eq!(refused, Err(Refusal::BadHost), "{host}");
        }
        let origin = headers(Some("10.0.0.1"), Some("http://10.0.0.1"));
        assert_eq!(super::check(&target, &origin, Hosts::AnyAddress), Err(Refusal::BrowserOrigin));
    }

    #[test]
    fn any_origin_fails() {
        assert_eq!(check(&headers(Some("localhost"), Some("null"))), Err(Refusal::BrowserOrigin));
        assert_eq!(check(&headers(Some("localhost"), Some("http://localhost:7411"))), Err(Refusal::BrowserOrigin));
    }
}

#[cfg(test)]
mod target_tests {
    use super::*;
    use http::HeaderValue;

    fn loopback_host() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:7411"));
        headers
    }

    #[test]
    fn two_host_headers_are_refused() {
        let mut headers = loopback_host();
        headers.append(HOST, HeaderValue::from_static("127.0.0.1:7411"));
        assert_eq!(check(&Uri::from_static("/health"), &headers, Hosts::Loopback), Err(Refusal::TwoHosts));
    }

    #[test]
    fn absolute_form_is_judged_by_its_authority() {
        let headers = loopback_host();
        for ok in ["http://127.0.0.1:7411/v1/messages", "http://localhost/health", "http://[::1]:1/x"] {
            assert_eq!(check(&ok.parse().unwrap(), &headers, Hosts::Loopback), Ok(()), "{ok}");
        }
        for foreign in ["http://evil.com/v1/messages", "http://127.0.0.1@evil.com/", "http://evil.com:7411/"] {
            let refused = check(&foreign.parse().unwrap(), &headers, Hosts::Loopback);
            assert_eq!(refused, Err(Refusal::ForeignTarget), "{foreign}");
        }
        // The authority stands in for a missing or foreign Host.
        let mut foreign_host = HeaderMap::new();
        foreign_host.insert(HOST, HeaderValue::from_static("evil.com"));
        assert_eq!(check(&"http://127.0.0.1:7411/health".parse().unwrap(), &foreign_host, Hosts::Loopback), Ok(()));
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
            let _ = super::check(&http::Uri::from_static("/"), &headers, super::Hosts::Loopback);
        }
    }
}
