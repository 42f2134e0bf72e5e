//! The catalog on PostgreSQL: component definitions, configurations, their rows and their state,
//! and [`Catalog`] for [`PgStorage`] — the embedded Storage's catalog rules (validation of
//! definitions, documents and ids: `berth-storage`'s), stored in `berth_components`,
//! `berth_configs` and `berth_config_rows`.
//!
//! Text PostgreSQL cannot hold (a NUL in a name or an id) is refused where it meets the driver
//! (`PgError::db`); a lookup of such an id finds nothing.
//!
//! Every change of a configuration, its rows or its state is one transaction that checks the
//! component, locks the configuration's row (`FOR UPDATE`: changes from several nodes take
//! turns) and increments its version. Listings order ids byte by byte (`COLLATE "C"`), as the
//! embedded Storage does, whatever the database's locale.

use std::cell::RefCell;

use postgres::types::Json;
use postgres::{GenericClient, Transaction};
use serde_json::Value;

use berth_storage::{
    Catalog, ComponentDefinition, Config, ConfigRow, ConfigUpdate, NewConfig, NewConfigRow, NewId,
    RowUpdate, State, StorageError, choose_id, repeated_row, validate_configuration,
};

use crate::{PgError, PgStorage};

fn subject(component_id: &str, config_id: &str) -> String {
    format!("{component_id}/{config_id}")
}

fn config_not_found(component_id: &str, config_id: &str) -> PgError {
    StorageError::ConfigNotFound {
        component: component_id.to_owned(),
        config: config_id.to_owned(),
    }
    .into()
}

fn row_not_found(component_id: &str, config_id: &str, row_id: &str) -> PgError {
    StorageError::ConfigRowNotFound {
        component: component_id.to_owned(),
        config: config_id.to_owned(),
        row: row_id.to_owned(),
    }
    .into()
}

/// A component's definition ([`StorageError::ComponentNotFound`] when there is none).
fn component_in(client: &mut impl GenericClient, id: &str) -> Result<ComponentDefinition, PgError> {
    let not_found = || StorageError::ComponentNotFound { id: id.to_owned() };
    if id.contains('\0') {
        return Err(not_found().into());
    }
    let row = client
        .query_opt(
            "SELECT definition FROM berth_components WHERE id = $1",
            &[&id],
        )
        .map_err(PgError::db("reading the component", id))?
        .ok_or_else(not_found)?;
    let Json(definition) = row
        .try_get::<_, Json<ComponentDefinition>>(0)
        .map_err(PgError::db("reading the component", id))?;
    Ok(definition)
}

fn config_exists(
    client: &mut impl GenericClient,
    component_id: &str,
    config_id: &str,
    lock: bool,
) -> Result<bool, PgError> {
    if config_id.contains('\0') {
        return Ok(false);
    }
    let sql = format!(
        "SELECT 1 FROM berth_configs WHERE component_id = $1 AND id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Ok(client
        .query_opt(&sql, &[&component_id, &config_id])
        .map_err(PgError::db(
            "reading configurations",
            subject(component_id, config_id),
        ))?
        .is_some())
}

fn row_exists(
    client: &mut impl GenericClient,
    component_id: &str,
    config_id: &str,
    row_id: &str,
) -> Result<bool, PgError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM berth_config_rows WHERE component_id = $1 AND config_id = $2 \
             AND id = $3",
            &[&component_id, &config_id, &row_id],
        )
        .map_err(PgError::db(
            "reading configuration rows",
            subject(component_id, config_id),
        ))?
        .is_some())
}

fn next_id(client: &mut impl GenericClient, subject: &str) -> Result<String, PgError> {
    let id: i64 = client
        .query_one("SELECT nextval('berth_config_ids')", &[])
        .map_err(PgError::db("allocating a configuration id", subject))?
        .get(0);
    Ok(id.to_string())
}

/// Inserts one row at `position`; the id is validated, generated when absent, and must be new.
fn insert_row(
    tx: &mut Transaction<'_>,
    component_id: &str,
    config_id: &str,
    position: i64,
    row: &NewConfigRow,
) -> Result<String, PgError> {
    let subject = subject(component_id, config_id);
    // Both closures query through the transaction, one at a time.
    let shared = RefCell::new(&mut *tx);
    let row_id = choose_id(
        NewId::Row {
            component_id,
            config_id,
        },
        row.id.as_deref(),
        &mut |id| {
            Ok(row_exists(
                &mut **shared.borrow_mut(),
                component_id,
                config_id,
                id,
            )?)
        },
        &mut || Ok(next_id(&mut **shared.borrow_mut(), &subject)?),
    )?;
    validate_configuration(
        "row configuration",
        component_id,
        config_id,
        &row.configuration,
    )?;
    tx.execute(
        "INSERT INTO berth_config_rows (component_id, config_id, id, position, name, \
           description, configuration, is_disabled, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &component_id,
            &config_id,
            &row_id,
            &position,
            &row.name,
            &row.description,
            &Json(&row.configuration),
            &row.is_disabled,
            &Json(State::default()),
        ],
    )
    .map_err(PgError::db("storing a configuration row", &subject))?;
    Ok(row_id)
}

/// The ids of a component's configurations, ordered byte by byte.
fn config_ids(client: &mut impl GenericClient, component_id: &str) -> Result<Vec<String>, PgError> {
    Ok(client
        .query(
            "SELECT id FROM berth_configs WHERE component_id = $1 ORDER BY id COLLATE \"C\"",
            &[&component_id],
        )
        .map_err(PgError::db("listing configurations", component_id))?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

fn rows_of(
    client: &mut impl GenericClient,
    component_id: &str,
    config_id: &str,
) -> Result<Vec<ConfigRow>, PgError> {
    let read = PgError::db(
        "reading configuration rows",
        subject(component_id, config_id),
    );
    let rows = client
        .query(
            "SELECT id, name, description, configuration, is_disabled, state \
             FROM berth_config_rows WHERE component_id = $1 AND config_id = $2 ORDER BY position",
            &[&component_id, &config_id],
        )
        .map_err(read)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let read = PgError::db(
            "reading configuration rows",
            subject(component_id, config_id),
        );
        let (Json(configuration), Json(state)) = (|| {
            Ok::<_, postgres::Error>((
                row.try_get::<_, Json<Value>>(3)?,
                row.try_get::<_, Json<State>>(5)?,
            ))
        })()
        .map_err(read)?;
        out.push(ConfigRow {
            id: row.get(0),
            name: row.get(1),
            description: row.get(2),
            configuration,
            is_disabled: row.get(4),
            state,
        });
    }
    Ok(out)
}

fn config_in(
    client: &mut impl GenericClient,
    component_id: &str,
    config_id: &str,
) -> Result<Config, PgError> {
    let found = if config_id.contains('\0') {
        None
    } else {
        client
            .query_opt(
                "SELECT name, description, configuration, state, created, version, is_disabled \
                 FROM berth_configs WHERE component_id = $1 AND id = $2",
                &[&component_id, &config_id],
            )
            .map_err(PgError::db(
                "reading the configuration",
                subject(component_id, config_id),
            ))?
    };
    let Some(row) = found else {
        component_in(client, component_id)?;
        return Err(config_not_found(component_id, config_id));
    };
    let read = PgError::db(
        "reading the configuration",
        subject(component_id, config_id),
    );
    let (Json(configuration), Json(state)) = (|| {
        Ok::<_, postgres::Error>((
            row.try_get::<_, Json<Value>>(2)?,
            row.try_get::<_, Json<State>>(3)?,
        ))
    })()
    .map_err(read)?;
    Ok(Config {
        component_id: component_id.to_owned(),
        id: config_id.to_owned(),
        name: row.get(0),
        description: row.get(1),
        configuration,
        rows: rows_of(client, component_id, config_id)?,
        state,
        created: row.get(4),
        version: u64::try_from(row.get::<_, i64>(5)).unwrap_or(0),
        is_disabled: row.get(6),
    })
}

impl PgStorage {
    /// The one way a stored configuration changes: in one transaction, `ComponentNotFound` /
    /// `ConfigNotFound` when either is missing, the configuration locked, `change` run, the
    /// version incremented. Nothing is kept when `change` fails.
    fn change_config<T>(
        &mut self,
        component_id: &str,
        config_id: &str,
        change: impl FnOnce(&mut Transaction<'_>, &str) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        let subject = subject(component_id, config_id);
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", &subject))?;
        component_in(&mut tx, component_id)?;
        if !config_exists(&mut tx, component_id, config_id, true)? {
            return Err(config_not_found(component_id, config_id));
        }
        let out = change(&mut tx, &subject)?;
        tx.execute(
            "UPDATE berth_configs SET version = version + 1 WHERE component_id = $1 AND id = $2",
            &[&component_id, &config_id],
        )
        .map_err(PgError::db("counting the version", &subject))?;
        tx.commit()
            .map_err(PgError::db("committing the change", &subject))?;
        Ok(out)
    }
}

impl Catalog for PgStorage {
    fn hold_keys(&self) -> Result<(), StorageError> {
        Ok(PgStorage::hold_keys(self)?)
    }

    fn release_keys(&self) -> Result<(), StorageError> {
        Ok(PgStorage::release_keys(self)?)
    }

    fn hold_keys_for_rotation(&self) -> Result<(), StorageError> {
        Ok(PgStorage::hold_keys_for_rotation(self)?)
    }

    fn rewrite_documents(
        &mut self,
        rewrite: &mut berth_storage::DocumentRewrite<'_>,
    ) -> Result<usize, berth_storage::RewriteError> {
        self.rewrite_all_documents(rewrite)
    }

    fn add_component(&mut self, definition: &ComponentDefinition) -> Result<bool, StorageError> {
        definition.validate()?;
        let id = definition.id.as_str();
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        let existed = tx
            .query_opt(
                "SELECT 1 FROM berth_components WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .map_err(PgError::db("reading components", id))?
            .is_some();
        tx.execute(
            "INSERT INTO berth_components (id, definition) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, \
               updated = clock_timestamp()",
            &[&id, &Json(definition)],
        )
        .map_err(PgError::db("storing the component", id))?;
        tx.commit()
            .map_err(PgError::db("committing the component", id))?;
        Ok(existed)
    }

    fn update_component(&mut self, definition: &ComponentDefinition) -> Result<(), StorageError> {
        Catalog::component(self, &definition.id)?;
        self.add_component(definition).map(|_| ())
    }

    fn delete_component(&mut self, id: &str, force: bool) -> Result<usize, StorageError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        component_in(&mut tx, id)?;
        let configs = config_ids(&mut tx, id)?;
        if !configs.is_empty() && !force {
            return Err(StorageError::ComponentInUse {
                id: id.to_owned(),
                configs: configs.len(),
                examples: configs.iter().take(5).cloned().collect(),
            });
        }
        // Rows go with their configurations (ON DELETE CASCADE).
        tx.execute("DELETE FROM berth_configs WHERE component_id = $1", &[&id])
            .map_err(PgError::db("deleting the component's configurations", id))?;
        tx.execute("DELETE FROM berth_components WHERE id = $1", &[&id])
            .map_err(PgError::db("deleting the component", id))?;
        tx.commit()
            .map_err(PgError::db("committing the deletion", id))?;
        Ok(configs.len())
    }

    fn component(&self, id: &str) -> Result<ComponentDefinition, StorageError> {
        Ok(component_in(&mut *self.client(), id)?)
    }

    fn list_components(&self) -> Result<Vec<ComponentDefinition>, StorageError> {
        let rows = self
            .client()
            .query(
                "SELECT id, definition FROM berth_components ORDER BY id COLLATE \"C\"",
                &[],
            )
            .map_err(PgError::db("listing components", "all components"))?;
        rows.iter()
            .map(|row| {
                let id: String = row.get(0);
                row.try_get::<_, Json<ComponentDefinition>>(1)
                    .map(|Json(definition)| definition)
                    .map_err(|e| PgError::db("reading the component", &id)(e).into())
            })
            .collect()
    }

    fn create_config(
        &mut self,
        component_id: &str,
        new: &NewConfig,
    ) -> Result<String, StorageError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", component_id))?;
        component_in(&mut tx, component_id)?;
        // Both closures query through the transaction, one at a time.
        let shared = RefCell::new(&mut tx);
        let id = choose_id(
            NewId::Config { component_id },
            new.id.as_deref(),
            &mut |id| {
                Ok(config_exists(
                    &mut **shared.borrow_mut(),
                    component_id,
                    id,
                    false,
                )?)
            },
            &mut || Ok(next_id(&mut **shared.borrow_mut(), component_id)?),
        )?;
        validate_configuration("configuration", component_id, &id, &new.configuration)?;
        let subject = subject(component_id, &id);
        tx.execute(
            "INSERT INTO berth_configs (component_id, id, name, description, configuration, \
               state, version, is_disabled) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
            &[
                &component_id,
                &id,
                &new.name,
                &new.description,
                &Json(&new.configuration),
                &Json(State::default()),
                &new.is_disabled,
            ],
        )
        .map_err(PgError::db("storing the configuration", &subject))?;
        for (position, row) in new.rows.iter().enumerate() {
            let position = i64::try_from(position).unwrap_or(i64::MAX);
            insert_row(&mut tx, component_id, &id, position, row).map_err(|e| {
                match StorageError::from(e) {
                    error @ StorageError::ConfigRowExists { .. } => {
                        repeated_row(component_id, &id, error)
                    }
                    other => other,
                }
            })?;
        }
        tx.commit()
            .map_err(PgError::db("committing the configuration", &subject))?;
        Ok(id)
    }

    fn update_config(
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
                "UPDATE berth_configs SET name = coalesce($1, name), \
                   description = coalesce($2, description), \
                   configuration = coalesce($3, configuration), \
                   is_disabled = coalesce($4, is_disabled) \
                 WHERE component_id = $5 AND id = $6",
                &[
                    &update.name,
                    &update.description,
                    &update.configuration.as_ref().map(Json),
                    &update.is_disabled,
                    &component_id,
                    &config_id,
                ],
            )
            .map_err(PgError::db("updating the configuration", subject))?;
            Ok(())
        })?;
        Catalog::config(self, component_id, config_id)
    }

    fn delete_config(&mut self, component_id: &str, config_id: &str) -> Result<(), StorageError> {
        Ok(self.change_config(component_id, config_id, |tx, subject| {
            // Rows go with it (ON DELETE CASCADE).
            tx.execute(
                "DELETE FROM berth_configs WHERE component_id = $1 AND id = $2",
                &[&component_id, &config_id],
            )
            .map_err(PgError::db("deleting the configuration", subject))?;
            Ok(())
        })?)
    }

    fn add_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row: &NewConfigRow,
    ) -> Result<ConfigRow, StorageError> {
        let row_id = self.change_config(component_id, config_id, |tx, subject| {
            let position: i64 = tx
                .query_one(
                    "SELECT coalesce(max(position) + 1, 0) FROM berth_config_rows \
                     WHERE component_id = $1 AND config_id = $2",
                    &[&component_id, &config_id],
                )
                .map_err(PgError::db("reading configuration rows", subject))?
                .get(0);
            insert_row(tx, component_id, config_id, position, row)
        })?;
        Catalog::row(self, component_id, config_id, &row_id)
    }

    fn update_row(
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
            let changed = tx
                .execute(
                    "UPDATE berth_config_rows SET name = coalesce($1, name), \
                       description = coalesce($2, description), \
                       configuration = coalesce($3, configuration), \
                       is_disabled = coalesce($4, is_disabled) \
                     WHERE component_id = $5 AND config_id = $6 AND id = $7",
                    &[
                        &update.name,
                        &update.description,
                        &update.configuration.as_ref().map(Json),
                        &update.is_disabled,
                        &component_id,
                        &config_id,
                        &row_id,
                    ],
                )
                .map_err(PgError::db("updating the row", subject))?;
            if changed == 0 {
                return Err(row_not_found(component_id, config_id, row_id));
            }
            Ok(())
        })?;
        Catalog::row(self, component_id, config_id, row_id)
    }

    fn delete_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
    ) -> Result<(), StorageError> {
        Ok(self.change_config(component_id, config_id, |tx, subject| {
            let deleted = tx
                .execute(
                    "DELETE FROM berth_config_rows WHERE component_id = $1 AND config_id = $2 \
                     AND id = $3",
                    &[&component_id, &config_id, &row_id],
                )
                .map_err(PgError::db("deleting the row", subject))?;
            if deleted == 0 {
                return Err(row_not_found(component_id, config_id, row_id));
            }
            Ok(())
        })?)
    }

    fn config(&self, component_id: &str, config_id: &str) -> Result<Config, StorageError> {
        Ok(config_in(&mut *self.client(), component_id, config_id)?)
    }

    fn list_configs(&self, component_id: &str) -> Result<Vec<Config>, StorageError> {
        let mut client = self.client();
        component_in(&mut *client, component_id)?;
        let ids = config_ids(&mut *client, component_id)?;
        ids.iter()
            .map(|id| Ok(config_in(&mut *client, component_id, id)?))
            .collect()
    }

    fn set_state(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: Option<&str>,
        state: &State,
    ) -> Result<(), StorageError> {
        Ok(self.change_config(component_id, config_id, |tx, subject| {
            match row_id {
                None => {
                    tx.execute(
                        "UPDATE berth_configs SET state = $1 WHERE component_id = $2 AND id = $3",
                        &[&Json(state), &component_id, &config_id],
                    )
                    .map_err(PgError::db("storing the state", subject))?;
                }
                Some(row_id) => {
                    let changed = tx
                        .execute(
                            "UPDATE berth_config_rows SET state = $1 WHERE component_id = $2 \
                             AND config_id = $3 AND id = $4",
                            &[&Json(state), &component_id, &config_id, &row_id],
                        )
                        .map_err(PgError::db("storing the row state", subject))?;
                    if changed == 0 {
                        return Err(row_not_found(component_id, config_id, row_id));
                    }
                }
            }
            Ok(())
        })?)
    }
}
