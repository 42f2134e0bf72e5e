//! Where an output table goes (reference §3.1, OM `TableConfigurationResolver`) and the default
//! bucket (JQC `ComponentSpecification::getDefaultBucketName`).
//!
//! 1. A mapping `destination` must be a full table id (`stage.bucket.table`); a bare name there is
//!    not completed with the default bucket.
//! 2. Else the manifest's `destination`; else the file name without a trailing `.csv` (with a
//!    deprecation warning).
//! 3. A full id is used as it is; a bare name gets the default bucket; without one it fails with
//!    `Failed to resolve destination for output table "<source>".`
//! 4. The result must parse as a table id: `Failed to resolve valid destination. "<x>" is not a
//!    valid table ID.`

use crate::{Stage, StagingError};
use berth_storage::{ComponentDefinition, TableId};

/// A resolved destination and the warning to log, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The table id.
    pub table: TableId,
    /// Set when the id came from the file name alone.
    pub warning: Option<String>,
}

/// Resolves the destination of `source` (see the module docs).
pub fn resolve(
    source: &str,
    mapping: Option<&str>,
    manifest: Option<&str>,
    default_bucket: Option<&str>,
) -> Result<Destination, StagingError> {
    let unresolved = || {
        StagingError::user(
            Stage::OutputMapping,
            source,
            format!("Failed to resolve destination for output table \"{source}\"."),
        )
    };
    let dots = |s: &str| s.matches('.').count();
    let mut warning = None;
    let name = match (mapping, manifest.filter(|m| !m.is_empty())) {
        (Some(id), _) => {
            if dots(id) != 2 {
                return Err(unresolved());
            }
            id.to_owned()
        }
        (None, Some(id)) => id.to_owned(),
        (None, None) => {
            let name = source.strip_suffix(".csv").unwrap_or(source).to_owned();
            if dots(&name) == 2 {
                warning = Some(format!(
                    "Source table \"{source}\" has neither manifest file nor mapping set, falling back to the source name as a destination.This behaviour was DEPRECATED and will be removed in the future."
                ));
            }
            name
        }
    };
    let id = if dots(&name) == 2 {
        name
    } else {
        match default_bucket {
            Some(bucket) => format!("{bucket}.{name}"),
            None => return Err(unresolved()),
        }
    };
    let table = TableId::parse(&id).map_err(|_| {
        StagingError::user(
            Stage::OutputMapping,
            source,
            format!("Failed to resolve valid destination. \"{id}\" is not a valid table ID."),
        )
    })?;
    Ok(Destination { table, warning })
}

/// The default bucket: `storage.output.default_bucket`, else — for a component with
/// `default_bucket: true` — `<stage>.c-<component id sanitised>-<config id>`.
pub fn default_bucket(
    configured: Option<&str>,
    component: &ComponentDefinition,
    config_id: Option<&str>,
) -> Result<Option<String>, StagingError> {
    if let Some(bucket) = configured.filter(|b| !b.is_empty()) {
        return Ok(Some(bucket.to_owned()));
    }
    if !component.default_bucket {
        return Ok(None);
    }
    let Some(config_id) = config_id else {
        return Err(StagingError::user(
            Stage::OutputMapping,
            &component.id,
            "Configuration ID not set, but is required for default_bucket option.",
        ));
    };
    let sanitized: String = component
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(Some(format!(
        "{}.c-{sanitized}-{config_id}",
        component.default_bucket_stage
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(
        source: &str,
        mapping: Option<&str>,
        manifest: Option<&str>,
        bucket: Option<&str>,
    ) -> String {
        resolve(source, mapping, manifest, bucket)
            .unwrap()
            .table
            .to_string()
    }

    fn err(
        source: &str,
        mapping: Option<&str>,
        manifest: Option<&str>,
        bucket: Option<&str>,
    ) -> String {
        resolve(source, mapping, manifest, bucket)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn precedence() {
        let bucket = Some("out.c-main");
        assert_eq!(
            ok("t.csv", Some("in.c-a.x"), Some("in.c-b.y"), bucket),
            "in.c-a.x"
        );
        assert_eq!(ok("t.csv", None, Some("in.c-b.y"), bucket), "in.c-b.y");
        assert_eq!(ok("t.csv", None, Some("y"), bucket), "out.c-main.y");
        assert_eq!(ok("t.csv", None, None, bucket), "out.c-main.t");
        assert_eq!(ok("in.c-x.t.csv", None, None, None), "in.c-x.t");
        assert!(
            resolve("in.c-x.t.csv", None, None, None)
                .unwrap()
                .warning
                .is_some()
        );
    }

    #[test]
    fn forbidden() {
        let msg = r#"Failed to resolve destination for output table "table.csv"."#;
        assert_eq!(
            err("table.csv", Some("table"), None, Some("out.c-main")),
            msg
        );
        assert_eq!(err("table.csv", None, Some("table"), None), msg);
        assert_eq!(err("table.csv", None, None, None), msg);
    }
}
