//! The LiteLLM engine: a pinned LiteLLM proxy that Gatehouse installs,
//! configures and runs on loopback, behind the built-in gateway.
//!
//! See `crates/gatehouse/src/engines/mod.rs` for where it sits, and
//! `../shared/reference/litellm.md` for the measured facts it is built on
//! (offline variables, readiness, what LiteLLM forwards and what it drops).

pub(crate) mod aws;
pub(crate) mod callback;
pub(crate) mod config_yaml;
pub(crate) mod install;
pub(crate) mod run;
