//! Prices: what a response costs at Anthropic API list prices.
//!
//! The ledger records, for every request, the dollars it would have cost on
//! the API. Users compare that number with the `total_cost_usd` Claude Code
//! prints, so it must be the same number, not an estimate of it. The price
//! table therefore carries Claude Code's own rates (`prices.toml`, versioned
//! and measured against Claude Code 2.1.328) and [`PriceTable::cost_usd`]
//! repeats its arithmetic operation for operation, so the two agree to the
//! last bit of the `f64`:
//!
//! ```text
//! tokens = input/1e6 * input_price
//!        + output/1e6 * output_price
//!        + cache_read/1e6 * cache_read_price
//!        + (cache_write_1h/1e6 * cache_write_1h_price + cache_write_5m/1e6 * cache_write_5m_price)
//! cost   = tokens * (1.1 if inference_geo is "us" else 1) + web_search_requests * 0.01
//! ```
//!
//! The rates are those of the model named in the request, and of its
//! long-context card when the prompt (input + cache writes + cache reads) is
//! above that card's threshold, or of its fast-mode card for a fast response.
//!
//! To agree with Claude Code, the [`Usage`] priced here must hold the numbers
//! Claude Code itself uses: in a stream, `message_delta`'s `output_tokens`
//! replaces `message_start`'s, while its input and cache counts replace them
//! only when above zero; and the 1-hour cache writes are
//! `min(cache_creation.ephemeral_1h_input_tokens, cache_creation_input_tokens)`,
//! the 5-minute ones the rest of `cache_creation_input_tokens`.
//!
//! A model missing from the table has no price: [`PriceTable::cost_usd`]
//! returns `None` so the ledger can say so. (Claude Code prices it at its
//! default model's rates and labels that "unknown"; a silent guess, or $0,
//! would make spend and budgets wrong.) Users add or correct models with
//! `[pricing.models."name"]` entries in `config.toml`, which win over the
//! built-in table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::usage::Usage;

/// Prices are quoted per this many tokens.
const TOKENS_PER_PRICE_UNIT: f64 = 1e6;

/// One model's prices, in US dollars per million tokens. Also the shape of a
/// user override: `[pricing.models."name"] input = 3.0 …`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// Input tokens neither written to nor read from the cache.
    pub input: f64,
    /// Generated tokens.
    pub output: f64,
    /// Input tokens written to the 5-minute cache.
    pub cache_write_5m: f64,
    /// Input tokens written to the 1-hour cache.
    pub cache_write_1h: f64,
    /// Input tokens read from the cache.
    pub cache_read: f64,
    /// Dearer rates for requests with a long prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_context: Option<LongContextPrice>,
    /// Rates of fast mode; they replace all others, long context included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fast: Option<Rates>,
}

/// A long-context tier: once a request's prompt is longer than
/// `above_input_tokens`, every token of it, output included, is priced here.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LongContextPrice {
    /// Prompt length (input + cache writes + cache reads) above which the
    /// tier applies; a prompt of exactly this length still pays base rates.
    pub above_input_tokens: u64,
    /// See [`ModelPrice::input`].
    pub input: f64,
    /// See [`ModelPrice::output`].
    pub output: f64,
    /// See [`ModelPrice::cache_write_5m`].
    pub cache_write_5m: f64,
    /// See [`ModelPrice::cache_write_1h`].
    pub cache_write_1h: f64,
    /// See [`ModelPrice::cache_read`].
    pub cache_read: f64,
}

/// A rate card in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    /// See [`ModelPrice::input`].
    pub input: f64,
    /// See [`ModelPrice::output`].
    pub output: f64,
    /// See [`ModelPrice::cache_write_5m`].
    pub cache_write_5m: f64,
    /// See [`ModelPrice::cache_write_1h`].
    pub cache_write_1h: f64,
    /// See [`ModelPrice::cache_read`].
    pub cache_read: f64,
}

/// What a response reports, besides its token counts, that changes its
/// price. Each field comes from the response's `usage` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extras {
    /// `speed` is `"fast"`: the model's fast-mode rates apply, if it has any.
    pub fast: bool,
    /// `inference_geo` is `"us"`: token costs are multiplied (by 1.1).
    pub us_inference: bool,
    /// `server_tool_use.web_search_requests`: each is billed per request.
    pub web_search_requests: u64,
}

/// The built-in price table, plus the user's overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    version: String,
    source: String,
    web_search_per_request: f64,
    us_inference_multiplier: f64,
    models: BTreeMap<String, ModelPrice>,
    overrides: BTreeMap<String, ModelPrice>,
}

/// The layout of `prices.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    version: String,
    source: String,
    web_search_per_request: f64,
    us_inference_multiplier: f64,
    models: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    /// The table shipped in this build (`prices.toml`).
    pub fn builtin() -> PriceTable {
        // The file is compiled in and a unit test parses it, so a failure
        // here is a build defect, not a runtime condition.
        let file: PriceFile = toml::from_str(include_str!("prices.toml")).expect("built-in prices.toml is valid");
        PriceTable {
            version: file.version,
            source: file.source,
            web_search_per_request: file.web_search_per_request,
            us_inference_multiplier: file.us_inference_multiplier,
            models: file.models,
            overrides: BTreeMap::new(),
        }
    }

    /// Every model with a price: the user's and the built-in ones, by name.
    pub(crate) fn models(&self) -> impl Iterator<Item = &str> {
        let mut names: Vec<&str> = self.overrides.keys().chain(self.models.keys()).map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        names.into_iter()
    }

    /// The date the built-in prices were last checked, e.g. `2026-11-22`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Where the built-in prices come from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// This table with the user's prices laid over it. An override applies
    /// to every name that resolves to it, so overriding `claude-sonnet-4-5`
    /// also reprices `claude-sonnet-4-5-20250929`.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, ModelPrice>) -> PriceTable {
        self.overrides.extend(overrides.iter().map(|(name, price)| (name.clone(), price.clone())));
        self
    }

    /// The prices of `model`: the exact name, else the name without a
    /// trailing `-YYYYMMDD` date, else without a `[1m]`-style suffix. The
    /// user's overrides are searched first. `None` for an unknown model.
    pub fn lookup(&self, model: &str) -> Option<&ModelPrice> {
        let bare = strip_context_suffix(model);
        let names = [model, strip_date(model), bare, strip_date(bare)];
        [&self.overrides, &self.models].into_iter().find_map(|table| names.iter().find_map(|name| table.get(*name)))
    }

    /// What `usage` costs on `model`, in US dollars; `None` if the model has
    /// no price.
    pub fn cost_usd(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.cost_usd_with(model, usage, &Extras::default())
    }

    /// [`cost_usd`](Self::cost_usd) for a response that also reports fast
    /// mode, US-only inference or web searches.
    pub fn cost_usd_with(&self, model: &str, usage: &Usage, extras: &Extras) -> Option<f64> {
        let price = self.lookup(model)?;
        let tokens = price.rates_for(usage, extras.fast).tokens_cost(usage);
        let geo = if extras.us_inference { self.us_inference_multiplier } else { 1.0 };
        // Claude Code multiplies the token cost only, then adds searches.
        Some(tokens * geo + extras.web_search_requests as f64 * self.web_search_per_request)
    }
}

impl ModelPrice {
    /// The rate card that applies to one response.
    fn rates_for(&self, usage: &Usage, fast: bool) -> Rates {
        if let Some(rates) = self.fast.filter(|_| fast) {
            return rates;
        }
        match self.long_context {
            Some(tier) if usage.total_input_tokens() > tier.above_input_tokens => tier.rates(),
            _ => self.base_rates(),
        }
    }

    fn base_rates(&self) -> Rates {
        Rates {
            input: self.input,
            output: self.output,
            cache_write_5m: self.cache_write_5m,
            cache_write_1h: self.cache_write_1h,
            cache_read: self.cache_read,
        }
    }
}

impl LongContextPrice {
    fn rates(&self) -> Rates {
        Rates {
            input: self.input,
            output: self.output,
            cache_write_5m: self.cache_write_5m,
            cache_write_1h: self.cache_write_1h,
            cache_read: self.cache_read,
        }
    }
}

impl Rates {
    /// The token cost of `usage`. The order and grouping of the operations
    /// are Claude Code's, because floating-point sums depend on them.
    fn tokens_cost(&self, usage: &Usage) -> f64 {
        let cost = |tokens: u64, price: f64| tokens as f64 / TOKENS_PER_PRICE_UNIT * price;
        let cache_write = cost(usage.cache_write_1h_tokens, self.cache_write_1h)
            + cost(usage.cache_write_5m_tokens, self.cache_write_5m);
        cost(usage.input_tokens, self.input)
            + cost(usage.output_tokens, self.output)
            + cost(usage.cache_read_tokens, self.cache_read)
            + cache_write
    }
}

/// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`: a dated snapshot is
/// priced like its alias.
pub(crate) fn strip_date(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((stem, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => name,
    }
}

/// `claude-sonnet-4-5[1m]` → `claude-sonnet-4-5`: Claude Code's marker for
/// the 1M-token context window does not change the price.
pub(crate) fn strip_context_suffix(name: &str) -> &str {
    name.strip_suffix(']').and_then(|rest| rest.rsplit_once('[')).map_or(name, |(stem, _)| stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, write_5m: u64, write_1h: u64, read: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_write_5m_tokens: write_5m,
            cache_write_1h_tokens: write_1h,
            cache_read_tokens: read,
        }
    }

    const M: u64 = 1_000_000;

    fn cost(model: &str, usage: Usage) -> f64 {
        PriceTable::builtin().cost_usd(model, &usage).unwrap()
    }

    #[test]
    fn builtin_table_parses_and_is_sane() {
        let table = PriceTable::builtin();
        assert_eq!(table.version(), "2026-11-22");
        assert!(table.source().contains("Claude Code 2.1.328"));
        assert!(table.models.len() > 20);
        for (name, price) in &table.models {
            let cards = [Some(price.base_rates()), price.fast, price.long_context.map(|tier| tier.rates())];
            for rates in cards.into_iter().flatten() {
                let all = [rates.input, rates.output, rates.cache_write_5m, rates.cache_write_1h, rates.cache_read];
                assert!(all.iter().all(|p| p.is_finite() && *p > 0.0), "{name}");
                assert!(rates.cache_read < rates.input, "{name}");
                assert!(rates.cache_write_5m < rates.cache_write_1h, "{name}");
            }
        }
    }

    /// One run of Claude Code 2.1.328 against the mock: the model it sent,
    /// the usage the mock returned, and the `total_cost_usd` it printed.
    struct Measured {
        model: &'static str,
        usage: Usage,
        extras: Extras,
        claude_code_total: f64,
    }

    fn measured(model: &'static str, usage: Usage, claude_code_total: f64) -> Measured {
        Measured { model, usage, extras: Extras::default(), claude_code_total }
    }

    fn measured_with(model: &'static str, usage: Usage, extras: Extras, claude_code_total: f64) -> Measured {
        Measured { model, usage, extras, claude_code_total }
    }

    #[test]
    fn equals_claude_code_per_bucket() {
        // A million tokens in one bucket at a time reads each price directly.
        let rows: [(&str, [f64; 5]); 11] = [
            ("claude-opus-5-5", [4.0, 20.0, 5.0, 8.0, 0.2]),
            ("claude-opus-4-5-20251101", [5.0, 25.0, 6.25, 10.0, 0.5]),
            ("claude-opus-4-8", [5.0, 25.0, 6.25, 10.0, 0.5]),
            ("claude-sonnet-5-5", [2.0, 10.0, 2.5, 4.0, 0.1]),
            ("claude-sonnet-5", [2.0, 10.0, 2.5, 4.0, 0.2]),
            ("claude-sonnet-4-5", [3.0, 15.0, 3.75, 6.0, 0.3]),
            ("claude-sonnet-4-20250514", [3.0, 15.0, 3.75, 6.0, 0.3]),
            ("claude-3-7-sonnet-20250219", [3.0, 15.0, 3.75, 6.0, 0.3]),
            ("claude-haiku-4-5", [1.0, 5.0, 1.25, 2.0, 0.1]),
            ("claude-3-5-haiku-20241022", [0.8, 4.0, 1.0, 1.6, 0.08]),
            ("claude-fable-5-1", [10.0, 50.0, 12.5, 20.0, 0.25]),
        ];
        for (model, [input, output, write_5m, write_1h, read]) in rows {
            assert_eq!(cost(model, usage(M, 0, 0, 0, 0)), input, "{model}");
            assert_eq!(cost(model, usage(0, M, 0, 0, 0)), output, "{model}");
            assert_eq!(cost(model, usage(0, 0, M, 0, 0)), write_5m, "{model}");
            assert_eq!(cost(model, usage(0, 0, 0, M, 0)), write_1h, "{model}");
            assert_eq!(cost(model, usage(0, 0, 0, 0, M)), read, "{model}");
        }
    }

    #[test]
    fn equals_claude_code_bit_for_bit() {
        let fast = Extras { fast: true, ..Extras::default() };
        let us = Extras { us_inference: true, ..Extras::default() };
        let cases = [
            // Odd counts, where the order of the float operations shows.
            measured("claude-opus-5-5", usage(3, 1234, 5000, 677, 98765), 0.07486100000000001),
            measured("claude-haiku-4-5", usage(17, 333, 12345, 0, 67890), 0.02390225),
            measured("claude-sonnet-4-5", usage(7, 4321, 1000, 111, 222222), 0.13591859999999997),
            measured("claude-3-5-haiku-20241022", usage(13, 777, 3333, 0, 44444), 0.010006919999999999),
            // Mixed cache lifetimes.
            measured("claude-opus-5-5", usage(0, 0, M / 2, M / 2, 0), 6.5),
            measured("claude-opus-5-5", usage(0, 0, 800_000, 200_000, 0), 5.6),
            // Long prompts on models without a long-context tier.
            measured("claude-sonnet-4-5", usage(300_000, M, 100_000, 0, 100_000), 16.305),
            measured("claude-sonnet-4-20250514", usage(300_000, M, 0, 0, 0), 15.9),
            measured("claude-opus-5-5", usage(900_000, M, 0, 0, 0), 23.6),
            // Fast mode, US-only inference and web search.
            measured_with("claude-opus-5-5", usage(M, 0, 0, 0, 0), fast, 8.0),
            measured_with("claude-opus-5-5", usage(M, M, M / 2, M / 2, M), fast, 61.4),
            measured_with("claude-opus-4-6", usage(M, M, M / 2, M / 2, M), fast, 231.75),
            measured_with("claude-opus-4-8", usage(M, M, M / 2, M / 2, M), fast, 77.25),
            measured_with("claude-fable-5-2", usage(M, M, M / 2, M / 2, M), fast, 122.4),
            measured_with("claude-sonnet-5-5", usage(M, 0, 0, 0, 0), fast, 2.0),
            measured_with("claude-opus-5-5", usage(M, 0, 0, 0, 0), us, 4.4),
            measured_with(
                "claude-opus-5-5",
                usage(M, 0, 0, 0, 0),
                Extras { web_search_requests: 3, ..Extras::default() },
                4.03,
            ),
            measured_with(
                "claude-opus-5-5",
                usage(M, 1234, 0, 0, 0),
                Extras { us_inference: true, web_search_requests: 3, ..Extras::default() },
                4.457148000000001,
            ),
            measured_with(
                "claude-opus-5-5",
                usage(7, 1234, 5000, 677, 98765),
                Extras { fast: true, us_inference: true, ..Extras::default() },
                0.1647294,
            ),
            measured_with("claude-haiku-5-5", usage(70_001, 4321, 0, 30_000, 12345), us, 0.084062275),
        ];
        let table = PriceTable::builtin();
        for case in cases {
            let ours = table.cost_usd_with(case.model, &case.usage, &case.extras);
            assert_eq!(ours, Some(case.claude_code_total), "{} {:?}", case.model, case.usage);
        }
    }

    #[test]
    fn long_context_tier_starts_above_its_threshold() {
        let model = "claude-haiku-5-5";
        // Exactly 100,000 prompt tokens: base rates.
        assert_eq!(cost(model, usage(100_000, M, 0, 0, 0)), 0.51);
        // One more: every token, output included, at the long-context rates.
        assert_eq!(cost(model, usage(100_001, M, 0, 0, 0)), 2.5500005);
        // Cache writes and reads count toward the prompt.
        assert_eq!(cost(model, usage(1, M, 50_000, 0, 50_000)), 2.5337505);
        assert_eq!(cost(model, usage(1, 0, 0, 200_000, 0)), 0.2000005);
        // Output alone never makes a prompt long.
        assert_eq!(cost(model, usage(0, M, 0, 0, 0)), 0.5);
        // Fast mode on a model without fast rates keeps the tier.
        let fast = Extras { fast: true, ..Extras::default() };
        let table = PriceTable::builtin();
        assert_eq!(table.cost_usd_with(model, &usage(200_000, 0, 0, 0, 0), &fast), Some(0.1));
    }

    #[test]
    fn one_hour_cache_writes_cost_more_than_five_minute_ones() {
        for model in ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5"] {
            let five = cost(model, usage(0, 0, M, 0, 0));
            let hour = cost(model, usage(0, 0, 0, M, 0));
            let input = cost(model, usage(M, 0, 0, 0, 0));
            assert_eq!(five, input * 1.25, "{model}");
            assert_eq!(hour, input * 2.0, "{model}");
        }
    }

    #[test]
    fn lookup_strips_date_and_context_suffix() {
        let table = PriceTable::builtin();
        let alias = table.lookup("claude-sonnet-4-5").unwrap();
        assert_eq!(table.lookup("claude-sonnet-4-5-20250929"), Some(alias));
        assert_eq!(table.lookup("claude-sonnet-4-5[1m]"), Some(alias));
        assert_eq!(table.lookup("claude-sonnet-4-5-20250929[1m]"), Some(alias));
        assert_eq!(table.lookup("claude-haiku-4-5-20251001"), table.lookup("claude-haiku-4-5"));
        // Only an eight-digit tail is a date.
        assert_eq!(table.lookup("claude-sonnet-4-5-2025"), None);
        assert_eq!(table.lookup("claude-opus-5-5-latest"), None);
    }

    #[test]
    fn unknown_model_has_no_price() {
        let table = PriceTable::builtin();
        assert_eq!(table.lookup("claude-foo-9"), None);
        assert_eq!(table.cost_usd("claude-foo-9", &usage(M, 0, 0, 0, 0)), None);
        assert_eq!(table.cost_usd("", &Usage::default()), None);
        assert_eq!(table.cost_usd("[1m]", &Usage::default()), None);
    }

    #[test]
    fn overrides_win_and_reach_dated_names() {
        let cheap = ModelPrice {
            input: 1.0,
            output: 2.0,
            cache_write_5m: 3.0,
            cache_write_1h: 4.0,
            cache_read: 0.5,
            long_context: None,
            fast: None,
        };
        let overrides = BTreeMap::from([
            ("claude-sonnet-4-5".to_owned(), cheap.clone()),
            ("my-local-model".to_owned(), cheap.clone()),
        ]);
        let table = PriceTable::builtin().with_overrides(&overrides);
        assert_eq!(table.lookup("claude-sonnet-4-5"), Some(&cheap));
        // The built-in table has this exact name, the override its alias.
        assert_eq!(table.lookup("claude-sonnet-4-20250514").unwrap().input, 3.0);
        assert_eq!(table.lookup("claude-sonnet-4-5-20250929"), Some(&cheap));
        assert_eq!(table.cost_usd("my-local-model", &usage(M, M, 0, 0, 0)), Some(3.0));
        // Other models keep their built-in prices.
        assert_eq!(table.cost_usd("claude-opus-5-5", &usage(M, 0, 0, 0, 0)), Some(4.0));
    }

    #[test]
    fn override_reads_from_config_toml() {
        #[derive(Deserialize)]
        struct Pricing {
            models: BTreeMap<String, ModelPrice>,
        }
        #[derive(Deserialize)]
        struct Config {
            pricing: Pricing,
        }
        let config: Config = toml::from_str(
            r#"
            [pricing.models."claude-opus-5-5"]
            input = 3.0
            output = 15.0
            cache_write_5m = 3.75
            cache_write_1h = 6.0
            cache_read = 0.3
            "#,
        )
        .unwrap();
        let table = PriceTable::builtin().with_overrides(&config.pricing.models);
        assert_eq!(table.cost_usd("claude-opus-5-5", &usage(M, 0, 0, 0, 0)), Some(3.0));

        // A misspelt field is an error, not a price silently left at zero.
        let typo = toml::from_str::<ModelPrice>(
            "input = 3.0\noutput = 15.0\ncache_write_5m = 3.75\ncache_write_1h = 6.0\ncache_reads = 0.3",
        );
        assert!(typo.is_err());
    }
}
