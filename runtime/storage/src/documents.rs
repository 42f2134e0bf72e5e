//! Rewriting every stored JSON document in one transaction: component definitions,
//! configurations, rows and their states. A master-key rotation re-encrypts the ciphers they hold
//! this way, all or nothing; Storage itself knows nothing of ciphers. Tested on both backends by
//! berth-postgres' `catalog_suite`.

use duckdb::params;
use serde_json::Value;

use super::{Storage, StorageError};

/// Which stored document a rewrite is looking at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A component definition.
    Component,
    /// A configuration document.
    Configuration,
    /// A configuration's state.
    ConfigurationState,
    /// A row's configuration document.
    Row,
    /// A row's state.
    RowState,
    /// OAuth credentials (kept in Storage on PostgreSQL; files of the home on the embedded
    /// Storage, which never shows this kind). `config_id` holds the credentials' id.
    OauthCredentials,
}

/// One stored document: what it is and whose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredDocument<'a> {
    /// What it is.
    pub kind: DocumentKind,
    /// The component.
    pub component_id: &'a str,
    /// The configuration (not for component definitions).
    pub config_id: Option<&'a str>,
    /// The row (rows and row states).
    pub row_id: Option<&'a str>,
}

/// Why a rewrite function gave up on a document.
pub type RewriteFailure = Box<dyn std::error::Error + Send + Sync>;

/// A function a rewrite calls on every stored document: whether it changed the document, or why
/// it gave up (then nothing is stored).
pub type DocumentRewrite<'a> =
    dyn FnMut(&StoredDocument<'_>, &mut Value) -> Result<bool, RewriteFailure> + 'a;

/// Why a rewrite did not happen (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The rewrite function failed for a document.
    #[error("{0}")]
    Rewrite(RewriteFailure),
}

fn parse(text: &str, subject: &str) -> Result<Value, StorageError> {
    serde_json::from_str(text).map_err(|err| StorageError::Database {
        stage: "reading a stored document",
        subject: subject.to_owned(),
        source: err.into(),
    })
}

impl Storage {
    /// [`crate::Catalog::rewrite_documents`]: component definitions, configurations, rows and
    /// their states (OAuth credentials are files of the home here, not Storage's).
    pub(crate) fn rewrite_all_documents(
        &mut self,
        rewrite: &mut DocumentRewrite<'_>,
    ) -> Result<usize, RewriteError> {
        let tx = self.conn.transaction().map_err(StorageError::db(
            "starting a transaction",
            "stored documents",
        ))?;
        let mut changed = 0;

        let components: Vec<(String, String)> = {
            let mut stmt = tx
                .prepare("SELECT id, definition FROM berth_components ORDER BY id")
                .map_err(StorageError::db("reading components", "all components"))?;
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(StorageError::db("reading components", "all components"))?
        };
        for (id, text) in components {
            let mut value = parse(&text, &id)?;
            let doc = StoredDocument {
                kind: DocumentKind::Component,
                component_id: &id,
                config_id: None,
                row_id: None,
            };
            if rewrite(&doc, &mut value).map_err(RewriteError::Rewrite)? {
                tx.execute(
                    "UPDATE berth_components SET definition = ? WHERE id = ?",
                    params![value.to_string(), id],
                )
                .map_err(StorageError::db("storing the component", &id))?;
                changed += 1;
            }
        }

        let configs: Vec<(String, String, String, String)> = {
            let mut stmt = tx
                .prepare("SELECT component_id, id, configuration, state FROM berth_configs ORDER BY component_id, id")
                .map_err(StorageError::db("reading configurations", "all configurations"))?;
            stmt.query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(StorageError::db(
                "reading configurations",
                "all configurations",
            ))?
        };
        for (component, id, configuration, state) in configs {
            let subject = format!("{component}/{id}");
            for (kind, column, text) in [
                (DocumentKind::Configuration, "configuration", configuration),
                (DocumentKind::ConfigurationState, "state", state),
            ] {
                let mut value = parse(&text, &subject)?;
                let doc = StoredDocument {
                    kind,
                    component_id: &component,
                    config_id: Some(&id),
                    row_id: None,
                };
                if rewrite(&doc, &mut value).map_err(RewriteError::Rewrite)? {
                    tx.execute(
                        &format!(
                            "UPDATE berth_configs SET {column} = ? WHERE component_id = ? AND id = ?"
                        ),
                        params![value.to_string(), component, id],
                    )
                    .map_err(StorageError::db("storing the configuration", &subject))?;
                    changed += 1;
                }
            }
        }

        let rows: Vec<(String, String, String, String, String)> = {
            let mut stmt = tx
                .prepare("SELECT component_id, config_id, id, configuration, state FROM berth_config_rows ORDER BY component_id, config_id, position")
                .map_err(StorageError::db("reading configuration rows", "all rows"))?;
            stmt.query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(StorageError::db("reading configuration rows", "all rows"))?
        };
        for (component, config, id, configuration, state) in rows {
            let subject = format!("{component}/{config}/{id}");
            for (kind, column, text) in [
                (DocumentKind::Row, "configuration", configuration),
                (DocumentKind::RowState, "state", state),
            ] {
                let mut value = parse(&text, &subject)?;
                let doc = StoredDocument {
                    kind,
                    component_id: &component,
                    config_id: Some(&config),
                    row_id: Some(&id),
                };
                if rewrite(&doc, &mut value).map_err(RewriteError::Rewrite)? {
                    tx.execute(
                        &format!(
                            "UPDATE berth_config_rows SET {column} = ? WHERE component_id = ? AND config_id = ? AND id = ?"
                        ),
                        params![value.to_string(), component, config, id],
                    )
                    .map_err(StorageError::db("storing a configuration row", &subject))?;
                    changed += 1;
                }
            }
        }

        tx.commit().map_err(StorageError::db(
            "committing the rewrite",
            "stored documents",
        ))?;
        self.database.cache.invalidate();
        Ok(changed)
    }
}
