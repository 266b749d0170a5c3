//! The Logs page: the gateway's log tail in one format, newest first.
//!
//! The log file mixes the gateway's tracing lines
//! (`2026-11-02T14:02:03.123456Z  INFO gatehouse::gateway::proxy: POST …`)
//! and the supervisor's (`2026-11-02T14:02:03.123Z supervisor: restarting …`);
//! both become a [`LogLine`] with a time, a level and a message, and a
//! number written with float noise (`ttfb_ms=1.4631150000000002`) by an
//! older gateway is shown rounded.

use serde::Serialize;
use ts_rs::TS;

/// One line of the gateway's log.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LogLine {
    /// When it was written; `null` for a line without a time stamp (a panic's
    /// continuation lines, a child's stray output).
    pub ts_ms: Option<i64>,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`; the supervisor's lines are `INFO`,
    /// lines without a level `INFO` too.
    pub level: String,
    /// Who wrote it: `gateway` (with the module, e.g. `gateway::proxy`) or `supervisor`.
    pub source: String,
    pub message: String,
}

const LEVELS: [&str; 5] = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

/// Reads one line of the log.
pub fn parse(line: &str) -> LogLine {
    let line = line.trim_end();
    let (ts_ms, rest) = match line.split_once(' ') {
        Some((first, rest)) => match first.parse::<jiff::Timestamp>() {
            Ok(ts) => (Some(ts.as_millisecond()), rest.trim_start()),
            Err(_) => (None, line),
        },
        None => (None, line),
    };
    let (level, rest) = match rest.split_once(' ') {
        Some((word, rest)) if LEVELS.contains(&word) => (word.to_string(), rest.trim_start()),
        _ => ("INFO".to_string(), rest),
    };
    let (source, message) = match rest.split_once(": ") {
        Some(("supervisor", message)) => ("supervisor".to_string(), message),
        Some((target, message)) if target.contains("::") && !target.contains(' ') => {
            let module = target.strip_prefix("gatehouse::").unwrap_or(target);
            (module.to_string(), message)
        }
        _ => ("gateway".to_string(), rest),
    };
    LogLine { ts_ms, level, source, message: without_float_noise(message) }
}

/// `ttfb_ms=1.4631150000000002` as `ttfb_ms=1.5`: a `name=value` whose
/// value is a number with more than three decimals is rounded to one (the
/// gateway now writes them so; older lines did not).
fn without_float_noise(message: &str) -> String {
    message
        .split(' ')
        .map(|word| {
            let Some((name, value)) = word.split_once('=') else { return word.to_string() };
            let noisy = value.split_once('.').is_some_and(|(_, fraction)| fraction.len() > 3);
            match value.parse::<f64>() {
                Ok(number) if noisy && number.is_finite() => format!("{name}={number:.1}"),
                _ => word.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The log's lines, newest first, from lines oldest first.
pub fn newest_first(lines: &[String]) -> Vec<LogLine> {
    lines.iter().rev().map(|line| parse(line)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_of_line_read_as_one_format_without_float_noise() {
        let gateway = parse(
            "2026-11-02T14:02:03.123456Z  INFO gatehouse::gateway::proxy: POST /v1/messages client=claude-code \
             status=200 ttfb_ms=1.4631150000000002",
        );
        assert_eq!(gateway.ts_ms, Some(1_793_628_123_123));
        assert_eq!((gateway.level.as_str(), gateway.source.as_str()), ("INFO", "gateway::proxy"));
        assert_eq!(gateway.message, "POST /v1/messages client=claude-code status=200 ttfb_ms=1.5");
        let supervisor = parse("2026-11-02T14:02:04.000Z supervisor: restarting in 2 s");
        assert_eq!((supervisor.source.as_str(), supervisor.message.as_str()), ("supervisor", "restarting in 2 s"));
        assert_eq!(supervisor.ts_ms, Some(1_793_628_124_000));
        let warn = parse("2026-11-02T14:02:05Z  WARN gatehouse::ledger::writer: cannot commit: disk full");
        assert_eq!((warn.level.as_str(), warn.message.as_str()), ("WARN", "cannot commit: disk full"));
        let stray = parse("thread 'main' panicked at src/main.rs:1:1:");
        assert_eq!((stray.ts_ms, stray.source.as_str()), (None, "gateway"));
        assert_eq!(parse("version=1.2.3 ratio=0.5").message, "version=1.2.3 ratio=0.5", "only float noise goes");

        let lines = newest_first(&["a".to_string(), "b".to_string()]);
        assert_eq!(lines.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["b", "a"]);
    }
}
