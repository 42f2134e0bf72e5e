//! Storage tables over HTTP, the operations of `berth table`: `GET /tables` (list),
//! `GET /tables/{id}` (describe), `DELETE /tables/{id}`, `POST /tables/{id}/import` (the CSV is
//! the request body, streamed to a temporary file in the home, then imported) and
//! `GET /tables/{id}/export` (the CSV answer streamed from Storage's export). The options are the
//! CLI's, in camelCase query parameters. Any valid token may read; changes need a token that is
//! not read-only.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_storage::{
    CsvDialect, DeleteFilter, ExportOptions, ImportOptions, TableId, WhereFilter, WhereOperator,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::params::Params;
use super::stream::{UploadLimits, blocking_body, body_to_temp_file};
use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// A query string read as pairs (keys may repeat).
pub(crate) type QueryPairs =
    Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// The query's pairs, or a 400 saying why they cannot be read.
pub(crate) fn params(query: QueryPairs) -> Result<Params, ApiError> {
    let Query(pairs) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Params(pairs))
}

fn table_id(text: &str) -> Result<TableId, ApiError> {
    Ok(TableId::parse(text)?)
}

fn operator(params: &Params, key: &str) -> Result<WhereOperator, ApiError> {
    params
        .get(key)
        .unwrap_or("eq")
        .parse()
        .map_err(|message: String| ApiError::bad_request(format!("{key}: {message}")))
}

/// `GET /tables`: every table, as `berth table ls --json`.
#[utoipa::path(get, path = "/tables", tag = "storage",
    responses((status = 200, description = "Every table, as `berth table ls --json`", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let home = state.home.clone();
    let tables = blocking(move || Ok(home.open_storage()?.list_tables()?)).await?;
    Ok(Json(json!(tables)))
}

/// `GET /tables/{id}`: one table, as `berth table show --json`.
#[utoipa::path(get, path = "/tables/{id}", tag = "storage", params(("id" = String, Path, description = "Table id, e.g. `in.c-main.orders`")),
    responses((status = 200, description = "The table, as `berth table show --json`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = table_id(&id)?;
    let home = state.home.clone();
    let table = blocking(move || Ok(home.open_storage()?.table(&id)?)).await?;
    Ok(Json(json!(table)))
}

/// `DELETE /tables/{id}`: 204.
#[utoipa::path(delete, path = "/tables/{id}", tag = "storage", params(("id" = String, Path)),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn remove(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let id = table_id(&id)?;
    let home = state.home.clone();
    blocking(move || Ok(home.open_storage()?.remove_table(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The import options in the query: `incremental`, `primaryKey`, `delimiter`, `enclosure`,
/// `columns` (a headless file's columns), `deleteWhereColumn`, `deleteWhereValues`,
/// `deleteWhereOperator`.
fn import_options(params: &Params, limits: &UploadLimits) -> Result<ImportOptions, ApiError> {
    let dialect = CsvDialect::from_strs(
        params.get("delimiter").unwrap_or(","),
        params.get("enclosure").unwrap_or("\""),
    )
    .map_err(ApiError::bad_request)?;
    let values = params.all("deleteWhereValues");
    let mut delete_where = Vec::new();
    if let Some(column) = params.get("deleteWhereColumn") {
        delete_where.push(DeleteFilter {
            where_filters: vec![WhereFilter {
                column: column.to_owned(),
                operator: operator(params, "deleteWhereOperator")?,
                values,
            }],
            ..DeleteFilter::default()
        });
    } else if !values.is_empty() {
        return Err(ApiError::bad_request(
            "deleteWhereValues needs deleteWhereColumn.",
        ));
    }
    Ok(ImportOptions {
        incremental: params.flag("incremental")?,
        primary_key: params.names("primaryKey"),
        dialect,
        columns: params.names("columns"),
        delete_where,
        max_field_bytes: Some(limits.csv_field_bytes),
    })
}

/// The request's declared body length.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// `POST /tables/{id}/import`: the body is the CSV; answers the import report (201 when the
/// import created the table, else 200), as `berth table import --json`.
#[utoipa::path(post, path = "/tables/{id}/import", tag = "storage",
    params(("id" = String, Path), ("incremental" = Option<bool>, Query), ("primaryKey" = Option<String>, Query), ("delimiter" = Option<String>, Query), ("enclosure" = Option<String>, Query), ("columns" = Option<String>, Query), ("deleteWhereColumn" = Option<String>, Query), ("deleteWhereValues" = Option<Vec<String>>, Query), ("deleteWhereOperator" = Option<String>, Query)),
    request_body(content = String, content_type = "text/csv", description = "The CSV, streamed"),
    responses((status = 200, description = "The import report", body = Object), (status = 201, description = "The import report (table created)", body = Object), (status = 413, body = crate::error::ErrorBody), (status = 507, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn import(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryPairs,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_write()?;
    let id = table_id(&id)?;
    let params = params(query)?;
    let limits = UploadLimits::of(&state.home)?;
    let options = import_options(&params, &limits)?;
    let csv = body_to_temp_file(&state.home, body, content_length(&headers), limits, "CSV").await?;
    let home = state.home.clone();
    let report = blocking(move || {
        let report = home.open_storage()?.import_csv(&id, csv.path(), &options)?;
        drop(csv);
        Ok(report)
    })
    .await?;
    let status = if report.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!(report))))
}

/// The export options in the query: `columns`, `whereColumn`, `whereValues`, `whereOperator`,
/// `limit`, `changedSince` (RFC 3339).
fn export_options(params: &Params) -> Result<ExportOptions, ApiError> {
    let changed_since = params
        .get("changedSince")
        .map(|text| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|err| {
                ApiError::bad_request(format!(
                    "changedSince \"{text}\" is not an RFC 3339 time: {err}"
                ))
            })
        })
        .transpose()?;
    Ok(ExportOptions {
        columns: params.names("columns"),
        where_column: params.get("whereColumn").map(str::to_owned),
        where_operator: operator(params, "whereOperator")?,
        where_values: params.all("whereValues"),
        changed_since,
        changed_until: None,
        limit: params.number("limit")?,
    })
}

/// `GET /tables/{id}/export`: the table as CSV (every value quoted), streamed.
#[utoipa::path(get, path = "/tables/{id}/export", tag = "storage",
    params(("id" = String, Path), ("columns" = Option<String>, Query), ("whereColumn" = Option<String>, Query), ("whereValues" = Option<Vec<String>>, Query), ("whereOperator" = Option<String>, Query), ("limit" = Option<u64>, Query), ("changedSince" = Option<String>, Query)),
    responses((status = 200, description = "The table as CSV, streamed", content_type = "text/csv", body = String), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn export(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let id = table_id(&id)?;
    let options = export_options(&params(query)?)?;
    let home = state.home.clone();
    let body = blocking_body(move |out| {
        home.open_storage()?.export_csv(&id, out, &options)?;
        Ok(())
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}
