//! The OS keychain as Gatehouse's secret store.
//!
//! Each secret is one keychain item: service `gatehouse`, account (the
//! Secret Service's `username` attribute) the secret's name, and on Linux
//! the label "Gatehouse: NAME", which is what Seahorse and KWallet show, plus
//! a `provider` attribute (`anthropic`, `openrouter`) that `auth test` reads.
//!
//! # Why keyring-core 1 and these stores
//!
//! The `keyring` crate's 3.x line picks its backend by cargo feature, and
//! with no backend feature it compiles and silently keeps secrets in an
//! in-memory mock: they vanish when the process exits. Its 4.x line splits
//! into `keyring-core` (the API) and one crate per store, and `keyring` 4
//! itself is a convenience wrapper its authors advise applications not to
//! link. So Gatehouse links `keyring-core` and picks each platform's store
//! itself, by target, in its `Cargo.toml`:
//! - Linux and the BSDs: `zbus-secret-service-keyring-store`, the Secret
//!   Service over D-Bus through zbus, pure Rust (`crypto-rust`), so building
//!   needs no libdbus-1-dev;
//! - macOS: `apple-native-keyring-store` (the login Keychain);
//! - Windows: `windows-native-keyring-store` (the Credential Manager).
//!
//! There is no default store and no mock: the store is built here and handed
//! to every entry, and a target with none of the three does not compile.
//! Items need no unlock prompt of their own beyond the keyring's.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error};
use secrecy::{ExposeSecret, SecretString};

use super::{Provider, SecretError, SecretName, StoredSecret};

#[cfg(not(any(
    all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))),
    target_os = "macos",
    windows
)))]
compile_error!(
    "Gatehouse has no OS keychain for this target: it supports the Secret Service (Linux, BSD), the macOS \
     Keychain and the Windows Credential Manager, and never falls back to an in-memory store"
);

/// The service every Gatehouse item is stored under.
const SERVICE: &str = "gatehouse";
/// The item attribute that says whom a secret is for.
const PROVIDER_ATTRIBUTE: &str = "provider";

/// Where the secrets are, for `auth list` and messages.
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
pub(super) const DESCRIPTION: &str = "the OS keychain (Secret Service, service \"gatehouse\")";
#[cfg(target_os = "macos")]
pub(super) const DESCRIPTION: &str = "the OS keychain (macOS Keychain, service \"gatehouse\")";
#[cfg(windows)]
pub(super) const DESCRIPTION: &str = "the OS keychain (Windows Credential Manager, service \"gatehouse\")";

/// An open connection to the OS keychain.
pub(crate) struct Keychain {
    store: Arc<CredentialStore>,
}

impl Keychain {
    /// Connects to the platform's keychain.
    pub(super) fn open() -> Result<Keychain, SecretError> {
        Ok(Keychain { store: platform_store()? })
    }

    fn entry(&self, name: &SecretName) -> Result<Entry, SecretError> {
        let label = format!("Gatehouse: {name}");
        let modifiers = item_modifiers(&label);
        self.store.build(SERVICE, name.as_str(), modifiers.as_ref()).map_err(|e| failure(e, name))
    }

    pub(super) fn put(
        &self,
        name: &SecretName,
        provider: Option<Provider>,
        secret: &SecretString,
    ) -> Result<(), SecretError> {
        let entry = self.entry(name)?;
        entry.set_secret(secret.expose_secret().as_bytes()).map_err(|e| failure(e, name))?;
        // An empty value clears the provider an earlier `add` of this name set.
        let provider = HashMap::from([(PROVIDER_ATTRIBUTE, provider.map_or("", Provider::as_str))]);
        match entry.update_attributes(&provider) {
            // The macOS and Windows stores keep no custom attributes: there
            // `auth test` takes `--provider`.
            Ok(()) | Err(Error::NotSupportedByStore(_)) => Ok(()),
            Err(e) => Err(failure(e, name)),
        }
    }

    pub(super) fn get(&self, name: &SecretName) -> Result<(SecretString, Option<Provider>), SecretError> {
        let entry = self.entry(name)?;
        let bytes = entry.get_secret().map_err(|e| failure(e, name))?;
        let secret = String::from_utf8(bytes)
            .map_err(|_| SecretError::NotText { name: name.clone(), store: DESCRIPTION.to_string() })?;
        let secret = SecretString::from(secret);
        let provider = entry.get_attributes().map_err(|e| failure(e, name))?;
        Ok((secret, provider.get(PROVIDER_ATTRIBUTE).and_then(|p| Provider::from_attribute(p))))
    }

    pub(super) fn remove(&self, name: &SecretName) -> Result<bool, SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(Error::NoEntry) => Ok(false),
            Err(e) => Err(failure(e, name)),
        }
    }

    pub(super) fn list(&self) -> Result<Vec<StoredSecret>, SecretError> {
        let spec = HashMap::from([("service", SERVICE)]);
        let entries = self.store.search(&spec).map_err(|e| store_failure(e, "list the secrets"))?;
        let mut secrets = Vec::with_capacity(entries.len());
        for entry in entries {
            // An item some other program filed under our service with an
            // account name outside the vocabulary is not ours to show.
            let Some(name) = entry.get_specifiers().and_then(|(_, user)| SecretName::parse(&user).ok()) else {
                continue;
            };
            let attributes = entry.get_attributes().map_err(|e| failure(e, &name))?;
            let provider = attributes.get(PROVIDER_ATTRIBUTE).and_then(|p| Provider::from_attribute(p));
            secrets.push(StoredSecret { name, provider });
        }
        Ok(secrets)
    }
}

/// The Secret Service store. Connecting to the session bus first tells "no
/// bus at all" apart from "a bus, but no keychain on it".
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
fn platform_store() -> Result<Arc<CredentialStore>, SecretError> {
    let bus = zbus::blocking::Connection::session().map_err(|e| SecretError::NoSessionBus { detail: e.to_string() })?;
    drop(bus);
    match zbus_secret_service_keyring_store::Store::new() {
        Ok(store) => Ok(store),
        Err(Error::NoStorageAccess(_)) => Err(SecretError::Locked),
        Err(e) => Err(SecretError::NoSecretService { detail: platform_detail(&e) }),
    }
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<CredentialStore>, SecretError> {
    let store =
        apple_native_keyring_store::keychain::Store::new().map_err(|e| store_failure(e, "open the Keychain"))?;
    Ok(store)
}

#[cfg(windows)]
fn platform_store() -> Result<Arc<CredentialStore>, SecretError> {
    let store =
        windows_native_keyring_store::Store::new().map_err(|e| store_failure(e, "open the Credential Manager"))?;
    Ok(store)
}

/// The label people see in the keychain's own UI: only the Secret Service
/// store takes one (the others refuse unknown modifiers).
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
fn item_modifiers(label: &str) -> Option<HashMap<&str, &str>> {
    Some(HashMap::from([("label", label)]))
}

#[cfg(not(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android")))))]
fn item_modifiers(_label: &str) -> Option<HashMap<&'static str, &'static str>> {
    None
}

/// A keychain error about one secret, as the user's error.
fn failure(error: Error, name: &SecretName) -> SecretError {
    match error {
        Error::NoEntry => SecretError::NotFound { name: name.clone(), store: DESCRIPTION.to_string() },
        other => store_failure(other, &format!("use the secret \"{name}\"")),
    }
}

/// A keychain error, as the user's error. Never formats the error with
/// `Debug`, and never shows the bytes `BadEncoding` and `BadDataFormat`
/// carry: they are the secret.
fn store_failure(error: Error, doing: &str) -> SecretError {
    match error {
        Error::NoStorageAccess(_) => SecretError::Locked,
        other => SecretError::Keychain { detail: format!("cannot {doing}: {}", platform_detail(&other)) },
    }
}

fn platform_detail(error: &Error) -> String {
    match error {
        Error::BadEncoding(_) => "the stored secret is not text".to_string(),
        Error::BadDataFormat(_, _) => "the stored secret is malformed".to_string(),
        Error::Ambiguous(items) => {
            format!("{} keychain items match; delete the extra ones in the keychain's own app", items.len())
        }
        other => other.to_string(),
    }
}
