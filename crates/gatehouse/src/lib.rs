//! Gatehouse core: everything the desktop app does, without a GUI.
//!
//! The `gatehouse` binary and the Tauri shell are thin layers over this
//! library. Each module opens with a comment describing its one concept.

pub(crate) mod anthropic;
pub mod app_state;
pub mod appimage;
pub mod auth;
pub mod claude_code;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod desktop;
pub(crate) mod engines;
pub mod error_chain;
pub(crate) mod failpoint;
pub(crate) mod file_lock;
pub mod fs_atomic;
pub mod gateway;
pub mod gateway_client;
pub(crate) mod json_skim;
pub mod ledger;
pub(crate) mod openai;
pub mod paths;
pub mod pricing;
pub mod secrets;
pub mod supervisor;
pub(crate) mod untrusted_text;
pub mod upstream_test;
pub mod usage;
