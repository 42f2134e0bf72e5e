//! Variables and shared code (reference §10; CVR): what a configuration refers to with
//! `shared_code_id` / `shared_code_row_ids` and `variables_id` is resolved before the job reads
//! the configuration — shared code first (it may hold variables), then variables.
//!
//! - Shared code lives in configurations of `keboola.shared-code`; each row's
//!   `configuration.code_content` (a list of scalars, or one string) replaces, spliced, every item
//!   of a list of scalars in the configuration that contains `{{<row id>}}`.
//! - Variables are declared in a configuration of `keboola.variables`
//!   (`configuration.variables: [{name, type}]`); their values come, in this order, from the
//!   job's `variableValuesData` (`{values: [{name, value}]}`), the job's `variableValuesId` (a row
//!   of the variables configuration, `configuration.values: [{name, value}]`), or the
//!   configuration's `variables_values_id`. Both job sources together fail with the reference's
//!   text, as do a declared variable without a value and an empty name.
//! - The configuration is rendered as a Mustache template ([`crate::mustache`]) over its compact
//!   JSON text, values escaped as JSON string content; the values used are recorded in the job.
//! - `{{ vault.* }}` placeholders (Keboola's vault) have no values in berth: they fail with the
//!   reference's `Missing values for placeholders: ...`.
//!
//! Both configurations are stored like any other (`berth config add` under the components
//! `keboola.variables` and `keboola.shared-code`, registered once in the home).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use berth_staging::{Stage, StagingError};
use berth_storage::{Catalog, StorageError};

use crate::mustache;

/// The component whose configurations declare variables.
pub const VARIABLES_COMPONENT: &str = "keboola.variables";
/// The component whose configurations hold shared code.
pub const SHARED_CODE_COMPONENT: &str = "keboola.shared-code";

/// The reference's text for both job-level value sources.
pub const BOTH_SOURCES: &str =
    "Only one of variableValuesId and variableValuesData can be entered.";

/// One variable's value (`{name, value}`), as given and as recorded in the job result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableValue {
    /// The variable.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The job-level value sources (`variableValuesData`, `variableValuesId`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JobValues<'a> {
    /// `variableValuesData`: `{values: [{name, value}]}`.
    pub data: Option<&'a Value>,
    /// `variableValuesId`: a row of the variables configuration.
    pub values_id: Option<&'a str>,
}

/// Fails with [`BOTH_SOURCES`] when a job gives both value sources.
pub fn check_job_values(values: JobValues<'_>) -> Result<(), String> {
    if values.data.is_some() && values.values_id.is_some_and(|v| !v.is_empty()) {
        return Err(BOTH_SOURCES.to_owned());
    }
    Ok(())
}

/// Resolves shared code, then variables, in `document`; the values used.
pub fn resolve(
    storage: &dyn Catalog,
    document: Value,
    job: JobValues<'_>,
    subject: &str,
) -> Result<(Value, Vec<VariableValue>), StagingError> {
    let user = |m: String| StagingError::user(Stage::Configuration, subject, m);
    check_job_values(job).map_err(user)?;
    let mut document = document;
    splice_shared_code(storage, &mut document, subject)?;
    let Some(variables_id) = non_empty_str(&document, "variables_id") else {
        return Ok((document, Vec::new()));
    };
    let variables = load(storage, VARIABLES_COMPONENT, &variables_id, subject)?;
    let declared: Vec<String> = variables
        .configuration
        .get("variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let values = match (job.data, job.values_id.filter(|v| !v.is_empty())) {
        (Some(data), _) => {
            Some(values_list(data.get("values"), "variableValuesData").map_err(user)?)
        }
        (None, Some(row)) => Some(row_values(&variables, row).map_err(user)?),
        (None, None) => match non_empty_str(&document, "variables_values_id") {
            Some(row) => Some(row_values(&variables, &row).map_err(user)?),
            None => None,
        },
    };
    let values = values.unwrap_or_default();
    for value in &values {
        if value.name.is_empty() {
            return Err(user("Variable name cannot be empty.".to_owned()));
        }
    }
    let map: BTreeMap<String, String> = values
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    for name in &declared {
        if !map.contains_key(name) {
            return Err(user(format!("No value provided for variable \"{name}\".")));
        }
    }
    let template = serde_json::to_string(&document)
        .map_err(|e| StagingError::app(Stage::Configuration, subject, e))?;
    let missing_vault: Vec<String> = mustache::names(&template)
        .map_err(|e| user(e.to_string()))?
        .into_iter()
        .filter(|n| n.starts_with("vault."))
        .collect();
    if !missing_vault.is_empty() {
        return Err(user(format!(
            "Missing values for placeholders: {}",
            missing_vault.join(", ")
        )));
    }
    let rendered =
        mustache::render(&template, &map, json_string_content).map_err(|e| user(e.to_string()))?;
    let document = serde_json::from_str(&rendered).map_err(|e| {
        user(format!(
            "The configuration is not valid JSON once its variables are replaced: {e}"
        ))
    })?;
    Ok((document, values))
}

/// `value` escaped as the content of a JSON string (without the quotes).
fn json_string_content(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_owned()
}

fn non_empty_str(document: &Value, key: &str) -> Option<String> {
    match document.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn load(
    storage: &dyn Catalog,
    component: &str,
    id: &str,
    subject: &str,
) -> Result<berth_storage::Config, StagingError> {
    storage.config(component, id).map_err(|e| match e {
        StorageError::ComponentNotFound { .. } | StorageError::ConfigNotFound { .. } => {
            StagingError::user(
                Stage::Configuration,
                subject,
                format!("Configuration \"{id}\" of component \"{component}\" was not found."),
            )
        }
        e => StagingError::storage(Stage::Configuration, subject, e),
    })
}

/// `[{name, value}]`; values may be strings or other scalars (written as text).
fn values_list(list: Option<&Value>, what: &str) -> Result<Vec<VariableValue>, String> {
    let Some(list) = list else {
        return Err(format!(
            "{what}: \"values\" must be a list of {{name, value}}."
        ));
    };
    let items = list
        .as_array()
        .ok_or_else(|| format!("{what}: \"values\" must be a list of {{name, value}}."))?;
    items
        .iter()
        .map(|item| {
            let name = match item.get("name") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => String::new(),
                Some(other) => {
                    return Err(format!(
                        "{what}: a variable name must be text, got {other}."
                    ));
                }
            };
            let value = match item.get("value") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => String::new(),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                Some(other) => {
                    return Err(format!(
                        "{what}: the value of variable \"{name}\" must be a scalar, got {other}."
                    ));
                }
            };
            Ok(VariableValue { name, value })
        })
        .collect()
}

fn row_values(
    variables: &berth_storage::Config,
    row_id: &str,
) -> Result<Vec<VariableValue>, String> {
    let row = variables.rows.iter().find(|r| r.id == row_id).ok_or_else(|| {
        format!(
            "Variable values \"{row_id}\" were not found in configuration \"{}\" of component \"{VARIABLES_COMPONENT}\".",
            variables.id
        )
    })?;
    values_list(
        row.configuration.get("values"),
        &format!("variable values \"{row_id}\""),
    )
}

/// Splices shared code rows into the lists of scalars of `document`.
fn splice_shared_code(
    storage: &dyn Catalog,
    document: &mut Value,
    subject: &str,
) -> Result<(), StagingError> {
    let Some(shared_id) = non_empty_str(document, "shared_code_id") else {
        return Ok(());
    };
    let row_ids: Vec<String> = document
        .get("shared_code_row_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if row_ids.is_empty() {
        return Ok(());
    }
    let shared = load(storage, SHARED_CODE_COMPONENT, &shared_id, subject)?;
    let mut code: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for id in &row_ids {
        let row = shared.rows.iter().find(|r| &r.id == id).ok_or_else(|| {
            StagingError::user(
                Stage::Configuration,
                subject,
                format!("Shared code row \"{id}\" was not found in configuration \"{shared_id}\" of component \"{SHARED_CODE_COMPONENT}\"."),
            )
        })?;
        let content = match row.configuration.get("code_content") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::String(s)) => vec![Value::String(s.clone())],
            _ => {
                return Err(StagingError::user(
                    Stage::Configuration,
                    subject,
                    format!("Shared code row \"{id}\" has no \"code_content\" list."),
                ));
            }
        };
        code.insert(id.clone(), content);
    }
    splice(document, &code);
    Ok(())
}

fn splice(value: &mut Value, code: &BTreeMap<String, Vec<Value>>) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| splice(v, code)),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.drain(..) {
                let hit = item.as_str().and_then(|s| {
                    code.iter().find(|(id, _)| {
                        mustache::names(s).is_ok_and(|names| names.iter().any(|n| n == *id))
                    })
                });
                match hit {
                    Some((_, content)) => out.extend(content.iter().cloned()),
                    None => out.push(item),
                }
            }
            *items = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| splice(v, code)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shared_code_is_spliced_into_lists_of_scalars_only() {
        let code: BTreeMap<String, Vec<Value>> = [(
            "r1".to_owned(),
            vec![json!("SELECT 1;"), json!("SELECT 2;")],
        )]
        .into();
        let mut doc = json!({"parameters": {"queries": ["BEGIN;", "{{ r1 }}", "END;"],
                                             "nested": [{"x": "{{r1}}"}], "text": "{{r1}}"}});
        splice(&mut doc, &code);
        assert_eq!(
            doc["parameters"]["queries"],
            json!(["BEGIN;", "SELECT 1;", "SELECT 2;", "END;"])
        );
        assert_eq!(doc["parameters"]["nested"], json!([{"x": "{{r1}}"}]));
        assert_eq!(doc["parameters"]["text"], "{{r1}}", "not a list");
    }

    #[test]
    fn values_are_escaped_as_json_string_content() {
        assert_eq!(json_string_content("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }

    #[test]
    fn both_job_sources_are_refused() {
        let data = json!({"values": []});
        let err = check_job_values(JobValues {
            data: Some(&data),
            values_id: Some("1"),
        })
        .unwrap_err();
        assert_eq!(err, BOTH_SOURCES);
    }
}
