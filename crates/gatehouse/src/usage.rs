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

impl Usage {
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
