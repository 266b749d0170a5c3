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
            let mut config = Config::load(&paths.config_file())?;
            // Each upstream's model names as they are used: the user's, then the kind's defaults.
            for upstream in &mut config.upstreams {
                upstream.models = crate::config::ModelMapConfig(crate::gateway::model_map::effective(upstream));
            }
            outln!("# {}", paths.config_file().display());
            outln!("# effective settings; gateway keys are shown as names and hashes, never keys");
            outln!("{}", super::auth::store_note(paths, config.secrets.store));
            out!("{}", toml::to_string_pretty(&config)?);
        }
    }
    Ok(())
}
