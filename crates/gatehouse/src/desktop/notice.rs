//! Which supervisor events the user is told about, and in what words.
//!
//! Only what needs attention becomes a desktop notification: the gateway
//! giving up, Claude Code being taken off a gateway that stopped answering
//! and put back, files the app could not change, and requests failing over
//! to a paid upstream and back. Restarts that work and
//! the user's own clicks stay in the log.

use std::path::PathBuf;

use crate::app_state::SuspendReason;
use crate::config::SUBSCRIPTION_UPSTREAM;
use crate::gateway::FailoverStatus;
use crate::supervisor::SupervisorEvent;
use crate::upstream_test::{UpstreamTest, Verdict};

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    /// What its "Open dashboard" action opens, where opening helps.
    pub opens: Opens,
}

/// The part of the window a notification's action opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opens {
    /// No action: the notification says all there is.
    Nothing,
    Overview,
    Spend,
    Windows,
    Logs,
}

/// The notification for a change in failing over, from `before` to `now`
/// (the gateway's `/status`), if there is one: once when it begins, once
/// when the first upstream serves again.
pub fn for_failover(before: Option<&FailoverStatus>, now: Option<&FailoverStatus>) -> Option<Notice> {
    let from_subscription = |f: &FailoverStatus| f.reason.starts_with(&format!("{SUBSCRIPTION_UPSTREAM}:"));
    match (before, now) {
        (None, Some(now)) => Some(Notice {
            opens: Opens::Overview,
            title: if from_subscription(now) {
                format!("Claude Code now uses {} instead of the subscription", now.served_by)
            } else {
                format!("Requests fail over to {}", now.served_by)
            },
            body: format!("Passed over: {}. Its requests are billed to that key at API prices.", now.reason),
        }),
        (Some(before), None) => Some(Notice {
            opens: Opens::Overview,
            title: if from_subscription(before) {
                "Back on the subscription".to_string()
            } else {
                "Requests are back on their first upstream".to_string()
            },
            body: format!("{} no longer serves Claude Code's requests.", before.served_by),
        }),
        _ => None,
    }
}

/// The notification with the result of a "Test connection" the user chose
/// in the tray.
pub fn for_upstream_test(test: &UpstreamTest) -> Notice {
    let name = &test.upstream;
    let title = match test.verdict {
        Verdict::Ok => format!("Connection to {name}: OK"),
        Verdict::KeyRefused => format!("{name} refused its key"),
        Verdict::Unreachable => format!("{name} is unreachable"),
        Verdict::NoKey => format!("{name} has no key to test"),
        Verdict::NotLoggedIn => format!("{name} answers, but Claude Code is not logged in"),
    };
    Notice { title, body: test.message.clone(), opens: Opens::Nothing }
}

/// The notification for an event, if it deserves one.
pub fn for_event(event: &SupervisorEvent) -> Option<Notice> {
    let notice = |title: &str, body: String| Some(Notice { title: title.to_string(), body, opens: Opens::Overview });
    match event {
        SupervisorEvent::CrashLoop { reason, last_lines } => {
            // The supervisor logs the reason too; the notification says it once.
            let lines: Vec<&str> =
                last_lines.iter().map(String::as_str).filter(|line| !line.ends_with(reason.as_str())).collect();
            let tail = lines[lines.len().saturating_sub(3)..].join("\n");
            let body = format!("{reason}\n{tail}").trim_end().to_string();
            Some(Notice { title: "Gatehouse gateway stopped".to_string(), body, opens: Opens::Logs })
        }
        SupervisorEvent::FailOpenApplied { reason: SuspendReason::Unhealthy, settings_files } => notice(
            "Claude Code bypasses Gatehouse",
            format!(
                "The gateway is not answering, so Claude Code now talks to Anthropic directly ({}). It goes back \
                 through Gatehouse when the gateway recovers.",
                files(settings_files)
            ),
        ),
        SupervisorEvent::FailOpenReverted { reason: SuspendReason::Unhealthy, settings_files } => notice(
            "Claude Code uses Gatehouse again",
            format!("The gateway is answering; Claude Code goes through it again ({}).", files(settings_files)),
        ),
        SupervisorEvent::FailOpenLeftAlone { settings_file, why } => {
            notice("Claude Code settings left as you changed them", format!("{}: {why}", settings_file.display()))
        }
        SupervisorEvent::ClaudeCodeError { settings_file, error } => {
            notice("Cannot change Claude Code's settings", format!("{}: {error}", settings_file.display()))
        }
        SupervisorEvent::FailOpenApplied { .. }
        | SupervisorEvent::FailOpenReverted { .. }
        | SupervisorEvent::Started { .. }
        | SupervisorEvent::Crashed { .. }
        | SupervisorEvent::Stopped => None,
    }
}

fn files(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_test_is_told_with_its_verdict_and_message() {
        let test = |verdict| UpstreamTest {
            upstream: "openrouter".into(),
            kind: "openrouter".into(),
            verdict,
            message: "reachable, but it refused its key (keychain:openrouter): HTTP 401: No auth".into(),
        };
        let notice = for_upstream_test(&test(Verdict::KeyRefused));
        assert_eq!(notice.title, "openrouter refused its key");
        assert_eq!(notice.body, "reachable, but it refused its key (keychain:openrouter): HTTP 401: No auth");
        assert_eq!(for_upstream_test(&test(Verdict::Ok)).title, "Connection to openrouter: OK");
        assert_eq!(for_upstream_test(&test(Verdict::Unreachable)).title, "openrouter is unreachable");
        assert_eq!(for_upstream_test(&test(Verdict::NoKey)).title, "openrouter has no key to test");
    }

    #[test]
    fn only_what_needs_attention_is_notified() {
        let crash_loop = SupervisorEvent::CrashLoop {
            reason: "the gateway crashed 5 times in 120 s".into(),
            last_lines: vec!["a".into(), "b".into(), "c".into(), "error: port 7411 is in use".into()],
        };
        assert_eq!(
            for_event(&crash_loop),
            Some(Notice {
                opens: Opens::Logs,
                title: "Gatehouse gateway stopped".into(),
                body: "the gateway crashed 5 times in 120 s\nb\nc\nerror: port 7411 is in use".into()
            })
        );
        let logged_reason = SupervisorEvent::CrashLoop {
            reason: "the gateway crashed 3 times".into(),
            last_lines: vec![
                "a".into(),
                "b".into(),
                "2026-11-22T05:31:09Z supervisor: the gateway crashed 3 times".into(),
            ],
        };
        assert_eq!(for_event(&logged_reason).unwrap().body, "the gateway crashed 3 times\na\nb");

        let files = vec![PathBuf::from("/home/u/.claude/settings.json")];
        let applied =
            SupervisorEvent::FailOpenApplied { reason: SuspendReason::Unhealthy, settings_files: files.clone() };
        assert!(for_event(&applied).unwrap().body.contains("/home/u/.claude/settings.json"));
        let recovered =
            SupervisorEvent::FailOpenReverted { reason: SuspendReason::Unhealthy, settings_files: files.clone() };
        assert!(for_event(&recovered).is_some());

        // The user's own "Proxy" click and a restart that worked are not news.
        let proxy_off =
            SupervisorEvent::FailOpenApplied { reason: SuspendReason::ProxyStopped, settings_files: files.clone() };
        assert_eq!(for_event(&proxy_off), None);
        let proxy_on = SupervisorEvent::FailOpenReverted { reason: SuspendReason::ProxyStopped, settings_files: files };
        assert_eq!(for_event(&proxy_on), None);
        assert_eq!(for_event(&SupervisorEvent::Crashed { error: "exit 1".into(), attempt: 1, retry_in_ms: 500 }), None);
        assert_eq!(for_event(&SupervisorEvent::Stopped), None);
    }

    #[test]
    fn failing_over_is_notified_once_when_it_begins_and_once_when_it_ends() {
        let over = FailoverStatus {
            since: "2026-12-03T12:00:00Z".to_string(),
            reason: "anthropic: the subscription's window is used up".to_string(),
            served_by: "paid".to_string(),
        };
        let begun = for_failover(None, Some(&over)).expect("a notice");
        assert_eq!(begun.title, "Claude Code now uses paid instead of the subscription");
        assert!(begun.body.contains("the subscription's window is used up"), "{}", begun.body);
        assert_eq!(for_failover(Some(&over), Some(&over)), None, "once, not per request");
        assert_eq!(for_failover(None, None), None);
        let ended = for_failover(Some(&over), None).expect("a notice");
        assert_eq!(ended.title, "Back on the subscription");
        let other = FailoverStatus { reason: "openrouter: is overloaded (529)".to_string(), ..over };
        assert_eq!(for_failover(None, Some(&other)).unwrap().title, "Requests fail over to paid");
        assert_eq!(for_failover(Some(&other), None).unwrap().title, "Requests are back on their first upstream");
    }
}
