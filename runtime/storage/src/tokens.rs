//! API tokens: who may call `berth serve`, and what they may do.
//!
//! A token's secret is shown once, when it is created (`<id>-<40 random characters>`, the shape of
//! Keboola's Storage API tokens); Storage keeps only its SHA-256. A token is an admin token (every
//! route, token management), a read-only token (no jobs, no actions, no changes), and/or limited
//! to some components. A token may expire; a revoked or expired token is refused at once. A
//! job-scoped token (`job_id`) is what a component with `forward_token` receives as `KBC_TOKEN`:
//! it is revoked when its job ends.

use duckdb::{OptionalExt, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::db::{from_micros, rfc3339, to_micros};
use super::{Storage, StorageError};

/// A token to create.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    /// What the token is for.
    pub description: String,
    /// May manage tokens and do everything else.
    pub admin: bool,
    /// May only read: no jobs, no actions, no changes.
    pub read_only: bool,
    /// Limited to these components (`None`: every component).
    pub component_access: Option<Vec<String>>,
    /// Refused after this time.
    pub expires: Option<OffsetDateTime>,
    /// The job a job-scoped token belongs to.
    pub job_id: Option<String>,
}

/// A stored token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The token id (the part of the secret before the first `-`).
    pub id: String,
    /// What the token is for.
    pub description: String,
    /// May manage tokens and do everything else.
    pub admin: bool,
    /// May only read.
    pub read_only: bool,
    /// Limited to these components (`None`: every component).
    pub component_access: Option<Vec<String>>,
    /// When it was created.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created: OffsetDateTime,
    /// When it expires.
    #[serde(serialize_with = "rfc3339::serialize_option")]
    pub expires: Option<OffsetDateTime>,
    /// When it was revoked.
    #[serde(serialize_with = "rfc3339::serialize_option")]
    pub revoked: Option<OffsetDateTime>,
    /// The job a job-scoped token belongs to.
    pub job_id: Option<String>,
}

impl TokenInfo {
    /// Whether the token may act on `component_id`.
    pub fn can_use_component(&self, component_id: &str) -> bool {
        self.admin
            || self
                .component_access
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| id == component_id))
    }
}

/// What checking a secret found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// A valid token.
    Valid(TokenInfo),
    /// No token has this secret.
    Unknown,
    /// The token was revoked.
    Revoked(TokenInfo),
    /// The token expired.
    Expired(TokenInfo),
}

const TOKEN_COLUMNS: &str =
    "id, description, is_admin, read_only, component_access, created, expires, revoked, job_id";

fn token_from_row(row: &duckdb::Row<'_>) -> duckdb::Result<TokenInfo> {
    let access: Option<String> = row.get(4)?;
    Ok(TokenInfo {
        id: row.get(0)?,
        description: row.get(1)?,
        admin: row.get(2)?,
        read_only: row.get(3)?,
        component_access: access.and_then(|a| serde_json::from_str(&a).ok()),
        created: from_micros(row.get(5)?),
        expires: row.get::<_, Option<i64>>(6)?.map(from_micros),
        revoked: row.get::<_, Option<i64>>(7)?.map(from_micros),
        job_id: row.get(8)?,
    })
}

/// The SHA-256 of a secret, as every backend stores it (never the secret itself).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new secret for token `id`: `<id>-<40 random characters>` from the OS's generator (two v4
/// UUIDs, 244 random bits).
pub fn new_secret(id: &str) -> String {
    let mut text = uuid::Uuid::new_v4().simple().to_string();
    text.push_str(&uuid::Uuid::new_v4().simple().to_string());
    text.truncate(40);
    format!("{id}-{text}")
}

impl TokenCheck {
    /// Judges the token a secret found (`None`: no token has it) at time `now`: revoked first,
    /// then expired, else valid.
    pub fn judge(found: Option<TokenInfo>, now: OffsetDateTime) -> Self {
        match found {
            None => Self::Unknown,
            Some(token) if token.revoked.is_some() => Self::Revoked(token),
            Some(token) if token.expires.is_some_and(|e| e <= now) => Self::Expired(token),
            Some(token) => Self::Valid(token),
        }
    }
}

impl Storage {
    /// Creates a token; returns it and its secret (shown once, never stored).
    pub fn create_token(&mut self, new: &NewToken) -> Result<(TokenInfo, String), StorageError> {
        let id: i64 = self
            .conn
            .query_row("SELECT nextval('berth_token_ids')", [], |row| row.get(0))
            .map_err(StorageError::db("creating a token", "tokens"))?;
        let id = id.to_string();
        let secret = new_secret(&id);
        let access = new
            .component_access
            .as_ref()
            .map(|ids| serde_json::to_string(ids).unwrap_or_default());
        self.conn
            .execute(
                "INSERT INTO berth_tokens (id, hash, description, is_admin, read_only, \
                 component_access, created, expires, revoked, job_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                params![
                    id,
                    secret_hash(&secret),
                    new.description,
                    new.admin,
                    new.read_only,
                    access,
                    to_micros(self.clock.now()),
                    new.expires.map(to_micros),
                    new.job_id,
                ],
            )
            .map_err(StorageError::db("creating a token", &id))?;
        self.database.cache.invalidate();
        Ok((self.token(&id)?, secret))
    }

    /// The token `id`.
    pub fn token(&self, id: &str) -> Result<TokenInfo, StorageError> {
        self.conn
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM berth_tokens WHERE id = ?"),
                params![id],
                token_from_row,
            )
            .optional()
            .map_err(StorageError::db("reading a token", id))?
            .ok_or_else(|| StorageError::TokenNotFound { id: id.to_owned() })
    }

    /// Every token that is not job-scoped, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError> {
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM berth_tokens WHERE job_id IS NULL \
                 ORDER BY CAST(id AS BIGINT)"
            ))
            .map_err(StorageError::db("listing tokens", "tokens"))?;
        statement
            .query_map([], token_from_row)
            .map_err(StorageError::db("listing tokens", "tokens"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StorageError::db("listing tokens", "tokens"))
    }

    /// The tokens scoped to job `job_id`, oldest first.
    pub fn job_tokens(&self, job_id: &str) -> Result<Vec<TokenInfo>, StorageError> {
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM berth_tokens WHERE job_id = ? \
                 ORDER BY CAST(id AS BIGINT)"
            ))
            .map_err(StorageError::db("listing a job's tokens", job_id))?;
        statement
            .query_map(params![job_id], token_from_row)
            .map_err(StorageError::db("listing a job's tokens", job_id))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StorageError::db("listing a job's tokens", job_id))
    }

    /// Whose secret this is, and whether it may be used now.
    pub fn check_token(&self, secret: &str) -> Result<TokenCheck, StorageError> {
        // Every request to the server checks its token: from the read cache when nothing was
        // written since (see `db::ReadCache`), else with a statement prepared once per
        // connection. Revocation and expiry are judged below either way, at this moment.
        let hashed = secret_hash(secret);
        let cache = &self.database.cache;
        let found = match cache.token(&hashed) {
            Some(token) => Some(token),
            None => {
                let generation = cache.generation();
                let found = self
                    .conn
                    .prepare_cached(&format!(
                        "SELECT {TOKEN_COLUMNS} FROM berth_tokens WHERE hash = ?"
                    ))
                    .and_then(|mut statement| statement.query_row(params![hashed], token_from_row))
                    .optional()
                    .map_err(StorageError::db("checking a token", "tokens"))?;
                if let Some(token) = &found {
                    cache.keep_token(&hashed, generation, token);
                }
                found
            }
        };
        Ok(TokenCheck::judge(found, self.clock.now()))
    }

    /// Revokes token `id` (at once; revoking twice is fine).
    pub fn revoke_token(&mut self, id: &str) -> Result<(), StorageError> {
        let changed = self
            .conn
            .execute(
                "UPDATE berth_tokens SET revoked = coalesce(revoked, ?) WHERE id = ?",
                params![to_micros(self.clock.now()), id],
            )
            .map_err(StorageError::db("revoking a token", id))?;
        self.database.cache.invalidate();
        if changed == 0 {
            return Err(StorageError::TokenNotFound { id: id.to_owned() });
        }
        Ok(())
    }

    /// Revokes every token scoped to job `id` (when the job ends).
    pub fn revoke_job_tokens(&mut self, job_id: &str) -> Result<(), StorageError> {
        self.conn
            .execute(
                "UPDATE berth_tokens SET revoked = coalesce(revoked, ?) WHERE job_id = ?",
                params![to_micros(self.clock.now()), job_id],
            )
            .map_err(StorageError::db("revoking a job's tokens", job_id))?;
        self.database.cache.invalidate();
        Ok(())
    }
}
