//! OpenAI's Chat Completions API on the wire, as apps other than Claude
//! Code speak it to the gateway.
//!
//! The gateway does not translate Chat Completions itself: the LiteLLM
//! engine does (see `engines::litellm`). What the gateway needs of the
//! protocol lives here: the few fields of a request body it routes by, the
//! `usage` of a response for the ledger, and the error envelope OpenAI's
//! SDKs read.

pub(crate) mod errors;
pub(crate) mod request;
pub(crate) mod response_usage;
