//! Storage files over HTTP, the operations of `berth file`: `GET /files` (list, newest first;
//! `tag` repeatable, `query`, `limit`), `POST /files` (the content is the request body, streamed
//! to a temporary file in the home; `name`, `tag`, `public`, `permanent` in the query),
//! `GET /files/{id}` (metadata), `GET /files/{id}/download` (the content, streamed),
//! `POST /files/{id}/tags` (`{"tags": [...]}`, added as `berth file tag` does) and
//! `DELETE /files/{id}/tags/{tag}`. Any valid token may read; changes need a token that is not
//! read-only.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_storage::{FileFilter, FileId, FileUpload};
use serde::Deserialize;
use serde_json::{Value, json};

use super::stream::{UploadLimits, blocking_body, body_to_temp_file};
use super::tables::{QueryPairs, content_length, params};
use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

fn file_id(text: &str) -> Result<FileId, ApiError> {
    Ok(text.parse::<FileId>()?)
}

/// `GET /files`: as `berth file ls --json`.
#[utoipa::path(get, path = "/files", tag = "storage",
    params(("tag" = Option<Vec<String>>, Query), ("query" = Option<String>, Query), ("limit" = Option<u64>, Query)),
    responses((status = 200, description = "Files, as `berth file ls --json`", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    query: QueryPairs,
) -> Result<Json<Value>, ApiError> {
    let params = params(query)?;
    let filter = FileFilter {
        tags: params.all("tag"),
        query: params.get("query").map(str::to_owned),
        limit: params
            .number("limit")?
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        ..FileFilter::default()
    };
    let home = state.home.clone();
    let files = blocking(move || Ok(home.open_storage()?.list_files(&filter)?)).await?;
    Ok(Json(json!(files)))
}

/// `POST /files`: stores the body; 201 with the new file's metadata.
#[utoipa::path(post, path = "/files", tag = "storage",
    params(("name" = String, Query), ("tag" = Option<Vec<String>>, Query), ("public" = Option<bool>, Query), ("permanent" = Option<bool>, Query)),
    request_body(content = String, content_type = "application/octet-stream", description = "The content, streamed"),
    responses((status = 201, description = "The new file's metadata", body = Object), (status = 413, body = crate::error::ErrorBody), (status = 507, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: QueryPairs,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_write()?;
    let params = params(query)?;
    let Some(name) = params.get("name").filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "Name the file: the query parameter \"name\" is missing.",
        ));
    };
    let upload = FileUpload {
        name: Some(name.to_owned()),
        tags: params.all("tag"),
        is_public: params.flag("public")?,
        is_permanent: params.flag("permanent")?,
        ..FileUpload::default()
    };
    let limits = UploadLimits::of(&state.home)?;
    let content =
        body_to_temp_file(&state.home, body, content_length(&headers), limits, "file").await?;
    let home = state.home.clone();
    let file = blocking(move || {
        let mut storage = home.open_storage()?;
        let id = storage.upload_file(content.path(), &upload)?;
        drop(content);
        Ok(storage.file(id)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(file))))
}

/// `GET /files/{id}`: the file's metadata.
#[utoipa::path(get, path = "/files/{id}", tag = "storage", params(("id" = String, Path)),
    responses((status = 200, description = "The file's metadata", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = file_id(&id)?;
    let home = state.home.clone();
    let file = blocking(move || Ok(home.open_storage()?.file(id)?)).await?;
    Ok(Json(json!(file)))
}

/// `GET /files/{id}/download`: the content, streamed.
#[utoipa::path(get, path = "/files/{id}/download", tag = "storage", params(("id" = String, Path)),
    responses((status = 200, description = "The content, streamed", content_type = "application/octet-stream", body = String), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = file_id(&id)?;
    let home = state.home.clone();
    let size = {
        let home = home.clone();
        blocking(move || Ok(home.open_storage()?.file(id)?.size_bytes)).await?
    };
    let body = blocking_body(move |out| {
        home.open_storage()?.write_file(id, out)?;
        Ok(())
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        body,
    )
        .into_response())
}

/// The body of `POST /files/{id}/tags`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tags {
    tags: Vec<String>,
}

/// `POST /files/{id}/tags`: adds tags; answers the file's metadata.
#[utoipa::path(post, path = "/files/{id}/tags", tag = "storage", params(("id" = String, Path)), request_body = Object,
    responses((status = 200, description = "The file's metadata", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn add_tags(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<Tags>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require_write()?;
    let id = file_id(&id)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if body.tags.is_empty() {
        return Err(ApiError::bad_request("Give at least one tag (\"tags\")."));
    }
    let home = state.home.clone();
    let file = blocking(move || Ok(home.open_storage()?.add_tags(id, &body.tags)?)).await?;
    Ok(Json(json!(file)))
}

/// `DELETE /files/{id}/tags/{tag}`: removes a tag; answers the file's metadata.
#[utoipa::path(delete, path = "/files/{id}/tags/{tag}", tag = "storage", params(("id" = String, Path), ("tag" = String, Path)),
    responses((status = 200, description = "The file's metadata", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn remove_tag(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require_write()?;
    let id = file_id(&id)?;
    let home = state.home.clone();
    let file = blocking(move || Ok(home.open_storage()?.remove_tags(id, &[tag])?)).await?;
    Ok(Json(json!(file)))
}
