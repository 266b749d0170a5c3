//! Claude Code's transcripts, read for what each assistant message used.
//!
//! Claude Code appends one JSON object per line to
//! `<config dir>/projects/<dir>/<session>.jsonl` (a subagent's lines go to
//! files in folders below it). An assistant line carries the API message's
//! `id`, `model` and `usage`, and the response's `requestId`, with the
//! session's `sessionId`, the `cwd` and a `timestamp`. The traps (see
//! ccusage issues #866 and #901):
//! - One message is written several times: while it streams, and once per
//!   content block, with the same ids and a growing `output_tokens`; the
//!   early lines can hold placeholder input counts (0 or 1). Summing the
//!   lines counts a message many times, keeping the first undercounts it.
//!   The lines of one message are folded into one [`TranscriptMessage`],
//!   each count taking its largest value, which is its final one.
//! - The file is read while Claude Code appends to it, so its last line may
//!   be half written. Only complete lines count as read
//!   ([`Stretch::complete_bytes`]); an unterminated last line is used only
//!   if it is already a whole JSON object, and read again next time.
//! - Most of a transcript's bytes are other lines (prompts, tool results,
//!   attachments). A line is decoded only if it contains both `"usage"` and
//!   `assistant`, a byte search far cheaper than parsing it.

use std::collections::HashMap;
use std::io::BufRead;

use serde::Deserialize;

use crate::anthropic::response_usage::{self, RawUsage};
use crate::pricing::Extras;
use crate::usage::Usage;

/// The model Claude Code names in messages it made up itself (an
/// interrupted turn, a local error): no request, no cost.
const SYNTHETIC_MODEL: &str = "<synthetic>";

/// One assistant message, from all the lines that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TranscriptMessage {
    /// `message.id` (`msg_…`).
    pub(crate) message_id: String,
    /// `requestId` (`req_…`), the upstream's `request-id`; absent in some
    /// transcripts.
    pub(crate) request_id: Option<String>,
    /// The model Claude Code asked for (`requestedModel`), else the one
    /// that answered: the gateway prices by the requested one too.
    pub(crate) model: String,
    /// The earliest `timestamp` of its lines, in Unix milliseconds.
    pub(crate) ts_unix_ms: i64,
    pub(crate) session: Option<String>,
    /// The working directory (`cwd`).
    pub(crate) project: Option<String>,
    /// Written by a subagent (`isSidechain`).
    pub(crate) sidechain: bool,
    /// A line of it has a `stop_reason`: the response finished.
    pub(crate) complete: bool,
    pub(crate) usage: Usage,
    pub(crate) extras: Extras,
}

impl TranscriptMessage {
    /// Its `request_id` in the ledger: the response's request id, else the
    /// message id.
    pub(crate) fn key(&self) -> &str {
        self.request_id.as_deref().unwrap_or(&self.message_id)
    }

    /// Folds in another line (or an earlier reading) of the same message:
    /// each count takes the larger value, never the sum; the time the
    /// earlier one. Returns whether anything changed.
    pub(crate) fn absorb(&mut self, other: &TranscriptMessage) -> bool {
        let before = self.clone();
        let (mine, theirs) = (&mut self.usage, &other.usage);
        mine.input_tokens = mine.input_tokens.max(theirs.input_tokens);
        mine.output_tokens = mine.output_tokens.max(theirs.output_tokens);
        mine.cache_write_5m_tokens = mine.cache_write_5m_tokens.max(theirs.cache_write_5m_tokens);
        mine.cache_write_1h_tokens = mine.cache_write_1h_tokens.max(theirs.cache_write_1h_tokens);
        mine.cache_read_tokens = mine.cache_read_tokens.max(theirs.cache_read_tokens);
        self.extras.fast |= other.extras.fast;
        self.extras.us_inference |= other.extras.us_inference;
        self.extras.web_search_requests = self.extras.web_search_requests.max(other.extras.web_search_requests);
        self.ts_unix_ms = self.ts_unix_ms.min(other.ts_unix_ms);
        self.complete |= other.complete;
        self.sidechain |= other.sidechain;
        if self.request_id.is_none() {
            self.request_id.clone_from(&other.request_id);
        }
        if self.session.is_none() {
            self.session.clone_from(&other.session);
        }
        if self.project.is_none() {
            self.project.clone_from(&other.project);
        }
        *self != before
    }
}

/// What a stretch of a transcript held.
#[derive(Debug, Default)]
pub(crate) struct Stretch {
    /// The assistant messages, one per message id, in the order first seen.
    pub(crate) messages: Vec<TranscriptMessage>,
    /// Bytes up to the end of the last complete line: where the next read
    /// of this file starts.
    pub(crate) complete_bytes: u64,
    /// Complete lines that looked like assistant messages but could not be
    /// used (not JSON, no message id, no time).
    pub(crate) unreadable_lines: u64,
}

/// Reads lines until the end, folding the lines of each message into one.
pub(crate) fn read(mut reader: impl BufRead) -> std::io::Result<Stretch> {
    let mut stretch = Stretch::default();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let length = reader.read_until(b'\n', &mut line)?;
        if length == 0 {
            return Ok(stretch);
        }
        let terminated = line.last() == Some(&b'\n');
        if terminated {
            stretch.complete_bytes += length as u64;
        }
        match parse_line(&line) {
            Line::Message(message) => match by_id.get(&message.message_id) {
                Some(&at) => {
                    stretch.messages[at].absorb(&message);
                }
                None => {
                    by_id.insert(message.message_id.clone(), stretch.messages.len());
                    stretch.messages.push(message);
                }
            },
            Line::Other => {}
            // A half-written last line is not an error: it is read again.
            Line::Unreadable => stretch.unreadable_lines += u64::from(terminated),
        }
    }
}

/// What one line is.
#[derive(Debug, PartialEq)]
enum Line {
    Message(TranscriptMessage),
    /// Anything that is not an assistant message with usage.
    Other,
    /// Looks like an assistant message, but cannot be used.
    Unreadable,
}

#[derive(Deserialize)]
struct RawLine {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<RawMessage>,
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    #[serde(rename = "requestedModel")]
    requested_model: Option<String>,
    timestamp: Option<String>,
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    cwd: Option<String>,
    #[serde(rename = "isSidechain")]
    is_sidechain: Option<bool>,
}

#[derive(Deserialize)]
struct RawMessage {
    id: Option<String>,
    model: Option<String>,
    usage: Option<RawUsage>,
    stop_reason: Option<String>,
}

fn parse_line(line: &[u8]) -> Line {
    use memchr::memmem::find;
    if find(line, b"\"usage\"").is_none() || find(line, b"assistant").is_none() {
        return Line::Other;
    }
    let Ok(raw) = serde_json::from_slice::<RawLine>(line) else { return Line::Unreadable };
    if raw.kind.as_deref() != Some("assistant") {
        return Line::Other;
    }
    let Some(RawMessage { id, model, usage: Some(usage), stop_reason }) = raw.message else { return Line::Other };
    let model = raw.requested_model.filter(|m| !m.is_empty()).or(model).filter(|m| !m.is_empty());
    if model.as_deref() == Some(SYNTHETIC_MODEL) {
        return Line::Other;
    }
    let ts = raw.timestamp.and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let (Some(message_id), Some(model), Some(ts)) = (id.filter(|id| !id.is_empty()), model, ts) else {
        return Line::Unreadable;
    };
    let Some((usage, extras)) = response_usage::usage_of(usage) else { return Line::Unreadable };
    Line::Message(TranscriptMessage {
        message_id,
        request_id: raw.request_id.filter(|id| !id.is_empty()),
        model,
        ts_unix_ms: ts.as_millisecond(),
        session: raw.session_id.filter(|s| !s.is_empty()),
        project: raw.cwd.filter(|c| !c.is_empty()),
        sidechain: raw.is_sidechain.unwrap_or(false),
        complete: stop_reason.is_some(),
        usage,
        extras,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An assistant line as Claude Code 2.1.328 writes it.
    pub(crate) fn assistant_line(
        message_id: &str,
        request_id: Option<&str>,
        timestamp: &str,
        input: u64,
        output: u64,
        stop: bool,
    ) -> String {
        let mut line = serde_json::json!({
            "parentUuid": "c3dbceb9", "isSidechain": false,
            "message": {
                "id": message_id, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "the word \"usage\" in a reply"}],
                "stop_reason": if stop { serde_json::json!("end_turn") } else { serde_json::Value::Null },
                "usage": {
                    "input_tokens": input, "cache_creation_input_tokens": 1800, "cache_read_input_tokens": 30000,
                    "output_tokens": output, "server_tool_use": {"web_search_requests": 0},
                    "cache_creation": {"ephemeral_1h_input_tokens": 300, "ephemeral_5m_input_tokens": 1500},
                    "inference_geo": "", "speed": "standard"
                }
            },
            "requestedModel": "claude-sonnet-4-5",
            "type": "assistant", "uuid": "4309f236", "timestamp": timestamp,
            "userType": "external", "cwd": "/home/me/app", "sessionId": "d2527031", "version": "2.1.328"
        });
        if let Some(request_id) = request_id {
            line["requestId"] = request_id.into();
        }
        line.to_string() + "\n"
    }

    fn read_str(text: &str) -> Stretch {
        read(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_streamed_message_is_one_message_with_its_final_counts() {
        // Three snapshots of one response: placeholder input, growing output.
        let text = [
            assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:01.000Z", 1, 3, false),
            assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:02.000Z", 1, 9, false),
            assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:09.000Z", 12, 159, true),
        ]
        .concat();
        let stretch = read_str(&text);
        assert_eq!(stretch.messages.len(), 1);
        let message = &stretch.messages[0];
        assert_eq!(
            message.usage,
            Usage {
                input_tokens: 12,
                output_tokens: 159,
                cache_write_5m_tokens: 1500,
                cache_write_1h_tokens: 300,
                cache_read_tokens: 30000
            }
        );
        assert_eq!(message.ts_unix_ms, "2026-11-30T10:00:01Z".parse::<jiff::Timestamp>().unwrap().as_millisecond());
        assert!(message.complete);
        assert_eq!((message.key(), message.model.as_str()), ("req_1", "claude-sonnet-4-5"));
        assert_eq!((message.session.as_deref(), message.project.as_deref()), (Some("d2527031"), Some("/home/me/app")));
        assert_eq!(stretch.complete_bytes, text.len() as u64);
    }

    #[test]
    fn the_final_snapshot_first_still_wins_and_placeholders_never_lower_a_count() {
        // Lines of one message in any order: the result is the same.
        let lines = [
            assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:09.000Z", 12, 159, true),
            assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:01.000Z", 0, 3, false),
        ];
        let forward = read_str(&lines.concat()).messages;
        let backward = read_str(&[lines[1].clone(), lines[0].clone()].concat()).messages;
        assert_eq!(forward, backward);
        assert_eq!((forward[0].usage.input_tokens, forward[0].usage.output_tokens), (12, 159));
    }

    #[test]
    fn odd_lines_are_skipped_and_counted_only_when_they_looked_like_messages() {
        let good = assistant_line("msg_2", None, "2026-11-30T10:00:00Z", 5, 7, true);
        let text = [
            "\n",
            "   \n",
            "not json at all\n",
            "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"the assistant's usage\"}}\n",
            // Looks like a message but is not JSON.
            "{\"type\":\"assistant\",\"message\":{\"usage\":{\n",
            // No message id: cannot be deduplicated, so not used.
            &assistant_line("", Some("req_x"), "2026-11-30T10:00:00Z", 5, 7, true),
            // No usable time.
            &assistant_line("msg_3", Some("req_3"), "yesterday", 5, 7, true),
            // Claude Code's own made-up message: no request, no cost.
            &assistant_line("msg_4", None, "2026-11-30T10:00:00Z", 0, 0, true)
                .replace("claude-sonnet-4-5", SYNTHETIC_MODEL),
            "[1, 2, 3]\n",
            // A count beyond belief (it would price the message at billions).
            &assistant_line("msg_5", Some("req_5"), "2026-11-30T10:00:00Z", 4_000_000_000_000_000, 7, true),
            &good,
        ]
        .concat();
        let stretch = read_str(&text);
        assert_eq!(stretch.unreadable_lines, 4);
        assert_eq!(stretch.messages.len(), 1);
        // Without a requestId, the message id is its key.
        assert_eq!(stretch.messages[0].key(), "msg_2");
        assert_eq!(stretch.complete_bytes, text.len() as u64);
    }

    #[test]
    fn a_half_written_last_line_is_not_read_past() {
        let first = assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:00Z", 5, 7, true);
        let second = assistant_line("msg_2", Some("req_2"), "2026-11-30T10:01:00Z", 5, 7, true);
        for cut in 1..second.len() {
            let text = format!("{first}{}", &second[..cut]);
            let stretch = read_str(&text);
            assert_eq!(stretch.complete_bytes, first.len() as u64, "cut at {cut}");
            assert_eq!(stretch.unreadable_lines, 0, "a line being written is not an error (cut at {cut})");
            // Only the whole object (everything but its newline) is used,
            // and it is read again next time, from complete_bytes.
            let expected = if cut == second.len() - 1 { 2 } else { 1 };
            assert_eq!(stretch.messages.len(), expected, "cut at {cut}");
        }
    }

    #[test]
    fn a_subagent_line_is_marked() {
        let line = assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:00Z", 5, 7, true)
            .replace("\"isSidechain\":false", "\"isSidechain\":true");
        assert!(read_str(&line).messages[0].sidechain);
    }

    #[test]
    fn the_requested_model_is_the_one_priced() {
        let line = assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:00Z", 5, 7, true)
            .replace("\"requestedModel\":\"claude-sonnet-4-5\"", "\"requestedModel\":\"claude-opus-4-1\"");
        assert_eq!(read_str(&line).messages[0].model, "claude-opus-4-1");
        let line = assistant_line("msg_1", Some("req_1"), "2026-11-30T10:00:00Z", 5, 7, true)
            .replace("\"requestedModel\":\"claude-sonnet-4-5\",", "");
        assert_eq!(read_str(&line).messages[0].model, "claude-sonnet-4-5");
    }
}
