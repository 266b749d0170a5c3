//! `gatehouse import` against transcripts the real Claude Code CLI wrote:
//! what went through the gateway is never imported again, what bypassed it
//! is added exactly once (by the CLI, or by the gateway's own import at
//! start-up), and the ledger's totals equal Claude Code's own.

use gatehouse_e2e::claude_cli::{ClaudeAuth, claude, claude_print};
use gatehouse_e2e::harness::{Sandbox, wait_for};
use gatehouse_e2e::mock_anthropic::{MockAnthropic, MockUsage};
use serde_json::Value;

const API_KEY: &str = "sk-ant-api03-FAKE-e2e-transcript-import-0123456789";

/// A ledger row, as this test compares them.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    source: i64,
    request_id: Option<String>,
    session: Option<String>,
    model: String,
    cost_usd: Option<f64>,
    input_tokens: u64,
    output_tokens: u64,
    cache_write_tokens: u64,
    cache_write_1h_tokens: u64,
    cache_read_tokens: u64,
}

fn rows(sandbox: &Sandbox) -> Vec<Row> {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(sandbox.ledger_file(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let Ok(mut statement) = conn.prepare(
        // The view shows each row as sent (the table keeps a `req_…` id in
        // fewer bytes).
        "SELECT source = 'transcript', request_id, session_id, model, cost_usd, input_tokens, output_tokens,
                cache_write_5m_tokens + cache_write_1h_tokens, cache_write_1h_tokens, cache_read_tokens
         FROM request_rows ORDER BY id",
    ) else {
        return Vec::new();
    };
    statement
        .query_map([], |row| {
            Ok(Row {
                source: row.get(0)?,
                request_id: row.get(1)?,
                session: row.get(2)?,
                model: row.get(3)?,
                cost_usd: row.get(4)?,
                input_tokens: row.get(5)?,
                output_tokens: row.get(6)?,
                cache_write_tokens: row.get(7)?,
                cache_write_1h_tokens: row.get(8)?,
                cache_read_tokens: row.get(9)?,
            })
        })
        .expect("reading the ledger")
        .collect::<Result<_, _>>()
        .expect("ledger rows")
}

fn messages_requests(mock: &MockAnthropic) -> usize {
    mock.requests().iter().filter(|r| r.path_and_query.starts_with("/v1/messages")).count()
}

fn import(sandbox: &Sandbox) -> Value {
    serde_json::from_str(&sandbox.run_ok(&["import", "--json"])).expect("import --json prints JSON")
}

/// Claude Code pointed straight at the upstream, as with the gateway off.
fn claude_direct(sandbox: &Sandbox, mock: &MockAnthropic, prompt: &str, extra: &[&str]) -> Value {
    let mut args = vec!["-p", prompt, "--output-format", "json"];
    args.extend_from_slice(extra);
    let output = claude(sandbox, &ClaudeAuth::ApiKey(API_KEY), &args)
        .env("ANTHROPIC_BASE_URL", mock.base_url())
        .output()
        .expect("running claude");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "claude printed no JSON (exit {:?}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(result["is_error"], false, "claude failed: {result}");
    result
}

/// The session's rows hold exactly what Claude Code says the run used.
fn assert_rows_match(result: &Value, rows: &[Row]) {
    let session = result["session_id"].as_str().expect("session_id");
    let rows: Vec<&Row> = rows.iter().filter(|r| r.session.as_deref() == Some(session)).collect();
    assert!(!rows.is_empty(), "no row of session {session}");
    let cost: f64 = rows.iter().map(|r| r.cost_usd.expect("every row priced")).sum();
    let claude_cost = result["total_cost_usd"].as_f64().expect("total_cost_usd");
    assert!((cost - claude_cost).abs() < 1e-9, "Claude Code says ${claude_cost}, the ledger ${cost}: {rows:#?}");
    let usage = &result["usage"];
    let sum = |f: fn(&Row) -> u64| rows.iter().map(|r| f(r)).sum::<u64>();
    assert_eq!(usage["input_tokens"], sum(|r| r.input_tokens));
    assert_eq!(usage["output_tokens"], sum(|r| r.output_tokens));
    assert_eq!(usage["cache_read_input_tokens"], sum(|r| r.cache_read_tokens));
    assert_eq!(usage["cache_creation_input_tokens"], sum(|r| r.cache_write_tokens));
    assert_eq!(usage["cache_creation"]["ephemeral_1h_input_tokens"], sum(|r| r.cache_write_1h_tokens));
}

fn total_cost(results: &[&Value]) -> f64 {
    results.iter().map(|r| r["total_cost_usd"].as_f64().expect("total_cost_usd")).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcripts_add_exactly_what_the_gateway_did_not_record() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    sandbox.run_ok(&["claude", "configure", "--base-url", &gateway.base_url]);
    let auth = ClaudeAuth::ApiKey(API_KEY);

    // 1. Through the gateway: the import finds every message already recorded.
    let first = claude_print(&sandbox, &auth, "say hi", &[]);
    mock.set_usage(MockUsage {
        input_tokens: 2345,
        output_tokens: 678,
        cache_creation_5m: 0,
        cache_creation_1h: 40_000,
        cache_read: 91,
    });
    let second = claude_print(&sandbox, &auth, "say hi again", &["--model", "claude-sonnet-4-5"]);
    let via = messages_requests(&mock);
    let recorded = wait_for("the gateway's rows", 20, || {
        let rows = rows(&sandbox);
        (rows.len() == via).then_some(rows)
    });
    assert!(recorded.iter().all(|r| r.source == 0 && r.request_id.is_some()), "{recorded:#?}");
    assert_rows_match(&first, &recorded);
    assert_rows_match(&second, &recorded);

    let summary = import(&sandbox);
    assert_eq!(summary["rows_added"], 0, "the gateway recorded all of it: {summary}");
    assert_eq!(summary["rows_updated"], 0, "{summary}");
    assert_eq!(summary["messages_found"], via, "every request is in a transcript: {summary}");
    assert_eq!(summary["skipped_gateway"], via, "{summary}");
    assert_eq!(rows(&sandbox), recorded, "the import must leave the gateway's rows as they are");

    // 2. The gateway off, Claude Code straight at the upstream: added once.
    gateway.stop();
    sandbox.run_ok(&["claude", "remove"]);
    mock.set_usage(MockUsage::default());
    let third = claude_direct(&sandbox, &mock, "hello without the gateway", &[]);
    let fourth = claude_direct(&sandbox, &mock, "and again", &["--model", "claude-haiku-4-5"]);
    let direct = messages_requests(&mock) - via;
    assert!(direct >= 2);

    let summary = import(&sandbox);
    assert_eq!(summary["rows_added"], direct, "{summary}");
    assert_eq!(
        (&summary["skipped_gateway"], &summary["files_unchanged"]),
        (&Value::from(0), &Value::from(2)),
        "{summary}"
    );
    let after = rows(&sandbox);
    assert_eq!(after[..recorded.len()], recorded[..], "the gateway's rows are untouched");
    assert_eq!(after.len(), via + direct);
    assert!(after[via..].iter().all(|r| r.source == 1), "{after:#?}");
    assert_rows_match(&third, &after);
    assert_rows_match(&fourth, &after);

    // A second import reads nothing and adds nothing.
    let summary = import(&sandbox);
    assert_eq!(summary["rows_added"], 0, "{summary}");
    assert_eq!(summary["rows_updated"], 0, "{summary}");
    assert_eq!(summary["files_read"], 0, "{summary}");
    assert_eq!(rows(&sandbox), after);

    // 3. The gateway imports at start-up on its own: one more run without
    // it, then it starts and adds that run, and nothing else.
    let fifth = claude_direct(&sandbox, &mock, "one more without the gateway", &[]);
    let direct_after = messages_requests(&mock) - via - direct;
    let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
    let session = fifth["session_id"].as_str().unwrap().to_string();
    let all = wait_for("the gateway's start-up import", 20, || {
        let rows = rows(&sandbox);
        (rows.iter().filter(|r| r.session.as_deref() == Some(&session)).count() == direct_after).then_some(rows)
    });
    assert_eq!(all.len(), via + direct + direct_after, "{all:#?}\n{}", gateway.log());
    assert_rows_match(&fifth, &all);
    let summary = import(&sandbox);
    assert_eq!((&summary["rows_added"], &summary["rows_updated"]), (&Value::from(0), &Value::from(0)), "{summary}");

    // Never twice: the ledger's total is Claude Code's own for every run.
    let ledger_total: f64 = rows(&sandbox).iter().map(|r| r.cost_usd.unwrap()).sum();
    let claude_total = total_cost(&[&first, &second, &third, &fourth, &fifth]);
    assert!((ledger_total - claude_total).abs() < 1e-9, "ledger ${ledger_total}, Claude Code ${claude_total}");
    assert!(rows(&sandbox).iter().all(|r| r.model.starts_with("claude-")));
    drop(gateway);
}

/// The race the other way round: the gateway records a request only after
/// the import took it from the transcript (a test hook holds the gateway's
/// ledger writer). The gateway's row replaces the transcript's; nothing is
/// counted twice at any moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_row_recorded_after_the_import_replaces_the_transcript_row() {
    let mock = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let hold = sandbox.dir.path().join("hold-the-ledger");
    std::fs::write(&hold, "").unwrap();
    let hold_env = ("GATEHOUSE_TEST_HOLD_LEDGER_WHILE", hold.to_str().unwrap());
    let gateway = sandbox.start_gateway(&mock.base_url(), &[hold_env]);
    sandbox.run_ok(&["claude", "configure", "--base-url", &gateway.base_url]);
    let result = claude_print(&sandbox, &ClaudeAuth::ApiKey(API_KEY), "say hi", &[]);
    let via = messages_requests(&mock);
    assert!(rows(&sandbox).is_empty(), "the gateway's writer is held");

    let summary = import(&sandbox);
    assert_eq!(summary["rows_added"], via, "{summary}");
    let imported = rows(&sandbox);
    assert!(imported.iter().all(|r| r.source == 1), "{imported:#?}");
    assert_rows_match(&result, &imported);

    std::fs::remove_file(&hold).unwrap();
    let recorded = wait_for("the gateway's rows in place of the transcript's", 20, || {
        let rows = rows(&sandbox);
        (rows.len() == via && rows.iter().all(|r| r.source == 0)).then_some(rows)
    });
    assert_rows_match(&result, &recorded);
    let ids = |rows: &[Row]| {
        let mut ids: Vec<_> = rows.iter().map(|r| r.request_id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&imported), ids(&recorded), "the same requests, now the gateway's");
    let summary = import(&sandbox);
    assert_eq!((&summary["rows_added"], &summary["rows_updated"]), (&Value::from(0), &Value::from(0)), "{summary}");
    assert_eq!(rows(&sandbox), recorded);
    drop(gateway);
}
