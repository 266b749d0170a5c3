//! Text that came from outside, made safe where Gatehouse shows or exports
//! it.
//!
//! Project paths come from transcripts (`cwd`), model names and session ids
//! from clients, key names from whoever issued them. Printed to a terminal
//! as they are, an escape sequence in one repaints the terminal; exported to
//! CSV, one that starts with `=` runs as a formula when a spreadsheet opens
//! the file. The ledger keeps them as they came; these functions change
//! only how they are shown.

use std::borrow::Cow;

/// `text` for a terminal: control characters (escape, newline, …) written
/// as Rust escapes (`\u{1b}`, `\n`), so they are seen, not obeyed.
pub(crate) fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect(),
    )
}

/// `text` for a CSV cell that a spreadsheet may open: a cell that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`,
/// which spreadsheets show as text instead of evaluating (OWASP's advice
/// on CSV injection).
pub(crate) fn for_spreadsheet(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(for_terminal("/home/me/app"), "/home/me/app");
        assert!(matches!(for_terminal("/home/me/app"), Cow::Borrowed(_)));
        assert_eq!(for_terminal("/esc\u{1b}[31mRED\u{1b}[0m"), "/esc\\u{1b}[31mRED\\u{1b}[0m");
        assert_eq!(for_terminal("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(for_terminal("café ☕"), "café ☕");
    }

    #[test]
    fn formulas_are_kept_as_text() {
        for formula in ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(for_spreadsheet(formula), format!("'{formula}"));
        }
        for plain in ["/home/me/app", "claude-sonnet-4-5", "", "a=b", "session-1"] {
            assert_eq!(for_spreadsheet(plain), plain);
        }
    }
}
