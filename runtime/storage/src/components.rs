//! Component definitions: the JSON file people write to register a component (its image,
//! limits, network, actions and image/stack parameters), in berth's flat shape or as the
//! Developer Portal publishes it ([`portal`]), validated on the way in and stored in the catalog;
//! changed and removed (with its configurations only when forced).
//!
//! Unknown keys are ignored, as the reference says, but never silently: [`ComponentDefinition::parse`]
//! returns each one by name (`memmory`, `data.foo`) so a typo is loud.

mod portal;

use duckdb::{OptionalExt, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::db::to_micros;
use super::limits::LimitOverrides;
use super::{Storage, StorageError};

/// A component definition (Keboola's component specification, the fields that affect a run).
///
/// Unknown keys are ignored and reported by [`ComponentDefinition::parse`]. Example:
///
/// ```json
/// {"id": "acme.ex-demo", "image": "components/ex-demo.wasm", "memory": "256m",
///  "image_parameters": {"url": "https://api.example.com"},
///  "stack_parameters": {"connection.keboola.com": {"token": "abc"}}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentDefinition {
    /// Component id, e.g. `keboola.ex-db-mysql`: letters, digits, `.`, `_`, `-`.
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    /// The portal's component type (`extractor`, `writer`, `processor`, …); informational.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// What runs: a path to a `.wasm` module, or an image reference.
    pub image: String,
    /// Memory limit, e.g. `256m`: a number with an optional `k`, `m` or `g` suffix, decimal
    /// (`256m` = 256,000,000 bytes, as the reference reads it).
    #[serde(default = "default_memory")]
    pub memory: String,
    /// Time limit of a `run` action in seconds (default 3600).
    #[serde(default = "default_timeout")]
    pub process_timeout: u64,
    /// Network access: `none` (default), `bridge`, or `no-internet`.
    #[serde(default)]
    pub network: Network,
    /// Actions other than `run` the component accepts, e.g. `["testConnection"]`.
    #[serde(default)]
    pub synchronous_actions: Vec<String>,
    /// Parameters every configuration receives as `image_parameters`.
    #[serde(default)]
    pub image_parameters: Map<String, Value>,
    /// Per-stack overrides of `image_parameters`, keyed by stack (Storage host or region).
    #[serde(default)]
    pub stack_parameters: Map<String, Value>,
    /// Output tables without a destination go to a bucket named after the configuration.
    #[serde(default)]
    pub default_bucket: bool,
    /// Stage of that default bucket, `in` (default) or `out`.
    #[serde(default = "default_stage")]
    pub default_bucket_stage: String,
    /// Pass `KBC_TOKEN` and `KBC_URL` to the component.
    #[serde(default)]
    pub forward_token: bool,
    /// Also pass the project and token details.
    #[serde(default)]
    pub forward_token_details: bool,
    /// `json` (default) or `yaml`: the format of the configuration file.
    #[serde(default)]
    pub configuration_format: ConfigurationFormat,
    /// How `/data` is staged; `local` both ways by default.
    #[serde(default)]
    pub staging_storage: StagingStorage,
    /// Component features, e.g. `dev-branch-job-blocked`, `container-root-user`.
    #[serde(default)]
    pub features: Vec<String>,
    /// Limits on what the component leaves in `out/` (see [`LimitOverrides`]); absent keys keep
    /// the home's or berth's defaults.
    #[serde(default, skip_serializing_if = "LimitOverrides::is_empty")]
    pub limits: LimitOverrides,
    /// Which tables a job may write: `mapping` (default; berth's rule after seeds 001/002) or
    /// `any` (Keboola's behaviour, for trusted components).
    #[serde(default)]
    pub output_scope: OutputScope,
    /// JSON Schema of a configuration's `parameters` (the portal's `configurationSchema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_schema: Option<Value>,
    /// JSON Schema of a row's `parameters` (the portal's `configurationRowSchema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_row_schema: Option<Value>,
    /// `authoritative`, `hints` or `none` (default): the portal's
    /// `dataTypesConfiguration.dataTypesSupport`, passed as `KBC_DATA_TYPE_SUPPORT`.
    #[serde(default)]
    pub data_types_support: DataTypesSupport,
    /// The portal's `logging` settings; kept, not used (berth collects stdout and stderr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
}

/// How a component treats native data types (`KBC_DATA_TYPE_SUPPORT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataTypesSupport {
    /// Types are authoritative.
    Authoritative,
    /// Types are hints.
    Hints,
    /// No native types (default).
    #[default]
    None,
}

impl DataTypesSupport {
    /// The value as `KBC_DATA_TYPE_SUPPORT` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authoritative => "authoritative",
            Self::Hints => "hints",
            Self::None => "none",
        }
    }
}

/// Which shape a definition file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionShape {
    /// berth's flat shape (`image`, `memory`, … at the top).
    Berth,
    /// The Developer Portal's component detail (`data.definition`, `data.memory`, …).
    DeveloperPortal,
}

/// A parsed definition file: the definition, its shape and the keys that were ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDefinition {
    /// The definition.
    pub definition: ComponentDefinition,
    /// The shape the file was in.
    pub shape: DefinitionShape,
    /// Unknown keys, as paths in the file (`memmory`, `data.foo`, `staging_storage.inptu`).
    pub ignored: Vec<String>,
}

/// Which tables a component's jobs may write (seeds 001/002: "only those outputs defined in the
/// output mapping by the end-user will be written to the project").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputScope {
    /// Only the tables named in the configuration's output mapping, plus tables in the
    /// configuration's default bucket (berth's default).
    #[default]
    Mapping,
    /// Any table a manifest or file name names (Keboola's code).
    Any,
}

/// Network access of a component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// No network (berth's default).
    #[default]
    None,
    /// Network access.
    Bridge,
    /// No route out: on WASI the same as `none` (no sockets); refused for containers for now
    /// (a Docker internal network still reaches the host).
    #[serde(rename = "no-internet")]
    NoInternet,
}

/// Format of the configuration file a component reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigurationFormat {
    /// `config.json`.
    #[default]
    Json,
    /// `config.yml`, YAML state, usage and manifests.
    Yaml,
}

impl From<ConfigurationFormat> for berth_host_api::FileFormat {
    fn from(format: ConfigurationFormat) -> Self {
        match format {
            ConfigurationFormat::Json => Self::Json,
            ConfigurationFormat::Yaml => Self::Yaml,
        }
    }
}

/// Input and output staging of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagingStorage {
    /// `local` or `none`.
    #[serde(default = "default_staging")]
    pub input: String,
    /// `local` or `none`.
    #[serde(default = "default_staging")]
    pub output: String,
}

impl Default for StagingStorage {
    fn default() -> Self {
        Self {
            input: default_staging(),
            output: default_staging(),
        }
    }
}

fn default_memory() -> String {
    "256m".into()
}

fn default_timeout() -> u64 {
    3600
}

fn default_stage() -> String {
    "in".into()
}

fn default_staging() -> String {
    "local".into()
}

impl ComponentDefinition {
    /// Parses and validates a definition file's text (either shape), dropping the names of
    /// ignored keys; see [`ComponentDefinition::parse`].
    pub fn from_json(text: &str) -> Result<Self, StorageError> {
        Ok(Self::parse(text)?.definition)
    }

    /// Parses and validates a definition file's text in berth's shape or the Developer Portal's
    /// (a `data` object and no `image`), naming every key it ignored.
    pub fn parse(text: &str) -> Result<ParsedDefinition, StorageError> {
        let invalid = |message: String| StorageError::InvalidComponent { id: None, message };
        let value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(invalid(
                "a component definition must be a JSON object".into(),
            ));
        };
        let (shape, berth, mut ignored) = if portal::is_portal(&Value::Object(object.clone())) {
            let (berth, ignored) = portal::to_berth_shape(object).map_err(invalid)?;
            (DefinitionShape::DeveloperPortal, berth, ignored)
        } else {
            (DefinitionShape::Berth, Value::Object(object), Vec::new())
        };
        let spell = |path: String| match shape {
            DefinitionShape::Berth => path,
            DefinitionShape::DeveloperPortal => portal::portal_path(&path),
        };
        // The key a wrong value is under is named (`key "forward_token": invalid type: …`).
        let describe = |err: serde_path_to_error::Error<serde_json::Error>| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            invalid(if path == "." {
                inner.to_string()
            } else {
                format!("key \"{}\": {inner}", spell(path))
            })
        };
        let mut unknown = Vec::new();
        let mut track = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
        let definition: Self = match shape {
            // berth's shape is read from the text itself, so errors keep their line and column.
            DefinitionShape::Berth => {
                let mut json = serde_json::Deserializer::from_str(text);
                let ignoring = serde_ignored::Deserializer::new(&mut json, &mut track);
                let definition = serde_path_to_error::deserialize(ignoring).map_err(describe)?;
                json.end().map_err(|e| invalid(e.to_string()))?;
                definition
            }
            DefinitionShape::DeveloperPortal => {
                let ignoring = serde_ignored::Deserializer::new(berth, &mut track);
                serde_path_to_error::deserialize(ignoring).map_err(describe)?
            }
        };
        ignored.extend(unknown.into_iter().map(spell));
        definition.validate().map_err(|e| match (shape, e) {
            (DefinitionShape::DeveloperPortal, StorageError::InvalidComponent { id, message }) => {
                StorageError::InvalidComponent {
                    id,
                    message: respell_key(&message),
                }
            }
            (_, e) => e,
        })?;
        Ok(ParsedDefinition {
            definition,
            shape,
            ignored,
        })
    }

    /// Checks the values serde cannot: id characters, memory format, timeout, stages.
    pub fn validate(&self) -> Result<(), StorageError> {
        let invalid = |message: String| StorageError::InvalidComponent {
            id: Some(self.id.clone()).filter(|id| !id.is_empty()),
            message,
        };
        let id_ok = self
            .id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !id_ok {
            return Err(invalid(format!(
                "key \"id\": \"{}\" must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
                self.id
            )));
        }
        if self.image.trim().is_empty() {
            return Err(invalid("key \"image\": the image is empty".into()));
        }
        if self.memory_bytes().is_none() {
            return Err(invalid(format!(
                "key \"memory\": \"{}\" is not a size such as \"256m\"",
                self.memory
            )));
        }
        if self.process_timeout == 0 {
            return Err(invalid(
                "key \"process_timeout\": must be greater than 0".into(),
            ));
        }
        if !matches!(self.default_bucket_stage.as_str(), "in" | "out") {
            return Err(invalid(format!(
                "key \"default_bucket_stage\": \"{}\" must be \"in\" or \"out\"",
                self.default_bucket_stage
            )));
        }
        for (stack, value) in &self.stack_parameters {
            if !value.is_object() {
                return Err(invalid(format!(
                    "key \"stack_parameters.{stack}\": must be an object"
                )));
            }
        }
        if let Some(action) = self
            .synchronous_actions
            .iter()
            .find(|a| a.is_empty() || a.as_str() == "run")
        {
            return Err(invalid(format!(
                "key \"synchronous_actions\": \"{action}\" cannot be a synchronous action"
            )));
        }
        for (key, value) in [
            ("staging_storage.input", &self.staging_storage.input),
            ("staging_storage.output", &self.staging_storage.output),
        ] {
            if !matches!(value.as_str(), "local" | "none") {
                return Err(invalid(format!(
                    "key \"{key}\": \"{value}\" must be \"local\" or \"none\""
                )));
            }
        }
        Ok(())
    }

    /// The format of the files exchanged with the component (`configuration_format`).
    pub fn file_format(&self) -> berth_host_api::FileFormat {
        self.configuration_format.into()
    }

    /// The memory limit in bytes, in decimal units as the reference reads them (`256m` →
    /// 256,000,000; `1g` → 1,000,000,000), `None` when malformed.
    pub fn memory_bytes(&self) -> Option<u64> {
        let text = self.memory.trim().to_ascii_lowercase();
        let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => text.split_at(i),
            None => (text.as_str(), ""),
        };
        let n: u64 = digits.parse().ok()?;
        let factor: u64 = match unit {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "m" | "mb" => 1_000_000,
            "g" | "gb" => 1_000_000_000,
            _ => return None,
        };
        n.checked_mul(factor).filter(|&bytes| bytes > 0)
    }

    /// `image_parameters` merged with `stack_parameters[stack]`, the stack's values winning.
    /// Nested objects merge key by key; any other value from the stack replaces the image's.
    pub fn image_parameters_for_stack(&self, stack: &str) -> Map<String, Value> {
        let mut merged = self.image_parameters.clone();
        if let Some(Value::Object(overrides)) = self.stack_parameters.get(stack) {
            merge_into(&mut merged, overrides);
        }
        merged
    }
}

/// A validation message `key "memory": …` as the portal spells the key (`key "data.memory": …`).
fn respell_key(message: &str) -> String {
    let Some(rest) = message.strip_prefix("key \"") else {
        return message.to_owned();
    };
    match rest.split_once('"') {
        Some((path, tail)) => format!("key \"{}\"{tail}", portal::portal_path(path)),
        None => message.to_owned(),
    }
}

fn merge_into(base: &mut Map<String, Value>, overrides: &Map<String, Value>) {
    for (key, value) in overrides {
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => merge_into(existing, more),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

impl Storage {
    /// Registers a component, replacing an existing definition with the same id. Returns true
    /// when one was replaced.
    pub fn add_component(
        &mut self,
        definition: &ComponentDefinition,
    ) -> Result<bool, StorageError> {
        definition.validate()?;
        let text = serde_json::to_string(definition).map_err(|err| StorageError::Database {
            stage: "serialising the component definition",
            subject: definition.id.clone(),
            source: err.into(),
        })?;
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", &definition.id))?;
        let existed: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM berth_components WHERE id = ?",
                params![definition.id],
                |row| row.get(0),
            )
            .map_err(StorageError::db("reading components", &definition.id))?;
        tx.execute(
            "INSERT OR REPLACE INTO berth_components (id, definition, updated) VALUES (?, ?, ?)",
            params![definition.id, text, to_micros(self.clock.now())],
        )
        .map_err(StorageError::db("storing the component", &definition.id))?;
        tx.commit()
            .map_err(StorageError::db("committing the component", &definition.id))?;
        self.database.cache.invalidate();
        Ok(existed)
    }

    /// Replaces the definition of an existing component (`ComponentNotFound` when there is
    /// none; registering a new one is [`Storage::add_component`]).
    pub fn update_component(
        &mut self,
        definition: &ComponentDefinition,
    ) -> Result<(), StorageError> {
        self.component(&definition.id)?;
        self.add_component(definition).map(|_| ())
    }

    /// Removes a component. While it has configurations this is a `ComponentInUse` error
    /// unless `force`, which deletes them (rows and state included) in the same transaction.
    /// Returns how many configurations were deleted.
    pub fn delete_component(&mut self, id: &str, force: bool) -> Result<usize, StorageError> {
        self.component(id)?;
        let tx = self
            .conn
            .transaction()
            .map_err(StorageError::db("starting a transaction", id))?;
        let configs = super::configs::config_ids(&tx, id)?;
        if !configs.is_empty() && !force {
            return Err(StorageError::ComponentInUse {
                id: id.to_owned(),
                configs: configs.len(),
                examples: configs.iter().take(5).cloned().collect(),
            });
        }
        for config in &configs {
            super::configs::delete_config_in(&tx, id, config, &format!("{id}/{config}"))?;
        }
        tx.execute("DELETE FROM berth_components WHERE id = ?", params![id])
            .map_err(StorageError::db("deleting the component", id))?;
        tx.commit()
            .map_err(StorageError::db("committing the deletion", id))?;
        self.database.cache.invalidate();
        Ok(configs.len())
    }

    /// A component's definition.
    pub fn component(&self, id: &str) -> Result<ComponentDefinition, StorageError> {
        // Read by every action and job: from the read cache when nothing was written since
        // (see `db::ReadCache`), else with a statement prepared once per connection.
        let cache = &self.database.cache;
        if let Some(component) = cache.component(id) {
            return Ok(component);
        }
        let generation = cache.generation();
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT definition FROM berth_components WHERE id = ?")
            .and_then(|mut statement| statement.query_row(params![id], |row| row.get(0)))
            .optional()
            .map_err(StorageError::db("reading the component", id))?;
        let text = text.ok_or_else(|| StorageError::ComponentNotFound { id: id.to_owned() })?;
        let component: ComponentDefinition =
            serde_json::from_str(&text).map_err(|err| StorageError::Database {
                stage: "reading the component",
                subject: id.to_owned(),
                source: err.into(),
            })?;
        cache.keep_component(id, generation, &component);
        Ok(component)
    }

    /// Every component definition, ordered by id.
    pub fn list_components(&self) -> Result<Vec<ComponentDefinition>, StorageError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM berth_components ORDER BY id")
                .map_err(StorageError::db("listing components", "all components"))?;
            let rows = stmt
                .query_map([], |row| row.get(0))
                .map_err(StorageError::db("listing components", "all components"))?;
            rows.collect::<Result<_, _>>()
                .map_err(StorageError::db("listing components", "all components"))?
        };
        ids.iter().map(|id| self.component(id)).collect()
    }

    /// `image_parameters` of a component merged for `stack` (see
    /// [`ComponentDefinition::image_parameters_for_stack`]).
    pub fn image_parameters_for_stack(
        &self,
        component_id: &str,
        stack: &str,
    ) -> Result<Map<String, Value>, StorageError> {
        <Self as super::Catalog>::image_parameters_for_stack(self, component_id, stack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_memory() {
        let d = ComponentDefinition::from_json(r#"{"id": "a.b", "image": "x.wasm"}"#).unwrap();
        assert_eq!(d.memory, "256m");
        assert_eq!(d.memory_bytes(), Some(256_000_000));
        assert_eq!(d.process_timeout, 3600);
        assert_eq!(d.network, Network::None);
        assert_eq!(d.default_bucket_stage, "in");
        assert_eq!(d.configuration_format, ConfigurationFormat::Json);
    }

    #[test]
    fn the_configuration_format_is_json_or_yaml_in_both_shapes() {
        let berth = ComponentDefinition::from_json(
            r#"{"id": "a.b", "image": "x.wasm", "configuration_format": "yaml"}"#,
        )
        .unwrap();
        assert_eq!(berth.file_format(), berth_host_api::FileFormat::Yaml);
        let portal = r#"{"id": "a.b", "data": {"definition": {"type": "dockerhub", "uri": "x"}, "configuration_format": "yaml"}}"#;
        let portal = ComponentDefinition::parse(portal).unwrap().definition;
        assert_eq!(portal.file_format(), berth_host_api::FileFormat::Yaml);
        let error = ComponentDefinition::from_json(
            r#"{"id": "a.b", "image": "x.wasm", "configuration_format": "yml"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("configuration_format"), "{error}");
    }

    #[test]
    fn deep_merge_stack_wins() {
        let d = ComponentDefinition::from_json(
            r#"{"id": "a", "image": "x", "image_parameters": {"name": "n", "token": "default", "nested": {"a": 1, "b": 2}},
                "stack_parameters": {"eu": {"token": "def", "url": "u", "nested": {"b": 3}}}}"#,
        )
        .unwrap();
        let merged = Value::Object(d.image_parameters_for_stack("eu"));
        assert_eq!(
            merged,
            serde_json::json!({"name": "n", "token": "def", "nested": {"a": 1, "b": 3}, "url": "u"})
        );
        assert_eq!(
            Value::Object(d.image_parameters_for_stack("us")),
            serde_json::json!({"name": "n", "token": "default", "nested": {"a": 1, "b": 2}})
        );
    }
}
