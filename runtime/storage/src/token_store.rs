//! Tokens as an interface: [`TokenStore`], what every Storage backend does with API tokens (the
//! embedded [`Storage`] here, PostgreSQL in `berth-postgres`), so one behaviour suite holds each
//! of them to the same rules.
//!
//! Shared, decided in this crate: the secret's shape and its hash ([`crate::new_secret`],
//! [`crate::secret_hash`]; only the hash is stored) and how a found token is judged
//! ([`crate::TokenCheck::judge`]: revoked, expired, valid). A backend stores: ids count up from
//! 1, listings are oldest first and leave job-scoped tokens out, revoking keeps the first
//! revocation's time.

use crate::{NewToken, Storage, StorageError, TokenCheck, TokenInfo};

/// API tokens: creating, reading, checking and revoking them.
pub trait TokenStore {
    /// Creates a token; returns it and its secret (shown once, never stored).
    fn create_token(&mut self, new: &NewToken) -> Result<(TokenInfo, String), StorageError>;

    /// The token `id` ([`StorageError::TokenNotFound`] when there is none).
    fn token(&self, id: &str) -> Result<TokenInfo, StorageError>;

    /// Every token that is not job-scoped, oldest first.
    fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError>;

    /// The tokens scoped to job `job_id`, oldest first.
    fn job_tokens(&self, job_id: &str) -> Result<Vec<TokenInfo>, StorageError>;

    /// Whose secret this is, and whether it may be used now.
    fn check_token(&self, secret: &str) -> Result<TokenCheck, StorageError>;

    /// Revokes token `id` at once (revoking twice is fine).
    fn revoke_token(&mut self, id: &str) -> Result<(), StorageError>;

    /// Revokes every token scoped to job `job_id`.
    fn revoke_job_tokens(&mut self, job_id: &str) -> Result<(), StorageError>;
}

impl TokenStore for Storage {
    fn create_token(&mut self, new: &NewToken) -> Result<(TokenInfo, String), StorageError> {
        Storage::create_token(self, new)
    }

    fn token(&self, id: &str) -> Result<TokenInfo, StorageError> {
        Storage::token(self, id)
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError> {
        Storage::tokens(self)
    }

    fn job_tokens(&self, job_id: &str) -> Result<Vec<TokenInfo>, StorageError> {
        Storage::job_tokens(self, job_id)
    }

    fn check_token(&self, secret: &str) -> Result<TokenCheck, StorageError> {
        Storage::check_token(self, secret)
    }

    fn revoke_token(&mut self, id: &str) -> Result<(), StorageError> {
        Storage::revoke_token(self, id)
    }

    fn revoke_job_tokens(&mut self, job_id: &str) -> Result<(), StorageError> {
        Storage::revoke_job_tokens(self, job_id)
    }
}
