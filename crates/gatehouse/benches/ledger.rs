//! The ledger at a million rows: its size on disk and how fast it answers.
//!
//! Run with `cargo bench -p gatehouse --bench ledger`.
//!
//! It generates a ledger of 1,000,000 realistic rows over 90 days ending now
//! (`gatehouse::ledger::synth`: gateway rows through the real ledger
//! writer, transcript rows as the import writes them), then prints Markdown
//! tables:
//! - the file's size as the writer leaves it, per table and index (SQLite's
//!   `dbstat`), and what each column of a row costs; the size after
//!   `VACUUM` is shown beside it, only to tell how much is page fill;
//! - the reports' times over the last 30 days, warm (median and p95 of
//!   several runs on one open connection, as the dashboard keeps it) and
//!   cold (the ledger's pages dropped from the OS page cache with
//!   `posix_fadvise(DONTNEED)` and a new connection each run);
//! - `gatehouse spend --since 30d --by project`, the real binary of the
//!   bench's profile spawned against the ledger, end to end.
//!
//! It never asserts. `GATEHOUSE_BENCH_HOME=<dir>` keeps the generated
//! ledger in `<dir>/data/ledger.sqlite3` and reuses it on the next run
//! (delete the directory to generate afresh; it takes about 600 MB with
//! the copy that is vacuumed).

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use gatehouse::dashboard::Dashboard;
use gatehouse::dashboard::requests::RecentQuery;
use gatehouse::dashboard::spend::{SpendGroup, SpendQuery};
use gatehouse::dashboard::windows::WindowsQuery;
use gatehouse::ledger::query::{self, GroupBy, Range};
use gatehouse::ledger::synth;
use gatehouse::pricing::PriceTable;
use rusqlite::Connection;

/// Warm runs per query, after one unmeasured run.
const WARM_RUNS: usize = 20;
/// Cold runs per query.
const COLD_RUNS: usize = 5;
const MB: f64 = 1_000_000.0;

fn main() {
    if let Err(error) = run() {
        eprintln!("ledger bench could not run: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let (home, _temporary) = match std::env::var_os("GATEHOUSE_BENCH_HOME") {
        Some(dir) => (PathBuf::from(dir), None),
        None => {
            let dir = tempfile::tempdir()?;
            (dir.path().to_path_buf(), Some(dir))
        }
    };
    let ledger = home.join("data").join("ledger.sqlite3");
    let spec = synth::Spec::million();
    if ledger.exists() {
        println!("Reusing the ledger in {}.\n", ledger.display());
        // A ledger kept from an earlier version is migrated, as the gateway would.
        let started = Instant::now();
        gatehouse::ledger::open(&ledger).context("migrating the kept ledger")?;
        println!("Opened it (migrating it where it was older) in {:.1} s.\n", started.elapsed().as_secs_f64());
    } else {
        let started = Instant::now();
        let summary = synth::generate(&ledger, &spec).context("generating the ledger")?;
        println!(
            "Generated {} gateway rows and {} transcript rows ({} sessions) over {} days in {:.1} s.\n",
            summary.gateway_rows,
            summary.transcript_rows,
            summary.sessions,
            spec.days,
            started.elapsed().as_secs_f64()
        );
    }
    println!("Machine: {} CPUs; load average {}.\n", cpu_count(), load_average());
    size(&ledger)?;
    queries(&ledger)?;
    spend_cli(&home, &ledger)?;
    println!("\nLoad average after: {}.", load_average());
    Ok(())
}

fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().next().unwrap_or("?").to_string()
}

/// The file, its tables and indexes, and each column's share of a row.
fn size(ledger: &Path) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let count = |sql: &str| conn.query_row(sql, [], |row| row.get::<_, i64>(0));
    let rows = count("SELECT COUNT(*) FROM requests")?;
    let per_million = |bytes: f64| bytes / rows as f64 * 1e6 / MB;
    let file = std::fs::metadata(ledger)?.len() as f64;
    let wal = std::fs::metadata(ledger.with_extension("sqlite3-wal")).map_or(0.0, |m| m.len() as f64);
    let vacuumed = {
        let copy = ledger.with_extension("vacuumed");
        let _ = std::fs::remove_file(&copy);
        conn.execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
        let size = std::fs::metadata(&copy)?.len() as f64;
        std::fs::remove_file(&copy)?;
        size
    };
    println!("### Size ({rows} rows; MB = 10^6 bytes)\n");
    println!("| | MB | MB per million rows | bytes per row |");
    println!("|---|---:|---:|---:|");
    println!(
        "| file as the writer left it | {:.1} | **{:.1}** | {:.0} |",
        file / MB,
        per_million(file),
        file / rows as f64
    );
    println!("| its WAL | {:.1} | | |", wal / MB);
    println!(
        "| after `VACUUM` (for comparison) | {:.1} | {:.1} | {:.0} |\n",
        vacuumed / MB,
        per_million(vacuumed),
        vacuumed / rows as f64
    );

    println!("Per table and index (`dbstat`): pages, and how full they are.\n");
    println!("| object | MB | MB per million rows | payload MB | unused MB | fill |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut statement = conn.prepare(
        "SELECT name, SUM(pgsize), SUM(payload), SUM(unused) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC",
    )?;
    let objects = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, f64>(1)?, row.get::<_, f64>(2)?, row.get::<_, f64>(3)?))
    })?;
    for object in objects {
        let (name, size, payload, unused) = object?;
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0}% |",
            size / MB,
            per_million(size),
            payload / MB,
            unused / MB,
            100.0 * (size - unused) / size
        );
    }

    // A column's bytes in SQLite's record format: its value, plus its
    // serial type in the row header (1 byte, 2 for a text or BLOB of 58+ bytes).
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('requests')")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let cost = |column: &str| {
        format!(
            "AVG(CASE typeof({column}) WHEN 'null' THEN 1 WHEN 'real' THEN 9 \
             WHEN 'text' THEN length(CAST({column} AS BLOB)) + CASE WHEN length(CAST({column} AS BLOB)) > 57 THEN 2 ELSE 1 END \
             WHEN 'blob' THEN length({column}) + CASE WHEN length({column}) > 57 THEN 2 ELSE 1 END \
             ELSE 1 + CASE WHEN {column} IN (0, 1) THEN 0 WHEN {column} BETWEEN -128 AND 127 THEN 1 \
             WHEN {column} BETWEEN -32768 AND 32767 THEN 2 WHEN {column} BETWEEN -8388608 AND 8388607 THEN 3 \
             WHEN {column} BETWEEN -2147483648 AND 2147483647 THEN 4 \
             WHEN {column} BETWEEN -140737488355328 AND 140737488355327 THEN 6 ELSE 8 END END)"
        )
    };
    let sql = format!(
        "SELECT {} FROM requests",
        columns.iter().filter(|c| *c != "id").map(|c| cost(c)).collect::<Vec<_>>().join(", ")
    );
    let averages: Vec<f64> = conn.query_row(&sql, [], |row| {
        (0..columns.len() - 1).map(|i| row.get::<_, f64>(i)).collect::<rusqlite::Result<_>>()
    })?;
    let total: f64 = averages.iter().sum();
    println!(
        "\nWhat a `requests` row's record holds, per column (average bytes, header byte included; the row id is the key, not in the record):\n"
    );
    println!("| column | bytes | MB per million rows |");
    println!("|---|---:|---:|");
    let mut by_cost: Vec<_> = columns.iter().filter(|c| *c != "id").zip(&averages).collect();
    by_cost.sort_by(|a, b| b.1.total_cmp(a.1));
    for (column, bytes) in by_cost {
        println!("| {column} | {bytes:.1} | {:.1} |", bytes);
    }
    println!("| **record** (+1 byte of header size) | **{:.1}** | {:.1} |", total + 1.0, total + 1.0);
    let names = count("SELECT COUNT(*) FROM names")?;
    let readings = count("SELECT COUNT(*) FROM window_readings")?;
    println!("\n{names} names, {readings} window readings.\n");
    Ok(())
}

/// Drops the ledger's pages from the OS page cache.
fn drop_from_page_cache(ledger: &Path) -> anyhow::Result<()> {
    for path in [ledger.to_path_buf(), ledger.with_extension("sqlite3-wal")] {
        let Ok(file) = std::fs::File::open(&path) else { continue };
        // SAFETY: a valid open descriptor; the advice only affects caching.
        let error = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        anyhow::ensure!(error == 0, "posix_fadvise on {}: error {error}", path.display());
    }
    Ok(())
}

/// Median and p95 of `samples`, in ms.
fn stats(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.95))
}

struct Timing {
    name: String,
    target_ms: f64,
    warm: (f64, f64),
    cold: (f64, f64),
    rows: usize,
}

/// Times `query` warm on one connection, and cold on fresh ones.
fn time_query(
    ledger: &Path,
    name: &str,
    target_ms: f64,
    query: &dyn Fn(&Connection) -> anyhow::Result<usize>,
) -> anyhow::Result<Timing> {
    let open = || Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
    let conn = open()?;
    let rows = query(&conn)?;
    let mut warm = Vec::new();
    for _ in 0..WARM_RUNS {
        let started = Instant::now();
        query(&conn)?;
        warm.push(started.elapsed());
    }
    let mut cold = Vec::new();
    for _ in 0..COLD_RUNS {
        drop_from_page_cache(ledger)?;
        let started = Instant::now();
        query(&open()?)?;
        cold.push(started.elapsed());
    }
    Ok(Timing { name: name.to_string(), target_ms, warm: stats(&mut warm), cold: stats(&mut cold), rows })
}

fn print_timings(timings: &[Timing]) {
    println!("| query | groups/rows | warm median | warm p95 | cold median | cold p95 | target | met (warm) |");
    println!("|---|---:|---:|---:|---:|---:|---:|:---:|");
    for t in timings {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | ≤ {:.0} | {} |",
            t.name,
            t.rows,
            t.warm.0,
            t.warm.1,
            t.cold.0,
            t.cold.1,
            t.target_ms,
            if t.warm.1 <= t.target_ms { "yes" } else { "**no**" }
        );
    }
}

/// The last 30 days, as `--since 30d` means them: today and the 29 days before, local time.
fn last_30_days() -> anyhow::Result<Range> {
    let zone = jiff::tz::TimeZone::system();
    let today = jiff::Zoned::now().with_time_zone(zone.clone()).date();
    let first = today.checked_sub(jiff::Span::new().days(29))?;
    Ok(Range { since_ms: Some(first.to_zoned(zone)?.timestamp().as_millisecond()), until_ms: None })
}

fn queries(ledger: &Path) -> anyhow::Result<()> {
    let range = last_30_days()?;
    let mut timings = Vec::new();
    for (name, by) in [
        ("report, 30 days, by day", Some(GroupBy::Day)),
        ("report, 30 days, by model", Some(GroupBy::Model)),
        ("report, 30 days, by project", Some(GroupBy::Project)),
        ("report, 30 days, by session", Some(GroupBy::Session)),
    ] {
        timings.push(time_query(ledger, &format!("`ledger::query::report`: {name}"), 50.0, &|conn| {
            Ok(query::report(conn, range, by)?.groups.map_or(0, |g| g.len()))
        })?);
    }
    timings.push(time_query(ledger, "latest 200 requests (`request_rows` view)", 50.0, &|conn| {
        let mut statement = conn.prepare_cached("SELECT * FROM request_rows ORDER BY id DESC LIMIT 200")?;
        let mut rows = statement.query([])?;
        let mut n = 0;
        while rows.next()?.is_some() {
            n += 1;
        }
        Ok(n)
    })?);
    let dashboard = Dashboard::new(ledger.to_path_buf(), PriceTable::builtin());
    for (name, by) in [
        ("Spend page, 30 days: daily bars by model + table by model", SpendGroup::Model),
        ("Spend page, 30 days: daily bars by model + table by project", SpendGroup::Project),
        ("Spend page, 30 days: daily bars by model + table by session", SpendGroup::Session),
    ] {
        timings.push(time_query(ledger, &format!("`dashboard`: {name}"), 50.0, &|_| {
            Ok(dashboard.spend(&SpendQuery { range: None, by })?.rows.len())
        })?);
    }
    timings.push(time_query(ledger, "`dashboard`: Windows page (8 days, top 20)", 50.0, &|_| {
        Ok(dashboard.windows(WindowsQuery::default())?.windows.len())
    })?);
    timings.push(time_query(ledger, "`dashboard`: latest 200 requests", 50.0, &|_| {
        Ok(dashboard.recent(RecentQuery::default())?.len())
    })?);
    timings.push(time_query(ledger, "`dashboard`: Overview", 50.0, &|_| {
        dashboard.overview()?;
        Ok(1)
    })?);
    println!("### Queries (ms)\n");
    println!("The `dashboard` rows open the ledger per call, as the app does; the others reuse one connection.\n");
    print_timings(&timings);
    Ok(())
}

/// `gatehouse spend --since 30d --by project`, end to end.
fn spend_cli(home: &Path, ledger: &Path) -> anyhow::Result<()> {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_gatehouse"));
    let run = || -> anyhow::Result<Duration> {
        let started = Instant::now();
        let status = Command::new(&binary)
            .args(["spend", "--since", "30d", "--by", "project"])
            .env("GATEHOUSE_HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()?;
        let elapsed = started.elapsed();
        anyhow::ensure!(status.success(), "gatehouse spend failed: {status}");
        Ok(elapsed)
    };
    run()?;
    let mut warm = (0..WARM_RUNS).map(|_| run()).collect::<anyhow::Result<Vec<_>>>()?;
    let mut cold = Vec::new();
    for _ in 0..COLD_RUNS {
        drop_from_page_cache(ledger)?;
        cold.push(run()?);
    }
    println!("\n### `gatehouse spend --since 30d --by project` (ms, spawn to exit; binary: {})\n", binary.display());
    print_timings(&[Timing {
        name: "spend CLI".to_string(),
        target_ms: 100.0,
        warm: stats(&mut warm),
        cold: stats(&mut cold),
        rows: 0,
    }]);
    Ok(())
}
