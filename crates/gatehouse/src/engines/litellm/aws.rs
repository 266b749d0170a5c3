//! AWS credentials for a `bedrock` upstream, as one keychain secret.
//!
//! A `bedrock` upstream's `secret` holds `ACCESS_KEY_ID:SECRET_ACCESS_KEY`,
//! or `ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN` for temporary
//! credentials: one entry that `gatehouse auth add NAME` stores like any
//! other key (none of the three ever contains a `:`). The LiteLLM engine
//! gets them in its environment, never in its arguments or its config file,
//! and signs each Bedrock request with them.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

/// The three parts, each still secret.
pub(crate) struct AwsCredentials {
    pub(crate) access_key_id: SecretString,
    pub(crate) secret_access_key: SecretString,
    pub(crate) session_token: Option<SecretString>,
}

/// Why a secret is not AWS credentials; never shows the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the secret of upstream `{upstream}` is not AWS credentials ({why}); store \
     `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (or `…:SESSION_TOKEN` after them) with `gatehouse auth add {upstream}`"
)]
pub(crate) struct NotAwsCredentials {
    upstream: String,
    why: &'static str,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwsCredentials(…)")
    }
}

impl AwsCredentials {
    /// Parses the secret of the upstream called `upstream`.
    pub(crate) fn parse(upstream: &str, secret: &SecretString) -> Result<AwsCredentials, NotAwsCredentials> {
        let refuse = |why| NotAwsCredentials { upstream: upstream.to_string(), why };
        let parts: Vec<&str> = secret.expose_secret().trim().split(':').map(str::trim).collect();
        let (id, key, token) = match parts.as_slice() {
            [id, key] => (*id, *key, None),
            [id, key, token] => (*id, *key, Some(*token)),
            [_] => return Err(refuse("it has no `:` between the access key ID and the secret access key")),
            _ => return Err(refuse("it has more than three parts")),
        };
        if id.is_empty() || key.is_empty() || token.is_some_and(str::is_empty) {
            return Err(refuse("one of its parts is empty"));
        }
        if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(refuse("an access key ID has only letters and digits, as AKIA…"));
        }
        let printable = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
        if !printable(key) || !token.is_none_or(printable) {
            return Err(refuse("it has spaces or characters AWS keys do not have"));
        }
        Ok(AwsCredentials {
            access_key_id: SecretString::from(id.to_string()),
            secret_access_key: SecretString::from(key.to_string()),
            session_token: token.map(|token| SecretString::from(token.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AwsCredentials, NotAwsCredentials> {
        AwsCredentials::parse("bedrock", &SecretString::from(text.to_string()))
    }

    #[test]
    fn two_or_three_parts_are_credentials() {
        let two = parse(" AKIAEXAMPLE:wJalr/K7MDENG+bPxRfiCY \n").unwrap();
        assert_eq!(two.access_key_id.expose_secret(), "AKIAEXAMPLE");
        assert_eq!(two.secret_access_key.expose_secret(), "wJalr/K7MDENG+bPxRfiCY");
        assert!(two.session_token.is_none());
        let three = parse("ASIAEXAMPLE:key:FwoGZXIvYXdzE==").unwrap();
        assert_eq!(three.session_token.unwrap().expose_secret(), "FwoGZXIvYXdzE==");
    }

    #[test]
    fn anything_else_is_refused_without_showing_it() {
        for text in ["QQEXAMPLE", "QQ:", ":qqkey", "QQ:qqkey:", "QQ:b:c:d", "QQ-1:qqkey", "QQ:qq ey"] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains("gatehouse auth add bedrock"), "{error}");
            assert!(!error.contains("QQ") && !error.contains("qq"), "the secret shows in {error:?}");
        }
        assert_eq!(format!("{:?}", parse("AKIAEXAMPLE:topsecret").unwrap()), "AwsCredentials(…)");
    }
}
