//! Token usage and completeness of an upstream response.
//!
//! This runs on the ledger writer's thread after the response has been
//! relayed, never on the request path. Streaming responses report usage in
//! two SSE events: `message_start` carries the input side and `message_delta`
//! the final (cumulative) counts; a field present in `message_delta` wins.
//! Non-streaming responses carry the same `usage` object in the message.

use bytes::Bytes;
use serde::Deserialize;

use crate::usage::Usage;

/// What the gateway learned from a response body.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ResponseSummary {
    pub usage: Option<Usage>,
    /// The model that answered, as the upstream reports it.
    pub model: Option<String>,
    /// The response reached its end (`message_stop`, or a whole JSON message).
    pub finished: bool,
    /// An `error.type` the upstream sent in the body, if any.
    pub error_type: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<RawCacheCreation>,
}

#[derive(Deserialize, Default)]
struct RawCacheCreation {
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawMessage {
    model: Option<String>,
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(rename = "type")]
    kind: String,
}

/// Any event or body: only the fields used here are read.
#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    message: Option<RawMessage>,
    usage: Option<RawUsage>,
    model: Option<String>,
    error: Option<RawError>,
}

/// Accumulates usage the way Anthropic's SDKs do: later counts replace earlier ones.
#[derive(Default)]
struct UsageAccumulator {
    seen: bool,
    input: u64,
    output: u64,
    cache_creation_total: u64,
    cache_5m: Option<u64>,
    cache_1h: Option<u64>,
    cache_read: u64,
}

impl UsageAccumulator {
    fn merge(&mut self, raw: RawUsage) {
        self.seen = true;
        if let Some(v) = raw.input_tokens {
            self.input = v;
        }
        if let Some(v) = raw.output_tokens {
            self.output = v;
        }
        if let Some(v) = raw.cache_creation_input_tokens {
            self.cache_creation_total = v;
        }
        if let Some(v) = raw.cache_read_input_tokens {
            self.cache_read = v;
        }
        if let Some(split) = raw.cache_creation {
            if let Some(v) = split.ephemeral_5m_input_tokens {
                self.cache_5m = Some(v);
            }
            if let Some(v) = split.ephemeral_1h_input_tokens {
                self.cache_1h = Some(v);
            }
        }
    }

    fn finish(&self) -> Option<Usage> {
        if !self.seen {
            return None;
        }
        // Without the split every cache write is a 5-minute one, which is the
        // API's default. With it, any tokens the split does not account for
        // are also counted as 5-minute writes so the total is never lost.
        let one_hour = self.cache_1h.unwrap_or(0);
        let total = self.cache_creation_total.max(self.cache_5m.unwrap_or(0) + one_hour);
        Some(Usage {
            input_tokens: self.input,
            output_tokens: self.output,
            cache_write_5m_tokens: total - one_hour,
            cache_write_1h_tokens: one_hour,
            cache_read_tokens: self.cache_read,
        })
    }
}

/// Summarises a response body given as the chunks it arrived in.
pub fn summarize(is_event_stream: bool, chunks: &[Bytes]) -> ResponseSummary {
    if is_event_stream { summarize_sse(chunks) } else { summarize_json(chunks) }
}

fn summarize_json(chunks: &[Bytes]) -> ResponseSummary {
    let body = concat(chunks);
    let mut summary = ResponseSummary::default();
    let Ok(event) = serde_json::from_slice::<RawEvent>(&body) else {
        return summary;
    };
    if let Some(error) = event.error {
        summary.error_type = Some(error.kind);
    }
    if event.kind == "message" {
        summary.finished = true;
        summary.model = event.model;
        let mut acc = UsageAccumulator::default();
        if let Some(usage) = event.usage {
            acc.merge(usage);
        }
        summary.usage = acc.finish();
    }
    summary
}

fn summarize_sse(chunks: &[Bytes]) -> ResponseSummary {
    let body = concat(chunks);
    let mut summary = ResponseSummary::default();
    let mut acc = UsageAccumulator::default();
    for line in body.split(|&b| b == b'\n') {
        let Some(data) = line.strip_prefix(b"data:") else { continue };
        // Only the few events that carry usage or state are decoded; the many
        // content deltas are recognised by a cheap prefix check and skipped.
        if !is_interesting(data) {
            continue;
        }
        let Ok(event) = serde_json::from_slice::<RawEvent>(data) else { continue };
        match event.kind.as_str() {
            "message_start" => {
                if let Some(message) = event.message {
                    summary.model = message.model;
                    if let Some(usage) = message.usage {
                        acc.merge(usage);
                    }
                }
            }
            "message_delta" => {
                if let Some(usage) = event.usage {
                    acc.merge(usage);
                }
            }
            "message_stop" => summary.finished = true,
            "error" => summary.error_type = Some(event.error.map_or_else(|| "error".to_string(), |e| e.kind)),
            _ => {}
        }
    }
    summary.usage = acc.finish();
    if summary.error_type.is_some() {
        summary.finished = false;
    }
    summary
}

fn is_interesting(data: &[u8]) -> bool {
    const SKIP: [&[u8]; 4] = [
        b"{\"type\":\"content_block_delta\"",
        b"{\"type\":\"content_block_start\"",
        b"{\"type\":\"content_block_stop\"",
        b"{\"type\":\"ping\"",
    ];
    let data = data.trim_ascii_start();
    !SKIP.iter().any(|prefix| data.starts_with(prefix))
}

fn concat(chunks: &[Bytes]) -> std::borrow::Cow<'_, [u8]> {
    match chunks {
        [] => std::borrow::Cow::Borrowed(&[]),
        [one] => std::borrow::Cow::Borrowed(one),
        many => std::borrow::Cow::Owned(many.concat()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",",
        "\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":1800,\"cache_read_input_tokens\":30000,",
        "\"cache_creation\":{\"ephemeral_5m_input_tokens\":1500,\"ephemeral_1h_input_tokens\":300},\"output_tokens\":1}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"message_delta\"}}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":57}}\n\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n\n",
    );

    fn split_everywhere(text: &str, at: usize) -> Vec<Bytes> {
        let bytes = Bytes::from(text.to_string());
        vec![bytes.slice(..at), bytes.slice(at..)]
    }

    #[test]
    fn stream_usage_is_merged_whatever_the_chunking() {
        let expected = Usage {
            input_tokens: 12,
            output_tokens: 57,
            cache_write_5m_tokens: 1500,
            cache_write_1h_tokens: 300,
            cache_read_tokens: 30000,
        };
        for at in 0..STREAM.len() {
            let summary = summarize(true, &split_everywhere(STREAM, at));
            assert_eq!(summary.usage, Some(expected), "split at {at}");
            assert!(summary.finished);
            assert_eq!(summary.model.as_deref(), Some("claude-sonnet-4-5"));
        }
    }

    #[test]
    fn truncated_stream_is_unfinished_but_keeps_usage() {
        let cut = STREAM.find("event: message_delta").unwrap();
        let summary = summarize(true, &[Bytes::from(STREAM[..cut].to_string())]);
        assert!(!summary.finished);
        assert_eq!(summary.usage.unwrap().output_tokens, 1);
    }

    #[test]
    fn error_event_marks_unfinished() {
        let body = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n\n";
        let summary = summarize(true, &[Bytes::from(body)]);
        assert_eq!(summary.error_type.as_deref(), Some("overloaded_error"));
        assert!(!summary.finished);
    }

    #[test]
    fn json_message_without_split_counts_5m() {
        let body = r#"{"type":"message","model":"m","usage":{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":5,"cache_read_input_tokens":6}}"#;
        let summary = summarize(false, &[Bytes::from(body)]);
        assert!(summary.finished);
        assert_eq!(
            summary.usage,
            Some(Usage { input_tokens: 3, output_tokens: 4, cache_write_5m_tokens: 5, cache_write_1h_tokens: 0, cache_read_tokens: 6 })
        );
    }

    #[test]
    fn json_error_and_garbage() {
        let summary = summarize(false, &[Bytes::from(r#"{"type":"error","error":{"type":"rate_limit_error","message":"x"}}"#)]);
        assert_eq!(summary.error_type.as_deref(), Some("rate_limit_error"));
        assert_eq!(summary.usage, None);
        assert_eq!(summarize(false, &[Bytes::from_static(b"\xff\x00garbage")]), ResponseSummary::default());
    }
}
