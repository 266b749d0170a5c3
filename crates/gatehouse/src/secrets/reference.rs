//! How the config names a secret without holding it: `keychain:NAME` (the
//! OS keychain), `env:NAME` (an environment variable, for servers and CI)
//! or `file:NAME` (the plain-file store, only when the config opts into it).

use std::fmt;

use secrecy::SecretString;

use super::{Provider, SecretError, SecretName, SecretStore, StoreKind};
use crate::paths::Paths;

/// A reference to a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretRef {
    Keychain(SecretName),
    /// An environment variable's name.
    Env(String),
    File(SecretName),
}

/// Why a secret reference does not parse.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SecretRefError {
    #[error(
        "{text:?} is not a secret reference: write `keychain:NAME` (a secret stored with `gatehouse auth add NAME`) \
         or `env:VARIABLE`"
    )]
    NoScheme { text: String },
    #[error("unknown secret store {scheme:?} in {text:?}: use `keychain:NAME` or `env:VARIABLE`")]
    UnknownScheme { scheme: String, text: String },
    #[error("invalid secret name {name:?}: use 1 to 64 letters, digits, `-` or `_`")]
    InvalidName { name: String },
    #[error("invalid environment variable name {name:?}: use letters, digits and `_`, not starting with a digit")]
    InvalidEnvName { name: String },
    #[error(
        "{text:?} names the plain-file store, which is off: use `keychain:NAME`, or (only on a server without a \
         keychain) set `[secrets] store = \"file\"`"
    )]
    FileStoreOff { text: String },
}

/// A resolved secret and, when its store records it, whom it is for.
pub(crate) struct Resolved {
    pub(crate) secret: SecretString,
    pub(crate) provider: Option<Provider>,
}

impl SecretRef {
    /// Parses `scheme:name`. `file:` is accepted only when `store` is the
    /// plain-file store.
    pub(crate) fn parse(text: &str, store: StoreKind) -> Result<SecretRef, SecretRefError> {
        let Some((scheme, name)) = text.split_once(':') else {
            return Err(SecretRefError::NoScheme { text: text.to_string() });
        };
        let secret_name =
            || SecretName::parse(name).map_err(|_| SecretRefError::InvalidName { name: name.to_string() });
        match scheme {
            "keychain" => Ok(SecretRef::Keychain(secret_name()?)),
            "file" if store == StoreKind::File => Ok(SecretRef::File(secret_name()?)),
            "file" => Err(SecretRefError::FileStoreOff { text: text.to_string() }),
            "env" => {
                let valid = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if valid {
                    Ok(SecretRef::Env(name.to_string()))
                } else {
                    Err(SecretRefError::InvalidEnvName { name: name.to_string() })
                }
            }
            other => Err(SecretRefError::UnknownScheme { scheme: other.to_string(), text: text.to_string() }),
        }
    }

    /// The reference to a secret stored under `name` in the store `kind`.
    pub(crate) fn in_store(name: SecretName, kind: StoreKind) -> SecretRef {
        match kind {
            StoreKind::Keychain => SecretRef::Keychain(name),
            StoreKind::File => SecretRef::File(name),
        }
    }

    /// Reads the secret from wherever it is.
    pub(crate) fn resolve(&self, paths: &Paths) -> Result<Resolved, SecretError> {
        let (store, name) = match self {
            SecretRef::Env(variable) => {
                let value = std::env::var(variable)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| SecretError::EnvMissing { name: variable.clone() })?;
                return Ok(Resolved { secret: SecretString::from(value), provider: None });
            }
            SecretRef::Keychain(name) => (StoreKind::Keychain, name),
            SecretRef::File(name) => (StoreKind::File, name),
        };
        let (secret, provider) = SecretStore::open(paths, store)?.get(name)?;
        Ok(Resolved { secret, provider })
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Keychain(name) => write!(f, "keychain:{name}"),
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(name) => write!(f, "file:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_print_back() {
        for text in ["keychain:openrouter", "env:OPENROUTER_API_KEY", "keychain:team-key_2"] {
            assert_eq!(SecretRef::parse(text, StoreKind::Keychain).unwrap().to_string(), text);
        }
        assert_eq!(
            SecretRef::parse("file:team", StoreKind::File).unwrap(),
            SecretRef::File(SecretName::parse("team").unwrap())
        );
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        let parse = |text| SecretRef::parse(text, StoreKind::Keychain).unwrap_err();
        assert!(matches!(parse("openrouter"), SecretRefError::NoScheme { .. }));
        assert!(matches!(parse("vault:x"), SecretRefError::UnknownScheme { .. }));
        assert!(matches!(parse("keychain:"), SecretRefError::InvalidName { .. }));
        assert!(matches!(parse("keychain:a b"), SecretRefError::InvalidName { .. }));
        assert!(matches!(parse("keychain:über"), SecretRefError::InvalidName { .. }));
        assert!(matches!(parse("env:1ABC"), SecretRefError::InvalidEnvName { .. }));
        assert!(matches!(parse("env:"), SecretRefError::InvalidEnvName { .. }));
        let off = parse("file:team");
        assert!(matches!(off, SecretRefError::FileStoreOff { .. }));
        assert!(off.to_string().contains("[secrets] store = \"file\""), "{off}");
        assert!(parse("openrouter").to_string().contains("keychain:NAME"));
    }

    #[test]
    fn an_env_reference_resolves_to_a_secret_that_never_prints() {
        let paths = Paths::under(std::path::Path::new("/nonexistent"));
        // A variable every test process has, so no test changes the environment.
        let resolved = SecretRef::parse("env:PATH", StoreKind::Keychain).unwrap().resolve(&paths).unwrap();
        let path = std::env::var("PATH").unwrap();
        let shown = format!("{:?}", resolved.secret);
        assert!(!shown.contains(&path) && shown.contains("REDACTED"), "{shown}");
        let missing = SecretRef::Env("GATEHOUSE_TEST_SURELY_UNSET_VARIABLE".into()).resolve(&paths);
        assert!(matches!(missing, Err(SecretError::EnvMissing { .. })));
    }
}
