//! LiteLLM's `config.yaml`, generated from Gatehouse's config.
//!
//! Each paid upstream becomes one wildcard deployment, `NAME/*`: the gateway
//! sends `NAME/<the upstream's model name>` as the model, and LiteLLM serves
//! it with that upstream's provider and credentials (see
//! [`UpstreamKindConfig::litellm_provider`]): `bedrock/<Bedrock model ID>`
//! with its AWS credentials, region and endpoint; `anthropic/<model>` with
//! its API key and base URL (an `anthropic` or `compatible` upstream);
//! `openrouter/<slug>` with its key. Bedrock's Messages requests, and every
//! Chat Completions request, go through these. The file holds no secret:
//! every credential, and LiteLLM's own master key, is an `os.environ/NAME`
//! reference that [`super::run`] fills in the child's environment.
//!
//! LiteLLM's router neither retries nor cools deployments down: the gateway
//! in front of it already fails over between upstreams and rests the one
//! that failed, and a second layer doing the same would only hide a failure
//! from it (or answer "no deployments available" for a healthy one).

use serde::Serialize;

use crate::config::{Config, UpstreamConfig, UpstreamKindConfig};

/// The environment variable that holds LiteLLM's master key.
pub(crate) const MASTER_KEY_ENV: &str = "GATEHOUSE_LITELLM_MASTER_KEY";

/// The environment variables that hold one upstream's credentials: its
/// AWS credentials (`bedrock`), or its API key (every other kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpstreamEnv {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    pub(crate) api_key: String,
}

impl UpstreamEnv {
    /// The names for the upstream at `index` of `[[upstreams]]`: its index
    /// keeps them apart even where two names differ only by `-` and `_`.
    pub(crate) fn of(index: usize, upstream: &UpstreamConfig) -> UpstreamEnv {
        let name: String = upstream
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
            .collect();
        let prefix = format!("GATEHOUSE_UPSTREAM_{index}_{name}");
        UpstreamEnv {
            access_key_id: format!("{prefix}_AWS_ACCESS_KEY_ID"),
            secret_access_key: format!("{prefix}_AWS_SECRET_ACCESS_KEY"),
            session_token: format!("{prefix}_AWS_SESSION_TOKEN"),
            api_key: format!("{prefix}_API_KEY"),
        }
    }
}

/// The upstreams of the config that LiteLLM serves (every paid one but a
/// team's LiteLLM proxy), with their index.
pub(crate) fn served(config: &Config) -> impl Iterator<Item = (usize, &UpstreamConfig)> {
    config.upstreams.iter().enumerate().filter(|(_, upstream)| upstream.kind.litellm_provider().is_some())
}

#[derive(Serialize)]
struct LiteLlmConfig {
    model_list: Vec<Deployment>,
    router_settings: RouterSettings,
    litellm_settings: LiteLlmSettings,
    general_settings: GeneralSettings,
}

#[derive(Serialize)]
struct Deployment {
    model_name: String,
    litellm_params: Params,
}

/// A deployment's `litellm_params`: Bedrock's, or an API key's.
#[derive(Serialize)]
#[serde(untagged)]
enum Params {
    Bedrock(BedrockParams),
    ApiKey(ApiKeyParams),
}

#[derive(Serialize)]
struct ApiKeyParams {
    /// `anthropic/*` or `openrouter/*`.
    model: String,
    api_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_base: Option<String>,
}

#[derive(Serialize)]
struct BedrockParams {
    model: &'static str,
    aws_access_key_id: String,
    aws_secret_access_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws_session_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws_region_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws_bedrock_runtime_endpoint: Option<String>,
}

#[derive(Serialize)]
struct RouterSettings {
    num_retries: u32,
    disable_cooldowns: bool,
}

#[derive(Serialize)]
struct LiteLlmSettings {
    /// Gatehouse's callback, which writes LiteLLM's cost of each request
    /// to the ledger (see [`super::callback`]).
    callbacks: [&'static str; 1],
    /// Never sends usage data anywhere.
    telemetry: bool,
    /// A parameter Bedrock does not take is an error the client sees, not
    /// something silently left out.
    drop_params: bool,
}

#[derive(Serialize)]
struct GeneralSettings {
    master_key: String,
}

/// `os.environ/NAME`, LiteLLM's reference to an environment variable.
fn env_ref(name: &str) -> String {
    format!("os.environ/{name}")
}

/// Where LiteLLM sends an API-key upstream's requests: its `base_url` (or
/// the kind's own), which for OpenRouter is the root of its OpenAI API
/// (`…/api/v1`) rather than of its Anthropic one (`…/api`).
fn api_base(kind: UpstreamKindConfig, base_url: Option<String>) -> Option<String> {
    let base = base_url.or(kind.default_base_url().map(str::to_string))?;
    match kind {
        UpstreamKindConfig::OpenRouter if !base.ends_with("/v1") => Some(format!("{base}/v1")),
        _ => Some(base),
    }
}

/// The YAML for `config`. `has_session_token` says, per upstream name,
/// whether its credentials include a session token (a reference to an
/// unset variable would make LiteLLM send an empty one).
pub(crate) fn generate(config: &Config, has_session_token: impl Fn(&str) -> bool) -> String {
    let model_list = served(config)
        .map(|(index, upstream)| {
            let env = UpstreamEnv::of(index, upstream);
            let base_url = upstream.base_url.as_deref().map(|url| url.trim_end_matches('/').to_string());
            let litellm_params = match upstream.kind {
                UpstreamKindConfig::Bedrock => Params::Bedrock(BedrockParams {
                    model: "bedrock/*",
                    aws_access_key_id: env_ref(&env.access_key_id),
                    aws_secret_access_key: env_ref(&env.secret_access_key),
                    aws_session_token: has_session_token(&upstream.name).then(|| env_ref(&env.session_token)),
                    aws_region_name: upstream.region.clone(),
                    aws_bedrock_runtime_endpoint: base_url,
                }),
                kind => Params::ApiKey(ApiKeyParams {
                    model: format!("{}/*", kind.litellm_provider().unwrap_or_default()),
                    api_key: env_ref(&env.api_key),
                    api_base: api_base(kind, base_url),
                }),
            };
            Deployment { model_name: format!("{}/*", upstream.name), litellm_params }
        })
        .collect();
    let file = LiteLlmConfig {
        model_list,
        router_settings: RouterSettings { num_retries: 0, disable_cooldowns: true },
        litellm_settings: LiteLlmSettings {
            callbacks: [super::callback::REGISTRATION],
            telemetry: false,
            drop_params: false,
        },
        general_settings: GeneralSettings { master_key: env_ref(MASTER_KEY_ENV) },
    };
    let yaml = yaml_serde::to_string(&file).expect("the config serialises: strings, numbers and booleans only");
    format!(
        "# Generated by Gatehouse from its config.toml; edits here are overwritten.\n# No secret is in this \
         file: each `os.environ/NAME` is set in LiteLLM's environment.\n{yaml}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = r#"
[[upstreams]]
name = "openrouter"
kind = "openrouter"
secret = "keychain:openrouter"

[[upstreams]]
name = "bedrock"
kind = "bedrock"
region = "us-east-1"
secret = "keychain:bedrock"

[[upstreams]]
name = "bedrock-eu"
kind = "bedrock"
region = "eu-central-1"
base_url = "https://bedrock-runtime.eu-central-1.amazonaws.com/"
secret = "env:AWS_EU"
"#;
        toml::from_str(text).unwrap()
    }

    /// The file as it is generated, against `testdata/litellm-config.yaml`;
    /// `GATEHOUSE_UPDATE_GOLDEN=1` rewrites it after a deliberate change.
    #[test]
    fn the_generated_yaml_is_the_golden_file() {
        let yaml = generate(&config(), |name| name == "bedrock-eu");
        let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/litellm-config.yaml");
        if std::env::var_os("GATEHOUSE_UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &yaml).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap();
        similar_asserts(&expected, &yaml);
    }

    fn similar_asserts(expected: &str, actual: &str) {
        if expected != actual {
            let diff = similar::TextDiff::from_lines(expected, actual)
                .unified_diff()
                .header("golden", "generated")
                .to_string();
            panic!("the generated config.yaml differs from the golden file:\n{diff}");
        }
    }

    #[test]
    fn every_paid_upstream_is_a_deployment_and_every_credential_is_a_reference() {
        let yaml = generate(&config(), |_| false);
        let parsed: yaml_serde::Value = yaml_serde::from_str(&yaml).unwrap();
        let models = parsed["model_list"].as_sequence().unwrap();
        let names: Vec<_> = models.iter().map(|m| m["model_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["openrouter/*", "bedrock/*", "bedrock-eu/*"]);
        for model in models {
            let params = model["litellm_params"].as_mapping().unwrap();
            for (key, value) in params {
                let key = key.as_str().unwrap();
                if key.contains("key") {
                    assert!(value.as_str().unwrap().starts_with("os.environ/GATEHOUSE_UPSTREAM_"), "{key}: {value:?}");
                }
            }
            assert!(params.get("aws_session_token").is_none());
        }
        let openrouter = &models[0]["litellm_params"];
        assert_eq!(openrouter["model"].as_str(), Some("openrouter/*"));
        assert_eq!(openrouter["api_base"].as_str(), Some("https://openrouter.ai/api/v1"));
        assert_eq!(parsed["general_settings"]["master_key"].as_str(), Some("os.environ/GATEHOUSE_LITELLM_MASTER_KEY"));
        assert_eq!(parsed["router_settings"]["num_retries"].as_u64(), Some(0));
    }

    #[test]
    fn environment_names_stay_apart_for_names_that_differ_by_dash_and_underscore() {
        let config = config();
        let mut upstream = config.upstreams[1].clone();
        upstream.name = "a-b".into();
        let dash = UpstreamEnv::of(1, &upstream);
        upstream.name = "a_b".into();
        let underscore = UpstreamEnv::of(2, &upstream);
        assert_ne!(dash.access_key_id, underscore.access_key_id);
        assert_eq!(dash.access_key_id, "GATEHOUSE_UPSTREAM_1_A_B_AWS_ACCESS_KEY_ID");
    }
}
