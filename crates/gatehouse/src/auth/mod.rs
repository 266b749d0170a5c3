//! Credentials Gatehouse issues or holds.
//!
//! Gateway keys (the keys clients present to the gateway), and the browser
//! sign-in that brings an OpenRouter key. The Claude subscription login is
//! never here; it belongs to Claude Code.

pub mod gateway_keys;
pub mod openrouter_login;
