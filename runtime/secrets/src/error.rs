//! What can go wrong with secrets, and whose fault it is.
//!
//! A `#` value that does not open — plaintext, a legacy or foreign cipher, a cipher of another
//! scope, a tampered or corrupted cipher, a cipher made with a key this home does not have — is
//! the user's error, and its text is the reference's (§8.2, OE `decryptItem`):
//! `Invalid cipher text for key #x Value "..." is not an encrypted value.` The [`Refusal`] says
//! which case it was, for logs. A missing or unreadable master key, or a failing crypto backend,
//! is berth's (an application error).

use super::keys::KeyError;
use super::scope::ScopeError;

/// Why a value did not open (or may not be encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No cipher prefix: a plain value.
    NotACipher,
    /// A legacy cipher, or another cloud's family: recognised, never opened.
    Foreign(&'static str),
    /// A berth prefix with a body that is not a berth cipher.
    Malformed,
    /// Bound to another component, project, configuration or branch type (or to one the context
    /// does not have).
    Scope {
        /// The attribute that differs.
        attribute: &'static str,
        /// The value the cipher is bound to.
        bound: String,
        /// The context's value, `None` when the context has none.
        context: Option<String>,
    },
    /// Made with a key this home does not have (another home, or a key rotated away).
    UnknownKey(String),
    /// The authentication tag does not match: the cipher was changed.
    Tampered,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotACipher => f.write_str("not a cipher"),
            Refusal::Foreign(prefix) => write!(f, "a {prefix} cipher, which berth cannot open"),
            Refusal::Malformed => f.write_str("a corrupted cipher"),
            Refusal::Scope {
                attribute,
                bound,
                context: Some(have),
            } => write!(f, "bound to {attribute} \"{bound}\", not \"{have}\""),
            Refusal::Scope {
                attribute,
                bound,
                context: None,
            } => write!(
                f,
                "bound to {attribute} \"{bound}\", and there is none here"
            ),
            Refusal::UnknownKey(id) => {
                write!(f, "made with key {id}, which this home does not have")
            }
            Refusal::Tampered => f.write_str("a changed cipher (authentication failed)"),
        }
    }
}

/// A secrets failure.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A `#` value does not open, or (on the way in) is a legacy cipher: a user error with the
    /// reference's text.
    #[error("Invalid cipher text for key {key} Value \"{value}\" is not an encrypted value.")]
    NotEncrypted {
        /// The `#` key.
        key: String,
        /// The value as given.
        value: String,
        /// Why (not part of the message; for logs and tests).
        reason: Refusal,
    },
    /// The attributes cannot make a cipher (encrypt API parameters): a user error.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The master key is missing or unusable: an application error.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The crypto backend failed: an application error.
    #[error("Encryption failed: {0}")]
    Crypto(String),
}

impl SecretError {
    /// Whether the user is at fault (exit 1) rather than berth (exit 2).
    pub fn is_user_error(&self) -> bool {
        matches!(self, Self::NotEncrypted { .. } | Self::Scope(_))
    }

    /// The refusal behind a [`SecretError::NotEncrypted`].
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::NotEncrypted { reason, .. } => Some(reason),
            _ => None,
        }
    }
}
