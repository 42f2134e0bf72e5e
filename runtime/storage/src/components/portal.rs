//! The Developer Portal's component detail (reference §10 "Component definition fields that
//! affect the runner"), turned into berth's shape of a [`super::ComponentDefinition`].
//!
//! The portal nests most runner fields under `data` and names the image by
//! `data.definition{type, uri, tag, digest}`; berth's shape is flat with one `image`. This module
//! only moves keys: the result is read by the same deserializer as berth's own shape, so both
//! shapes share every default and validation rule. Keys the portal publishes for its UI and
//! catalogue (`description`, `ico32`, `uiOptions`, …) are known and dropped silently; any other
//! key is reported so a typo is named (reference: unknown keys are ignored).

use serde_json::{Map, Value};

/// Top-level portal keys that are catalogue or UI information, not runner settings.
const CATALOGUE_KEYS: &[&str] = &[
    "description",
    "longDescription",
    "version",
    "complexity",
    "categories",
    "hasUI",
    "hasRun",
    "ico32",
    "ico64",
    "ico128",
    "flags",
    "emptyConfiguration",
    "emptyConfigurationRow",
    "uiOptions",
    "configurationDescription",
    "createConfigurationRowSchema",
    "expiredOn",
    "uri",
    "documentationUrl",
    "documentation",
    "processorConfiguration",
    "isPublic",
    "isDeprecated",
];

/// `data.*` keys the portal publishes that berth does not use.
const DATA_CATALOGUE_KEYS: &[&str] = &["vendor"];

/// `data.*` keys that move to the top level of berth's shape unchanged.
pub(super) const DATA_KEYS: &[&str] = &[
    "memory",
    "process_timeout",
    "configuration_format",
    "forward_token",
    "forward_token_details",
    "default_bucket",
    "default_bucket_stage",
    "staging_storage",
    "network",
    "image_parameters",
    "stack_parameters",
    "synchronous_actions",
    "logging",
    // berth's own keys, accepted in `data` so a portal file can carry them.
    "output_scope",
    "limits",
];

/// True when `value` looks like a portal component detail: a `data` object and no `image`.
pub(super) fn is_portal(value: &Value) -> bool {
    value.get("data").is_some_and(Value::is_object) && value.get("image").is_none()
}

/// Moves a portal detail's keys into berth's shape. Returns the berth-shaped object and the
/// keys left out (as paths, e.g. `data.foo`), or a message naming a malformed key.
pub(super) fn to_berth_shape(portal: Map<String, Value>) -> Result<(Value, Vec<String>), String> {
    let mut out = Map::new();
    let mut ignored = Vec::new();
    for (key, value) in portal {
        match key.as_str() {
            "id" | "name" | "features" => {
                out.insert(key, value);
            }
            "type" => {
                out.insert("type".into(), value);
            }
            "configurationSchema" => {
                out.insert("configuration_schema".into(), value);
            }
            "configurationRowSchema" => {
                out.insert("configuration_row_schema".into(), value);
            }
            "dataTypesConfiguration" => {
                let Value::Object(types) = value else {
                    return Err("key \"dataTypesConfiguration\": must be an object".into());
                };
                for (k, v) in types {
                    if k == "dataTypesSupport" {
                        out.insert("data_types_support".into(), v);
                    } else {
                        ignored.push(format!("dataTypesConfiguration.{k}"));
                    }
                }
            }
            "data" => {
                let Value::Object(data) = value else {
                    return Err("key \"data\": must be an object".into());
                };
                move_data(data, &mut out, &mut ignored)?;
            }
            k if CATALOGUE_KEYS.contains(&k) => {}
            _ => ignored.push(key),
        }
    }
    if !out.contains_key("image") {
        return Err("key \"data.definition\": missing; it names the image (uri and tag)".into());
    }
    Ok((Value::Object(out), ignored))
}

fn move_data(
    data: Map<String, Value>,
    out: &mut Map<String, Value>,
    ignored: &mut Vec<String>,
) -> Result<(), String> {
    for (key, value) in data {
        match key.as_str() {
            "definition" => {
                let Value::Object(definition) = value else {
                    return Err("key \"data.definition\": must be an object".into());
                };
                out.insert("image".into(), Value::String(image(definition, ignored)?));
            }
            k if DATA_KEYS.contains(&k) => {
                out.insert(key, value);
            }
            k if DATA_CATALOGUE_KEYS.contains(&k) => {}
            _ => ignored.push(format!("data.{key}")),
        }
    }
    Ok(())
}

/// The image reference of `data.definition`: `uri@digest` when a digest is pinned, else
/// `uri:tag` (`tag` defaults to `latest`, reference §10 "Image tag and registry").
fn image(definition: Map<String, Value>, ignored: &mut Vec<String>) -> Result<String, String> {
    let text = |key: &str| -> Result<Option<String>, String> {
        match definition.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "key \"data.definition.{key}\": expected a string, got {other}"
            )),
        }
    };
    let uri = text("uri")?.ok_or("key \"data.definition.uri\": missing or empty")?;
    let tag = text("tag")?.unwrap_or_else(|| "latest".to_owned());
    let digest = text("digest")?;
    if let Some(kind) = text("type")?
        && !matches!(
            kind.as_str(),
            "dockerhub" | "quayio" | "aws-ecr" | "builder" | "wasm"
        )
    {
        return Err(format!(
            "key \"data.definition.type\": \"{kind}\" is not an image type (dockerhub, quayio, aws-ecr)"
        ));
    }
    for key in definition.keys() {
        if !matches!(key.as_str(), "type" | "uri" | "tag" | "digest") {
            ignored.push(format!("data.definition.{key}"));
        }
    }
    Ok(match digest {
        Some(digest) => format!("{uri}@{digest}"),
        None => format!("{uri}:{tag}"),
    })
}

/// A berth-shape path (`staging_storage.inptu`) as the portal file spells it
/// (`data.staging_storage.inptu`).
pub(super) fn portal_path(path: &str) -> String {
    let first = path.split(['.', '[']).next().unwrap_or(path);
    match first {
        "image" => "data.definition".to_owned(),
        "configuration_schema" => path.replacen(first, "configurationSchema", 1),
        "configuration_row_schema" => path.replacen(first, "configurationRowSchema", 1),
        "data_types_support" => "dataTypesConfiguration.dataTypesSupport".to_owned(),
        k if DATA_KEYS.contains(&k) => format!("data.{path}"),
        _ => path.to_owned(),
    }
}
