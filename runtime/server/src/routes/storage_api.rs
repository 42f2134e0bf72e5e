//! Components, configurations, rows and state in Keboola Storage API's own shape, so that
//! Keboola's clients (the `kbcstorage` Python client, for one) manage configurations on berth
//! unchanged:
//!
//! - `GET /v2/storage/[branch/{branch}/]components` (`?include=configuration,rows,state`);
//! - `GET|POST …/components/{component}/configs`, `GET|PUT|DELETE …/configs/{id}`;
//! - `GET|POST …/configs/{id}/rows`, `GET|PUT|DELETE …/configs/{id}/rows/{row}`;
//! - `PUT …/configs/{id}/state`;
//! - `GET /v2/storage/dev-branches` (the one, default branch);
//! - berth's own component definitions: `GET|POST /components`, `GET|PUT|DELETE
//!   /components/{id}` (writes need an admin token).
//!
//! Bodies are JSON or `application/x-www-form-urlencoded` (there `configuration` and `state` are
//! JSON strings, as the Storage API takes them); both become one [`ConfigurationBody`]. Every
//! write goes through `berth_job::secrets` (the `#` values encrypted as the CLI stores them) and
//! Storage's one model of configurations. berth has only the default branch: `branch/default`
//! and `branch/1` ([`DEFAULT_BRANCH_ID`]) name it, any other branch is a 404 saying so.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use berth_storage::{
    ComponentDefinition, Config, ConfigRow, ConfigUpdate, NewConfig, NewConfigRow, RowUpdate,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// The id berth reports for its one (default) branch; `branch/default` names it too.
pub(crate) const DEFAULT_BRANCH_ID: u64 = 1;

/// The fields a configuration or row body may carry (JSON or form-encoded).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConfigurationBody {
    /// Name.
    name: Option<String>,
    /// Description.
    description: Option<String>,
    /// The configuration document (a JSON object; a JSON string in a form).
    #[schema(value_type = Option<Object>)]
    configuration: Option<Value>,
    /// The state document (`{"component": {...}, "storage": {...}}`; a JSON string in a form).
    #[schema(value_type = Option<Object>)]
    state: Option<Value>,
    /// The id of a new configuration (generated when absent).
    configuration_id: Option<String>,
    /// The id of a new row (generated when absent).
    row_id: Option<String>,
    /// Disable or enable the configuration or row.
    is_disabled: Option<bool>,
    /// Accepted and echoed; berth keeps no version history to attach it to.
    change_description: Option<String>,
}

/// A configuration in the Storage API's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiConfiguration {
    id: String,
    name: String,
    description: String,
    /// ISO 8601, as the Storage API writes it (`2026-01-31T12:00:00+0000`).
    created: String,
    version: u64,
    change_description: String,
    is_deleted: bool,
    is_disabled: bool,
    /// Absent from `GET /v2/storage/components` unless `include` names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    configuration: Option<Value>,
    /// Row ids in run order.
    rows_sort_order: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<Vec<ApiRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    state: Option<Value>,
}

/// A configuration row in the Storage API's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiRow {
    id: String,
    name: String,
    description: String,
    /// The configuration's version (berth versions rows with their configuration).
    version: u64,
    created: String,
    change_description: String,
    is_disabled: bool,
    #[schema(value_type = Object)]
    configuration: Value,
    #[schema(value_type = Object)]
    state: Value,
}

/// A component with its configurations (`GET /v2/storage/components`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiComponent {
    id: String,
    /// berth does not type components; always `other`.
    r#type: String,
    name: String,
    description: String,
    configurations: Vec<ApiConfiguration>,
}

/// `?include=configuration,rows,state` of `GET /v2/storage/components`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub(crate) struct IncludeQuery {
    /// Comma-separated: `configuration`, `rows`, `state`.
    include: Option<String>,
}

/// `?force=true` of `DELETE /components/{id}`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub(crate) struct ForceQuery {
    /// Also delete the component's configurations.
    #[serde(default)]
    force: bool,
}

fn keboola_time(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
    );
    t.format(&format).unwrap_or_default()
}

fn row_json(config: &Config, row: &ConfigRow) -> ApiRow {
    ApiRow {
        id: row.id.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        version: config.version,
        created: keboola_time(config.created),
        change_description: String::new(),
        is_disabled: row.is_disabled,
        configuration: row.configuration.clone(),
        state: serde_json::to_value(&row.state).unwrap_or_default(),
    }
}

/// What of a configuration an answer carries.
#[derive(Debug, Clone, Copy)]
struct Include {
    configuration: bool,
    rows: bool,
    state: bool,
}

impl Include {
    const ALL: Self = Self {
        configuration: true,
        rows: true,
        state: true,
    };
}

fn config_json(config: &Config, include: Include, change_description: &str) -> ApiConfiguration {
    ApiConfiguration {
        id: config.id.clone(),
        name: config.name.clone(),
        description: config.description.clone(),
        created: keboola_time(config.created),
        version: config.version,
        change_description: change_description.to_owned(),
        is_deleted: false,
        is_disabled: config.is_disabled,
        configuration: include.configuration.then(|| config.configuration.clone()),
        rows_sort_order: config.rows.iter().map(|r| r.id.clone()).collect(),
        rows: include
            .rows
            .then(|| config.rows.iter().map(|r| row_json(config, r)).collect()),
        state: include
            .state
            .then(|| serde_json::to_value(&config.state).unwrap_or_default()),
    }
}

/// Refuses every branch but the default one.
fn check_branch(params: &HashMap<String, String>) -> Result<(), ApiError> {
    match params.get("branch").map(String::as_str) {
        None | Some("default") => Ok(()),
        Some(id) if id == DEFAULT_BRANCH_ID.to_string() => Ok(()),
        Some(other) => Err(ApiError::not_found(format!(
            "Branch \"{other}\" not found: berth has only the default branch (\"default\", id {DEFAULT_BRANCH_ID})."
        ))),
    }
}

/// A path parameter the route always has.
fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or_default()
}

/// `isDisabled` as clients send it: a boolean, or in a form `true`/`false`/`1`/`0`.
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().filter(|n| *n <= 1).map(|n| n == 1),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The body of a configuration or row request, JSON or form-encoded, with the Storage API's
/// encodings undone: `configuration`/`state` given as JSON strings are parsed, `isDisabled`
/// strings read as booleans, numeric ids read as text.
pub(crate) fn read_body(headers: &HeaderMap, body: &[u8]) -> Result<ConfigurationBody, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut fields: Map<String, Value> = if content_type
        .starts_with("application/x-www-form-urlencoded")
    {
        form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect()
    } else if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else if content_type.is_empty() || content_type.starts_with("application/json") {
        match serde_json::from_slice(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(ApiError::bad_request(
                    "The request body must be a JSON object.",
                ));
            }
            Err(err) => {
                return Err(ApiError::bad_request(format!(
                    "The request body is not valid JSON: {err}"
                )));
            }
        }
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Unsupported content type \"{content_type}\": send application/json or application/x-www-form-urlencoded."
            ),
        ));
    };
    for key in ["configuration", "state"] {
        if let Some(Value::String(text)) = fields.get(key) {
            let parsed: Value = if text.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                serde_json::from_str(text).map_err(|err| {
                    ApiError::bad_request(format!("\"{key}\" is not valid JSON: {err}"))
                })?
            };
            fields.insert(key.to_owned(), parsed);
        }
    }
    for key in ["configuration", "state"] {
        if let Some(value) = fields.get(key)
            && !value.is_object()
        {
            return Err(ApiError::bad_request(format!(
                "\"{key}\" must be a JSON object."
            )));
        }
    }
    if let Some(value) = fields.get("isDisabled") {
        let Some(b) = flag(value) else {
            return Err(ApiError::bad_request(format!(
                "\"isDisabled\" must be true or false, not {value}."
            )));
        };
        fields.insert("isDisabled".into(), Value::Bool(b));
    }
    for key in ["configurationId", "rowId"] {
        if let Some(Value::Number(n)) = fields.get(key) {
            let text = n.to_string();
            fields.insert(key.to_owned(), Value::String(text));
        }
    }
    serde_json::from_value(Value::Object(fields)).map_err(|err| {
        ApiError::bad_request(format!(
            "Invalid request body: {err} (accepted: name, description, configuration, state, configurationId, rowId, isDisabled, changeDescription)."
        ))
    })
}

fn parse_state(value: Value) -> Result<berth_storage::State, ApiError> {
    berth_storage::State::from_value(value).map_err(|err| ApiError::bad_request(err.to_string()))
}

/// Refuses fields the route does not take (an id of a kind it cannot set).
fn refuse(fields: &[(&str, bool)]) -> Result<(), ApiError> {
    for (name, given) in fields {
        if *given {
            return Err(ApiError::bad_request(format!(
                "\"{name}\" cannot be given here."
            )));
        }
    }
    Ok(())
}

/// `GET /v2/storage/components`: every component the token may use, with its configurations.
#[utoipa::path(get, path = "/v2/storage/components", tag = "storage-api",
    params(IncludeQuery),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = [ApiComponent])))]
pub(crate) async fn list_components(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    params: Option<Path<HashMap<String, String>>>,
    Query(query): Query<IncludeQuery>,
) -> Result<Json<Vec<ApiComponent>>, ApiError> {
    check_branch(&params.map(|Path(p)| p).unwrap_or_default())?;
    let wanted: Vec<String> = query
        .include
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(unknown) = wanted
        .iter()
        .find(|w| !matches!(w.as_str(), "configuration" | "rows" | "state"))
    {
        return Err(ApiError::bad_request(format!(
            "Unknown include \"{unknown}\": use configuration, rows or state."
        )));
    }
    let include = Include {
        configuration: wanted.iter().any(|w| w == "configuration"),
        rows: wanted.iter().any(|w| w == "rows"),
        state: wanted.iter().any(|w| w == "state"),
    };
    let home = state.home.clone();
    let components = blocking(move || {
        let storage = home.open_storage()?;
        let mut out = Vec::new();
        for definition in storage.list_components()? {
            if !caller.0.can_use_component(&definition.id) {
                continue;
            }
            let configurations = storage
                .list_configs(&definition.id)?
                .iter()
                .map(|c| config_json(c, include, ""))
                .collect();
            out.push(ApiComponent {
                r#type: "other".into(),
                description: String::new(),
                name: if definition.name.is_empty() {
                    definition.id.clone()
                } else {
                    definition.name.clone()
                },
                id: definition.id,
                configurations,
            });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(components))
}

/// `GET …/components/{component}/configs`.
#[utoipa::path(get, path = "/v2/storage/components/{component}/configs", tag = "storage-api",
    params(("component" = String, Path)),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = [ApiConfiguration])))]
pub(crate) async fn list_configs(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Vec<ApiConfiguration>>, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    caller.require_component(&component)?;
    let home = state.home.clone();
    let configs = blocking(move || Ok(home.open_storage()?.list_configs(&component)?)).await?;
    Ok(Json(
        configs
            .iter()
            .map(|c| config_json(c, Include::ALL, ""))
            .collect(),
    ))
}

/// `POST …/components/{component}/configs`: 201 with the new configuration.
#[utoipa::path(post, path = "/v2/storage/components/{component}/configs", tag = "storage-api",
    params(("component" = String, Path)),
    request_body(content((ConfigurationBody = "application/json"), (ConfigurationBody = "application/x-www-form-urlencoded"))),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 201, body = ApiConfiguration)))]
pub(crate) async fn create_config(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ApiConfiguration>), ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    caller.require_write()?;
    caller.require_component(&component)?;
    let body = read_body(&headers, &body)?;
    refuse(&[("rowId", body.row_id.is_some())])?;
    let new_state = match body.state {
        Some(value) if value.as_object().is_some_and(|m| !m.is_empty()) => {
            Some(parse_state(value)?)
        }
        _ => None,
    };
    let new = NewConfig {
        id: body.configuration_id,
        name: body.name.unwrap_or_default(),
        description: body.description.unwrap_or_default(),
        configuration: body
            .configuration
            .unwrap_or_else(|| Value::Object(Map::new())),
        rows: Vec::new(),
        is_disabled: body.is_disabled.unwrap_or(false),
    };
    let home = state.home.clone();
    let config = blocking(move || {
        let mut storage = home.open_storage()?;
        let id = berth_job::secrets::create_config(&home, storage.as_mut(), &component, new)?;
        if let Some(new_state) = new_state {
            berth_job::secrets::set_state(
                &home,
                storage.as_mut(),
                &component,
                &id,
                None,
                new_state,
            )?;
        }
        Ok(storage.config(&component, &id)?)
    })
    .await?;
    let change = body.change_description.unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(config_json(&config, Include::ALL, &change)),
    ))
}

/// `GET …/configs/{config}`.
#[utoipa::path(get, path = "/v2/storage/components/{component}/configs/{config}", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path)),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = ApiConfiguration)))]
pub(crate) async fn show_config(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<ApiConfiguration>, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    caller.require_component(&component)?;
    let home = state.home.clone();
    let config = blocking(move || Ok(home.open_storage()?.config(&component, &id)?)).await?;
    Ok(Json(config_json(&config, Include::ALL, "")))
}

/// `PUT …/configs/{config}`: name, description, configuration, isDisabled, state.
#[utoipa::path(put, path = "/v2/storage/components/{component}/configs/{config}", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path)),
    request_body(content((ConfigurationBody = "application/json"), (ConfigurationBody = "application/x-www-form-urlencoded"))),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = ApiConfiguration)))]
pub(crate) async fn update_config(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ApiConfiguration>, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    caller.require_write()?;
    caller.require_component(&component)?;
    let body = read_body(&headers, &body)?;
    refuse(&[
        ("configurationId", body.configuration_id.is_some()),
        ("rowId", body.row_id.is_some()),
    ])?;
    let new_state = body.state.map(parse_state).transpose()?;
    let update = ConfigUpdate {
        name: body.name,
        description: body.description,
        configuration: body.configuration,
        is_disabled: body.is_disabled,
    };
    let home = state.home.clone();
    let config = blocking(move || {
        let mut storage = home.open_storage()?;
        let mut config = storage.config(&component, &id)?;
        if !update.is_empty() {
            config = berth_job::secrets::update_config(
                &home,
                storage.as_mut(),
                &component,
                &id,
                update,
            )?;
        }
        if let Some(new_state) = new_state {
            berth_job::secrets::set_state(
                &home,
                storage.as_mut(),
                &component,
                &id,
                None,
                new_state,
            )?;
            config = storage.config(&component, &id)?;
        }
        Ok(config)
    })
    .await?;
    let change = body.change_description.unwrap_or_default();
    Ok(Json(config_json(&config, Include::ALL, &change)))
}

/// `DELETE …/configs/{config}`: 204.
#[utoipa::path(delete, path = "/v2/storage/components/{component}/configs/{config}", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path)),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 204)))]
pub(crate) async fn delete_config(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    caller.require_write()?;
    caller.require_component(&component)?;
    let home = state.home.clone();
    blocking(move || Ok(home.open_storage()?.delete_config(&component, &id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT …/configs/{config}/state`: replaces the configuration's state.
#[utoipa::path(put, path = "/v2/storage/components/{component}/configs/{config}/state", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path)),
    request_body(content((ConfigurationBody = "application/json"), (ConfigurationBody = "application/x-www-form-urlencoded"))),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = ApiConfiguration)))]
pub(crate) async fn put_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ApiConfiguration>, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    caller.require_write()?;
    caller.require_component(&component)?;
    let body = read_body(&headers, &body)?;
    let Some(value) = body.state else {
        return Err(ApiError::bad_request("Give \"state\" (a JSON object)."));
    };
    let new_state = parse_state(value)?;
    let home = state.home.clone();
    let config = blocking(move || {
        let mut storage = home.open_storage()?;
        berth_job::secrets::set_state(&home, storage.as_mut(), &component, &id, None, new_state)?;
        Ok(storage.config(&component, &id)?)
    })
    .await?;
    Ok(Json(config_json(&config, Include::ALL, "")))
}

/// `GET …/configs/{config}/rows`.
#[utoipa::path(get, path = "/v2/storage/components/{component}/configs/{config}/rows", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path)),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = [ApiRow])))]
pub(crate) async fn list_rows(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Vec<ApiRow>>, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    caller.require_component(&component)?;
    let home = state.home.clone();
    let config = blocking(move || Ok(home.open_storage()?.config(&component, &id)?)).await?;
    Ok(Json(
        config.rows.iter().map(|r| row_json(&config, r)).collect(),
    ))
}

/// `POST …/configs/{config}/rows`: 201 with the new row (added last).
#[utoipa::path(post, path = "/v2/storage/components/{component}/configs/{config}/rows", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path)),
    request_body(content((ConfigurationBody = "application/json"), (ConfigurationBody = "application/x-www-form-urlencoded"))),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 201, body = ApiRow)))]
pub(crate) async fn create_row(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ApiRow>), ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    caller.require_write()?;
    caller.require_component(&component)?;
    let body = read_body(&headers, &body)?;
    refuse(&[("configurationId", body.configuration_id.is_some())])?;
    let new_state = match body.state {
        Some(value) if value.as_object().is_some_and(|m| !m.is_empty()) => {
            Some(parse_state(value)?)
        }
        _ => None,
    };
    let row = NewConfigRow {
        id: body.row_id,
        name: body.name.unwrap_or_default(),
        description: body.description.unwrap_or_default(),
        configuration: body
            .configuration
            .unwrap_or_else(|| Value::Object(Map::new())),
        is_disabled: body.is_disabled.unwrap_or(false),
    };
    let home = state.home.clone();
    let (config, row_id) = blocking(move || {
        let mut storage = home.open_storage()?;
        let row = berth_job::secrets::add_row(&home, storage.as_mut(), &component, &id, row)?;
        if let Some(new_state) = new_state {
            berth_job::secrets::set_state(
                &home,
                storage.as_mut(),
                &component,
                &id,
                Some(&row.id),
                new_state,
            )?;
        }
        Ok((storage.config(&component, &id)?, row.id))
    })
    .await?;
    let row = config
        .rows
        .iter()
        .find(|r| r.id == row_id)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the new row {row_id} vanished")))?;
    let mut answer = row_json(&config, row);
    answer.change_description = body.change_description.unwrap_or_default();
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `GET …/configs/{config}/rows/{row}`.
#[utoipa::path(get, path = "/v2/storage/components/{component}/configs/{config}/rows/{row}", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path), ("row" = String, Path)),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = ApiRow)))]
pub(crate) async fn show_row(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<ApiRow>, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    let row_id = param(&params, "row").to_owned();
    caller.require_component(&component)?;
    let home = state.home.clone();
    let (config, row) = blocking(move || {
        let storage = home.open_storage()?;
        let row = storage.row(&component, &id, &row_id)?;
        Ok((storage.config(&component, &id)?, row))
    })
    .await?;
    Ok(Json(row_json(&config, &row)))
}

/// `PUT …/configs/{config}/rows/{row}`: name, description, configuration, isDisabled, state.
#[utoipa::path(put, path = "/v2/storage/components/{component}/configs/{config}/rows/{row}", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path), ("row" = String, Path)),
    request_body(content((ConfigurationBody = "application/json"), (ConfigurationBody = "application/x-www-form-urlencoded"))),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = ApiRow)))]
pub(crate) async fn update_row(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ApiRow>, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    let row_id = param(&params, "row").to_owned();
    caller.require_write()?;
    caller.require_component(&component)?;
    let body = read_body(&headers, &body)?;
    refuse(&[
        ("configurationId", body.configuration_id.is_some()),
        ("rowId", body.row_id.is_some()),
    ])?;
    let new_state = body.state.map(parse_state).transpose()?;
    let update = RowUpdate {
        name: body.name,
        description: body.description,
        configuration: body.configuration,
        is_disabled: body.is_disabled,
    };
    let home = state.home.clone();
    let (config, row) = blocking(move || {
        let mut storage = home.open_storage()?;
        let mut row = storage.row(&component, &id, &row_id)?;
        if !update.is_empty() {
            row = berth_job::secrets::update_row(
                &home,
                storage.as_mut(),
                &component,
                &id,
                &row_id,
                update,
            )?;
        }
        if let Some(new_state) = new_state {
            berth_job::secrets::set_state(
                &home,
                storage.as_mut(),
                &component,
                &id,
                Some(&row_id),
                new_state,
            )?;
            row = storage.row(&component, &id, &row_id)?;
        }
        Ok((storage.config(&component, &id)?, row))
    })
    .await?;
    let mut answer = row_json(&config, &row);
    answer.change_description = body.change_description.unwrap_or_default();
    Ok(Json(answer))
}

/// `DELETE …/configs/{config}/rows/{row}`: 204.
#[utoipa::path(delete, path = "/v2/storage/components/{component}/configs/{config}/rows/{row}", tag = "storage-api",
    params(("component" = String, Path), ("config" = String, Path), ("row" = String, Path)),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 204)))]
pub(crate) async fn delete_row(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    check_branch(&params)?;
    let component = param(&params, "component").to_owned();
    let id = param(&params, "config").to_owned();
    let row_id = param(&params, "row").to_owned();
    caller.require_write()?;
    caller.require_component(&component)?;
    let home = state.home.clone();
    blocking(move || Ok(home.open_storage()?.delete_row(&component, &id, &row_id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// berth's own component definitions: `GET|POST /components`, `GET|PUT|DELETE /components/{id}`.

/// The header naming the keys of a component definition that were ignored (unknown keys are
/// ignored, as the reference says, but never silently).
const IGNORED_KEYS_HEADER: &str = "berth-ignored-keys";

/// A definition from a request body (berth's shape or the Developer Portal's) and the header
/// listing the keys it ignored, if any.
fn definition_of(
    body: &[u8],
    path_id: Option<&str>,
) -> Result<(ComponentDefinition, axum::http::HeaderMap), ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("The component definition is not UTF-8."))?;
    let parsed =
        ComponentDefinition::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut headers = axum::http::HeaderMap::new();
    if !parsed.ignored.is_empty() {
        let keys = parsed.ignored.join(", ");
        tracing::warn!(component = %parsed.definition.id, "component definition: unknown keys ignored: {keys}");
        if let Ok(value) = axum::http::HeaderValue::from_str(&keys) {
            headers.insert(IGNORED_KEYS_HEADER, value);
        }
    }
    let definition = parsed.definition;
    if let Some(id) = path_id
        && definition.id != id
    {
        return Err(ApiError::bad_request(format!(
            "The definition's id \"{}\" is not the component \"{id}\" of the path.",
            definition.id
        )));
    }
    Ok((definition, headers))
}

/// `GET /components`: the definitions the token may use.
#[utoipa::path(get, path = "/components", tag = "components",
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = [Object])))]
pub(crate) async fn component_list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<ComponentDefinition>>, ApiError> {
    let home = state.home.clone();
    let all = blocking(move || Ok(home.open_storage()?.list_components()?)).await?;
    Ok(Json(
        all.into_iter()
            .filter(|d| caller.0.can_use_component(&d.id))
            .collect(),
    ))
}

/// `POST /components` (admin): registers a new component; 409 when the id exists.
#[utoipa::path(post, path = "/components", tag = "components",
    request_body(content = Object, description = "A component definition (berth component add's file)"),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 201, body = Object), (status = 409)))]
pub(crate) async fn component_create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, axum::http::HeaderMap, Json<ComponentDefinition>), ApiError> {
    caller.require_admin()?;
    let (definition, ignored) = definition_of(&body, None)?;
    let home = state.home.clone();
    let stored = blocking(move || {
        let mut storage = home.open_storage()?;
        let id = definition.id.clone();
        if storage.component(&id).is_ok() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("component \"{id}\" already exists (PUT /components/{id} changes it)"),
            ));
        }
        berth_job::secrets::add_component(&home, storage.as_mut(), definition)?;
        Ok(storage.component(&id)?)
    })
    .await?;
    Ok((StatusCode::CREATED, ignored, Json(stored)))
}

/// `GET /components/{id}`.
#[utoipa::path(get, path = "/components/{id}", tag = "components",
    params(("id" = String, Path)),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = Object), (status = 404)))]
pub(crate) async fn component_show(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ComponentDefinition>, ApiError> {
    caller.require_component(&id)?;
    let home = state.home.clone();
    Ok(Json(
        blocking(move || Ok(home.open_storage()?.component(&id)?)).await?,
    ))
}

/// `PUT /components/{id}` (admin): replaces an existing component's definition.
#[utoipa::path(put, path = "/components/{id}", tag = "components",
    params(("id" = String, Path)),
    request_body(content = Object, description = "A component definition (berth component add's file)"),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = Object), (status = 404)))]
pub(crate) async fn component_update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(axum::http::HeaderMap, Json<ComponentDefinition>), ApiError> {
    caller.require_admin()?;
    let (definition, ignored) = definition_of(&body, Some(&id))?;
    let home = state.home.clone();
    let stored = blocking(move || {
        let mut storage = home.open_storage()?;
        berth_job::secrets::update_component(&home, storage.as_mut(), definition)?;
        Ok(storage.component(&id)?)
    })
    .await?;
    Ok((ignored, Json(stored)))
}

/// What `DELETE /components/{id}` answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ComponentRemoved {
    id: String,
    /// How many configurations were deleted with it (only with `?force=true`).
    removed_configurations: usize,
}

/// `DELETE /components/{id}[?force=true]` (admin): 409 while configurations exist, unless forced.
#[utoipa::path(delete, path = "/components/{id}", tag = "components",
    params(("id" = String, Path), ForceQuery),
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = ComponentRemoved), (status = 409)))]
pub(crate) async fn component_delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ForceQuery>,
) -> Result<Json<ComponentRemoved>, ApiError> {
    caller.require_admin()?;
    let home = state.home.clone();
    let removed = {
        let id = id.clone();
        blocking(move || Ok(home.open_storage()?.delete_component(&id, query.force)?)).await?
    };
    Ok(Json(ComponentRemoved {
        id,
        removed_configurations: removed,
    }))
}

/// A branch in the Storage API's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiBranch {
    id: u64,
    name: String,
    is_default: bool,
}

/// `GET /v2/storage/dev-branches`: berth's one branch, the default (id [`DEFAULT_BRANCH_ID`]).
#[utoipa::path(get, path = "/v2/storage/dev-branches", tag = "storage-api",
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 200, body = [ApiBranch])))]
pub(crate) async fn list_branches(_caller: Caller) -> Json<Vec<ApiBranch>> {
    Json(vec![ApiBranch {
        id: DEFAULT_BRANCH_ID,
        name: "Main".into(),
        is_default: true,
    }])
}

/// The routes of this module: the Storage API's, plain and under `branch/{branch}/`, and
/// berth's `/components`. (Written out, not built in a loop: `tests/all/openapi.rs` reads this
/// list to check every route is in the OpenAPI document.)
pub(crate) fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::{get, put};
    axum::Router::new()
        .route("/v2/storage/dev-branches", get(list_branches))
        .route("/components", get(component_list).post(component_create))
        .route(
            "/components/{id}",
            get(component_show)
                .put(component_update)
                .delete(component_delete),
        )
        .route("/v2/storage/components", get(list_components))
        .route(
            "/v2/storage/branch/{branch}/components",
            get(list_components),
        )
        .route(
            "/v2/storage/components/{component}/configs",
            get(list_configs).post(create_config),
        )
        .route(
            "/v2/storage/branch/{branch}/components/{component}/configs",
            get(list_configs).post(create_config),
        )
        .route(
            "/v2/storage/components/{component}/configs/{config}",
            get(show_config).put(update_config).delete(delete_config),
        )
        .route(
            "/v2/storage/branch/{branch}/components/{component}/configs/{config}",
            get(show_config).put(update_config).delete(delete_config),
        )
        .route(
            "/v2/storage/components/{component}/configs/{config}/state",
            put(put_state),
        )
        .route(
            "/v2/storage/branch/{branch}/components/{component}/configs/{config}/state",
            put(put_state),
        )
        .route(
            "/v2/storage/components/{component}/configs/{config}/rows",
            get(list_rows).post(create_row),
        )
        .route(
            "/v2/storage/branch/{branch}/components/{component}/configs/{config}/rows",
            get(list_rows).post(create_row),
        )
        .route(
            "/v2/storage/components/{component}/configs/{config}/rows/{row}",
            get(show_row).put(update_row).delete(delete_row),
        )
        .route(
            "/v2/storage/branch/{branch}/components/{component}/configs/{config}/rows/{row}",
            get(show_row).put(update_row).delete(delete_row),
        )
}
