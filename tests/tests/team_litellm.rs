//! Team mode: Claude Code pointed straight at a team's LiteLLM proxy with
//! the team member's virtual key (`gatehouse claude configure --team`), and
//! that key's spend from the proxy's `/key/info`.
//!
//! The request path runs against the real LiteLLM (the pinned release, from
//! the shared test venv) in the role of the team proxy, routing every model
//! to the mock Anthropic API. Without a database LiteLLM accepts only its
//! master key, so the master key stands in for the virtual key. LiteLLM's
//! Postgres mode cannot start offline here (Prisma downloads its engine
//! binaries), so the spend display is tested against [`MockKeyInfo`], built
//! from LiteLLM's own source; the real proxy shows how its answer without a
//! database is reported.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use gatehouse_e2e::claude_cli::{ClaudeAuth, claude_print};
use gatehouse_e2e::harness::{Sandbox, files_containing, wait_for};
use gatehouse_e2e::litellm::litellm_venv;
use gatehouse_e2e::mock_anthropic::{DEFAULT_REPLY, MockAnthropic};
use gatehouse_e2e::mock_key_info::{KeyRow, MockKeyInfo};
use serde_json::Value;

/// The team's key: the real proxy's master key, the mock's virtual key.
const TEAM_KEY: &str = "sk-team-FAKE-e2e-virtual-key-7c1d9e";
/// A key the team proxy does not know.
const WRONG_KEY: &str = "sk-team-FAKE-e2e-wrong-key-000000";
/// Claude Code's own subscription login, which must be left alone.
const OAUTH_TOKEN: &str = "sk-ant-oat01-FAKE-e2e-team-mode-subscription-token";

/// A user's settings file with things Gatehouse must not disturb.
const USER_SETTINGS: &str =
    "{\n    \"env\": {\n        \"ANTHROPIC_CUSTOM_HEADERS\": \"x-mine: yes\"\n    },\n    \"model\": \"sonnet\"\n}\n";

/// A real LiteLLM proxy, stopped on drop.
struct TeamProxy {
    child: Child,
    base_url: String,
    log: PathBuf,
}

impl Drop for TeamProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TeamProxy {
    /// Starts LiteLLM with `TEAM_KEY` as its master key, every model routed
    /// to `upstream`.
    fn start(dir: &Path, upstream: &str) -> TeamProxy {
        let venv = litellm_venv();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.join("team-litellm.yaml");
        std::fs::write(
            &config,
            format!(
                "model_list:\n  - model_name: \"*\"\n    litellm_params:\n      model: \"anthropic/*\"\n      \
                 api_base: \"{upstream}\"\n      api_key: \"sk-ant-api03-FAKE-team-server-key\"\n\
                 general_settings:\n  master_key: \"{TEAM_KEY}\"\nlitellm_settings:\n  telemetry: false\n"
            ),
        )
        .unwrap();
        let log = dir.join("team-litellm.log");
        let output = std::fs::File::create(&log).unwrap();
        let child = Command::new(venv.join("bin/litellm"))
            .args(["--config", &config.to_string_lossy(), "--host", "127.0.0.1", "--port", &port.to_string()])
            .envs([
                ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
                ("LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS", "True"),
                ("LITELLM_LOCAL_BLOG_POSTS", "True"),
                ("LITELLM_LOCAL_POLICY_TEMPLATES", "True"),
                ("LITELLM_LOCAL_AUTOROUTER_PRESETS", "True"),
            ])
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("ANTHROPIC_API_KEY")
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .expect("starting LiteLLM");
        let proxy = TeamProxy { child, base_url: format!("http://127.0.0.1:{port}"), log };
        // LiteLLM takes 10 to 25 s to start; /health/liveliness needs no key.
        wait_for("the team's LiteLLM to answer /health/liveliness", 120, || {
            (http_status(port, "/health/liveliness") == Some(200)).then_some(())
        });
        proxy
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The status of a plain `GET path`, if anything answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// A sandbox whose config has the team proxy `team` at `base_url`, its key
/// in the file store.
fn team_sandbox(base_url: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let config = format!(
        "[secrets]\nstore = \"file\"\n\n[[upstreams]]\nname = \"team\"\nkind = \"remote-litellm\"\n\
         base_url = \"{base_url}\"\nsecret = \"file:team\"\n"
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    store_team_key(&sandbox, TEAM_KEY);
    sandbox
}

/// `gatehouse auth add team`, the key typed on stdin, never in argv.
fn store_team_key(sandbox: &Sandbox, key: &str) {
    let mut child = sandbox
        .gatehouse(&["auth", "add", "team"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{key}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_no_key(&output);
}

/// Runs `gatehouse ARGS`; its output never shows a team key.
fn gatehouse(sandbox: &Sandbox, args: &[&str]) -> (bool, String) {
    let output = sandbox.run(args);
    assert_no_key(&output);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn assert_no_key(output: &std::process::Output) {
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        for key in [TEAM_KEY, WRONG_KEY] {
            assert!(!text.contains(key), "a team key in the output: {text}");
        }
    }
}

/// Files of Gatehouse's home that hold `key`: only the secret store may.
fn assert_key_only_in_the_store(sandbox: &Sandbox, key: &str) {
    let holding = files_containing(&sandbox.gatehouse_home(), key);
    assert!(
        holding.iter().all(|path| path.file_name().is_some_and(|name| name == "secrets.json")),
        "the team key is in {holding:?}"
    );
}

fn settings(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.claude_dir().join("settings.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_reaches_the_team_proxy_with_its_key_and_is_restored_exactly() {
    let mock = MockAnthropic::start().await.expect("mock");
    let proxy_dir = tempfile::tempdir().unwrap();
    let proxy = TeamProxy::start(proxy_dir.path(), &mock.base_url());
    let sandbox = team_sandbox(&proxy.base_url);
    let settings_path = sandbox.claude_dir().join("settings.json");
    std::fs::write(&settings_path, USER_SETTINGS).unwrap();

    let (ok, out) = gatehouse(&sandbox, &["claude", "configure", "--team", "team"]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("now goes through team proxy team ({})", proxy.base_url)), "{out}");
    let document: Value = serde_json::from_str(&settings(&sandbox)).unwrap();
    let env = &document["env"];
    assert_eq!(env["ANTHROPIC_BASE_URL"], proxy.base_url.as_str());
    assert_eq!(env["ANTHROPIC_CUSTOM_HEADERS"], format!("x-mine: yes\nx-litellm-api-key: Bearer {TEAM_KEY}").as_str());
    for never in ["ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "CLAUDE_CODE_GATEWAY_HINT_HEADERS"] {
        assert!(env.get(never).is_none(), "{never} is set: {document}");
    }

    let (ok, status) = gatehouse(&sandbox, &["claude", "status"]);
    assert!(ok, "no gateway is needed in team mode: {status}");
    assert!(status.contains(&format!("Claude Code: through team proxy team ({})", proxy.base_url)), "{status}");

    // The real Claude Code, with its own subscription login, through the
    // real LiteLLM to the mock.
    let auth = ClaudeAuth::Subscription(OAUTH_TOKEN);
    let result = claude_print(&sandbox, &auth, "say hi", &[]);
    assert_eq!(result["is_error"], false, "{result}\nLiteLLM's log:\n{}", proxy.log());
    assert_eq!(result["result"], DEFAULT_REPLY);
    let reached: Vec<_> =
        mock.requests().into_iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).collect();
    assert!(!reached.is_empty(), "nothing reached the mock through LiteLLM");
    for request in &reached {
        for (name, value) in &request.headers {
            assert!(!String::from_utf8_lossy(value).contains(TEAM_KEY), "the team key went upstream in {name}");
        }
    }

    // A key the proxy does not know gets Claude Code nowhere: the key is
    // what let it through.
    store_team_key(&sandbox, WRONG_KEY);
    let (ok, out) = gatehouse(&sandbox, &["claude", "configure", "--team", "team"]);
    assert!(ok, "{out}");
    let before = mock.requests().len();
    let refused = claude_print(&sandbox, &auth, "say hi again", &[]);
    assert_eq!(refused["is_error"], true, "{refused}");
    assert_eq!(mock.requests().len(), before, "LiteLLM let a wrong key through");

    // The real proxy has no database, so it keeps no key info (and checks
    // no key but its master key): `status` passes on what it says.
    let (_, status) = gatehouse(&sandbox, &["status"]);
    assert!(status.contains("Team proxy team: team proxy \"team\" answered HTTP 400"), "{status}");
    assert!(
        status.contains("No connected db") && status.contains("keeps key spend only with its database"),
        "{status}"
    );
    store_team_key(&sandbox, TEAM_KEY);
    let (_, status) = gatehouse(&sandbox, &["status"]);
    assert!(status.contains("Team proxy team: team proxy \"team\" answered HTTP 500"), "{status}");

    let (ok, out) = gatehouse(&sandbox, &["claude", "remove"]);
    assert!(ok && out.contains("restored exactly as it was"), "{out}");
    assert_eq!(settings(&sandbox), USER_SETTINGS);
    assert_key_only_in_the_store(&sandbox, TEAM_KEY);
    assert_key_only_in_the_store(&sandbox, WRONG_KEY);
    drop(proxy);
    drop(proxy_dir);
}

#[test]
fn status_shows_the_team_keys_spend_and_budget_from_key_info() {
    let row = KeyRow {
        key_alias: Some("alice-laptop".to_string()),
        spend: 12.345_678,
        max_budget: Some(50.0),
        budget_duration: Some("30d".to_string()),
        budget_reset_at: Some("2027-01-01T00:00:00+00:00".to_string()),
    };
    let mock = MockKeyInfo::start(TEAM_KEY, row);
    let sandbox = team_sandbox(&mock.base);

    let output = sandbox.run(&["status", "--json"]);
    assert_no_key(&output);
    let json: Value = serde_json::from_slice(&output.stdout).expect("status JSON");
    let team = &json["team_proxies"][0];
    assert_eq!(team["team"], "team");
    assert_eq!(team["error"], Value::Null, "{team}");
    let info = &team["key_info"];
    assert_eq!(info["key_alias"], "alice-laptop");
    assert_eq!(info["spend_usd"], 12.345_678);
    assert_eq!(info["max_budget_usd"], 50.0);
    assert_eq!(info["budget_reset_at"], "2027-01-01T00:00:00+00:00");
    assert_eq!(info["status"], "active");
    assert_eq!(mock.seen(), [("x-litellm-api-key".to_string(), format!("Bearer {TEAM_KEY}"))]);

    let (_, text) = gatehouse(&sandbox, &["status"]);
    let line = format!(
        "Team proxy team ({}): key alice-laptop: $12.3457 of $50.00 budget, resets 2027-01-01T00:00:00+00:00",
        mock.base
    );
    assert!(text.contains(&line), "{text}");

    let (ok, test) = gatehouse(&sandbox, &["upstreams", "test", "team"]);
    assert!(ok && test.contains("is accepted: $12.3457 of $50.00 budget"), "{test}");

    store_team_key(&sandbox, WRONG_KEY);
    let (ok, test) = gatehouse(&sandbox, &["upstreams", "test", "team"]);
    assert!(!ok && test.contains("refused the virtual key"), "{test}");
    let (_, text) = gatehouse(&sandbox, &["status"]);
    assert!(text.contains("refused the virtual key (HTTP 401") && text.contains("gatehouse auth add team"), "{text}");

    let gone = team_sandbox("http://127.0.0.1:9");
    let (_, text) = gatehouse(&gone, &["status"]);
    assert!(text.contains("team proxy \"team\" is unreachable at http://127.0.0.1:9/key/info"), "{text}");
    assert_key_only_in_the_store(&sandbox, TEAM_KEY);
}
