//! TEMPORARY stand-in until the pricing module lands (same API).
use std::collections::BTreeMap;
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice { pub input: f64, pub output: f64, pub cache_write_5m: f64, pub cache_write_1h: f64, pub cache_read: f64 }
pub struct PriceTable { models: BTreeMap<String, ModelPrice> }
impl PriceTable {
    pub fn builtin() -> PriceTable { PriceTable { models: BTreeMap::new() } }
    pub fn version(&self) -> &str { "temp" }
    pub fn with_overrides(mut self, o: &BTreeMap<String, ModelPrice>) -> PriceTable { self.models.extend(o.clone()); self }
    pub fn cost_usd(&self, model: &str, u: &crate::usage::Usage) -> Option<f64> {
        let p = self.models.get(model)?;
        Some((u.input_tokens as f64 * p.input + u.output_tokens as f64 * p.output + u.cache_write_5m_tokens as f64 * p.cache_write_5m + u.cache_write_1h_tokens as f64 * p.cache_write_1h + u.cache_read_tokens as f64 * p.cache_read) / 1e6)
    }
}
