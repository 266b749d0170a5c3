//! End-to-end test support for Gatehouse: a faithful mock of Anthropic's
//! API, and helpers to run the real `gatehouse` binary in an isolated home.

pub mod browser;
pub mod claude_cli;
pub mod desktop_app;
pub mod harness;
pub mod litellm;
pub mod mock_anthropic;
pub mod mock_bedrock;
pub mod mock_claude_ai;
pub mod mock_key_info;
pub mod mock_openrouter;
pub mod secret_service;
pub mod sign_in;
pub mod test_ca;
pub mod webdriver;
