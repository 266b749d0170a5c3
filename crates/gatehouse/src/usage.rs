//! Token usage of one Messages API response.
//!
//! Anthropic reports usage in four buckets: fresh input, output, prompt-cache
//! writes and prompt-cache reads. Cache writes come in two lifetimes (5 minutes
//! and 1 hour) that are priced differently, so they are kept apart here. This
//! type is shared by the gateway (which fills it from responses), the pricing
//! table (which turns it into dollars) and the ledger (which stores it).

use serde::{Deserialize, Serialize};

/// Token counts for one response, as reported by the upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens that were neither written to nor read from the cache.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Input tokens written to the 5-minute prompt cache.
    pub cache_write_5m_tokens: u64,
    /// Input tokens written to the 1-hour prompt cache.
    pub cache_write_1h_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub cache_read_tokens: u64,
}

/// The most tokens of one kind one response can believably report: far above
/// any context window or output limit.
const MAX_BELIEVABLE_TOKENS: u64 = 100_000_000;

impl Usage {
    /// This usage, or `None` when a count is beyond belief (a broken or
    /// hostile upstream, a corrupt transcript): such a request is recorded
    /// without usage. Kept, one count would price a request at billions of
    /// dollars and overflow the ledger's sums.
    pub(crate) fn believable(self) -> Option<Usage> {
        let counts = [self.input_tokens, self.output_tokens, self.cache_write_tokens(), self.cache_read_tokens];
        if counts.iter().any(|&n| n > MAX_BELIEVABLE_TOKENS) {
            tracing::warn!("usage beyond belief ({self:?}): recorded without usage");
            return None;
        }
        Some(self)
    }

    /// All cache writes, whatever their lifetime.
    pub fn cache_write_tokens(&self) -> u64 {
        self.cache_write_5m_tokens.saturating_add(self.cache_write_1h_tokens)
    }

    /// Every input token of the request: fresh, cache-written and cache-read.
    /// Long-context price tiers are chosen by this number.
    pub fn total_input_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.cache_write_tokens()).saturating_add(self.cache_read_tokens)
    }
}
