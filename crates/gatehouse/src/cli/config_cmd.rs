//! `gatehouse config path|show`.

use clap::Subcommand;

use crate::config::Config;
use crate::paths::Paths;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the config file's path.
    Path,
    /// Print the effective config (defaults filled in; secrets appear only as names).
    Show,
}

pub fn run(paths: &Paths, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Path => outln!("{}", paths.config_file().display()),
        ConfigCommand::Show => {
            let config = Config::load(&paths.config_file())?;
            outln!("# {}", paths.config_file().display());
            outln!("# effective settings; gateway keys are shown as names and hashes, never keys");
            outln!("{}", super::auth::store_note(paths, config.secrets.store));
            out!("{}", toml::to_string_pretty(&config)?);
        }
    }
    Ok(())
}
