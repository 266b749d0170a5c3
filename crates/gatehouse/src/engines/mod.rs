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
//!
//! # Layout
//!
//! - `litellm::install`: the managed venv, pinned by hashes.
//! - `litellm::config_yaml`: LiteLLM's `config.yaml`, generated from the
//!   upstreams of Gatehouse's config, with no secret in it.
//! - `litellm::run`: starting it, readiness, stopping it.

pub(crate) mod litellm;
