//! The load options of one output table derived from its merged configuration: the
//! `_timestamp` check (§3.2), `delete_where` filters (§3.4), table metadata (§3.7) and column
//! metadata (`column_metadata`, and a `schema`'s types, descriptions and metadata).

use std::collections::BTreeMap;

use berth_host_api::Operator;
use berth_host_api::config::DeleteWhere;
use berth_host_api::manifest::OutputTableManifest;
use time::OffsetDateTime;

use crate::webalize::{is_timestamp, webalize};
use crate::{JobIds, Stage, StagingError, parse_changed_since, scalar_text};
use berth_storage::{ColumnMetadata, DeleteFilter, WhereFilter, WhereOperator};

/// `_timestamp` in columns, column metadata or schema (§3.2).
pub(super) fn reject_timestamp(
    name: &str,
    merged: &OutputTableManifest,
) -> Result<(), StagingError> {
    let mut names: Vec<&str> = Vec::new();
    names.extend(merged.columns.iter().flatten().map(String::as_str));
    names.extend(
        merged
            .column_metadata
            .iter()
            .flat_map(|m| m.keys())
            .map(String::as_str),
    );
    names.extend(merged.schema.iter().flatten().map(|c| c.name.as_str()));
    if names.into_iter().any(is_timestamp) {
        return Err(StagingError::user(
            Stage::OutputMapping,
            name,
            format!(
                "Failed to process mapping for table {name}: System columns \"_timestamp\" cannot be imported to the table."
            ),
        ));
    }
    Ok(())
}

/// The legacy `delete_where_*` filter and the `delete_where[]` rules as Storage filters.
pub(super) fn delete_filters(
    name: &str,
    merged: &OutputTableManifest,
    now: OffsetDateTime,
) -> Result<Vec<DeleteFilter>, StagingError> {
    let op = |o: Operator| match o {
        Operator::Eq => WhereOperator::Eq,
        Operator::Ne => WhereOperator::Ne,
    };
    let user = |m: String| StagingError::user(Stage::OutputMapping, name, m);
    let mut filters = Vec::new();
    if let Some(column) = &merged.delete_where_column {
        filters.push(DeleteFilter {
            changed_since: None,
            changed_until: None,
            where_filters: vec![WhereFilter {
                column: webalize(column),
                operator: op(merged.delete_where_operator.unwrap_or_default()),
                values: merged
                    .delete_where_values
                    .iter()
                    .flatten()
                    .map(scalar_text)
                    .collect(),
            }],
        });
    }
    let time = |t: &Option<String>| -> Result<Option<OffsetDateTime>, StagingError> {
        match t {
            None => Ok(None),
            Some(text) => parse_changed_since(text, now).map(Some).ok_or_else(|| {
                user(format!(
                    "Invalid time \"{text}\" in delete_where of table {name}."
                ))
            }),
        }
    };
    for DeleteWhere {
        changed_since,
        changed_until,
        where_filters,
    } in merged.delete_where.iter().flatten()
    {
        let mut rule = DeleteFilter {
            changed_since: time(changed_since)?,
            changed_until: time(changed_until)?,
            where_filters: Vec::new(),
        };
        for f in where_filters {
            let Some(values) = &f.values_from_set else {
                return Err(user(format!(
                    "Cannot delete rows from table of {name}: only \"values_from_set\" is supported by berth's embedded Storage."
                )));
            };
            rule.where_filters.push(WhereFilter {
                column: webalize(&f.column),
                operator: op(f.operator),
                values: values.iter().map(scalar_text).collect(),
            });
        }
        filters.push(rule);
    }
    Ok(filters)
}

pub(super) type Entries = Vec<(String, String, String)>;

/// The table metadata of a load: the component's (`metadata`, `description`, `table_metadata`)
/// and the system's `KBC.lastUpdatedBy.*`; plus `KBC.createdBy.*` for a new table.
pub(super) fn metadata(merged: &OutputTableManifest, ids: &JobIds) -> (Entries, Entries) {
    let component = ids.component_id.clone();
    let mut entries: Entries = Vec::new();
    let mut user: BTreeMap<String, String> = BTreeMap::new();
    for item in merged.metadata.iter().flatten() {
        user.insert(item.key.clone(), scalar_text(&item.value));
    }
    if let Some(description) = &merged.description {
        user.insert("KBC.description".to_owned(), description.clone());
    }
    for (key, value) in merged.table_metadata.iter().flatten() {
        user.insert(key.clone(), scalar_text(value));
    }
    entries.extend(user.into_iter().map(|(k, v)| (component.clone(), k, v)));
    let system = |prefix: &str| -> Entries {
        let mut out = vec![(
            "system".to_owned(),
            format!("{prefix}.component.id"),
            ids.component_id.clone(),
        )];
        if let Some(config) = &ids.config_id {
            out.push((
                "system".to_owned(),
                format!("{prefix}.configuration.id"),
                config.clone(),
            ));
        }
        if let Some(row) = &ids.row_id {
            out.push((
                "system".to_owned(),
                format!("{prefix}.configurationRow.id"),
                row.clone(),
            ));
        }
        out
    };
    entries.extend(system("KBC.lastUpdatedBy"));
    (entries, system("KBC.createdBy"))
}

/// The column metadata of a load, set by the component (provider = its id), under the webalized
/// column names: `column_metadata` entries, and for each `schema[]` column its native type as
/// Keboola's `KBC.datatype.basetype` / `.length` / `.default` / `.nullable` (`"1"` or `""`, as
/// Keboola writes a boolean), its `description` as `KBC.description` and its `metadata`.
pub(super) fn column_metadata(merged: &OutputTableManifest, ids: &JobIds) -> Vec<ColumnMetadata> {
    let mut entries: BTreeMap<(String, String), String> = BTreeMap::new();
    for (column, items) in merged.column_metadata.iter().flatten() {
        for item in items {
            entries.insert(
                (webalize(column), item.key.clone()),
                scalar_text(&item.value),
            );
        }
    }
    for column in merged.schema.iter().flatten() {
        let name = webalize(&column.name);
        let mut set = |key: &str, value: String| {
            entries.insert((name.clone(), key.to_owned()), value);
        };
        if let Some(base) = column.data_type.as_ref().and_then(|t| t.base.as_ref()) {
            set("KBC.datatype.basetype", base.type_name.clone());
            if let Some(length) = &base.length {
                set("KBC.datatype.length", scalar_text(length));
            }
            if let Some(default) = &base.default {
                set("KBC.datatype.default", scalar_text(default));
            }
            let nullable = if column.nullable { "1" } else { "" };
            set("KBC.datatype.nullable", nullable.to_owned());
        }
        if let Some(description) = &column.description {
            set("KBC.description", description.clone());
        }
        for (key, value) in column.metadata.iter().flatten() {
            set(key, scalar_text(value));
        }
    }
    entries
        .into_iter()
        .map(|((column, key), value)| ColumnMetadata {
            column,
            provider: ids.component_id.clone(),
            key,
            value,
        })
        .collect()
}
