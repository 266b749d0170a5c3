//! Gateway keys: how clients prove to the gateway that they may use it.
//!
//! A key is 32 random bytes, shown to the user (or written into Claude Code's
//! settings) once. The config keeps only its SHA-256 and a name, so the
//! ledger can say which client made a request. A fast hash is right here:
//! the key has 256 bits of entropy, so there is nothing to brute-force.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::{self, ConfigError, GatewayKeyEntry};

/// The HTTP header that carries a gateway key.
pub const HEADER: &str = "x-gatehouse-key";
/// The name of the key `gatehouse claude configure` issues.
pub const CLAUDE_CODE_KEY_NAME: &str = "claude-code";

const KEY_PREFIX: &str = "ghk_";

/// Lowercase hex SHA-256 of a key.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Makes a new random key.
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot get random bytes from the OS: {e}"))?;
    Ok(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
}

/// Issues a key under `name` and records its hash in the config file.
/// With `replace`, earlier keys of that name stop working.
pub fn issue(config_path: &Path, name: &str, replace: bool) -> anyhow::Result<String> {
    let key = generate()?;
    let entry =
        GatewayKeyEntry { name: name.to_string(), sha256: hash(&key), created: jiff::Timestamp::now().to_string() };
    config::edit_keys(config_path, |keys| {
        if replace {
            keys.retain(|k| k.name != name);
        }
        keys.push(entry);
    })?;
    Ok(key)
}

/// Revokes every key named `name`; returns how many there were.
pub fn revoke(config_path: &Path, name: &str) -> Result<usize, ConfigError> {
    let mut removed = 0;
    config::edit_keys(config_path, |keys| {
        let before = keys.len();
        keys.retain(|k| k.name != name);
        removed = before - keys.len();
    })?;
    Ok(removed)
}

/// Revokes the one key whose hash matches `key`.
pub fn revoke_key(config_path: &Path, key: &str) -> Result<(), ConfigError> {
    let digest = hash(key);
    config::edit_keys(config_path, |keys| keys.retain(|k| k.sha256 != digest))
}

/// Whether `key` is a valid key issued under `name`.
pub(crate) fn is_valid(config_path: &Path, name: &str, key: &str) -> Result<bool, ConfigError> {
    let digest = hash(key);
    Ok(config::Config::load(config_path)?.keys.iter().any(|k| k.name == name && k.sha256 == digest))
}

/// Revokes every key named `name` whose hash is not in `held`: keys issued
/// by a Gatehouse command that died before handing them out, or whose holder
/// is gone. Returns how many were revoked. The config is rewritten only when
/// there is something to revoke.
pub(crate) fn revoke_unheld(config_path: &Path, name: &str, held: &HashSet<String>) -> Result<usize, ConfigError> {
    let orphan = |k: &GatewayKeyEntry| k.name == name && !held.contains(&k.sha256);
    if !config::Config::load(config_path)?.keys.iter().any(orphan) {
        return Ok(0);
    }
    let mut removed = 0;
    config::edit_keys(config_path, |keys| {
        let before = keys.len();
        keys.retain(|k| !orphan(k));
        removed = before - keys.len();
    })?;
    Ok(removed)
}

/// The set of valid keys, looked up by hash.
#[derive(Debug, Default, Clone)]
pub struct KeyRing {
    by_hash: HashMap<[u8; 32], Arc<str>>,
}

impl KeyRing {
    pub fn from_entries<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> KeyRing {
        let by_hash = entries
            .filter_map(|(name, sha256)| {
                let mut digest = [0u8; 32];
                hex::decode_to_slice(sha256, &mut digest).ok()?;
                Some((digest, Arc::from(name)))
            })
            .collect();
        KeyRing { by_hash }
    }

    /// The name of the client holding `key`, if it is valid.
    pub fn client_for(&self, key: &[u8]) -> Option<Arc<str>> {
        let digest: [u8; 32] = Sha256::digest(key).into();
        self.by_hash.get(&digest).cloned()
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_key_is_recognised_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let key = issue(&path, "cli", false).unwrap();
        assert!(key.starts_with(KEY_PREFIX));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&key), "the config must hold only the hash");
        let config = config::Config::load(&path).unwrap();
        let ring = KeyRing::from_entries(config.key_hashes());
        assert_eq!(ring.client_for(key.as_bytes()).as_deref(), Some("cli"));
        assert_eq!(ring.client_for(b"ghk_wrong"), None);
        assert_eq!(revoke(&path, "cli").unwrap(), 1);
        let config = config::Config::load(&path).unwrap();
        assert!(KeyRing::from_entries(config.key_hashes()).is_empty());
    }

    #[test]
    fn replacing_rotates_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let first = issue(&path, "claude-code", true).unwrap();
        let second = issue(&path, "claude-code", true).unwrap();
        let ring =
            KeyRing::from_entries(config::Config::load(&path).unwrap().key_hashes().collect::<Vec<_>>().into_iter());
        assert!(ring.client_for(first.as_bytes()).is_none());
        assert!(ring.client_for(second.as_bytes()).is_some());
    }
}
