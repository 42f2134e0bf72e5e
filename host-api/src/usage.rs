//! The usage file `out/usage.json` (reference §6; seed 003 "Usage File"): a JSON array of
//! `{"metric": ..., "value": ...}` objects, strictly validated — "a wrong format will cause a
//! component failure".
//!
//! Rules: the root is an array (`[]` is valid); each item is an object with exactly the keys
//! `metric` and `value`; both are required and non-empty scalars (`null` and `""` are rejected,
//! `0` is allowed, a string `value` is allowed). Components should write the file progressively,
//! so a failed run still reports what it consumed.
//!
//! ```
//! use berth_host_api::usage::{parse_usage, UsageRecord};
//! let records = parse_usage(r#"[{"metric": "API calls", "value": 150}]"#).unwrap();
//! assert_eq!(records, vec![UsageRecord::new("API calls", 150)]);
//! let err = parse_usage(r#"[{"random": "API calls", "value": 150}]"#).unwrap_err();
//! assert!(err.to_string().contains(r#"Unrecognized option "random" under "usage.0"."#));
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ContractError;
use crate::paths::OUT_USAGE;
use crate::shape::{self, PathStyle, Shape, leaf};

/// One usage record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// What was consumed, e.g. `API calls`.
    pub metric: String,
    /// How much: a number or a non-empty string.
    pub value: Value,
}

impl UsageRecord {
    /// A record of `value` units of `metric`.
    pub fn new(metric: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            metric: metric.into(),
            value: value.into(),
        }
    }
}

const STYLE: PathStyle = PathStyle {
    root: "usage",
    prefixed: true,
};

static RECORD: Shape = Shape::Object(&[leaf("metric"), leaf("value")]);
static USAGE: Shape = Shape::ArrayOf(&RECORD);

/// Parses and validates the text of `out/usage.json`.
pub fn parse_usage(text: &str) -> Result<Vec<UsageRecord>, ContractError> {
    let mut value = shape::parse_json(OUT_USAGE, text)?;
    validate(&mut value).map_err(|e| ContractError::Usage(Box::new(e)))
}

fn validate(value: &mut Value) -> Result<Vec<UsageRecord>, ContractError> {
    shape::prepare(value, &USAGE, STYLE, true)?;
    let Value::Array(items) = value else {
        return Err(ContractError::InvalidType {
            path: STYLE.root.to_owned(),
            message: format!("Expected an array, but got {}.", kind(value)),
        });
    };
    let mut records = Vec::with_capacity(items.len());
    for (i, item) in items.iter_mut().enumerate() {
        let path = format!("usage.{i}");
        let Value::Object(map) = item else {
            return Err(ContractError::InvalidType {
                message: format!("Expected an object, but got {}.", kind(item)),
                path,
            });
        };
        let mut take = |key: &str| -> Result<Value, ContractError> {
            let v = map
                .remove(key)
                .ok_or_else(|| ContractError::MissingOption {
                    option: key.to_owned(),
                    path: path.clone(),
                })?;
            let key_path = format!("{path}.{key}");
            match &v {
                Value::Null => Err(ContractError::EmptyValue {
                    path: key_path,
                    got: "null".to_owned(),
                }),
                Value::String(s) if s.is_empty() => Err(ContractError::EmptyValue {
                    path: key_path,
                    got: "\"\"".to_owned(),
                }),
                Value::Array(_) | Value::Object(_) => Err(ContractError::InvalidType {
                    message: format!("Expected a scalar, but got {}.", kind(&v)),
                    path: key_path,
                }),
                _ => Ok(v),
            }
        };
        let metric = match take("metric")? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let value = take("value")?;
        records.push(UsageRecord { metric, value });
    }
    Ok(records)
}

/// The JSON type name of a value, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The usage file for `records`, pretty-printed.
pub fn usage_to_json(records: &[UsageRecord]) -> String {
    // Serialising these plain structs cannot fail: every map key is a string.
    serde_json::to_string_pretty(records).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_a_round_trip_exactly() {
        // Found by the `usage` fuzz target (runtime/fuzz): without serde_json's exact float
        // parsing this value read back one ulp off after being written.
        let text = r#"[{"metric":10,"value":111111111111111111111111111111111111111111111111111111111111111111111111111144}]"#;
        let records = parse_usage(text).unwrap();
        assert_eq!(parse_usage(&usage_to_json(&records)).unwrap(), records);
        for value in [
            "0.1",
            "1e308",
            "2.2250738585072014e-308",
            "123456789012345678901234567890",
        ] {
            let text = format!(r#"[{{"metric": "m", "value": {value}}}]"#);
            let records = parse_usage(&text).unwrap();
            assert_eq!(
                parse_usage(&usage_to_json(&records)).unwrap(),
                records,
                "{value}"
            );
        }
    }

    #[test]
    fn good_cases() {
        assert!(parse_usage("[]").unwrap().is_empty());
        let r = parse_usage(r#"[{"metric":"a","value":0},{"value":"x","metric":"b"}]"#).unwrap();
        assert_eq!(
            r,
            vec![UsageRecord::new("a", 0), UsageRecord::new("b", "x")]
        );
        assert_eq!(parse_usage(&usage_to_json(&r)).unwrap(), r);
    }

    #[test]
    fn bad_cases() {
        for (text, message) in [
            (
                r#"{}"#,
                r#"Invalid type for path "usage". Expected an array, but got an object."#,
            ),
            (
                r#"[{"metric":"a"}]"#,
                r#"The child config "value" under "usage.0" must be configured."#,
            ),
            (
                r#"[{"metric":null,"value":1}]"#,
                r#"The path "usage.0.metric" cannot contain an empty value, but got null."#,
            ),
            (
                r#"[{"metric":"a","value":""}]"#,
                r#"The path "usage.0.value" cannot contain an empty value, but got ""."#,
            ),
            (
                r#"[{"metric":"a","value":[1]}]"#,
                r#"Invalid type for path "usage.0.value". Expected a scalar, but got an array."#,
            ),
            (
                r#"[5]"#,
                r#"Invalid type for path "usage.0". Expected an object, but got a number."#,
            ),
        ] {
            let err = parse_usage(text).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("Invalid usage file \"out/usage.json\": {message}"),
                "{text}"
            );
        }
    }
}
