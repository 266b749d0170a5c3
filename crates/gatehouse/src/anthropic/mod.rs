//! The Anthropic Messages API on the wire, as Claude Code speaks it.
//!
//! Both the gateway (which forwards requests) and the ledger (which records
//! them, and imports Claude Code's transcripts) read the same protocol: the
//! few fields of a request body and the hint headers Claude Code adds, the
//! `usage` objects of a response and how they merge, the error envelope, and
//! the `anthropic-ratelimit-*` headers. They live here, so neither side
//! imports the other to understand a message.

pub(crate) mod errors;
pub(crate) mod ratelimit;
pub(crate) mod request;
pub(crate) mod response_usage;
