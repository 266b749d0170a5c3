//! Claude Code integration: its settings files, its login, and launching it.
//!
//! Claude Code's files belong to the user. Gatehouse edits only the keys it
//! owns, restores them exactly, and never touches Claude Code's login: it
//! asks `claude auth status` and lets `claude auth login` do the signing in.

pub mod cli_binary;
pub mod doctor;
pub mod launcher;
pub mod login;
pub mod preview;
pub(crate) mod projects;
pub mod scope;
pub mod settings;
pub mod settings_store;
pub mod setup;
pub mod warnings;
