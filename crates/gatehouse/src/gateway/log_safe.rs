//! Client-chosen text made safe to log.
//!
//! Methods, paths and model names come from whoever sends the request. In
//! the log they are cut to a length and their control characters escaped,
//! so a client can neither flood the log with one line nor forge lines (a
//! newline) or repaint the terminal (an escape sequence). Formatting writes
//! straight to the log line, without building a string.

use std::fmt;

/// Characters of client text kept in a log line.
const MAX_LOGGED_CHARS: usize = 200;

/// `text` as it goes into the log: at most [`MAX_LOGGED_CHARS`] characters,
/// control characters escaped, and a note of how much was cut.
pub(crate) struct Clipped<'a>(pub(crate) &'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.char_indices();
        for (_, c) in chars.by_ref().take(MAX_LOGGED_CHARS) {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        if let Some((cut_at, _)) = chars.next() {
            write!(f, "…(+{} bytes)", self.0.len() - cut_at)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(Clipped("claude-sonnet-4-5").to_string(), "claude-sonnet-4-5");
        assert_eq!(Clipped("m\nFAKE LOG LINE\u{1b}[31m").to_string(), "m\\nFAKE LOG LINE\\u{1b}[31m");
        let long = "é".repeat(MAX_LOGGED_CHARS + 10);
        let logged = Clipped(&long).to_string();
        assert!(logged.starts_with(&"é".repeat(MAX_LOGGED_CHARS)));
        assert!(logged.ends_with("…(+20 bytes)"), "{logged}");
        assert_eq!(Clipped(&"a".repeat(MAX_LOGGED_CHARS)).to_string(), "a".repeat(MAX_LOGGED_CHARS));
    }
}
