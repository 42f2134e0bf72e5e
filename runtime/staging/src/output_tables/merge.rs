//! Manifest and mapping precedence for one output table (reference §2.7, OM
//! `ConfigurationMerger`): the manifest is the base and the mapping item overlays it.
//!
//! - `incremental`, `delete_where_operator`, `delimiter`, `enclosure`: the mapping wins only with
//!   a value that is truthy and differs from the default (`false`, `eq`, `,`, `"`), so a mapping
//!   cannot force `incremental: false` over a manifest's `true`;
//! - `metadata`: merged by key, the mapping winning; `column_metadata`: per column, then per key;
//!   `table_metadata`: per key; `schema`: per column name;
//! - `primary_key`, `columns`, `tags`, `distribution_key`, `delete_where_values`: the mapping's
//!   when non-empty (an omitted key reads as empty, which keeps the manifest's);
//! - `write_always`: true when either says so;
//! - any other key: the mapping's when set.
//!
//! The destination is resolved separately (`destination`).

use berth_host_api::Operator;
use berth_host_api::config::{MetadataItem, OutputTable};
use berth_host_api::manifest::OutputTableManifest;

use berth_host_api::FileFormat;

use super::sources::Source;
use crate::out_dir::Folder;
use crate::{Stage, StagingError};

/// Reads a source's manifest strictly (`Failed to parse manifest file "..." as "json": ...`),
/// in the component's format, refusing one larger than `limit` bytes (`limits.manifest_bytes`).
pub(super) fn read_manifest(
    folder: &Folder,
    source: &Source,
    limit: u64,
    format: FileFormat,
) -> Result<Option<OutputTableManifest>, StagingError> {
    if !source.manifest {
        return Ok(None);
    }
    let shown = source.manifest_display();
    let Some(file) = folder.open_file(&source.manifest_name(), Stage::OutputMapping)? else {
        return Ok(None);
    };
    let bytes = file.read_limited(limit, "manifest_bytes", Stage::OutputMapping)?;
    let text = manifest_text(format, &shown, &bytes)?;
    OutputTableManifest::from_json(&shown, &text)
        .map(Some)
        .map_err(|e| StagingError::user(Stage::OutputMapping, &shown, e.to_string()))
}

/// A manifest's text as JSON: YAML ones decoded (`Failed to parse manifest file "…" as
/// "yaml": …`).
pub(crate) fn manifest_text(
    format: FileFormat,
    shown: &str,
    bytes: &[u8],
) -> Result<String, StagingError> {
    crate::format::to_json(format, "manifest file", shown, bytes)
        .map(|json| String::from_utf8_lossy(&json).into_owned())
        .map_err(|message| StagingError::user(Stage::OutputMapping, shown, message))
}

/// The manifest overlaid with the mapping item (when there is one).
pub(super) fn merge(
    manifest: Option<OutputTableManifest>,
    mapping: Option<&OutputTable>,
) -> OutputTableManifest {
    let mut m = manifest.unwrap_or_default();
    let Some(map) = mapping else {
        return m;
    };
    if map.incremental {
        m.incremental = Some(true);
    }
    if map.delete_where_operator != Operator::Eq {
        m.delete_where_operator = Some(map.delete_where_operator);
    }
    if !map.delimiter.is_empty() && map.delimiter != "," {
        m.delimiter = Some(map.delimiter.clone());
    }
    if !map.enclosure.is_empty() && map.enclosure != "\"" {
        m.enclosure = Some(map.enclosure.clone());
    }
    if !map.metadata.is_empty() {
        let mut items = m.metadata.take().unwrap_or_default();
        merge_items(&mut items, &map.metadata);
        m.metadata = Some(items);
    }
    if !map.column_metadata.is_empty() {
        let mut columns = m.column_metadata.take().unwrap_or_default();
        for (column, items) in &map.column_metadata {
            merge_items(columns.entry(column.clone()).or_default(), items);
        }
        m.column_metadata = Some(columns);
    }
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    if let Some(pk) = non_empty(&map.primary_key) {
        m.primary_key = Some(pk);
    }
    if let Some(columns) = non_empty(&map.columns) {
        m.columns = Some(columns);
    }
    if let Some(tags) = non_empty(&map.tags) {
        m.tags = Some(tags);
    }
    if let Some(key) = non_empty(&map.distribution_key) {
        m.distribution_key = Some(key);
    }
    if map.write_always {
        m.write_always = Some(true);
    }
    if map.delete_where_column.is_some() {
        m.delete_where_column = map.delete_where_column.clone();
    }
    if !map.delete_where_values.is_empty() {
        m.delete_where_values = Some(map.delete_where_values.clone());
    }
    overlay(&mut m.delete_where, &map.delete_where);
    overlay(&mut m.manifest_type, &map.manifest_type);
    overlay(&mut m.has_header, &map.has_header);
    overlay(&mut m.description, &map.description);
    overlay(&mut m.deduplication_strategy, &map.deduplication_strategy);
    overlay(&mut m.unload_strategy, &map.unload_strategy);
    if let Some(extra) = &map.table_metadata {
        let mut base = m.table_metadata.take().unwrap_or_default();
        base.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.table_metadata = Some(base);
    }
    if let Some(columns) = &map.schema {
        let mut base = m.schema.take().unwrap_or_default();
        for column in columns {
            match base.iter_mut().find(|c| c.name == column.name) {
                Some(existing) => *existing = column.clone(),
                None => base.push(column.clone()),
            }
        }
        m.schema = Some(base);
    }
    m
}

fn overlay<T: Clone>(base: &mut Option<T>, over: &Option<T>) {
    if over.is_some() {
        base.clone_from(over);
    }
}

/// Merges `{key, value}` items by key; `over` wins.
fn merge_items(base: &mut Vec<MetadataItem>, over: &[MetadataItem]) {
    for item in over {
        match base.iter_mut().find(|b| b.key == item.key) {
            Some(existing) => existing.value = item.value.clone(),
            None => base.push(item.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(json: &str) -> OutputTable {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn mapping_defaults_do_not_override_the_manifest() {
        let manifest = OutputTableManifest::from_json(
            "m",
            r#"{"incremental": true, "delimiter": "\t", "primary_key": ["id"], "columns": ["id", "a"]}"#,
        )
        .unwrap();
        let merged = merge(
            Some(manifest),
            Some(&mapping(r#"{"destination": "in.c-a.b"}"#)),
        );
        assert_eq!(merged.incremental, Some(true));
        assert_eq!(merged.delimiter.as_deref(), Some("\t"));
        assert_eq!(merged.primary_key, Some(vec!["id".to_owned()]));
        assert_eq!(merged.columns, Some(vec!["id".to_owned(), "a".to_owned()]));
    }

    #[test]
    fn set_mapping_values_win() {
        let manifest = OutputTableManifest::from_json(
            "m",
            r#"{"columns": ["a", "b"], "metadata": [{"key": "k", "value": "manifest"}, {"key": "m", "value": 1}]}"#,
        )
        .unwrap();
        let merged = merge(
            Some(manifest),
            Some(&mapping(
                r#"{"destination": "in.c-a.b", "columns": ["Id", "Name"], "enclosure": "'", "write_always": true, "metadata": [{"key": "k", "value": "mapping"}]}"#,
            )),
        );
        assert_eq!(
            merged.columns,
            Some(vec!["Id".to_owned(), "Name".to_owned()])
        );
        assert_eq!(merged.enclosure.as_deref(), Some("'"));
        assert_eq!(merged.write_always, Some(true));
        let metadata = merged.metadata.unwrap();
        assert_eq!(metadata.len(), 2);
        assert_eq!(metadata[0].value, "mapping");
    }
}
