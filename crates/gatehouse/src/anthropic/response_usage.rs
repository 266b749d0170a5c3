//! Token usage and completeness of an upstream response.
//!
//! This runs on the ledger writer's thread after the response has been
//! relayed, never on the request path. Streaming responses report usage in
//! two SSE events: `message_start` carries the input side and `message_delta`
//! the final counts. Non-streaming responses carry the same `usage` object
//! in the message. The merge rules are Claude Code's own (measured against
//! 2.1.328), so the ledger prices a response exactly as Claude Code does.
//!
//! A body too large to keep whole arrives as its head and its tail (see
//! [`KEPT_GAP`]): a stream still has `message_start` in the head and its last
//! `message_delta` in the tail, and a JSON message has its `usage` at the end.

use bytes::Bytes;
use serde::Deserialize;

use crate::pricing::Extras;
use crate::usage::Usage;

/// Put between the head and the tail of a body kept in two parts (the
/// gateway's `metered` body keeps only those of a huge response): a blank
/// line ends any event cut in two, and a line starting with `:` is an SSE
/// comment, read by nothing.
pub(crate) const KEPT_GAP: &[u8] = b"\n\n: gatehouse kept only the head and tail of this body\n\n";

/// What the gateway learned from a response body.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ResponseSummary {
    pub(crate) usage: Option<Usage>,
    /// Price modifiers the response reports (fast mode, US inference, web search).
    pub(crate) extras: Extras,
    /// The response reached its end (`message_stop`, or a whole JSON message).
    pub(crate) finished: bool,
    /// An `error.type` the upstream sent in the body, if any.
    pub(crate) error_type: Option<String>,
}

/// A `usage` object as the API sends it (and Claude Code copies it into its
/// transcripts).
#[derive(Deserialize, Default)]
pub(crate) struct RawUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<RawCacheCreation>,
    speed: Option<String>,
    inference_geo: Option<String>,
    server_tool_use: Option<RawServerToolUse>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct RawCacheCreation {
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RawServerToolUse {
    web_search_requests: Option<u64>,
}

#[derive(Deserialize)]
struct RawMessage {
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
    error: Option<RawError>,
}

/// The most web searches one response can believably report.
const MAX_BELIEVABLE_SEARCHES: u64 = 1_000_000;

/// Accumulates usage across `message_start` and `message_delta`.
#[derive(Default)]
struct UsageAccumulator {
    seen: bool,
    input: u64,
    output: u64,
    cache_creation_total: Option<u64>,
    cache_split: Option<RawCacheCreation>,
    cache_read: u64,
    extras: Extras,
}

impl UsageAccumulator {
    /// Later events replace earlier counts, except that a 0 input or cache
    /// count in `message_delta` keeps the earlier value (the API sends 0
    /// there when it has nothing new); output always takes the latest value.
    fn merge(&mut self, raw: RawUsage) {
        let first = !self.seen;
        self.seen = true;
        let replace = |current: &mut u64, new: Option<u64>| {
            if let Some(new) = new.filter(|&n| first || n > 0) {
                *current = new;
            }
        };
        replace(&mut self.input, raw.input_tokens);
        replace(&mut self.cache_read, raw.cache_read_input_tokens);
        if let Some(total) = raw.cache_creation_input_tokens.filter(|&n| first || n > 0) {
            self.cache_creation_total = Some(total);
        }
        if let Some(output) = raw.output_tokens {
            self.output = output;
        }
        if raw.cache_creation.is_some() {
            self.cache_split = raw.cache_creation;
        }
        if let Some(speed) = raw.speed {
            self.extras.fast = speed == "fast";
        }
        if let Some(geo) = raw.inference_geo {
            self.extras.us_inference = geo == "us";
        }
        if let Some(searches) = raw.server_tool_use.and_then(|s| s.web_search_requests) {
            self.extras.web_search_requests = searches;
        }
    }

    /// The usage, or `None` when none was seen or a count is beyond belief
    /// (see [`Usage::believable`]).
    fn finish(&mut self) -> Option<Usage> {
        if !self.seen {
            return None;
        }
        let split = self.cache_split.unwrap_or_default();
        let split_5m = split.ephemeral_5m_input_tokens.unwrap_or(0);
        let split_1h = split.ephemeral_1h_input_tokens.unwrap_or(0);
        // The total is authoritative; the 1-hour share is capped by it and
        // the rest of it counts as 5-minute writes (the API's default TTL).
        let total = self.cache_creation_total.unwrap_or(split_5m.saturating_add(split_1h));
        let one_hour = split_1h.min(total);
        let usage = Usage {
            input_tokens: self.input,
            output_tokens: self.output,
            cache_write_5m_tokens: total - one_hour,
            cache_write_1h_tokens: one_hour,
            cache_read_tokens: self.cache_read,
        };
        let searches = self.extras.web_search_requests;
        let usage = usage.believable().filter(|_| {
            let believable = searches <= MAX_BELIEVABLE_SEARCHES;
            if !believable {
                tracing::warn!("a response reported {searches} web searches, beyond belief: recorded without usage");
            }
            believable
        });
        if usage.is_none() {
            self.extras = Extras::default();
        }
        usage
    }
}

/// The usage and price modifiers of one whole `usage` object, such as a
/// transcript line holds; `None` when a count is beyond belief.
pub(crate) fn usage_of(raw: RawUsage) -> Option<(Usage, Extras)> {
    let mut acc = UsageAccumulator::default();
    acc.merge(raw);
    acc.finish().map(|usage| (usage, acc.extras))
}

/// Summarises a response body given as the chunks it arrived in.
pub(crate) fn summarize(is_event_stream: bool, chunks: &[Bytes]) -> ResponseSummary {
    if is_event_stream { summarize_sse(chunks) } else { summarize_json(chunks) }
}

fn summarize_json(chunks: &[Bytes]) -> ResponseSummary {
    let body = concat(chunks);
    let mut summary = ResponseSummary::default();
    let Ok(event) = serde_json::from_slice::<RawEvent>(&body) else {
        return summarize_json_head_and_tail(&body);
    };
    if let Some(error) = event.error {
        summary.error_type = Some(error.kind);
    }
    if event.kind == "message" {
        summary.finished = true;
        let mut acc = UsageAccumulator::default();
        if let Some(usage) = event.usage {
            acc.merge(usage);
        }
        summary.usage = acc.finish();
        summary.extras = acc.extras;
    }
    summary
}

/// A JSON message kept as head and tail: `usage` is the last object named so
/// (a key: inside a string its quotes would be escaped).
fn summarize_json_head_and_tail(body: &[u8]) -> ResponseSummary {
    let mut summary = ResponseSummary::default();
    let Some(gap) = memchr::memmem::find(body, KEPT_GAP) else { return summary };
    let (head, tail) = (&body[..gap], &body[gap + KEPT_GAP.len()..]);
    let Some(at) = memchr::memmem::rfind(tail, b"\"usage\":") else { return summary };
    let usage = serde_json::Deserializer::from_slice(&tail[at + b"\"usage\":".len()..]).into_iter::<RawUsage>().next();
    let Some(Ok(usage)) = usage else { return summary };
    let mut acc = UsageAccumulator::default();
    acc.merge(usage);
    summary.usage = acc.finish();
    summary.extras = acc.extras;
    let opens_a_message = head.trim_ascii_start().starts_with(b"{")
        && memchr::memmem::find(&head[..head.len().min(1024)], b"\"type\":\"message\"").is_some();
    summary.finished = opens_a_message && tail.trim_ascii_end().ends_with(b"}");
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
                if let Some(usage) = event.message.and_then(|m| m.usage) {
                    acc.merge(usage);
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
    summary.extras = acc.extras;
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
    fn usage_beyond_belief_is_no_usage() {
        // An upstream's (or a transcript's) absurd count would price one
        // request at billions and overflow the ledger's sums.
        for (input, searches) in
            [("4000000000000000", 1), ("18446744073709551615", 1), ("100000001", 1), ("5", 1_000_001)]
        {
            let body = format!(
                "{{\"type\":\"message\",\"usage\":{{\"input_tokens\":{input},\"output_tokens\":4,\
                 \"server_tool_use\":{{\"web_search_requests\":{searches}}}}}}}"
            );
            let summary = summarize(false, &[Bytes::from(body.clone())]);
            assert_eq!(summary.usage, None, "{body}");
            assert_eq!(summary.extras, Extras::default(), "{body}");
            assert!(summary.finished, "{body}");
        }
        let body = r#"{"type":"message","usage":{"input_tokens":100000000,"output_tokens":4}}"#;
        assert_eq!(summarize(false, &[Bytes::from(body)]).usage.unwrap().input_tokens, 100_000_000, "the limit itself");
    }

    #[test]
    fn error_event_marks_unfinished() {
        let body =
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n\n";
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
            Some(Usage {
                input_tokens: 3,
                output_tokens: 4,
                cache_write_5m_tokens: 5,
                cache_write_1h_tokens: 0,
                cache_read_tokens: 6
            })
        );
    }

    #[test]
    fn zero_counts_in_delta_keep_the_start_values_but_output_always_wins() {
        let body = concat!(
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,",
            "\"cache_read_input_tokens\":20,\"cache_creation_input_tokens\":30,\"output_tokens\":5}}}\n\n",
            "data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":0,\"cache_read_input_tokens\":0,",
            "\"cache_creation_input_tokens\":0,\"output_tokens\":0,\"speed\":\"fast\",\"inference_geo\":\"us\",",
            "\"server_tool_use\":{\"web_search_requests\":3}}}\n\n",
        );
        let summary = summarize(true, &[Bytes::from(body)]);
        assert_eq!(
            summary.usage,
            Some(Usage {
                input_tokens: 10,
                output_tokens: 0,
                cache_write_5m_tokens: 30,
                cache_write_1h_tokens: 0,
                cache_read_tokens: 20
            })
        );
        assert_eq!(summary.extras, Extras { fast: true, us_inference: true, web_search_requests: 3 });
    }

    #[test]
    fn cache_total_caps_the_one_hour_share() {
        // Measured with Claude Code: total 1M, split 800k/500k prices as 500k 1h + 500k 5m.
        let body = r#"{"type":"message","usage":{"input_tokens":1,"output_tokens":1,"cache_creation_input_tokens":1000000,
            "cache_creation":{"ephemeral_5m_input_tokens":800000,"ephemeral_1h_input_tokens":500000}}}"#;
        let usage = summarize(false, &[Bytes::from(body)]).usage.unwrap();
        assert_eq!((usage.cache_write_5m_tokens, usage.cache_write_1h_tokens), (500_000, 500_000));
        let body = r#"{"type":"message","usage":{"cache_creation":{"ephemeral_5m_input_tokens":7,"ephemeral_1h_input_tokens":3}}}"#;
        let usage = summarize(false, &[Bytes::from(body)]).usage.unwrap();
        assert_eq!((usage.cache_write_5m_tokens, usage.cache_write_1h_tokens), (7, 3));
    }

    #[test]
    fn bodies_kept_as_head_and_tail_keep_their_usage() {
        let cut_start = STREAM.find("event: content_block_delta").unwrap();
        let cut_end = STREAM.find("event: message_delta").unwrap();
        // The tail starts mid-event, as it does after dropping the middle.
        let chunks = [
            Bytes::from(STREAM[..cut_start + 30].to_string()),
            Bytes::from_static(KEPT_GAP),
            Bytes::from(STREAM[cut_end - 10..].to_string()),
        ];
        let summary = summarize(true, &chunks);
        assert!(summary.finished);
        assert_eq!(summary.usage.unwrap().output_tokens, 57);
        assert_eq!(summary.usage.unwrap().cache_read_tokens, 30000);

        let message = r#"{"id":"m","type":"message","content":[{"type":"text","text":"say \"usage\": 1"}],"usage":{"input_tokens":3,"output_tokens":4}}"#;
        let chunks = [
            Bytes::from(message[..30].to_string()),
            Bytes::from_static(KEPT_GAP),
            Bytes::from(message[45..].to_string()),
        ];
        let summary = summarize(false, &chunks);
        assert!(summary.finished);
        assert_eq!(summary.usage.map(|u| (u.input_tokens, u.output_tokens)), Some((3, 4)));
    }

    #[test]
    fn json_error_and_garbage() {
        let summary =
            summarize(false, &[Bytes::from(r#"{"type":"error","error":{"type":"rate_limit_error","message":"x"}}"#)]);
        assert_eq!(summary.error_type.as_deref(), Some("rate_limit_error"));
        assert_eq!(summary.usage, None);
        assert_eq!(summarize(false, &[Bytes::from_static(b"\xff\x00garbage")]), ResponseSummary::default());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever an upstream sends, reading it never panics.
        #[test]
        fn any_bytes_are_summarised_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..2048), cut in 0usize..2048) {
            let bytes = Bytes::from(body);
            let cut = cut.min(bytes.len());
            let chunks = [bytes.slice(..cut), bytes.slice(cut..)];
            summarize(true, &chunks);
            summarize(false, &chunks);
        }

        /// Usage-shaped JSON with arbitrary numbers never panics either (no overflow).
        #[test]
        fn any_counts_are_merged_without_panicking(a in any::<u64>(), b in any::<u64>(), c in any::<u64>(), d in any::<u64>()) {
            let body = format!(
                "data: {{\"type\":\"message_start\",\"message\":{{\"usage\":{{\"input_tokens\":{a},\"cache_creation_input_tokens\":{b},\
                 \"cache_creation\":{{\"ephemeral_5m_input_tokens\":{c},\"ephemeral_1h_input_tokens\":{d}}}}}}}}}\n"
            );
            summarize(true, &[Bytes::from(body)]);
        }
    }
}
