//! The one error type of the shell's commands.
//!
//! The window shows errors as text, so every variant serialises to its
//! message. Messages come from the core, which already says what is wrong
//! and what to do; none of them carries a secret.

use serde::{Serialize, Serializer};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Whatever the core reports, with its whole chain of causes, each once.
    #[error("{}", gatehouse::error_chain::describe(.0))]
    Core(#[from] anyhow::Error),
    #[error("{0}")]
    Tauri(#[from] tauri::Error),
    /// An engine install or uninstall refused while another runs.
    #[error("{0}")]
    EngineBusy(#[from] gatehouse::desktop::engines::EngineBusy),
    #[error("cannot change \"Start at login\" ({}): {source}", file.display())]
    Autostart { file: std::path::PathBuf, source: std::io::Error },
    #[error("cannot open {what}: {source}")]
    Open { what: String, source: tauri_plugin_opener::Error },
    #[error("the background task failed: {0}")]
    Task(String),
    #[error("the window asked for \"{0}\", which this version of Gatehouse does not have; restart Gatehouse")]
    UnknownCommand(String),
    #[error("{0}")]
    Window(String),
    #[error("the window's call to \"{command}\" has a missing or malformed \"{name}\": {source}")]
    Argument { command: String, name: String, source: serde_json::Error },
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
