//! Stepping over JSON values in text already known to be valid JSON: where
//! whitespace, a string, an object, an array or a literal ends, found by
//! scanning the bytes. A parser says what a value is, not where it lies;
//! editing a user's file in place (`claude_code::settings`) and rewriting
//! one field of a request body (`gateway::model_map`) need the place.
//!
//! Nothing here reports syntax errors, and nothing recurses, so deep
//! nesting cannot overflow the stack. `None` means the text ended early.

/// JSON's four whitespace bytes.
pub(crate) fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// The first byte at or after `at` that is not whitespace (or the end).
pub(crate) fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).copied().is_some_and(is_whitespace) {
        at += 1;
    }
    at
}

/// Just past the string whose opening quote is at `at`, escapes stepped over.
pub(crate) fn string_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    at += 1;
    loop {
        match bytes.get(at)? {
            b'\\' => at += 2,
            b'"' => return Some(at + 1),
            _ => at += 1,
        }
    }
}

/// Just past the value that starts at `at`: a string, an object or array
/// (to its matching bracket, strings inside stepped over), or a number or
/// literal (to the next delimiter or whitespace).
pub(crate) fn value_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match bytes.get(at)? {
                    b'"' => {
                        at = string_end(bytes, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {
            while bytes.get(at).is_some_and(|b| !is_whitespace(*b) && !matches!(b, b',' | b'}' | b']')) {
                at += 1;
            }
            Some(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_end_where_they_end() {
        let text = br#" {"a": "x\"}", "b": [1, {"c": "]"}], "d": -1.5e3, "e": true} "#;
        let open = skip_whitespace(text, 0);
        assert_eq!(text[open], b'{');
        let end = value_end(text, open).unwrap();
        assert_eq!(&text[end..], b" ");
        let b = text.windows(3).position(|w| w == b"[1,").unwrap();
        assert_eq!(&text[b..value_end(text, b).unwrap()], br#"[1, {"c": "]"}]"#);
        let d = text.windows(2).position(|w| w == b"-1").unwrap();
        assert_eq!(&text[d..value_end(text, d).unwrap()], b"-1.5e3");
        let a = text.windows(3).position(|w| w == br#""x\"#).unwrap();
        assert_eq!(&text[a..string_end(text, a).unwrap()], br#""x\"}""#);
        assert_eq!(value_end(br#"{"open": ["#, 0), None, "cut short");
    }
}
