//! The upstreams a request can be sent to, and the credentials each gets.
//!
//! An upstream is a named Anthropic-compatible API of some kind, with its own
//! HTTP client and its own credential policy: which of the client's
//! credentials it may receive, and which key of the gateway's it gets
//! instead. The set is loaded from the config once, when the gateway starts;
//! [`super::routes`] says which of them serves which model.
//!
//! The subscription's upstream, `anthropic`, comes from `[anthropic]`
//! (`base_url`, and for clients without a login a key: `secret`, by
//! reference, or the older `api_key_env`). Paid
//! upstreams come from `[[upstreams]]`: `anthropic` with an API key,
//! `openrouter`, or any other `compatible` API. A paid upstream never gets
//! the client's credentials: its own key replaces the client's
//! `Authorization` and `x-api-key`, and the subscription-only `oauth-*`
//! flags of `anthropic-beta` are taken out, so a subscription token reaches
//! Anthropic only. Each key is read from its store when the gateway starts;
//! one that cannot be read leaves its upstream refusing requests with the
//! reason, while the others work.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue};

use secrecy::ExposeSecret as _;

use super::model_map::ModelMap;
use super::upstream_client::{BaseUri, UpstreamClient};
use crate::config::{Config, SUBSCRIPTION_UPSTREAM, UpstreamConfig, UpstreamKindConfig};
use crate::engines::litellm::run::Link;
use crate::paths::Paths;

const API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const LITELLM_KEY: HeaderName = HeaderName::from_static("x-litellm-api-key");
const ANTHROPIC_BETA: HeaderName = HeaderName::from_static("anthropic-beta");

/// What an upstream is, which decides its credential policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamKind {
    /// Anthropic's API as Claude Code uses it: Claude Code's own login
    /// (subscription `Authorization`, or its API key) passes through.
    Subscription,
    /// A paid upstream of the config (see [`UpstreamKindConfig`]).
    Paid(UpstreamKindConfig),
}

impl fmt::Display for UpstreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpstreamKind::Subscription => "subscription",
            UpstreamKind::Paid(kind) => kind.name(),
        })
    }
}

/// How a paid upstream takes its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyHeader {
    /// `x-api-key: KEY`, as Anthropic's API.
    ApiKey,
    /// `Authorization: Bearer KEY`, as OpenRouter and most compatible APIs.
    Bearer,
    /// `x-litellm-api-key: Bearer KEY`: the LiteLLM engine's master key, or a
    /// team proxy's virtual key (`remote-litellm`).
    LiteLlm,
}

/// Which credential a request carries to an upstream.
pub(crate) enum CredentialPolicy {
    /// The client's own `Authorization` or `x-api-key` passes through as it
    /// is; a request that brings neither gets `key` as its `x-api-key`, and
    /// is refused when there is no key either.
    ClientsOwnElseKey {
        key: Option<HeaderValue>,
        /// Where `key` comes from (an environment variable), for messages.
        source: KeySource,
    },
    /// The upstream's own key, always; the client's credentials and the
    /// subscription's beta flags never reach it. `Err`: why the key could
    /// not be read when the gateway started.
    OwnKey { header: KeyHeader, key: Result<HeaderValue, String> },
}

/// Where the subscription upstream's own key comes from.
#[derive(Debug)]
pub(crate) enum KeySource {
    /// `[anthropic] api_key_env`: this environment variable.
    Env(String),
    /// `[anthropic] secret`: this reference, and why it could not be read.
    Secret { reference: String, problem: Option<String> },
}

impl KeySource {
    /// Where to put a key, for a request that has none.
    fn advice(&self) -> String {
        match self {
            KeySource::Env(name) => format!("put an Anthropic API key in the environment variable {name}"),
            KeySource::Secret { reference, problem } => format!(
                "store an Anthropic API key as {reference}{}",
                problem.as_ref().map(|why| format!(" (it cannot be read now: {why})")).unwrap_or_default()
            ),
        }
    }
}

/// Who pays for a request, by the credential it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Billing {
    /// Claude Code's subscription login: its cost is subscription-equivalent.
    Subscription,
    /// An API key (a paid upstream's, the gateway's or the client's own):
    /// its cost is billed, and budgets count it.
    Billed,
}

/// A request bound for an upstream that has no credential for it.
#[derive(Debug)]
pub(crate) enum NoCredential<'a> {
    /// The client brought none, and the subscription upstream has no key.
    Subscription { upstream: &'a str, source: &'a KeySource },
    /// The paid upstream's key could not be read.
    Key { upstream: &'a str, why: &'a str },
}

impl fmt::Display for NoCredential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoCredential::Subscription { upstream, source } => write!(
                f,
                "no credential for upstream `{upstream}`: log Claude Code in to your subscription with `claude auth \
                 login`, or {} before starting the gateway",
                source.advice()
            ),
            NoCredential::Key { upstream, why } => write!(
                f,
                "upstream `{upstream}` has no key: {why}. Fix it (`gatehouse auth add {upstream}`, or the upstream's \
                 `secret` in the config), then restart the gateway"
            ),
        }
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
    /// The names this upstream knows Claude Code's models by; none for the
    /// subscription, whose requests pass untouched.
    pub(crate) models: ModelMap,
    /// Until when (Unix seconds) requests pass over this upstream, after a
    /// failover trigger; 0: they do not.
    cooldown_until: AtomicI64,
    /// The LiteLLM engine, for an upstream reached through it.
    engine: Option<Arc<Link>>,
}

impl Upstream {
    /// The `subscription` upstream from `[anthropic]`, with its API key read
    /// from its `secret` reference, or else the environment variable the
    /// config names.
    fn subscription(config: &Config, paths: &Paths, base_url_override: Option<&str>) -> anyhow::Result<Upstream> {
        let base_url = base_url_override.unwrap_or(&config.anthropic.base_url).trim_end_matches('/').to_string();
        let base_uri =
            BaseUri::parse(&base_url).map_err(|e| anyhow::anyhow!("the Anthropic base URL {base_url:?} {e}"))?;
        let client = client_for(config, &base_uri)?;
        let upstream = |key, source| Upstream {
            name: Arc::from(SUBSCRIPTION_UPSTREAM),
            header_value: HeaderValue::from_static(SUBSCRIPTION_UPSTREAM),
            kind: UpstreamKind::Subscription,
            base_url,
            base_uri,
            client,
            credentials: CredentialPolicy::ClientsOwnElseKey { key, source },
            models: ModelMap::default(),
            cooldown_until: AtomicI64::new(0),
            engine: None,
        };
        if let Some(reference) = &config.anthropic.secret {
            let (key, problem) = match read_key(config, paths, reference, KeyHeader::ApiKey) {
                Ok(key) => (Some(key), None),
                Err(why) => {
                    tracing::error!(
                        "the subscription upstream's key for clients without a login cannot be read: {why}"
                    );
                    (None, Some(why))
                }
            };
            return Ok(upstream(key, KeySource::Secret { reference: reference.clone(), problem }));
        }
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
        Ok(upstream(api_key, KeySource::Env(api_key_env)))
    }

    /// A paid upstream of `[[upstreams]]`, with its key read from its store
    /// now (or the reason it cannot be, which its requests are told). One
    /// reached through the LiteLLM engine (`litellm`) gets the engine's
    /// loopback address and master key instead: LiteLLM holds its own
    /// credentials, and `/status` shows the upstream's own endpoint.
    fn paid(
        config: &Config,
        paths: &Paths,
        upstream: &UpstreamConfig,
        litellm: Option<&Arc<Link>>,
    ) -> anyhow::Result<Upstream> {
        let (base_url, target, header, key) = if upstream.kind.through_litellm() {
            let (target, key) = match litellm {
                Some(link) => (link.base_url.clone(), Ok(link.master_key.clone())),
                None => ("http://127.0.0.1:9".to_string(), Err("the LiteLLM engine is not running".to_string())),
            };
            (upstream.bedrock_endpoint().unwrap_or_default(), target, KeyHeader::LiteLlm, key)
        } else {
            let base_url = upstream
                .base_url
                .as_deref()
                .or(upstream.kind.default_base_url())
                .ok_or_else(|| anyhow::anyhow!("upstream `{}` has no base_url", upstream.name))?
                .trim_end_matches('/')
                .to_string();
            let header = match upstream.kind {
                UpstreamKindConfig::Anthropic => KeyHeader::ApiKey,
                UpstreamKindConfig::OpenRouter | UpstreamKindConfig::Compatible => KeyHeader::Bearer,
                UpstreamKindConfig::Bedrock | UpstreamKindConfig::RemoteLitellm => KeyHeader::LiteLlm,
            };
            let key = read_key(config, paths, &upstream.secret, header);
            (base_url.clone(), base_url, header, key)
        };
        if let Err(why) = &key {
            tracing::error!("upstream {} has no key, so it refuses requests: {why}", upstream.name);
        }
        let base_uri = BaseUri::parse(&target)
            .map_err(|e| anyhow::anyhow!("the base URL {target:?} of `{}` {e}", upstream.name))?;
        let client = client_for(config, &base_uri)?;
        Ok(Upstream {
            name: Arc::from(upstream.name.as_str()),
            header_value: HeaderValue::from_str(&upstream.name)
                .map_err(|_| anyhow::anyhow!("{:?} is not an upstream name", upstream.name))?,
            kind: UpstreamKind::Paid(upstream.kind),
            base_url,
            base_uri,
            client,
            credentials: CredentialPolicy::OwnKey { header, key },
            models: ModelMap::of(upstream),
            cooldown_until: AtomicI64::new(0),
            engine: litellm.filter(|_| upstream.kind.through_litellm()).cloned(),
        })
    }

    /// A paid upstream as the LiteLLM engine serves it, for the requests
    /// only the engine speaks (Chat Completions): the same name, budget and
    /// model names, with the engine's address and master key; refusing, as
    /// `direct` does, when the upstream's own key cannot be read.
    fn via_litellm(
        config: &Config,
        upstream: &UpstreamConfig,
        direct: &Upstream,
        link: &Arc<Link>,
    ) -> anyhow::Result<Upstream> {
        let key = match &direct.credentials {
            CredentialPolicy::OwnKey { key: Err(why), .. } => Err(why.clone()),
            _ => Ok(link.master_key.clone()),
        };
        let base_uri = BaseUri::parse(&link.base_url)
            .map_err(|e| anyhow::anyhow!("the LiteLLM engine's address {:?} {e}", link.base_url))?;
        let client = client_for(config, &base_uri)?;
        Ok(Upstream {
            name: direct.name.clone(),
            header_value: direct.header_value.clone(),
            kind: direct.kind,
            base_url: direct.base_url.clone(),
            base_uri,
            client,
            credentials: CredentialPolicy::OwnKey { header: KeyHeader::LiteLlm, key },
            models: ModelMap::via_litellm(upstream),
            cooldown_until: AtomicI64::new(0),
            engine: Some(link.clone()),
        })
    }

    /// Whether requests to it go through the LiteLLM engine.
    #[inline]
    pub(crate) fn through_engine(&self) -> bool {
        self.engine.is_some()
    }

    /// Why requests cannot be sent to this upstream now, when it is
    /// reached through the LiteLLM engine and the engine is not ready.
    /// An engine that could not be started is tried again (an install
    /// made since then takes effect): a later request finds it starting.
    #[inline]
    pub(crate) fn unavailable(&self) -> Option<String> {
        let link = self.engine.as_ref()?;
        let why = link.unavailable()?;
        link.retry_if_unprepared();
        Some(why)
    }

    /// Applies this upstream's credential policy to a request's headers,
    /// and says whether the request is then billed: it is, unless it carries
    /// the client's own `Authorization` (Claude Code's subscription login)
    /// to the subscription's upstream.
    #[inline]
    pub(crate) fn apply_credentials(&self, headers: &mut HeaderMap) -> Result<Billing, NoCredential<'_>> {
        match &self.credentials {
            CredentialPolicy::ClientsOwnElseKey { key, source } => {
                if headers.contains_key(header::AUTHORIZATION) {
                    return Ok(Billing::Subscription);
                }
                if headers.contains_key(API_KEY) {
                    return Ok(Billing::Billed);
                }
                let Some(key) = key else {
                    return Err(NoCredential::Subscription { upstream: &self.name, source });
                };
                headers.insert(API_KEY, key.clone());
                Ok(Billing::Billed)
            }
            CredentialPolicy::OwnKey { header, key } => {
                let key = key.as_ref().map_err(|why| NoCredential::Key { upstream: &self.name, why })?;
                headers.remove(header::AUTHORIZATION);
                headers.remove(API_KEY);
                strip_subscription_betas(headers);
                let name = match header {
                    KeyHeader::ApiKey => API_KEY,
                    KeyHeader::Bearer => header::AUTHORIZATION,
                    KeyHeader::LiteLlm => LITELLM_KEY,
                };
                headers.insert(name, key.clone());
                Ok(Billing::Billed)
            }
        }
    }

    /// While requests pass over this upstream: until when, as the local
    /// time of day. Once it is over, the next request tries it again.
    pub(crate) fn cooling_down(&self) -> Option<String> {
        let until = self.cooldown_until.load(Ordering::Relaxed);
        (until > jiff::Timestamp::now().as_second()).then(|| local_time(until))
    }

    /// Passes over this upstream until `reset` (Unix seconds, from its
    /// headers) or, without one, for `default`; returns until when.
    pub(crate) fn cool_down(&self, reset: Option<u64>, default: Duration) -> String {
        let now = jiff::Timestamp::now().as_second();
        let until = match reset.and_then(|reset| i64::try_from(reset).ok()) {
            Some(reset) if reset > now => reset,
            _ => now.saturating_add(i64::try_from(default.as_secs()).unwrap_or(i64::MAX)),
        };
        self.cooldown_until.store(until, Ordering::Relaxed);
        local_time(until)
    }

    /// What `/status` says of it.
    pub(crate) fn status(&self) -> super::UpstreamStatus {
        super::UpstreamStatus {
            name: self.name.to_string(),
            kind: self.kind.to_string(),
            base_url: self.base_url.clone(),
            api_key: self.describe_key(),
            resting_until: self.cooling_down(),
            engine: self.engine.as_ref().map(|link| link.status()),
        }
    }

    /// Where this upstream's own key comes from, for `/status`; never the key.
    pub(crate) fn describe_key(&self) -> String {
        match &self.credentials {
            CredentialPolicy::ClientsOwnElseKey { key: Some(_), source: KeySource::Env(name) } => {
                format!("from ${name}")
            }
            CredentialPolicy::ClientsOwnElseKey { key: None, source: KeySource::Env(name) } => {
                format!("none (${name} is not set); clients must bring their own")
            }
            CredentialPolicy::ClientsOwnElseKey { key: Some(_), source: KeySource::Secret { reference, .. } } => {
                format!("from {reference}")
            }
            CredentialPolicy::ClientsOwnElseKey { key: None, source: KeySource::Secret { reference, problem } } => {
                format!("none ({reference}: {}); clients must bring their own", problem.as_deref().unwrap_or("unread"))
            }
            CredentialPolicy::OwnKey { key: Ok(_), .. } if let Some(link) = &self.engine => {
                format!("AWS credentials, held by the LiteLLM engine ({})", link.describe())
            }
            CredentialPolicy::OwnKey { key: Ok(_), .. } => "its own".to_string(),
            CredentialPolicy::OwnKey { key: Err(why), .. } => format!("none: {why}"),
        }
    }
}

/// A connection pool to `base_uri`, with the config's timeouts.
fn client_for(config: &Config, base_uri: &BaseUri) -> anyhow::Result<UpstreamClient> {
    UpstreamClient::new(
        base_uri,
        Duration::from_secs(config.gateway.connect_timeout_secs),
        Duration::from_secs(config.gateway.idle_timeout_secs),
    )
}

/// Reads a paid upstream's key from the store its reference names, ready to
/// send (`Bearer KEY` or the bare key), marked sensitive so it is never logged.
fn read_key(config: &Config, paths: &Paths, secret: &str, header: KeyHeader) -> Result<HeaderValue, String> {
    let reference = crate::secrets::SecretRef::parse(secret, config.secrets.store).map_err(|e| e.to_string())?;
    let resolved = reference.resolve(paths).map_err(|e| format!("{reference}: {e}"))?;
    let key = resolved.secret.expose_secret().trim();
    let text = match header {
        KeyHeader::ApiKey => key.to_string(),
        KeyHeader::Bearer | KeyHeader::LiteLlm => format!("Bearer {key}"),
    };
    let mut value = HeaderValue::from_str(&text)
        .map_err(|_| format!("{reference} holds characters not allowed in an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `14:05` in the local time zone (`2026-12-04 14:05` when not today).
fn local_time(unix_seconds: i64) -> String {
    let Ok(at) = jiff::Timestamp::from_second(unix_seconds) else { return unix_seconds.to_string() };
    let zone = jiff::tz::TimeZone::system();
    let (at, now) = (at.to_zoned(zone.clone()), jiff::Timestamp::now().to_zoned(zone));
    if at.date() == now.date() { at.strftime("%H:%M").to_string() } else { at.strftime("%Y-%m-%d %H:%M").to_string() }
}

/// Takes the subscription's own flags (`oauth-…`) out of `anthropic-beta`:
/// they mark a subscription login, which a paid upstream must not see.
fn strip_subscription_betas(headers: &mut HeaderMap) {
    let Some(betas) = headers.get(&ANTHROPIC_BETA).and_then(|value| value.to_str().ok()) else { return };
    if !betas.split(',').any(|beta| beta.trim().starts_with("oauth-")) {
        return;
    }
    let kept: Vec<&str> = betas.split(',').map(str::trim).filter(|beta| !beta.starts_with("oauth-")).collect();
    match HeaderValue::from_str(&kept.join(",")) {
        Ok(value) if !kept.is_empty() => {
            headers.insert(ANTHROPIC_BETA, value);
        }
        _ => {
            headers.remove(ANTHROPIC_BETA);
        }
    }
}

/// Names one upstream of an [`Upstreams`] set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UpstreamId(usize);

#[cfg(test)]
impl UpstreamId {
    pub(crate) fn at(index: usize) -> UpstreamId {
        UpstreamId(index)
    }
}

/// Every upstream the gateway may send to, in the config's order.
pub(crate) struct Upstreams {
    /// The config's upstreams (the first `listed`), then those upstreams as
    /// the LiteLLM engine serves them (see [`Upstreams::via_litellm`]).
    all: Vec<Upstream>,
    listed: usize,
    /// For each listed upstream, where Chat Completions requests for it go:
    /// itself when the engine already serves it (or it is a team's LiteLLM
    /// proxy), its engine twin, or nowhere (the subscription).
    via_litellm: Vec<Option<UpstreamId>>,
    /// The LiteLLM engine, when the config has an upstream it serves.
    engine: Option<Arc<Link>>,
}

impl Upstreams {
    /// The upstreams the config describes. `base_url_override` (from
    /// `gatehouse gateway run --anthropic-base-url`) replaces the
    /// subscription's base URL.
    pub(crate) fn from_config(
        config: &Config,
        paths: &Paths,
        base_url_override: Option<&str>,
        litellm: Option<&Arc<Link>>,
    ) -> anyhow::Result<Upstreams> {
        let mut all = vec![Upstream::subscription(config, paths, base_url_override)?];
        for upstream in &config.upstreams {
            all.push(Upstream::paid(config, paths, upstream, litellm)?);
        }
        let listed = all.len();
        let mut via_litellm = vec![None];
        for (index, upstream) in config.upstreams.iter().enumerate() {
            let id = match litellm {
                // A team's LiteLLM proxy speaks Chat Completions itself.
                _ if upstream.kind.litellm_provider().is_none() => Some(UpstreamId(index + 1)),
                None => None,
                Some(_) if upstream.kind.through_litellm() => Some(UpstreamId(index + 1)),
                Some(link) => {
                    let twin = Upstream::via_litellm(config, upstream, &all[index + 1], link)?;
                    all.push(twin);
                    Some(UpstreamId(all.len() - 1))
                }
            };
            via_litellm.push(id);
        }
        Ok(Upstreams { all, listed, via_litellm, engine: litellm.cloned() })
    }

    /// Where a Chat Completions request for upstream `id` goes: the
    /// upstream as the LiteLLM engine serves it; `None` for the subscription,
    /// which never serves one, or without an engine.
    pub(crate) fn via_litellm(&self, id: UpstreamId) -> Option<UpstreamId> {
        self.via_litellm.get(id.0).copied().flatten()
    }

    /// The LiteLLM engine, if the config has an upstream it serves.
    pub(crate) fn engine(&self) -> Option<&Arc<Link>> {
        self.engine.as_ref()
    }

    #[inline]
    pub(crate) fn get(&self, id: UpstreamId) -> &Upstream {
        &self.all[id.0]
    }

    /// The upstream called `name`.
    pub(crate) fn find(&self, name: &str) -> Option<UpstreamId> {
        self.iter().position(|upstream| &*upstream.name == name).map(UpstreamId)
    }

    /// The first upstream of the config: the one `/status` describes.
    pub(crate) fn first(&self) -> &Upstream {
        &self.all[0]
    }

    /// The config's upstreams, in its order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Upstream> {
        self.all[..self.listed].iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths no test key is read from.
    fn nowhere() -> Paths {
        Paths::under(std::path::Path::new("/nonexistent/gatehouse"))
    }

    fn config(api_key_env: &str) -> Config {
        let mut config = Config::default();
        config.anthropic.base_url = "http://127.0.0.1:9/base/".to_string();
        config.anthropic.api_key_env = api_key_env.to_string();
        config
    }

    #[test]
    fn the_default_config_is_one_subscription_upstream() {
        let upstreams =
            Upstreams::from_config(&config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY"), &nowhere(), None, None).unwrap();
        let names: Vec<_> = upstreams.iter().map(|u| (u.name.to_string(), u.kind)).collect();
        assert_eq!(names, [("anthropic".to_string(), UpstreamKind::Subscription)]);
        let anthropic = upstreams.get(upstreams.find("anthropic").unwrap());
        assert_eq!(anthropic.base_url, "http://127.0.0.1:9/base");
        assert_eq!(anthropic.header_value, "anthropic");
        assert_eq!(upstreams.find("openrouter"), None);

        let overridden =
            Upstreams::from_config(&Config::default(), &nowhere(), Some("http://127.0.0.1:7/"), None).unwrap();
        assert_eq!(overridden.first().base_url, "http://127.0.0.1:7");
    }

    #[test]
    fn a_subscription_upstream_passes_the_clients_credential_and_adds_its_key_only_when_there_is_none() {
        let upstreams =
            Upstreams::from_config(&config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY"), &nowhere(), None, None).unwrap();
        let mut anthropic =
            Upstreams::from_config(&config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY"), &nowhere(), None, None)
                .unwrap()
                .all
                .remove(0);
        let mut key = HeaderValue::from_static("sk-ant-api03-FAKE-gateway-key");
        key.set_sensitive(true);
        anthropic.credentials = CredentialPolicy::ClientsOwnElseKey {
            key: Some(key),
            source: KeySource::Env("GATEHOUSE_TEST_KEY".to_string()),
        };
        assert_eq!(anthropic.describe_key(), "from $GATEHOUSE_TEST_KEY");

        for (name, value, billing) in [
            ("authorization", "Bearer sk-ant-oat01-FAKE", Billing::Subscription),
            ("x-api-key", "sk-ant-api03-FAKE-own", Billing::Billed),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
            assert_eq!(anthropic.apply_credentials(&mut headers).unwrap(), billing, "{name}");
            assert_eq!(headers.len(), 1, "{name} passes alone");
            assert_eq!(headers[name], value);
        }
        let mut headers = HeaderMap::new();
        assert_eq!(anthropic.apply_credentials(&mut headers).unwrap(), Billing::Billed, "the gateway's key is billed");
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

    #[test]
    fn a_paid_upstream_gets_its_own_key_and_never_the_clients_credentials_or_the_subscriptions_flags() {
        let mut config = config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY");
        // SAFETY: a variable no other test reads or writes.
        unsafe { std::env::set_var("GATEHOUSE_TEST_PAID_UPSTREAM_KEY", "sk-or-v1-FAKE-paid-upstream\n") };
        let paid = |name: &str, kind, secret: &str| UpstreamConfig {
            name: name.to_string(),
            kind,
            base_url: Some("http://127.0.0.1:9/api".to_string()),
            secret: secret.to_string(),
            models: Default::default(),
            region: None,
        };
        config.upstreams = vec![
            paid("openrouter", UpstreamKindConfig::OpenRouter, "env:GATEHOUSE_TEST_PAID_UPSTREAM_KEY"),
            paid("anthropic-key", UpstreamKindConfig::Anthropic, "env:GATEHOUSE_TEST_PAID_UPSTREAM_KEY"),
            paid("broken", UpstreamKindConfig::Compatible, "env:GATEHOUSE_TEST_PAID_UPSTREAM_UNSET"),
            paid("team", UpstreamKindConfig::RemoteLitellm, "env:GATEHOUSE_TEST_PAID_UPSTREAM_KEY"),
        ];
        let upstreams = Upstreams::from_config(&config, &nowhere(), None, None).unwrap();
        let names: Vec<_> = upstreams.iter().map(|u| format!("{} {}", u.name, u.kind)).collect();
        assert_eq!(
            names,
            [
                "anthropic subscription",
                "openrouter openrouter",
                "anthropic-key anthropic",
                "broken compatible",
                "team remote-litellm"
            ]
        );
        let client_headers = || {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer sk-ant-oat01-FAKE-subscription"));
            headers.insert(API_KEY, HeaderValue::from_static("sk-ant-api03-FAKE-clients-own"));
            headers.insert(
                ANTHROPIC_BETA,
                HeaderValue::from_static("oauth-2025-04-20, fine-grained-tool-streaming-2025-05-14"),
            );
            headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
            headers
        };

        let mut headers = client_headers();
        let billing = upstreams.get(upstreams.find("openrouter").unwrap()).apply_credentials(&mut headers).unwrap();
        assert_eq!(billing, Billing::Billed);
        assert_eq!(headers[header::AUTHORIZATION], "Bearer sk-or-v1-FAKE-paid-upstream");
        assert!(headers[header::AUTHORIZATION].is_sensitive());
        assert!(!headers.contains_key(API_KEY), "the client's own key stays behind");
        assert_eq!(headers[ANTHROPIC_BETA], "fine-grained-tool-streaming-2025-05-14", "only the oauth flag goes");
        assert_eq!(headers["anthropic-version"], "2023-06-01");

        let mut headers = client_headers();
        headers.insert(ANTHROPIC_BETA, HeaderValue::from_static("oauth-2025-04-20"));
        upstreams.get(upstreams.find("anthropic-key").unwrap()).apply_credentials(&mut headers).unwrap();
        assert_eq!(headers[API_KEY], "sk-or-v1-FAKE-paid-upstream");
        assert!(!headers.contains_key(header::AUTHORIZATION) && !headers.contains_key(ANTHROPIC_BETA), "{headers:?}");

        // A team's LiteLLM proxy takes its virtual key as LiteLLM does, and
        // nothing of the client's.
        let mut headers = client_headers();
        upstreams.get(upstreams.find("team").unwrap()).apply_credentials(&mut headers).unwrap();
        assert_eq!(headers["x-litellm-api-key"], "Bearer sk-or-v1-FAKE-paid-upstream");
        assert!(headers["x-litellm-api-key"].is_sensitive());
        assert!(!headers.contains_key(header::AUTHORIZATION) && !headers.contains_key(API_KEY), "{headers:?}");

        let broken = upstreams.get(upstreams.find("broken").unwrap());
        let refused = broken.apply_credentials(&mut client_headers()).unwrap_err().to_string();
        assert!(
            refused.starts_with("upstream `broken` has no key: env:GATEHOUSE_TEST_PAID_UPSTREAM_UNSET"),
            "{refused}"
        );
        assert!(broken.describe_key().starts_with("none: "), "{}", broken.describe_key());
        for upstream in upstreams.iter() {
            assert!(!upstream.describe_key().contains("FAKE-paid"), "never the key");
        }
    }

    #[test]
    fn the_subscriptions_key_can_be_named_by_reference_instead_of_api_key_env() {
        let mut config = config("GATEHOUSE_TEST_UPSTREAMS_UNSET_KEY");
        // SAFETY: a variable no other test reads or writes.
        unsafe { std::env::set_var("GATEHOUSE_TEST_SUBSCRIPTION_SECRET", "sk-ant-api03-FAKE-by-reference") };
        config.anthropic.secret = Some("env:GATEHOUSE_TEST_SUBSCRIPTION_SECRET".to_string());
        let upstreams = Upstreams::from_config(&config, &nowhere(), None, None).unwrap();
        let anthropic = upstreams.first();
        assert_eq!(anthropic.describe_key(), "from env:GATEHOUSE_TEST_SUBSCRIPTION_SECRET");
        let mut headers = HeaderMap::new();
        anthropic.apply_credentials(&mut headers).unwrap();
        assert_eq!(headers[API_KEY], "sk-ant-api03-FAKE-by-reference");
        // A login still passes through untouched.
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer sk-ant-oat01-FAKE"));
        anthropic.apply_credentials(&mut headers).unwrap();
        assert_eq!(
            (headers.len(), &headers[header::AUTHORIZATION]),
            (1, &HeaderValue::from_static("Bearer sk-ant-oat01-FAKE"))
        );

        config.anthropic.secret = Some("env:GATEHOUSE_TEST_SUBSCRIPTION_SECRET_UNSET".to_string());
        let upstreams = Upstreams::from_config(&config, &nowhere(), None, None).unwrap();
        let refused = upstreams.first().apply_credentials(&mut HeaderMap::new()).unwrap_err().to_string();
        assert!(
            refused.contains(
                "or store an Anthropic API key as env:GATEHOUSE_TEST_SUBSCRIPTION_SECRET_UNSET (it cannot be read now: "
            ),
            "{refused}"
        );
    }
}
