//! How long importing a year of Claude Code transcripts takes.
//!
//! Run with `cargo bench -p gatehouse --bench transcript_import`.
//!
//! It generates a year of transcripts the way Claude Code 2.1.328 lays them
//! out (`projects/<dir>/<session>.jsonl`, subagents in
//! `<session>/subagents/agent-<id>.jsonl`): 50,000 assistant messages in
//! about 1,400 sessions over 365 days, each message written in two to three
//! lines (streaming snapshots with a placeholder input count and a growing
//! output count, and a content-block split), between user lines carrying
//! prompts and tool results of up to 16 KB, and one prompt snapshot of 24 KB
//! per session: what makes real transcripts big. Then it times the first
//! import into an empty ledger, a second import (nothing new), and an
//! import after one more day was appended, and checks the row counts.
//!
//! The files were just written, so they are in the page cache: this measures
//! parsing and writing, not a cold disk. It prints its figures and asserts
//! only the counts.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use gatehouse::ledger::import::{ImportProgress, import_transcripts};
use gatehouse::pricing::PriceTable;

const MESSAGES: usize = 50_000;
const DAYS: usize = 365;
const YEAR_START_MS: i64 = 1_764_547_200_000; // 2025-12-01T00:00:00Z

fn main() {
    let dir = tempfile::Builder::new().prefix("gatehouse-import-bench-").tempdir().expect("temp dir");
    let claude = dir.path().join("claude");
    let ledger = dir.path().join("ledger.sqlite3");

    let started = Instant::now();
    let mut generator = Generator { seed: 0x9e37_79b9_7f4a_7c15, message: 0 };
    let (files, bytes) = generator.year(&claude.join("projects"));
    println!(
        "generated {MESSAGES} assistant messages in {files} files, {:.0} MB, in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let prices = PriceTable::builtin();
    let mut updates = 0u64;
    let started = Instant::now();
    let first = import_transcripts(&ledger, &claude, &prices, &mut |_: ImportProgress| updates += 1).expect("import");
    let first_time = started.elapsed();
    assert_eq!(first.rows_added, MESSAGES as u64, "{first:?}");
    println!(
        "first import: {:.2} s ({} files, {} messages, {} rows; {updates} progress updates)",
        first_time.as_secs_f64(),
        first.files_read,
        first.messages_found,
        first.rows_added
    );

    let started = Instant::now();
    let second = import_transcripts(&ledger, &claude, &prices, &mut |_| {}).expect("import");
    assert_eq!((second.rows_added, second.files_read), (0, 0), "{second:?}");
    println!(
        "second import, nothing new: {:.3} s ({} files unchanged)",
        started.elapsed().as_secs_f64(),
        second.files_unchanged
    );

    let day = generator.day(&claude.join("projects"), DAYS, 137);
    let started = Instant::now();
    let third = import_transcripts(&ledger, &claude, &prices, &mut |_| {}).expect("import");
    assert_eq!(third.rows_added, day as u64, "{third:?}");
    println!(
        "import after one more day ({day} messages in {} files): {:.3} s",
        third.files_read,
        started.elapsed().as_secs_f64()
    );
    println!("| year of transcripts (50,000 messages) | {:.2} s | target <= 10 s |", first_time.as_secs_f64());
}

struct Generator {
    seed: u64,
    message: usize,
}

impl Generator {
    fn next(&mut self) -> u64 {
        // splitmix64: deterministic, no dependency.
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Writes the year; returns its files and bytes.
    fn year(&mut self, projects: &Path) -> (usize, u64) {
        let per_day = MESSAGES / DAYS;
        for day in 0..DAYS {
            // The remainder goes to the first days.
            self.day(projects, day, per_day + usize::from(day < MESSAGES - per_day * DAYS));
        }
        let files = walk(projects);
        let bytes = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
        (files.len(), bytes)
    }

    /// Writes one day's sessions holding `count` messages; returns `count`.
    fn day(&mut self, projects: &Path, day: usize, count: usize) -> usize {
        let mut left = count;
        let mut session_index = 0;
        while left > 0 {
            let in_session = left.min(20 + self.below(40) as usize);
            let project = format!("/home/dev/project-{}", self.below(12));
            let folder = projects.join(project.replace('/', "-"));
            std::fs::create_dir_all(&folder).expect("project folder");
            let session = format!("{:08x}-0000-4000-8000-{day:06}{session_index:06}", self.next() as u32);
            // One in ten sessions runs a subagent, with a few of the messages.
            let sub = if self.below(10) == 0 { in_session.min(4) } else { 0 };
            let start_ms = YEAR_START_MS + day as i64 * 86_400_000 + self.below(40_000_000) as i64;
            let mut main = Vec::with_capacity(in_session * 12_000);
            self.session_lines(&mut main, &session, &project, start_ms, in_session - sub, false);
            write_file(&folder.join(format!("{session}.jsonl")), &main);
            if sub > 0 {
                let mut lines = Vec::new();
                self.session_lines(&mut lines, &session, &project, start_ms + 1000, sub, true);
                let agents = folder.join(&session).join("subagents");
                std::fs::create_dir_all(&agents).expect("subagents folder");
                write_file(&agents.join(format!("agent-a{:016x}.jsonl", self.next())), &lines);
            }
            left -= in_session;
            session_index += 1;
        }
        count
    }

    fn session_lines(&mut self, out: &mut Vec<u8>, session: &str, cwd: &str, start_ms: i64, n: usize, side: bool) {
        let common = |ts: i64| {
            let ts = jiff::Timestamp::from_millisecond(ts).expect("time");
            format!(
                "\"isSidechain\":{side},\"userType\":\"external\",\"entrypoint\":\"cli\",\"cwd\":\"{cwd}\",\
                 \"sessionId\":\"{session}\",\"version\":\"2.1.328\",\"gitBranch\":\"main\",\"timestamp\":\"{ts}\""
            )
        };
        if !side {
            let snapshot = filler(24_000);
            writeln!(out, "{{\"parentUuid\":null,\"attachment\":{{\"type\":\"prompt_snapshot\",\"systemPrompt\":[\"{snapshot}\"]}},\"type\":\"attachment\",\"uuid\":\"u0\",{}}}", common(start_ms)).unwrap();
        }
        let mut ts = start_ms;
        for _ in 0..n {
            self.message += 1;
            let m = self.message;
            let tool_result = filler(200 + self.below(16_000) as usize);
            writeln!(
                out,
                "{{\"parentUuid\":\"p{m}\",\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":[{{\"tool_use_id\":\"toolu_{m}\",\"type\":\"tool_result\",\"content\":\"{tool_result}\"}}]}},\"uuid\":\"u{m}\",{}}}",
                common(ts)
            )
            .unwrap();
            ts += 2_000 + self.below(60_000) as i64;
            let model = ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5"][self.below(3) as usize];
            let (input, cache_write, cache_read, output) =
                (self.below(50), self.below(20_000), 20_000 + self.below(150_000), 50 + self.below(4_000));
            // Streaming snapshots: a placeholder input, a partial output, then the final line.
            let snapshots = 2 + self.below(2);
            for s in 0..snapshots {
                let last = s + 1 == snapshots;
                let (input, output, stop) = if last { (input, output, "\"end_turn\"") } else { (1, 1 + s * 7, "null") };
                let text = filler(200 + self.below(2_000) as usize);
                writeln!(
                    out,
                    "{{\"parentUuid\":\"u{m}\",\"message\":{{\"id\":\"msg_bench{m:08}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"{model}\",\"content\":[{{\"type\":\"text\",\"text\":\"{text}\"}}],\"stop_reason\":{stop},\"stop_sequence\":null,\"usage\":{{\"input_tokens\":{input},\"cache_creation_input_tokens\":{cache_write},\"cache_read_input_tokens\":{cache_read},\"output_tokens\":{output},\"server_tool_use\":{{\"web_search_requests\":0,\"web_fetch_requests\":0}},\"service_tier\":\"standard\",\"cache_creation\":{{\"ephemeral_1h_input_tokens\":0,\"ephemeral_5m_input_tokens\":{cache_write}}},\"inference_geo\":\"\",\"speed\":\"standard\"}}}},\"requestId\":\"req_bench{m:08}\",\"requestedModel\":\"{model}\",\"type\":\"assistant\",\"uuid\":\"a{m}-{s}\",{}}}",
                    common(ts + s as i64 * 300)
                )
                .unwrap();
            }
            ts += 1_000;
        }
    }
}

/// JSON-safe text of `len` bytes.
fn filler(len: usize) -> String {
    const WORDS: &str = "fn main() { let usage = read(path)?; println!(\\\"{usage:?}\\\"); } // the quick brown fox\\n";
    WORDS.repeat(len / WORDS.len() + 1)[..len].trim_end_matches('\\').to_string()
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("writing a transcript");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("listing").flatten() {
            let path = entry.path();
            if path.is_dir() { dirs.push(path) } else { files.push(path) }
        }
    }
    files
}
