//! `configurationSchema` (reference §10, the portal's JSON Schema of a configuration's
//! `parameters`): checked when a configuration is stored and again when a job starts, so a
//! configuration edited elsewhere, or a component whose schema changed, fails before anything
//! runs. Errors name the JSON path of each problem (`parameters.api.baseUrl: …`).
//!
//! A schema without `$schema` is read as draft 4, what Keboola's UI (json-editor) uses; one with
//! `$schema` is read as that draft. An empty schema (`{}`) checks nothing. A schema the validator
//! cannot compile (e.g. draft 3's `"required": true`, which the portal tolerates) is reported as
//! a warning and checks nothing: refusing every configuration of such a component would be worse.
//!
//! The configuration's `parameters` are checked against `configurationSchema`; a row's
//! parameters, merged over the configuration's as a row job sees them, against
//! `configurationSchema` and, when it is set and not empty, `configurationRowSchema`.

use berth_storage::ComponentDefinition;
use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::config::merge_recursive;

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaReport {
    /// Each problem with its path, e.g. `parameters.api.baseUrl: "x" is not a "uri"`.
    pub problems: Vec<String>,
    /// Schemas that could not be used, e.g. `configurationSchema is not a valid JSON Schema: …`.
    pub warnings: Vec<String>,
}

impl SchemaReport {
    /// The user error for the problems, `None` when there are none.
    pub fn error(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| {
            format!(
                "The configuration does not match the component's configurationSchema: {}",
                self.problems.join("; ")
            )
        })
    }
}

/// Checks a configuration document about to be stored and its rows' documents.
pub fn check_stored(
    component: &ComponentDefinition,
    configuration: &Value,
    rows: &[(&str, &Value)],
) -> SchemaReport {
    let mut report = SchemaReport::default();
    let root = compile(
        component.configuration_schema.as_ref(),
        "configurationSchema",
    );
    let row_schema = compile(
        component.configuration_row_schema.as_ref(),
        "configurationRowSchema",
    );
    check(&root, &parameters(configuration), "", &mut report);
    for (id, row) in rows {
        let mut merged = configuration.clone();
        merge_recursive(&mut merged, row);
        let at = format!("row \"{id}\": ");
        check(&root, &parameters(&merged), &at, &mut report);
        check(&row_schema, &parameters(&merged), &at, &mut report);
    }
    dedup(&mut report.warnings);
    report
}

/// Why a component's schemas cannot be used, if they cannot (shown as it is registered).
pub fn unusable_schemas(component: &ComponentDefinition) -> Vec<String> {
    [
        (
            component.configuration_schema.as_ref(),
            "configurationSchema",
        ),
        (
            component.configuration_row_schema.as_ref(),
            "configurationRowSchema",
        ),
    ]
    .into_iter()
    .filter_map(|(schema, name)| match compile(schema, name) {
        Compiled::Unusable(why) => Some(why),
        _ => None,
    })
    .collect()
}

/// Checks the document a job runs (the row already merged over the configuration for a row job).
pub fn check_job(component: &ComponentDefinition, document: &Value, row: bool) -> SchemaReport {
    let mut report = SchemaReport::default();
    let root = compile(
        component.configuration_schema.as_ref(),
        "configurationSchema",
    );
    check(&root, &parameters(document), "", &mut report);
    if row {
        let row_schema = compile(
            component.configuration_row_schema.as_ref(),
            "configurationRowSchema",
        );
        check(&row_schema, &parameters(document), "", &mut report);
    }
    report
}

/// The check at job start: the problems as one user error; warnings returned for the record.
pub(crate) fn at_job_start(
    component: &ComponentDefinition,
    document: &Value,
    row: bool,
) -> Result<Vec<String>, berth_staging::StagingError> {
    let report = check_job(component, document, row);
    match report.error() {
        Some(message) => Err(berth_staging::StagingError::user(
            berth_staging::Stage::Configuration,
            &component.id,
            message,
        )),
        None => Ok(report.warnings),
    }
}

/// A compiled schema: none, usable, or unusable with the reason.
enum Compiled {
    Nothing,
    Usable(Box<Validator>),
    Unusable(String),
}

fn compile(schema: Option<&Value>, name: &str) -> Compiled {
    let Some(schema) = schema.filter(|s| s.as_object().is_none_or(|o| !o.is_empty())) else {
        return Compiled::Nothing;
    };
    let options = if schema.get("$schema").is_some() {
        jsonschema::options()
    } else {
        jsonschema::options().with_draft(Draft::Draft4)
    };
    match options.build(schema) {
        Ok(validator) => Compiled::Usable(Box::new(validator)),
        Err(e) => Compiled::Unusable(format!(
            "The component's {name} is not a valid JSON Schema ({e}); configurations are not checked against it."
        )),
    }
}

fn check(compiled: &Compiled, parameters: &Value, at: &str, report: &mut SchemaReport) {
    match compiled {
        Compiled::Nothing => {}
        Compiled::Unusable(why) => report.warnings.push(why.clone()),
        Compiled::Usable(validator) => {
            for error in validator.iter_errors(parameters) {
                report.problems.push(format!(
                    "{at}{}: {error}",
                    json_path(error.instance_path().as_str())
                ));
            }
        }
    }
}

/// `parameters` of a configuration document (`{}` when absent, as config.json writes it).
fn parameters(document: &Value) -> Value {
    match document.get("parameters") {
        Some(Value::Null) | None => Value::Object(Default::default()),
        Some(p) => p.clone(),
    }
}

/// A JSON pointer into `parameters` (`/api/baseUrl`, `/jobs/0`) as a dotted path from the
/// configuration's root (`parameters.api.baseUrl`, `parameters.jobs.0`).
fn json_path(pointer: &str) -> String {
    let mut path = String::from("parameters");
    for segment in pointer.split('/').skip(1) {
        path.push('.');
        path.push_str(&segment.replace("~1", "/").replace("~0", "~"));
    }
    path
}

fn dedup(items: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component(schema: Value, row_schema: Option<Value>) -> ComponentDefinition {
        let mut definition =
            json!({"id": "a.b", "image": "x.wasm", "configuration_schema": schema});
        if let Some(row) = row_schema {
            definition["configuration_row_schema"] = row;
        }
        ComponentDefinition::from_json(&definition.to_string()).unwrap()
    }

    fn schema() -> Value {
        json!({"type": "object", "required": ["api"], "properties": {
            "api": {"type": "object", "required": ["baseUrl"], "properties": {
                "baseUrl": {"type": "string", "minLength": 3}}},
            "jobs": {"type": "array", "items": {"type": "object", "required": ["endpoint"]}}}})
    }

    #[test]
    fn problems_name_their_json_path() {
        let c = component(schema(), None);
        let ok = json!({"parameters": {"api": {"baseUrl": "https://x"}}});
        assert_eq!(check_stored(&c, &ok, &[]), SchemaReport::default());
        let bad = json!({"parameters": {"api": {"baseUrl": "x"}, "jobs": [{"endpoint": "e"}, {}]}});
        let report = check_stored(&c, &bad, &[]);
        assert_eq!(
            report.problems,
            [
                r#"parameters.api.baseUrl: "x" is shorter than 3 characters"#,
                r#"parameters.jobs.1: "endpoint" is a required property"#,
            ]
        );
        assert!(
            report
                .error()
                .unwrap()
                .starts_with("The configuration does not match the component's configurationSchema: parameters.api.baseUrl")
        );
        let missing = check_stored(&c, &json!({}), &[]);
        assert_eq!(
            missing.problems,
            [r#"parameters: "api" is a required property"#]
        );
    }

    #[test]
    fn rows_are_checked_merged_and_against_the_row_schema() {
        let row_schema = json!({"type": "object", "required": ["table"]});
        let c = component(schema(), Some(row_schema));
        let config = json!({"parameters": {"api": {"baseUrl": "https://x"}}});
        let good_row = json!({"parameters": {"table": "t"}});
        let bad_row = json!({"parameters": {"api": {"baseUrl": "x"}}});
        let report = check_stored(&c, &config, &[("r1", &good_row), ("r2", &bad_row)]);
        assert_eq!(
            report.problems,
            [
                r#"row "r2": parameters.api.baseUrl: "x" is shorter than 3 characters"#,
                r#"row "r2": parameters: "table" is a required property"#,
            ]
        );
        let mut merged = config.clone();
        merge_recursive(&mut merged, &bad_row);
        assert_eq!(check_job(&c, &merged, true).problems.len(), 2);
        assert_eq!(check_job(&c, &config, false).problems.len(), 0);
    }

    #[test]
    fn draft4_by_default_and_unusable_schemas_warn() {
        // Draft 4's boolean exclusiveMaximum.
        let c = component(
            json!({"properties": {"n": {"type": "integer", "maximum": 5, "exclusiveMaximum": true}}}),
            None,
        );
        assert_eq!(
            check_stored(&c, &json!({"parameters": {"n": 5}}), &[])
                .problems
                .len(),
            1
        );
        let c = component(json!({"type": 12}), None);
        let report = check_stored(&c, &json!({"parameters": {}}), &[]);
        assert!(report.problems.is_empty());
        assert_eq!(report.warnings.len(), 1, "{report:?}");
        assert!(
            report.warnings[0]
                .starts_with("The component's configurationSchema is not a valid JSON Schema")
        );
        // An empty schema checks nothing.
        let c = component(json!({}), None);
        assert_eq!(
            check_stored(&c, &json!({"parameters": 1}), &[]),
            SchemaReport::default()
        );
    }
}
