//! Which upstreams serve a request, by its model.
//!
//! A route maps a model pattern (`*` stands for any run of characters, so
//! `claude-opus-*` or `*`) to an ordered list of upstream names: the first
//! serves the request, and the others are, in order, where it may go when
//! that one cannot. The first route whose pattern matches the model wins.
//! Names are resolved against the [`Upstreams`] set once, when the routes are
//! built, so a request only compares its model with the patterns.
//!
//! Without `[[routes]]` in the config, one catch-all, `*`, sends every model
//! to every upstream in the config's order, the subscription first.

use thiserror::Error;

use super::upstreams::{UpstreamId, Upstreams};
use crate::config::Config;

/// A model name pattern; `*` matches any run of characters, including none.
/// Split at its stars once, when the routes are built, so matching a model
/// searches for nothing but the parts between stars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelPattern {
    /// No star: the whole name.
    Exact(String),
    /// What comes before the first star, the parts between stars, and what
    /// comes after the last one (`*` alone: all empty).
    Stars { first: String, middle: Vec<String>, last: String },
}

impl ModelPattern {
    pub(crate) fn parse(pattern: &str) -> ModelPattern {
        let Some((first, tail)) = pattern.split_once('*') else { return ModelPattern::Exact(pattern.to_string()) };
        let (middle, last) = tail.rsplit_once('*').unwrap_or(("", tail));
        ModelPattern::Stars {
            first: first.to_string(),
            middle: middle.split('*').filter(|part| !part.is_empty()).map(str::to_string).collect(),
            last: last.to_string(),
        }
    }

    #[inline]
    pub(crate) fn matches(&self, model: &str) -> bool {
        let (first, middle, last) = match self {
            ModelPattern::Exact(name) => return name == model,
            ModelPattern::Stars { first, middle, last } => (first, middle, last),
        };
        // The first and last parts are anchored, and may not overlap.
        let Some(mut rest) = model.strip_prefix(first.as_str()).and_then(|rest| rest.strip_suffix(last.as_str()))
        else {
            return false;
        };
        // Each middle part, in order, as early as it occurs: leaves the most
        // room for the parts after it.
        for part in middle {
            let Some(at) = rest.find(part.as_str()) else { return false };
            rest = &rest[at + part.len()..];
        }
        true
    }
}

/// A route that cannot be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum RouteError {
    #[error("the route for {pattern:?} names upstream `{name}`, which does not exist")]
    UnknownUpstream { pattern: String, name: String },
    #[error("the route for {pattern:?} names no upstream")]
    NoUpstream { pattern: String },
}

struct Route {
    pattern: ModelPattern,
    /// In the order they are tried; never empty, but in the routes of
    /// [`Routes::via_litellm`].
    upstreams: Vec<UpstreamId>,
}

/// The routes, in the order they are matched.
pub(crate) struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    /// Routes from `(pattern, upstream names)` pairs, checked against `upstreams`.
    pub(crate) fn new<'a>(
        routes: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>,
        upstreams: &Upstreams,
    ) -> Result<Routes, RouteError> {
        let routes = routes
            .into_iter()
            .map(|(pattern, names)| {
                if names.is_empty() {
                    return Err(RouteError::NoUpstream { pattern: pattern.to_string() });
                }
                let upstreams = names
                    .into_iter()
                    .map(|name| {
                        upstreams.find(name).ok_or_else(|| RouteError::UnknownUpstream {
                            pattern: pattern.to_string(),
                            name: name.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Route { pattern: ModelPattern::parse(pattern), upstreams })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Routes { routes })
    }

    /// The config's `[[routes]]`, or without any the default: every model
    /// to every upstream, the subscription first, then the paid ones in the
    /// config's order.
    pub(crate) fn from_config(config: &Config, upstreams: &Upstreams) -> Result<Routes, RouteError> {
        if config.routes.is_empty() {
            return Routes::catch_all(upstreams);
        }
        let routes = config
            .routes
            .iter()
            .map(|route| (route.models.as_str(), route.upstreams.iter().map(String::as_str).collect()));
        Routes::new(routes, upstreams)
    }

    /// The default: every model to every upstream, in the config's order.
    pub(crate) fn catch_all(upstreams: &Upstreams) -> Result<Routes, RouteError> {
        Routes::new([("*", upstreams.iter().map(|upstream| &*upstream.name).collect())], upstreams)
    }

    /// The same routes for Chat Completions requests: each upstream as the
    /// LiteLLM engine serves it, without the subscription, which never
    /// serves one. A route that only the subscription serves is kept with
    /// no upstream, so that a request for its models is told why.
    pub(crate) fn via_litellm(&self, upstreams: &Upstreams) -> Routes {
        let routes = self
            .routes
            .iter()
            .map(|route| Route {
                pattern: route.pattern.clone(),
                upstreams: route.upstreams.iter().filter_map(|&id| upstreams.via_litellm(id)).collect(),
            })
            .collect();
        Routes { routes }
    }

    /// The upstreams for `model`, in the order to try them; `None` when no
    /// route matches it.
    #[inline]
    pub(crate) fn for_model(&self, model: &str) -> Option<&[UpstreamId]> {
        self.routes.iter().find(|route| route.pattern.matches(model)).map(|route| route.upstreams.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_names_with_stars_for_any_run() {
        let matches = |pattern: &str, model: &str| ModelPattern::parse(pattern).matches(model);
        assert!(matches("*", "claude-sonnet-4-5"));
        assert!(matches("*", ""));
        assert!(matches("claude-sonnet-4-5", "claude-sonnet-4-5"));
        assert!(!matches("claude-sonnet-4-5", "claude-sonnet-4-5-x"));
        assert!(matches("claude-opus-*", "claude-opus-4-1"));
        assert!(!matches("claude-opus-*", "claude-sonnet-4-5"));
        assert!(matches("*-haiku-*", "claude-3-5-haiku-20241022"));
        assert!(!matches("*-haiku-*", "claude-haiku"));
        assert!(matches("claude-*-4-*", "claude-sonnet-4-5"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "acb"));
        // The anchored ends may not share characters.
        assert!(!matches("ab*ba", "aba"));
        assert!(matches("ab*ba", "abba"));
        assert!(matches("**", "x"));
    }

    #[test]
    fn the_first_matching_route_wins_and_names_are_checked() {
        let upstreams = Upstreams::from_config(
            &Config::default(),
            &crate::paths::Paths::under(std::path::Path::new("/nonexistent")),
            Some("http://127.0.0.1:9"),
            None,
        )
        .unwrap();
        let anthropic = upstreams.find("anthropic").unwrap();
        let routes = Routes::new([("claude-opus-*", vec!["anthropic"]), ("*", vec!["anthropic"])], &upstreams).unwrap();
        assert_eq!(routes.for_model("claude-opus-4-1"), Some(&[anthropic][..]));
        let only_opus = Routes::new([("claude-opus-*", vec!["anthropic"])], &upstreams).unwrap();
        assert_eq!(only_opus.for_model("claude-sonnet-4-5"), None);

        assert_eq!(
            Routes::new([("*", vec!["anthropic", "openrouter"])], &upstreams).err(),
            Some(RouteError::UnknownUpstream { pattern: "*".into(), name: "openrouter".into() })
        );
        assert_eq!(
            Routes::new([("*", vec![])], &upstreams).err(),
            Some(RouteError::NoUpstream { pattern: "*".into() })
        );
    }

    #[test]
    fn the_default_sends_every_model_to_the_config_s_upstreams() {
        let upstreams = Upstreams::from_config(
            &Config::default(),
            &crate::paths::Paths::under(std::path::Path::new("/nonexistent")),
            Some("http://127.0.0.1:9"),
            None,
        )
        .unwrap();
        let routes = Routes::catch_all(&upstreams).unwrap();
        let anthropic = upstreams.find("anthropic").unwrap();
        for model in ["claude-sonnet-4-5", "", "anything at all"] {
            assert_eq!(routes.for_model(model), Some(&[anthropic][..]), "{model:?}");
        }
    }
}
