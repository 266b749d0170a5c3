//! Model names as an upstream knows them.
//!
//! Claude Code names its models as Anthropic does (`claude-sonnet-4-5`,
//! `claude-sonnet-4-5-20250929`); OpenRouter knows the same models by its
//! own slugs (`anthropic/claude-sonnet-4.5`), and another compatible API may
//! have names of its own. An upstream's model map says, per model pattern
//! (`*` for any run of characters, as in routes), which name that upstream
//! gets instead. The first entry that matches wins: the user's entries
//! (`[[upstreams]] models`) in the file's order, then the kind's defaults
//! (OpenRouter's, [`OPENROUTER_DEFAULTS`]). An entry also matches a model
//! whose name, without a trailing `-YYYYMMDD` date or a `[1m]` suffix,
//! matches it, as prices are looked up; a model no entry matches passes
//! unchanged.
//!
//! Only the request body's top-level `"model"` value is rewritten, when the
//! request is sent to that upstream: the ledger keeps the name the client
//! asked for (prices are by Claude Code's names), and the response is
//! relayed as it is. An upstream without a map (the subscription) gets the
//! client's body, the same shared buffer, with no work at all.

use crate::json_skim::{skip_whitespace, string_end, value_end};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use bytes::Bytes;

use super::routes::ModelPattern;
use crate::config::{UpstreamConfig, UpstreamKindConfig};

/// OpenRouter's slugs for the names Claude Code sends (dated snapshots and
/// `[1m]` find these through their bare name). Models OpenRouter does not
/// list (Fable, Mythos) are left out: they pass unchanged, and OpenRouter
/// says it does not know them, rather than another model answering.
pub(crate) const OPENROUTER_DEFAULTS: &[(&str, &str)] = &[
    ("claude-opus-5-5", "anthropic/claude-opus-5.5"),
    ("claude-opus-5", "anthropic/claude-opus-5"),
    ("claude-opus-4-8", "anthropic/claude-opus-4.8"),
    ("claude-opus-4-7", "anthropic/claude-opus-4.7"),
    ("claude-opus-4-6", "anthropic/claude-opus-4.6"),
    ("claude-opus-4-5", "anthropic/claude-opus-4.5"),
    ("claude-opus-4-1", "anthropic/claude-opus-4.1"),
    ("claude-opus-4-0", "anthropic/claude-opus-4"),
    ("claude-opus-4", "anthropic/claude-opus-4"),
    ("claude-sonnet-5-5", "anthropic/claude-sonnet-5.5"),
    ("claude-sonnet-5", "anthropic/claude-sonnet-5"),
    ("claude-sonnet-4-6", "anthropic/claude-sonnet-4.6"),
    ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
    ("claude-sonnet-4-0", "anthropic/claude-sonnet-4"),
    ("claude-sonnet-4", "anthropic/claude-sonnet-4"),
    ("claude-3-7-sonnet", "anthropic/claude-3.7-sonnet"),
    ("claude-3-5-sonnet", "anthropic/claude-3.5-sonnet"),
    ("claude-haiku-5-5", "anthropic/claude-haiku-5.5"),
    ("claude-haiku-4-5", "anthropic/claude-haiku-4.5"),
    ("claude-3-5-haiku", "anthropic/claude-3.5-haiku"),
    ("claude-3-haiku", "anthropic/claude-3-haiku"),
];

/// Bedrock's model IDs for the names Claude Code sends, without the
/// cross-region inference profile's geography (see [`bedrock_profile`]).
/// A model no entry matches becomes `anthropic.<model>-v1:0`, Bedrock's
/// pattern for Claude's dated IDs; other IDs are the user's to map.
pub(crate) const BEDROCK_DEFAULTS: &[(&str, &str)] = &[
    ("claude-opus-4-5", "anthropic.claude-opus-4-5-20251101-v1:0"),
    ("claude-opus-4-1", "anthropic.claude-opus-4-1-20250805-v1:0"),
    ("claude-opus-4-0", "anthropic.claude-opus-4-20250514-v1:0"),
    ("claude-opus-4", "anthropic.claude-opus-4-20250514-v1:0"),
    ("claude-sonnet-4-5", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("claude-sonnet-4-0", "anthropic.claude-sonnet-4-20250514-v1:0"),
    ("claude-sonnet-4", "anthropic.claude-sonnet-4-20250514-v1:0"),
    ("claude-3-7-sonnet", "anthropic.claude-3-7-sonnet-20250219-v1:0"),
    ("claude-haiku-4-5", "anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("claude-3-5-haiku", "anthropic.claude-3-5-haiku-20241022-v1:0"),
];

/// The cross-region inference profile's prefix for an AWS region
/// (`us.`, `eu.`, `apac.`), which Claude's newer models on Bedrock are only
/// served through; none for a region outside those geographies.
pub(crate) fn bedrock_profile(region: Option<&str>) -> &'static str {
    match region.and_then(|region| region.split('-').next()) {
        Some("us") => "us.",
        Some("eu") => "eu.",
        Some("ap") => "apac.",
        _ => "",
    }
}

/// The kind's own entries, after the user's.
pub(crate) fn defaults(kind: UpstreamKindConfig) -> &'static [(&'static str, &'static str)] {
    match kind {
        UpstreamKindConfig::OpenRouter => OPENROUTER_DEFAULTS,
        UpstreamKindConfig::Bedrock => BEDROCK_DEFAULTS,
        UpstreamKindConfig::Anthropic | UpstreamKindConfig::Compatible | UpstreamKindConfig::RemoteLitellm => &[],
    }
}

/// The entries an upstream of the config uses, in the order they are
/// tried: the user's, then the kind's defaults that the user did not
/// write a pattern of their own for (Bedrock's with the region's
/// inference profile before them).
pub(crate) fn effective(upstream: &UpstreamConfig) -> Vec<(String, String)> {
    let mine = &upstream.models.0;
    let profile = match upstream.kind {
        UpstreamKindConfig::Bedrock => bedrock_profile(upstream.region.as_deref()),
        _ => "",
    };
    let defaults = defaults(upstream.kind)
        .iter()
        .filter(|(pattern, _)| !mine.iter().any(|(own, _)| own == pattern))
        .map(|(pattern, target)| (pattern.to_string(), format!("{profile}{target}")));
    mine.iter().cloned().chain(defaults).collect()
}

struct Entry {
    pattern: ModelPattern,
    /// The upstream's name for the model, already a JSON string.
    target: Box<str>,
}

/// One upstream's model names: its map, or none.
#[derive(Default)]
pub(crate) struct ModelMap {
    entries: Vec<Entry>,
    /// For an upstream reached through the LiteLLM engine: the deployment's
    /// prefix (`NAME/`) before every name it is sent, and the name of a
    /// model no entry matches, around the model (Bedrock's
    /// `us.anthropic.<model>-v1:0`). LiteLLM knows no model without its
    /// deployment's prefix, so every body is rewritten.
    litellm: Option<LiteLlmNames>,
}

struct LiteLlmNames {
    before: Box<str>,
    after: Box<str>,
}

impl fmt::Debug for ModelMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.iter().map(|entry| (&entry.pattern, &entry.target))).finish()
    }
}

impl ModelMap {
    /// A map of `(pattern, name)` entries, in the order they are tried.
    pub(crate) fn new<P: AsRef<str>, T: AsRef<str>>(entries: impl IntoIterator<Item = (P, T)>) -> ModelMap {
        let entries = entries
            .into_iter()
            .map(|(pattern, target)| Entry {
                pattern: ModelPattern::parse(pattern.as_ref()),
                target: serde_json::to_string(target.as_ref()).expect("a string serialises").into_boxed_str(),
            })
            .collect();
        ModelMap { entries, litellm: None }
    }

    /// The map of a paid upstream of the config (see [`effective`]); for
    /// one reached through the LiteLLM engine, with its deployment's prefix.
    pub(crate) fn of(upstream: &UpstreamConfig) -> ModelMap {
        if upstream.kind.through_litellm() {
            ModelMap::via_litellm(upstream)
        } else {
            ModelMap::new(effective(upstream))
        }
    }

    /// The map of a paid upstream as the LiteLLM engine serves it: the
    /// upstream's own names after its deployment's prefix (`NAME/`), and a
    /// model no entry matches under that prefix too (for Bedrock, as
    /// `us.anthropic.<model>-v1:0`).
    pub(crate) fn via_litellm(upstream: &UpstreamConfig) -> ModelMap {
        let deployment = format!("{}/", upstream.name);
        let (before, after) = match upstream.kind {
            UpstreamKindConfig::Bedrock => {
                (format!("{deployment}{}anthropic.", bedrock_profile(upstream.region.as_deref())), "-v1:0")
            }
            _ => (deployment.clone(), ""),
        };
        let mut map = ModelMap::new(effective(upstream).into_iter().map(|(p, t)| (p, format!("{deployment}{t}"))));
        map.litellm = Some(LiteLlmNames { before: before.into_boxed_str(), after: after.into() });
        map
    }

    /// The name this upstream knows `model` by, as a JSON string; `None`
    /// when no entry matches, and the model passes unchanged.
    fn target(&self, model: &str) -> Option<Cow<'_, str>> {
        let bare = crate::pricing::strip_context_suffix(model);
        let names = [model, crate::pricing::strip_date(model), bare, crate::pricing::strip_date(bare)];
        let found = self.entries.iter().find(|entry| names.iter().any(|name| entry.pattern.matches(name)));
        match (found, &self.litellm) {
            (Some(entry), _) => Some(Cow::Borrowed(&*entry.target)),
            (None, Some(LiteLlmNames { before, after })) => {
                let name = format!("{before}{bare}{after}");
                Some(Cow::Owned(serde_json::to_string(&name).expect("a string serialises")))
            }
            (None, None) => None,
        }
    }

    /// The body as this upstream gets it: its top-level `"model"` replaced
    /// by the upstream's name for it. Without a map, or for a body that
    /// names no model this map knows, the very same buffer.
    #[inline]
    pub(crate) fn rewrite(&self, body: Bytes) -> Bytes {
        if self.entries.is_empty() && self.litellm.is_none() {
            return body;
        }
        self.rewrite_mapped(&body).map_or(body, Bytes::from)
    }

    /// The rewritten body, when its model is mapped: the bytes before and
    /// after the top-level `"model"` string as they are, the upstream's name
    /// between them.
    fn rewrite_mapped(&self, body: &[u8]) -> Option<Vec<u8>> {
        let span = top_level_model(body)?;
        let model: Cow<'_, str> = serde_json::from_slice(&body[span.clone()]).ok()?;
        let target = self.target(&model)?;
        let target = target.as_ref();
        let mut rewritten = Vec::with_capacity(body.len() - span.len() + target.len());
        rewritten.extend_from_slice(&body[..span.start]);
        rewritten.extend_from_slice(target.as_bytes());
        rewritten.extend_from_slice(&body[span.end..]);
        Some(rewritten)
    }
}

/// Where a JSON object's own `"model"` string lies in `body`, quotes
/// included. Only the object's own keys are read: nested objects (messages,
/// tools, metadata) are stepped over whole, strings with their escapes, so
/// a `"model"` inside them, or inside a string, is never taken for it. A key
/// written with escapes (`"mod\u0065l"`) is still `model`. `None` when the
/// body is not an object, names no model, names it twice (the gateway
/// refuses such a request anyway), or its model is not a string.
///
/// A scan of the bytes, since a parser does not say where a value lies: it
/// is exact for any valid JSON, which a Messages body was checked to be when
/// it was read (`anthropic::request::parse`).
fn top_level_model(body: &[u8]) -> Option<Range<usize>> {
    let mut at = skip_whitespace(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_whitespace(body, at + 1);
    if body.get(at) == Some(&b'}') {
        return None;
    }
    let mut found = None;
    loop {
        if body.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(body, at)?;
        let key = &body[at..key_end];
        at = skip_whitespace(body, key_end);
        if body.get(at) != Some(&b':') {
            return None;
        }
        let value = skip_whitespace(body, at + 1);
        let value_end = value_end(body, value)?;
        if is_model(key) {
            if found.is_some() || body[value] != b'"' {
                return None;
            }
            found = Some(value..value_end);
        }
        at = skip_whitespace(body, value_end);
        match body.get(at)? {
            b',' => at = skip_whitespace(body, at + 1),
            b'}' => return found,
            _ => return None,
        }
    }
}

/// Whether a key, as written with its quotes, says `model`.
fn is_model(key: &[u8]) -> bool {
    key == b"\"model\""
        || (key.contains(&b'\\') && serde_json::from_slice::<Cow<'_, str>>(key).is_ok_and(|key| key == "model"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(map: &ModelMap, body: &str) -> String {
        String::from_utf8(map.rewrite(Bytes::copy_from_slice(body.as_bytes())).to_vec()).unwrap()
    }

    fn openrouter() -> ModelMap {
        ModelMap::new(OPENROUTER_DEFAULTS.iter().copied())
    }

    #[test]
    fn claude_codes_names_dated_or_not_map_to_openrouters_slugs() {
        let map = openrouter();
        for (model, slug) in [
            ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
            ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
            ("claude-sonnet-4-5[1m]", "anthropic/claude-sonnet-4.5"),
            ("claude-sonnet-4-5-20250929[1m]", "anthropic/claude-sonnet-4.5"),
            ("claude-opus-5-5", "anthropic/claude-opus-5.5"),
            ("claude-opus-4-1", "anthropic/claude-opus-4.1"),
            ("claude-opus-4-20250514", "anthropic/claude-opus-4"),
            ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
            ("claude-haiku-4-5-20251001", "anthropic/claude-haiku-4.5"),
            ("claude-3-5-haiku-20241022", "anthropic/claude-3.5-haiku"),
            ("claude-3-7-sonnet-20250219", "anthropic/claude-3.7-sonnet"),
        ] {
            assert_eq!(map.target(model).as_deref(), Some(format!("\"{slug}\"").as_str()), "{model}");
        }
        // Unknown models, and a version that is not the one mapped, pass unchanged.
        for model in ["claude-opus-5-7", "claude-fable-5-2", "anthropic/claude-sonnet-4.5", "gpt-5", ""] {
            assert_eq!(map.target(model).as_deref(), None, "{model}");
        }
    }

    #[test]
    fn a_bedrock_upstream_gets_its_deployment_and_profile_before_every_model() {
        let bedrock = |region: &str, models: &[(&str, &str)]| UpstreamConfig {
            name: "aws".to_string(),
            kind: UpstreamKindConfig::Bedrock,
            base_url: None,
            secret: "keychain:aws".to_string(),
            models: crate::config::ModelMapConfig(models.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()),
            region: Some(region.to_string()),
        };
        let map = ModelMap::of(&bedrock("us-east-1", &[("claude-opus-5*", "my-profile-arn")]));
        for (model, sent) in [
            ("claude-sonnet-4-5", "aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            ("claude-haiku-4-5-20251001", "aws/us.anthropic.claude-haiku-4-5-20251001-v1:0"),
            ("claude-sonnet-4-5[1m]", "aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            ("claude-opus-5-5", "aws/my-profile-arn"),
            // Not in the table: Bedrock's pattern for a dated ID.
            ("claude-sonnet-4-7-20260101", "aws/us.anthropic.claude-sonnet-4-7-20260101-v1:0"),
            ("claude-x[1m]", "aws/us.anthropic.claude-x-v1:0"),
        ] {
            assert_eq!(map.target(model).as_deref(), Some(format!("\"{sent}\"").as_str()), "{model}");
        }
        let eu = ModelMap::of(&bedrock("eu-central-1", &[]));
        assert_eq!(
            eu.target("claude-haiku-4-5").as_deref(),
            Some("\"aws/eu.anthropic.claude-haiku-4-5-20251001-v1:0\"")
        );
        let elsewhere = ModelMap::of(&bedrock("ca-central-1", &[]));
        assert_eq!(
            elsewhere.target("claude-haiku-4-5").as_deref(),
            Some("\"aws/anthropic.claude-haiku-4-5-20251001-v1:0\"")
        );
        assert_eq!(
            rewritten(&map, r#"{"model":"claude-sonnet-4-5","max_tokens":1}"#),
            r#"{"model":"aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0","max_tokens":1}"#
        );
    }

    #[test]
    fn the_first_matching_entry_wins_and_the_users_come_first() {
        let upstream = |models: &[(&str, &str)]| UpstreamConfig {
            name: "openrouter".to_string(),
            kind: UpstreamKindConfig::OpenRouter,
            base_url: None,
            secret: "keychain:openrouter".to_string(),
            models: crate::config::ModelMapConfig(models.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()),
            region: None,
        };
        let mine = upstream(&[("claude-sonnet-4-5*", "my/sonnet"), ("claude-*", "my/any"), ("claude-opus-4-1", "x")]);
        let map = ModelMap::of(&mine);
        assert_eq!(map.target("claude-sonnet-4-5-20250929").as_deref(), Some("\"my/sonnet\""));
        assert_eq!(map.target("claude-haiku-4-5").as_deref(), Some("\"my/any\""), "before the defaults");
        assert_eq!(map.target("other").as_deref(), None);
        let used = effective(&mine);
        assert_eq!(used[..3], mine.models.0[..]);
        assert_eq!(used.len(), 3 + OPENROUTER_DEFAULTS.len() - 1, "claude-opus-4-1 is overridden");

        let kept = ModelMap::of(&upstream(&[]));
        assert_eq!(kept.target("claude-haiku-4-5").as_deref(), Some("\"anthropic/claude-haiku-4.5\""));
        let compatible = UpstreamConfig { kind: UpstreamKindConfig::Compatible, ..upstream(&[]) };
        assert!(effective(&compatible).is_empty(), "no defaults but OpenRouter's");
    }

    #[test]
    fn only_the_top_level_model_value_is_rewritten_and_every_other_byte_kept() {
        let map = ModelMap::new([("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"), ("quote\"d", "a\\b\"c")]);
        // Nested "model" keys (in messages, tools, metadata) are content, not the model.
        let body = r#"{"messages":[{"role":"user","content":[{"type":"text","text":"x","model":"claude-sonnet-4-5"}],"model":"claude-sonnet-4-5"}],
            "metadata": {"model": "claude-sonnet-4-5"} ,  "model" :	"claude-sonnet-4-5"  ,"stream":true}"#;
        let expected = body.replace(":\t\"claude-sonnet-4-5\"", ":\t\"anthropic/claude-sonnet-4.5\"");
        assert_eq!(rewritten(&map, body), expected);
        let value: serde_json::Value = serde_json::from_str(&rewritten(&map, body)).unwrap();
        assert_eq!(value["model"], "anthropic/claude-sonnet-4.5");
        assert_eq!(value["metadata"]["model"], "claude-sonnet-4-5");
        assert_eq!(value["messages"][0]["model"], "claude-sonnet-4-5");

        // Escapes: in the model, in its key, and in the name sent.
        assert_eq!(
            rewritten(&map, r#"{"model":"claude-sonnet-4-\u0035"}"#),
            r#"{"model":"anthropic/claude-sonnet-4.5"}"#
        );
        assert_eq!(
            rewritten(&map, r#"{"mod\u0065l":"claude-sonnet-4-5","x":"\"model\":"}"#),
            r#"{"mod\u0065l":"anthropic/claude-sonnet-4.5","x":"\"model\":"}"#
        );
        let escaped = rewritten(&map, r#"{"model":"quote\"d"}"#);
        assert_eq!(escaped, r#"{"model":"a\\b\"c"}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&escaped).unwrap()["model"], "a\\b\"c");
        // Multi-byte text before the model keeps its bytes.
        assert_eq!(
            rewritten(&map, "{\"system\":\"héllo ☃\",\"model\":\"claude-sonnet-4-5\"}"),
            "{\"system\":\"héllo ☃\",\"model\":\"anthropic/claude-sonnet-4.5\"}"
        );
    }

    #[test]
    fn a_body_without_a_mapped_model_is_the_same_buffer() {
        let map = ModelMap::new([("claude-*", "mapped")]);
        for body in [
            r#"{"model":"other"}"#,
            r#"{"messages":[{"model":"claude-x"}]}"#,
            r#"{"model":7}"#,
            r#"{"model":"claude-a","model":"claude-b"}"#,
            r#"["claude-x"]"#,
            "",
            "{\"model\":\"claude-x\"",
            r#"{"model":"claude-x\""#,
            r#"{"model" "claude-x"}"#,
            r#"{"a":{"model":"claude-x"},"b":"\"model\":\"claude-x\""}"#,
        ] {
            let bytes = Bytes::copy_from_slice(body.as_bytes());
            let out = map.rewrite(bytes.clone());
            assert_eq!(out.as_ptr(), bytes.as_ptr(), "{body:?} is passed on untouched");
            assert_eq!(out, bytes);
        }
        // No map (the subscription): not even read.
        let bytes = Bytes::from_static(br#"{"model":"claude-x"}"#);
        assert_eq!(ModelMap::default().rewrite(bytes.clone()).as_ptr(), bytes.as_ptr());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Any JSON value, with keys that are often `model` (escaped or not)
    /// and strings that hold quotes, backslashes and brackets.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
            "[a-z\"\\\\{}\\[\\]:, é☃]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("model|[a-z\"\\\\]{0,4}", inner, 0..5)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever the body holds, and however it is laid out, only the
        /// top-level `model` string changes: the rewritten body is the same
        /// JSON with that one value replaced.
        #[test]
        fn a_rewrite_changes_the_top_level_model_and_nothing_else(
            members in prop::collection::btree_map("model|[a-z\"\\\\]{0,4}", json(), 0..6),
            model in prop::option::of(".*"),
            target in ".*",
            pretty in any::<bool>(),
        ) {
            let mut body: serde_json::Map<String, Value> = members.into_iter().collect();
            if let Some(model) = model {
                body.insert("model".to_string(), Value::String(model));
            }
            let body = Value::Object(body);
            let text = if pretty { serde_json::to_string_pretty(&body) } else { serde_json::to_string(&body) }.unwrap();
            let out = ModelMap::new([("*", target.as_str())]).rewrite(Bytes::from(text.clone()));
            // Read back from the text, as floats do not always survive a round trip.
            let mut expected: Value = serde_json::from_str(&text).unwrap();
            if expected["model"].is_string() {
                expected["model"] = Value::String(target);
            } else {
                prop_assert_eq!(&out[..], text.as_bytes(), "no model string, no change");
            }
            prop_assert_eq!(serde_json::from_slice::<Value>(&out).unwrap(), expected);
        }

        /// Any body gets an answer, never a panic.
        #[test]
        fn any_body_is_rewritten_or_passed(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = ModelMap::new([("*", "x")]).rewrite(Bytes::from(body));
        }
    }
}
