//! An error and its causes as one line, each cause said once.
//!
//! Many errors already include their cause in their own message ("cannot
//! read config.toml: Is a directory (os error 21)") and also return it as
//! their `source`. Printing the chain with anyhow's `{:#}` then says the
//! cause twice. [`describe`] prints the chain but skips a cause whose text
//! the line already holds. The desktop crate shows core errors too, so
//! this is public.

/// `error: cause: cause…`, without repeating a cause already said.
pub fn describe(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// `what: cause: cause…`: `what` in the caller's words, then the causes
/// of `error`, but not `error`'s own message (an HTTP client's names the
/// URL, query and all).
pub(crate) fn with_sources(what: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = what.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// An HTTP client's transport error in a few words (no answer within
/// `timeout`, could not connect), with its causes but not its own message,
/// which names the URL.
pub(crate) fn request_error(error: &reqwest::Error, timeout: std::time::Duration) -> String {
    let kind = if error.is_timeout() {
        format!("no answer within {} s", timeout.as_secs())
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "connection error".to_string()
    };
    with_sources(&kind, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let directory = std::env::temp_dir();
        let read = std::fs::read_to_string(&directory).unwrap_err();
        let os = read.to_string();
        let error = anyhow::Error::new(crate::config::ConfigError::Read { path: directory.clone(), source: read });
        assert_eq!(format!("{error:#}").matches(&os).count(), 2, "the doubling this module exists for");
        let line = describe(&error);
        assert_eq!(line.matches(&os).count(), 1, "{line}");
        assert_eq!(line, format!("cannot read {}: {os}", directory.display()));

        let wrapped = anyhow::anyhow!("disk trouble").context("cannot save");
        assert_eq!(describe(&wrapped), "cannot save: disk trouble");
    }
}
