//! `gatehouse upstreams test`: "test connection" for each upstream of the
//! config, against a loopback provider that accepts one key and refuses
//! any other. A paid upstream is asked with its own key (OpenRouter's key
//! check under its base URL, Anthropic's model list), and the answer is an
//! exit status a script can read: accepted, refused, unreachable, no key.
//! The subscription's upstream is asked without any credential, and Claude
//! Code (here a stand-in `claude`) says whether it is logged in.

use std::os::unix::fs::PermissionsExt;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use gatehouse_e2e::harness::Sandbox;
use serde_json::json;

const GOOD_KEY: &str = "sk-FAKE-upstreams-test-accepted-5c1e";
const BAD_KEY: &str = "sk-FAKE-upstreams-test-refused-9a7b";

/// Each request's path and credential headers, as the provider got them.
type Seen = Arc<Mutex<Vec<(String, Option<String>, Option<String>)>>>;

/// A provider that accepts [`GOOD_KEY`] only: OpenRouter's `/api/v1/key`
/// (Bearer) and Anthropic's `/v1/models` (`x-api-key`).
fn start_provider() -> (String, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Seen::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let log = log.clone();
        async move {
            let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
            let (authorization, api_key) = (header("authorization"), header("x-api-key"));
            log.lock().unwrap().push((uri.path().to_string(), authorization.clone(), api_key.clone()));
            let refused = |message: &str| {
                let body = json!({"type": "error", "error": {"type": "authentication_error", "message": message}});
                (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
            };
            match uri.path() {
                "/api/v1/key" if authorization == Some(format!("Bearer {GOOD_KEY}")) => {
                    axum::Json(json!({"data": {"label": "sk-or-v1-abc...", "usage": 0.25, "limit": null}}))
                        .into_response()
                }
                "/v1/models" if api_key.as_deref() == Some(GOOD_KEY) => {
                    axum::Json(json!({"data": [{"id": "claude-sonnet-4-5"}], "has_more": false})).into_response()
                }
                "/v1/models" if api_key.is_none() && authorization.is_none() => refused("x-api-key header is required"),
                _ => refused("invalid x-api-key"),
            }
        }
    });
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, seen)
}

/// A stand-in `claude` whose `auth status --json` says it is logged in.
fn logged_in_claude(sandbox: &Sandbox) -> std::path::PathBuf {
    let path = sandbox.dir.path().join("claude");
    std::fs::write(
        &path,
        "#!/bin/sh\necho '{\"loggedIn\": true, \"authMethod\": \"claude.ai\", \"subscriptionType\": \"max\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn text(output: &Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn each_upstream_says_whether_it_answers_and_accepts_its_key() {
    let (provider, seen) = start_provider();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.config_file(),
        format!(
            r#"
[anthropic]
base_url = "{provider}"

[[upstreams]]
name = "openrouter"
kind = "openrouter"
base_url = "{provider}/api"
secret = "env:GATEHOUSE_TEST_GOOD_KEY"

[[upstreams]]
name = "refused"
kind = "anthropic"
base_url = "{provider}"
secret = "env:GATEHOUSE_TEST_BAD_KEY"

[[upstreams]]
name = "down"
kind = "compatible"
base_url = "{dead_url}"
secret = "env:GATEHOUSE_TEST_GOOD_KEY"

[[upstreams]]
name = "keyless"
kind = "anthropic"
secret = "env:GATEHOUSE_TEST_UNSET_KEY"
"#
        ),
    )
    .unwrap();
    let claude = logged_in_claude(&sandbox);
    let run = |args: &[&str]| {
        let mut command = sandbox.gatehouse(args);
        command
            .env("GATEHOUSE_TEST_GOOD_KEY", GOOD_KEY)
            .env("GATEHOUSE_TEST_BAD_KEY", BAD_KEY)
            .env("GATEHOUSE_CLAUDE_BIN", &claude)
            .stdin(Stdio::null());
        let (code, stdout, stderr) = text(&command.output().unwrap());
        for key in [GOOD_KEY, BAD_KEY] {
            assert!(!stdout.contains(key) && !stderr.contains(key), "a key was printed: {stdout}{stderr}");
        }
        (code, stdout, stderr)
    };

    // Reachable, and the key accepted: OpenRouter's key check under its base URL, with the key as Bearer.
    let (code, stdout, _) = run(&["upstreams", "test", "openrouter"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with(
            "OK: openrouter (openrouter): reachable, and its key (env:GATEHOUSE_TEST_GOOD_KEY) is accepted"
        ) && stdout.contains("$0.25 used"),
        "{stdout}"
    );
    assert_eq!(
        seen.lock().unwrap().pop().unwrap(),
        ("/api/v1/key".to_string(), Some(format!("Bearer {GOOD_KEY}")), None)
    );

    // The key refused: 4, with the provider's own message.
    let (code, _, stderr) = run(&["upstreams", "test", "refused"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("refused its key (env:GATEHOUSE_TEST_BAD_KEY): HTTP 401: invalid x-api-key"), "{stderr}");
    assert_eq!(seen.lock().unwrap().pop().unwrap(), ("/v1/models".to_string(), None, Some(BAD_KEY.to_string())));

    // Nothing answers: 5, with the cause.
    let (code, _, stderr) = run(&["upstreams", "test", "down"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains(&format!("unreachable at {dead_url}/v1/models: could not connect")), "{stderr}");

    // No key to test: 7, with how to store one.
    let (code, _, stderr) = run(&["upstreams", "test", "keyless"]);
    assert_eq!(code, 7, "{stderr}");
    assert!(stderr.contains("GATEHOUSE_TEST_UNSET_KEY") && stderr.contains("gatehouse auth add keyless"), "{stderr}");

    // The subscription: asked without any credential; the login is Claude Code's.
    let (code, stdout, _) = run(&["upstreams", "test", "anthropic"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("answered HTTP 401); Claude Code is logged in to Claude Max via claude.ai"), "{stdout}");
    assert_eq!(seen.lock().unwrap().pop().unwrap(), ("/v1/models".to_string(), None, None));

    // All of them, in the config's order; the first that did not pass decides the status.
    let (code, stdout, stderr) = run(&["upstreams", "test"]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    let passed: Vec<_> = stdout.lines().map(|line| line.split(':').nth(1).unwrap().trim()).collect();
    assert_eq!(passed, ["anthropic (subscription)", "openrouter (openrouter)"]);
    let failed: Vec<_> = stderr.lines().filter_map(|line| line.strip_prefix("error: ")?.split(':').next()).collect();
    assert_eq!(failed, ["refused (anthropic)", "down (compatible)", "keyless (anthropic)"]);

    let (code, _, stderr) = run(&["upstreams", "test", "nope"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no upstream is called \"nope\"; the upstreams are \"anthropic\", \"openrouter\""),
        "{stderr}"
    );
}
