//! Secrets Gatehouse holds for upstreams: API keys, stored under a short
//! name the user chooses (`anthropic`, `openrouter`, `team`).
//!
//! # Layout
//!
//! - [`SecretName`] and [`Provider`]: what a secret is called and whom it is for.
//! - `keychain`: the OS keychain (Secret Service on Linux, the Keychain on
//!   macOS, the Credential Manager on Windows), the only store by default.
//! - `file_store`: a plain file, only when the config opts in
//!   (`[secrets] store = "file"`), for headless servers without a keychain.
//! - [`SecretRef`]: how the config names a secret (`keychain:NAME`,
//!   `env:NAME`, `file:NAME`) and resolves it.
//! - `provider_check`: `gatehouse auth test`, a real request to the provider.
//!
//! A secret in memory is a [`SecretString`]: its `Debug` prints
//! `[REDACTED]`, it has no `Display`, and it is zeroed when dropped. Nothing
//! here logs, prints or writes a secret anywhere but its store.

mod file_store;
mod keychain;
pub(crate) mod provider_check;
mod reference;

use std::fmt;
use std::path::PathBuf;

pub(crate) use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub(crate) use reference::SecretRef;

/// The plain-file store's file name in the data directory.
pub(crate) const FILE_STORE_NAME: &str = file_store::FILE_NAME;

use crate::paths::Paths;

/// Longest secret name accepted; keychains limit attribute lengths, and a
/// name is something people type.
const MAX_NAME_LEN: usize = 64;

/// A validated secret name: 1 to 64 ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SecretName(String);

impl SecretName {
    /// Checks `name` against the vocabulary.
    pub(crate) fn parse(name: &str) -> Result<SecretName, SecretError> {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid { Ok(SecretName(name.to_string())) } else { Err(SecretError::InvalidName { name: name.to_string() }) }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whom a secret is for, which decides how `gatehouse auth test` checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Provider {
    /// An Anthropic API key (`x-api-key`).
    Anthropic,
    /// An OpenRouter API key (`Authorization: Bearer`).
    #[value(name = "openrouter")]
    #[serde(rename = "openrouter")]
    OpenRouter,
}

impl Provider {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenRouter => "openrouter",
        }
    }

    /// The provider a stored attribute names, if it is one Gatehouse knows.
    pub(crate) fn from_attribute(value: &str) -> Option<Provider> {
        [Provider::Anthropic, Provider::OpenRouter].into_iter().find(|p| p.as_str() == value)
    }

    /// The provider implied by a secret named after it (`anthropic`,
    /// `openrouter`), for `auth add` without `--provider`.
    pub(crate) fn implied_by(name: &SecretName) -> Option<Provider> {
        Provider::from_attribute(name.as_str())
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where secrets are kept, from `[secrets] store` in the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The OS keychain (the default).
    #[default]
    Keychain,
    /// A plain file readable only by the user, under the data directory.
    /// Only for servers without a keychain: anyone who can read the user's
    /// files can read the secrets.
    File,
}

/// One stored secret as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSecret {
    pub(crate) name: SecretName,
    pub(crate) provider: Option<Provider>,
}

/// Why a secret could not be stored, found or read. Every message says what
/// to do about it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    #[error(
        "invalid secret name {name:?}: use 1 to {MAX_NAME_LEN} letters, digits, `-` or `_` (for example `openrouter` \
         or `team-key`)"
    )]
    InvalidName { name: String },
    #[error(
        "no D-Bus session bus, so the keychain (Secret Service) cannot be reached ({detail}). Run Gatehouse inside a \
         desktop session, or start one with `dbus-run-session -- sh -c 'gnome-keyring-daemon --unlock \
         --components=secrets; gatehouse …'`, or, on a headless server, opt into the plain-file store with \
         `[secrets] store = \"file\"` in the config"
    )]
    NoSessionBus { detail: String },
    #[error(
        "no keychain answers on the D-Bus session bus ({detail}): start one (gnome-keyring-daemon, KeePassXC or \
         KWallet with its Secret Service enabled), or, on a headless server, opt into the plain-file store with \
         `[secrets] store = \"file\"` in the config"
    )]
    NoSecretService { detail: String },
    #[error(
        "the keyring is locked: unlock it (log in to the desktop, or `gnome-keyring-daemon --unlock` with your \
         password on stdin), then try again"
    )]
    Locked,
    #[error("the keychain failed: {detail}")]
    Keychain { detail: String },
    #[error(
        "no secret named \"{name}\" in {store}; `gatehouse auth list` shows the names, `gatehouse auth add {name}` stores one"
    )]
    NotFound { name: SecretName, store: String },
    #[error(
        "the secret \"{name}\" in {store} is not valid UTF-8 text; store it again with `gatehouse auth add {name}`"
    )]
    NotText { name: SecretName, store: String },
    #[error("the environment variable {name} is not set (or not valid UTF-8)")]
    EnvMissing { name: String },
    #[error("cannot read or write the secrets file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("the secrets file {path} is damaged ({message}); fix or delete it, then add the secrets again")]
    FileDamaged { path: PathBuf, message: String },
}

impl SecretError {
    /// Whether the store itself could not be reached (no bus, no keychain,
    /// locked), as opposed to a problem with one secret.
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, SecretError::NoSessionBus { .. } | SecretError::NoSecretService { .. } | SecretError::Locked)
    }
}

/// The store `[secrets] store` chose, opened.
pub(crate) enum SecretStore {
    Keychain(keychain::Keychain),
    File(file_store::FileStore),
}

impl SecretStore {
    /// Opens the configured store. The keychain is connected to here, so an
    /// unreachable one fails now with its own error.
    pub(crate) fn open(paths: &Paths, kind: StoreKind) -> Result<SecretStore, SecretError> {
        match kind {
            StoreKind::Keychain => Ok(SecretStore::Keychain(keychain::Keychain::open()?)),
            StoreKind::File => Ok(SecretStore::File(file_store::FileStore::at(paths))),
        }
    }

    /// Where the secrets are, for people: "the OS keychain (…)" or the file.
    pub(crate) fn describe(&self) -> String {
        match self {
            SecretStore::Keychain(_) => keychain::DESCRIPTION.to_string(),
            SecretStore::File(store) => store.describe(),
        }
    }

    /// Stores (or replaces) a secret.
    pub(crate) fn put(
        &self,
        name: &SecretName,
        provider: Option<Provider>,
        secret: &SecretString,
    ) -> Result<(), SecretError> {
        match self {
            SecretStore::Keychain(store) => store.put(name, provider, secret),
            SecretStore::File(store) => store.put(name, provider, secret),
        }
    }

    /// Deletes a secret; `false` when there was none.
    pub(crate) fn remove(&self, name: &SecretName) -> Result<bool, SecretError> {
        match self {
            SecretStore::Keychain(store) => store.remove(name),
            SecretStore::File(store) => store.remove(name),
        }
    }

    /// The stored secrets' names and providers, sorted by name.
    pub(crate) fn list(&self) -> Result<Vec<StoredSecret>, SecretError> {
        let mut secrets = match self {
            SecretStore::Keychain(store) => store.list()?,
            SecretStore::File(store) => store.list()?,
        };
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(secrets)
    }

    fn get(&self, name: &SecretName) -> Result<(SecretString, Option<Provider>), SecretError> {
        match self {
            SecretStore::Keychain(store) => store.get(name),
            SecretStore::File(store) => store.get(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_a_small_vocabulary() {
        for good in ["anthropic", "openrouter", "team-key_2", "A", &"x".repeat(MAX_NAME_LEN)] {
            assert_eq!(SecretName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "a b", "a/b", "a:b", "über", "a\n", &"x".repeat(MAX_NAME_LEN + 1)] {
            let error = SecretName::parse(bad).unwrap_err().to_string();
            assert!(error.contains("letters, digits, `-` or `_`"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_name_after_a_provider_implies_it() {
        let implied = |name| Provider::implied_by(&SecretName::parse(name).unwrap());
        assert_eq!(implied("anthropic"), Some(Provider::Anthropic));
        assert_eq!(implied("openrouter"), Some(Provider::OpenRouter));
        assert_eq!(implied("team"), None);
        assert_eq!(Provider::from_attribute(""), None, "an empty attribute is a cleared provider");
    }
}
