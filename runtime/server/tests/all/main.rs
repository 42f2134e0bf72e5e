//! berth-server's one integration-test binary: a real server per test on 127.0.0.1, real jobs
//! through real WASI components (and containers), over real HTTP.

// A server per test, an HTTP client, waiting for jobs.
mod support;
// Tokens: every route but /health needs one; read-only, component-limited, revoked, expired.
mod auth;
// Queue v2: queue, run, list, show, events, kill; one configuration at a time, in order.
mod jobs;
// The Docker Runner routes and synchronous actions, with the reference's error texts.
mod legacy;
// Health, metrics and token management.
mod meta;
// POST /encrypt and POST /{component}/debug.
mod secrets;
// KBC_TOKEN and KBC_URL for components with forward_token.
mod forward_token;
// The jobs page, in a headless chromium.
mod page;
// Keboola Storage API's shape for configurations, rows and state; berth's /components.
mod storage_api;
// Keboola's own Python client (kbcstorage from PyPI) against berth.
mod kbcstorage_client;
// GET /openapi.json: OpenAPI 3, every registered route in it.
mod openapi;
// Storage tables and files, streamed.
mod storage;
