//! Tokens over HTTP (admin tokens only): `GET /tokens`, `POST /tokens` (the secret is in the
//! answer, once), `DELETE /tokens/{id}`; and Keboola's `GET /v2/storage/tokens/verify`, which any
//! valid token may call about itself.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use berth_storage::{NewToken, Storage};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// `GET /tokens`.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let storage_dir = state.home.storage();
    let tokens = blocking(move || Ok(Storage::open(storage_dir)?.tokens()?)).await?;
    Ok(Json(json!(tokens)))
}

/// The body of `POST /tokens`.
#[derive(Debug, Deserialize)]
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
    let storage_dir = state.home.storage();
    let (token, secret) =
        blocking(move || Ok(Storage::open(storage_dir)?.create_token(&new)?)).await?;
    let mut answer = json!(token);
    answer["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /tokens/{id}`: 204.
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let storage_dir = state.home.storage();
    blocking(move || Ok(Storage::open(storage_dir)?.revoke_token(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/storage/tokens/verify`: the caller's token in Keboola's shape (`owner` is the
/// home's project).
pub(crate) async fn verify(State(state): State<Arc<AppState>>, caller: Caller) -> Json<Value> {
    let project = state
        .home
        .settings()
        .map(|s| s.project.id)
        .unwrap_or_else(|_| berth_exec::environment::DEFAULT_PROJECT_ID.to_owned());
    let token = caller.0;
    let expires = token.expires.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    Json(json!({
        "id": token.id,
        "description": token.description,
        "isMasterToken": token.admin,
        "canManageTokens": token.admin,
        "canReadAllFileUploads": !token.read_only,
        "isExpired": false,
        "expires": expires,
        "componentAccess": token.component_access,
        "admin": token.admin,
        "readOnly": token.read_only,
        "owner": {"id": project, "name": project},
    }))
}
