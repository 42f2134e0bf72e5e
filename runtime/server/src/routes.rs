//! The HTTP routes, one module per family, and the router that joins them.
//!
//! - [`jobs`]: Queue v2 (`/jobs`), job events, kill;
//! - [`legacy`]: the Docker Runner routes (`/{component}/run`, `/run/tag/{tag}`, actions);
//! - [`tokens`]: token management and `/v2/storage/tokens/verify`;
//! - [`encrypt`]: `POST /encrypt`;
//! - [`oauth`]: OAuth credentials (`/oauth/credentials/...`);
//! - [`meta`]: `/health` and `/metrics` (and `/openapi.json`, from [`crate::openapi`]);
//! - [`page`]: the jobs page (`/`, `/ui/...`);
//! - [`storage_api`]: components, configurations, rows and state in Keboola Storage API's shape
//!   (`/v2/storage/[branch/{branch}/]components/...`) and berth's own `/components`;
//! - [`tables`] and [`files`]: Storage tables and files, with streamed bodies ([`stream`]).

pub(crate) mod encrypt;
pub(crate) mod files;
pub(crate) mod jobs;
pub(crate) mod legacy;
pub(crate) mod meta;
pub(crate) mod oauth;
pub(crate) mod page;
mod params;
pub(crate) mod storage_api;
mod stream;
pub(crate) mod tables;
pub(crate) mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use tower_http::timeout::TimeoutLayer;

use crate::state::AppState;

/// The largest JSON body a route accepts.
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

/// Every route of the server.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/ui/jobs/{id}", get(page::job))
        .route("/ui/login", post(page::sign_in_form))
        .route("/ui/logout", post(page::sign_out))
        .route("/health", get(meta::health))
        .route("/metrics", get(meta::metrics))
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/jobs", post(jobs::create).get(jobs::list))
        .route("/jobs/{id}", get(jobs::show))
        .route("/jobs/{id}/kill", post(jobs::kill))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/v2/storage/tokens/verify", get(tokens::verify))
        .route("/run", post(legacy::run_without_component))
        .route("/{component}/run", post(legacy::run))
        .route("/{component}/run/tag/{tag}", post(legacy::run_with_tag))
        .route("/{component}/debug", post(legacy::debug))
        .route("/encrypt", post(encrypt::encrypt_route))
        .route("/oauth/credentials", get(oauth::list_all))
        .route(
            "/oauth/credentials/{component}",
            post(oauth::add).get(oauth::list),
        )
        .route(
            "/oauth/credentials/{component}/{id}",
            axum::routing::delete(oauth::remove),
        )
        .route("/{component}/action/{action}", post(legacy::action))
        .route("/actions", post(legacy::actions_api))
        .merge(storage_api::router())
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        // Synchronous actions answer within 30 s; nothing else should take longer to answer.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        // Tables and files stream their bodies: neither the JSON body limit nor the answer
        // timeout applies (a large table takes as long as it takes); the home's Storage limits
        // bound them instead.
        .merge(storage_routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// Storage tables and files.
fn storage_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/tables", get(tables::list))
        .route("/tables/{id}", get(tables::show).delete(tables::remove))
        .route("/tables/{id}/import", post(tables::import))
        .route("/tables/{id}/export", get(tables::export))
        .route("/files", get(files::list).post(files::upload))
        .route("/files/{id}", get(files::show))
        .route("/files/{id}/download", get(files::download))
        .route(
            "/files/{id}/tags",
            post(files::add_tags).layer(DefaultBodyLimit::max(MAX_JSON_BODY)),
        )
        .route("/files/{id}/tags/{tag}", delete(files::remove_tag))
}

async fn count_requests(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    state.metrics.request();
    next.run(request).await
}
