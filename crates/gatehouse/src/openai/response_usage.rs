//! Token usage and completeness of a Chat Completions response, and the
//! usage chunk the gateway keeps from clients that did not ask for it.
//!
//! This runs on the ledger writer's thread after the response has been
//! relayed, as for Messages (see `anthropic::response_usage`). A response
//! carries one `usage` object: at the end of a JSON completion, or in the
//! last chunk of a stream. For Claude models the LiteLLM engine reports it
//! in OpenAI's terms, where `prompt_tokens` counts every input token
//! (fresh, cache-written and cache-read), and adds Anthropic's own
//! `cache_creation_input_tokens` and `cache_read_input_tokens` beside it; so
//! fresh input is what is left of `prompt_tokens` after both.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use crate::anthropic::response_usage::ResponseSummary;
use crate::usage::Usage;

#[derive(Deserialize, Default)]
struct RawUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    prompt_tokens_details: Option<RawPromptDetails>,
}

#[derive(Deserialize, Default)]
struct RawPromptDetails {
    cached_tokens: Option<u64>,
    cache_creation_tokens: Option<u64>,
    cache_creation_token_details: Option<RawCacheCreation>,
}

#[derive(Deserialize, Default)]
struct RawCacheCreation {
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

/// A completion, a chunk or an error: only the fields used here are read.
#[derive(Deserialize)]
struct RawBody {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    usage: Option<RawUsage>,
    #[serde(default)]
    error: Option<RawError>,
}

impl RawUsage {
    fn into_usage(self) -> Usage {
        let details = self.prompt_tokens_details.unwrap_or_default();
        let cache_read = self.cache_read_input_tokens.or(details.cached_tokens).unwrap_or(0);
        let cache_write = self.cache_creation_input_tokens.or(details.cache_creation_tokens).unwrap_or(0);
        let one_hour = details
            .cache_creation_token_details
            .and_then(|split| split.ephemeral_1h_input_tokens)
            .unwrap_or(0)
            .min(cache_write);
        Usage {
            input_tokens: self.prompt_tokens.unwrap_or(0).saturating_sub(cache_read).saturating_sub(cache_write),
            output_tokens: self.completion_tokens.unwrap_or(0),
            cache_write_5m_tokens: cache_write - one_hour,
            cache_write_1h_tokens: one_hour,
            cache_read_tokens: cache_read,
        }
    }
}

/// Summarises a Chat Completions response body given as its chunks.
pub(crate) fn summarize(is_event_stream: bool, chunks: &[Bytes]) -> ResponseSummary {
    let body: Vec<u8> = chunks.concat();
    let mut summary = ResponseSummary::default();
    if !is_event_stream {
        if let Ok(completion) = serde_json::from_slice::<RawBody>(&body) {
            summary.error_type = completion.error.map(|e| e.kind.unwrap_or_else(|| "error".to_string()));
            summary.finished = completion.object.as_deref() == Some("chat.completion");
            summary.usage = completion.usage.and_then(|usage| usage.into_usage().believable());
        }
        return summary;
    }
    for line in body.split(|&b| b == b'\n') {
        let Some(data) = line.strip_prefix(b"data:") else { continue };
        let data = data.trim_ascii();
        if data == b"[DONE]" {
            summary.finished = true;
            continue;
        }
        // Content chunks are many and carry neither; skip them unparsed.
        let has = |needle: &[u8]| memchr::memmem::find(data, needle).is_some();
        if !has(b"\"usage\"") && !has(b"\"error\"") {
            continue;
        }
        let Ok(chunk) = serde_json::from_slice::<RawBody>(data) else { continue };
        if let Some(error) = chunk.error {
            summary.error_type = Some(error.kind.unwrap_or_else(|| "error".to_string()));
        }
        if let Some(usage) = chunk.usage {
            summary.usage = usage.into_usage().believable();
        }
    }
    if summary.error_type.is_some() {
        summary.finished = false;
    }
    summary
}

/// Keeps a stream's usage-only chunk (`"choices":[]` with a `usage`) from
/// a client that did not ask for it, and passes every other event on as it
/// completes. An event cut between two reads waits for its end: no client
/// can use half an event.
#[derive(Default)]
pub(crate) struct UsageChunkFilter {
    pending: BytesMut,
}

impl UsageChunkFilter {
    /// What of `chunk` the client gets now.
    pub(crate) fn pass(&mut self, chunk: Bytes) -> Bytes {
        if self.pending.is_empty() && ends_an_event(&chunk) && !might_be_usage_only(&chunk) {
            return chunk;
        }
        self.pending.extend_from_slice(&chunk);
        let mut out = BytesMut::new();
        while let Some(end) = event_end(&self.pending) {
            let event = self.pending.split_to(end);
            if !is_usage_only(&event) {
                out.extend_from_slice(&event);
            }
        }
        out.freeze()
    }

    /// What is left when the stream ends: an event the upstream never ended.
    pub(crate) fn finish(&mut self) -> Bytes {
        self.pending.split().freeze()
    }
}

fn ends_an_event(chunk: &[u8]) -> bool {
    chunk.ends_with(b"\n\n") || chunk.ends_with(b"\r\n\r\n")
}

fn might_be_usage_only(chunk: &[u8]) -> bool {
    memchr::memmem::find(chunk, b"\"choices\"").is_some() && memchr::memmem::find(chunk, b"\"usage\"").is_some()
}

/// Where the first complete event of `buffer` ends, its blank line included.
fn event_end(buffer: &[u8]) -> Option<usize> {
    let lf = memchr::memmem::find(buffer, b"\n\n").map(|at| at + 2);
    let crlf = memchr::memmem::find(buffer, b"\r\n\r\n").map(|at| at + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A `data:` event whose chunk has no choices and a usage.
fn is_usage_only(event: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Chunk {
        choices: Option<Vec<serde::de::IgnoredAny>>,
        usage: Option<serde::de::IgnoredAny>,
    }
    if !might_be_usage_only(event) {
        return false;
    }
    let data: Vec<u8> = event
        .split(|&b| b == b'\n')
        .filter_map(|line| line.strip_prefix(b"data:"))
        .flat_map(|data| data.trim_ascii().iter().copied())
        .collect();
    serde_json::from_slice::<Chunk>(&data)
        .is_ok_and(|chunk| chunk.choices.is_some_and(|c| c.is_empty()) && chunk.usage.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USAGE: &str = r#"{"prompt_tokens":1300,"completion_tokens":12,"total_tokens":1312,"prompt_tokens_details":{"cached_tokens":1000,"cache_creation_tokens":200},"cache_creation_input_tokens":200,"cache_read_input_tokens":1000}"#;

    fn stream() -> String {
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"Hi\"}}}}]}}\n\n\
             data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\n\
             data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{USAGE}}}\n\n\
             data: [DONE]\n\n"
        )
    }

    fn expected() -> Usage {
        Usage {
            input_tokens: 100,
            output_tokens: 12,
            cache_write_5m_tokens: 200,
            cache_write_1h_tokens: 0,
            cache_read_tokens: 1000,
        }
    }

    #[test]
    fn a_completion_s_usage_splits_prompt_tokens_into_fresh_and_cached() {
        let body = format!(r#"{{"id":"c1","object":"chat.completion","choices":[],"usage":{USAGE}}}"#);
        let summary = summarize(false, &[Bytes::from(body)]);
        assert_eq!(summary.usage, Some(expected()));
        assert!(summary.finished);

        // OpenAI's own fields only: cached tokens are cache reads.
        let plain = r#"{"object":"chat.completion","usage":{"prompt_tokens":50,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":20}}}"#;
        let usage = summarize(false, &[Bytes::from_static(plain.as_bytes())]).usage.unwrap();
        assert_eq!((usage.input_tokens, usage.cache_read_tokens, usage.output_tokens), (30, 20, 5));
    }

    #[test]
    fn a_stream_s_usage_is_in_its_usage_chunk_whatever_the_chunking() {
        let text = stream();
        for at in 0..text.len() {
            let chunks = [Bytes::from(text[..at].to_string()), Bytes::from(text[at..].to_string())];
            let summary = summarize(true, &chunks);
            assert_eq!(summary.usage, Some(expected()), "cut at {at}");
            assert!(summary.finished);
        }
        let cut = text.replace("data: [DONE]\n\n", "");
        assert!(!summarize(true, &[Bytes::from(cut)]).finished, "no [DONE]: unfinished");
    }

    #[test]
    fn usage_beyond_belief_is_no_usage() {
        let body =
            r#"{"object":"chat.completion","usage":{"prompt_tokens":9223372036854775807,"completion_tokens":5}}"#;
        let summary = summarize(false, &[Bytes::from_static(body.as_bytes())]);
        assert_eq!(summary.usage, None);
        assert!(summary.finished);
        let chunk = "data: {\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":200000000}}\n\ndata: [DONE]\n\n";
        assert_eq!(summarize(true, &[Bytes::from(chunk)]).usage, None);
    }

    #[test]
    fn errors_are_read_from_bodies_and_streams() {
        let error = r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"400"}}"#;
        let summary = summarize(false, &[Bytes::from_static(error.as_bytes())]);
        assert_eq!(summary.error_type.as_deref(), Some("invalid_request_error"));
        assert!(!summary.finished && summary.usage.is_none());
        let streamed = format!("data: {error}\n\ndata: [DONE]\n\n");
        let summary = summarize(true, &[Bytes::from(streamed)]);
        assert_eq!(summary.error_type.as_deref(), Some("invalid_request_error"));
        assert!(!summary.finished);
        assert_eq!(summarize(false, &[Bytes::from_static(b"garbage")]), ResponseSummary::default());
    }

    #[test]
    fn the_filter_drops_only_the_usage_chunk_however_the_stream_is_cut() {
        let text = stream();
        let want = text.replace(
            &format!(
                "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{USAGE}}}\n\n"
            ),
            "",
        );
        assert_ne!(want, text);
        for at in 0..text.len() {
            let mut filter = UsageChunkFilter::default();
            let mut out = Vec::new();
            for piece in [&text[..at], &text[at..]] {
                out.extend_from_slice(&filter.pass(Bytes::from(piece.to_string())));
            }
            out.extend_from_slice(&filter.finish());
            assert_eq!(String::from_utf8(out).unwrap(), want, "cut at {at}");
        }
        // Events ended by CRLF are recognised too.
        let mut filter = UsageChunkFilter::default();
        let crlf = text.replace("\n\n", "\r\n\r\n");
        let out = filter.pass(Bytes::from(crlf.clone()));
        assert_eq!(std::str::from_utf8(&out).unwrap(), want.replace("\n\n", "\r\n\r\n"));
        // A chunk with choices and a usage is the client's.
        let both = "data: {\"choices\":[{\"index\":0}],\"usage\":{\"prompt_tokens\":1}}\n\n";
        assert_eq!(UsageChunkFilter::default().pass(Bytes::from_static(both.as_bytes())), both.as_bytes());
    }

    #[test]
    fn an_unended_event_comes_out_at_the_end() {
        let mut filter = UsageChunkFilter::default();
        assert!(filter.pass(Bytes::from_static(b"data: {\"choices\":[],\"us")).is_empty());
        assert_eq!(filter.finish(), &b"data: {\"choices\":[],\"us"[..]);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_summarised_and_filtered_without_panicking(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)) {
            let chunk = Bytes::from(body);
            summarize(true, std::slice::from_ref(&chunk));
            summarize(false, std::slice::from_ref(&chunk));
            let mut filter = UsageChunkFilter::default();
            filter.pass(chunk);
            filter.finish();
        }
    }
}
