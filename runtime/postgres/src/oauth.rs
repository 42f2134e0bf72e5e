//! OAuth credentials on PostgreSQL: what `berth_job::oauth` keeps as files of the home on the
//! embedded Storage, kept in the shared database so a job finds them on whichever node runs it.
//! The documents arrive with their `#` values encrypted (by the node that stored them, under the
//! master key the nodes share) and are stored as `json`, exactly as written.

use serde_json::Value;

use crate::{PgError, PgStorage};

impl PgStorage {
    /// Stores `credentials` for `component` under `id`; `false` (nothing changed) when
    /// credentials with that id exist already.
    pub fn add_oauth_credentials(
        &mut self,
        component: &str,
        id: &str,
        credentials: &Value,
    ) -> Result<bool, PgError> {
        let added = self
            .client()
            .execute(
                "INSERT INTO berth_oauth_credentials (component_id, id, credentials) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&component, &id, credentials],
            )
            .map_err(PgError::db(
                "storing OAuth credentials",
                subject(component, id),
            ))?;
        Ok(added == 1)
    }

    /// The credentials of `component` stored under `id`, `None` when there are none.
    pub fn oauth_credentials(&self, component: &str, id: &str) -> Result<Option<Value>, PgError> {
        Ok(self
            .client()
            .query_opt(
                "SELECT credentials FROM berth_oauth_credentials \
                 WHERE component_id = $1 AND id = $2",
                &[&component, &id],
            )
            .map_err(PgError::db(
                "reading OAuth credentials",
                subject(component, id),
            ))?
            .map(|row| row.get(0)))
    }

    /// The (component, id) of every stored credentials (of `component` when given), ordered.
    pub fn list_oauth_credentials(
        &self,
        component: Option<&str>,
    ) -> Result<Vec<(String, String)>, PgError> {
        Ok(self
            .client()
            .query(
                "SELECT component_id, id FROM berth_oauth_credentials \
                 WHERE $1::text IS NULL OR component_id = $1 ORDER BY component_id, id",
                &[&component],
            )
            .map_err(PgError::db(
                "listing OAuth credentials",
                component.unwrap_or("all components"),
            ))?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    /// Removes the credentials of `component` stored under `id`; `false` when there were none.
    pub fn remove_oauth_credentials(&mut self, component: &str, id: &str) -> Result<bool, PgError> {
        let removed = self
            .client()
            .execute(
                "DELETE FROM berth_oauth_credentials WHERE component_id = $1 AND id = $2",
                &[&component, &id],
            )
            .map_err(PgError::db(
                "removing OAuth credentials",
                subject(component, id),
            ))?;
        Ok(removed == 1)
    }
}

fn subject(component: &str, id: &str) -> String {
    format!("{component}/{id}")
}
