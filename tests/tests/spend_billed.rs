//! `gatehouse spend` telling billed dollars (requests served with a paid
//! credential, `flags::BILLED`) from subscription-equivalent ones, on a real
//! ledger file: made by the core's own `ledger::open` (every migration, the
//! rollup's triggers included) and filled with rows as the gateway and the
//! transcript import store them, then read by the real binary as a table,
//! JSON and CSV, over its whole span and over a range that starts inside a
//! rollup slot (read from the rows there). And end to end: a request served
//! by a paid `[[upstreams]]` upstream through the real gateway is billed, one
//! served by the subscription login is not.

use gatehouse::ledger::flags;
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use serde_json::{Value, json};

/// 2026-11-10T12:00:00Z.
const T: i64 = 1_794_312_000_000;

struct Request {
    /// Milliseconds after `T`.
    at_ms: i64,
    transcript: bool,
    client: Option<&'static str>,
    model: &'static str,
    cost_usd: Option<f64>,
    flags: i64,
}

/// A ledger with two billed gateway requests of the `ci` key (one without
/// a price), a subscription one and a billed one of `claude-code`, one as
/// small as a nano-dollar, and a transcript row (subscription-equivalent).
fn ledger(sandbox: &Sandbox) {
    let conn = gatehouse::ledger::open(&sandbox.ledger_file()).unwrap();
    let requests = [
        Request {
            at_ms: 0,
            transcript: false,
            client: Some("claude-code"),
            model: "claude-sonnet-4-5",
            cost_usd: Some(0.5),
            flags: flags::WINDOW_HEADERS,
        },
        Request {
            at_ms: 1,
            transcript: false,
            client: Some("ci"),
            model: "claude-sonnet-4-5",
            cost_usd: Some(0.25),
            flags: flags::BILLED,
        },
        // 1.4 nano-dollars: one nano-dollar in every sum.
        Request {
            at_ms: 2,
            transcript: false,
            client: Some("ci"),
            model: "claude-sonnet-4-5",
            cost_usd: Some(0.000_000_001_4),
            flags: flags::BILLED,
        },
        Request { at_ms: 3, transcript: true, client: None, model: "claude-sonnet-4-5", cost_usd: Some(1.0), flags: 0 },
        Request {
            at_ms: 4,
            transcript: false,
            client: Some("ci"),
            model: "mystery-model",
            cost_usd: None,
            flags: flags::BILLED,
        },
        // 12:20:07, inside the slot 12:15 to 12:30.
        Request {
            at_ms: 1_207_000,
            transcript: false,
            client: Some("claude-code"),
            model: "claude-sonnet-4-5",
            cost_usd: Some(0.125),
            flags: flags::BILLED,
        },
    ];
    let name = |value: &str| -> i64 {
        conn.execute("INSERT OR IGNORE INTO names (value) VALUES (?1)", [value]).unwrap();
        conn.query_row("SELECT id FROM names WHERE value = ?1", [value], |row| row.get(0)).unwrap()
    };
    for (n, request) in requests.iter().enumerate() {
        let ts = T + request.at_ms;
        conn.execute(
            "INSERT INTO requests (id, source, request_id, client, model, upstream, status, streamed, complete,
             input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd,
             price_version, flags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 200, 1, 1, 10, 20, 0, 0, 0, ?7, ?8, ?9)",
            rusqlite::params![
                (ts << 10) + n as i64,
                i64::from(request.transcript),
                format!("msg_{n}"),
                request.client.map(name),
                name(request.model),
                (!request.transcript).then(|| name("anthropic")),
                request.cost_usd,
                name("builtin"),
                request.flags,
            ],
        )
        .unwrap();
    }
}

/// A JSON dollar figure in nano-dollars.
fn nanos(value: &Value) -> i64 {
    (value.as_f64().unwrap_or_else(|| panic!("not a number: {value}")) * 1e9).round() as i64
}

/// Cost, billed and subscription-equivalent nano-dollars, and billed requests.
type Split = (i64, i64, i64, u64);

/// The [`Split`] of a JSON total or group, checking that billed and
/// subscription add up to the cost exactly.
fn split(totals: &Value) -> Split {
    let (cost, billed, subscription) =
        (nanos(&totals["cost_usd"]), nanos(&totals["billed_usd"]), nanos(&totals["subscription_usd"]));
    assert_eq!(billed + subscription, cost, "{totals}");
    (cost, billed, subscription, totals["billed_requests"].as_u64().unwrap())
}

#[test]
fn spend_shows_billed_and_subscription_equivalent_dollars_in_the_table_json_and_csv() {
    let sandbox = Sandbox::new();
    ledger(&sandbox);

    let report: Value = serde_json::from_str(&sandbox.run_ok(&["spend", "--json", "--by", "client"])).unwrap();
    assert_eq!(split(&report["total"]), (1_875_000_001, 375_000_001, 1_500_000_000, 4), "{report:#}");
    assert_eq!(report["total"]["unpriced_requests"], 1);
    let groups: Vec<(Option<&str>, Split)> =
        report["groups"].as_array().unwrap().iter().map(|group| (group["key"].as_str(), split(group))).collect();
    assert_eq!(
        groups,
        [
            // The transcript row: no key, so subscription-equivalent.
            (None, (1_000_000_000, 0, 1_000_000_000, 0)),
            (Some("claude-code"), (625_000_000, 125_000_000, 500_000_000, 1)),
            (Some("ci"), (250_000_001, 250_000_001, 0, 3)),
        ]
    );

    // From 12:20 on: inside a slot, so read from the row itself.
    let since: Value =
        serde_json::from_str(&sandbox.run_ok(&["spend", "--json", "--since", "2026-11-10T12:20:00Z"])).unwrap();
    assert_eq!(split(&since["total"]), (125_000_000, 125_000_000, 0, 1), "{since:#}");
    // Until 12:20: the whole slots before it from the rollup, the rest from rows.
    let until: Value =
        serde_json::from_str(&sandbox.run_ok(&["spend", "--json", "--until", "2026-11-10T12:20:00Z"])).unwrap();
    assert_eq!(split(&until["total"]), (1_750_000_001, 250_000_001, 1_500_000_000, 3), "{until:#}");

    let table = sandbox.run_ok(&["spend", "--by", "client"]);
    let header = table.lines().find(|line| line.contains("requests")).unwrap_or_else(|| panic!("{table}"));
    assert!(header.contains("billed") && header.contains("subscription"), "{table}");
    let cells = |key: &str| -> Vec<String> {
        table
            .lines()
            .map(|line| line.split(['│', '┆']).map(|cell| cell.trim().to_string()).filter(|cell| !cell.is_empty()))
            .map(Iterator::collect::<Vec<String>>)
            .find(|cells| cells.first().is_some_and(|first| first == key))
            .unwrap_or_else(|| panic!("no row {key}: {table}"))
    };
    assert_eq!(cells("ci")[1..5], ["3", "$0.2500 *", "$0.2500", "$0.0000"], "{table}");
    assert_eq!(cells("claude-code")[1..5], ["2", "$0.6250", "$0.1250", "$0.5000"], "{table}");
    assert_eq!(cells("total")[1..5], ["6", "$1.8750 *", "$0.3750", "$1.5000"], "{table}");
    assert!(table.contains("billed: served with an API key"), "the terms are explained: {table}");

    let csv = sandbox.run_ok(&["spend", "--csv"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let total: Vec<&str> = lines.last().unwrap().split(',').collect();
    let column = |name: &str| total[header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{csv}"))];
    assert_eq!(
        (column("cost_usd"), column("billed_usd"), column("subscription_usd"), column("billed_requests")),
        ("1.875000", "0.375000", "1.500000", "4"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_gateway_a_paid_upstreams_request_is_billed_and_the_subscriptions_is_not() {
    let subscription = MockAnthropic::start().await.expect("mock");
    let paid = MockAnthropic::start().await.expect("mock");
    let sandbox = Sandbox::new();
    let config = format!(
        r#"
[[upstreams]]
name = "paid"
kind = "compatible"
base_url = "{}"
secret = "env:GATEHOUSE_TEST_PAID_KEY"

[[routes]]
models = "claude-3-5-haiku-*"
upstreams = ["paid"]

[[routes]]
models = "*"
upstreams = ["anthropic"]
"#,
        paid.base_url()
    );
    std::fs::write(sandbox.config_file(), config).unwrap();
    let key = sandbox.issue_key("tester");
    let gateway =
        sandbox.start_gateway(&subscription.base_url(), &[("GATEHOUSE_TEST_PAID_KEY", "sk-FAKE-paid-upstream-key")]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for model in ["claude-3-5-haiku-20241022", "claude-sonnet-4-5"] {
        let response = http
            .post(format!("{}/v1/messages", gateway.base_url))
            .header("x-gatehouse-key", &key)
            .header("anthropic-version", "2023-06-01")
            .header("authorization", "Bearer sk-ant-oat01-FAKE-subscription-token")
            .header("anthropic-beta", "oauth-2025-04-20")
            .json(&json!({ "model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{model}");
        response.bytes().await.unwrap();
    }
    let rows = sandbox.ledger_rows(2);
    let billed: Vec<(&str, bool)> =
        rows.iter().map(|row| (row.upstream.as_str(), row.flags & flags::BILLED != 0)).collect();
    assert_eq!(billed, [("paid", true), ("anthropic", false)], "{rows:?}");

    let report: Value = serde_json::from_str(&sandbox.run_ok(&["spend", "--json", "--by", "model"])).unwrap();
    let group = |model: &str| -> Split {
        split(report["groups"].as_array().unwrap().iter().find(|group| group["key"] == model).unwrap())
    };
    let (haiku, sonnet) = (group("claude-3-5-haiku-20241022"), group("claude-sonnet-4-5"));
    assert!(haiku.0 > 0 && sonnet.0 > 0, "both priced: {report:#}");
    assert_eq!(haiku, (haiku.0, haiku.0, 0, 1), "the paid upstream's request is billed");
    assert_eq!(sonnet, (sonnet.0, 0, sonnet.0, 0), "the subscription's is subscription-equivalent");
    assert_eq!(split(&report["total"]), (haiku.0 + sonnet.0, haiku.0, sonnet.0, 1));
}
