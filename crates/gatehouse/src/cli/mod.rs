//! The `gatehouse` command line: parsing and dispatch.
//!
//! Each subcommand is a thin function over the library. Errors reach the
//! user as one `error: …` line saying what is wrong and what to do, with a
//! non-zero exit code.

#[macro_use]
mod output;

mod auth;
mod claude;
mod config_cmd;
mod engine;
mod import;
mod keys;
mod spend;
mod status;
mod upstreams;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::paths::Paths;

#[derive(Parser)]
#[command(name = "gatehouse", version, about = "A local gateway for Claude Code that shows what your usage is worth")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Gateway {
        #[command(subcommand)]
        command: GatewayCommand,
    },
    /// Point Claude Code at the gateway, or back.
    Claude {
        #[command(subcommand)]
        command: claude::ClaudeCommand,
    },
    /// What your requests would cost at API list prices.
    Spend(spend::SpendArgs),
    /// Add the requests in Claude Code's transcripts that the gateway did
    /// not record (history from before Gatehouse, or while it was off).
    Import(import::ImportArgs),
    /// The gateway, Claude Code and the subscription's rate-limit windows.
    /// Exits 3 when no healthy gateway answers.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Where the config is and what it says.
    Config {
        #[command(subcommand)]
        command: config_cmd::ConfigCommand,
    },
    /// Secrets for upstreams (API keys) in the OS keychain, and the Claude
    /// login. Exits 6 when no keychain is reachable or it is locked.
    Auth {
        #[command(subcommand)]
        command: auth::AuthCommand,
    },
    /// The upstreams of the config: `test` their connections. Exits 4 when
    /// a key is refused, 5 when one is unreachable, 7 when there is no key
    /// or Claude Code login to test.
    Upstreams {
        #[command(subcommand)]
        command: upstreams::UpstreamsCommand,
    },
    /// Gateway keys for clients other than Claude Code.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Engines behind the gateway: `litellm install|status|uninstall`.
    Engine {
        #[command(subcommand)]
        command: engine::EngineCommand,
    },
    /// Quit Gatehouse as the tray's "Quit" does: the app quits, the gateway
    /// stops (even one kept running after quit), and Claude Code's settings
    /// are restored. Your data and config stay.
    Quit {
        /// Also remove the autostart entries ("Start at login" and the
        /// gateway's login entry), as removing the package does.
        #[arg(long)]
        forget_login: bool,
    },
}

#[derive(Subcommand)]
enum GatewayCommand {
    /// Run the gateway in the foreground until interrupted.
    Run {
        /// Port to listen on (default: `[gateway] port`, 7411).
        #[arg(long)]
        port: Option<u16>,
        /// Anthropic API base URL (default: `[anthropic] base_url`).
        #[arg(long, value_name = "URL")]
        anthropic_base_url: Option<String>,
    },
    /// Run the gateway as the desktop app does (restarts after a crash,
    /// fail-open for Claude Code) without the app. SIGTERM, SIGHUP or Ctrl-C
    /// restores Claude Code and stops the gateway; SIGUSR1 hands the gateway
    /// back to the app.
    Supervise {
        /// Take over from an app that quit or vanished: wait for it to let
        /// go, and exit quietly if the gateway is already looked after.
        #[arg(long, hide = true, conflicts_with = "at_login")]
        takeover: bool,
        /// Started at login: exit quietly if the gateway is already looked
        /// after or Claude Code does not point at it.
        #[arg(long, hide = true)]
        at_login: bool,
    },
}

/// The exit status of `gatehouse status` and `gatehouse claude status` when
/// the gateway in question does not answer, so scripts can tell.
pub(crate) const EXIT_GATEWAY_NOT_HEALTHY: u8 = 3;

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(code) => code,
        Err(error) if error.is::<output::StdoutClosed>() => ExitCode::from(output::STDOUT_CLOSED_EXIT),
        Err(error) => {
            eprintln!("error: {}", crate::error_chain::describe(&error));
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr so stdout stays clean for `--json` and `--csv`.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}

fn load() -> anyhow::Result<(Paths, Config)> {
    let paths = Paths::resolve()?;
    let config = Config::load(&paths.config_file())?;
    Ok((paths, config))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Gateway { command: GatewayCommand::Run { port, anthropic_base_url } } => {
            let (paths, config) = load()?;
            crate::supervisor::watchdog::start_if_supervised(&paths);
            let options = crate::gateway::runner::RunOptions { port, anthropic_base_url };
            crate::gateway::runner::run(&paths, &config, &options)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Gateway { command: GatewayCommand::Supervise { takeover, at_login } } => {
            use crate::supervisor::detached::{self, Start};
            let start = match (takeover, at_login) {
                (true, _) => Start::Takeover,
                (_, true) => Start::AtLogin,
                _ => Start::Manual,
            };
            detached::run(crate::supervisor::SupervisorOptions::from_env()?, start)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Claude { command } => {
            let (paths, config) = load()?;
            claude::run(&paths, &config, command)
        }
        Command::Spend(args) => {
            let (paths, _) = load()?;
            spend::run(&paths, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => {
            let (paths, config) = load()?;
            import::run(&paths, &config, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let (paths, config) = load()?;
            status::run(&paths, &config, json)
        }
        Command::Config { command } => {
            let paths = Paths::resolve()?;
            config_cmd::run(&paths, command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Auth { command } => {
            let (paths, config) = load()?;
            auth::run(&paths, &config, command)
        }
        Command::Upstreams { command } => {
            let (paths, config) = load()?;
            upstreams::run(&paths, &config, command)
        }
        Command::Keys { command } => {
            let (paths, config) = load()?;
            keys::run(&paths, &config, command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Engine { command } => engine::run(&Paths::resolve()?, command),
        Command::Quit { forget_login } => {
            let done = crate::supervisor::quit::quit(crate::supervisor::SupervisorOptions::from_env()?, forget_login)?;
            for pid in &done.supervisors {
                println!("asked Gatehouse (pid {pid}) to quit; it did");
            }
            if let Some(pid) = done.orphan_gateway {
                println!("stopped the gateway (pid {pid}) that nobody looked after");
            }
            for path in &done.removed_entries {
                println!("removed {}", path.display());
            }
            println!("Gatehouse has quit; Claude Code's settings no longer point at its gateway");
            Ok(ExitCode::SUCCESS)
        }
    }
}
