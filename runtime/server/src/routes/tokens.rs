//! Tokens over HTTP (admin tokens only): `GET /tokens`, `POST /tokens` (the secret is in the
//! answer, once), `DELETE /tokens/{id}`; and Keboola's `GET /v2/storage/tokens/verify`, which any
//! valid token may call about itself.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use berth_storage::NewToken;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// `GET /tokens`.
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let home = state.home.clone();
    let tokens = blocking(move || Ok(home.open_storage()?.tokens()?)).await?;
    Ok(Json(json!(tokens)))
}

/// The body of `POST /tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateToken {
    description: String,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    component_access: Option<Vec<String>>,
    /// Seconds until the token expires.
    #[serde(default)]
    expires_in: Option<u64>,
}

/// `POST /tokens`: 201 with the token and its `secret`.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, description = "The token with its `secret` (shown once)", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Json<CreateToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_admin()?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let new = NewToken {
        description: body.description,
        admin: body.admin,
        read_only: body.read_only,
        component_access: body.component_access,
        expires: body.expires_in.map(|s| {
            time::OffsetDateTime::now_utc()
                + time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2))
        }),
        job_id: None,
    };
    let home = state.home.clone();
    let (token, secret) = blocking(move || Ok(home.open_storage()?.create_token(&new)?)).await?;
    let mut answer = json!(token);
    answer["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /tokens/{id}`: 204.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let home = state.home.clone();
    blocking(move || Ok(home.open_storage()?.revoke_token(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/storage/tokens/verify`: the caller's token in Keboola's shape, with the `owner`
/// (the home's project: `id`, `name`, `defaultBackend`, the default branch) that Keboola's
/// clients read.
#[utoipa::path(get, path = "/v2/storage/tokens/verify", tag = "storage-api",
    responses((status = 200, description = "The caller's token in the Storage API's shape, with `owner`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn verify(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let token = caller.0;
    let expires = token.expires.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    let project = state
        .home
        .settings()
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?
        .project;
    // Keboola's project ids are numbers; berth's is text (default "1").
    let project_id = project
        .id
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(project.id.clone()));
    let component_access = token.component_access.clone();
    Ok(Json(json!({
        "id": token.id,
        "description": token.description,
        "isMasterToken": token.admin,
        "canManageBuckets": !token.read_only,
        "canManageTokens": token.admin,
        "canReadAllFileUploads": !token.read_only,
        "canPurgeTrash": token.admin,
        "isExpired": false,
        "isDisabled": false,
        "expires": expires,
        "componentAccess": component_access,
        "bucketPermissions": {},
        "admin": token.admin,
        "readOnly": token.read_only,
        "owner": {
            "id": project_id,
            "name": format!("berth project {}", project.id),
            "type": "production",
            "region": project.stack_id,
            "defaultBackend": "duckdb",
            "hasSynapse": false,
            "hasSnowflake": false,
            "features": [],
            "defaultBranchId": crate::routes::storage_api::DEFAULT_BRANCH_ID,
        },
    })))
}
