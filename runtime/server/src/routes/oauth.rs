//! OAuth credentials over HTTP (what `berth oauth` does, see [`berth_job::oauth`]):
//! `POST /oauth/credentials/{component}[?id=ID]` stores the JSON body (its `#` values encrypted)
//! and answers 201 `{component, id}`; `GET /oauth/credentials[/{component}]` lists ids (never
//! values); `DELETE /oauth/credentials/{component}/{id}` removes them (204). Changing needs a
//! token that may write and use the component; listing, any valid token.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use berth_job::oauth::{self, OauthError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

fn api_error(error: OauthError) -> ApiError {
    match error {
        OauthError::NotFound { .. } => ApiError::not_found(error.to_string()),
        e if e.is_user_error() => ApiError::bad_request(e.to_string()),
        e => ApiError::internal(e),
    }
}

/// The query of `POST /oauth/credentials/{component}`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AddQuery {
    /// The credentials' id (generated when absent).
    id: Option<String>,
}

/// `POST /oauth/credentials/{component}`.
#[utoipa::path(post, path = "/oauth/credentials/{component}", tag = "oauth",
    params(("component" = String, Path), AddQuery), request_body = Object,
    responses((status = 201, description = "`{component, id}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn add(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(component): Path<String>,
    Query(query): Query<AddQuery>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_write()?;
    caller.require_component(&component)?;
    let Json(credentials) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let home = state.home.clone();
    let for_answer = component.clone();
    let id = blocking(move || {
        oauth::add(&home, &component, query.id.as_deref(), credentials).map_err(api_error)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"component": for_answer, "id": id})),
    ))
}

/// `GET /oauth/credentials`.
#[utoipa::path(get, path = "/oauth/credentials", tag = "oauth",
    responses((status = 200, description = "Every component's credential ids (never values)", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list_all(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let home = state.home.clone();
    let entries = blocking(move || oauth::list(&home, None).map_err(api_error)).await?;
    Ok(Json(json!(entries)))
}

/// `GET /oauth/credentials/{component}`.
#[utoipa::path(get, path = "/oauth/credentials/{component}", tag = "oauth", params(("component" = String, Path)),
    responses((status = 200, description = "The component's credential ids (never values)", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(component): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let home = state.home.clone();
    let entries = blocking(move || oauth::list(&home, Some(&component)).map_err(api_error)).await?;
    Ok(Json(json!(entries)))
}

/// `DELETE /oauth/credentials/{component}/{id}`.
#[utoipa::path(delete, path = "/oauth/credentials/{component}/{id}", tag = "oauth",
    params(("component" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn remove(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((component, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    caller.require_component(&component)?;
    let home = state.home.clone();
    blocking(move || oauth::remove(&home, &component, &id).map_err(api_error)).await?;
    Ok(StatusCode::NO_CONTENT)
}
