//! `gatehouse spend`: the ledger as a table, JSON or CSV.

use anyhow::Context;
use clap::Args;
use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use jiff::Zoned;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

use crate::ledger::{self, query, windows};
use crate::paths::Paths;
use crate::untrusted_text::{for_spreadsheet, for_terminal};

#[derive(Args)]
pub struct SpendArgs {
    /// Start. YYYY-MM-DD (local midnight); an RFC 3339 time with `Z` or an offset
    /// (2026-12-02T15:45:00+01:00); a local time (2026-12-02T15:45); `today`;
    /// `yesterday`; or `Nd`, today and the N-1 days before it (`7d`: the last
    /// 7 calendar days, today included).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// End, exclusive. Same forms as --since; a day (YYYY-MM-DD, `today`,
    /// `yesterday`, `Nd`) includes that whole day.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// Split the totals by this; `window` lists the current subscription
    /// windows with the requests that took the most of each.
    #[arg(long, value_enum)]
    by: Option<SpendBy>,
    /// With --by window: how many requests to list per window (1 or more).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    top: u32,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV.
    #[arg(long)]
    csv: bool,
}

/// What `--by` splits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SpendBy {
    /// Local calendar day.
    Day,
    Model,
    /// Claude Code's working directory.
    Project,
    /// Claude Code session id.
    Session,
    /// Gateway key name.
    Client,
    /// Claude Code's request class: main, subagent, compaction.
    Class,
    /// Claude Code's agent type (Explore, …).
    Agent,
    /// The current subscription windows and the requests that used them most.
    Window,
}

impl SpendBy {
    /// The spend report's grouping; `None` for the windows view.
    fn group(self) -> Option<query::GroupBy> {
        Some(match self {
            SpendBy::Day => query::GroupBy::Day,
            SpendBy::Model => query::GroupBy::Model,
            SpendBy::Project => query::GroupBy::Project,
            SpendBy::Session => query::GroupBy::Session,
            SpendBy::Client => query::GroupBy::Client,
            SpendBy::Class => query::GroupBy::Class,
            SpendBy::Agent => query::GroupBy::Agent,
            SpendBy::Window => return None,
        })
    }
}

/// The accepted forms, for error messages.
const FORMS: &str = "use YYYY-MM-DD, an RFC 3339 time such as 2026-12-02T15:45:00Z or 2026-12-02T15:45:00+01:00, \
                     a local time such as 2026-12-02T15:45, today, yesterday or Nd (today and the N-1 days before)";

/// Parses a --since/--until value into Unix milliseconds, `now` giving
/// today and the time zone. An end given as a day means the end of that day.
fn parse_when(text: &str, is_end: bool, now: &Zoned) -> anyhow::Result<i64> {
    let text = text.trim();
    let out_of_range =
        |_| anyhow::anyhow!("{text:?} is too far in the past or the future to count requests in; {FORMS}");
    let zone = now.time_zone().clone();
    let today = now.date();
    let day = match text {
        "today" => Some(today),
        "yesterday" => Some(today.yesterday().map_err(out_of_range)?),
        _ => match text.strip_suffix('d').map(str::parse::<i32>) {
            Some(Ok(days)) if days >= 1 => Some(
                today.checked_sub(jiff::Span::new().try_days(days - 1).map_err(out_of_range)?).map_err(out_of_range)?,
            ),
            Some(Ok(_)) => anyhow::bail!("{text:?} is not a number of days: Nd needs N of 1 or more (1d is today)"),
            _ => Date::strptime("%Y-%m-%d", text).ok(),
        },
    };
    if let Some(day) = day {
        let day = if is_end { day.tomorrow().map_err(out_of_range)? } else { day };
        return Ok(day.to_zoned(zone).map_err(out_of_range)?.timestamp().as_millisecond());
    }
    // An offset or `Z` fixes the instant; without one, the time is local.
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Ok(instant.as_millisecond());
    }
    let local: DateTime = text.parse().with_context(|| format!("cannot read {text:?} as a time; {FORMS}"))?;
    Ok(local.to_zoned(zone).map_err(out_of_range)?.timestamp().as_millisecond())
}

/// The period of --since and --until; an error names the flag, and a start
/// that is not before the end is refused.
fn parse_range(args: &SpendArgs, now: &Zoned) -> anyhow::Result<query::Range> {
    let since_ms = args.since.as_deref().map(|s| parse_when(s, false, now).context("--since")).transpose()?;
    let until_ms = args.until.as_deref().map(|s| parse_when(s, true, now).context("--until")).transpose()?;
    if let (Some(since), Some(until), Some(since_text), Some(until_text)) =
        (since_ms, until_ms, &args.since, &args.until)
        && since >= until
    {
        anyhow::bail!(
            "--since {since_text:?} is not before --until {until_text:?}, so no request lies between them; \
             swap them, or give an --until after the --since"
        );
    }
    Ok(query::Range { since_ms, until_ms })
}

pub fn run(paths: &Paths, args: &SpendArgs) -> anyhow::Result<()> {
    if args.by == Some(SpendBy::Window) {
        return run_windows(paths, args);
    }
    let group_by = args.by.and_then(SpendBy::group);
    let now = Zoned::now().with_time_zone(TimeZone::system());
    let range = parse_range(args, &now)?;
    let ledger_path = paths.ledger_file();
    let conn = ledger::open_read_only(&ledger_path)
        .with_context(|| format!("cannot open the spend ledger {}", ledger_path.display()))?;
    let (report, recorded_any) = match &conn {
        Some(conn) => {
            let read = || -> rusqlite::Result<_> {
                let report = query::report(conn, range, group_by)?;
                let any = report.total.requests > 0 || query::has_requests(conn)?;
                Ok((report, any))
            };
            read().with_context(|| format!("cannot read the spend ledger {}", ledger_path.display()))?
        }
        None => (query::empty_report(group_by), false),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.csv {
        print_csv(&report)?;
    } else if !recorded_any {
        outln!(
            "No requests recorded yet ({} is empty). Requests are recorded as they pass through the gateway: \
             run `gatehouse claude configure` so Claude Code uses it, or give another client a key with \
             `gatehouse keys issue <name>`.",
            ledger_path.display()
        );
    } else if report.total.requests == 0 {
        outln!("No requests in this period. `gatehouse spend` without --since/--until covers every request.");
    } else {
        print_table(&report, group_by)?;
    }
    Ok(())
}

/// `--by window`: the current windows, each with its largest requests.
fn run_windows(paths: &Paths, args: &SpendArgs) -> anyhow::Result<()> {
    if args.since.is_some() || args.until.is_some() {
        anyhow::bail!(
            "--by window shows the current subscription windows, which set their own period; leave out \
             --since and --until"
        );
    }
    let ledger_path = paths.ledger_file();
    let conn = ledger::open_read_only(&ledger_path)
        .with_context(|| format!("cannot open the spend ledger {}", ledger_path.display()))?;
    let report = match &conn {
        Some(conn) => windows::current(conn, args.top as usize)
            .with_context(|| format!("cannot read the spend ledger {}", ledger_path.display()))?,
        None => windows::WindowsReport { windows: Vec::new() },
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.csv {
        print_windows_csv(&report)?;
    } else if report.windows.is_empty() {
        outln!(
            "No subscription windows recorded yet. They arrive with Anthropic's rate-limit headers on subscription \
             requests (Claude Code logged in to a Claude plan) through the gateway: run `gatehouse claude configure`."
        );
    } else {
        print_windows(&report)?;
    }
    Ok(())
}

/// Local time of Unix milliseconds, "2026-12-02 14:03:07".
fn local_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(TimeZone::system()).strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn cost(cost: Option<f64>) -> String {
    cost.map_or_else(|| "no price".to_string(), |c| format!("${c:.4}"))
}

fn print_windows(report: &windows::WindowsReport) -> anyhow::Result<()> {
    for window in &report.windows {
        let state = crate::anthropic::ratelimit::Window {
            utilization: window.utilization,
            resets_at: window.resets_at,
            status: window.status.clone(),
        };
        outln!(
            "{}: {} · requests recorded by the gateway took {} points of it",
            window.title,
            state.describe(),
            window.recorded_points
        );
        if window.top.is_empty() {
            outln!("  (no recorded request raised it yet)");
            continue;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header(vec!["time", "model", "took (points)", "flags", "cost (USD)"]);
        for request in &window.top {
            table.add_row(vec![
                local_ms(request.ts_unix_ms),
                for_terminal(request.model.as_deref().unwrap_or_default()).into_owned(),
                format!("{:.2}", request.delta_points),
                request.flags.join(", "),
                cost(request.cost_usd),
            ]);
        }
        for column in [2, 4] {
            if let Some(column) = table.column_mut(column) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        outln!("{table}");
    }
    Ok(())
}

fn print_windows_csv(report: &windows::WindowsReport) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "window",
        "resets_at",
        "utilization",
        "status",
        "time",
        "request_id",
        "model",
        "delta_points",
        "flags",
        "request_class",
        "agent_type",
        "cost_usd",
    ])?;
    for window in &report.windows {
        for request in &window.top {
            let opt = |value: &Option<String>| for_spreadsheet(value.as_deref().unwrap_or_default()).into_owned();
            writer.write_record([
                window.name.clone(),
                window.resets_at.map(|r| r.to_string()).unwrap_or_default(),
                window.utilization.map(|u| u.to_string()).unwrap_or_default(),
                opt(&window.status),
                jiff::Timestamp::from_millisecond(request.ts_unix_ms).map(|t| t.to_string()).unwrap_or_default(),
                opt(&request.request_id),
                opt(&request.model),
                request.delta_points.to_string(),
                request.flags.join("; "),
                opt(&request.request_class),
                opt(&request.agent_type),
                request.cost_usd.map(|c| c.to_string()).unwrap_or_default(),
            ])?;
        }
    }
    out!("{}", String::from_utf8(writer.into_inner()?)?);
    Ok(())
}

const COLUMNS: [&str; 10] = [
    "requests",
    "cost_usd",
    "billed_usd",
    "subscription_usd",
    "billed_requests",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "unpriced_requests",
];

fn numbers(totals: &query::Totals) -> [String; 10] {
    [
        totals.requests.to_string(),
        format!("{:.6}", totals.cost_usd),
        format!("{:.6}", totals.billed_usd),
        format!("{:.6}", totals.subscription_usd),
        totals.billed_requests.to_string(),
        totals.input_tokens.to_string(),
        totals.output_tokens.to_string(),
        totals.cache_creation_input_tokens.to_string(),
        totals.cache_read_input_tokens.to_string(),
        totals.unpriced_requests.to_string(),
    ]
}

fn print_csv(report: &query::Report) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["key"];
    header.extend(COLUMNS);
    writer.write_record(&header)?;
    for group in report.groups.iter().flatten() {
        let mut row = vec![for_spreadsheet(group.key.as_deref().unwrap_or_default()).into_owned()];
        row.extend(numbers(&group.totals));
        writer.write_record(&row)?;
    }
    let mut total = vec!["TOTAL".to_string()];
    total.extend(numbers(&report.total));
    writer.write_record(&total)?;
    let text = String::from_utf8(writer.into_inner()?)?;
    out!("{text}");
    Ok(())
}

fn print_table(report: &query::Report, by: Option<query::GroupBy>) -> anyhow::Result<()> {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let first = by.map_or("", |by| match by {
        query::GroupBy::Day => "day",
        query::GroupBy::Model => "model",
        query::GroupBy::Project => "project",
        query::GroupBy::Session => "session",
        query::GroupBy::Client => "client",
        query::GroupBy::Class => "request class",
        query::GroupBy::Agent => "agent type",
    });
    table.set_header(vec![
        first,
        "requests",
        "cost (USD)",
        "billed",
        "subscription",
        "input",
        "output",
        "cache write",
        "cache read",
    ]);
    let row = |key: String, t: &query::Totals| {
        let flag = if t.unpriced_requests > 0 { " *" } else { "" };
        vec![
            key,
            t.requests.to_string(),
            format!("${:.4}{flag}", t.cost_usd),
            format!("${:.4}", t.billed_usd),
            format!("${:.4}", t.subscription_usd),
            t.input_tokens.to_string(),
            t.output_tokens.to_string(),
            t.cache_creation_input_tokens.to_string(),
            t.cache_read_input_tokens.to_string(),
        ]
    };
    for group in report.groups.iter().flatten() {
        table.add_row(row(
            group.key.as_deref().map_or_else(|| "(unknown)".to_string(), |k| for_terminal(k).into_owned()),
            &group.totals,
        ));
    }
    table.add_row(row("total".to_string(), &report.total));
    for column in 1..9 {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    outln!("{table}");
    outln!(
        "billed: served with an API key (a paid upstream's, the gateway's own, or the client's). subscription: \
         served by Claude Code's subscription login, priced at API list prices; requests imported from transcripts \
         count here."
    );
    if report.total.unpriced_requests > 0 {
        outln!(
            "* {} request(s) for model(s) {} have no known price, so their cost is NOT included. \
             Add a price under [pricing.models.\"<model>\"] in config.toml.",
            report.total.unpriced_requests,
            for_terminal(&report.total.unpriced_models.join(", "))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wednesday 2026-12-02 15:00 at UTC+01:00.
    fn now() -> Zoned {
        "2026-12-02T15:00:00+01:00[+01:00]".parse().unwrap()
    }

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn days_are_local_and_an_end_day_is_included() {
        let now = now();
        assert_eq!(parse_when("2026-11-20", false, &now).unwrap(), ms("2026-11-20T00:00:00+01:00"));
        assert_eq!(parse_when("2026-11-20", true, &now).unwrap(), ms("2026-11-21T00:00:00+01:00"));
        assert_eq!(parse_when("today", false, &now).unwrap(), ms("2026-12-02T00:00:00+01:00"));
        assert_eq!(parse_when("yesterday", true, &now).unwrap(), ms("2026-12-02T00:00:00+01:00"));
    }

    #[test]
    fn n_days_is_today_and_the_n_minus_1_days_before() {
        let now = now();
        assert_eq!(parse_when("1d", false, &now).unwrap(), parse_when("today", false, &now).unwrap());
        assert_eq!(parse_when("2d", false, &now).unwrap(), parse_when("yesterday", false, &now).unwrap());
        let week = parse_when("7d", false, &now).unwrap();
        assert_eq!(week, ms("2026-11-26T00:00:00+01:00"));
        // Exactly seven calendar days up to the end of today.
        assert_eq!(parse_when("today", true, &now).unwrap() - week, 7 * 86_400_000);
        assert!(parse_when("0d", false, &now).unwrap_err().to_string().contains("1 or more"));
        assert!(parse_when("-3d", false, &now).is_err());
    }

    #[test]
    fn rfc3339_times_keep_their_time_and_offset() {
        let now = now();
        for (text, expected) in [
            ("2026-12-02T15:45:00+00:00", "2026-12-02T15:45:00Z"),
            ("2026-12-02T15:45:00Z", "2026-12-02T15:45:00Z"),
            ("2026-12-02T15:45:00-05:30", "2026-12-02T21:15:00Z"),
            ("2026-12-02 15:45:00.250+02:00", "2026-12-02T13:45:00.250Z"),
        ] {
            for is_end in [false, true] {
                assert_eq!(parse_when(text, is_end, &now).unwrap(), ms(expected), "{text}");
            }
        }
    }

    #[test]
    fn a_time_without_offset_is_local() {
        let now = now();
        assert_eq!(parse_when("2026-12-02T15:45", false, &now).unwrap(), ms("2026-12-02T15:45:00+01:00"));
        assert_eq!(parse_when("2026-12-02T15:45:30", true, &now).unwrap(), ms("2026-12-02T15:45:30+01:00"));
    }

    /// `gatehouse spend` with these arguments, as clap reads them.
    #[derive(clap::Parser)]
    struct Spend {
        #[command(flatten)]
        args: SpendArgs,
    }

    fn spend_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<SpendArgs, clap::Error> {
        <Spend as clap::Parser>::try_parse_from(args).map(|spend| spend.args)
    }

    #[test]
    fn times_beyond_the_calendar_and_reversed_ranges_are_refused_naming_the_flag() {
        let now = now();
        for (since, until) in [(Some("9999-12-31"), None), (None, Some("9999-12-30")), (Some("100000000d"), None)] {
            let args = spend_args(
                ["spend"]
                    .into_iter()
                    .chain(since.map(|s| ["--since", s]).into_iter().flatten())
                    .chain(until.map(|u| ["--until", u]).into_iter().flatten()),
            )
            .unwrap();
            let error = crate::error_chain::describe(&parse_range(&args, &now).unwrap_err());
            let flag = if since.is_some() { "--since: " } else { "--until: " };
            assert!(error.starts_with(flag) && error.contains("too far in the past or the future"), "{error}");
        }
        let reversed = spend_args(["spend", "--since", "2026-12-01", "--until", "2026-11-01"]).unwrap();
        let error = parse_range(&reversed, &now).unwrap_err().to_string();
        assert!(error.contains("is not before --until"), "{error}");
        let one_day = spend_args(["spend", "--since", "2026-12-01", "--until", "2026-12-01"]).unwrap();
        assert!(parse_range(&one_day, &now).is_ok(), "a day to the same day is that whole day");
        assert!(spend_args(["spend", "--by", "window", "--top", "0"]).is_err());
    }

    #[test]
    fn other_text_is_refused_with_the_forms() {
        for text in ["last tuesday", "2026-13-01", "12/02/2026", "d", "7days"] {
            let error = parse_when(text, false, &now()).unwrap_err().to_string();
            assert!(error.contains("RFC 3339") && error.contains("Nd"), "{text}: {error}");
        }
    }
}
