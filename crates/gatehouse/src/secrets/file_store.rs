//! The plain-file secret store, for headless servers with no keychain.
//!
//! Off unless the config says `[secrets] store = "file"`. The secrets live
//! in `secrets.json` in the data directory, unencrypted: anyone who can read
//! the user's files can read them, which is why `auth list` and `config
//! show` say so. Every version of the file is written by
//! [`crate::fs_atomic::write_private`]: a temporary file opened with mode
//! 0600 (so at no moment can anyone else read it), then renamed over the
//! old one, so a crash leaves the old file or the new one, never half of
//! either. Every change is a read-modify-write under the cross-process lock
//! beside it (`.secrets.json.lock`), so two `gatehouse auth add` at once
//! both land.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{Provider, SecretError, SecretName, StoredSecret};
use crate::file_lock::FileLock;
use crate::paths::Paths;

/// The store's file name in the data directory.
pub(crate) const FILE_NAME: &str = "secrets.json";

/// The plain-file store at its path.
pub(crate) struct FileStore {
    path: PathBuf,
}

/// The file as written. `secret` is plain text by design (see the module doc).
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    secrets: BTreeMap<String, FileEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<Provider>,
    secret: String,
}

impl FileStore {
    pub(super) fn at(paths: &Paths) -> FileStore {
        FileStore { path: paths.data_dir.join(FILE_NAME) }
    }

    pub(super) fn describe(&self) -> String {
        format!("a plain file, {} (not encrypted; opted in by [secrets] store = \"file\")", self.path.display())
    }

    pub(super) fn put(
        &self,
        name: &SecretName,
        provider: Option<Provider>,
        secret: &SecretString,
    ) -> Result<(), SecretError> {
        self.edit(|file| {
            let entry = FileEntry { provider, secret: secret.expose_secret().to_string() };
            file.secrets.insert(name.to_string(), entry);
            true
        })
        .map(|_| ())
    }

    pub(super) fn remove(&self, name: &SecretName) -> Result<bool, SecretError> {
        self.edit(|file| file.secrets.remove(name.as_str()).is_some())
    }

    pub(super) fn get(&self, name: &SecretName) -> Result<(SecretString, Option<Provider>), SecretError> {
        let mut file = self.read()?;
        match file.secrets.remove(name.as_str()) {
            Some(entry) => Ok((SecretString::from(entry.secret), entry.provider)),
            None => Err(SecretError::NotFound { name: name.clone(), store: self.describe() }),
        }
    }

    pub(super) fn list(&self) -> Result<Vec<StoredSecret>, SecretError> {
        Ok(self
            .read()?
            .secrets
            .into_iter()
            .filter_map(|(name, entry)| {
                SecretName::parse(&name).ok().map(|name| StoredSecret { name, provider: entry.provider })
            })
            .collect())
    }

    fn io_error(&self, source: std::io::Error) -> SecretError {
        SecretError::File { path: self.path.clone(), source }
    }

    /// The file's contents; a missing file holds no secrets.
    fn read(&self) -> Result<SecretsFile, SecretError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SecretsFile::default()),
            Err(e) => return Err(self.io_error(e)),
        };
        // Only where: serde_json's own messages quote the offending value,
        // which may be a secret.
        serde_json::from_slice(&bytes).map_err(|e| SecretError::FileDamaged {
            path: self.path.clone(),
            message: format!("not the expected JSON at line {}, column {}", e.line(), e.column()),
        })
    }

    /// Read, change, write back, under the lock. `change` returns whether it
    /// changed anything; the file is rewritten only then.
    fn edit(&self, change: impl FnOnce(&mut SecretsFile) -> bool) -> Result<bool, SecretError> {
        crate::failpoint::pause_at("secrets-file-before-lock");
        let _lock = FileLock::beside(&self.path).map_err(|e| self.io_error(e.source))?;
        let mut file = self.read()?;
        crate::failpoint::pause_at("secrets-file-read");
        if !change(&mut file) {
            return Ok(false);
        }
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| self.io_error(e.into()))?;
        bytes.push(b'\n');
        let written = crate::fs_atomic::write_private(&self.path, &bytes).map_err(|e| self.io_error(e));
        zero(&mut bytes);
        written.map(|()| true)
    }
}

/// Overwrites a buffer that held secrets before it is freed.
fn zero(bytes: &mut [u8]) {
    bytes.iter_mut().for_each(|b| *b = 0);
    // Keep the writes from being optimised away as dead stores.
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn store(dir: &std::path::Path) -> FileStore {
        FileStore::at(&Paths::under(dir))
    }

    #[test]
    fn a_secret_round_trips_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let name = SecretName::parse("team").unwrap();
        store.put(&name, Some(Provider::OpenRouter), &SecretString::from("sk-or-v1-abc")).unwrap();
        let (secret, provider) = store.get(&name).unwrap();
        assert_eq!(secret.expose_secret(), "sk-or-v1-abc");
        assert_eq!(provider, Some(Provider::OpenRouter));
        let path = dir.path().join("data").join(FILE_NAME);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            store.list().unwrap(),
            vec![StoredSecret { name: name.clone(), provider: Some(Provider::OpenRouter) }]
        );
        assert!(store.remove(&name).unwrap());
        assert!(!store.remove(&name).unwrap());
        assert!(matches!(store.get(&name), Err(SecretError::NotFound { .. })));
    }

    #[test]
    fn a_damaged_file_is_reported_without_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data").join(FILE_NAME), "{\"secrets\": {\"a\": \"sk-leak\"}}").unwrap();
        let error = store(dir.path()).list().unwrap_err().to_string();
        assert!(error.contains("damaged"), "{error}");
        assert!(!error.contains("sk-leak"), "{error}");
    }
}
