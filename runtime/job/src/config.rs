//! The configuration a job runs: the stored configuration (with a row merged over it) or the
//! given `configData`, validated strictly, then normalised into the `config.json` the component
//! sees (reference §1.1): `image_parameters` from the component (merged with its stack
//! parameters), `action` set to what runs, `runtime` and `processors` removed.

use berth_host_api::ConfigFile;
use serde_json::{Map, Value};

use berth_staging::{Stage, StagingError};
use berth_storage::{Catalog, ComponentDefinition, DataTypesSupport};

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A stored configuration (`--config ID`).
    Stored(String),
    /// A document given inline (`--config-data FILE`).
    Data(Value),
}

/// A resolved configuration: the validated document and its process timeout.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    /// The normalised `config.json`.
    pub config: ConfigFile,
    /// `runtime.process_timeout`, when the configuration sets it.
    pub process_timeout: Option<u64>,
    /// `runtime.image_tag`: the tag to run unless the job asks for another (reference §9.1:
    /// request tag > configuration > component default).
    pub image_tag: Option<String>,
    /// `processors` (removed from `config.json`; the runner runs them).
    pub processors: crate::processors::Processors,
}

/// Reads the configuration document of a job (stored, with the row merged over it, or given).
pub fn document(
    storage: &dyn Catalog,
    component_id: &str,
    source: &ConfigSource,
    row_id: Option<&str>,
) -> Result<Value, StagingError> {
    let config_id = match source {
        ConfigSource::Data(value) => return Ok(value.clone()),
        ConfigSource::Stored(id) => id,
    };
    let subject = format!("{component_id}/{config_id}");
    let config = storage
        .config(component_id, config_id)
        .map_err(|e| StagingError::storage(Stage::Configuration, &subject, e))?;
    let mut document = config.configuration;
    if let Some(row_id) = row_id {
        let Some(row) = config.rows.iter().find(|r| r.id == row_id) else {
            return Err(StagingError::user(
                Stage::Configuration,
                &subject,
                format!("None of rows \"{row_id}\" was found."),
            ));
        };
        crate::processors::check_one_place(&document, &row.configuration, &subject)?;
        merge_recursive(&mut document, &row.configuration);
    }
    Ok(document)
}

/// `KBC_DATA_TYPE_SUPPORT` of a component: its `dataTypesConfiguration.dataTypesSupport` when it
/// declares native-types support (`authoritative` or `hints`); unset for `none`, as the reference
/// runner leaves it unset without native types.
pub fn data_type_support(component: &ComponentDefinition) -> Option<String> {
    match component.data_types_support {
        DataTypesSupport::None => None,
        support => Some(support.as_str().to_owned()),
    }
}

/// The version of a stored configuration (`KBC_CONFIGVERSION`); `None` for `configData`.
pub fn stored_version(
    storage: &dyn Catalog,
    component_id: &str,
    source: &ConfigSource,
) -> Option<u64> {
    match source {
        ConfigSource::Stored(id) => storage.config(component_id, id).ok().map(|c| c.version),
        ConfigSource::Data(_) => None,
    }
}

/// PHP's `array_replace_recursive`: objects merge by key, arrays by index, scalars replace.
pub fn merge_recursive(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge_recursive(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(o)) => {
            for (i, v) in o.iter().enumerate() {
                match b.get_mut(i) {
                    Some(existing) => merge_recursive(existing, v),
                    None => b.push(v.clone()),
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Validates `document` strictly and normalises it for `action`.
pub fn resolve(
    document: Value,
    component: &ComponentDefinition,
    stack: &str,
    action: &str,
) -> Result<ResolvedConfig, StagingError> {
    let mut config = ConfigFile::from_value_strict(document).map_err(|e| {
        StagingError::user(
            Stage::Configuration,
            &component.id,
            format!("Error in configuration: {e}"),
        )
    })?;
    let process_timeout = config.runtime.as_ref().and_then(|r| r.process_timeout());
    let image_tag = config
        .runtime
        .as_ref()
        .and_then(|r| r.image_tag())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let processors = crate::processors::Processors::from_document(config.processors.as_ref())
        .map_err(|e| {
            StagingError::user(
                Stage::Configuration,
                &component.id,
                format!("Error in configuration: {e}"),
            )
        })?;
    config.image_parameters = component.image_parameters_for_stack(stack);
    config.action = action.to_owned();
    config.runtime = None;
    config.processors = None;
    Ok(ResolvedConfig {
        config,
        process_timeout,
        image_tag,
        processors,
    })
}

/// The stand-in for `KBC_CONFIGID` without a configuration: a digest of the parameters.
pub fn parameters_digest(parameters: &Value) -> String {
    let bytes = serde_json::to_vec(parameters).unwrap_or_default();
    berth_exec::compiled_cache::sha256_hex(&bytes)[..40].to_owned()
}

/// An empty JSON object.
pub fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_merge_like_array_replace_recursive() {
        let mut base = json!({"parameters": {"a": 1, "list": [1, 2, 3], "keep": true}});
        merge_recursive(&mut base, &json!({"parameters": {"a": 2, "list": [9]}}));
        assert_eq!(
            base,
            json!({"parameters": {"a": 2, "list": [9, 2, 3], "keep": true}})
        );
    }
}
