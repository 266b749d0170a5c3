//! Values that parse but cannot work.
//!
//! Deserialising checks types; this checks meaning: a timeout of zero or of
//! a hundred years, a body limit of zero, a negative price, a key hash that
//! no key can match, an upstream that is not an HTTP URL, a gateway opened
//! to the network by accident. Each would otherwise fail later, on every
//! request or in the middle of one, far from the line that caused it. The
//! first problem found is reported with its key, and [`Problem::locate`]
//! finds that key's value in the file for the line and column.

use std::net::IpAddr;

use super::{Config, UpstreamKindConfig};
use crate::pricing::Rates;

/// The longest any timeout or delay may be: a week. Longer values are
/// mistakes, and far longer ones overflow when added to the current time.
const MAX_SECS: u64 = 7 * 24 * 3600;

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A value that cannot work, and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    path: Vec<Step>,
    pub(crate) message: String,
}

impl Problem {
    fn new(path: &[&str], message: impl Into<String>) -> Problem {
        Problem { path: path.iter().map(|k| Step::Key((*k).to_string())).collect(), message: message.into() }
    }

    /// The dotted key, as the user would write it: `gateway.port`,
    /// `keys[1].sha256`, `pricing.models."my-model".input`.
    pub(crate) fn key(&self) -> String {
        let mut key = String::new();
        for step in &self.path {
            match step {
                Step::Index(index) => key.push_str(&format!("[{index}]")),
                Step::Key(name) => {
                    if !key.is_empty() {
                        key.push('.');
                    }
                    let bare = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if bare { key.push_str(name) } else { key.push_str(&format!("{name:?}")) }
                }
            }
        }
        key
    }

    /// The byte offset of the value in `text`, or of the nearest enclosing
    /// table written in it.
    pub(crate) fn locate(&self, text: &str) -> Option<usize> {
        use toml::de::{DeTable, DeValue};
        let root = DeTable::parse(text).ok()?;
        let mut table = Some(root.get_ref());
        let mut array = None;
        let mut found = None;
        for step in &self.path {
            let next = match step {
                Step::Key(name) => table?.iter().find(|(key, _)| key.get_ref() == name).map(|(_, value)| value),
                Step::Index(index) => array.and_then(|values: &toml::de::DeArray<'_>| values.get(*index)),
            };
            let Some(next) = next else { break };
            found = Some(next.span().start);
            (table, array) = match next.get_ref() {
                DeValue::Table(inner) => (Some(inner), None),
                DeValue::Array(inner) => (None, Some(inner)),
                _ => (None, None),
            };
        }
        found
    }
}

/// The first value in `config` that cannot work, if any.
pub(crate) fn first_problem(config: &Config) -> Option<Problem> {
    problems(config).into_iter().next()
}

fn problems(config: &Config) -> Vec<Problem> {
    let mut found = Vec::new();
    let gateway = &config.gateway;
    if !gateway.listen.is_loopback() && !gateway.allow_non_loopback {
        found.push(Problem::new(&["gateway", "listen"], non_loopback_message(gateway.listen)));
    }
    if gateway.port == 0 {
        found.push(Problem::new(
            &["gateway", "port"],
            "port 0 would put the gateway on a different random port at each start, where Claude Code \
             cannot find it; choose a fixed port (the default is 7411)",
        ));
    }
    if gateway.max_body_bytes == 0 {
        found.push(Problem::new(
            &["gateway", "max_body_bytes"],
            "0 would refuse every request; use a size in bytes (Anthropic's own limit, the default, is 33554432)",
        ));
    }
    seconds(&mut found, &["gateway", "connect_timeout_secs"], gateway.connect_timeout_secs, 1);
    seconds(&mut found, &["gateway", "idle_timeout_secs"], gateway.idle_timeout_secs, 1);
    seconds(&mut found, &["gateway", "failover_cooldown_secs"], gateway.failover_cooldown_secs, 1);

    if let Err(why) = crate::gateway::upstream_client::BaseUri::parse(config.anthropic.base_url.trim_end_matches('/')) {
        found.push(Problem::new(
            &["anthropic", "base_url"],
            format!("{:?} {why}, such as \"https://api.anthropic.com\"", config.anthropic.base_url),
        ));
    }
    if let Some(secret) = &config.anthropic.secret
        && let Err(why) = crate::secrets::SecretRef::parse(secret, config.secrets.store)
    {
        found.push(Problem::new(
            &["anthropic", "secret"],
            format!("{why}; store the key with `gatehouse auth add anthropic` and write \"keychain:anthropic\""),
        ));
    }
    let env = &config.anthropic.api_key_env;
    if env.is_empty() || env.contains(['=', '\0']) {
        found.push(Problem::new(
            &["anthropic", "api_key_env"],
            format!("{env:?} is not an environment variable name; use a name such as \"GATEHOUSE_ANTHROPIC_API_KEY\""),
        ));
    }

    upstreams(&mut found, config);
    budgets_and_limits(&mut found, config);

    for (index, key) in config.keys.iter().enumerate() {
        if key.sha256.len() != 64 || !key.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            found.push(Problem {
                path: vec![Step::Key("keys".into()), Step::Index(index), Step::Key("sha256".into())],
                message: format!(
                    "the hash of key {:?} is not 64 hex digits (a SHA-256), so no key can match it; \
                     remove this [[keys]] entry and issue a new key with `gatehouse keys issue`",
                    key.name
                ),
            });
        }
    }

    for (model, price) in &config.pricing.models {
        let at = |rest: &[&str]| {
            let mut path = vec![Step::Key("pricing".into()), Step::Key("models".into()), Step::Key(model.clone())];
            path.extend(rest.iter().map(|k| Step::Key((*k).to_string())));
            path
        };
        let base = Rates {
            input: price.input,
            output: price.output,
            cache_write_5m: price.cache_write_5m,
            cache_write_1h: price.cache_write_1h,
            cache_read: price.cache_read,
        };
        rates(&mut found, at(&[]), &base);
        if let Some(long) = &price.long_context {
            let long_rates = Rates {
                input: long.input,
                output: long.output,
                cache_write_5m: long.cache_write_5m,
                cache_write_1h: long.cache_write_1h,
                cache_read: long.cache_read,
            };
            rates(&mut found, at(&["long_context"]), &long_rates);
        }
        if let Some(fast) = &price.fast {
            rates(&mut found, at(&["fast"]), fast);
        }
    }

    let supervisor = &config.supervisor;
    seconds(&mut found, &["supervisor", "fail_open_after_secs"], supervisor.fail_open_after_secs, 0);
    seconds(&mut found, &["supervisor", "health_timeout_secs"], supervisor.health_timeout_secs, 1);
    if supervisor.restart_delay_ms == 0 || supervisor.restart_delay_ms > MAX_SECS * 1000 {
        found.push(Problem::new(
            &["supervisor", "restart_delay_ms"],
            format!(
                "{} ms is out of range; use 1 to {} (the default is 500)",
                supervisor.restart_delay_ms,
                MAX_SECS * 1000
            ),
        ));
    }
    seconds(&mut found, &["supervisor", "restart_delay_max_secs"], supervisor.restart_delay_max_secs, 1);
    if supervisor.crash_limit == 0 {
        found.push(Problem::new(
            &["supervisor", "crash_limit"],
            "0 is not a number of crashes; use 1 (never restart) or more (the default is 5)",
        ));
    }
    seconds(&mut found, &["supervisor", "crash_window_secs"], supervisor.crash_window_secs, 1);
    seconds(&mut found, &["supervisor", "stop_timeout_secs"], supervisor.stop_timeout_secs, 1);
    thresholds(&mut found, &config.notifications.window_thresholds);
    found
}

/// The most thresholds a window may have; more would be a notification per request.
const MAX_THRESHOLDS: usize = 10;

/// Window thresholds are percentages, strictly increasing, and few.
fn thresholds(found: &mut Vec<Problem>, thresholds: &[u32]) {
    let path = |index: Option<usize>| {
        let mut path = vec![Step::Key("notifications".to_string()), Step::Key("window_thresholds".to_string())];
        path.extend(index.map(Step::Index));
        path
    };
    if thresholds.len() > MAX_THRESHOLDS {
        found.push(Problem {
            path: path(None),
            message: format!(
                "{} thresholds are too many; list at most {MAX_THRESHOLDS} percentages, such as [80, 95] (the \
                 default), or [] for none",
                thresholds.len()
            ),
        });
    }
    for (index, &value) in thresholds.iter().enumerate() {
        if !(1..=100).contains(&value) {
            found.push(Problem {
                path: path(Some(index)),
                message: format!("{value} is not a percentage of a window; use 1 to 100, such as [80, 95]"),
            });
        } else if index > 0 && value <= thresholds[index - 1] {
            found.push(Problem {
                path: path(Some(index)),
                message: format!(
                    "{value} does not come after {}; list the thresholds once each, from low to high, such as [80, 95]",
                    thresholds[index - 1]
                ),
            });
        }
    }
}

/// Whether a URL is `https://`, or `http://` to this machine (where nothing
/// on the network can read what is sent).
pub(crate) fn https_or_loopback(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return true;
    }
    let Some(rest) = lower.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn non_loopback_message(listen: IpAddr) -> String {
    format!(
        "{listen} is not a loopback address, so anyone on the network could reach the gateway; use \"127.0.0.1\", \
         or add `allow_non_loopback = true` under [gateway] if you really mean to expose it"
    )
}

/// A duration in seconds must lie in `min..=MAX_SECS`.
fn seconds(found: &mut Vec<Problem>, path: &[&str], value: u64, min: u64) {
    if !(min..=MAX_SECS).contains(&value) {
        found.push(Problem::new(path, format!("{value} s is out of range; use {min} to {MAX_SECS} (a week)")));
    }
}

/// The highest price per million tokens that is taken for one: a hundred
/// times the dearest model's. Above it a price is a typo (a price per token
/// pasted as per million, an extra digit run), and it would price requests
/// at sums that overflow the ledger's totals.
const MAX_PRICE: f64 = 10_000.0;

/// Prices must be finite, not negative, and at most [`MAX_PRICE`].
fn rates(found: &mut Vec<Problem>, path: Vec<Step>, rates: &Rates) {
    for (name, value) in [
        ("input", rates.input),
        ("output", rates.output),
        ("cache_write_5m", rates.cache_write_5m),
        ("cache_write_1h", rates.cache_write_1h),
        ("cache_read", rates.cache_read),
    ] {
        if !value.is_finite() || !(0.0..=MAX_PRICE).contains(&value) {
            let mut path = path.clone();
            path.push(Step::Key(name.to_string()));
            found.push(Problem {
                path,
                message: format!(
                    "{value} is not a price; use a number of US dollars per million tokens, from 0 to {MAX_PRICE}"
                ),
            });
        }
    }
}

/// `[[budgets]]` and `[[limits]]`: each names what it caps and caps something.
fn budgets_and_limits(found: &mut Vec<Problem>, config: &Config) {
    let at = |table: &str, index: usize, key: &str| Problem {
        path: vec![Step::Key(table.into()), Step::Index(index), Step::Key(key.into())],
        message: String::new(),
    };
    let upstream_names: Vec<&str> = std::iter::once(super::SUBSCRIPTION_UPSTREAM)
        .chain(config.upstreams.iter().map(|upstream| upstream.name.as_str()))
        .collect();
    for (index, budget) in config.budgets.iter().enumerate() {
        match (&budget.upstream, &budget.key) {
            (Some(_), Some(_)) | (None, None) => found.push(Problem {
                message: "a budget caps either one upstream (`upstream = \"openrouter\"`) or one gateway key \
                          (`key = \"laptop\"`): name exactly one"
                    .to_string(),
                ..at("budgets", index, if budget.upstream.is_some() { "key" } else { "upstream" })
            }),
            (Some(name), None) if !upstream_names.contains(&name.as_str()) => found.push(Problem {
                message: format!(
                    "upstream \"{name}\" does not exist; the upstreams are {}",
                    upstream_names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                ),
                ..at("budgets", index, "upstream")
            }),
            (None, Some(key)) if key.is_empty() => found.push(Problem {
                message: "an empty key name matches no gateway key; use a name from `gatehouse keys list`".to_string(),
                ..at("budgets", index, "key")
            }),
            _ => {}
        }
        if budget.daily_usd.is_none() && budget.monthly_usd.is_none() {
            found.push(Problem {
                message: "this budget caps nothing: set `daily_usd`, `monthly_usd` or both, in US dollars".to_string(),
                ..at("budgets", index, if budget.key.is_some() { "key" } else { "upstream" })
            });
        }
        for (field, usd) in [("daily_usd", budget.daily_usd), ("monthly_usd", budget.monthly_usd)] {
            if let Some(usd) = usd
                && !(0.0..1e9).contains(&usd)
            {
                let message = format!("{usd} is not an amount of US dollars; use a number such as 5 or 12.50");
                found.push(Problem { message, ..at("budgets", index, field) });
            }
        }
    }
    for (index, limit) in config.limits.iter().enumerate() {
        if limit.key.is_empty() {
            let message = "an empty key name matches no gateway key; use a name from `gatehouse keys list`".to_string();
            found.push(Problem { message, ..at("limits", index, "key") });
        }
        if limit.requests_per_minute.is_none() && limit.tokens_per_minute.is_none() {
            let message =
                "this limit limits nothing: set `requests_per_minute`, `tokens_per_minute` or both".to_string();
            found.push(Problem { message, ..at("limits", index, "key") });
        }
        if limit.requests_per_minute == Some(0) {
            let message = "0 would refuse every request; use at least 1, or remove the line".to_string();
            found.push(Problem { message, ..at("limits", index, "requests_per_minute") });
        }
        if limit.tokens_per_minute == Some(0) {
            let message = "0 would refuse every request; use at least 1, or remove the line".to_string();
            found.push(Problem { message, ..at("limits", index, "tokens_per_minute") });
        }
    }
}

/// `[[upstreams]]` and `[[routes]]`: names that can be routed to, base URLs
/// that are URLs, keys named by reference, routes to upstreams that exist.
fn upstreams(found: &mut Vec<Problem>, config: &Config) {
    let at = |table: &str, index: usize, key: &str| Problem {
        path: vec![Step::Key(table.into()), Step::Index(index), Step::Key(key.into())],
        message: String::new(),
    };
    let mut names = vec![super::SUBSCRIPTION_UPSTREAM];
    for (index, upstream) in config.upstreams.iter().enumerate() {
        let name = upstream.name.as_str();
        let fine = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !fine {
            let message =
                format!("{name:?} is not an upstream name: use letters, digits, `-` and `_`, as \"openrouter\"");
            found.push(Problem { message, ..at("upstreams", index, "name") });
        } else if names.contains(&name) {
            let message = if name == super::SUBSCRIPTION_UPSTREAM {
                format!(
                    "\"{name}\" is the subscription's upstream ([anthropic]); give this one another name, as \"anthropic-key\""
                )
            } else {
                format!("two upstreams are called \"{name}\"; routes could not tell them apart, so rename one")
            };
            found.push(Problem { message, ..at("upstreams", index, "name") });
        }
        names.push(name);
        match (&upstream.base_url, upstream.kind.default_base_url()) {
            (Some(url), _) => {
                if let Err(why) = crate::gateway::upstream_client::BaseUri::parse(url.trim_end_matches('/')) {
                    let message = format!("{url:?} {why}, such as \"https://llm.example.com/anthropic\"");
                    found.push(Problem { message, ..at("upstreams", index, "base_url") });
                } else if upstream.kind == UpstreamKindConfig::RemoteLitellm && !https_or_loopback(url) {
                    let message = format!(
                        "{url:?} would send the team's virtual key unencrypted; a team proxy's base_url must be \
                         https:// (plain http:// only on this machine: 127.0.0.1, ::1 or localhost)"
                    );
                    found.push(Problem { message, ..at("upstreams", index, "base_url") });
                }
            }
            (None, None) if upstream.kind == UpstreamKindConfig::Bedrock => {}
            (None, None) if upstream.kind == UpstreamKindConfig::RemoteLitellm => found.push(Problem {
                message: format!(
                    "upstream \"{name}\" is `remote-litellm`, a team's LiteLLM proxy: set its base_url to the \
                     proxy's address, as \"https://llm.example.com\""
                ),
                ..at("upstreams", index, "name")
            }),
            (None, None) => found.push(Problem {
                message: format!(
                    "upstream \"{name}\" is `compatible`, which has no address of its own: set its base_url"
                ),
                ..at("upstreams", index, "name")
            }),
            (None, Some(_)) => {}
        }
        match (&upstream.region, upstream.kind) {
            (None, UpstreamKindConfig::Bedrock) => found.push(Problem {
                message: format!(
                    "upstream \"{name}\" is `bedrock`, which needs its AWS region: add region = \"us-east-1\" (or \
                     yours)"
                ),
                ..at("upstreams", index, "name")
            }),
            (Some(region), UpstreamKindConfig::Bedrock) => {
                let fine = !region.is_empty()
                    && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !fine {
                    let message = format!("{region:?} is not an AWS region: write it as \"us-east-1\"");
                    found.push(Problem { message, ..at("upstreams", index, "region") });
                }
            }
            (Some(_), kind) => {
                let message =
                    format!("only a `bedrock` upstream has a region; remove it from this `{}` one", kind.name());
                found.push(Problem { message, ..at("upstreams", index, "region") });
            }
            (None, _) => {}
        }
        if let Err(why) = crate::secrets::SecretRef::parse(&upstream.secret, config.secrets.store) {
            let message =
                format!("{why}; store the key with `gatehouse auth add {name}` and write \"keychain:{name}\"");
            found.push(Problem { message, ..at("upstreams", index, "secret") });
        }
        for (pattern, model) in &upstream.models.0 {
            let at_pattern = || {
                let mut problem = at("upstreams", index, "models");
                problem.path.push(Step::Key(pattern.clone()));
                problem
            };
            if pattern.is_empty() || pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
                let message = format!(
                    "{pattern:?} is not a model pattern: use a model name without spaces, with `*` for any run of \
                     characters, as \"claude-sonnet-4-5*\""
                );
                found.push(Problem { message, ..at_pattern() });
            }
            if model.trim().is_empty() {
                let message = format!(
                    "models matching {pattern:?} would be sent to upstream \"{name}\" with no name; write the name it \
                     knows them by, as \"anthropic/claude-sonnet-4.5\", or remove the entry to send them unchanged"
                );
                found.push(Problem { message, ..at_pattern() });
            }
        }
    }
    for (index, route) in config.routes.iter().enumerate() {
        if route.models.is_empty() {
            let message = "an empty pattern matches no model; use a name, or `*` for any run of characters".to_string();
            found.push(Problem { message, ..at("routes", index, "models") });
        }
        if route.upstreams.is_empty() {
            let message = format!(
                "the route for {:?} names no upstream; list one or more, in the order to try them",
                route.models
            );
            found.push(Problem { message, ..at("routes", index, "upstreams") });
        }
        for name in &route.upstreams {
            if !names.contains(&name.as_str()) {
                let message = format!(
                    "upstream \"{name}\" does not exist; the upstreams are {}",
                    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                );
                found.push(Problem { message, ..at("routes", index, "upstreams") });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Parses `text` and returns the error, which must name `key` and `line`.
    /// The first problem of a config, as its key and message.
    fn problem(text: &str) -> Option<(String, String)> {
        let config: Config = toml::from_str(text).unwrap();
        first_problem(&config).map(|p| (p.key(), p.message))
    }

    fn refused(text: &str, key: &str, line: usize) -> String {
        let error = match Config::parse(Path::new("/h/config.toml"), text) {
            Ok(_) => panic!("{text:?} must be refused"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains("/h/config.toml"), "{error}");
        assert!(error.contains(&format!("key `{key}`")), "{text:?}: {error}");
        assert!(error.contains(&format!("line {line},")), "{text:?}: {error}");
        error
    }

    #[test]
    fn gateway_values_that_break_requests_are_refused() {
        refused("[gateway]\nidle_timeout_secs = 18446744073709551615\n", "gateway.idle_timeout_secs", 2);
        refused("[gateway]\nidle_timeout_secs = 0\n", "gateway.idle_timeout_secs", 2);
        refused("[gateway]\nport = 7411\nidle_timeout_secs = 604801\n", "gateway.idle_timeout_secs", 3);
        refused("[gateway]\nconnect_timeout_secs = 0\n", "gateway.connect_timeout_secs", 2);
        refused("[gateway]\nconnect_timeout_secs = 9999999999999\n", "gateway.connect_timeout_secs", 2);
        refused("[gateway]\nmax_body_bytes = 0\n", "gateway.max_body_bytes", 2);
        refused("[gateway]\nport = 0\n", "gateway.port", 2);
        assert!(Config::parse(Path::new("c"), "[gateway]\nidle_timeout_secs = 604800\nport = 1\n").is_ok());
    }

    #[test]
    fn a_non_loopback_listen_needs_the_opt_in_and_warns() {
        for address in ["0.0.0.0", "192.168.1.10", "::"] {
            let text = format!("[gateway]\nport = 7411\nlisten = \"{address}\"\n");
            let error = refused(&text, "gateway.listen", 3);
            assert!(error.contains("allow_non_loopback = true"), "{error}");
            let opted_in = Config::parse(Path::new("c"), &format!("{text}allow_non_loopback = true\n")).unwrap();
            let warning = opted_in.network_exposure_warning().unwrap();
            assert!(warning.contains("anyone on the network"), "{warning}");
        }
        for address in ["127.0.0.1", "127.0.0.2", "::1"] {
            let config = Config::parse(Path::new("c"), &format!("[gateway]\nlisten = \"{address}\"\n")).unwrap();
            assert_eq!(config.network_exposure_warning(), None);
        }
    }

    #[test]
    fn upstream_must_be_an_http_url() {
        for url in ["api.anthropic.com", "ftp://example.com", "", "http://", "https://exa mple.com"] {
            let error = refused(&format!("[anthropic]\nbase_url = {url:?}\n"), "anthropic.base_url", 2);
            assert!(error.contains("http:// or https://") || error.contains("not a valid URL"), "{error}");
        }
        refused("[anthropic]\napi_key_env = \"\"\n", "anthropic.api_key_env", 2);
        refused("[anthropic]\napi_key_env = \"A=B\"\n", "anthropic.api_key_env", 2);
        let ok = "[anthropic]\nbase_url = \"http://127.0.0.1:9/prefix/\"\n";
        assert!(Config::parse(Path::new("c"), ok).is_ok());
    }

    #[test]
    fn key_hashes_must_be_sha256_hex() {
        let good = "ab".repeat(32);
        let entry = |hash: &str| {
            format!("[[keys]]\nname = \"a\"\nsha256 = \"{good}\"\n\n[[keys]]\nname = \"b\"\nsha256 = \"{hash}\"\n")
        };
        assert!(Config::parse(Path::new("c"), &entry(&good)).is_ok());
        assert!(Config::parse(Path::new("c"), &entry(&"AB".repeat(32))).is_ok(), "the key ring reads either case");
        for bad in ["00", "zz".repeat(32).as_str(), "ab".repeat(33).as_str(), ""] {
            refused(&entry(bad), "keys[1].sha256", 7);
        }
    }

    #[test]
    fn prices_must_be_finite_and_not_negative() {
        let model = |field: &str, value: &str| {
            let mut text = String::from("[pricing.models.\"my-model\"]\n");
            for name in ["input", "output", "cache_write_5m", "cache_write_1h", "cache_read"] {
                let v = if name == field { value } else { "1.0" };
                text.push_str(&format!("{name} = {v}\n"));
            }
            text
        };
        assert!(Config::parse(Path::new("c"), &model("input", "0.0")).is_ok());
        assert!(Config::parse(Path::new("c"), &model("output", "10000")).is_ok());
        for (field, line) in [("input", 2), ("output", 3), ("cache_read", 6)] {
            for value in ["-1.0", "nan", "inf", "-inf", "1e308", "10000.5"] {
                refused(&model(field, value), &format!("pricing.models.\"my-model\".{field}"), line);
            }
        }
        let fast = format!(
            "{}[pricing.models.\"my-model\".fast]\ninput = 1.0\noutput = -2.0\ncache_write_5m = 1.0\n\
             cache_write_1h = 1.0\ncache_read = 1.0\n",
            model("", "")
        );
        refused(&fast, "pricing.models.\"my-model\".fast.output", 9);
        let long = format!(
            "{}long_context = {{ above_input_tokens = 200000, input = 1.0, output = 1.0, cache_write_5m = 1.0, \
             cache_write_1h = 1.0, cache_read = -0.5 }}\n",
            model("", "")
        );
        refused(&long, "pricing.models.\"my-model\".long_context.cache_read", 7);
    }

    #[test]
    fn supervisor_values_that_break_it_are_refused() {
        for (key, value) in [
            ("crash_limit", "0"),
            ("health_timeout_secs", "0"),
            ("health_timeout_secs", "18446744073709551615"),
            ("fail_open_after_secs", "18446744073709551615"),
            ("restart_delay_ms", "0"),
            ("restart_delay_ms", "18446744073709551615"),
            ("restart_delay_max_secs", "0"),
            ("crash_window_secs", "0"),
            ("crash_window_secs", "99999999999"),
            ("stop_timeout_secs", "0"),
        ] {
            refused(&format!("[supervisor]\n\n{key} = {value}\n"), &format!("supervisor.{key}"), 3);
        }
        assert!(Config::parse(Path::new("c"), "[supervisor]\nfail_open_after_secs = 0\ncrash_limit = 1\n").is_ok());
    }

    #[test]
    fn window_thresholds_must_be_increasing_percentages() {
        let error = refused("[notifications]\nwindow_thresholds = [80, 0]\n", "notifications.window_thresholds[1]", 2);
        assert!(error.contains("use 1 to 100"), "{error}");
        refused("[notifications]\nwindow_thresholds = [101]\n", "notifications.window_thresholds[0]", 2);
        let error = refused(
            "[notifications]\nwindow_reset = false\nwindow_thresholds = [95, 80]\n",
            "notifications.window_thresholds[1]",
            3,
        );
        assert!(error.contains("from low to high"), "{error}");
        refused("[notifications]\nwindow_thresholds = [50, 50]\n", "notifications.window_thresholds[1]", 2);
        let many = format!("[notifications]\nwindow_thresholds = {:?}\n", (1..=11).collect::<Vec<u32>>());
        refused(&many, "notifications.window_thresholds", 2);
        assert!(Config::parse(Path::new("c"), "[notifications]\nwindow_thresholds = [-1]\n").is_err());
        assert!(Config::parse(Path::new("c"), "[notifications]\nwindow_typo = true\n").is_err());

        let config =
            Config::parse(Path::new("c"), "[notifications]\nwindow_thresholds = []\nwindow_rejected = false\n")
                .expect("valid");
        assert!(config.notifications.window_thresholds.is_empty() && !config.notifications.window_rejected);
        assert!(config.notifications.window_reset, "unset keys keep their default");
        let defaults = Config::parse(Path::new("c"), "").expect("empty").notifications;
        assert_eq!(defaults.window_thresholds, vec![80, 95]);
        assert!(Config::parse(Path::new("c"), "[notifications]\nwindow_thresholds = [1, 50, 100]\n").is_ok());
    }

    #[test]
    fn dotted_keys_are_located_too() {
        refused("gateway.port = 7411\ngateway.max_body_bytes = 0\n", "gateway.max_body_bytes", 2);
    }

    #[test]
    fn upstreams_and_routes_are_checked_with_their_keys() {
        let fine = r#"
            [[upstreams]]
            name = "openrouter"
            kind = "openrouter"
            secret = "keychain:openrouter"
            [[routes]]
            models = "claude-3-5-haiku-*"
            upstreams = ["openrouter", "anthropic"]
        "#;
        assert_eq!(problem(fine), None);
        let (key, message) = problem(&fine.replace("\"keychain:openrouter\"", "\"sk-or-v1-pasted\"")).unwrap();
        assert_eq!(key, "upstreams[0].secret");
        assert!(message.contains("gatehouse auth add openrouter"), "{message}");
        let (key, message) = problem(&fine.replace("name = \"openrouter\"", "name = \"anthropic\"")).unwrap();
        assert_eq!(key, "upstreams[0].name");
        assert!(message.contains("the subscription's upstream"), "{message}");
        let (key, message) = problem(&fine.replace("kind = \"openrouter\"", "kind = \"compatible\"")).unwrap();
        assert_eq!(key, "upstreams[0].name");
        assert!(message.contains("set its base_url"), "{message}");
        let (key, message) = problem(&fine.replace("[\"openrouter\", \"anthropic\"]", "[\"openruter\"]")).unwrap();
        assert_eq!(key, "routes[0].upstreams");
        assert!(
            message.contains("\"openruter\" does not exist; the upstreams are \"anthropic\", \"openrouter\""),
            "{message}"
        );
        let (key, _) = problem(&fine.replace("[\"openrouter\", \"anthropic\"]", "[]")).unwrap();
        assert_eq!(key, "routes[0].upstreams");
    }

    #[test]
    fn model_maps_are_kept_in_the_files_order_and_checked_with_their_keys() {
        let text = |models: &str| {
            format!(
                "[[upstreams]]\nname = \"openrouter\"\nkind = \"openrouter\"\nsecret = \"keychain:openrouter\"\n\
                 models = {{ {models} }}\n"
            )
        };
        let config = Config::parse(
            Path::new("c"),
            &text(r#""zz-*" = "first", "claude-sonnet-4-5*" = "anthropic/claude-sonnet-4.5", "aa" = "last""#),
        )
        .unwrap();
        let order: Vec<_> = config.upstreams[0].models.0.iter().map(|(pattern, _)| pattern.as_str()).collect();
        assert_eq!(order, ["zz-*", "claude-sonnet-4-5*", "aa"], "the file's order, not the alphabet's");
        // As a table of its own, too; and written back in the same order.
        let table = "[[upstreams]]\nname = \"o\"\nkind = \"openrouter\"\nsecret = \"keychain:o\"\n\n\
                     [upstreams.models]\n\"b*\" = \"x/b\"\n\"a*\" = \"x/a\"\n";
        let config = Config::parse(Path::new("c"), table).unwrap();
        assert_eq!(config.upstreams[0].models.0, [("b*".into(), "x/b".into()), ("a*".into(), "x/a".into())]);
        let again = Config::parse(Path::new("c"), &toml::to_string_pretty(&config).unwrap()).unwrap();
        assert_eq!(again, config);

        let error = refused(&text(r#""claude-*" = "x", "" = "y""#), "upstreams[0].models.\"\"", 5);
        assert!(error.contains("is not a model pattern"), "{error}");
        refused(&text(r#""claude sonnet" = "y""#), "upstreams[0].models.\"claude sonnet\"", 5);
        let error = refused(&text(r#""claude-*" = " ""#), "upstreams[0].models.\"claude-*\"", 5);
        assert!(error.contains("with no name") && error.contains("upstream \"openrouter\""), "{error}");
        let spread = "[[upstreams]]\nname = \"o\"\nkind = \"openrouter\"\nsecret = \"keychain:o\"\n\
                      [upstreams.models]\n\"a*\" = \"x\"\n\"b*\" = \"\"\n";
        refused(spread, "upstreams[0].models.\"b*\"", 7);
        assert!(Config::parse(Path::new("c"), &text(r#""claude-*" = 3"#)).is_err());
    }

    #[test]
    fn a_bedrock_upstream_needs_its_region_and_only_it_has_one() {
        let fine =
            "[[upstreams]]\nname = \"aws\"\nkind = \"bedrock\"\nregion = \"us-east-1\"\nsecret = \"keychain:aws\"\n";
        assert_eq!(problem(fine), None);
        let (key, message) = problem(&fine.replace("region = \"us-east-1\"\n", "")).unwrap();
        assert_eq!(key, "upstreams[0].name");
        assert!(message.contains("needs its AWS region") && message.contains("region = \"us-east-1\""), "{message}");
        let (key, message) = problem(&fine.replace("us-east-1", "US East")).unwrap();
        assert_eq!(key, "upstreams[0].region");
        assert!(message.contains("is not an AWS region"), "{message}");
        let (key, message) = problem(&fine.replace("bedrock", "openrouter")).unwrap();
        assert_eq!(key, "upstreams[0].region");
        assert!(message.contains("only a `bedrock` upstream has a region"), "{message}");
        let endpoint = fine.replace("secret", "base_url = \"http://127.0.0.1:4566\"\nsecret");
        assert_eq!(problem(&endpoint), None, "an endpoint of its own, as for a mock or a VPC endpoint");
    }

    #[test]
    fn a_team_proxy_needs_an_address_that_keeps_its_key_private() {
        let fine = "[[upstreams]]\nname = \"team\"\nkind = \"remote-litellm\"\n\
                    base_url = \"https://llm.example.com\"\nsecret = \"keychain:team\"\n";
        let config = Config::parse(Path::new("c"), fine).unwrap();
        assert_eq!(config.upstreams[0].kind, UpstreamKindConfig::RemoteLitellm);
        assert_eq!(config.upstreams[0].kind.name(), "remote-litellm");
        for local in ["http://127.0.0.1:4000", "http://localhost:4000/", "http://[::1]:4000"] {
            assert_eq!(problem(&fine.replace("https://llm.example.com", local)), None, "{local}");
        }
        let error =
            refused(&fine.replace("https://llm.example.com", "http://llm.example.com"), "upstreams[0].base_url", 4);
        assert!(error.contains("must be https://") && error.contains("only on this machine"), "{error}");
        let (key, message) = problem(&fine.replace("base_url = \"https://llm.example.com\"\n", "")).unwrap();
        assert_eq!(key, "upstreams[0].name");
        assert!(message.contains("set its base_url to the proxy's address"), "{message}");
        let (key, message) = problem(&fine.replace("\"keychain:team\"", "\"sk-pasted-virtual-key\"")).unwrap();
        assert_eq!(key, "upstreams[0].secret");
        assert!(message.contains("gatehouse auth add team"), "{message}");
    }

    #[test]
    fn budgets_and_limits_are_checked_with_their_keys() {
        let fine = r#"
            [[upstreams]]
            name = "openrouter"
            kind = "openrouter"
            secret = "keychain:openrouter"
            [[budgets]]
            upstream = "openrouter"
            daily_usd = 5
            monthly_usd = 50.5
            [[budgets]]
            key = "laptop"
            monthly_usd = 20
            [[limits]]
            key = "laptop"
            requests_per_minute = 30
        "#;
        assert_eq!(problem(fine), None);
        let (key, message) =
            problem(&fine.replace("upstream = \"openrouter\"\n", "upstream = \"opnerouter\"\n")).unwrap();
        assert_eq!(key, "budgets[0].upstream");
        assert!(message.contains("\"opnerouter\" does not exist"), "{message}");
        let (key, message) = problem(&fine.replace("key = \"laptop\"\n            monthly", "monthly")).unwrap();
        assert_eq!(key, "budgets[1].upstream");
        assert!(message.contains("name exactly one"), "{message}");
        let (key, message) = problem(&fine.replace("daily_usd = 5", "daily_usd = -5")).unwrap();
        assert_eq!(key, "budgets[0].daily_usd");
        assert!(message.contains("-5 is not an amount"), "{message}");
        let (key, message) = problem(&fine.replace("monthly_usd = 20", "")).unwrap();
        assert_eq!(key, "budgets[1].key");
        assert!(message.contains("caps nothing"), "{message}");
        let (key, _) = problem(&fine.replace("requests_per_minute = 30", "requests_per_minute = 0")).unwrap();
        assert_eq!(key, "limits[0].requests_per_minute");
        let (key, message) = problem(&fine.replace("requests_per_minute = 30", "")).unwrap();
        assert_eq!(key, "limits[0].key");
        assert!(message.contains("limits nothing"), "{message}");
    }
}
