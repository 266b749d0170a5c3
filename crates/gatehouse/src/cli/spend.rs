//! `gatehouse spend`: the ledger as a table, JSON or CSV.

use anyhow::Context;
use clap::Args;
use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use jiff::{Zoned, civil::Date, tz::TimeZone};

use crate::ledger::{self, query};
use crate::paths::Paths;

#[derive(Args)]
pub struct SpendArgs {
    /// Start: YYYY-MM-DD (local midnight), an RFC 3339 time, `today`, `yesterday` or `Nd` (N days ago).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// End, exclusive; a date includes that whole day. Same forms as --since.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// Split the totals by this.
    #[arg(long, value_enum)]
    by: Option<query::GroupBy>,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV.
    #[arg(long)]
    csv: bool,
}

/// Parses a --since/--until value into Unix milliseconds. An end given as a
/// day means the end of that day.
fn parse_when(text: &str, is_end: bool) -> anyhow::Result<i64> {
    let text = text.trim();
    let zone = TimeZone::system();
    let today = Zoned::now().with_time_zone(zone.clone()).date();
    let day = match text {
        "today" => Some(today),
        "yesterday" => Some(today.yesterday()?),
        _ => match text.strip_suffix('d').and_then(|n| n.parse::<i32>().ok()) {
            Some(days) => Some(today.checked_sub(jiff::Span::new().days(days))?),
            None => text.parse::<Date>().ok(),
        },
    };
    if let Some(day) = day {
        let day = if is_end { day.tomorrow()? } else { day };
        return Ok(day.to_zoned(zone)?.timestamp().as_millisecond());
    }
    let instant: jiff::Timestamp = text.parse().with_context(|| {
        format!("cannot read {text:?} as a time; use YYYY-MM-DD, an RFC 3339 time, today, yesterday or Nd")
    })?;
    Ok(instant.as_millisecond())
}

pub fn run(paths: &Paths, args: &SpendArgs) -> anyhow::Result<()> {
    let range = query::Range {
        since_ms: args.since.as_deref().map(|s| parse_when(s, false)).transpose()?,
        until_ms: args.until.as_deref().map(|s| parse_when(s, true)).transpose()?,
    };
    let ledger_path = paths.ledger_file();
    let report = match ledger::open_read_only(&ledger_path)
        .with_context(|| format!("cannot open the spend ledger {}", ledger_path.display()))?
    {
        Some(conn) => query::report(&conn, range, args.by)
            .with_context(|| format!("cannot read the spend ledger {}", ledger_path.display()))?,
        None => query::empty_report(args.by),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.csv {
        print_csv(&report)?;
    } else {
        print_table(&report, args.by);
    }
    Ok(())
}

const COLUMNS: [&str; 7] = [
    "requests",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "unpriced_requests",
];

fn numbers(totals: &query::Totals) -> [String; 7] {
    [
        totals.requests.to_string(),
        format!("{:.6}", totals.cost_usd),
        totals.input_tokens.to_string(),
        totals.output_tokens.to_string(),
        totals.cache_creation_input_tokens.to_string(),
        totals.cache_read_input_tokens.to_string(),
        totals.unpriced_requests.to_string(),
    ]
}

fn print_csv(report: &query::Report) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(std::io::stdout());
    let mut header = vec!["key"];
    header.extend(COLUMNS);
    writer.write_record(&header)?;
    for group in report.groups.iter().flatten() {
        let mut row = vec![group.key.clone().unwrap_or_default()];
        row.extend(numbers(&group.totals));
        writer.write_record(&row)?;
    }
    let mut total = vec!["TOTAL".to_string()];
    total.extend(numbers(&report.total));
    writer.write_record(&total)?;
    writer.flush()?;
    Ok(())
}

fn print_table(report: &query::Report, by: Option<query::GroupBy>) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let first = by.map_or("", |by| match by {
        query::GroupBy::Day => "day",
        query::GroupBy::Model => "model",
        query::GroupBy::Project => "project",
        query::GroupBy::Session => "session",
        query::GroupBy::Client => "client",
    });
    table.set_header(vec![first, "requests", "cost (USD)", "input", "output", "cache write", "cache read"]);
    let row = |key: String, t: &query::Totals| {
        let flag = if t.unpriced_requests > 0 { " *" } else { "" };
        vec![
            key,
            t.requests.to_string(),
            format!("${:.4}{flag}", t.cost_usd),
            t.input_tokens.to_string(),
            t.output_tokens.to_string(),
            t.cache_creation_input_tokens.to_string(),
            t.cache_read_input_tokens.to_string(),
        ]
    };
    for group in report.groups.iter().flatten() {
        table.add_row(row(group.key.clone().unwrap_or_else(|| "(unknown)".to_string()), &group.totals));
    }
    table.add_row(row("total".to_string(), &report.total));
    for column in 1..7 {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{table}");
    if report.total.unpriced_requests > 0 {
        println!(
            "* {} request(s) for model(s) {} have no known price, so their cost is NOT included. \
             Add a price under [pricing.models.\"<model>\"] in config.toml.",
            report.total.unpriced_requests,
            report.total.unpriced_models.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_ends_include_the_whole_day() {
        let start = parse_when("2026-11-20", false).unwrap();
        let end = parse_when("2026-11-20", true).unwrap();
        assert!(end - start >= 23 * 3600 * 1000 && end - start <= 25 * 3600 * 1000);
        assert_eq!(parse_when("2026-11-20T10:00:00Z", false).unwrap(), 1_795_168_800_000);
        assert!(parse_when("7d", false).unwrap() < parse_when("today", false).unwrap());
        assert!(parse_when("last tuesday", false).is_err());
    }
}
