//! berth-job's one integration-test binary; each module owns one area.

// Whole jobs: a table through a component and back, config.json, environment, records, errors.
mod job_run;
// State kept, cleared or untouched; usage recorded and strictly validated.
mod job_state;
// Input mapping: every input-table key, adaptive loads, file selection and processed tags.
mod staging_input;
// Output table mapping: manifests, precedence, destinations, sliced/headless/gzip, write_always.
mod staging_output_tables;
// Column metadata and native types through a chain of components.
mod column_metadata;
// configuration_format yaml: config.yml, YAML state, usage and manifests.
mod yaml_format;
// Component definition fields in jobs: configurationSchema, data types, config version.
mod component_definitions;
// Output scope: only the mapping's tables and the default bucket (seeds 001/002).
mod output_scope;
// Output file mapping: mapping or manifest properties, system tags, missing and orphaned files.
mod staging_output_files;
// Secrets: scopes through the home's keys, round trips through jobs, redaction and debug mode.
mod secrets_jobs;
mod secrets_redaction;
mod secrets_scopes;
// Python components: WASI/Docker parity of the Python example, the sandbox from Python.
mod python;
// Processors before and after the main component, on WASI and on Docker.
mod processors;
// Variables and shared code: value sources, error texts, rendering, splicing.
mod variables;
// Rows run or skipped, config with configData, the image tag's precedence.
mod rows_and_tags;
// OAuth credentials: stored encrypted, injected by id, hidden, narrowed to what the reference passes.
mod oauth;
// The queue (submit, claim, kill, recovery) through `&mut dyn JobQueue`, on DuckDB and PostgreSQL.
mod queue_backends;
