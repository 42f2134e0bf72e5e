//! `POST /encrypt` (reference §9.4): ciphers for the scope the query selects
//! (`componentId`, `projectId`, `configId`, `branchType`). `text/plain` encrypts the whole body;
//! `application/json` encrypts only the document's `#` scalars. There is no way back: no route
//! decrypts. Unlike Keboola's public encryption API, the call needs a valid token (any token: a
//! cipher reveals nothing, but an open endpoint on an edge box is an open endpoint).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_job::secrets::{EncryptInput, EncryptRequest, StoreError, encrypt};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// The query of `POST /encrypt`, in the reference's spelling.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct EncryptQuery {
    component_id: Option<String>,
    project_id: Option<String>,
    config_id: Option<String>,
    branch_type: Option<String>,
}

/// `POST /encrypt`.
#[utoipa::path(post, path = "/encrypt", tag = "runner", params(EncryptQuery),
    request_body(content((String = "text/plain"), (Object = "application/json"))),
    responses((status = 200, description = "The cipher (text) or the document with its `#` values encrypted (JSON)"), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn encrypt_route(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Query(query): Query<EncryptQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let input = match content_type.as_str() {
        "text/plain" => EncryptInput::Text(
            String::from_utf8(body.to_vec())
                .map_err(|_| ApiError::bad_request("The text to encrypt is not UTF-8."))?,
        ),
        "application/json" => EncryptInput::Json(
            serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("The request body is not JSON: {e}")))?,
        ),
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Unsupported content type \"{other}\": send text/plain (the whole text) or \
                     application/json (its \"#\" values)."
                ),
            ));
        }
    };
    let request = EncryptRequest {
        component_id: query.component_id.filter(|s| !s.is_empty()),
        project_id: query.project_id.filter(|s| !s.is_empty()),
        config_id: query.config_id.filter(|s| !s.is_empty()),
        branch_type: query.branch_type.filter(|s| !s.is_empty()),
    };
    let home = state.home.clone();
    let encrypted = blocking(move || Ok(encrypt(&home, &request, input))).await?;
    match encrypted {
        Ok(EncryptInput::Text(text)) => {
            Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
        }
        Ok(EncryptInput::Json(value)) => Ok(Json(value).into_response()),
        Err(error) => Err(store_error(error)),
    }
}

fn store_error(error: StoreError) -> ApiError {
    if error.is_user_error() {
        ApiError::bad_request(error.to_string())
    } else {
        ApiError::internal(error)
    }
}
