-- Table and column metadata (berth-storage's `tables` and `column_metadata` modules, on
-- PostgreSQL): Keboola's `{provider, key, value}` entries, removed with their table.
CREATE TABLE berth_table_metadata (
    table_id text NOT NULL REFERENCES berth_tables (id) ON DELETE CASCADE,
    provider text NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    updated timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (table_id, provider, key)
);
CREATE TABLE berth_column_metadata (
    table_id text NOT NULL REFERENCES berth_tables (id) ON DELETE CASCADE,
    column_name text NOT NULL,
    provider text NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    updated timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (table_id, column_name, provider, key)
);
