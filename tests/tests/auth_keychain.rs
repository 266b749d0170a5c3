//! `gatehouse auth list|add|remove|test` against a real Secret Service
//! (gnome-keyring on a private `dbus-run-session` bus, see
//! `gatehouse_e2e::secret_service`), loopback mocks of Anthropic and
//! OpenRouter, and the opt-in plain-file store.
//!
//! Each test proves where the secret went with `secret-tool` (a second,
//! independent Secret Service client) and that it went nowhere else: no file
//! under the sandbox holds its bytes, and neither does stderr at trace level.

use std::borrow::BorrowMut;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use gatehouse_e2e::claude_cli::claude_bin;
use gatehouse_e2e::harness::{Sandbox, files_containing, wait_for};
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use gatehouse_e2e::secret_service::{Keyring, SecretService};
use serde_json::json;

const ANTHROPIC_KEY: &str = "sk-ant-api03-FAKE-keychain-e2e-4c1d9e7f";
const OPENROUTER_KEY: &str = "sk-or-v1-FAKE-keychain-e2e-8b2a6d0c";
const BAD_KEY: &str = "sk-ant-api03-FAKE-revoked-key-55aa";

/// Exit codes of `gatehouse auth` (see the README).
const EXIT_REJECTED: i32 = 4;
const EXIT_UNREACHABLE: i32 = 5;
const EXIT_NO_KEYCHAIN: i32 = 6;

/// A `gatehouse` command in `sandbox`, on `service`'s bus when given, with
/// no `claude` on PATH and every log turned up to trace.
fn gatehouse(sandbox: &Sandbox, service: Option<&SecretService>, args: &[&str]) -> Command {
    let mut command = sandbox.gatehouse(args);
    command
        .env("PATH", "/usr/bin:/bin")
        .env("GATEHOUSE_LOG", "trace")
        .env("RUST_LOG", "trace")
        .env_remove("GATEHOUSE_CLAUDE_BIN")
        .env_remove("GATEHOUSE_ANTHROPIC_BASE_URL")
        .env_remove("GATEHOUSE_OPENROUTER_BASE_URL");
    match service {
        Some(service) => {
            service.apply(&mut command);
        }
        None => {
            // No bus anywhere: an address that leads nowhere and an empty runtime dir.
            let empty = sandbox.dir.path().join("no-bus");
            std::fs::create_dir_all(&empty).unwrap();
            command
                .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", empty.join("bus").display()))
                .env("XDG_RUNTIME_DIR", &empty);
        }
    }
    command
}

/// Runs a command with `input` on its stdin (a pipe, not a terminal).
fn run_with_stdin(mut command: impl BorrowMut<Command>, input: &str) -> Output {
    spawn_with_stdin(command.borrow_mut(), input).wait_with_output().expect("waiting for gatehouse")
}

fn spawn_with_stdin(command: &mut Command, input: &str) -> Child {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("running gatehouse");
    child.stdin.take().unwrap().write_all(input.as_bytes()).expect("writing the secret");
    child
}

fn run(mut command: impl BorrowMut<Command>) -> Output {
    command.borrow_mut().stdin(Stdio::null()).output().expect("running gatehouse")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the command succeeded and its stderr holds no secret; returns stdout.
fn ok(output: Output) -> String {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "gatehouse failed: {stdout}\n{stderr}");
    assert_no_secret(&stderr);
    stdout
}

/// Asserts the command exited with `code`; returns stderr.
fn fails_with(output: Output, code: i32) -> String {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(code), "stdout: {stdout}\nstderr: {stderr}");
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
    stderr
}

fn assert_no_secret(text: &str) {
    for secret in [ANTHROPIC_KEY, OPENROUTER_KEY, BAD_KEY] {
        assert!(!text.contains(secret), "a secret leaked into the output:\n{text}");
    }
}

/// No file under the sandbox (config, data, logs, the keyring's own files,
/// Claude Code's directory) holds any secret's bytes.
fn assert_in_no_file(sandbox: &Sandbox) {
    for secret in [ANTHROPIC_KEY, OPENROUTER_KEY, BAD_KEY] {
        let found = files_containing(sandbox.dir.path(), secret);
        assert!(found.is_empty(), "the secret is in {found:?}");
    }
}

#[test]
fn a_secret_goes_into_the_secret_service_and_nowhere_else() {
    let sandbox = Sandbox::new();
    let service = SecretService::start(&sandbox, Keyring::Unlocked);

    // One trailing newline (from `echo`) is trimmed; the name implies the provider.
    let added = ok(run_with_stdin(
        gatehouse(&sandbox, Some(&service), &["auth", "add", "anthropic"]),
        &format!("{ANTHROPIC_KEY}\n"),
    ));
    assert!(added.contains("Stored anthropic (anthropic) in the OS keychain"), "{added}");
    assert!(added.contains("\"keychain:anthropic\""), "{added}");
    let added = ok(run_with_stdin(
        gatehouse(&sandbox, Some(&service), &["auth", "add", "team", "--provider", "openrouter"]),
        OPENROUTER_KEY,
    ));
    assert!(added.contains("Stored team (openrouter)"), "{added}");

    // A second client of the same Secret Service sees exactly the secrets.
    assert_eq!(service.lookup("anthropic").as_deref(), Some(ANTHROPIC_KEY), "byte for byte, newline trimmed");
    assert_eq!(service.lookup("team").as_deref(), Some(OPENROUTER_KEY));
    let items = service.search(&["service", "gatehouse"]);
    assert!(items.contains("label = Gatehouse: team"), "{items}");
    assert!(items.contains("attribute.provider = openrouter"), "{items}");
    assert!(items.contains("label = Gatehouse: anthropic"), "{items}");

    let list = ok(run(gatehouse(&sandbox, Some(&service), &["auth", "list"])));
    assert!(list.contains("Secrets in the OS keychain (Secret Service"), "{list}");
    assert!(list.lines().any(|l| l.contains("anthropic") && l.ends_with("keychain:anthropic")), "{list}");
    assert!(
        list.lines().any(|l| l.contains("team") && l.contains("openrouter") && l.ends_with("keychain:team")),
        "{list}"
    );
    assert!(list.contains("Claude subscription: Claude Code not found on PATH"), "{list}");
    assert_no_secret(&list);

    let show = ok(run(gatehouse(&sandbox, Some(&service), &["config", "show"])));
    assert!(show.contains("store = \"keychain\""), "{show}");
    assert!(show.contains("are in the OS keychain"), "{show}");
    assert_no_secret(&show);

    // Replacing keeps one item; removing deletes it from the Secret Service.
    ok(run_with_stdin(
        gatehouse(&sandbox, Some(&service), &["auth", "add", "team", "--provider", "openrouter"]),
        OPENROUTER_KEY,
    ));
    let items = service.search(&["service", "gatehouse", "username", "team"]);
    assert_eq!(items.matches("label = Gatehouse: team").count(), 1, "{items}");
    let removed = ok(run(gatehouse(&sandbox, Some(&service), &["auth", "remove", "team"])));
    assert!(removed.contains("Removed team"), "{removed}");
    assert_eq!(service.lookup("team"), None, "the item is gone from the Secret Service");
    let list = ok(run(gatehouse(&sandbox, Some(&service), &["auth", "list"])));
    assert!(!list.contains("keychain:team") && list.contains("keychain:anthropic"), "{list}");
    let again = fails_with(run(gatehouse(&sandbox, Some(&service), &["auth", "remove", "team"])), 1);
    assert!(again.contains("no secret named \"team\""), "{again}");

    assert_in_no_file(&sandbox);
}

#[test]
fn add_reads_only_stdin_or_a_prompt_and_refuses_bad_input() {
    let sandbox = Sandbox::new();
    let service = SecretService::start(&sandbox, Keyring::Unlocked);

    // Never from an argument: there is no such argument.
    let argv = run(gatehouse(&sandbox, Some(&service), &["auth", "add", "x", ANTHROPIC_KEY]));
    assert_eq!(argv.status.code(), Some(2), "{}", text(&argv.stderr));
    for (input, complaint) in
        [("", "the secret is empty"), ("\n", "the secret is empty"), ("a\nb\n", "control character")]
    {
        let stderr = fails_with(run_with_stdin(gatehouse(&sandbox, Some(&service), &["auth", "add", "x"]), input), 1);
        assert!(stderr.contains(complaint), "{input:?}: {stderr}");
    }
    let stderr = fails_with(run_with_stdin(gatehouse(&sandbox, Some(&service), &["auth", "add", "a b"]), "k"), 1);
    assert!(stderr.contains("invalid secret name \"a b\""), "{stderr}");
    let items = service.search(&["service", "gatehouse"]);
    assert!(items.is_empty(), "nothing was stored: {items}");

    // Windows line ending from a pasted file: one CRLF is trimmed too.
    ok(run_with_stdin(gatehouse(&sandbox, Some(&service), &["auth", "add", "win"]), &format!("{ANTHROPIC_KEY}\r\n")));
    assert_eq!(service.lookup("win").as_deref(), Some(ANTHROPIC_KEY));
    // A pasted key with spaces around it: a key never has them.
    ok(run_with_stdin(
        gatehouse(&sandbox, Some(&service), &["auth", "add", "pasted"]),
        &format!("  {ANTHROPIC_KEY} \t\n"),
    ));
    assert_eq!(service.lookup("pasted").as_deref(), Some(ANTHROPIC_KEY));
}

/// A loopback stand-in for the two key-check endpoints: Anthropic's
/// `GET /v1/models` and OpenRouter's `GET /api/v1/key`, each accepting one
/// key and answering anything else with the provider's 401 body, which
/// (unlike the real ones) echoes the key, to prove Gatehouse never shows it.
async fn start_provider_mock() -> String {
    async fn models(headers: HeaderMap) -> (StatusCode, axum::Json<serde_json::Value>) {
        let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let version_ok = headers.get("anthropic-version").is_some_and(|v| v == "2023-06-01");
        if key == ANTHROPIC_KEY && version_ok {
            let data = json!([{"type": "model", "id": "claude-opus-5-5"}, {"type": "model", "id": "claude-haiku-4-5"}]);
            (StatusCode::OK, axum::Json(json!({"data": data, "has_more": true})))
        } else {
            let error = json!({"type": "authentication_error", "message": format!("invalid x-api-key {key}")});
            (StatusCode::UNAUTHORIZED, axum::Json(json!({"type": "error", "error": error})))
        }
    }
    async fn key(headers: HeaderMap) -> (StatusCode, axum::Json<serde_json::Value>) {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        if auth == format!("Bearer {OPENROUTER_KEY}") {
            let data = json!({"label": "sk-or-v1-FAK...d0c", "usage": 1.25, "limit": null, "limit_remaining": null});
            (StatusCode::OK, axum::Json(json!({"data": data})))
        } else {
            let error = json!({"message": format!("No auth credentials found for {auth}"), "code": 401});
            (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": error})))
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route("/v1/models", get(models)).route("/api/v1/key", get(key));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_test_asks_the_provider_and_reports_ok_refusal_and_unreachable() {
    let sandbox = Sandbox::new();
    let service = SecretService::start(&sandbox, Keyring::Unlocked);
    let providers = start_provider_mock().await;
    let anthropic = MockAnthropic::start().await.expect("mock Anthropic");
    let add = |name: &str, provider: &str, secret: &str| {
        ok(run_with_stdin(gatehouse(&sandbox, Some(&service), &["auth", "add", name, "--provider", provider]), secret));
    };
    add("anthropic", "anthropic", ANTHROPIC_KEY);
    add("openrouter", "openrouter", OPENROUTER_KEY);
    add("revoked", "anthropic", BAD_KEY);
    add("revoked-or", "openrouter", BAD_KEY);
    let test = |args: &[&str], base: &str, env: &[(&str, &str)]| {
        let mut command = gatehouse(&sandbox, Some(&service), args);
        command
            .env("GATEHOUSE_ANTHROPIC_BASE_URL", base)
            .env("GATEHOUSE_OPENROUTER_BASE_URL", base)
            .envs(env.iter().copied());
        run(&mut command)
    };

    // The realistic mock of Anthropic's API: the request is the documented one.
    let stdout = ok(test(&["auth", "test", "anthropic"], &anthropic.base_url(), &[]));
    assert!(stdout.starts_with("OK: anthropic accepts keychain:anthropic (3 models available"), "{stdout}");
    let requests = anthropic.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].method.as_str(), requests[0].path_and_query.as_str()), ("GET", "/v1/models"));
    assert_eq!(requests[0].header("x-api-key"), Some(ANTHROPIC_KEY.as_bytes()));
    assert_eq!(requests[0].header("anthropic-version"), Some(&b"2023-06-01"[..]));
    assert_eq!(requests[0].header("authorization"), None);

    // A paged list says there are more.
    let stdout = ok(test(&["auth", "test", "anthropic"], &providers, &[]));
    assert!(stdout.contains("(2+ models available"), "{stdout}");

    let stdout = ok(test(&["auth", "test", "openrouter"], &providers, &[]));
    assert!(
        stdout.contains("OK: openrouter accepts keychain:openrouter (key \"sk-or-v1-FAK...d0c\", $1.25 used"),
        "{stdout}"
    );

    // Refused: the provider's own message, the key itself redacted.
    let stderr = fails_with(test(&["auth", "test", "revoked"], &providers, &[]), EXIT_REJECTED);
    assert!(stderr.contains("anthropic refused keychain:revoked: HTTP 401: invalid x-api-key [REDACTED]"), "{stderr}");
    let stderr = fails_with(test(&["auth", "test", "keychain:revoked-or"], &providers, &[]), EXIT_REJECTED);
    assert!(stderr.contains("HTTP 401: No auth credentials found for Bearer [REDACTED]"), "{stderr}");

    // Unreachable: a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let stderr = fails_with(test(&["auth", "test", "anthropic"], &dead, &[]), EXIT_UNREACHABLE);
    assert!(stderr.contains("anthropic is unreachable at") && stderr.contains("could not connect"), "{stderr}");

    // An `env:` reference, for servers: the provider must be named.
    let env = [("TEAM_OPENROUTER_KEY", OPENROUTER_KEY)];
    let stdout = ok(test(&["auth", "test", "env:TEAM_OPENROUTER_KEY", "--provider", "openrouter"], &providers, &env));
    assert!(stdout.contains("OK: openrouter accepts env:TEAM_OPENROUTER_KEY"), "{stdout}");
    let stderr = fails_with(test(&["auth", "test", "env:TEAM_OPENROUTER_KEY"], &providers, &env), 1);
    assert!(stderr.contains("--provider anthropic|openrouter"), "{stderr}");
    let stderr =
        fails_with(test(&["auth", "test", "env:UNSET_GATEHOUSE_VAR", "--provider", "openrouter"], &providers, &[]), 1);
    assert!(stderr.contains("UNSET_GATEHOUSE_VAR is not set"), "{stderr}");
    let stderr = fails_with(test(&["auth", "test", "vault:x"], &providers, &[]), 1);
    assert!(stderr.contains("unknown secret store \"vault\""), "{stderr}");
    let stderr = fails_with(test(&["auth", "test", "file:x"], &providers, &[]), 1);
    assert!(stderr.contains("the plain-file store, which is off"), "{stderr}");
    let stderr = fails_with(test(&["auth", "test", "nosuch"], &providers, &[]), 1);
    assert!(stderr.contains("no secret named \"nosuch\""), "{stderr}");

    assert_in_no_file(&sandbox);
}

#[test]
fn no_session_bus_is_one_clear_error() {
    let sandbox = Sandbox::new();
    for (args, input) in [
        (&["auth", "list"][..], None),
        (&["auth", "add", "anthropic"], Some(ANTHROPIC_KEY)),
        (&["auth", "remove", "anthropic"], None),
        (&["auth", "test", "anthropic"], None),
    ] {
        let mut command = gatehouse(&sandbox, None, args);
        let output = match input {
            Some(input) => run_with_stdin(&mut command, input),
            None => run(&mut command),
        };
        let stderr = fails_with(output, EXIT_NO_KEYCHAIN);
        assert!(
            stderr.contains("error: no D-Bus session bus, so the keychain (Secret Service) cannot be reached"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("dbus-run-session") && stderr.contains("[secrets] store = \"file\""), "{stderr}");
        assert_eq!(stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{stderr}");
    }
    assert_in_no_file(&sandbox);
}

#[test]
fn a_bus_without_a_keychain_is_one_clear_error() {
    let sandbox = Sandbox::new();
    let service = SecretService::start(&sandbox, Keyring::Absent);
    for (args, input) in [(&["auth", "list"][..], None), (&["auth", "add", "anthropic"], Some(ANTHROPIC_KEY))] {
        let mut command = gatehouse(&sandbox, Some(&service), args);
        let output = match input {
            Some(input) => run_with_stdin(&mut command, input),
            None => run(&mut command),
        };
        let stderr = fails_with(output, EXIT_NO_KEYCHAIN);
        assert!(stderr.contains("error: no keychain answers on the D-Bus session bus"), "{args:?}: {stderr}");
        assert!(stderr.contains("org.freedesktop.secrets"), "{stderr}");
        assert!(stderr.contains("gnome-keyring-daemon") && stderr.contains("[secrets] store = \"file\""), "{stderr}");
    }
    assert_in_no_file(&sandbox);
}

#[test]
fn a_locked_keyring_is_one_clear_error() {
    let sandbox = Sandbox::new();
    {
        // The login keyring exists (made by an unlocked session) and holds a secret.
        let service = SecretService::start(&sandbox, Keyring::Unlocked);
        ok(run_with_stdin(gatehouse(&sandbox, Some(&service), &["auth", "add", "anthropic"]), ANTHROPIC_KEY));
    }
    let service = SecretService::start(&sandbox, Keyring::Locked);
    for (args, input) in [
        (&["auth", "list"][..], None),
        (&["auth", "add", "team"], Some(OPENROUTER_KEY)),
        (&["auth", "test", "anthropic"], None),
        (&["auth", "remove", "anthropic"], None),
    ] {
        let mut command = gatehouse(&sandbox, Some(&service), args);
        let output = match input {
            Some(input) => run_with_stdin(&mut command, input),
            None => run(&mut command),
        };
        let stderr = fails_with(output, EXIT_NO_KEYCHAIN);
        assert!(stderr.contains("error: the keyring is locked: unlock it"), "{args:?}: {stderr}");
        assert!(stderr.contains("gnome-keyring-daemon --unlock"), "{stderr}");
    }
    drop(service);
    // Nothing was changed behind the lock.
    let service = SecretService::start(&sandbox, Keyring::Unlocked);
    let items = service.search(&["service", "gatehouse"]);
    assert!(items.contains("Gatehouse: anthropic") && !items.contains("Gatehouse: team"), "{items}");
}

fn file_store_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.config_file(), "[secrets]\nstore = \"file\"\n").unwrap();
    sandbox
}

fn secrets_file(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.gatehouse_home().join("data").join("secrets.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_file_store_is_opt_in_private_and_says_so() {
    let sandbox = file_store_sandbox();
    let anthropic = MockAnthropic::start().await.expect("mock Anthropic");
    // No session bus at all: the file store never needs one.
    let added = ok(run_with_stdin(gatehouse(&sandbox, None, &["auth", "add", "anthropic"]), ANTHROPIC_KEY));
    assert!(added.contains("in a plain file") && added.contains("\"file:anthropic\""), "{added}");
    let path = secrets_file(&sandbox);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
    assert_eq!(files_containing(sandbox.dir.path(), ANTHROPIC_KEY), vec![path.clone()], "only in the secrets file");

    let list = ok(run(gatehouse(&sandbox, None, &["auth", "list"])));
    assert!(list.contains("Secrets in a plain file") && list.contains("not encrypted"), "{list}");
    assert!(list.lines().any(|l| l.contains("anthropic") && l.ends_with("file:anthropic")), "{list}");
    let show = ok(run(gatehouse(&sandbox, None, &["config", "show"])));
    assert!(show.contains("store = \"file\"") && show.contains("PLAIN FILE"), "{show}");
    assert!(show.contains(&path.display().to_string()), "{show}");
    assert_no_secret(&show);

    let mut command = gatehouse(&sandbox, None, &["auth", "test", "file:anthropic"]);
    let stdout = ok(run(command.env("GATEHOUSE_ANTHROPIC_BASE_URL", anthropic.base_url())));
    assert!(stdout.starts_with("OK: anthropic accepts file:anthropic"), "{stdout}");
    assert_eq!(anthropic.requests()[0].header("x-api-key"), Some(ANTHROPIC_KEY.as_bytes()));

    ok(run(gatehouse(&sandbox, None, &["auth", "remove", "anthropic"])));
    assert!(files_containing(sandbox.dir.path(), ANTHROPIC_KEY).is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn two_adds_into_the_file_store_at_once_both_land() {
    let sandbox = file_store_sandbox();
    let holds = sandbox.dir.path().join("holds");
    std::fs::create_dir_all(&holds).unwrap();
    let hold = |name: &str| holds.join(name);
    let reached = |name: &str| holds.join(format!("{name}.reached"));

    // The first add stops after reading the file, holding the lock.
    std::fs::write(hold("first"), "").unwrap();
    let mut first_command = gatehouse(&sandbox, None, &["auth", "add", "anthropic"]);
    first_command.env("GATEHOUSE_TEST_PAUSE_AT", format!("secrets-file-read={}", hold("first").display()));
    let first = spawn_with_stdin(&mut first_command, ANTHROPIC_KEY);
    wait_for("the first add to read the file", 30, || reached("first").exists().then_some(()));

    // The second add reads the file only after the first wrote it: without
    // the lock it would read the old file and drop the first's secret.
    let mut second_command = gatehouse(&sandbox, None, &["auth", "add", "team", "--provider", "openrouter"]);
    second_command.env("GATEHOUSE_TEST_PAUSE_AT", format!("secrets-file-before-lock={}", hold("second").display()));
    let second = spawn_with_stdin(&mut second_command, OPENROUTER_KEY);
    wait_for("the second add to reach the lock", 30, || reached("second").exists().then_some(()));

    std::fs::remove_file(hold("first")).unwrap();
    ok(first.wait_with_output().unwrap());
    ok(second.wait_with_output().unwrap());

    let list = ok(run(gatehouse(&sandbox, None, &["auth", "list"])));
    assert!(list.contains("file:anthropic") && list.contains("file:team"), "both kept: {list}");
    // Atomic replacement leaves no temporary file behind.
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.gatehouse_home().join("data"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn auth_list_shows_the_claude_login_from_claude_code() {
    let sandbox = file_store_sandbox();
    let mut command = gatehouse(&sandbox, None, &["auth", "list"]);
    let list = ok(run(command.env("GATEHOUSE_CLAUDE_BIN", claude_bin())));
    // A fresh Claude Code config dir: not logged in, as `claude auth status` says.
    assert!(list.contains("Claude subscription: not logged in; run `claude auth login`"), "{list}");
    assert!(list.contains("No secrets in a plain file"), "{list}");
    assert!(!Path::new(&sandbox.claude_dir().join(".credentials.json")).exists());
}

/// On a terminal, `auth add` prompts there and reads with echo off. `script`
/// gives it a pseudo-terminal; the key is typed only once the terminal's
/// echo is off (read from the terminal itself with `stty`), so the
/// transcript shows whether the key was echoed, not whether it was typed in
/// time.
#[test]
fn add_on_a_terminal_prompts_with_hidden_input() {
    let sandbox = file_store_sandbox();
    let gatehouse_bin = gatehouse_e2e::harness::gatehouse_bin();
    let mut command = Command::new("script");
    command.args(["-qec", &format!("{} auth add ttykey --provider anthropic", gatehouse_bin.display()), "/dev/null"]);
    let _ = sandbox.isolate(&mut command);
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("script");
    let mut stdout = child.stdout.take().unwrap();
    let transcript = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let transcript = transcript.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 256];
            loop {
                match std::io::Read::read(&mut stdout, &mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => transcript.lock().unwrap().extend_from_slice(&buffer[..n]),
                }
            }
        })
    };
    wait_for("the prompt", 30, || {
        text(&transcript.lock().unwrap()).contains("Secret for ttykey (input hidden): ").then_some(())
    });
    let terminal = wait_for("gatehouse's terminal", 30, || {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).ok()?;
        children.split_whitespace().find_map(|pid| std::fs::read_link(format!("/proc/{pid}/fd/0")).ok())
    });
    wait_for("echo to be off on the terminal", 30, || {
        let stty = Command::new("stty").args(["-F"]).arg(&terminal).arg("-a").output().ok()?;
        text(&stty.stdout).split_whitespace().any(|flag| flag == "-echo").then_some(())
    });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{ANTHROPIC_KEY}\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let transcript = text(&transcript.lock().unwrap());
    assert!(status.success(), "{transcript}");
    assert!(transcript.contains("Stored ttykey (anthropic)"), "{transcript}");
    assert!(!transcript.contains(ANTHROPIC_KEY), "the key was echoed: {transcript}");
    let stored = std::fs::read_to_string(secrets_file(&sandbox)).unwrap();
    assert!(stored.contains(&format!("\"secret\": \"{ANTHROPIC_KEY}\"")), "{stored}");
}
