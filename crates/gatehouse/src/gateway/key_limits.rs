//! Rate limits per gateway key (`[[limits]]`): requests and tokens per
//! minute, over the last 60 seconds, rolling.
//!
//! A request is counted when it is let through; one that would make more
//! than `requests_per_minute` in the last minute is refused with the
//! seconds until the oldest of them leaves the minute. Tokens are only
//! known when a response ends, so they are counted then (see
//! [`super::meter`]), and a request is refused while the tokens of the last
//! minute are at or over `tokens_per_minute`: the request that crosses the
//! limit completes. Keys without a limit cost one scan of a short list.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;

/// The window the limits count over.
const MINUTE: Duration = Duration::from_secs(60);

/// The limits of one key, and what it used in the last minute.
struct KeyLimit {
    key: Arc<str>,
    requests_per_minute: Option<u32>,
    tokens_per_minute: Option<u64>,
    recent: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    /// When each request of the last minute was let through, oldest first.
    requests: VecDeque<Instant>,
    /// When each response of the last minute ended, with its tokens.
    tokens: VecDeque<(Instant, u64)>,
    tokens_sum: u64,
}

impl Recent {
    fn forget_before(&mut self, start: Instant) {
        while self.requests.front().is_some_and(|&at| at <= start) {
            self.requests.pop_front();
        }
        while let Some(&(at, tokens)) = self.tokens.front()
            && at <= start
        {
            self.tokens_sum -= tokens;
            self.tokens.pop_front();
        }
    }
}

/// A request refused by a limit: why, and when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OverLimit {
    pub(crate) message: String,
    /// Whole seconds until the request would be let through.
    pub(crate) retry_after: u64,
}

/// Every key's limits.
pub(crate) struct KeyLimits {
    keys: Vec<KeyLimit>,
}

impl KeyLimits {
    pub(crate) fn from_config(config: &Config) -> KeyLimits {
        let keys = config
            .limits
            .iter()
            .map(|limit| KeyLimit {
                key: Arc::from(limit.key.as_str()),
                requests_per_minute: limit.requests_per_minute,
                tokens_per_minute: limit.tokens_per_minute,
                recent: Mutex::default(),
            })
            .collect();
        KeyLimits { keys }
    }

    fn of(&self, client: &str) -> Option<&KeyLimit> {
        if self.keys.is_empty() {
            return None;
        }
        self.keys.iter().find(|limit| &*limit.key == client)
    }

    /// Whether a Messages request with `client`'s key may go on now; if so,
    /// it is counted.
    #[inline]
    pub(crate) fn admit(&self, client: &str) -> Result<(), OverLimit> {
        let Some(limit) = self.of(client) else { return Ok(()) };
        let now = Instant::now();
        let mut recent = limit.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(start) = now.checked_sub(MINUTE) {
            recent.forget_before(start);
        }
        let retry_after = |oldest: Instant| (oldest + MINUTE).saturating_duration_since(now).as_secs().max(1);
        if let Some(rpm) = limit.requests_per_minute
            && recent.requests.len() >= rpm as usize
            && let Some(&oldest) = recent.requests.front()
        {
            return Err(OverLimit {
                message: format!(
                    "gateway key `{client}` is limited to {rpm} requests per minute, and made {} in the last minute",
                    recent.requests.len()
                ),
                retry_after: retry_after(oldest),
            });
        }
        if let Some(tpm) = limit.tokens_per_minute
            && recent.tokens_sum >= tpm
            && let Some(&(oldest, _)) = recent.tokens.front()
        {
            return Err(OverLimit {
                message: format!(
                    "gateway key `{client}` is limited to {tpm} tokens per minute, and used {} in the last minute",
                    recent.tokens_sum
                ),
                retry_after: retry_after(oldest),
            });
        }
        if limit.requests_per_minute.is_some() {
            recent.requests.push_back(now);
        }
        Ok(())
    }

    /// Whether `client`'s tokens are counted, so a response's usage must be
    /// worked out when it ends.
    #[inline]
    pub(crate) fn counts_tokens(&self, client: &str) -> bool {
        self.of(client).is_some_and(|limit| limit.tokens_per_minute.is_some())
    }

    /// Counts the tokens of a response to `client` that just ended.
    pub(crate) fn settle_tokens(&self, client: &str, tokens: u64) {
        let Some(limit) = self.of(client).filter(|limit| limit.tokens_per_minute.is_some()) else { return };
        let mut recent = limit.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        recent.tokens.push_back((Instant::now(), tokens));
        recent.tokens_sum += tokens;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LimitConfig;

    fn limits(rpm: Option<u32>, tpm: Option<u64>) -> KeyLimits {
        KeyLimits::from_config(&Config {
            limits: vec![LimitConfig { key: "laptop".into(), requests_per_minute: rpm, tokens_per_minute: tpm }],
            ..Config::default()
        })
    }

    #[test]
    fn requests_past_the_rpm_are_refused_with_a_retry_after() {
        let limits = limits(Some(3), None);
        for _ in 0..3 {
            assert_eq!(limits.admit("laptop"), Ok(()));
        }
        let refused = limits.admit("laptop").unwrap_err();
        assert!(refused.message.contains("limited to 3 requests per minute, and made 3"), "{}", refused.message);
        assert!((1..=60).contains(&refused.retry_after), "{}", refused.retry_after);
        assert_eq!(limits.admit("other"), Ok(()), "keys without a limit are not limited");
        assert!(!limits.counts_tokens("laptop"));
    }

    #[test]
    fn requests_leave_the_minute_after_sixty_seconds() {
        let limits = limits(Some(1), None);
        assert_eq!(limits.admit("laptop"), Ok(()));
        assert!(limits.admit("laptop").is_err());
        // Pretend the request was let through a minute ago.
        let Some(long_ago) = Instant::now().checked_sub(MINUTE + Duration::from_secs(1)) else { return };
        limits.keys[0].recent.lock().unwrap().requests[0] = long_ago;
        assert_eq!(limits.admit("laptop"), Ok(()));
    }

    #[test]
    fn tokens_count_when_responses_end() {
        let limits = limits(None, Some(1_000));
        assert!(limits.counts_tokens("laptop"));
        assert_eq!(limits.admit("laptop"), Ok(()));
        limits.settle_tokens("laptop", 999);
        assert_eq!(limits.admit("laptop"), Ok(()), "below the limit");
        limits.settle_tokens("laptop", 5);
        let refused = limits.admit("laptop").unwrap_err();
        assert!(refused.message.contains("1000 tokens per minute, and used 1004"), "{}", refused.message);
        limits.settle_tokens("other", 5_000);
        assert_eq!(limits.admit("other"), Ok(()));
    }
}
