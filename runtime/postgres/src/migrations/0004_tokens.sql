-- API tokens (berth-storage's `tokens` module, on PostgreSQL): only each secret's SHA-256 is
-- kept. Times are the database server's, so every node judges expiry by the same clock.
CREATE SEQUENCE berth_token_ids;
CREATE TABLE berth_tokens (
    id text PRIMARY KEY,
    seq bigint NOT NULL UNIQUE,
    hash text NOT NULL UNIQUE,
    description text NOT NULL,
    is_admin boolean NOT NULL,
    read_only boolean NOT NULL,
    -- NULL: every component; an empty list: none.
    component_access text[],
    created timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires timestamptz,
    revoked timestamptz,
    job_id text
);
CREATE INDEX berth_tokens_by_job ON berth_tokens (job_id) WHERE job_id IS NOT NULL;
