//! berth's secrets (reference §7.4, §8; seed 003 "Encryption"): values under `#` keys are kept as
//! scoped ciphers, opened only for the job that needs them, and hidden in everything berth shows
//! or keeps.
//!
//! - [`keys`]: the home's master key (`<home>/keys/master.key`, or `BERTH_MASTER_KEY_FILE`) and the
//!   key files of a rotation;
//! - [`scope`]: the cipher kinds (`KBC::ProjectSecure::` …) and what each is bound to;
//! - [`cipher`]: one value to a cipher and back (AES-256-GCM, the bound values as associated data);
//! - [`walk`]: which values of a JSON document are secrets, encrypted, decrypted, re-encrypted;
//! - [`redact`]: `[hidden]` in text, JSON and streams;
//! - [`registry`]: the running jobs' secrets for process-wide sinks (tracing logs);
//! - [`error`]: what can go wrong, and whose fault it is.
//!
//! This crate sits beside Storage in berth's stack and depends on neither Storage nor executors:
//! the job crate stores what it encrypts and hands the executors a redaction hook.

pub mod cipher;
pub mod error;
pub mod keys;
pub mod redact;
pub mod registry;
pub mod scope;
pub mod walk;

pub use error::{Refusal, SecretError};
pub use keys::{KeyError, KeyFiles, Keyring, MASTER_KEY_ENV, MasterKey};
pub use redact::{HIDDEN, Redactor, StreamRedactor};
pub use scope::{Attributes, Context, Kind, Scope, ScopeError};
pub use walk::{
    Reencrypted, decrypt_document, encrypt_document, is_placeholder, reencrypt_document,
};
