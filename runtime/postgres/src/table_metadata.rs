//! Table and column metadata on PostgreSQL (`berth_table_metadata`, `berth_column_metadata`):
//! the embedded Storage's rules (`berth-storage`'s [`check_metadata`], [`check_column_metadata`],
//! [`columns_to_add`]), stored here. Column metadata naming a column the table lacks adds it,
//! empty in every row, as Keboola's output mapping does.

use postgres::GenericClient;

use berth_storage::{
    ColumnMetadata, ColumnMetadataMap, MetadataEntry, TableId, check_column_metadata,
    check_metadata, column_named, columns_to_add, validate_column_list,
};

use crate::tables::{Entry, add_column, lock_table, require_entry, write_entry};
use crate::{PgError, PgStorage};

/// Sets `entries` of `provider` on table `id` inside the caller's transaction.
pub(crate) fn write_metadata(
    client: &mut impl GenericClient,
    id: &TableId,
    provider: &str,
    entries: &[(String, String)],
) -> Result<(), PgError> {
    for (key, value) in entries {
        client
            .execute(
                "INSERT INTO berth_table_metadata (table_id, provider, key, value) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (table_id, provider, key) DO UPDATE SET value = EXCLUDED.value, \
                   updated = clock_timestamp()",
                &[&id.to_string(), &provider, key, value],
            )
            .map_err(PgError::db("writing table metadata", id))?;
    }
    Ok(())
}

/// Sets column metadata inside the caller's transaction, adding the columns the table lacks;
/// returns the table's entry as it is now.
pub(crate) fn write_column_metadata(
    client: &mut impl GenericClient,
    id: &TableId,
    mut entry: Entry,
    entries: &[ColumnMetadata],
) -> Result<Entry, PgError> {
    if entries.is_empty() {
        return Ok(entry);
    }
    check_column_metadata(id, entries)?;
    let added = columns_to_add(&entry.columns, entries);
    if !added.is_empty() {
        validate_column_list(id, &added)?;
        for column in added {
            add_column(client, id, &entry, entry.columns.len())?;
            entry.columns.push(column);
        }
        write_entry(client, id, &entry)?;
    }
    for item in entries {
        let column = column_named(&entry.columns, &item.column);
        client
            .execute(
                "INSERT INTO berth_column_metadata (table_id, column_name, provider, key, value) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (table_id, column_name, provider, key) DO UPDATE \
                   SET value = EXCLUDED.value, updated = clock_timestamp()",
                &[
                    &id.to_string(),
                    &column,
                    &item.provider,
                    &item.key,
                    &item.value,
                ],
            )
            .map_err(PgError::db("writing column metadata", id))?;
    }
    Ok(entry)
}

/// Table `id`'s metadata, ordered by provider and key (byte by byte).
pub(crate) fn read_metadata(
    client: &mut impl GenericClient,
    id: &TableId,
) -> Result<Vec<MetadataEntry>, PgError> {
    Ok(client
        .query(
            "SELECT provider, key, value, updated FROM berth_table_metadata WHERE table_id = $1 \
             ORDER BY provider COLLATE \"C\", key COLLATE \"C\"",
            &[&id.to_string()],
        )
        .map_err(PgError::db("reading table metadata", id))?
        .iter()
        .map(|row| MetadataEntry {
            provider: row.get(0),
            key: row.get(1),
            value: row.get(2),
            updated: row.get(3),
        })
        .collect())
}

/// Table `id`'s column metadata by column, each column's entries ordered by provider and key.
pub(crate) fn read_column_metadata(
    client: &mut impl GenericClient,
    id: &TableId,
) -> Result<ColumnMetadataMap, PgError> {
    let rows = client
        .query(
            "SELECT column_name, provider, key, value, updated FROM berth_column_metadata \
             WHERE table_id = $1 \
             ORDER BY column_name COLLATE \"C\", provider COLLATE \"C\", key COLLATE \"C\"",
            &[&id.to_string()],
        )
        .map_err(PgError::db("reading column metadata", id))?;
    let mut map = ColumnMetadataMap::new();
    for row in &rows {
        map.entry(row.get(0)).or_default().push(MetadataEntry {
            provider: row.get(1),
            key: row.get(2),
            value: row.get(3),
            updated: row.get(4),
        });
    }
    Ok(map)
}

impl PgStorage {
    /// Sets (inserts or replaces) metadata entries of one provider on a table.
    pub fn set_table_metadata(
        &mut self,
        id: &TableId,
        provider: &str,
        entries: &[(String, String)],
    ) -> Result<(), PgError> {
        check_metadata(id, provider, entries)?;
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        require_entry(&mut tx, id)?;
        write_metadata(&mut tx, id, provider, entries)?;
        tx.commit().map_err(PgError::db("committing", id))
    }

    /// A table's metadata, ordered by provider and key.
    pub fn table_metadata(&self, id: &TableId) -> Result<Vec<MetadataEntry>, PgError> {
        let mut client = self.client();
        require_entry(&mut *client, id)?;
        read_metadata(&mut *client, id)
    }

    /// Sets column metadata on a table in one transaction; a column the table lacks is added,
    /// empty in every row.
    pub fn set_column_metadata(
        &mut self,
        id: &TableId,
        entries: &[ColumnMetadata],
    ) -> Result<(), PgError> {
        let mut client = self.client();
        let mut tx = client
            .transaction()
            .map_err(PgError::db("starting a transaction", id))?;
        lock_table(&mut tx, id)?;
        let entry = require_entry(&mut tx, id)?;
        write_column_metadata(&mut tx, id, entry, entries)?;
        tx.commit().map_err(PgError::db("committing", id))
    }

    /// A table's column metadata by column name.
    pub fn column_metadata(&self, id: &TableId) -> Result<ColumnMetadataMap, PgError> {
        let mut client = self.client();
        require_entry(&mut *client, id)?;
        read_column_metadata(&mut *client, id)
    }
}
