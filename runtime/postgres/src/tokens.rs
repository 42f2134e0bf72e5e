//! API tokens on PostgreSQL, and [`TokenStore`] for [`PgStorage`] — the embedded Storage's token
//! rules (the secret's shape and hash, how a found token is judged: `berth-storage`'s), stored in
//! `berth_tokens`. Expiry and revocation use the database server's clock, so every node agrees.

use postgres::{GenericClient, Row};
use time::OffsetDateTime;

use berth_storage::{
    NewToken, StorageError, TokenCheck, TokenInfo, TokenStore, new_secret, secret_hash,
};

use crate::{PgError, PgStorage};

/// The columns [`token_info`] reads, in order.
const COLUMNS: &str =
    "id, description, is_admin, read_only, component_access, created, expires, revoked, job_id";

fn token_info(row: &Row) -> TokenInfo {
    TokenInfo {
        id: row.get(0),
        description: row.get(1),
        admin: row.get(2),
        read_only: row.get(3),
        component_access: row.get(4),
        created: row.get(5),
        expires: row.get(6),
        revoked: row.get(7),
        job_id: row.get(8),
    }
}

fn get(client: &mut impl GenericClient, id: &str) -> Result<TokenInfo, PgError> {
    if id.contains('\0') {
        // No id holds one (PostgreSQL text cannot).
        return Err(StorageError::TokenNotFound { id: id.to_owned() }.into());
    }
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM berth_tokens WHERE id = $1"),
            &[&id],
        )
        .map_err(PgError::db("reading a token", id))?
        .ok_or_else(|| StorageError::TokenNotFound { id: id.to_owned() })?;
    Ok(token_info(&row))
}

impl PgStorage {
    /// Creates a token; returns it and its secret (shown once, never stored).
    pub fn create_token(&mut self, new: &NewToken) -> Result<(TokenInfo, String), PgError> {
        let mut client = self.client();
        let seq: i64 = client
            .query_one("SELECT nextval('berth_token_ids')", &[])
            .map_err(PgError::db("creating a token", "tokens"))?
            .get(0);
        let id = seq.to_string();
        let secret = new_secret(&id);
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO berth_tokens (id, seq, hash, description, is_admin, read_only, \
                       component_access, expires, job_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
                ),
                &[
                    &id,
                    &seq,
                    &secret_hash(&secret),
                    &new.description,
                    &new.admin,
                    &new.read_only,
                    &new.component_access,
                    &new.expires,
                    &new.job_id,
                ],
            )
            .map_err(PgError::db("creating a token", &id))?;
        Ok((token_info(&row), secret))
    }

    /// The token `id` ([`StorageError::TokenNotFound`] when there is none).
    pub fn token(&self, id: &str) -> Result<TokenInfo, PgError> {
        get(&mut *self.client(), id)
    }

    /// Every token that is not job-scoped, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, PgError> {
        Ok(self
            .client()
            .query(
                &format!("SELECT {COLUMNS} FROM berth_tokens WHERE job_id IS NULL ORDER BY seq"),
                &[],
            )
            .map_err(PgError::db("listing tokens", "tokens"))?
            .iter()
            .map(token_info)
            .collect())
    }

    /// The tokens scoped to job `job_id`, oldest first.
    pub fn job_tokens(&self, job_id: &str) -> Result<Vec<TokenInfo>, PgError> {
        if job_id.contains('\0') {
            return Ok(Vec::new());
        }
        Ok(self
            .client()
            .query(
                &format!("SELECT {COLUMNS} FROM berth_tokens WHERE job_id = $1 ORDER BY seq"),
                &[&job_id],
            )
            .map_err(PgError::db("listing a job's tokens", job_id))?
            .iter()
            .map(token_info)
            .collect())
    }

    /// Whose secret this is, and whether it may be used now (by the database server's clock).
    pub fn check_token(&self, secret: &str) -> Result<TokenCheck, PgError> {
        let row = self
            .client()
            .query_opt(
                &format!("SELECT {COLUMNS}, clock_timestamp() FROM berth_tokens WHERE hash = $1"),
                &[&secret_hash(secret)],
            )
            .map_err(PgError::db("checking a token", "tokens"))?;
        Ok(match row {
            None => TokenCheck::Unknown,
            Some(row) => {
                let now: OffsetDateTime = row.get(9);
                TokenCheck::judge(Some(token_info(&row)), now)
            }
        })
    }

    /// Revokes token `id` at once (revoking twice keeps the first time).
    pub fn revoke_token(&mut self, id: &str) -> Result<(), PgError> {
        if id.contains('\0') {
            return Err(StorageError::TokenNotFound { id: id.to_owned() }.into());
        }
        let changed = self
            .client()
            .execute(
                "UPDATE berth_tokens SET revoked = coalesce(revoked, clock_timestamp()) \
                 WHERE id = $1",
                &[&id],
            )
            .map_err(PgError::db("revoking a token", id))?;
        if changed == 0 {
            return Err(StorageError::TokenNotFound { id: id.to_owned() }.into());
        }
        Ok(())
    }

    /// Revokes every token scoped to job `job_id` (when the job ends).
    pub fn revoke_job_tokens(&mut self, job_id: &str) -> Result<(), PgError> {
        if job_id.contains('\0') {
            return Ok(());
        }
        self.client()
            .execute(
                "UPDATE berth_tokens SET revoked = coalesce(revoked, clock_timestamp()) \
                 WHERE job_id = $1",
                &[&job_id],
            )
            .map_err(PgError::db("revoking a job's tokens", job_id))?;
        Ok(())
    }
}

impl TokenStore for PgStorage {
    fn create_token(&mut self, new: &NewToken) -> Result<(TokenInfo, String), StorageError> {
        Ok(PgStorage::create_token(self, new)?)
    }

    fn token(&self, id: &str) -> Result<TokenInfo, StorageError> {
        Ok(PgStorage::token(self, id)?)
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError> {
        Ok(PgStorage::tokens(self)?)
    }

    fn job_tokens(&self, job_id: &str) -> Result<Vec<TokenInfo>, StorageError> {
        Ok(PgStorage::job_tokens(self, job_id)?)
    }

    fn check_token(&self, secret: &str) -> Result<TokenCheck, StorageError> {
        Ok(PgStorage::check_token(self, secret)?)
    }

    fn revoke_token(&mut self, id: &str) -> Result<(), StorageError> {
        Ok(PgStorage::revoke_token(self, id)?)
    }

    fn revoke_job_tokens(&mut self, job_id: &str) -> Result<(), StorageError> {
        Ok(PgStorage::revoke_job_tokens(self, job_id)?)
    }
}
