//! The user's browser in the sign-in tests: real headless Chromium, sent
//! through [`MockClaudeAi`]'s proxy so that it reaches only the mock.
//!
//! [`open_page`] is the user opening a sign-in URL by hand; [`Browser`] is
//! the `$BROWSER` Claude Code runs, which notes each URL and opens it or
//! not, as the test says.
//!
//! Needs Debian's `chromium` (from `scripts/install-test-deps`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{Sandbox, wait_for};
use crate::mock_claude_ai::MockClaudeAi;

/// Real headless Chromium through the mock's proxy; the caller adds a
/// fresh `--user-data-dir`.
fn chromium_command_line(mock: &MockClaudeAi) -> Vec<String> {
    headless_chromium().into_iter().chain(mock.chromium_flags()).collect()
}

/// Real headless Chromium with nothing of its own to fetch.
fn headless_chromium() -> Vec<String> {
    let flags = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    flags.map(String::from).into()
}

/// Opens `url` in a fresh Chromium profile in the sandbox, as the user
/// would from the window's "Open sign-in page", and returns the page it
/// ends on, after redirects.
pub fn open_page(mock: &MockClaudeAi, sandbox: &Sandbox, url: &str) -> String {
    dump_dom(chromium_command_line(mock), sandbox, url)
}

/// Opens `url`, on loopback, in a fresh Chromium profile in the sandbox,
/// and returns the page it ends on, after redirects (HTTP and script).
pub fn open_loopback_page(sandbox: &Sandbox, url: &str) -> String {
    dump_dom(headless_chromium(), sandbox, url)
}

fn dump_dom(command_line: Vec<String>, sandbox: &Sandbox, url: &str) -> String {
    let profile = tempfile::Builder::new().prefix("chromium-").tempdir_in(sandbox.dir.path()).expect("browser profile");
    let output = Command::new(&command_line[0])
        .args(&command_line[1..])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .env("HOME", sandbox.home())
        .stdin(Stdio::null())
        .output()
        .expect("running chromium (Debian package chromium; scripts/install-test-deps installs it)");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What the test does when Claude Code opens "the browser".
pub enum BrowserMode {
    /// Opening fails, as with no browser at hand, so a sign-in can only
    /// finish with a pasted code. The mode until told otherwise.
    CannotOpen,
    /// Real Chromium follows the sign-in to its end.
    Follows,
}

/// The `$BROWSER` Claude Code runs: a script that notes each URL and, when
/// told to, opens it in real Chromium in the background (as a desktop
/// browser returns at once) and keeps the page it lands on.
pub struct Browser {
    dir: PathBuf,
    /// The script, for `$BROWSER`.
    pub script: PathBuf,
}

impl Browser {
    /// Writes the script and its state into `dir/browser`.
    pub fn install(dir: &Path, mock: &MockClaudeAi) -> Browser {
        let dir = dir.join("browser");
        std::fs::create_dir_all(&dir).expect("browser dir");
        let command = chromium_command_line(mock).iter().map(|part| format!("'{part}'")).collect::<Vec<_>>().join(" ");
        let script = dir.join("open-url");
        // `timeout` bounds a page that never finishes loading.
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncd '{dir}' || exit 1\necho \"$1\" >> urls\n[ \"$(cat mode)\" = follows ] || exit 1\n\
                 n=$(wc -l < urls)\nprofile=$(mktemp -d -p .)\n\
                 setsid timeout 120 {command} --user-data-dir=\"$profile\" --dump-dom \"$1\" \
                 > page-$n.tmp 2> chromium-$n.log < /dev/null && mv page-$n.tmp page-$n.html &\nexit 0\n",
                dir = dir.display()
            ),
        )
        .expect("writing the browser script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod the browser script");
        Browser { dir, script }
    }

    pub fn set_mode(&self, mode: BrowserMode) {
        let mode = match mode {
            BrowserMode::CannotOpen => "cannot-open",
            BrowserMode::Follows => "follows",
        };
        std::fs::write(self.dir.join("mode"), mode).expect("browser mode");
    }

    /// The URLs Claude Code asked the browser to open, in order.
    pub fn urls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("urls")).unwrap_or_default().lines().map(String::from).collect()
    }

    /// The `nth` URL (from 1) Claude Code asked the browser to open, once
    /// it has (waiting up to 30 s).
    pub fn opened(&self, nth: usize) -> String {
        wait_for("Claude Code to open the browser", 30, || self.urls().get(nth - 1).cloned())
    }

    /// The page the `nth` URL ended on, once Chromium is done with it.
    pub fn page(&self, nth: usize) -> Option<String> {
        std::fs::read_to_string(self.dir.join(format!("page-{nth}.html"))).ok()
    }
}
