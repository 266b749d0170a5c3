//! Which supervisor events the user is told about, and in what words.
//!
//! Only what needs attention becomes a desktop notification: the gateway
//! giving up, Claude Code being taken off a gateway that stopped answering
//! and put back, and files the app could not change. Restarts that work and
//! the user's own clicks stay in the log.

use std::path::PathBuf;

use crate::app_state::SuspendReason;
use crate::supervisor::SupervisorEvent;

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The notification for an event, if it deserves one.
pub fn for_event(event: &SupervisorEvent) -> Option<Notice> {
    let notice = |title: &str, body: String| Some(Notice { title: title.to_string(), body });
    match event {
        SupervisorEvent::CrashLoop { reason, last_lines } => {
            // The supervisor logs the reason too; the notification says it once.
            let lines: Vec<&str> =
                last_lines.iter().map(String::as_str).filter(|line| !line.ends_with(reason.as_str())).collect();
            let tail = lines[lines.len().saturating_sub(3)..].join("\n");
            notice("Gatehouse gateway stopped", format!("{reason}\n{tail}").trim_end().to_string())
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
    fn only_what_needs_attention_is_notified() {
        let crash_loop = SupervisorEvent::CrashLoop {
            reason: "the gateway crashed 5 times in 120 s".into(),
            last_lines: vec!["a".into(), "b".into(), "c".into(), "error: port 7411 is in use".into()],
        };
        assert_eq!(
            for_event(&crash_loop),
            Some(Notice {
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
}
