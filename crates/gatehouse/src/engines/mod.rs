//! Engines: what serves a request once the gateway has taken it.
//!
//! The built-in gateway (`crate::gateway`) is always the front door: Claude
//! Code and every other client talk to it, and it keeps the ledger, the
//! subscription's windows, budgets and failover. Behind it, an engine may
//! serve what the built-in gateway does not speak itself:
//!
//! - [`litellm`]: a pinned LiteLLM proxy in an app-owned venv, for providers
//!   such as AWS Bedrock and for OpenAI's Chat Completions API. The
//!   subscription never passes through it.
//! - [`remote`]: a team's shared LiteLLM proxy, which Claude Code talks to
//!   directly; Gatehouse only configures Claude Code for it and reads the
//!   team member's key spend from it.
//!
//! # Layout
//!
//! - `litellm::install`: the managed venv, pinned by hashes.
//! - `litellm::config_yaml`: LiteLLM's `config.yaml`, generated from the
//!   upstreams of Gatehouse's config, with no secret in it.
//! - `litellm::aws`: a `bedrock` upstream's AWS credentials, as one secret.
//! - `litellm::run`: starting it with the gateway, readiness, restarts,
//!   stopping it.
//! - `litellm::callback`: Gatehouse's LiteLLM callback module, which puts
//!   LiteLLM's own price of each request beside the ledger's.
//!
//! Why behind, and not instead of, the built-in gateway: the subscription's
//! traffic never passes through LiteLLM (which rewrites Claude Code's
//! user-agent on its `/v1/messages` and holds no business with the
//! subscription's token); the ledger, the windows, budgets and failover stay
//! one implementation; and LiteLLM's 30 ms and 330 MB are paid only by the
//! requests that need it.

pub(crate) mod litellm;
pub(crate) mod remote;
