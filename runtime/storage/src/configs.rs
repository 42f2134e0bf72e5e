//! Configurations of components, their rows, and the state stored with each of them: the one
//! model the CLI (`berth config …`) and the server (berth's routes and the Storage API shape)
//! both change through. Every change of a configuration, its rows or its state runs in one
//! transaction that first checks the component and the configuration exist
//! ([`Storage::change_config`]) and increments the configuration's version.
//!
//! The state document has exactly the shape of reference §5:
//! `{"component": {...}, "storage": {"input": {"tables": [...], "files": [...]}}}` (plus an
//! optional free-form `data_app`); unknown keys are rejected.

use berth_host_api::config::ConfigFile;
use duckdb::{Connection, OptionalExt, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::db::{from_micros, rfc3339, to_micros};
use super::{Catalog, Storage, StorageError};

/// The stored state document is the contract's [`StoredState`] (host-api validates it strictly:
/// unknown keys are `Invalid state: Unrecognized option …` errors); Storage keeps it as JSON.
pub use berth_host_api::StoredState as State;
pub use berth_host_api::config::{SourceTag, TagMatch};
pub use berth_host_api::state::{FileState, StateInput, StateStorage, TableState};

/// A configuration to create.
#[derive(Debug, Clone, Default)]
pub struct NewConfig {
    /// The id; `None` generates a numeric one.
    pub id: Option<String>,
    /// Name (may be empty).
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// The configuration document (`parameters`, `storage`, …); a JSON object.
    pub configuration: Value,
    /// Rows, run in this order.
    pub rows: Vec<NewConfigRow>,
    /// Keboola's `isDisabled` of a configuration: a job of a disabled configuration fails
    /// unless its mode is `forceRun` (what that mode is for).
    pub is_disabled: bool,
}

/// A configuration row to create.
#[derive(Debug, Clone, Default)]
pub struct NewConfigRow {
    /// The id; `None` generates a numeric one.
    pub id: Option<String>,
    /// Name (may be empty).
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// The row's configuration, merged over the configuration's when the row runs.
    pub configuration: Value,
    /// Disabled rows are skipped.
    pub is_disabled: bool,
}

/// What [`Storage::update_row`] changes; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RowUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new row configuration (a JSON object, validated as at creation).
    pub configuration: Option<Value>,
    /// Disable or enable the row.
    pub is_disabled: Option<bool>,
}

impl RowUpdate {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.configuration.is_none()
            && self.is_disabled.is_none()
    }
}

/// What [`Storage::update_config`] changes; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ConfigUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new configuration document (a JSON object, validated as at creation).
    pub configuration: Option<Value>,
    /// Disable or enable the configuration.
    pub is_disabled: Option<bool>,
}

impl ConfigUpdate {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.configuration.is_none()
            && self.is_disabled.is_none()
    }
}

/// A stored configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The component.
    pub component_id: String,
    /// The id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The configuration document.
    pub configuration: Value,
    /// Rows in run order.
    pub rows: Vec<ConfigRow>,
    /// The stored state.
    pub state: State,
    /// When it was created.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created: OffsetDateTime,
    /// Incremented by every change (state included).
    pub version: u64,
    /// Keboola's `isDisabled`.
    pub is_disabled: bool,
}

/// A stored configuration row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigRow {
    /// The id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The row's configuration document.
    pub configuration: Value,
    /// Disabled rows are skipped.
    pub is_disabled: bool,
    /// The row's stored state.
    pub state: State,
}

/// The one place a stored configuration document is validated: a configuration must read as a
/// `config.json` the way the runner reads it (unknown keys, wrong types and broken rules are
/// errors naming the path); a row, merged over its configuration at run time, is read leniently
/// here (types only).
/// Components whose configurations are data for other jobs (variables, shared code), not
/// `config.json` documents (reference §10).
pub(crate) const CONFIG_ONLY_COMPONENTS: [&str; 2] = ["keboola.variables", "keboola.shared-code"];

/// Checks a configuration document (`what`: `"configuration"`, read strictly, or `"row
/// configuration"`, read leniently) of `component`'s configuration `config`: the rule every
/// Storage backend applies before storing one.
pub fn validate_configuration(
    what: &'static str,
    component: &str,
    config: &str,
    configuration: &Value,
) -> Result<(), StorageError> {
    let invalid = |message: String| StorageError::InvalidConfig {
        what,
        component: component.to_owned(),
        config: config.to_owned(),
        message,
    };
    if !configuration.is_object() {
        return Err(invalid("the document must be a JSON object".into()));
    }
    if CONFIG_ONLY_COMPONENTS.contains(&component) {
        // Variables and shared code are not run: their documents have their own shapes
        // (`variables`, `values`, `code_content`), read when a job refers to them.
        return Ok(());
    }
    let read = if what == "configuration" {
        ConfigFile::from_value_strict(configuration.clone())
    } else {
        ConfigFile::from_value_lenient(configuration.clone())
    };
    read.map(|_| ()).map_err(|err| invalid(err.to_string()))
}

/// Checks a configuration or row id given by the caller (`what` names which): 1 to 64 letters,
/// digits, `.`, `_` or `-`.
pub fn validate_config_id(
    what: &'static str,
    component: &str,
    config: &str,
    id: &str,
) -> Result<(), StorageError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidConfig {
            what,
            component: component.to_owned(),
            config: config.to_owned(),
            message: format!("\"{id}\" must be 1 to 64 letters, digits, '.', '_' or '-'"),
        })
    }
}

fn next_id(conn: &Connection, subject: &str) -> Result<String, StorageError> {
    let id: i64 = conn
        .query_row("SELECT nextval('berth_config_ids')", [], |row| row.get(0))
        .map_err(StorageError::db("allocating a configuration id", subject))?;
    Ok(id.to_string())
}

fn parse_json<T: for<'de> Deserialize<'de>>(
    stage: &'static str,
    subject: &str,
    text: &str,
) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|err| StorageError::Database {
        stage,
        subject: subject.to_owned(),
        source: err.into(),
    })
}

fn to_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn not_found(component: &str, config: &str) -> StorageError {
    StorageError::ConfigNotFound {
        component: component.to_owned(),
        config: config.to_owned(),
    }
}

fn config_exists(conn: &Connection, component: &str, config: &str) -> Result<bool, StorageError> {
    conn.query_row(
        "SELECT count(*) > 0 FROM berth_configs WHERE component_id = ? AND id = ?",
        params![component, config],
        |row| row.get(0),
    )
    .map_err(StorageError::db(
        "reading configurations",
        format!("{component}/{config}"),
    ))
}

/// Inserts one row at `position`; the id is validated, generated when absent, and must be new.
fn insert_row(
    tx: &Connection,
    component_id: &str,
    config_id: &str,
    position: i64,
    row: &NewConfigRow,
) -> Result<String, StorageError> {
    let subject = format!("{component_id}/{config_id}");
    let row_id = choose_id(
        NewId::Row {
            component_id,
            config_id,
        },
        row.id.as_deref(),
        &mut |id| row_exists(tx, component_id, config_id, id),
        &mut || next_id(tx, &subject),
    )?;
    validate_configuration(
        "row configuration",
        component_id,
        config_id,
        &row.configuration,
    )?;
    tx.execute(
        "INSERT INTO berth_config_rows (component_id, config_id, id, position, name, description, configuration, is_disabled, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            component_id,
            config_id,
            row_id,
            position,
            row.name,
            row.description,
            to_text(&row.configuration),
            row.is_disabled,
            to_text(&State::default())
        ],
    )
    .map_err(StorageError::db("storing a configuration row", &subject))?;
    Ok(row_id)
}

/// What a new id is for (see [`choose_id`]).
#[derive(Debug, Clone, Copy)]
pub enum NewId<'a> {
    /// A configuration of `component_id`.
    Config {
        /// The component.
        component_id: &'a str,
    },
    /// A row of configuration `config_id`.
    Row {
        /// The component.
        component_id: &'a str,
        /// The configuration.
        config_id: &'a str,
    },
}

/// The id of a new configuration or row, as every backend picks it: a `given` id must be valid
/// ([`validate_config_id`]) and new (`exists` tells; a clash is
/// [`StorageError::ConfigExists`] or [`StorageError::ConfigRowExists`]); without one, ids come
/// from `next` until one is new.
pub fn choose_id(
    new: NewId<'_>,
    given: Option<&str>,
    exists: &mut dyn FnMut(&str) -> Result<bool, StorageError>,
    next: &mut dyn FnMut() -> Result<String, StorageError>,
) -> Result<String, StorageError> {
    let Some(id) = given else {
        loop {
            let id = next()?;
            if !exists(&id)? {
                return Ok(id);
            }
        }
    };
    match new {
        NewId::Config { component_id } => {
            validate_config_id("configuration id", component_id, id, id)?;
            if exists(id)? {
                return Err(StorageError::ConfigExists {
                    component: component_id.to_owned(),
                    config: id.to_owned(),
                });
            }
        }
        NewId::Row {
            component_id,
            config_id,
        } => {
            validate_config_id("row id", component_id, config_id, id)?;
            if exists(id)? {
                return Err(StorageError::ConfigRowExists {
                    component: component_id.to_owned(),
                    config: config_id.to_owned(),
                    row: id.to_owned(),
                });
            }
        }
    }
    Ok(id.to_owned())
}

/// A new configuration's rows naming one id twice is the document's mistake
/// ([`StorageError::InvalidConfig`]), not a clash with a stored row: how every backend reports
/// a [`StorageError::ConfigRowExists`] met while creating a configuration.
pub fn repeated_row(component_id: &str, config_id: &str, error: StorageError) -> StorageError {
    match error {
        StorageError::ConfigRowExists { row, .. } => StorageError::InvalidConfig {
            what: "row id",
            component: component_id.to_owned(),
            config: config_id.to_owned(),
            message: format!("row \"{row}\" appears more than once"),
        },
        other => other,
    }
}

fn row_exists(
    conn: &Connection,
    component: &str,
    config: &str,
    row: &str,
) -> Result<bool, StorageError> {
    conn.query_row(
        "SELECT count(*) > 0 FROM berth_config_rows WHERE component_id = ? AND config_id = ? AND id = ?",
        params![component, config, row],
        |r| r.get(0),
    )
    .map_err(StorageError::db(
        "reading configuration rows",
        format!("{component}/{config}"),
    ))
}

fn row_not_found(component: &str, config: &str, row: &str) -> StorageError {
    StorageError::ConfigRowNotFound {
        component: component.to_owned(),
        config: config.to_owned(),
        row: row.to_owned(),
    }
}

impl Storage {
    /// Creates a configuration (with its rows) and returns its id. The component must exist.
    pub fn create_config(
        &mut self,
        component_id: &str,
        new: &NewConfig,
    ) -> Result<String, StorageError> {
        self.component(component_id)?;
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", component_id))?;
        let id = choose_id(
            NewId::Config { component_id },
            new.id.as_deref(),
            &mut |id| config_exists(&tx, component_id, id),
            &mut || next_id(&tx, component_id),
        )?;
        validate_configuration("configuration", component_id, &id, &new.configuration)?;
        let subject = format!("{component_id}/{id}");
        tx.execute(
            "INSERT INTO berth_configs (component_id, id, name, description, configuration, state, created, version, is_disabled) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
            params![
                component_id,
                id,
                new.name,
                new.description,
                to_text(&new.configuration),
                to_text(&State::default()),
                to_micros(self.clock.now()),
                new.is_disabled
            ],
        )
        .map_err(StorageError::db("storing the configuration", &subject))?;
        for (position, row) in new.rows.iter().enumerate() {
            insert_row(&tx, component_id, &id, position as i64, row)
                .map_err(|err| repeated_row(component_id, &id, err))?;
        }
        tx.commit()
            .map_err(StorageError::db("committing the configuration", &subject))?;
        Ok(id)
    }

    /// The one way a stored configuration changes: in one transaction, answers
    /// `ComponentNotFound` / `ConfigNotFound` when either is missing, runs `change` (given the
    /// transaction and `component/config` for error subjects), increments the configuration's
    /// version and commits. Nothing is kept when `change` fails.
    fn change_config<T>(
        &mut self,
        component_id: &str,
        config_id: &str,
        change: impl FnOnce(&Connection, &str) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let subject = format!("{component_id}/{config_id}");
        self.component(component_id)?;
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", &subject))?;
        if !config_exists(&tx, component_id, config_id)? {
            return Err(not_found(component_id, config_id));
        }
        let out = change(&tx, &subject)?;
        tx.execute(
            "UPDATE berth_configs SET version = version + 1 WHERE component_id = ? AND id = ?",
            params![component_id, config_id],
        )
        .map_err(StorageError::db("counting the version", &subject))?;
        tx.commit()
            .map_err(StorageError::db("committing the change", &subject))?;
        Ok(out)
    }

    /// Changes a configuration's name, description, document or `isDisabled` (the fields
    /// `update` sets) and increments its version; returns the configuration as stored. The
    /// document is validated as at creation; rows and state are kept.
    pub fn update_config(
        &mut self,
        component_id: &str,
        config_id: &str,
        update: &ConfigUpdate,
    ) -> Result<Config, StorageError> {
        if let Some(configuration) = &update.configuration {
            validate_configuration("configuration", component_id, config_id, configuration)?;
        }
        self.change_config(component_id, config_id, |tx, subject| {
            tx.execute(
                "UPDATE berth_configs SET name = coalesce(?, name), description = coalesce(?, description), configuration = coalesce(?, configuration), is_disabled = coalesce(?, is_disabled) WHERE component_id = ? AND id = ?",
                params![
                    update.name,
                    update.description,
                    update.configuration.as_ref().map(to_text),
                    update.is_disabled,
                    component_id,
                    config_id
                ],
            )
            .map_err(StorageError::db("updating the configuration", subject))
        })?;
        self.config(component_id, config_id)
    }

    /// Deletes a configuration with its rows and their state.
    pub fn delete_config(
        &mut self,
        component_id: &str,
        config_id: &str,
    ) -> Result<(), StorageError> {
        self.change_config(component_id, config_id, |tx, subject| {
            delete_config_in(tx, component_id, config_id, subject)
        })
    }

    /// Adds a row after the configuration's last one and returns it as stored. The id is
    /// generated when `row.id` is `None`; an existing id is a `ConfigRowExists` error.
    pub fn add_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row: &NewConfigRow,
    ) -> Result<ConfigRow, StorageError> {
        let row_id = self.change_config(component_id, config_id, |tx, subject| {
            let position: i64 = tx
                .query_row(
                    "SELECT coalesce(max(position) + 1, 0) FROM berth_config_rows WHERE component_id = ? AND config_id = ?",
                    params![component_id, config_id],
                    |r| r.get(0),
                )
                .map_err(StorageError::db("reading configuration rows", subject))?;
            insert_row(tx, component_id, config_id, position, row)
        })?;
        self.row(component_id, config_id, &row_id)
    }

    /// Changes a row's name, description, configuration or `isDisabled`; returns it as stored.
    pub fn update_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
        update: &RowUpdate,
    ) -> Result<ConfigRow, StorageError> {
        if let Some(configuration) = &update.configuration {
            validate_configuration("row configuration", component_id, config_id, configuration)?;
        }
        self.change_config(component_id, config_id, |tx, subject| {
            let n = tx
                .execute(
                    "UPDATE berth_config_rows SET name = coalesce(?, name), description = coalesce(?, description), configuration = coalesce(?, configuration), is_disabled = coalesce(?, is_disabled) WHERE component_id = ? AND config_id = ? AND id = ?",
                    params![
                        update.name,
                        update.description,
                        update.configuration.as_ref().map(to_text),
                        update.is_disabled,
                        component_id,
                        config_id,
                        row_id
                    ],
                )
                .map_err(StorageError::db("updating the row", subject))?;
            if n == 0 {
                return Err(row_not_found(component_id, config_id, row_id));
            }
            Ok(())
        })?;
        self.row(component_id, config_id, row_id)
    }

    /// Deletes a row with its state.
    pub fn delete_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
    ) -> Result<(), StorageError> {
        self.change_config(component_id, config_id, |tx, subject| {
            let n = tx
                .execute(
                    "DELETE FROM berth_config_rows WHERE component_id = ? AND config_id = ? AND id = ?",
                    params![component_id, config_id, row_id],
                )
                .map_err(StorageError::db("deleting the row", subject))?;
            if n == 0 {
                return Err(row_not_found(component_id, config_id, row_id));
            }
            Ok(())
        })
    }

    /// One row of a configuration ([`Catalog::row`], shared by every backend).
    pub fn row(
        &self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
    ) -> Result<ConfigRow, StorageError> {
        <Self as Catalog>::row(self, component_id, config_id, row_id)
    }

    /// A configuration with its rows and state.
    pub fn config(&self, component_id: &str, config_id: &str) -> Result<Config, StorageError> {
        let subject = format!("{component_id}/{config_id}");
        let row = self
            .conn
            .query_row(
                "SELECT name, description, configuration, state, created, version, coalesce(is_disabled, false) FROM berth_configs WHERE component_id = ? AND id = ?",
                params![component_id, config_id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, bool>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(StorageError::db("reading the configuration", &subject))?;
        let Some((name, description, configuration, state, created, version, is_disabled)) = row
        else {
            if self.component(component_id).is_err() {
                return Err(StorageError::ComponentNotFound {
                    id: component_id.to_owned(),
                });
            }
            return Err(not_found(component_id, config_id));
        };
        Ok(Config {
            component_id: component_id.to_owned(),
            id: config_id.to_owned(),
            name,
            description,
            configuration: parse_json("reading the configuration", &subject, &configuration)?,
            rows: self.rows(component_id, config_id)?,
            state: parse_json("reading the state", &subject, &state)?,
            created: from_micros(created),
            version: u64::try_from(version).unwrap_or(0),
            is_disabled,
        })
    }

    fn rows(&self, component_id: &str, config_id: &str) -> Result<Vec<ConfigRow>, StorageError> {
        let subject = format!("{component_id}/{config_id}");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, name, coalesce(description, ''), configuration, is_disabled, state FROM berth_config_rows WHERE component_id = ? AND config_id = ? ORDER BY position",
            )
            .map_err(StorageError::db("reading configuration rows", &subject))?;
        let rows = stmt
            .query_map(params![component_id, config_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, bool>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
            .map_err(StorageError::db("reading configuration rows", &subject))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, description, configuration, is_disabled, state) =
                row.map_err(StorageError::db("reading configuration rows", &subject))?;
            out.push(ConfigRow {
                configuration: parse_json("reading a row", &subject, &configuration)?,
                state: parse_json("reading a row state", &subject, &state)?,
                id,
                name,
                description,
                is_disabled,
            });
        }
        Ok(out)
    }

    /// Every configuration of a component, ordered by id.
    pub fn list_configs(&self, component_id: &str) -> Result<Vec<Config>, StorageError> {
        self.component(component_id)?;
        config_ids(&self.conn, component_id)?
            .iter()
            .map(|id| self.config(component_id, id))
            .collect()
    }

    /// The stored state of a configuration, or of one of its rows ([`Catalog::state`], shared
    /// by every backend).
    pub fn state(
        &self,
        component_id: &str,
        config_id: &str,
        row_id: Option<&str>,
    ) -> Result<State, StorageError> {
        <Self as Catalog>::state(self, component_id, config_id, row_id)
    }

    /// Replaces the stored state of a configuration, or of one of its rows.
    pub fn set_state(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: Option<&str>,
        state: &State,
    ) -> Result<(), StorageError> {
        let text = to_text(state);
        self.change_config(component_id, config_id, |tx, subject| {
            match row_id {
                None => {
                    tx.execute(
                        "UPDATE berth_configs SET state = ? WHERE component_id = ? AND id = ?",
                        params![text, component_id, config_id],
                    )
                    .map_err(StorageError::db("storing the state", subject))?;
                }
                Some(row_id) => {
                    let n = tx
                        .execute(
                            "UPDATE berth_config_rows SET state = ? WHERE component_id = ? AND config_id = ? AND id = ?",
                            params![text, component_id, config_id, row_id],
                        )
                        .map_err(StorageError::db("storing the row state", subject))?;
                    if n == 0 {
                        return Err(row_not_found(component_id, config_id, row_id));
                    }
                }
            }
            Ok(())
        })
    }
}

/// The ids of a component's configurations, ordered.
pub(crate) fn config_ids(
    conn: &Connection,
    component_id: &str,
) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn
        .prepare("SELECT id FROM berth_configs WHERE component_id = ? ORDER BY id")
        .map_err(StorageError::db("listing configurations", component_id))?;
    let rows = stmt
        .query_map(params![component_id], |row| row.get(0))
        .map_err(StorageError::db("listing configurations", component_id))?;
    rows.collect::<Result<_, _>>()
        .map_err(StorageError::db("listing configurations", component_id))
}

/// Deletes a configuration and its rows inside the caller's transaction.
pub(crate) fn delete_config_in(
    tx: &Connection,
    component_id: &str,
    config_id: &str,
    subject: &str,
) -> Result<(), StorageError> {
    tx.execute(
        "DELETE FROM berth_config_rows WHERE component_id = ? AND config_id = ?",
        params![component_id, config_id],
    )
    .map_err(StorageError::db(
        "deleting the configuration's rows",
        subject,
    ))?;
    tx.execute(
        "DELETE FROM berth_configs WHERE component_id = ? AND id = ?",
        params![component_id, config_id],
    )
    .map_err(StorageError::db("deleting the configuration", subject))?;
    Ok(())
}
