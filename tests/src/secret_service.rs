//! A real Secret Service for tests: gnome-keyring on a private D-Bus
//! session bus, started by `dbus-run-session` around a shell that only waits.
//!
//! The shell prints the bus address and then reads its stdin until it
//! closes. Dropping the [`SecretService`] closes that pipe: the shell ends,
//! and `dbus-run-session` takes down the bus, which ends the keyring daemon
//! too. If the test process dies, the pipe closes all the same. So every
//! test gets its own bus and keyring, with nothing outside its temp dir, and
//! plain `cargo test` needs no wrapper script.
//!
//! The keyring's files live in the sandbox's `XDG_DATA_HOME`, so a second
//! session in the same sandbox (say, a locked one) sees the same items.
//! `scripts/install-test-deps` installs `dbus`, `gnome-keyring` and
//! `secret-tool` (libsecret-tools).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::harness::Sandbox;

/// The password of the test login keyring.
const KEYRING_PASSWORD: &str = "gatehouse-test-keyring-password";

/// Whether the session's login keyring is unlocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyring {
    /// Unlocked with the password, as after a desktop login.
    Unlocked,
    /// Started but not unlocked, as when the login did not unlock it; with
    /// no display, the daemon's unlock prompt cannot be shown and fails.
    Locked,
    /// No keyring at all: a bus that cannot start one either (it has no
    /// service directories, so nothing is D-Bus-activated).
    Absent,
}

/// A session bus configuration like the standard one, minus the service
/// directories from which D-Bus would start gnome-keyring on demand.
const BARE_BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A private session bus with gnome-keyring on it.
pub struct SecretService {
    child: Child,
    stdin: Option<ChildStdin>,
    address: String,
    runtime_dir: PathBuf,
    data_home: PathBuf,
    home: PathBuf,
}

impl SecretService {
    /// Starts a bus and the keyring daemon for `sandbox`.
    pub fn start(sandbox: &Sandbox, keyring: Keyring) -> SecretService {
        let runtime_dir = sandbox.dir.path().join("run");
        // The daemon's control socket lives here; it must be private.
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&runtime_dir).expect("runtime dir");
        let data_home = sandbox.home().join(".local").join("share");
        let start_daemon = match keyring {
            Keyring::Unlocked => {
                format!(
                    "printf %s '{KEYRING_PASSWORD}' | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
                )
            }
            Keyring::Locked => "gnome-keyring-daemon --start --components=secrets >/dev/null".to_string(),
            Keyring::Absent => "true".to_string(),
        };
        let script =
            format!("{start_daemon} || exit 1; printf '%s\\n' \"$DBUS_SESSION_BUS_ADDRESS\"; exec cat >/dev/null");
        let mut command = Command::new("dbus-run-session");
        if keyring == Keyring::Absent {
            let config = sandbox.dir.path().join("bare-bus.conf");
            std::fs::write(&config, BARE_BUS_CONFIG).expect("writing the bus config");
            command.arg(format!("--config-file={}", config.display()));
        }
        command.args(["--", "sh", "-c", &script]);
        let mut child = isolate(&mut command, &runtime_dir, &data_home, &sandbox.home())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("running dbus-run-session (install it with scripts/install-test-deps)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut address = String::new();
        BufReader::new(stdout).read_line(&mut address).expect("reading the bus address");
        let address = address.trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-run-session with gnome-keyring did not start (is gnome-keyring installed? run \
             scripts/install-test-deps); it printed {address:?}"
        );
        let stdin = child.stdin.take();
        SecretService { child, stdin, address, runtime_dir, data_home, home: sandbox.home() }
    }

    /// Gives `command` this session's bus and keyring directories.
    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        isolate(command, &self.runtime_dir, &self.data_home, &self.home).env("DBUS_SESSION_BUS_ADDRESS", &self.address)
    }

    /// Gives this process the session's bus and keyring directories, for
    /// tests that drive the core in-process.
    ///
    /// # Safety
    /// No other thread may read or write the environment meanwhile.
    pub unsafe fn apply_to_this_process(&self) {
        let set = [
            ("HOME", self.home.as_os_str()),
            ("XDG_RUNTIME_DIR", self.runtime_dir.as_os_str()),
            ("XDG_DATA_HOME", self.data_home.as_os_str()),
            ("DBUS_SESSION_BUS_ADDRESS", std::ffi::OsStr::new(&self.address)),
        ];
        // SAFETY: the caller guarantees no other thread uses the environment.
        unsafe {
            for (name, value) in set {
                std::env::set_var(name, value);
            }
            std::env::set_var("XDG_CONFIG_HOME", self.home.join(".config"));
            for name in ["DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL"] {
                std::env::remove_var(name);
            }
        }
    }

    /// `secret-tool lookup service gatehouse username NAME`: the secret
    /// stored under `name`, if any.
    pub fn lookup(&self, name: &str) -> Option<String> {
        let output = self.secret_tool(&["lookup", "service", "gatehouse", "username", name]);
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `secret-tool search --all` for these attributes: every matching item
    /// with its label, secret and attributes (which secret-tool prints on
    /// stderr), or nothing.
    pub fn search(&self, attributes: &[&str]) -> String {
        let mut args = vec!["search", "--all"];
        args.extend_from_slice(attributes);
        let output = self.secret_tool(&args);
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    }

    fn secret_tool(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new("secret-tool");
        command.args(args);
        self.apply(&mut command)
            .stdin(Stdio::null())
            .output()
            .expect("running secret-tool (install libsecret-tools with scripts/install-test-deps)")
    }
}

/// The environment a keyring daemon and its clients share. No display: a
/// keyring prompt must fail, not wait for a click.
fn isolate<'c>(
    command: &'c mut Command,
    runtime_dir: &std::path::Path,
    data_home: &std::path::Path,
    home: &std::path::Path,
) -> &'c mut Command {
    command
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .env("XDG_DATA_HOME", data_home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("GNOME_KEYRING_CONTROL")
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // Closing the shell's stdin ends the session (see the module doc).
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
