//! The catalog as an interface: [`Catalog`], what every Storage backend does with component
//! definitions, configurations, their rows and their state (the embedded [`Storage`] here,
//! PostgreSQL in `berth-postgres`), so one behaviour suite holds each of them to the same rules.
//!
//! Shared, decided in this crate: a definition's validation ([`ComponentDefinition::validate`]),
//! a configuration document's ([`crate::validate_configuration`]: strict for a configuration,
//! lenient for a row), ids given by the caller ([`crate::validate_config_id`]), and how a new
//! configuration naming one row twice is reported ([`crate::repeated_row`]). A backend stores:
//!
//! - every change of a configuration, its rows or its state runs in one transaction that first
//!   checks the component and the configuration exist, and increments the configuration's
//!   version; nothing is kept when it fails;
//! - generated ids are numeric and new; rows keep the order they were added in;
//! - a component with configurations is removed only when forced, with all of them.

use serde_json::{Map, Value};

use crate::{
    ComponentDefinition, Config, ConfigRow, ConfigUpdate, NewConfig, NewConfigRow, RowUpdate,
    State, Storage, StorageError,
};

/// Component definitions and configurations (with rows and state).
pub trait Catalog {
    /// Registers a component, replacing a definition with the same id; true when one was
    /// replaced.
    fn add_component(&mut self, definition: &ComponentDefinition) -> Result<bool, StorageError>;

    /// Replaces the definition of an existing component ([`StorageError::ComponentNotFound`]
    /// when there is none).
    fn update_component(&mut self, definition: &ComponentDefinition) -> Result<(), StorageError>;

    /// Removes a component; with configurations only when `force`, deleting them too. Returns
    /// how many configurations were deleted.
    fn delete_component(&mut self, id: &str, force: bool) -> Result<usize, StorageError>;

    /// A component's definition.
    fn component(&self, id: &str) -> Result<ComponentDefinition, StorageError>;

    /// Keeps a master-key rotation out while this handle lives: waits for one in progress to
    /// finish, then holds it off until the handle is dropped. Call it before reading the key to
    /// encrypt a document this handle stores, or to decrypt documents it read, so no cipher is
    /// made with a key a rotation is replacing, nor read across a promotion. The embedded Storage
    /// does nothing here: its file lock keeps a rotation (another process) out already.
    fn hold_keys(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Lets a rotation go ahead again before the handle is dropped (once what was read is
    /// decrypted, ahead of work that may take long on the same handle, such as input mapping).
    fn release_keys(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// What a master-key rotation holds until it has promoted the new key: waits until no one
    /// uses the key, then keeps everyone else out until this handle is dropped. The embedded
    /// Storage does nothing here: its file lock keeps other processes out already.
    fn hold_keys_for_rotation(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Calls `rewrite` on every stored document (component definitions, configurations, rows,
    /// their states, and OAuth credentials where Storage keeps them) and stores the documents it
    /// changed (it returns `true` for those), all in one transaction: when `rewrite` or Storage
    /// fails, nothing is stored. Configuration versions are not counted up: the documents mean
    /// what they meant. Returns how many documents changed.
    fn rewrite_documents(
        &mut self,
        rewrite: &mut crate::DocumentRewrite<'_>,
    ) -> Result<usize, crate::RewriteError>;

    /// Every component definition, ordered by id.
    fn list_components(&self) -> Result<Vec<ComponentDefinition>, StorageError>;

    /// `image_parameters` of a component merged for `stack`.
    fn image_parameters_for_stack(
        &self,
        component_id: &str,
        stack: &str,
    ) -> Result<Map<String, Value>, StorageError> {
        Ok(self
            .component(component_id)?
            .image_parameters_for_stack(stack))
    }

    /// Creates a configuration (with its rows) and returns its id.
    fn create_config(
        &mut self,
        component_id: &str,
        new: &NewConfig,
    ) -> Result<String, StorageError>;

    /// Changes a configuration's name, description, document or `isDisabled`; returns it.
    fn update_config(
        &mut self,
        component_id: &str,
        config_id: &str,
        update: &ConfigUpdate,
    ) -> Result<Config, StorageError>;

    /// Deletes a configuration with its rows and their state.
    fn delete_config(&mut self, component_id: &str, config_id: &str) -> Result<(), StorageError>;

    /// Adds a row after the configuration's last one and returns it.
    fn add_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row: &NewConfigRow,
    ) -> Result<ConfigRow, StorageError>;

    /// Changes a row; returns it.
    fn update_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
        update: &RowUpdate,
    ) -> Result<ConfigRow, StorageError>;

    /// Deletes a row with its state.
    fn delete_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
    ) -> Result<(), StorageError>;

    /// One row of a configuration.
    fn row(
        &self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
    ) -> Result<ConfigRow, StorageError> {
        self.config(component_id, config_id)?
            .rows
            .into_iter()
            .find(|r| r.id == row_id)
            .ok_or_else(|| StorageError::ConfigRowNotFound {
                component: component_id.to_owned(),
                config: config_id.to_owned(),
                row: row_id.to_owned(),
            })
    }

    /// A configuration with its rows and state.
    fn config(&self, component_id: &str, config_id: &str) -> Result<Config, StorageError>;

    /// Every configuration of a component, ordered by id.
    fn list_configs(&self, component_id: &str) -> Result<Vec<Config>, StorageError>;

    /// The stored state of a configuration, or of one of its rows.
    fn state(
        &self,
        component_id: &str,
        config_id: &str,
        row_id: Option<&str>,
    ) -> Result<State, StorageError> {
        match row_id {
            None => Ok(self.config(component_id, config_id)?.state),
            Some(row_id) => Ok(self.row(component_id, config_id, row_id)?.state),
        }
    }

    /// Replaces the stored state of a configuration, or of one of its rows.
    fn set_state(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: Option<&str>,
        state: &State,
    ) -> Result<(), StorageError>;
}

impl Catalog for Storage {
    fn add_component(&mut self, definition: &ComponentDefinition) -> Result<bool, StorageError> {
        Storage::add_component(self, definition)
    }

    fn rewrite_documents(
        &mut self,
        rewrite: &mut crate::DocumentRewrite<'_>,
    ) -> Result<usize, crate::RewriteError> {
        self.rewrite_all_documents(rewrite)
    }

    fn update_component(&mut self, definition: &ComponentDefinition) -> Result<(), StorageError> {
        Storage::update_component(self, definition)
    }

    fn delete_component(&mut self, id: &str, force: bool) -> Result<usize, StorageError> {
        Storage::delete_component(self, id, force)
    }

    fn component(&self, id: &str) -> Result<ComponentDefinition, StorageError> {
        Storage::component(self, id)
    }

    fn list_components(&self) -> Result<Vec<ComponentDefinition>, StorageError> {
        Storage::list_components(self)
    }

    fn create_config(
        &mut self,
        component_id: &str,
        new: &NewConfig,
    ) -> Result<String, StorageError> {
        Storage::create_config(self, component_id, new)
    }

    fn update_config(
        &mut self,
        component_id: &str,
        config_id: &str,
        update: &ConfigUpdate,
    ) -> Result<Config, StorageError> {
        Storage::update_config(self, component_id, config_id, update)
    }

    fn delete_config(&mut self, component_id: &str, config_id: &str) -> Result<(), StorageError> {
        Storage::delete_config(self, component_id, config_id)
    }

    fn add_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row: &NewConfigRow,
    ) -> Result<ConfigRow, StorageError> {
        Storage::add_row(self, component_id, config_id, row)
    }

    fn update_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
        update: &RowUpdate,
    ) -> Result<ConfigRow, StorageError> {
        Storage::update_row(self, component_id, config_id, row_id, update)
    }

    fn delete_row(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: &str,
    ) -> Result<(), StorageError> {
        Storage::delete_row(self, component_id, config_id, row_id)
    }

    fn config(&self, component_id: &str, config_id: &str) -> Result<Config, StorageError> {
        Storage::config(self, component_id, config_id)
    }

    fn list_configs(&self, component_id: &str) -> Result<Vec<Config>, StorageError> {
        Storage::list_configs(self, component_id)
    }

    fn set_state(
        &mut self,
        component_id: &str,
        config_id: &str,
        row_id: Option<&str>,
        state: &State,
    ) -> Result<(), StorageError> {
        Storage::set_state(self, component_id, config_id, row_id, state)
    }
}
