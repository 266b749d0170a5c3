//! The LiteLLM engine, for real: the gateway starts the pinned LiteLLM from
//! its venv on the config it generated, and a `bedrock` upstream is served
//! through it, against a loopback mock of the Bedrock runtime (LiteLLM's
//! endpoint override is the upstream's `base_url`).
//!
//! Claude Code's request goes to the subscription first; its quota 429
//! sends it on to Bedrock, through LiteLLM, signed with the upstream's AWS
//! credentials. The mock proves it arrived signed, with Bedrock's body and
//! none of Claude Code's credentials; the ledger records it at Gatehouse's
//! prices; and no secret (the AWS key, LiteLLM's master key, Claude Code's
//! token) is in any file Gatehouse wrote.

use std::path::Path;
use std::time::Duration;

use gatehouse::ledger::flags;
use gatehouse_e2e::claude_cli::{ClaudeAuth, claude_print};
use gatehouse_e2e::harness::{GatewayProcess, Sandbox, files_containing, header, wait_for};
use gatehouse_e2e::litellm::install_shared_venv;
use gatehouse_e2e::mock_anthropic::{MockAnthropic, Scenario};
use gatehouse_e2e::mock_bedrock::{ANSWER, BedrockUsage, MockBedrock};
use serde_json::{Value, json};

const OAUTH_TOKEN: &str = "sk-ant-oat01-FAKE-subscription-token-bd41";
const AWS_KEY_ID: &str = "AKIAfakeGatehouse7q2";
const AWS_SECRET: &str = "FAKEwJalrXUtnFEMIK7MDENGbPxRfiCYsecret91";

struct Rig {
    subscription: MockAnthropic,
    bedrock: MockBedrock,
    sandbox: Sandbox,
    gateway: GatewayProcess,
    key: String,
    http: reqwest::Client,
}

/// The gateway with the subscription first and a `bedrock` upstream after
/// it, LiteLLM ready.
async fn rig() -> Rig {
    let subscription = MockAnthropic::start().await.expect("mock");
    let bedrock = MockBedrock::start(BedrockUsage::default());
    let sandbox = Sandbox::new();
    install_shared_venv(&sandbox);
    let config = format!(
        "[[upstreams]]\nname = \"aws\"\nkind = \"bedrock\"\nregion = \"us-east-1\"\nbase_url = \"{}\"\n\
         secret = \"env:GATEHOUSE_TEST_AWS\"\n",
        bedrock.base
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let credentials = format!("{AWS_KEY_ID}:{AWS_SECRET}");
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_AWS", credentials.as_str())]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let rig = Rig { subscription, bedrock, sandbox, gateway, key, http };
    rig.wait_until_ready().await;
    rig
}

impl Rig {
    async fn status(&self) -> Value {
        self.http.get(format!("{}/status", self.gateway.base_url)).send().await.unwrap().json().await.unwrap()
    }

    /// LiteLLM takes 10 to 30 s to start; `/status` says when it is ready.
    async fn wait_until_ready(&self) {
        for _ in 0..600 {
            let status = self.status().await;
            let aws = status["upstreams"].as_array().unwrap().iter().find(|u| u["name"] == "aws").cloned().unwrap();
            if aws["engine"]["ready"] == true {
                assert_eq!(aws["engine"]["name"], "litellm");
                assert!(aws["api_key"].as_str().unwrap().ends_with("(ready)"), "{aws}");
                return;
            }
            let detail = aws["engine"]["detail"].as_str().unwrap();
            assert!(detail.starts_with("the LiteLLM engine is starting ("), "{aws}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("LiteLLM never got ready\n{}\n{}", self.gateway.log(), self.litellm_log());
    }

    fn litellm_log(&self) -> String {
        std::fs::read_to_string(self.sandbox.gatehouse_home().join("logs/litellm.log")).unwrap_or_default()
    }

    /// A Messages request as Claude Code sends it, with its subscription login.
    async fn send(&self, stream: bool) -> reqwest::Response {
        let body = json!({ "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": "hi"}] });
        self.http
            .post(format!("{}/v1/messages?beta=true", self.gateway.base_url))
            .header("x-gatehouse-key", &self.key)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "oauth-2025-04-20,claude-code-20250219")
            .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// LiteLLM's own cost and output tokens of the request it served as
/// `call_id`, from its callback's row in the ledger (waiting for it: the
/// callback runs after the response).
fn litellm_price(sandbox: &Sandbox, call_id: &str) -> (Option<f64>, Option<i64>) {
    let ledger = rusqlite::Connection::open(sandbox.ledger_file()).unwrap();
    wait_for("LiteLLM's callback to write its cost", 20, || {
        ledger
            .query_row("SELECT response_cost, output_tokens FROM engine_costs WHERE call_id = ?1", [call_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .ok()
    })
}

/// No file under `dir` holds `secret`.
fn nowhere_in(dir: &Path, secret: &str) {
    let found = files_containing(dir, secret);
    assert!(found.is_empty(), "a secret is written in {found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_up_subscription_falls_over_to_bedrock_through_litellm_signed_and_in_the_ledger() {
    let rig = rig().await;
    rig.subscription.push(Scenario::RateLimited);
    let response = rig.send(false).await;
    let status = response.status();
    assert_eq!(header(&response, "x-gatehouse-upstream"), "aws");
    assert_eq!(header(&response, "x-gatehouse-failover"), "anthropic: the subscription's window is used up");
    let message: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{message:#}\n{}", rig.litellm_log());
    assert_eq!(message["content"][0]["text"], ANSWER);

    // Bedrock got it: the model in the path (the region's inference profile),
    // Bedrock's body, signed with the upstream's key ID for us-east-1, and
    // nothing of Claude Code's credentials.
    let seen = rig.bedrock.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let call = &seen[0];
    assert_eq!(call.action, "invoke");
    assert_eq!(call.model, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    assert_eq!(call.body["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(call.body["messages"][0]["content"], "hi");
    let authorization = call.header("authorization").unwrap();
    assert!(
        authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/"))
            && authorization.contains("/us-east-1/bedrock/aws4_request"),
        "{authorization}"
    );
    let everything = format!("{:?}", call);
    for secret in [OAUTH_TOKEN, AWS_SECRET, "sk-gatehouse-"] {
        assert!(!everything.contains(secret), "Bedrock was sent {secret}: {everything}");
    }

    // The ledger: the client's model, served by `aws`, billed, at Gatehouse's prices.
    let rows = rig.sandbox.ledger_rows(1);
    let row = &rows[0];
    assert_eq!((row.upstream.as_str(), row.model.as_str(), row.status), ("aws", "claude-sonnet-4-5", 200));
    let usage = BedrockUsage::default();
    assert_eq!(
        (row.input_tokens, row.output_tokens, row.cache_write_5m_tokens, row.cache_read_tokens),
        (usage.input_tokens, usage.output_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens)
    );
    // Sonnet 4.5: $3 in, $15 out, $3.75 cache write, $0.30 cache read per million.
    let expected = (120.0 * 3.0 + 9.0 * 15.0 + 40.0 * 3.75 + 300.0 * 0.3) / 1e6;
    assert!((row.cost_usd.unwrap() - expected).abs() < 1e-12, "{row:?}");
    assert_ne!(row.flags & flags::BILLED, 0, "Bedrock is billed: {row:?}");
    assert_eq!(
        flags::failover_reason(row.flags).as_deref(),
        Some("failed over: the subscription's window was used up"),
        "{row:?}"
    );

    // LiteLLM's callback put its own price beside the row, under LiteLLM's call id.
    let call_id = row.request_id.clone().expect("LiteLLM's call id is the request's id");
    let (litellm_cost, litellm_output) = litellm_price(&rig.sandbox, &call_id);
    assert_eq!(litellm_output, Some(usage.output_tokens as i64));
    assert!(litellm_cost.is_some_and(|cost| cost > 0.0), "LiteLLM priced it: {litellm_cost:?}");

    // A stream, the same way: Bedrock's event stream comes back as Anthropic's SSE.
    let response = rig.send(true).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-gatehouse-upstream"), "aws");
    let text = response.text().await.unwrap();
    assert!(text.contains("message_stop") && text.contains("Bedrock mock"), "{text}");
    assert_eq!(rig.bedrock.requests().last().unwrap().action, "invoke-with-response-stream");
    let rows = rig.sandbox.ledger_rows(2);
    let streamed = rows.iter().find(|row| row.streamed).expect("the stream's row");
    assert_eq!((streamed.upstream.as_str(), streamed.output_tokens), ("aws", usage.output_tokens), "{rows:?}");
    assert!(streamed.complete, "{streamed:?}");
    let (_, litellm_output) = litellm_price(&rig.sandbox, streamed.request_id.as_deref().unwrap());
    assert_eq!(litellm_output, Some(usage.output_tokens as i64), "the callback sees streams too");

    // `engine litellm status` shows where LiteLLM's prices differ from the
    // ledger's: it charges the 10% premium of Bedrock's regional profiles.
    let status: Value = serde_json::from_str(&rig.sandbox.run_ok(&["engine", "litellm", "status", "--json"])).unwrap();
    assert_eq!(status["prices"]["compared"], 2, "{status:#}");
    let disagreement = &status["prices"]["disagreements"][1];
    assert_eq!(disagreement["request_id"], call_id.as_str(), "{status:#}");
    let litellm = disagreement["litellm_usd"].as_f64().unwrap();
    assert!((litellm / expected - 1.1).abs() < 1e-6, "LiteLLM's ${litellm} against ${expected}");
    let text = rig.sandbox.run_ok(&["engine", "litellm", "status"]);
    assert!(text.contains("Prices: LiteLLM's differ from Gatehouse's for 2 of 2 requests"), "{text}");

    // OpenAI's Chat Completions go to Bedrock the same way (the route's
    // subscription is passed by: it never serves them), priced and flagged.
    let response = rig
        .http
        .post(format!("{}/v1/chat/completions", rig.gateway.base_url))
        .bearer_auth(&rig.key)
        .json(&json!({ "model": "claude-sonnet-4-5", "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}] }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "x-gatehouse-upstream"), "aws");
    let completion: Value = response.json().await.unwrap();
    assert_eq!(completion["choices"][0]["message"]["content"], ANSWER, "{completion:#}");
    assert_eq!(completion["usage"]["completion_tokens"], usage.output_tokens, "{completion:#}");
    let call = rig.bedrock.requests().pop().unwrap();
    assert_eq!(
        (call.action.as_str(), call.model.as_str()),
        ("converse", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    );
    let streamed = rig
        .http
        .post(format!("{}/v1/chat/completions", rig.gateway.base_url))
        .bearer_auth(&rig.key)
        .json(&json!({ "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true,
            "messages": [{"role": "user", "content": "hi"}] }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(streamed.contains("Bedrock") && streamed.trim_end().ends_with("data: [DONE]"), "{streamed}");
    assert_eq!(rig.bedrock.requests().pop().unwrap().action, "converse-stream");
    let rows = rig.sandbox.ledger_rows(4);
    let chats: Vec<_> = rows.iter().filter(|row| row.flags & flags::CHAT_COMPLETIONS != 0).collect();
    assert_eq!(chats.len(), 2, "{rows:?}");
    for chat in chats {
        assert_eq!((chat.upstream.as_str(), chat.status, chat.complete), ("aws", 200, true), "{chat:?}");
        assert!((chat.cost_usd.unwrap() - expected).abs() < 1e-12, "{chat:?}");
    }

    // No secret in any file Gatehouse wrote: config, generated YAML, logs, ledger.
    let home = rig.sandbox.gatehouse_home();
    let yaml = std::fs::read_to_string(home.join("state/litellm-config.yaml")).unwrap();
    assert!(yaml.contains("os.environ/GATEHOUSE_UPSTREAM_0_AWS_AWS_SECRET_ACCESS_KEY"), "{yaml}");
    let config = std::fs::read_to_string(rig.sandbox.config_file()).unwrap();
    for secret in [AWS_SECRET, AWS_KEY_ID, OAUTH_TOKEN, "sk-gatehouse-"] {
        assert!(!config.contains(secret) && !yaml.contains(secret), "{secret}");
        nowhere_in(&home.join("state"), secret);
        nowhere_in(&home.join("logs"), secret);
        for ledger in ["ledger.sqlite3", "ledger.sqlite3-wal"] {
            let bytes = std::fs::read(home.join("data").join(ledger)).unwrap_or_default();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} is in {ledger}");
        }
        assert!(!rig.gateway.log().contains(secret), "the gateway logged {secret}");
    }
    drop(rig.subscription);
}

/// The real Claude Code CLI, logged in to a subscription whose window is
/// used up, keeps working on Bedrock; the ledger's cost is Claude Code's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_keeps_working_on_bedrock_and_the_ledger_costs_what_claude_code_says() {
    let rig = rig().await;
    rig.sandbox.run_ok(&["claude", "configure", "--base-url", &rig.gateway.base_url]);
    rig.subscription.push(Scenario::RateLimited);
    let result =
        claude_print(&rig.sandbox, &ClaudeAuth::Subscription(OAUTH_TOKEN), "hello", &["--model", "claude-haiku-4-5"]);
    assert_eq!(result["is_error"], false, "{result}\n{}", rig.litellm_log());
    assert_eq!(result["result"], ANSWER, "{result}");

    let served = rig.bedrock.requests();
    assert!(!served.is_empty());
    assert!(served.iter().all(|call| call.model == "us.anthropic.claude-haiku-4-5-20251001-v1:0"), "{served:#?}");
    assert!(!format!("{served:?}").contains(OAUTH_TOKEN), "the subscription's token went to Bedrock");
    let rows = rig.sandbox.ledger_rows(served.len());
    assert!(rows.iter().all(|row| row.upstream == "aws" && row.status == 200), "{rows:?}");
    let ledger: f64 = rows.iter().filter_map(|row| row.cost_usd).sum();
    let claude_code = result["total_cost_usd"].as_f64().unwrap();
    assert!((ledger - claude_code).abs() < 1e-9, "ledger ${ledger} against Claude Code's ${claude_code}: {rows:?}");
    rig.sandbox.run_ok(&["claude", "remove"]);
}

/// Without LiteLLM installed, the gateway runs and the subscription
/// serves; a request only Bedrock could serve gets a 503 in Anthropic's
/// shape that says how to install the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_litellm_installed_bedrock_says_how_to_install_it() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let config = "[[upstreams]]\nname = \"aws\"\nkind = \"bedrock\"\nregion = \"eu-west-1\"\n\
                  secret = \"env:GATEHOUSE_TEST_AWS\"\n\n[[routes]]\nmodels = \"claude-haiku-*\"\nupstreams = [\"aws\"]\n\n\
                  [[routes]]\nmodels = \"*\"\nupstreams = [\"anthropic\"]\n";
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let gateway = sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_AWS", "AKIAFAKE:secret")]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let send = |model: &str| {
        http.post(format!("{}/v1/messages", gateway.base_url))
            .header("x-gatehouse-key", &key)
            .header("anthropic-version", "2023-06-01")
            .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
            .json(&json!({ "model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}] }))
            .send()
    };
    let served = send("claude-sonnet-4-5").await.unwrap();
    assert_eq!(served.status(), 200, "the subscription serves as ever");
    let refused = send("claude-haiku-4-5").await.unwrap();
    assert_eq!(refused.status(), 503);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "overloaded_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("upstream `aws` cannot serve this request now: the LiteLLM engine cannot start: LiteLLM is not installed; run `gatehouse engine litellm install`"),
        "{message}"
    );
    let status: Value = http.get(format!("{}/status", gateway.base_url)).send().await.unwrap().json().await.unwrap();
    let aws = &status["upstreams"][1];
    assert_eq!(
        (aws["engine"]["ready"].as_bool(), aws["base_url"].as_str()),
        (Some(false), Some("https://bedrock-runtime.eu-west-1.amazonaws.com")),
        "{aws}"
    );
    assert!(subscription.requests().iter().all(|r| r.header("authorization").is_some()));

    // Installed since, it starts with the next request that needs it: no
    // restart of the gateway.
    install_shared_venv(&sandbox);
    let waiting = send("claude-haiku-4-5").await.unwrap();
    assert_eq!(waiting.status(), 503);
    for _ in 0..600 {
        let status: Value =
            http.get(format!("{}/status", gateway.base_url)).send().await.unwrap().json().await.unwrap();
        if status["upstreams"][1]["engine"]["ready"] == true {
            assert_eq!(status["litellm"]["run"], "ready", "{status:#}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("LiteLLM never started once installed\n{}", gateway.log());
}

/// LiteLLM lives exactly as long as the gateway: it stops with it, and
/// with a gateway that is killed; its secrets are in its environment, never
/// in its command line, which every user can read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litellm_stops_with_the_gateway_and_its_command_line_holds_no_secret() {
    let first = rig().await;
    let pids = litellm_pids(&first.sandbox.gatehouse_home());
    assert!(!pids.is_empty(), "LiteLLM runs");
    for pid in &pids {
        let cmdline = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap()).into_owned();
        for secret in [AWS_SECRET, AWS_KEY_ID, "sk-gatehouse-"] {
            assert!(!cmdline.contains(secret), "{secret} in LiteLLM's command line: {cmdline:?}");
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let environ = String::from_utf8_lossy(&environ);
        assert!(environ.contains(AWS_SECRET), "the credentials reach LiteLLM through its environment");
        assert!(!environ.contains("GATEHOUSE_TEST_AWS="), "LiteLLM's environment is its own, not the gateway's");
    }
    let Rig { gateway, sandbox, .. } = first;
    let exit = gateway.stop();
    assert!(exit.success(), "{exit:?}");
    wait_for("LiteLLM to stop with the gateway", 20, || {
        litellm_pids(&sandbox.gatehouse_home()).is_empty().then_some(())
    });

    // A gateway killed outright takes LiteLLM with it.
    let again = rig().await;
    let home = again.sandbox.gatehouse_home();
    assert!(!litellm_pids(&home).is_empty());
    let killed = std::process::Command::new("kill").args(["-KILL", &again.gateway.pid().to_string()]).status().unwrap();
    assert!(killed.success());
    wait_for("LiteLLM to stop with the killed gateway", 20, || litellm_pids(&home).is_empty().then_some(()));
}

/// The LiteLLM processes started on this sandbox's generated config.
fn litellm_pids(home: &Path) -> Vec<u32> {
    let config = home.join("state/litellm-config.yaml");
    let needle = config.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle.as_str()))
        })
        .collect()
}

/// `gatehouse auth add` for a `bedrock` upstream's secret checks that it is
/// AWS credentials before storing it, and never shows it.
#[test]
fn auth_add_checks_aws_credentials_for_a_bedrock_upstream() {
    let sandbox = Sandbox::new();
    let config = "[secrets]\nstore = \"file\"\n\n[[upstreams]]\nname = \"aws\"\nkind = \"bedrock\"\n\
                  region = \"us-east-1\"\nsecret = \"file:aws\"\n";
    std::fs::write(sandbox.config_file(), config).unwrap();
    let add = |input: &str| {
        let mut child = sandbox
            .gatehouse(&["auth", "add", "aws"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let refused = add("only-one-part-FAKESECRET\n");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("the secret of upstream `aws` is not AWS credentials"), "{stderr}");
    assert!(!stderr.contains("FAKESECRET"), "the secret is shown: {stderr}");
    assert!(files_containing(&sandbox.gatehouse_home(), "FAKESECRET").is_empty(), "a refused secret was kept");

    let stored = add(&format!("{AWS_KEY_ID}:{AWS_SECRET}\n"));
    assert!(stored.status.success(), "{}", String::from_utf8_lossy(&stored.stderr));
    let list = sandbox.run_ok(&["auth", "list"]);
    assert!(list.contains("aws") && !list.contains(AWS_SECRET), "{list}");
}
