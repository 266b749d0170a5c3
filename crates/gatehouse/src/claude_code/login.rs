//! Driving `claude auth login` for a GUI, which has no terminal to give it.
//!
//! Signing in stays Claude Code's own: it runs Anthropic's OAuth flow, opens
//! the browser itself and keeps the token. Run with its stdin on a pipe, it
//! prints the sign-in URL, then `Paste code here if prompted >`, and reads the
//! one-time code the sign-in page shows from stdin. A [`LoginSession`] reads
//! that URL so the app can offer it, and writes the code the user pastes.
//! The code is useless without Claude Code's PKCE verifier, and it is never
//! logged or kept.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::cli_binary;

/// How long `claude auth login` may take to print its URL.
const URL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long Claude Code may take to exchange the code (a network round trip).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// After a code is written, output with no exit within this long means
/// Claude Code refused the code and is waiting for another.
const REFUSAL_SETTLE: Duration = Duration::from_millis(750);
/// What `claude auth login` prints when it waits for the code.
const PROMPT: &str = "Paste code here if prompted >";
/// What it prints once signed in, a moment before it exits (it flushes
/// telemetry first, which over a slow network can take a while).
const SIGNED_IN: &str = "Login successful";
/// How often the child is checked for an exit while waiting for output.
const POLL: Duration = Duration::from_millis(50);

/// Why signing in did not work.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("Claude Code is not installed: {}", cli_binary::INSTALL_HINT)]
    NotInstalled,
    #[error("cannot run `{program} auth login`: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("`claude auth login` did not print a sign-in URL within {} s; it said: {output}", URL_TIMEOUT.as_secs())]
    NoUrl { output: String },
    #[error("`claude auth login` ended before sign-in finished: {output}")]
    Ended { output: String },
    #[error("Claude Code did not finish signing in within {} s", EXCHANGE_TIMEOUT.as_secs())]
    Timeout,
    #[error("cannot pass the code to Claude Code: {0}")]
    Write(std::io::Error),
}

/// What happened to a code the user pasted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// Claude Code signed in and exited successfully.
    LoggedIn,
    /// Claude Code refused the code (e.g. only part of it was pasted) and
    /// waits for another; its message says what was wrong.
    Refused(String),
}

enum Event {
    Output(String),
    Exited(ExitStatus),
}

/// A running `claude auth login`.
pub struct LoginSession {
    child: Child,
    child_stdin: Option<ChildStdin>,
    output: Receiver<String>,
    url: String,
}

impl LoginSession {
    /// Starts `claude auth login` and waits for the sign-in URL it prints.
    pub fn start() -> Result<LoginSession, LoginError> {
        let binary = cli_binary::find().ok_or(LoginError::NotInstalled)?;
        Self::start_with(Command::new(binary))
    }

    fn start_with(mut command: Command) -> Result<LoginSession, LoginError> {
        let mut child = command
            .args(["auth", "login"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| LoginError::Spawn {
                program: command.get_program().to_string_lossy().into_owned(),
                source,
            })?;
        let (sender, output) = mpsc::channel();
        let streams: [Option<Box<dyn Read + Send>>; 2] =
            [child.stdout.take().map(|s| Box::new(s) as _), child.stderr.take().map(|s| Box::new(s) as _)];
        for stream in streams.into_iter().flatten() {
            let sender = sender.clone();
            std::thread::spawn(move || forward_output(stream, &sender));
        }
        let child_stdin = child.stdin.take();
        let mut session = LoginSession { child, child_stdin, output, url: String::new() };

        let deadline = Instant::now() + URL_TIMEOUT;
        let mut said = String::new();
        while session.url.is_empty() {
            match session.next_event(deadline) {
                Some(Event::Output(text)) => {
                    said.push_str(&text);
                    session.url = find_url(&said).unwrap_or_default();
                }
                Some(Event::Exited(_)) => {
                    said.push_str(&session.drain_output());
                    return Err(LoginError::Ended { output: tidy(&said) });
                }
                None => return Err(LoginError::NoUrl { output: tidy(&said) }),
            }
        }
        Ok(session)
    }

    /// The sign-in page Claude Code opened (or tried to open) in the browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How `claude auth login` ended without a code from us, if it has:
    /// that is how a sign-in usually finishes, as the browser Claude Code
    /// opened returns the code to Claude Code's own loopback listener.
    /// `Err` holds Claude Code's words on why it did not sign in.
    pub fn ended(&mut self) -> Option<Result<(), String>> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) if status.success() => Some(Ok(())),
            Ok(Some(status)) => {
                let said = tidy(&self.drain_output());
                Some(Err(if said.is_empty() { format!("`claude auth login` ended ({status})") } else { said }))
            }
            Err(error) => Some(Err(format!("cannot tell whether `claude auth login` still runs: {error}"))),
        }
    }

    /// Hands the code from the sign-in page to Claude Code and waits for it
    /// to finish signing in.
    pub fn submit_code(&mut self, code: &str) -> Result<CodeOutcome, LoginError> {
        // Only what Claude Code says after the code is about the code (the
        // rest is its prompt).
        while self.output.try_recv().is_ok() {}
        let stdin = self.child_stdin.as_mut().ok_or_else(|| LoginError::Ended { output: String::new() })?;
        stdin
            .write_all(format!("{}\n", code.trim()).as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(LoginError::Write)?;

        let deadline = Instant::now() + EXCHANGE_TIMEOUT;
        let mut said = String::new();
        loop {
            // Once Claude Code has said something (other than its prompt), a
            // short quiet spell without an exit means it refused the code
            // and prompts again.
            let waiting_for_exit = tidy(&said).is_empty() || said.contains(SIGNED_IN);
            let wait_until = if waiting_for_exit { deadline } else { deadline.min(Instant::now() + REFUSAL_SETTLE) };
            match self.next_event(wait_until) {
                Some(Event::Output(text)) => said.push_str(&text),
                Some(Event::Exited(status)) => {
                    self.child_stdin = None;
                    said.push_str(&self.drain_output());
                    return if status.success() {
                        Ok(CodeOutcome::LoggedIn)
                    } else {
                        Err(LoginError::Ended { output: tidy(&said) })
                    };
                }
                None if Instant::now() >= deadline => return Err(LoginError::Timeout),
                None => return Ok(CodeOutcome::Refused(tidy(&said))),
            }
        }
    }

    /// The next output or the child's exit, or `None` at the deadline.
    fn next_event(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            if let Ok(text) = self.output.try_recv() {
                return Some(Event::Output(text));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(Event::Exited(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.output.recv_timeout(left.min(POLL)) {
                Ok(text) => return Some(Event::Output(text)),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
    }

    /// What the child printed before it exited. Bounded: a browser it
    /// launched may hold the pipes open long after.
    fn drain_output(&self) -> String {
        let mut said = String::new();
        while let Ok(text) = self.output.recv_timeout(Duration::from_millis(200)) {
            said.push_str(&text);
        }
        said
    }
}

impl Drop for LoginSession {
    /// An abandoned sign-in must not leave `claude auth login` waiting forever.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn forward_output(mut stream: Box<dyn Read + Send>, sender: &mpsc::Sender<String>) {
    // Read in chunks, not lines: the prompt does not end with a newline.
    let mut buffer = [0u8; 4096];
    while let Ok(read) = stream.read(&mut buffer) {
        if read == 0 || sender.send(String::from_utf8_lossy(&buffer[..read]).into_owned()).is_err() {
            break;
        }
    }
}

/// The first `https://` URL in Claude Code's output, once its line is complete.
fn find_url(output: &str) -> Option<String> {
    let start = output.find("https://")?;
    let rest = &output[start..];
    let end = rest.find(char::is_whitespace)?;
    Some(rest[..end].to_string())
}

/// Claude Code's messages without the prompt and the URL, for showing to the user.
fn tidy(output: &str) -> String {
    // The prompt ends without a newline, so a message on stderr may land
    // right after it on the same line.
    output
        .replace(PROMPT, "\n")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains("https://"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for `claude` that behaves like `claude auth login` does on
    /// a pipe: URL, prompt, a refusal for a code without `#`, and success
    /// (or failure) for a full code.
    fn fake_claude(dir: &std::path::Path, exchange_succeeds: bool) -> Command {
        let script = dir.join("claude");
        let exit = if exchange_succeeds {
            // Like Claude Code, it says so before it has finished.
            "echo 'Login successful.'; sleep 1; exit 0"
        } else {
            "echo \"Couldn't log in: offline\" >&2; exit 1"
        };
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n[ \"$1 $2\" = 'auth login' ] || exit 2\necho 'Opening browser to sign in…'\n\
                 echo \"If the browser didn't open, visit: https://claude.example/oauth/authorize?code=true&state=x\"\n\
                 while true; do printf 'Paste code here if prompted > '; read code || exit 3\n\
                 case \"$code\" in *#*) {exit};; *) echo \"That doesn't look like the full code.\" >&2;; esac; done\n"
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Command::new(script)
    }

    #[test]
    fn reads_the_url_and_passes_the_code() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = LoginSession::start_with(fake_claude(dir.path(), true)).unwrap();
        assert_eq!(session.url(), "https://claude.example/oauth/authorize?code=true&state=x");
        assert_eq!(
            session.submit_code("partial").unwrap(),
            CodeOutcome::Refused("That doesn't look like the full code.".to_string())
        );
        assert_eq!(session.ended(), None);
        assert_eq!(session.submit_code("  abc#def \n").unwrap(), CodeOutcome::LoggedIn);
        assert_eq!(session.ended(), Some(Ok(())));
    }

    #[test]
    fn a_failed_exchange_is_reported_with_claude_codes_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = LoginSession::start_with(fake_claude(dir.path(), false)).unwrap();
        let error = session.submit_code("abc#def").unwrap_err();
        assert_eq!(error.to_string(), "`claude auth login` ended before sign-in finished: Couldn't log in: offline");
    }

    #[test]
    fn a_sign_in_that_fails_by_itself_says_why() {
        let mut command = Command::new("sh");
        let script = "echo 'visit: https://claude.example/x'; printf 'Paste code here if prompted > '; sleep 0.3; \
                      echo \"Couldn't log in: the browser sign-in was cancelled\" >&2; exit 1";
        command.args(["-c", script, "claude"]);
        let mut session = LoginSession::start_with(command).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let outcome = loop {
            if let Some(outcome) = session.ended() {
                break outcome;
            }
            assert!(Instant::now() < deadline, "the fake `claude` did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(outcome, Err("Couldn't log in: the browser sign-in was cancelled".to_string()));
    }

    #[test]
    fn a_cli_that_prints_no_url_is_an_error() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'unknown command' >&2; exit 1", "claude"]);
        let error = LoginSession::start_with(command).err().unwrap();
        assert!(error.to_string().contains("unknown command"), "{error}");
    }
}
