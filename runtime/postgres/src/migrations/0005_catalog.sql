-- The catalog (berth-storage's `components` and `configs` modules, on PostgreSQL): component
-- definitions, configurations, their rows and their state. Documents are `json`, not `jsonb`:
-- they come back exactly as written.
CREATE TABLE berth_components (
    id text PRIMARY KEY,
    definition json NOT NULL,
    updated timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE SEQUENCE berth_config_ids;
CREATE TABLE berth_configs (
    component_id text NOT NULL REFERENCES berth_components (id),
    id text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    configuration json NOT NULL,
    state json NOT NULL,
    created timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Incremented by every change, state included.
    version bigint NOT NULL,
    is_disabled boolean NOT NULL,
    PRIMARY KEY (component_id, id)
);
CREATE TABLE berth_config_rows (
    component_id text NOT NULL,
    config_id text NOT NULL,
    id text NOT NULL,
    -- Run order.
    position bigint NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    configuration json NOT NULL,
    is_disabled boolean NOT NULL,
    state json NOT NULL,
    PRIMARY KEY (component_id, config_id, id),
    FOREIGN KEY (component_id, config_id) REFERENCES berth_configs (component_id, id)
        ON DELETE CASCADE
);
