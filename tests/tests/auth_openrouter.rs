//! `gatehouse auth login openrouter`: OpenRouter's browser sign-in (OAuth
//! with PKCE, S256, and a loopback redirect) against a loopback mock of
//! OpenRouter. Real headless Chromium follows the authorization URL and the
//! redirect to the command's listener, and the key lands in a real Secret
//! Service (gnome-keyring on a private `dbus-run-session` bus), proved with
//! `secret-tool`, and in no file and no output.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

use gatehouse_e2e::browser::open_loopback_page;
use gatehouse_e2e::harness::{Sandbox, files_containing};
use gatehouse_e2e::mock_openrouter::{Choice, KEY, MockOpenRouter, consent_redirect};
use gatehouse_e2e::secret_service::{Keyring, SecretService};

/// `gatehouse auth login openrouter --no-browser …` on the keyring's bus,
/// pointed at the mock, its stdin a pipe the test may paste into.
fn login(sandbox: &Sandbox, service: &SecretService, base: &str, extra: &[&str]) -> Child {
    let mut args = vec!["auth", "login", "openrouter", "--no-browser"];
    args.extend_from_slice(extra);
    let mut command = sandbox.gatehouse(&args);
    service.apply(&mut command);
    command
        .env("GATEHOUSE_OPENROUTER_BASE_URL", base)
        .env("GATEHOUSE_LOG", "trace")
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running gatehouse")
}

/// Reads the command's stderr up to the address it prints; the rest of
/// stderr keeps coming through the returned receiver.
fn authorize_url(child: &mut Child) -> (String, std::sync::mpsc::Receiver<String>) {
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = receiver
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no address in {seen:?}"));
        if let Some(url) = line.trim().strip_prefix("http://").filter(|_| line.contains("/auth?")) {
            return (format!("http://{url}"), receiver);
        }
        seen.push(line);
    }
}

/// Waits for the command; returns its exit code, stdout and all its stderr.
fn finish(mut child: Child, stderr: std::sync::mpsc::Receiver<String>) -> (Option<i32>, String, String) {
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let status = child.wait().unwrap();
    let stderr: Vec<String> = stderr.iter().collect();
    (status.code(), stdout, stderr.join("\n"))
}

#[test]
fn chromium_signs_in_to_openrouter_and_the_key_lands_in_the_keychain_only() {
    let sandbox = Sandbox::new();
    let service = SecretService::start(&sandbox, Keyring::Unlocked);
    let mock = MockOpenRouter::start(Choice::Approve);
    let base = mock.base.clone();

    let mut child = login(&sandbox, &service, &base, &[]);
    let (url, stderr) = authorize_url(&mut child);
    // The address: OpenRouter's /auth with a loopback callback and an S256 challenge of a 256-bit verifier.
    let parsed = reqwest::Url::parse(&url).unwrap();
    let query: HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    assert!(url.starts_with(&format!("{base}/auth?")), "{url}");
    assert!(query["callback_url"].starts_with("http://127.0.0.1:"), "{query:?}");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43, "base64url of a SHA-256");

    let page = open_loopback_page(&sandbox, &url);
    assert!(page.contains("Signed in to OpenRouter"), "the browser ends on the app's page: {page}");
    let (code, stdout, stderr) = finish(child, stderr);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Signed in to OpenRouter; its key is stored as openrouter in"), "{stdout}");
    assert!(stdout.contains("\"keychain:openrouter\""), "{stdout}");

    // In the Secret Service, under its name, for OpenRouter; and nowhere else.
    assert_eq!(service.lookup("openrouter").as_deref(), Some(KEY));
    let item = service.search(&["service", "gatehouse", "username", "openrouter"]);
    assert!(item.contains("Gatehouse: openrouter") && item.contains("openrouter"), "{item}");
    for text in [&stdout, &stderr, &page] {
        assert!(!text.contains(KEY), "the key leaked: {text}");
    }
    assert!(files_containing(sandbox.dir.path(), KEY).is_empty(), "the key is in a file");
    // The verifier went only to the exchange, the challenge only to the browser.
    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let verifier = seen[1]["exchange"]["code_verifier"].as_str().unwrap();
    assert!(!url.contains(verifier) && !stderr.contains(verifier));
}

#[test]
fn a_refusal_a_foreign_paste_and_a_busy_port_each_say_what_happened_and_store_nothing() {
    let sandbox = Sandbox::new();
    let service = SecretService::start(&sandbox, Keyring::Unlocked);

    // The user declines on OpenRouter's page.
    let mock = MockOpenRouter::start(Choice::Deny);
    let base = mock.base.clone();
    let mut child = login(&sandbox, &service, &base, &[]);
    let (url, stderr) = authorize_url(&mut child);
    let page = open_loopback_page(&sandbox, &url);
    assert!(page.contains("OpenRouter did not sign you in"), "{page}");
    let (code, _, stderr) = finish(child, stderr);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "OpenRouter did not sign you in (access_denied: The user declined the request); nothing was saved"
        ),
        "{stderr}"
    );
    assert_eq!(service.lookup("openrouter"), None);

    // Headless: the browser ran elsewhere; what is pasted is checked, and
    // a bad paste leaves the sign-in waiting for a good one.
    mock.set_choice(Choice::Approve);
    let mut child = login(&sandbox, &service, &base, &["--name", "or-paste"]);
    let (url, stderr) = authorize_url(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "http://127.0.0.1:1/callback/not-this-sign-in?code=x").unwrap();
    writeln!(stdin, "what?").unwrap();
    // The browser on the other machine ends on an address that does not load there; the user copies it.
    let approved = consent_redirect(&url);
    writeln!(stdin, "{approved}").unwrap();
    drop(stdin);
    let (code, stdout, stderr) = finish(child, stderr);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("its state does not match"), "{stderr}");
    assert!(stderr.contains("that is not a code or an address from this sign-in"), "{stderr}");
    assert_eq!(service.lookup("or-paste").as_deref(), Some(KEY));

    // The port asked for is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut command = sandbox.gatehouse(&["auth", "login", "openrouter", "--no-browser", "--port", &port]);
    service.apply(&mut command);
    let output = command.env("GATEHOUSE_OPENROUTER_BASE_URL", &base).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("port {port} on 127.0.0.1 is in use")), "{stderr}");
    assert!(files_containing(sandbox.dir.path(), KEY).is_empty(), "the key is in a file");
}
