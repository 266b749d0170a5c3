//! `gatehouse keys issue|list|revoke`: gateway keys for other clients
//! (SDK scripts, other tools). Claude Code's key is managed by
//! `gatehouse claude configure`.

use clap::Subcommand;

use crate::auth::gateway_keys;
use crate::config::Config;
use crate::paths::Paths;

/// The longest name a gateway key may have.
const MAX_NAME_CHARS: usize = 64;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Issue a key and print it once; only its hash is kept.
    Issue {
        /// A name for the client; the ledger attributes its requests to it.
        name: String,
    },
    /// List key names and when they were issued.
    List,
    /// Revoke every key with this name.
    Revoke { name: String },
}

pub fn run(paths: &Paths, config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Issue { name } => {
            if name.trim().is_empty() {
                anyhow::bail!("a key needs a non-empty name");
            }
            // The name is shown in lists and logs and recorded as the client
            // of every request the key makes.
            if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) || name.trim() != name {
                anyhow::bail!(
                    "{:?} cannot name a key: use 1 to {MAX_NAME_CHARS} characters, with no line breaks or other \
                     control characters and no spaces at either end, as \"my-laptop\"",
                    crate::untrusted_text::for_terminal(&name)
                );
            }
            if [gateway_keys::CLAUDE_CODE_KEY_NAME, crate::claude_code::launcher::RUN_KEY_NAME].contains(&name.as_str())
            {
                // Those keys are revoked whenever no Claude Code settings file
                // or running `claude run` holds them.
                anyhow::bail!(
                    "the name {name:?} belongs to `gatehouse claude configure` and `claude run`, which revoke keys of \
                     that name that they did not hand out; choose another name"
                );
            }
            let key = gateway_keys::issue(&paths.config_file(), &name, false)?;
            eprintln!("Send this key in the {} header. It is shown only once:", gateway_keys::HEADER);
            outln!("{key}");
        }
        KeysCommand::List => {
            if config.keys.is_empty() {
                eprintln!(
                    "No gateway keys in {}. Issue one for a client with `gatehouse keys issue <name>`; \
                     Claude Code's own key comes with `gatehouse claude configure`.",
                    paths.config_file().display()
                );
            }
            for key in &config.keys {
                outln!(
                    "{}\tissued {}\tsha256:{}…",
                    crate::untrusted_text::for_terminal(&key.name),
                    key.created,
                    &key.sha256[..key.sha256.len().min(12)]
                );
            }
        }
        KeysCommand::Revoke { name } => {
            let count = gateway_keys::revoke(&paths.config_file(), &name)?;
            if count == 0 {
                anyhow::bail!("no key named {name:?}; `gatehouse keys list` shows the names");
            }
            outln!("revoked {count} key(s) named {name:?}");
        }
    }
    Ok(())
}
