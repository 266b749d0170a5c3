//! The end of a relayed event stream: where its final event is, and
//! whether it stops between events.
//!
//! A Messages stream is whole when its last event is `message_stop` (or
//! `error`). That event can arrive split across chunks at any byte, with
//! or without an `event:` line, with JSON spaced any way; so the stream's
//! last bytes are kept and read as events, not searched for one spelling.
//! When the gateway ends a stream early it appends an `error` event, which
//! must start on an event boundary, or the client's parser glues it to the
//! half event before it.

/// How many of the stream's last bytes are kept: far more than a final
/// `message_stop` or `error` event takes.
const KEPT: usize = 4096;

/// The last bytes of an event stream.
#[derive(Default)]
pub(crate) struct StreamTail {
    bytes: Vec<u8>,
}

impl StreamTail {
    /// Adds a relayed chunk.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= KEPT {
            self.bytes.clear();
            self.bytes.extend_from_slice(&chunk[chunk.len() - KEPT..]);
            return;
        }
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > 2 * KEPT {
            self.bytes.drain(..self.bytes.len() - KEPT);
        }
    }

    /// Whether the stream so far stops between events (or is empty): what
    /// is appended then starts an event of its own.
    pub(crate) fn at_event_boundary(&self) -> bool {
        let b = &self.bytes;
        b.is_empty() || b.ends_with(b"\n\n") || b.ends_with(b"\n\r\n") || b.ends_with(b"\r\r")
    }

    /// Whether the stream's last event is `name` (see [`Self::last_event`]);
    /// cheap when its name is nowhere near the end, as after most chunks.
    pub(crate) fn last_event_is(&self, name: &str) -> bool {
        let recent = &self.bytes[self.bytes.len().saturating_sub(512)..];
        memchr::memmem::find(recent, name.as_bytes()).is_some() && self.last_event().as_deref() == Some(name)
    }

    /// The type of the stream's last event, if its data arrived whole: its
    /// `event:` name, else its data's `"type"`. Trailing blank lines do not
    /// matter; an event the stream ended inside is `None`.
    pub(crate) fn last_event(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.bytes).replace("\r\n", "\n").replace('\r', "\n");
        let block = text.trim_end_matches('\n').rsplit("\n\n").next()?;
        let (mut name, mut data) = (None, Vec::new());
        for line in block.lines() {
            let field = |prefix: &str| line.strip_prefix(prefix).map(|v| v.strip_prefix(' ').unwrap_or(v));
            if let Some(value) = field("event:") {
                name = Some(value.to_string());
            } else if let Some(value) = field("data:") {
                data.push(value);
            }
        }
        let data: Option<serde_json::Value> = match data.is_empty() {
            true => None,
            false => Some(serde_json::from_str(&data.join("\n")).ok()?),
        };
        name.or_else(|| data?.get("type")?.as_str().map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOP: &str = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    const DELTA: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n";

    fn tail_of(chunks: &[&[u8]]) -> StreamTail {
        let mut tail = StreamTail::default();
        for chunk in chunks {
            tail.push(chunk);
        }
        tail
    }

    #[test]
    fn the_last_event_is_found_however_the_stream_was_cut_into_chunks() {
        let stream = format!("{}{DELTA}{STOP}", "x".repeat(10_000));
        let bytes = stream.as_bytes();
        for first in [1, 7, 100, 4000, bytes.len() - 30, bytes.len() - 22, bytes.len() - 10, bytes.len() - 1] {
            for second in [first, (first + bytes.len()) / 2, bytes.len() - 1] {
                let (a, rest) = bytes.split_at(first);
                let (b, c) = rest.split_at(second.saturating_sub(first).min(rest.len()));
                let tail = tail_of(&[a, b, c]);
                assert_eq!(tail.last_event().as_deref(), Some("message_stop"), "cut at {first} and {second}");
                assert!(tail.at_event_boundary());
            }
        }
    }

    #[test]
    fn spacing_line_ends_and_data_only_events_do_not_matter() {
        for stream in [
            format!("{DELTA}event: message_stop\r\ndata: {{\"type\": \"message_stop\"}}\r\n\r\n"),
            format!("{DELTA}data: {{ \"type\" : \"message_stop\" }}\n\n"),
            format!("{DELTA}event:message_stop\ndata:{{\"type\":\"message_stop\"}}\n"),
            format!(
                "{DELTA}event: error\ndata: {{\"type\": \"error\", \"error\": {{\"type\": \"overloaded_error\"}}}}\n\n"
            ),
        ] {
            let event = tail_of(&[stream.as_bytes()]).last_event();
            assert!(matches!(event.as_deref(), Some("message_stop" | "error")), "{stream:?}: {event:?}");
        }
    }

    #[test]
    fn a_stream_that_stops_inside_an_event_has_no_last_event_and_no_boundary() {
        let whole = format!("{DELTA}{STOP}");
        let delta_ends = DELTA.len();
        for cut in [delta_ends + 5, delta_ends + 25, whole.len() - 5] {
            let tail = tail_of(&[&whole.as_bytes()[..cut]]);
            assert_ne!(tail.last_event().as_deref(), Some("message_stop"), "cut at {cut}");
            assert!(!tail.at_event_boundary(), "cut at {cut}");
        }
        let mid_delta = tail_of(&[&DELTA.as_bytes()[..DELTA.find("Hello").unwrap()]]);
        assert_eq!(mid_delta.last_event(), None);
        assert!(!mid_delta.at_event_boundary());
        assert_eq!(tail_of(&[DELTA.as_bytes()]).last_event().as_deref(), Some("content_block_delta"));
        assert!(StreamTail::default().at_event_boundary());
    }
}
