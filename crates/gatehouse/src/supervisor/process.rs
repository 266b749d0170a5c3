//! The gateway process: starting it, watching it, stopping it, and telling
//! whether some pid is a Gatehouse gateway.
//!
//! A gateway is either the supervisor's own child or one *adopted* from an
//! earlier run of the app (left running on quit, or orphaned by a crash of
//! the app). An adopted gateway is not our child, so there is no exit status
//! to wait for: it is watched through its pid, and the pid is trusted only
//! while the process behind it has the start time it had when adopted, so a
//! recycled pid is never signalled.
//!
//! Children run in their own process group: a Ctrl-C in the terminal that
//! launched the app reaches the app, which then decides whether the gateway
//! stops, instead of killing the gateway behind its back.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

/// What the supervisor knows about a process, from sysinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The short process name, as `ps` shows it.
    pub name: String,
    /// The executable's path (or `argv[0]`). Not its arguments: another
    /// program's arguments may hold a secret, and this text reaches the UI
    /// and the log.
    pub program: String,
    /// Seconds since the epoch; with the pid, identifies the process.
    pub start_time: u64,
    /// Whether the command line is `gatehouse gateway run …`.
    pub is_gateway: bool,
    /// Whether it is `gatehouse gateway supervise …` (see [`super::detached`]).
    pub is_headless_supervisor: bool,
}

impl std::fmt::Display for ProcessInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` (pid {}", self.name, self.pid)?;
        if !self.program.is_empty() {
            write!(f, ", {}", self.program)?;
        }
        write!(f, ")")
    }
}

/// Looks a live process up; `None` once it has exited (zombies included,
/// since a zombie serves nothing).
pub fn inspect(pid: u32) -> Option<ProcessInfo> {
    let pid = Pid::from_u32(pid);
    let mut system = System::new();
    let refresh = ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always).with_exe(UpdateKind::Always);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, refresh);
    let process = system.process(pid)?;
    if matches!(process.status(), ProcessStatus::Zombie | ProcessStatus::Dead) {
        return None;
    }
    let program = process.exe().map(Path::to_path_buf).or_else(|| process.cmd().first().map(Into::into));
    Some(ProcessInfo {
        pid: pid.as_u32(),
        name: process.name().to_string_lossy().into_owned(),
        program: program.map(|p| p.display().to_string()).unwrap_or_default(),
        start_time: process.start_time(),
        is_gateway: is_gatehouse_command(process.cmd(), process.exe(), "run"),
        is_headless_supervisor: is_gatehouse_command(process.cmd(), process.exe(), "supervise"),
    })
}

/// Whether a command line is `gatehouse gateway <subcommand> …`, by the
/// program's file name (`gatehouse`, or `gatehouse (deleted)` after a
/// rebuild) and its first two arguments.
fn is_gatehouse_command(cmd: &[OsString], exe: Option<&Path>, subcommand: &str) -> bool {
    let is_gatehouse = |path: &Path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("gatehouse"));
    let program = exe.is_some_and(is_gatehouse) || cmd.first().is_some_and(|arg0| is_gatehouse(Path::new(arg0)));
    program
        && cmd.get(1).map(OsString::as_os_str) == Some(OsStr::new("gateway"))
        && cmd.get(2).is_some_and(|a| a == subcommand)
}

/// Starts `bin gateway run --port PORT` with its output going to `stdio`.
/// Secrets reach it only through `env`, never through its arguments, which
/// every user on the machine can read.
pub fn spawn_gateway(
    bin: &Path,
    port: u16,
    env: &[(OsString, OsString)],
    (stdout, stderr): (Stdio, Stdio),
) -> io::Result<Child> {
    Command::new(bin)
        .args(["gateway", "run", "--port", &port.to_string()])
        .envs(env.iter().map(|(k, v)| (k, v)))
        // It watches its supervisor, and calls another if this one vanishes.
        .env(super::watchdog::SUPERVISED_ENV, "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
}

/// A running gateway the supervisor is responsible for.
#[derive(Debug)]
pub enum Gateway {
    Child(Child),
    Adopted { pid: u32, start_time: u64 },
}

impl Gateway {
    pub fn pid(&self) -> u32 {
        match self {
            Gateway::Child(child) => child.id(),
            Gateway::Adopted { pid, .. } => *pid,
        }
    }

    pub fn is_adopted(&self) -> bool {
        matches!(self, Gateway::Adopted { .. })
    }

    /// `Some(how it ended)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self {
            Gateway::Child(child) => match child.try_wait() {
                Ok(Some(status)) => Some(describe_exit(status)),
                Ok(None) => None,
                Err(e) => Some(format!("could not be waited for ({e})")),
            },
            Gateway::Adopted { pid, start_time } => match inspect(*pid) {
                Some(info) if info.start_time == *start_time => None,
                _ => Some("exited (it was adopted, so its exit status is unknown)".to_string()),
            },
        }
    }

    /// Asks the gateway to stop (SIGTERM, which lets in-flight responses
    /// finish and the ledger commit), and kills it if it has not stopped
    /// within `timeout`. Returns how it ended.
    pub fn stop(&mut self, timeout: Duration) -> String {
        if let Some(ended) = self.exited() {
            return ended;
        }
        if let Err(e) = signal(self.pid(), libc::SIGTERM) {
            return format!("could not be signalled ({e})");
        }
        if let Some(ended) = self.wait_for_exit(timeout) {
            return ended;
        }
        match self.kill() {
            Some(ended) => format!("did not stop within {} s of SIGTERM and was killed: {ended}", timeout.as_secs()),
            None => format!("did not stop within {} s of SIGTERM, nor after SIGKILL", timeout.as_secs()),
        }
    }

    /// Kills the gateway at once (SIGKILL), for one that has stopped
    /// answering, and waits for it to be gone, so that its port is free
    /// and a child is reaped. `None` if it is somehow still there.
    pub fn kill(&mut self) -> Option<String> {
        if self.exited().is_none() {
            // It may exit between the check and the signal; nothing to do then.
            let _ = signal(self.pid(), libc::SIGKILL);
        }
        self.wait_for_exit(Duration::from_secs(5))
    }

    fn wait_for_exit(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(ended) = self.exited() {
                return Some(ended);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// Stops a gateway that is not ours to wait for (an orphan being replaced),
/// after checking that the pid is still that gateway.
pub fn stop_orphan(info: &ProcessInfo, timeout: Duration) -> String {
    Gateway::Adopted { pid: info.pid, start_time: info.start_time }.stop(timeout)
}

fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}{}", signal_name(signal)),
        (None, None) => format!("ended ({status})"),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGINT => " (SIGINT)",
        _ => "",
    }
}

/// Sends `signal` to the process `info` describes, if it still is that
/// process (same pid and start time); a process that has ended is fine.
pub fn signal_if_unchanged(info: &ProcessInfo, signal_number: libc::c_int) -> io::Result<()> {
    match inspect(info.pid) {
        Some(now) if now.start_time == info.start_time => signal(info.pid, signal_number),
        _ => Ok(()),
    }
}

fn signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    // SAFETY: kill(2) has no memory-safety preconditions. The pid is one we
    // spawned or verified (name, arguments, start time) just before.
    if unsafe { libc::kill(pid, signal) } == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn recognises_gateway_command_lines() {
        let is_gateway = |args: &[&str], exe| is_gatehouse_command(&cmd(args), exe, "run");
        assert!(is_gateway(&["/usr/bin/gatehouse", "gateway", "run", "--port", "7411"], None));
        assert!(is_gateway(&["gatehouse", "gateway", "run"], Some(Path::new("/t/gatehouse (deleted)"))));
        assert!(!is_gateway(&["/usr/bin/gatehouse", "status"], None));
        assert!(!is_gateway(&["/usr/bin/gatehouse", "gateway", "supervise"], None));
        assert!(!is_gateway(&["/usr/bin/python3", "gateway", "run"], None));
        assert!(!is_gateway(&[], None));
        assert!(is_gatehouse_command(&cmd(&["/usr/bin/gatehouse", "gateway", "supervise"]), None, "supervise"));
    }

    #[test]
    fn inspects_this_process_and_not_a_dead_one() {
        let me = inspect(std::process::id()).expect("this process is alive");
        assert!(!me.is_gateway);
        assert!(me.to_string().contains(&format!("pid {}", std::process::id())));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(inspect(pid), None);
    }

    #[test]
    fn stop_escalates_to_sigkill_for_a_process_that_ignores_sigterm() {
        let child =
            Command::new("sh").args(["-c", "trap '' TERM; echo ready; exec sleep 30"]).stdout(Stdio::piped()).spawn();
        let mut child = child.unwrap();
        let mut ready = [0; 6];
        io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut ready).unwrap();
        let ended = Gateway::Child(child).stop(Duration::from_millis(200));
        assert!(ended.contains("was killed: was killed by signal 9 (SIGKILL)"), "{ended}");
    }
}
