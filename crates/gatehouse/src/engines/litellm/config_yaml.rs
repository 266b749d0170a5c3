//! LiteLLM's `config.yaml`, generated from Gatehouse's config.
//!
//! Each upstream the gateway reaches through LiteLLM (`bedrock`) becomes one
//! wildcard deployment, `NAME/*`: the gateway sends `NAME/<Bedrock model
//! ID>` as the model, and LiteLLM serves it as `bedrock/<Bedrock model ID>`
//! with that upstream's credentials, region and endpoint. The file holds no
//! secret: every credential, and LiteLLM's own master key, is an
//! `os.environ/NAME` reference that [`super::run`] fills in the child's
//! environment.
//!
//! LiteLLM's router neither retries nor cools deployments down: the gateway
//! in front of it already fails over between upstreams and rests the one
//! that failed, and a second layer doing the same would only hide a failure
//! from it (or answer "no deployments available" for a healthy one).

use serde::Serialize;

use crate::config::{Config, UpstreamConfig};

/// The environment variable that holds LiteLLM's master key.
pub(crate) const MASTER_KEY_ENV: &str = "GATEHOUSE_LITELLM_MASTER_KEY";

/// The environment variables that hold one upstream's AWS credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AwsEnv {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
}

impl AwsEnv {
    /// The names for the upstream at `index` of `[[upstreams]]`: its index
    /// keeps them apart even where two names differ only by `-` and `_`.
    pub(crate) fn of(index: usize, upstream: &UpstreamConfig) -> AwsEnv {
        let name: String = upstream
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
            .collect();
        let prefix = format!("GATEHOUSE_UPSTREAM_{index}_{name}_AWS");
        AwsEnv {
            access_key_id: format!("{prefix}_ACCESS_KEY_ID"),
            secret_access_key: format!("{prefix}_SECRET_ACCESS_KEY"),
            session_token: format!("{prefix}_SESSION_TOKEN"),
        }
    }
}

/// The upstreams of the config that LiteLLM serves, with their index.
pub(crate) fn served(config: &Config) -> impl Iterator<Item = (usize, &UpstreamConfig)> {
    config.upstreams.iter().enumerate().filter(|(_, upstream)| upstream.kind.through_litellm())
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
    litellm_params: BedrockParams,
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

/// The YAML for `config`. `has_session_token` says, per upstream name,
/// whether its credentials include a session token (a reference to an
/// unset variable would make LiteLLM send an empty one).
pub(crate) fn generate(config: &Config, has_session_token: impl Fn(&str) -> bool) -> String {
    let model_list = served(config)
        .map(|(index, upstream)| {
            let env = AwsEnv::of(index, upstream);
            Deployment {
                model_name: format!("{}/*", upstream.name),
                litellm_params: BedrockParams {
                    model: "bedrock/*",
                    aws_access_key_id: env_ref(&env.access_key_id),
                    aws_secret_access_key: env_ref(&env.secret_access_key),
                    aws_session_token: has_session_token(&upstream.name).then(|| env_ref(&env.session_token)),
                    aws_region_name: upstream.region.clone(),
                    aws_bedrock_runtime_endpoint: upstream
                        .base_url
                        .as_deref()
                        .map(|url| url.trim_end_matches('/').to_string()),
                },
            }
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
    fn only_upstreams_served_through_litellm_are_deployments_and_every_credential_is_a_reference() {
        let yaml = generate(&config(), |_| false);
        let parsed: yaml_serde::Value = yaml_serde::from_str(&yaml).unwrap();
        let models = parsed["model_list"].as_sequence().unwrap();
        let names: Vec<_> = models.iter().map(|m| m["model_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["bedrock/*", "bedrock-eu/*"]);
        for model in models {
            let params = model["litellm_params"].as_mapping().unwrap();
            for (key, value) in params {
                let key = key.as_str().unwrap();
                if key.starts_with("aws_") && key.contains("key") {
                    assert!(value.as_str().unwrap().starts_with("os.environ/GATEHOUSE_UPSTREAM_"), "{key}: {value:?}");
                }
            }
            assert!(params.get("aws_session_token").is_none());
        }
        assert_eq!(parsed["general_settings"]["master_key"].as_str(), Some("os.environ/GATEHOUSE_LITELLM_MASTER_KEY"));
        assert_eq!(parsed["router_settings"]["num_retries"].as_u64(), Some(0));
    }

    #[test]
    fn environment_names_stay_apart_for_names_that_differ_by_dash_and_underscore() {
        let config = config();
        let mut upstream = config.upstreams[1].clone();
        upstream.name = "a-b".into();
        let dash = AwsEnv::of(1, &upstream);
        upstream.name = "a_b".into();
        let underscore = AwsEnv::of(2, &upstream);
        assert_ne!(dash.access_key_id, underscore.access_key_id);
        assert_eq!(dash.access_key_id, "GATEHOUSE_UPSTREAM_1_A_B_AWS_ACCESS_KEY_ID");
    }
}
