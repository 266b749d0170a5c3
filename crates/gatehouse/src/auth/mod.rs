//! Credentials Gatehouse issues or holds.
//!
//! Only gateway keys for now: the keys clients present to the gateway. The
//! Claude subscription login is never here; it belongs to Claude Code.

pub mod gateway_keys;
