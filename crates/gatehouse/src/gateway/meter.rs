//! The running meter: the budgets and the per-key rate limits, kept in
//! memory, and settled when a response ends.
//!
//! The ledger prices every request on its own thread, later. A request
//! that a budget or a token limit counts cannot wait for that: the next
//! request on the same connection must already see its cost. So when such a
//! response ends, its usage is read from the body the gateway kept anyway,
//! priced, and added to the meter right there, before the ledger gets it.
//! Requests nothing counts (the subscription's, without limits) skip this
//! entirely.

use std::path::Path;

use super::budgets::Budgets;
use super::key_limits::KeyLimits;
use crate::config::Config;
use crate::ledger::record::Exchange;
use crate::pricing::PriceTable;

/// Budgets and per-key limits, with what has been spent and used.
pub(crate) struct Meter {
    pub(crate) budgets: Budgets,
    pub(crate) key_limits: KeyLimits,
    pub(crate) prices: PriceTable,
}

/// What to count when a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settlement {
    /// Add its cost to the budgets that cover it.
    pub(crate) cost: bool,
    /// Add its tokens to its key's tokens per minute.
    pub(crate) tokens: bool,
}

impl Meter {
    /// The config's budgets, starting from the billed spend the ledger at
    /// `ledger` holds for their current periods, and its per-key limits.
    pub(crate) fn from_config(config: &Config, prices: PriceTable, ledger: &Path) -> Meter {
        Meter { budgets: Budgets::from_config(config, ledger), key_limits: KeyLimits::from_config(config), prices }
    }

    /// What to count of a request of `client` that `upstream` serves, if
    /// anything: its cost when it is `billed` and a budget covers it, its
    /// tokens when its key has a token limit.
    #[inline]
    pub(crate) fn settlement(&self, upstream: &str, client: &str, billed: bool) -> Option<Settlement> {
        let cost = billed && self.budgets.covers(upstream, client);
        let tokens = self.key_limits.counts_tokens(client);
        (cost || tokens).then_some(Settlement { cost, tokens })
    }

    /// Counts a response that just ended, from the body kept for the ledger.
    pub(crate) fn settle(&self, settlement: Settlement, exchange: &Exchange) {
        let summary = exchange.summary();
        let Some(usage) = summary.usage else { return };
        if settlement.cost {
            match self.prices.cost_usd_with(&exchange.model, &usage, &summary.extras) {
                Some(cost) => self.budgets.settle(&exchange.upstream, &exchange.client, cost),
                None => tracing::warn!(
                    model = %exchange.model,
                    "no price is known for this model, so its billed cost is not counted against the budgets of \
                     upstream {}; add it under [pricing.models] in the config",
                    exchange.upstream
                ),
            }
        }
        if settlement.tokens {
            let tokens =
                usage.input_tokens + usage.cache_write_5m_tokens + usage.cache_write_1h_tokens + usage.output_tokens;
            self.key_limits.settle_tokens(&exchange.client, tokens);
        }
    }
}
