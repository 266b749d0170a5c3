//! `gatehouse engine litellm install|status|uninstall`: the managed, pinned
//! LiteLLM venv (see [`crate::engines::litellm::install`]).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::engines::litellm::callback::{self, Comparison};
use crate::engines::litellm::install::{self, Outcome, PINNED_VERSION, Phase};
use crate::paths::Paths;

/// `engine litellm status`: LiteLLM is not installed, or not usable.
pub(crate) const EXIT_NOT_INSTALLED: u8 = 3;

#[derive(Subcommand)]
pub enum EngineCommand {
    /// The LiteLLM engine, for providers the built-in gateway does not
    /// speak (AWS Bedrock, OpenAI-compatible clients).
    Litellm {
        #[command(subcommand)]
        command: LitellmCommand,
    },
}

#[derive(Subcommand)]
pub enum LitellmCommand {
    /// Install the pinned LiteLLM (1.106.2) into a venv Gatehouse owns,
    /// every package checked against the hashes Gatehouse ships. Needs
    /// Python 3.10 or newer. Honours UV_INDEX_URL, UV_FIND_LINKS,
    /// UV_CACHE_DIR, UV_OFFLINE and PIP_*.
    Install {
        /// Reinstall even when a verified install is there.
        #[arg(long)]
        force: bool,
    },
    /// Whether LiteLLM is installed, which version, where and how big.
    /// Exits 3 when it is not installed or not the pinned version.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove the venv. The engine's generated config and logs stay.
    Uninstall,
}

pub fn run(paths: &Paths, command: EngineCommand) -> anyhow::Result<ExitCode> {
    let EngineCommand::Litellm { command } = command;
    match command {
        LitellmCommand::Install { force } => install(paths, force),
        LitellmCommand::Status { json } => status(paths, json),
        LitellmCommand::Uninstall => uninstall(paths),
    }
}

fn install(paths: &Paths, force: bool) -> anyhow::Result<ExitCode> {
    // A bar on a terminal; elsewhere (CI logs) one line per step.
    let bar = std::io::stderr().is_terminal().then(|| {
        let style = ProgressStyle::with_template("{bar:30} {percent:>3}% {wide_msg}").expect("a valid template");
        ProgressBar::new(100).with_style(style)
    });
    let mut last_phase = None;
    let outcome = install::install(paths, force, &mut |progress| match &bar {
        Some(bar) => {
            bar.set_message(progress.message.clone());
            bar.set_position((progress.fraction * 100.0).round() as u64);
        }
        None if last_phase != Some(progress.phase) && progress.phase != Phase::Done => {
            last_phase = Some(progress.phase);
            eprintln!("{}…", progress.message);
        }
        None => {}
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match outcome? {
        Outcome::AlreadyInstalled(installed) => {
            outln!(
                "LiteLLM {} is already installed in {}; nothing to do (`--force` reinstalls it).",
                installed.version,
                install::venv_link(paths).display()
            );
        }
        Outcome::Installed { installed, replaced } => {
            let replaced = replaced.map(|version| format!(", replacing LiteLLM {version}")).unwrap_or_default();
            outln!(
                "Installed LiteLLM {} with Python {} in {}{replaced}.",
                installed.version,
                installed.record.python_version,
                install::venv_link(paths).display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let status = install::status(paths);
    let code = if status.installed && status.problem.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_INSTALLED)
    };
    // The last 30 days of LiteLLM's prices beside Gatehouse's.
    let since = jiff::Timestamp::now().as_millisecond() - 30 * 24 * 3600 * 1000;
    let prices = callback::compare(&paths.ledger_file(), since).unwrap_or_else(|error| {
        tracing::warn!("cannot compare LiteLLM's prices with the ledger's: {error}");
        Comparison::default()
    });
    if json {
        #[derive(serde::Serialize)]
        struct WithPrices<'a> {
            #[serde(flatten)]
            status: &'a install::Status,
            prices: &'a Comparison,
        }
        outln!("{}", serde_json::to_string_pretty(&WithPrices { status: &status, prices: &prices })?);
        return Ok(code);
    }
    if !status.installed {
        outln!(
            "LiteLLM: not installed (pinned version {PINNED_VERSION}); `gatehouse engine litellm install` installs it."
        );
        return Ok(code);
    }
    let version = status.version.as_deref().unwrap_or("unknown version");
    outln!("LiteLLM: {version} installed (pinned version {PINNED_VERSION})");
    let size = status.size_bytes.map(|bytes| format!(" ({})", megabytes(bytes))).unwrap_or_default();
    outln!("Venv: {}{size}", status.venv.display());
    if let (Some(python), Some(version)) = (&status.python, &status.python_version) {
        outln!("Python: {version} ({})", python.display());
    }
    if let Some(litellm) = &status.litellm {
        outln!("Command: {}", litellm.display());
    }
    if let Some(at) = &status.installed_at {
        outln!("Installed at: {at}");
    }
    if let Some(problem) = &status.problem {
        outln!("Problem: {problem}");
    }
    print_prices(&prices)?;
    Ok(code)
}

/// Where LiteLLM's own prices (from its callback) differ from the ledger's.
fn print_prices(prices: &Comparison) -> anyhow::Result<()> {
    if prices.compared == 0 {
        return Ok(());
    }
    let usd = |cost: Option<f64>| cost.map_or_else(|| "no price".to_string(), |cost| format!("${cost:.6}"));
    match prices.disagreements.first() {
        None => outln!("Prices: LiteLLM's agree with Gatehouse's for all {} requests of 30 days.", prices.compared),
        Some(newest) => outln!(
            "Prices: LiteLLM's differ from Gatehouse's for {} of {} requests of 30 days (the ledger keeps \
             Gatehouse's); the latest: {} {}, Gatehouse {}, LiteLLM {}.",
            prices.disagreements.len(),
            prices.compared,
            newest.model,
            newest.request_id,
            usd(newest.gatehouse_usd),
            usd(newest.litellm_usd)
        ),
    }
    Ok(())
}

fn uninstall(paths: &Paths) -> anyhow::Result<ExitCode> {
    let removed = install::uninstall(paths)?;
    match removed.venv {
        Some((venv, version, bytes)) => {
            let version = version.map(|v| format!("LiteLLM {v} ")).unwrap_or_default();
            outln!("Removed the {version}venv at {} ({}).", venv.display(), megabytes(bytes));
        }
        None => outln!("LiteLLM is not installed; nothing to remove."),
    }
    if !removed.left.is_empty() {
        outln!("Left in {}: {}.", paths.litellm_dir().display(), removed.left.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

fn megabytes(bytes: u64) -> String {
    format!("{} MB", bytes.div_ceil(1_000_000))
}
