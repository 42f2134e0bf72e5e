-- The job queue and job events (berth-storage's `jobs` module, on PostgreSQL), plus what several
-- nodes need: which node runs a job and when it last said so.
CREATE TABLE berth_jobs (
    id text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    component_id text NOT NULL,
    config_id text,
    status text NOT NULL CHECK (status IN ('created', 'waiting', 'processing', 'success',
        'error', 'warning', 'terminating', 'cancelled', 'terminated')),
    created timestamptz NOT NULL,
    started timestamptz,
    finished timestamptz,
    token_id text,
    -- `json`, not `jsonb`: the documents come back exactly as written (key order included).
    request json NOT NULL,
    record json NOT NULL,
    node_id text,
    heartbeat timestamptz
);
CREATE INDEX berth_jobs_waiting ON berth_jobs (seq) WHERE status = 'waiting';
-- The claim rule's two look-ups per candidate (does the configuration run a job; has it an older
-- waiting one) read only open jobs, however long the history of finished ones grows.
CREATE INDEX berth_jobs_running_by_config ON berth_jobs (component_id, config_id)
    WHERE status IN ('processing', 'terminating');
CREATE INDEX berth_jobs_waiting_by_config ON berth_jobs (component_id, config_id, seq)
    WHERE status = 'waiting';
CREATE INDEX berth_jobs_running ON berth_jobs (heartbeat)
    WHERE status IN ('processing', 'terminating');
CREATE INDEX berth_jobs_by_component ON berth_jobs (component_id, config_id);

CREATE TABLE berth_job_events (
    job_id text NOT NULL,
    seq bigint NOT NULL,
    time timestamptz NOT NULL,
    level text NOT NULL,
    message text NOT NULL,
    PRIMARY KEY (job_id, seq)
);
