-- Storage tables (berth-storage's `tables` module, on PostgreSQL). The catalog keeps each
-- table's real column names; its rows live in `berth_data.<data_name>`: `_seq` (the insertion
-- order exports follow), `_timestamp` (microseconds since the epoch of the row's last change),
-- then one `text` column per table column, named c1, c2, … in the catalog's order. Positional
-- names because PostgreSQL truncates identifiers at 63 bytes, and Storage allows 64-character
-- column names (and table ids far longer).
CREATE SCHEMA berth_data;
CREATE SEQUENCE berth_table_names;
CREATE TABLE berth_tables (
    id text PRIMARY KEY,
    data_name text NOT NULL UNIQUE,
    columns text[] NOT NULL,
    primary_key text[] NOT NULL,
    created bigint NOT NULL,
    last_import bigint NOT NULL,
    last_change bigint NOT NULL
);
