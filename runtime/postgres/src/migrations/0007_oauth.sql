-- OAuth credentials (berth-job's `oauth` module) on Storage several nodes share: one document per
-- component and id, its `#` values already encrypted by the node that stored it. On the embedded
-- Storage they are files of the home; here every node reads the same ones.
CREATE TABLE berth_oauth_credentials (
    component_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    credentials json NOT NULL,
    created timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (component_id, id)
);
