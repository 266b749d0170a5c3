//! The supervisor with real processes: the real `gatehouse` binary as the
//! gateway, a real loopback upstream behind it, and real Claude Code
//! settings files in temporary directories.
//!
//! Every test has its own `GATEHOUSE_HOME`, port and Claude directory, so
//! they run in parallel. Nothing waits a fixed time: each step polls for
//! the expected state with a generous deadline and, on failure, prints the
//! state and the gateway's log.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse::app_state::{ClaudeTarget, SuspendReason};
use gatehouse::gateway::runner::RuntimeInfo;
use gatehouse::gateway_client;
use gatehouse::supervisor::{GatewayState, Supervisor, SupervisorError, SupervisorEvent, SupervisorOptions, detached};
use tempfile::TempDir;

const DEADLINE: Duration = Duration::from_secs(60);
const GATEHOUSE: &str = env!("CARGO_BIN_EXE_gatehouse");

/// A Gatehouse home with a config that runs the real binary on a free port.
struct Home {
    dir: TempDir,
    port: u16,
}

impl Home {
    fn new(extra_config: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let upstream = upstream();
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "[gateway]\nport = {port}\n\n[anthropic]\nbase_url = \"http://127.0.0.1:{upstream}\"\n\n\
                 [supervisor]\ngatehouse_bin = \"{GATEHOUSE}\"\nrestart_delay_ms = 50\n{extra_config}"
            ),
        )
        .unwrap();
        Home { dir, port }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn options(&self) -> SupervisorOptions {
        let mut options = SupervisorOptions::under(self.path());
        // Every process a supervisor starts (gateways, a headless
        // supervisor) finds the same files, the login entry included,
        // without touching the real home.
        for (name, value) in self.env() {
            if name != "GATEHOUSE_HOME" {
                options.env.push((name.into(), value.into()));
            }
        }
        options.autostart_dir = Some(self.path().join("home/.config/autostart"));
        // Never look at the real user's Claude Code settings from a test.
        options.claude_code.clear();
        options
    }

    /// The environment a `gatehouse` process needs to find this home.
    fn env(&self) -> Vec<(String, PathBuf)> {
        vec![
            ("GATEHOUSE_HOME".into(), self.path().to_path_buf()),
            ("CLAUDE_CONFIG_DIR".into(), self.path().join("claude")),
            ("HOME".into(), self.path().join("home")),
            ("XDG_CONFIG_HOME".into(), self.path().join("home/.config")),
        ]
    }

    fn supervisor(&self) -> Supervisor {
        Supervisor::new(self.options()).unwrap()
    }

    fn paths(&self) -> gatehouse::paths::Paths {
        gatehouse::paths::Paths::under(self.path())
    }

    /// Starts `gatehouse gateway run` the way an earlier run of the app
    /// would have left it: not a child of any supervisor.
    fn orphan(&self, port: u16) -> Child {
        let child = Command::new(GATEHOUSE)
            .args(["gateway", "run", "--port", &port.to_string()])
            .env("GATEHOUSE_HOME", self.path())
            .env("CLAUDE_CONFIG_DIR", self.path().join("claude"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        poll("the orphan gateway to be ready", || {
            RuntimeInfo::read(&self.paths())
                .filter(|info| info.pid == pid && gateway_client::health(&info.base_url).is_ok())
        });
        child
    }
}

/// A port for a gateway to listen on, below Linux's ephemeral range
/// (32768–60999). Ports from `bind(0)` come from that range, so a port
/// picked there and released could be handed to another test's listener
/// (an upstream, a held port) before the gateway binds it.
fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        // RandomState is seeded per instance: a random number without a crate.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let port = 20_000 + (random % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A stand-in Anthropic API on loopback: answers every request with a
/// fixed model list.
fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let body = r#"{"data":[{"id":"claude-from-upstream"}],"has_more":false}"#;
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// `GET /v1/models` through the gateway, as a client with a gateway key.
fn proxied_request(base_url: &str, key: &str) -> String {
    let address = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET /v1/models HTTP/1.1\r\nhost: {address}\r\nx-gatehouse-key: {key}\r\nx-api-key: sk-test\r\n\
         anthropic-version: 2023-06-01\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Polls `check` until it returns something, or fails the test after [`DEADLINE`].
fn poll<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a state, and on a timeout shows the last state and the log.
fn wait_for<T>(supervisor: &Supervisor, what: &str, mut check: impl FnMut(&GatewayState) -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        let state = supervisor.state();
        if let Some(value) = check(&state) {
            return value;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}; state: {state:?}\nlog:\n{}",
            supervisor.log_tail(60).join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn running(supervisor: &Supervisor) -> (String, u32, bool) {
    wait_for(supervisor, "the gateway to run", |state| match state {
        GatewayState::Running { base_url, pid, adopted } => Some((base_url.clone(), *pid, *adopted)),
        _ => None,
    })
}

fn kill9(pid: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is a gateway this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by its parent) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

fn received(receiver: &mut tokio::sync::broadcast::Receiver<SupervisorEvent>) -> Vec<SupervisorEvent> {
    std::iter::from_fn(|| receiver.try_recv().ok()).collect()
}

/// Waits for an event that `check` accepts, keeping every event seen.
fn wait_for_event(
    receiver: &mut tokio::sync::broadcast::Receiver<SupervisorEvent>,
    seen: &mut Vec<SupervisorEvent>,
    what: &str,
    check: impl Fn(&SupervisorEvent) -> bool,
) {
    let start = Instant::now();
    loop {
        seen.extend(received(receiver));
        if seen.iter().any(&check) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}; events: {seen:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn supervisor_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Supervisor>();
}

#[test]
fn kill_9_is_followed_by_a_restart_and_requests_succeed_again() {
    let home = Home::new("");
    let key = gatehouse::auth::gateway_keys::issue(&home.paths().config_file(), "test", false).unwrap();
    let supervisor = home.supervisor();
    let mut subscription = supervisor.subscribe();
    supervisor.start().unwrap();
    let (base_url, pid, adopted) = running(&supervisor);
    assert_eq!(base_url, format!("http://127.0.0.1:{}", home.port));
    assert!(!adopted);
    let response = proxied_request(&base_url, &key);
    assert!(response.starts_with("HTTP/1.1 200") && response.contains("claude-from-upstream"), "{response}");

    kill9(pid);
    let (base_url, new_pid) = wait_for(&supervisor, "a restarted gateway", |state| match state {
        GatewayState::Running { base_url, pid: new_pid, .. } if *new_pid != pid => Some((base_url.clone(), *new_pid)),
        _ => None,
    });
    gateway_client::health(&base_url).unwrap();
    let response = proxied_request(&base_url, &key);
    assert!(response.starts_with("HTTP/1.1 200") && response.contains("claude-from-upstream"), "{response}");
    assert_eq!(RuntimeInfo::read(&home.paths()).unwrap().pid, new_pid);

    let events = received(&mut subscription);
    assert!(
        events.iter().any(|e| matches!(e, SupervisorEvent::Crashed { error, attempt: 1, .. }
            if error.contains(&format!("pid {pid}")) && error.contains("SIGKILL"))),
        "{events:?}"
    );
    let log = supervisor.log_tail(500).join("\n");
    assert!(log.contains("restarting in"), "{log}");
    supervisor.shutdown_for_quit(false).unwrap();
    assert!(!alive(new_pid));
}

#[test]
fn a_gateway_that_stops_answering_is_shown_unhealthy_then_replaced() {
    let home = Home::new("health_timeout_secs = 2\n");
    let supervisor = home.supervisor();
    supervisor.start().unwrap();
    let (_, pid, _) = running(&supervisor);
    // SIGSTOP: the process is alive and its socket accepts connections, but nothing answers.
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is the gateway this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) }, 0);
    wait_for(&supervisor, "the Unhealthy state", |state| match state {
        GatewayState::Unhealthy { pid: unhealthy, .. } => (*unhealthy == pid).then_some(()),
        _ => None,
    });
    let new_pid = wait_for(&supervisor, "a replacement gateway", |state| match state {
        GatewayState::Running { pid: new_pid, .. } if *new_pid != pid => Some(*new_pid),
        _ => None,
    });
    assert!(!alive(pid));
    let log = supervisor.log_tail(100).join("\n");
    assert!(
        log.contains(&format!("the gateway (pid {pid}) stopped answering /health for 2 s and was killed")),
        "{log}"
    );
    supervisor.shutdown_for_quit(false).unwrap();
    assert!(!alive(new_pid));
}

#[test]
fn a_port_held_by_another_process_is_an_error_naming_it() {
    let home = Home::new("");
    let holder = TcpListener::bind(("127.0.0.1", home.port)).unwrap();
    let supervisor = home.supervisor();
    let error = supervisor.start().unwrap_err();
    let me = std::process::id();
    let SupervisorError::PortInUse { port, holder_pid, .. } = &error else { panic!("{error:?}") };
    assert_eq!((*port, *holder_pid), (home.port, me));
    let message = error.to_string();
    // The test binary is `supervisor-<hash>`: its name and pid are in the message.
    assert!(message.contains(&format!("pid {me}")) && message.contains("supervisor"), "{message}");
    assert!(message.contains("config.toml"), "{message}");
    match supervisor.state() {
        GatewayState::Failed { reason, .. } => assert_eq!(reason, message),
        state => panic!("{state:?}"),
    }
    drop(holder);
}

#[test]
fn a_crash_loop_ends_in_the_failed_state_with_the_last_lines() {
    let home = Home::new("");
    let script = home.path().join("crashing-gateway");
    std::fs::write(&script, "#!/bin/sh\necho \"fatal: simulated startup failure ($*)\" >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    let config = config.replace(GATEHOUSE, &script.display().to_string()) + "crash_limit = 3\n";
    std::fs::write(home.path().join("config.toml"), config).unwrap();

    let supervisor = home.supervisor();
    let mut subscription = supervisor.subscribe();
    supervisor.start().unwrap();
    let (reason, last_lines) = wait_for(&supervisor, "the Failed state", |state| match state {
        GatewayState::Failed { reason, last_lines } => Some((reason.clone(), last_lines.clone())),
        _ => None,
    });
    assert!(reason.contains("crashed 3 times") && reason.contains("exited with status 3"), "{reason}");
    let lines = last_lines.join("\n");
    assert!(lines.contains(&format!("fatal: simulated startup failure (gateway run --port {})", home.port)), "{lines}");
    let events = received(&mut subscription);
    assert_eq!(events.iter().filter(|e| matches!(e, SupervisorEvent::Crashed { .. })).count(), 2, "{events:?}");
    assert!(events.iter().any(|e| matches!(e, SupervisorEvent::CrashLoop { reason: r, .. } if *r == reason)));
    // It stays down until the user asks again.
    assert!(matches!(supervisor.state(), GatewayState::Failed { .. }));
}

#[test]
fn an_orphan_from_an_earlier_run_is_adopted_not_duplicated() {
    let home = Home::new("");
    let mut orphan = home.orphan(home.port);
    let supervisor = home.supervisor();
    supervisor.start().unwrap();
    // Adoption happens during `start`: no second gateway is ever spawned.
    let (base_url, pid, adopted) = running(&supervisor);
    assert_eq!((pid, adopted), (orphan.id(), true));
    assert_eq!(RuntimeInfo::read(&home.paths()).unwrap().pid, orphan.id());
    assert!(supervisor.log_tail(50).join("\n").contains("adopted the gateway"));

    // An adopted gateway is watched through its pid: its death is noticed
    // and the supervisor starts its own.
    kill9(orphan.id());
    orphan.wait().unwrap();
    let (new_url, new_pid, adopted) = wait_for(&supervisor, "a gateway of the supervisor's own", |state| match state {
        GatewayState::Running { base_url, pid, adopted } if *pid != orphan.id() => {
            Some((base_url.clone(), *pid, *adopted))
        }
        _ => None,
    });
    assert_eq!((new_url, adopted), (base_url, false));
    supervisor.shutdown_for_quit(false).unwrap();
    assert!(!alive(new_pid));
}

#[test]
fn an_orphan_on_another_port_is_replaced() {
    let home = Home::new("");
    let mut orphan = home.orphan(free_port());
    let supervisor = home.supervisor();
    supervisor.start().unwrap();
    let (base_url, pid, adopted) = running(&supervisor);
    assert_ne!(pid, orphan.id());
    assert!(!adopted);
    assert_eq!(base_url, format!("http://127.0.0.1:{}", home.port));
    // It was asked to stop (SIGTERM) and did: a clean exit.
    assert!(orphan.wait().unwrap().success());
    assert!(supervisor.log_tail(50).join("\n").contains("replacing the gateway left by an earlier run"));
    supervisor.shutdown_for_quit(false).unwrap();
}

#[test]
fn quit_leaves_alone_a_gateway_of_another_home_that_its_stale_file_names() {
    let theirs = Home::new("");
    let mut their_gateway = theirs.orphan(theirs.port);
    // Ours names their gateway's pid (a stale file after a reboot, a copied
    // home), at an address where nothing listens.
    let ours = Home::new("");
    let mut info = RuntimeInfo::read(&theirs.paths()).unwrap();
    info.address = format!("127.0.0.1:{}", ours.port);
    info.base_url = format!("http://{}", info.address);
    let file = ours.paths().gateway_runtime_file();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, serde_json::to_string(&info).unwrap()).unwrap();

    let quit = Command::new(GATEHOUSE).arg("quit").envs(ours.env()).output().unwrap();
    assert!(quit.status.success(), "{}", String::from_utf8_lossy(&quit.stderr));
    let said = String::from_utf8_lossy(&quit.stdout);
    assert!(!said.contains("nobody looked after"), "{said}");
    assert!(alive(their_gateway.id()), "their gateway still runs");
    assert!(gateway_client::health(&format!("http://127.0.0.1:{}", theirs.port)).is_ok());

    // Their own quit stops it.
    let quit = Command::new(GATEHOUSE).arg("quit").envs(theirs.env()).output().unwrap();
    assert!(String::from_utf8_lossy(&quit.stdout).contains("nobody looked after"));
    assert!(their_gateway.wait().unwrap().success());
}

#[test]
fn stop_is_graceful() {
    let home = Home::new("");
    let supervisor = home.supervisor();
    supervisor.start().unwrap();
    let (_, pid, _) = running(&supervisor);
    supervisor.stop().unwrap();
    assert_eq!(supervisor.state(), GatewayState::Stopped);
    assert!(!alive(pid));
    // Only a gateway that shut down cleanly removes its runtime file.
    assert_eq!(RuntimeInfo::read(&home.paths()), None);
    poll("the gateway's own shutdown lines in the log", || {
        let log = supervisor.log_tail(100).join("\n");
        (log.contains("SIGTERM received") && log.contains("gateway stopped")).then_some(())
    });
    assert_eq!(supervisor.app_state().proxy_enabled, Some(false));
}

/// A project whose `.claude/settings.local.json` the user wrote.
fn project_with_settings() -> (TempDir, ClaudeTarget, PathBuf, &'static str) {
    let project = tempfile::tempdir().unwrap();
    let file = project.path().join(".claude").join("settings.local.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let original = "{\n    \"permissions\": {\"allow\": [\"Bash(cargo test:*)\"]},\n    \"model\": \"opus\"\n}\n";
    std::fs::write(&file, original).unwrap();
    let target = ClaudeTarget::Local { project_dir: project.path().to_path_buf() };
    (project, target, file, original)
}

fn points_at(file: &Path, base_url: &str) -> bool {
    let text = std::fs::read_to_string(file).unwrap();
    text.contains(&format!("\"ANTHROPIC_BASE_URL\": \"{base_url}\"")) && text.contains("x-gatehouse-key: ghk_")
}

#[test]
fn fail_open_unconfigures_and_then_reconfigures_a_real_settings_file() {
    let home = Home::new("fail_open_after_secs = 1\ncrash_limit = 1\n");
    let (_project, target, file, original) = project_with_settings();
    let supervisor = home.supervisor();
    let mut subscription = supervisor.subscribe();
    supervisor.start().unwrap();
    let (base_url, pid, _) = running(&supervisor);
    supervisor.configure_claude_code(target.clone()).unwrap();
    assert!(points_at(&file, &base_url));

    // The gateway dies and, with restarts off, stays down.
    kill9(pid);
    wait_for(&supervisor, "the Failed state", |state| matches!(state, GatewayState::Failed { .. }).then_some(()));
    // The app state is published after the file is changed.
    poll("fail-open", || supervisor.fail_open_active().then_some(()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    let suspended = supervisor.app_state().suspended;
    assert_eq!((suspended.len(), suspended[0].reason, &suspended[0].target), (1, SuspendReason::Unhealthy, &target));

    // Healthy again: the gateway goes back in, with a fresh key.
    supervisor.start().unwrap();
    let (base_url, _, _) = running(&supervisor);
    poll("the gateway to be put back", || points_at(&file, &base_url).then_some(()));
    poll("the app state to forget the suspension", || (!supervisor.fail_open_active()).then_some(()));

    let mut events = Vec::new();
    wait_for_event(&mut subscription, &mut events, "FailOpenApplied", |e| {
        matches!(e, SupervisorEvent::FailOpenApplied { reason: SuspendReason::Unhealthy, settings_files }
            if settings_files == std::slice::from_ref(&file))
    });
    wait_for_event(&mut subscription, &mut events, "FailOpenReverted", |e| {
        matches!(e, SupervisorEvent::FailOpenReverted { reason: SuspendReason::Unhealthy, settings_files }
                if settings_files == std::slice::from_ref(&file))
    });

    // A removal by the user is final: fail-open again, then the user removes
    // it, and recovery does not bring it back.
    let (_, pid, _) = running(&supervisor);
    kill9(pid);
    poll("fail-open again", || supervisor.fail_open_active().then_some(()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    supervisor.remove_claude_code(target).unwrap();
    assert!(supervisor.app_state().suspended.is_empty());
    supervisor.start().unwrap();
    running(&supervisor);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    supervisor.shutdown_for_quit(false).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}

#[test]
fn fail_open_racing_cli_configures_never_locks_claude_code_out() {
    let home = Home::new("fail_open_after_secs = 1\ncrash_limit = 1\n");
    let (project, target, file, original) = project_with_settings();
    let supervisor = home.supervisor();
    let mut subscription = supervisor.subscribe();
    supervisor.start().unwrap();
    let (base_url, _, _) = running(&supervisor);
    supervisor.configure_claude_code(target.clone()).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    /// Stops the CLI loop however the test ends, so a failure is reported
    /// instead of waiting forever for the loop.
    struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    std::thread::scope(|scope| {
        let stop = Stop(&done);
        // The user re-running `configure` from a terminal, again and again.
        let cli = scope.spawn(|| {
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || runs < 3 {
                let output = Command::new(GATEHOUSE)
                    .args(["claude", "configure", "--scope", "local", "--base-url", &base_url])
                    .env("GATEHOUSE_HOME", home.path())
                    .env("CLAUDE_CONFIG_DIR", home.path().join("claude"))
                    .current_dir(project.path())
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
                runs += 1;
            }
        });
        // Meanwhile the gateway dies twice: fail-open takes Claude Code off
        // it, and puts it back once it runs again.
        for _ in 0..2 {
            let (_, pid, _) = running(&supervisor);
            let mut events = Vec::new();
            kill9(pid);
            wait_for_event(&mut subscription, &mut events, "FailOpenApplied", |e| {
                matches!(e, SupervisorEvent::FailOpenApplied { .. })
            });
            supervisor.start().unwrap();
            running(&supervisor);
        }
        drop(stop);
        cli.join().unwrap();
    });

    let (base_url, _, _) = running(&supervisor);
    poll("Claude Code back on the gateway", || points_at(&file, &base_url).then_some(()));
    let text = std::fs::read_to_string(&file).unwrap();
    let key = text.split("x-gatehouse-key: ").nth(1).unwrap().split('"').next().unwrap().to_string();
    let valid: Vec<String> = gatehouse::config::Config::load(&home.path().join("config.toml"))
        .unwrap()
        .keys
        .into_iter()
        .filter(|k| k.name == "claude-code")
        .map(|k| k.sha256)
        .collect();
    assert_eq!(
        valid,
        vec![gatehouse::auth::gateway_keys::hash(&key)],
        "the key Claude Code holds, and only it, is valid"
    );
    supervisor.remove_claude_code(target).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    supervisor.shutdown_for_quit(false).unwrap();
}

#[test]
fn quitting_with_keep_running_leaves_the_gateway_for_the_next_launch_to_adopt() {
    let home = Home::new("");
    let (_project, target, file, original) = project_with_settings();

    let first = home.supervisor();
    first.resume_last_state().unwrap(); // the first launch starts the proxy
    let (base_url, pid, _) = running(&first);
    first.configure_claude_code(target.clone()).unwrap();
    first.set_keep_gateway_after_quit(true).unwrap();
    first.shutdown_for_quit(first.app_state().keep_gateway_after_quit).unwrap();
    assert_eq!(first.start(), Err(SupervisorError::Gone));
    drop(first);
    gateway_client::health(&base_url).unwrap();
    assert!(points_at(&file, &base_url), "Claude Code stays on a gateway that keeps running");

    let second = home.supervisor();
    assert!(second.app_state().keep_gateway_after_quit);
    second.resume_last_state().unwrap();
    assert_eq!(running(&second), (base_url.clone(), pid, true));

    // A normal quit restores Claude Code before stopping the gateway…
    second.shutdown_for_quit(false).unwrap();
    assert!(!alive(pid));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    drop(second);

    // …and the next launch puts it back once the gateway runs.
    let third = home.supervisor();
    assert_eq!(third.app_state().suspended[0].reason, SuspendReason::Quit);
    third.resume_last_state().unwrap();
    let (base_url, _, adopted) = running(&third);
    assert!(!adopted);
    poll("Claude Code to be put back on the gateway", || points_at(&file, &base_url).then_some(()));
    third.remove_claude_code(target).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}

#[test]
fn while_the_app_is_closed_a_headless_supervisor_keeps_the_gateway_and_claude_code_safe() {
    let home = Home::new("fail_open_after_secs = 1\nhealth_timeout_secs = 60\n");
    let (_project, target, file, original) = project_with_settings();
    let paths = home.paths();
    let healthy_gateway = || RuntimeInfo::read(&paths).filter(|info| gateway_client::health(&info.base_url).is_ok());

    // The app quits with "keep the gateway running" and hands it over.
    let app = home.supervisor();
    app.resume_last_state().unwrap();
    let (base_url, first_pid, _) = running(&app);
    app.configure_claude_code(target.clone()).unwrap();
    app.set_keep_gateway_after_quit(true).unwrap();
    app.shutdown_for_quit(true).unwrap();
    drop(app);
    let headless = detached::hand_over(&home.options()).unwrap();
    poll("the headless supervisor to adopt the gateway", || {
        let log = std::fs::read_to_string(home.path().join("logs").join("gateway.log")).unwrap_or_default();
        log.lines()
            .any(|line| line.contains("adopted the gateway") && line.contains(&format!("(pid {first_pid},")))
            .then_some(())
    });

    // A crash is followed by a restart, on the same address.
    kill9(first_pid);
    let restarted = poll("the headless supervisor to restart the gateway", || {
        healthy_gateway().filter(|info| info.pid != first_pid)
    });
    assert_eq!(restarted.base_url, base_url);
    assert!(points_at(&file, &base_url));

    // A hung gateway is taken out of Claude Code's settings, and put back.
    signal(restarted.pid, libc::SIGSTOP);
    poll("fail-open while the app is closed", || (std::fs::read_to_string(&file).unwrap() == original).then_some(()));
    signal(restarted.pid, libc::SIGCONT);
    poll("the gateway to be put back", || points_at(&file, &base_url).then_some(()));

    // The app launches again: the headless supervisor lets go, and the app
    // adopts the same gateway. There are never two supervisors or gateways.
    let app = home.supervisor();
    assert!(!alive(headless), "the headless supervisor still runs after the app took the gateway back");
    assert!(alive(restarted.pid), "handing back leaves the gateway running");
    app.resume_last_state().unwrap();
    assert_eq!(running(&app), (base_url.clone(), restarted.pid, true));
    assert!(points_at(&file, &base_url));
    assert!(
        Command::new(GATEHOUSE).args(["gateway", "supervise"]).envs(home.env()).output().unwrap().status.code()
            == Some(1),
        "a second supervisor started while the app looks after the gateway"
    );

    // An ordinary quit, at last, restores Claude Code and stops the gateway.
    app.shutdown_for_quit(false).unwrap();
    assert!(!alive(restarted.pid));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is a gateway this test runs.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

/// The pids of `gatehouse gateway supervise` processes for this home.
fn headless_supervisors(home: &Home) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let home_var = format!("GATEHOUSE_HOME={}", home.path().display());
        if alive(pid)
            && cmdline.split(|b| *b == 0).any(|arg| arg == b"supervise")
            && environ.split(|b| *b == 0).any(|var| var == home_var.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids
}

/// Starts `gatehouse gateway supervise ARGS` for this home, as a real
/// process; what it prints goes to `logs/supervise-test.log`.
fn supervise(home: &Home, args: &[&str]) -> Child {
    std::fs::create_dir_all(home.path().join("logs")).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.path().join("logs/supervise-test.log"))
        .unwrap();
    Command::new(GATEHOUSE)
        .args(["gateway", "supervise"])
        .args(args)
        .envs(home.env())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// [`poll`], showing the supervisors' logs if it times out.
fn poll_or_show_logs<T>(home: &Home, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        if start.elapsed() > DEADLINE {
            let read = |name: &str| std::fs::read_to_string(home.path().join("logs").join(name)).unwrap_or_default();
            panic!(
                "timed out waiting for {what}\n--- gateway.log\n{}\n--- supervise-test.log\n{}\n--- supervise.log\n{}",
                read("gateway.log"),
                read("supervise-test.log"),
                read("supervise.log")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_gateway_whose_app_vanished_is_looked_after_and_a_reboot_strands_nothing() {
    let home = Home::new("fail_open_after_secs = 1\n");
    let paths = home.paths();
    let healthy_gateway = || RuntimeInfo::read(&paths).filter(|info| gateway_client::health(&info.base_url).is_ok());
    let user_settings = home.path().join("claude").join("settings.json");
    std::fs::create_dir_all(home.path().join("claude")).unwrap();
    let original = "{\n  \"model\": \"opus\"\n}\n";
    std::fs::write(&user_settings, original).unwrap();
    let entry = home.path().join("home/.config/autostart/gatehouse-gateway.desktop");

    // A supervisor as a real process (the headless one; the app holds the
    // same lock the same way), with Claude Code's user settings on the gateway.
    let mut app = supervise(&home, &[]);
    let first = poll("the gateway to start", healthy_gateway);
    let configure = Command::new(GATEHOUSE).args(["claude", "configure"]).envs(home.env()).output().unwrap();
    assert!(configure.status.success(), "{}", String::from_utf8_lossy(&configure.stderr));
    assert!(points_at(&user_settings, &first.base_url));

    // It vanishes without a word (SIGKILL). The gateway still answers, and
    // within seconds a headless supervisor adopts it.
    app.kill().unwrap();
    app.wait().unwrap();
    gateway_client::health(&first.base_url).unwrap();
    let headless = poll_or_show_logs(&home, "a headless supervisor to take over", || {
        let log = std::fs::read_to_string(home.path().join("logs").join("gateway.log")).unwrap_or_default();
        let adopted = log.lines().filter(|l| l.contains("adopted the gateway")).count() == 1;
        let pids = headless_supervisors(&home);
        (adopted && pids.len() == 1).then(|| pids[0])
    });
    assert_ne!(headless, app.id());
    // From now on it is looked after: a crash is followed by a restart.
    kill9(first.pid);
    let restarted = poll_or_show_logs(&home, "the gateway to be restarted", || {
        healthy_gateway().filter(|info| info.pid != first.pid)
    });
    assert_eq!(restarted.base_url, first.base_url);
    assert!(points_at(&user_settings, &first.base_url));
    // While Claude Code points at the gateway, a login entry brings it back after a reboot.
    let text = std::fs::read_to_string(&entry).expect("no login entry while Claude Code points at the gateway");
    assert!(text.contains(&format!("{GATEHOUSE} gateway supervise --at-login")), "{text}");

    // A "reboot": every process is gone at once, with no chance to clean up.
    kill9(headless);
    kill9(restarted.pid);
    poll("everything to be gone", || (!alive(headless) && !alive(restarted.pid)).then_some(()));
    assert!(points_at(&user_settings, &first.base_url), "nothing restored settings.json on SIGKILL");
    // At the next login the entry's command brings the gateway back.
    let mut at_login = supervise(&home, &["--at-login"]);
    let back = poll_or_show_logs(&home, "the gateway to be back after the login", healthy_gateway);
    assert_eq!(back.base_url, first.base_url);
    assert!(points_at(&user_settings, &first.base_url));
    // A second one at login (the app's own "Start at login" racing it) leaves quietly.
    let second = supervise(&home, &["--at-login"]).wait().unwrap();
    assert!(second.success());

    // SIGTERM (a logout, a shutdown): Claude Code is restored and the gateway
    // stopped, so nothing is left pointing at a gateway about to die; the
    // entry goes, as nothing needs it.
    signal(at_login.id(), libc::SIGTERM);
    assert!(at_login.wait().unwrap().success());
    assert_eq!(std::fs::read_to_string(&user_settings).unwrap(), original);
    assert!(!alive(back.pid));
    assert!(!entry.exists(), "the login entry outlived Claude Code's use of the gateway");
    // And a login now finds nothing to do.
    assert!(supervise(&home, &["--at-login"]).wait().unwrap().success());
    assert!(healthy_gateway().is_none());
}

/// `gatehouse quit --forget-login` as this home's user, as removing the
/// package runs it; its output, for a failure's message.
fn quit(home: &Home) -> String {
    let output = Command::new(GATEHOUSE).args(["quit", "--forget-login"]).envs(home.env()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "gatehouse quit failed: {text}");
    text
}

#[test]
fn quit_ends_a_gateway_kept_running_after_quit_and_restores_claude_code() {
    let home = Home::new("");
    let (_project, target, file, original) = project_with_settings();
    let autostart = home.path().join("home/.config/autostart");
    // As it was before Claude Code was configured: quitting takes the
    // gateway key out again, as the app's "Quit" does.
    let config = std::fs::read(home.path().join("config.toml")).unwrap();

    // The app quit with "keep the gateway running": a headless supervisor
    // looks after the gateway, and Claude Code points at it.
    let app = home.supervisor();
    app.resume_last_state().unwrap();
    let (base_url, gateway, _) = running(&app);
    app.configure_claude_code(target).unwrap();
    app.set_keep_gateway_after_quit(true).unwrap();
    app.shutdown_for_quit(true).unwrap();
    drop(app);
    let headless = detached::hand_over(&home.options()).unwrap();
    poll_or_show_logs(&home, "the headless supervisor to take the lock", || {
        std::fs::read_to_string(home.path().join("state/supervisor.lock"))
            .is_ok_and(|text| text.trim() == headless.to_string())
            .then_some(())
    });
    let login_entry = autostart.join("gatehouse-gateway.desktop");
    assert!(login_entry.exists(), "no login entry while Claude Code points at the gateway");
    let start_at_login = autostart.join("Gatehouse.desktop");
    gatehouse::desktop::start_at_login::set(&autostart, true, Path::new("/usr/bin/gatehouse-desktop")).unwrap();

    let said = quit(&home);
    assert!(!alive(headless), "the headless supervisor still runs: {said}");
    assert!(!alive(gateway), "the gateway still runs: {said}");
    assert!(gateway_client::health(&base_url).is_err());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original, "Claude Code's settings were not restored: {said}");
    assert!(!login_entry.exists() && !start_at_login.exists(), "an autostart entry is left: {said}");
    assert_eq!(std::fs::read(home.path().join("config.toml")).unwrap(), config, "the config changed");
    assert!(home.path().join("state/app.json").exists(), "the app's state was removed");
    assert!(headless_supervisors(&home).is_empty());

    // Nothing left to quit: it says so and succeeds.
    quit(&home);
}

#[test]
fn quit_stops_a_gateway_nobody_looks_after() {
    let home = Home::new("");
    let mut orphan = home.orphan(home.port);
    let base_url = format!("http://127.0.0.1:{}", home.port);
    gateway_client::health(&base_url).unwrap();
    let said = quit(&home);
    assert!(said.contains(&format!("stopped the gateway (pid {})", orphan.id())), "{said}");
    assert!(gateway_client::health(&base_url).is_err(), "the gateway still answers: {said}");
    orphan.wait().unwrap();
}
