//! End-to-end test support for Gatehouse: a faithful mock of Anthropic's
//! API, and helpers to run the real `gatehouse` binary and the real Claude
//! Code CLI against it.

pub mod mock_anthropic;
