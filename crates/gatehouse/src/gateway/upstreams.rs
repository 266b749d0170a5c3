//! The upstreams a request can be sent to, and the credentials each gets.
//!
//! An upstream is a named Anthropic-compatible API of some kind, with its own
//! HTTP client and its own credential policy: which of the client's
//! credentials it may receive, and which key of the gateway's it gets
//! instead. The set is loaded from the config once, when the gateway starts;
//! [`super::routes`] says which of them serves which model.
//!
//! Today there is one kind, `subscription`, and the config yields one
//! upstream of it, `anthropic`, from `[anthropic] base_url` and
//! `api_key_env`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue};

use super::upstream_client::{BaseUri, UpstreamClient};
use crate::config::Config;

const API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// What an upstream is, which decides its credential policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamKind {
    /// Anthropic's API as Claude Code uses it: Claude Code's own login
    /// (subscription `Authorization`, or its API key) passes through.
    Subscription,
}

impl fmt::Display for UpstreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpstreamKind::Subscription => "subscription",
        })
    }
}

/// Which credential a request carries to an upstream.
pub(crate) enum CredentialPolicy {
    /// The client's own `Authorization` or `x-api-key` passes through as it
    /// is; a request that brings neither gets `key` as its `x-api-key`, and
    /// is refused when there is no key either.
    ClientsOwnElseKey {
        key: Option<HeaderValue>,
        /// Where `key` comes from (an environment variable), for messages.
        key_env: String,
    },
}

/// A request bound for an upstream that has no credential for it.
#[derive(Debug)]
pub(crate) struct NoCredential<'a> {
    upstream: &'a str,
    key_env: &'a str,
}

impl fmt::Display for NoCredential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no credential for upstream `{}`: log Claude Code in to your subscription with `claude auth login`, \
             or put an Anthropic API key in the environment variable {} before starting the gateway",
            self.upstream, self.key_env
        )
    }
}

/// Where requests go.
pub(crate) struct Upstream {
    /// Short name, reported in `x-gatehouse-upstream` and the ledger.
    pub(crate) name: Arc<str>,
    /// `name`, ready to send as `x-gatehouse-upstream`.
    pub(crate) header_value: HeaderValue,
    pub(crate) kind: UpstreamKind,
    /// Without a trailing slash.
    pub(crate) base_url: String,
    /// `base_url`, split once for building each request's URI.
    pub(crate) base_uri: BaseUri,
    /// This upstream's own connection pool.
    pub(crate) client: UpstreamClient,
    pub(crate) credentials: CredentialPolicy,
}

impl Upstream {
    /// The `subscription` upstream from `[anthropic]`, with its API key read
    /// from the environment variable the config names.
    fn subscription(config: &Config, base_url_override: Option<&str>) -> anyhow::Result<Upstream> {
        let base_url = base_url_override.unwrap_or(&config.anthropic.base_url).trim_end_matches('/').to_string();
        let base_uri =
            BaseUri::parse(&base_url).map_err(|e| anyhow::anyhow!("the Anthropic base URL {base_url:?} {e}"))?;
        let api_key_env = config.anthropic.api_key_env.clone();
        let api_key = match std::env::var(&api_key_env) {
            Ok(key) if !key.trim().is_empty() => {
                let mut value = HeaderValue::from_str(key.trim()).map_err(|_| {
                    anyhow::anyhow!("the API key in ${api_key_env} contains characters not allowed in an HTTP header")
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };
        let client = UpstreamClient::new(
            &base_uri,
            Duration::from_secs(config.gateway.connect_timeout_secs),
            Duration::from_secs(config.gateway.idle_timeout_secs),
        )?;
        Ok(Upstream {
            name: Arc::from("anthropic"),
            header_value: HeaderValue::from_static("anthropic"),
            kind: UpstreamKind::Subscription,
            base_url,
            base_uri,
            client,
            credentials: CredentialPolicy::ClientsOwnElseKey { key: api_key, key_env: api_key_env },
        })
    }

    /// Applies this upstream's credential policy to a request's headers.
    #[inline]
    pub(crate) fn apply_credentials(&self, headers: &mut HeaderMap) -> Result<(), NoCredential<'_>> {
        match &self.credentials {
            CredentialPolicy::ClientsOwnElseKey { key, key_env } => {
                if headers.contains_key(header::AUTHORIZATION) || headers.contains_key(API_KEY) {
                    return Ok(());
                }
                let Some(key) = key else { return Err(NoCredential { upstream: &self.name, key_env }) };
                headers.insert(API_KEY, key.clone());
                Ok(())
            }
        }
    }

    /// Where this upstream's own key comes from, for `/status`; never the key.
    pub(crate) fn describe_key(&self) -> String {
        match &self.credentials {
            CredentialPolicy::ClientsOwnElseKey { key: Some(_), key_env } => format!("from ${key_env}"),
            CredentialPolicy::ClientsOwnElseKey { key: None, key_env } => {
                format!("none (${key_env} is not set); clients must bring their own")
            }
        }
    }
}

/// Names one upstream of an [`Upstreams`] set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UpstreamId(usize);

/// Every upstream the gateway may send to, in the config's order.
pub(crate) struct Upstreams {
    all: Vec<Upstream>,
}

impl Upstreams {
    /// The upstreams the config describes. `base_url_override` (from
    /// `gatehouse gateway run --anthropic-base-url`) replaces the
    /// subscription's base URL.
    pub(crate) fn from_config(config: &Config, base_url_override: Option<&str>) -> anyhow::Result<Upstreams> {
        Ok(Upstreams { all: vec![Upstream::subscription(config, base_url_override)?] })
    }

    #[inline]
    pub(crate) fn get(&self, id: UpstreamId) -> &Upstream {
        &self.all[id.0]
    }

    /// The upstream called `name`.
    pub(crate) fn find(&self, name: &str) -> Option<UpstreamId> {
        self.all.iter().position(|upstream| &*upstream.name == name).map(UpstreamId)
    }

    /// The first upstream of the config: the one `/status` describes.
    pub(crate) fn first(&self) -> &Upstream {
        &self.all[0]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Upstream> {
        self.all.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(api_key_env: &str) -> Config {
        let mut config = Config::default();
        config.anthropic.base_url = "http://127.0.0.1:9/base/".to_string();
        config.anthropic.api_key_env = api_key_env.to_string();
        config
    }

    #[test]
    fn the_default_config_is_one_subscription_upstream() {
        let upstreams = Upstreams::from_config(&config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY"), None).unwrap();
        let names: Vec<_> = upstreams.iter().map(|u| (u.name.to_string(), u.kind)).collect();
        assert_eq!(names, [("anthropic".to_string(), UpstreamKind::Subscription)]);
        let anthropic = upstreams.get(upstreams.find("anthropic").unwrap());
        assert_eq!(anthropic.base_url, "http://127.0.0.1:9/base");
        assert_eq!(anthropic.header_value, "anthropic");
        assert_eq!(upstreams.find("openrouter"), None);

        let overridden = Upstreams::from_config(&Config::default(), Some("http://127.0.0.1:7/")).unwrap();
        assert_eq!(overridden.first().base_url, "http://127.0.0.1:7");
    }

    #[test]
    fn a_subscription_upstream_passes_the_clients_credential_and_adds_its_key_only_when_there_is_none() {
        let upstreams = Upstreams::from_config(&config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY"), None).unwrap();
        let mut anthropic =
            Upstreams::from_config(&config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY"), None).unwrap().all.remove(0);
        let mut key = HeaderValue::from_static("sk-ant-api03-FAKE-gateway-key");
        key.set_sensitive(true);
        anthropic.credentials =
            CredentialPolicy::ClientsOwnElseKey { key: Some(key), key_env: "GATEHOUSE_TEST_KEY".to_string() };
        assert_eq!(anthropic.describe_key(), "from $GATEHOUSE_TEST_KEY");

        for (name, value) in [("authorization", "Bearer sk-ant-oat01-FAKE"), ("x-api-key", "sk-ant-api03-FAKE-own")] {
            let mut headers = HeaderMap::new();
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
            anthropic.apply_credentials(&mut headers).unwrap();
            assert_eq!(headers.len(), 1, "{name} passes alone");
            assert_eq!(headers[name], value);
        }
        let mut headers = HeaderMap::new();
        anthropic.apply_credentials(&mut headers).unwrap();
        assert_eq!(headers["x-api-key"], "sk-ant-api03-FAKE-gateway-key");
        assert!(headers["x-api-key"].is_sensitive());

        let keyless = upstreams.first();
        assert_eq!(
            keyless.describe_key(),
            "none ($GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY is not set); clients must bring their own"
        );
        let refused = keyless.apply_credentials(&mut HeaderMap::new()).unwrap_err().to_string();
        assert!(refused.starts_with("no credential for upstream `anthropic`"), "{refused}");
        assert!(refused.contains("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY"), "{refused}");
    }
}
