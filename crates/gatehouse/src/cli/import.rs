//! `gatehouse import`: the requests in Claude Code's transcripts that the
//! gateway did not record, added to the ledger (see `ledger::import`).

use std::io::IsTerminal;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::ledger::import::{ImportSummary, import_transcripts};
use crate::paths::Paths;
use crate::pricing::PriceTable;

#[derive(Args)]
pub struct ImportArgs {
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(paths: &Paths, config: &Config, args: &ImportArgs) -> anyhow::Result<()> {
    let prices = PriceTable::builtin().with_overrides(&config.pricing.models);
    let claude_dir = crate::paths::claude_config_dir()?;
    // The bar goes to stderr, and only to a terminal: scripts get one line.
    let bar = std::io::stderr().is_terminal().then(|| {
        let style = ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} · {msg} · {eta} left")
            .context("progress bar template")?;
        anyhow::Ok(ProgressBar::new(0).with_style(style))
    });
    let bar = bar.transpose()?;
    let summary = import_transcripts(&paths.ledger_file(), &claude_dir, &prices, &mut |progress| {
        if let Some(bar) = &bar {
            bar.set_length(progress.bytes_total);
            bar.set_position(progress.bytes_done);
            bar.set_message(format!("{}/{} transcripts", progress.files_done, progress.files_total));
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        outln!("{}", summary_line(&summary, &claude_dir.join("projects")));
    }
    Ok(())
}

fn summary_line(s: &ImportSummary, projects: &std::path::Path) -> String {
    let mut line = format!(
        "{} transcript files read ({} unchanged), {} messages found, {} rows added, {} updated, {} skipped as \
         already recorded by the gateway",
        s.files_read, s.files_unchanged, s.messages_found, s.rows_added, s.rows_updated, s.skipped_gateway
    );
    if s.files_failed > 0 {
        line += &format!("; {} files could not be read (see the warnings above)", s.files_failed);
    }
    if s.unreadable_lines > 0 {
        line += &format!("; {} lines could not be used", s.unreadable_lines);
    }
    if s.files_read + s.files_unchanged + s.files_failed == 0 {
        line = format!("No Claude Code transcripts in {}: nothing to import.", projects.display());
    }
    line
}
