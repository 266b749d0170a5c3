//! A generated ledger: months of a heavy Claude Code user's requests,
//! written the way real ones are, for the ledger bench and dev tools.
//!
//! Gateway rows go through the real [`LedgerWriter`]: each is an
//! [`Exchange`] with a JSON response body (usage as Anthropic reports it),
//! Claude Code's hint headers and the subscription's unified rate-limit
//! headers, so prices, project lookup, cache-rebuild flags, window change
//! points and the row layout are the writer's own, and so is the page fill
//! of its batched commits. Rows of the weeks before "install" and of a few
//! gaps (proxy off) are transcript rows (`source = 1`), inserted as the
//! import does: the history first, the gaps after the gateway's rows.
//!
//! The content is a function of the [`Spec`] alone (a seeded generator;
//! times relative to `end`), so two ledgers of one spec differ only by
//! `end`. Compiled with the `synth` feature; not part of the product.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::params;

use super::names;
use super::project::ProjectResolver;
use super::record::{Exchange, Outcome};
use super::writer::LedgerWriter;
use crate::anthropic::request::Hints;
use crate::pricing::PriceTable;
use crate::usage::Usage;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Rows in all (gateway and transcript).
    pub rows: u64,
    /// Days the rows span, ending at `end`.
    pub days: u32,
    pub seed: u64,
    /// The newest row is just before this.
    pub end: jiff::Timestamp,
}

impl Spec {
    /// The issue's ledger: a million rows over 90 days, ending now.
    pub fn million() -> Spec {
        Spec { rows: 1_000_000, days: 90, seed: 8, end: jiff::Timestamp::now() }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub gateway_rows: u64,
    pub transcript_rows: u64,
    pub sessions: u64,
    pub projects: u64,
}

/// The models of the generated sessions: (name, share of sessions). The
/// last has no price, so its rows have a NULL cost.
const MODELS: [(&str, u32); 4] =
    [("claude-sonnet-4-5", 55), ("claude-opus-4-6", 33), ("claude-haiku-4-5", 10), ("claude-nimbus-9", 2)];
/// Subagents' own models.
const SUBAGENT_MODELS: [&str; 2] = ["claude-haiku-4-5", "claude-sonnet-4-5"];
const AGENT_TYPES: [&str; 5] = ["Explore", "general-purpose", "Plan", "statusline-setup", "code-reviewer"];
const DEVICES: usize = 3;
const PROJECTS: usize = 40;
/// The 5-hour window resets this long after its first request.
const FIVE_HOURS_MS: i64 = 5 * 3600 * 1000;
const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;
/// Days of history before the gateway was installed: transcript rows only.
const HISTORY_DAYS: i64 = 7;
/// Gateway exchanges in flight at once; the writer's channel is unbounded.
const IN_FLIGHT: i64 = 20_000;

/// SplitMix64: small, fast and the same on every platform and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }

    /// True with probability `percent`/100 (fractions allowed).
    fn chance(&mut self, percent: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 10_000.0 < percent
    }

    /// Roughly log-normal: `median` times e^(spread·N(0,1)).
    fn log_normal(&mut self, median: f64, spread: f64) -> f64 {
        // Sum of four uniforms, centred: close enough to a normal.
        let normal = (0..4).map(|_| (self.next() >> 11) as f64 / (1u64 << 53) as f64).sum::<f64>() - 2.0;
        median * (spread * normal * 1.7).exp()
    }

    fn id(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut id = String::with_capacity(prefix.len() + len);
        id.push_str(prefix);
        for _ in 0..len {
            id.push(ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char);
        }
        id
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// One request of a session, before it is written.
struct Turn {
    at_ms: i64,
    session: u32,
    model: &'static str,
    class: &'static str,
    agent_type: Option<&'static str>,
    compaction: Option<&'static str>,
    prompt: u32,
    usage: Usage,
    ttfb_ms: u32,
    latency_ms: u32,
    /// 0: a normal answer; else an HTTP error status.
    error: u16,
    client_gone: bool,
    message: u64,
}

struct Session {
    id: String,
    device: usize,
    /// Whether it came through the gateway (else only its transcript knows it).
    proxied: bool,
}

/// Generates the ledger at `path` (which must not exist yet). Claude Code's
/// transcripts, which the writer reads each session's project from, are
/// faked in a temporary directory.
pub fn generate(path: &Path, spec: &Spec) -> anyhow::Result<Summary> {
    anyhow::ensure!(!path.exists(), "{} exists already; the generator writes a new ledger", path.display());
    let mut rng = Rng(spec.seed);
    let end_ms = spec.end.as_millisecond();
    let start_ms = end_ms - i64::from(spec.days) * 24 * 3600 * 1000;
    let projects: Vec<String> = (0..PROJECTS)
        .map(|i| {
            let owner = ["acme", "me", "oss", "work"][i % 4];
            format!("/home/dev/src/{owner}/{}-{i}", ["api", "web", "cli", "infra", "ml", "docs", "app", "lib"][i % 8])
        })
        .collect();
    let devices: Vec<String> = (0..DEVICES).map(|_| rng.id("", 64).to_lowercase()).collect();

    let (turns, sessions, project_of) = plan(&mut rng, spec, start_ms, end_ms);

    // The transcripts the writer reads projects from: one line with the cwd.
    let claude = tempfile::tempdir().context("creating a temporary Claude Code config directory")?;
    for (index, session) in sessions.iter().enumerate() {
        let project = &projects[project_of[index]];
        let folder = claude.path().join("projects").join(project.replace(['/', '.'], "-"));
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(format!("{}.jsonl", session.id)), format!("{{\"cwd\":\"{project}\"}}\n"))?;
    }

    let install_ms = start_ms + HISTORY_DAYS * 24 * 3600 * 1000;
    let prices = PriceTable::builtin();
    let mut summary =
        Summary { sessions: sessions.len() as u64, projects: projects.len() as u64, ..Summary::default() };
    // The import's first run: the weeks before install.
    {
        let mut conn = super::open(path)?;
        let tx = conn.transaction()?;
        for turn in turns.iter().filter(|t| t.at_ms < install_ms) {
            insert_transcript_row(&tx, &prices, turn, &sessions[turn.session as usize], &projects, &project_of)?;
            summary.transcript_rows += 1;
        }
        tx.commit()?;
    }

    let budgets = Budgets::of(&turns, &prices, install_ms);
    let mut windows = Windows::default();
    let (sender, writer) = LedgerWriter::spawn(path, prices.clone(), ProjectResolver::new(claude.path().into()))?;
    let reader = rusqlite::Connection::open(path)?;
    let mut sent: i64 = 0;
    let first_id: i64 = reader.query_row("SELECT COALESCE(MAX(seq), 0) FROM request_feed", [], |row| row.get(0))?;
    for turn in turns.iter().filter(|t| t.at_ms >= install_ms && sessions[t.session as usize].proxied) {
        let session = &sessions[turn.session as usize];
        let headers = windows.headers(turn, &prices, &budgets);
        let rejected = headers.1;
        sender.record(exchange(turn, session, &devices, headers.0, rejected, &mut rng));
        sent += 1;
        summary.gateway_rows += 1;
        if sent % IN_FLIGHT == 0 {
            wait_for(&reader, first_id + sent - IN_FLIGHT / 2)?;
        }
    }
    drop(sender);
    writer.join();
    drop(reader);

    // The import's later runs: what the gateway did not see.
    let mut conn = super::open(path)?;
    let tx = conn.transaction()?;
    for turn in turns.iter().filter(|t| t.at_ms >= install_ms && !sessions[t.session as usize].proxied) {
        insert_transcript_row(&tx, &prices, turn, &sessions[turn.session as usize], &projects, &project_of)?;
        summary.transcript_rows += 1;
    }
    tx.commit()?;
    // Closing the last connection checkpoints the WAL into the file.
    conn.close().map_err(|(_, error)| error)?;
    Ok(summary)
}

/// Waits until the writer has recorded rows up to `id` in `request_feed`.
fn wait_for(reader: &rusqlite::Connection, id: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let max: i64 = reader.query_row("SELECT COALESCE(MAX(seq), 0) FROM request_feed", [], |row| row.get(0))?;
        if max >= id {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the ledger writer stopped at row {max}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Plans every session and its turns, in time order.
fn plan(rng: &mut Rng, spec: &Spec, start_ms: i64, end_ms: i64) -> (Vec<Turn>, Vec<Session>, Vec<usize>) {
    let mut turns = Vec::with_capacity(spec.rows as usize + 1000);
    let mut sessions = Vec::new();
    let mut project_of = Vec::new();
    let span_ms = (end_ms - start_ms) as u64;
    let mut prompts = 0u32;
    let mut message = 0u64;
    // Gaps while the proxy was off: about one day in twenty, a few hours.
    let gaps: Vec<(i64, i64)> = (0..spec.days / 20 + 1)
        .map(|_| {
            let at = start_ms + rng.range(span_ms / 10, span_ms) as i64;
            (at, at + rng.range(2, 8) as i64 * 3600 * 1000)
        })
        .collect();
    while (turns.len() as u64) < spec.rows {
        let index = sessions.len() as u32;
        // Working hours, mostly: a day, then a time of day between 07:00 and 23:00.
        let day = rng.range(0, u64::from(spec.days)) as i64;
        let hour = 7.0 + (rng.range(0, 1000) as f64 / 1000.0).powf(0.8) * 16.0;
        let mut at = start_ms + day * 86_400_000 + (hour * 3_600_000.0) as i64;
        let length = rng.log_normal(90.0, 0.6).clamp(10.0, 600.0) as u64;
        let mut model = pick_model(rng);
        let one_hour_cache = rng.chance(50.0);
        let project = (rng.log_normal(8.0, 0.8) as usize).min(PROJECTS - 1);
        let proxied = !gaps.iter().any(|(from, to)| (*from..*to).contains(&at));
        sessions.push(Session { id: rng.uuid(), device: (rng.next() % DEVICES as u64) as usize, proxied });
        project_of.push(project);
        let mut context: u64 = rng.range(12_000, 25_000);
        let mut last_model = model;
        let mut last_at = at;
        let mut prompt = prompts;
        for n in 0..length {
            if at >= end_ms || turns.len() as u64 >= spec.rows {
                break;
            }
            if n % rng.range(2, 8) == 0 {
                prompts += 1;
                prompt = prompts;
            }
            if rng.chance(0.5) {
                model = pick_model(rng);
            }
            let (class, agent_type, compaction, turn_model) = if context > 150_000 && rng.chance(20.0) {
                ("compaction", None, Some(if rng.chance(80.0) { "auto" } else { "manual" }), model)
            } else if rng.chance(27.0) {
                let agent = AGENT_TYPES[(rng.next() % AGENT_TYPES.len() as u64) as usize];
                ("subagent", Some(agent), None, SUBAGENT_MODELS[(rng.next() % 2) as usize])
            } else {
                ("main", None, None, model)
            };
            let idle = at - last_at;
            let ttl = if one_hour_cache { 3_600_000 } else { 300_000 };
            let rebuild = n == 0 || idle > ttl || turn_model != last_model || compaction.is_some();
            let output = rng.log_normal(400.0, 0.9).clamp(1.0, 32_000.0) as u64;
            let added = rng.log_normal(1_500.0, 0.8).clamp(50.0, 40_000.0) as u64;
            let (write, read) = if class == "subagent" {
                (rng.range(3_000, 15_000), rng.range(0, 12_000))
            } else if rebuild {
                (context + added, 0)
            } else {
                (added, context)
            };
            let usage = Usage {
                input_tokens: if rng.chance(3.0) { rng.range(100, 8_000) } else { rng.range(1, 12) },
                output_tokens: output,
                cache_write_5m_tokens: if one_hour_cache { 0 } else { write },
                cache_write_1h_tokens: if one_hour_cache { write } else { 0 },
                cache_read_tokens: read,
            };
            let ttfb_ms = rng.log_normal(1_400.0, 0.5).clamp(200.0, 30_000.0) as u32;
            let error = if rng.chance(0.4) {
                529
            } else if rng.chance(0.1) {
                500
            } else {
                0
            };
            message += 1;
            turns.push(Turn {
                at_ms: at,
                session: index,
                model: turn_model,
                class,
                agent_type,
                compaction,
                prompt,
                usage,
                ttfb_ms,
                latency_ms: ttfb_ms + (output as f64 * rng.range(8, 25) as f64) as u32,
                error,
                client_gone: error == 0 && rng.chance(0.3),
                message,
            });
            if class != "subagent" {
                context = if compaction.is_some() { rng.range(15_000, 30_000) } else { context + added };
                last_model = turn_model;
            }
            last_at = at;
            // Tool loops are seconds apart; a human reply takes a minute; now and then a break.
            let gap_s = if rng.chance(3.0) {
                rng.range(400, 5_400)
            } else if n % 5 == 4 {
                rng.log_normal(60.0, 0.7) as u64
            } else {
                rng.range(2, 20)
            };
            at += gap_s as i64 * 1000 + (rng.next() % 1000) as i64;
        }
    }
    turns.sort_by_key(|turn| (turn.at_ms, turn.message));
    (turns, sessions, project_of)
}

fn pick_model(rng: &mut Rng) -> &'static str {
    let mut roll = (rng.next() % 100) as u32;
    for (model, share) in MODELS {
        if roll < share {
            return model;
        }
        roll -= share;
    }
    MODELS[0].0
}

/// How much each window holds, in API-price dollars, so that the heaviest
/// 5-hour windows fill up (and reject) and the weekly ones peak near 90%.
struct Budgets {
    five_hour: f64,
    week: f64,
    week_opus: f64,
}

impl Budgets {
    fn of(turns: &[Turn], prices: &PriceTable, from_ms: i64) -> Budgets {
        let mut five = Vec::new();
        let (mut week, mut week_opus) = (std::collections::HashMap::new(), std::collections::HashMap::new());
        let mut current: Option<(i64, f64)> = None;
        for turn in turns.iter().filter(|t| t.at_ms >= from_ms) {
            let cost = prices.cost_usd(turn.model, &turn.usage).unwrap_or(0.0);
            match &mut current {
                Some((resets, sum)) if turn.at_ms < *resets => *sum += cost,
                _ => {
                    if let Some((_, sum)) = current {
                        five.push(sum);
                    }
                    current = Some((turn.at_ms + FIVE_HOURS_MS, cost));
                }
            }
            *week.entry((turn.at_ms - from_ms) / WEEK_MS).or_insert(0.0) += cost;
            if turn.model.contains("opus") {
                *week_opus.entry((turn.at_ms - from_ms) / WEEK_MS).or_insert(0.0) += cost;
            }
        }
        five.sort_by(f64::total_cmp);
        let max = |map: std::collections::HashMap<i64, f64>| map.into_values().fold(1.0, f64::max);
        Budgets {
            five_hour: five.get(five.len() * 97 / 100).copied().unwrap_or(1.0).max(1.0),
            week: max(week) / 0.9,
            week_opus: max(week_opus) / 0.9,
        }
    }
}

/// The subscription's windows as the upstream would report them.
#[derive(Default)]
struct Windows {
    /// The 5-hour window: its reset and what it has used.
    five_hour: Option<(i64, f64)>,
    week: Option<(i64, f64)>,
    week_opus: Option<(i64, f64)>,
}

impl Windows {
    /// The unified headers of the response to `turn` (writer's "name\tvalue"
    /// lines), and whether the 5-hour window rejected it.
    fn headers(&mut self, turn: &Turn, prices: &PriceTable, budgets: &Budgets) -> (String, bool) {
        let at = turn.at_ms;
        let roll = |window: &mut Option<(i64, f64)>, length: i64, align: i64| {
            if window.is_none_or(|(resets, _)| at >= resets) {
                // Resets fall on the hour (the 5-hour window) or a fixed weekday hour.
                let resets = (at + length) / align * align + align;
                *window = Some((resets, 0.0));
            }
        };
        roll(&mut self.five_hour, FIVE_HOURS_MS - 3_600_000, 3_600_000);
        roll(&mut self.week, WEEK_MS - 86_400_000, 86_400_000);
        roll(&mut self.week_opus, WEEK_MS - 86_400_000, 86_400_000);
        let rejected = self.five_hour.is_some_and(|(_, used)| used >= budgets.five_hour);
        if !rejected && turn.error == 0 {
            let cost = prices.cost_usd(turn.model, &turn.usage).unwrap_or(0.0);
            for (window, opus_only) in
                [(&mut self.five_hour, false), (&mut self.week, false), (&mut self.week_opus, true)]
            {
                if !opus_only || turn.model.contains("opus") {
                    window.as_mut().expect("rolled above").1 += cost;
                }
            }
        }
        let reading = |window: &Option<(i64, f64)>, budget: f64| {
            let (resets, used) = window.expect("rolled above");
            ((used / budget).min(1.0), resets / 1000)
        };
        let (five, five_reset) = reading(&self.five_hour, budgets.five_hour);
        let (week, week_reset) = reading(&self.week, budgets.week);
        let (opus, opus_reset) = reading(&self.week_opus, budgets.week_opus);
        let status = |u: f64| if u >= 1.0 { "rejected" } else { "allowed" };
        let claim = if five >= week { "five_hour" } else { "seven_day" };
        let headers = format!(
            "status\t{}\nreset\t{five_reset}\nrepresentative-claim\t{claim}\nfallback-percentage\t0.5\n\
             overage-status\trejected\noverage-disabled-reason\torg_level_disabled\n\
             5h-utilization\t{five:.2}\n5h-reset\t{five_reset}\n5h-status\t{}\n\
             7d-utilization\t{week:.2}\n7d-reset\t{week_reset}\n7d-status\t{}\n\
             7d_oi-utilization\t{opus:.2}\n7d_oi-reset\t{opus_reset}\n",
            status(five.max(week)),
            status(five),
            status(week),
        );
        (headers, five >= 1.0 && rejected)
    }
}

/// The gateway's view of `turn`.
fn exchange(
    turn: &Turn,
    session: &Session,
    devices: &[String],
    unified: String,
    rejected: bool,
    rng: &mut Rng,
) -> Exchange {
    let usage = &turn.usage;
    let (status, body) = if rejected {
        (429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit."}}"#.to_string())
    } else if turn.error != 0 {
        (turn.error, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.to_string())
    } else {
        (
            200,
            format!(
                r#"{{"id":"msg_{}","type":"message","role":"assistant","model":"{}","content":[],"stop_reason":"end_turn","usage":{{"input_tokens":{},"cache_creation_input_tokens":{},"cache_read_input_tokens":{},"cache_creation":{{"ephemeral_5m_input_tokens":{},"ephemeral_1h_input_tokens":{}}},"output_tokens":{},"service_tier":"standard"}}}}"#,
                turn.message,
                turn.model,
                usage.input_tokens,
                usage.cache_write_tokens(),
                usage.cache_read_tokens,
                usage.cache_write_5m_tokens,
                usage.cache_write_1h_tokens,
                usage.output_tokens
            ),
        )
    };
    Exchange {
        started_at: jiff::Timestamp::from_millisecond(turn.at_ms).expect("times in range"),
        request_id: Some(rng.id("req_011C", 20)),
        client: Arc::from("claude-code"),
        model: turn.model.to_string(),
        upstream: Arc::from("anthropic"),
        status,
        streamed: false,
        outcome: if turn.client_gone { Outcome::ClientGone } else { Outcome::Relayed },
        ttfb: Some(Duration::from_micros(u64::from(turn.ttfb_ms) * 1000 + rng.range(0, 1000))),
        latency: Duration::from_micros(u64::from(turn.latency_ms) * 1000 + rng.range(0, 1000)),
        session_id: Some(session.id.clone()),
        device_id: Some(devices[session.device].clone()),
        event_stream: false,
        body: vec![bytes::Bytes::from(body)],
        gateway_error: None,
        hints: Hints {
            request_class: Some(turn.class.to_string()),
            agent_type: turn.agent_type.map(str::to_string),
            prompt_id: Some(Rng(u64::from(turn.prompt)).uuid()),
            compaction: turn.compaction.map(str::to_string),
        },
        unified_headers: Some(unified),
        flags: 0,
    }
}

/// A row as the transcript import writes it: no key, upstream, timings or windows.
fn insert_transcript_row(
    conn: &rusqlite::Connection,
    prices: &PriceTable,
    turn: &Turn,
    session: &Session,
    projects: &[String],
    project_of: &[usize],
) -> rusqlite::Result<()> {
    let usage = &turn.usage;
    conn.prepare_cached(concat!(
        "INSERT INTO requests (id, source, request_id, model, status, streamed, complete, input_tokens,
            output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd,
            price_version, session, project)
         VALUES (",
        crate::ledger::new_request_id!("?1"),
        ", 1, ?2, ?3, 200, 1, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        turn.at_ms,
        format!("msg_01{:022}", turn.message),
        names::id(conn, turn.model)?,
        usage.input_tokens as i64,
        usage.output_tokens as i64,
        usage.cache_write_5m_tokens as i64,
        usage.cache_write_1h_tokens as i64,
        usage.cache_read_tokens as i64,
        prices.cost_usd(turn.model, usage),
        names::id(conn, prices.version())?,
        names::id(conn, &session.id)?,
        names::id(conn, &projects[project_of[turn.session as usize]])?,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_ledger_has_every_kind_of_row_and_the_same_content_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let end = jiff::Timestamp::from_second(1_764_583_200).unwrap();
        let spec = Spec { rows: 6_000, days: 30, seed: 1, end };
        let contents = |name: &str| {
            let path = dir.path().join(name);
            let summary = generate(&path, &spec).unwrap();
            let conn = rusqlite::Connection::open(&path).unwrap();
            let count = |sql: &str| conn.query_row(sql, [], |row| row.get::<_, i64>(0)).unwrap();
            assert_eq!(count("SELECT COUNT(*) FROM requests") as u64, summary.gateway_rows + summary.transcript_rows);
            assert!(summary.gateway_rows > 0 && summary.transcript_rows > 0);
            assert_eq!(count("SELECT COUNT(*) FROM requests WHERE ts_unix_ms >= 1764583200000"), 0);
            assert_eq!(count("SELECT COUNT(*) FROM requests WHERE cost_usd IS NULL"), {
                count(
                    "SELECT COUNT(*) FROM requests r JOIN names m ON m.id = r.model WHERE m.value = 'claude-nimbus-9'",
                )
            });
            for class in ["main", "subagent", "compaction"] {
                let sql = format!(
                    "SELECT COUNT(*) FROM requests r JOIN names c ON c.id = r.request_class WHERE c.value = '{class}'"
                );
                assert!(count(&sql) > 0, "no {class} rows");
            }
            assert!(count("SELECT COUNT(*) FROM requests WHERE project IS NULL AND source = 0") == 0);
            assert!(count("SELECT COUNT(*) FROM requests WHERE flags & 1") > 0, "no cache rebuild after idle");
            assert!(count("SELECT COUNT(*) FROM window_readings WHERE delta > 0") > 0);
            assert!(count("SELECT COUNT(DISTINCT name) FROM windows") >= 4);
            conn.prepare("SELECT * FROM request_rows ORDER BY ts_unix_ms, id")
                .unwrap()
                .query_map([], |row| {
                    // Everything but the random request ids' bytes and the row ids.
                    Ok((row.get::<_, i64>(2)?, row.get::<_, String>(6)?, row.get::<_, Option<f64>>(16)?))
                })
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap()
        };
        assert_eq!(contents("a.sqlite3"), contents("b.sqlite3"));
    }
}
