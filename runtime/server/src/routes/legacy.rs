//! The Docker Runner's own routes (reference §9.1): `POST /{component}/run` and
//! `POST /{component}/run/tag/{tag}` queue a job and answer 202 `{id, url, status}`;
//! `POST /{component}/action/{action}` (and the sync-actions API's `POST /actions`) run a
//! synchronous action and answer the component's JSON — they bypass the queue and never wait
//! behind jobs. `POST /{component}/debug` queues a job in debug mode.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use berth_host_api::ExitClass;
use berth_job::queue::{JobMode, QueuedJob};
use berth_job::{ActionRequest, ConfigSource, run_action};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// The body of a run request, checked key by key for the reference's error texts.
fn queued_job(
    component: &str,
    tag: Option<String>,
    mode: JobMode,
    body: &Bytes,
) -> Result<QueuedJob, ApiError> {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("The request body is not JSON: {e}")))?
    };
    let Value::Object(body) = body else {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    let text = |key: &str| -> Result<Option<String>, ApiError> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::bad_request(format!("'{key}' must be a scalar."))),
        }
    };
    let config = text("config")?;
    let row = text("row")?;
    let config_data = body.get("configData").filter(|v| !v.is_null()).cloned();
    if config.is_none() && config_data.is_none() {
        return Err(ApiError::bad_request("Specify 'config' or 'configData'."));
    }
    if row.is_some() && config.is_none() {
        return Err(ApiError::bad_request("Specify both 'row' and 'config'."));
    }
    Ok(QueuedJob {
        component: component.to_owned(),
        config,
        config_data,
        config_row_ids: row.into_iter().collect(),
        tag,
        variable_values_data: body.get("variableValuesData").cloned(),
        variable_values_id: text("variableValuesId")?,
        mode,
    })
}

async fn queue_legacy(
    state: Arc<AppState>,
    caller: Caller,
    component: String,
    tag: Option<String>,
    mode: JobMode,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job = queued_job(&component, tag, mode, &body)?;
    let job = super::jobs::queue(state, caller, job).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": job["id"], "url": job["url"], "status": job["status"]})),
    ))
}

/// `POST /{component}/run`.
#[utoipa::path(post, path = "/{component}/run", tag = "runner", params(("component" = String, Path)),
    request_body(content = Object, description = "`{config | configData, row?, variableValuesData?}`"),
    responses((status = 202, description = "`{id, url, status}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn run(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(component): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    queue_legacy(state, caller, component, None, JobMode::Run, body).await
}

/// `POST /{component}/run/tag/{tag}`.
#[utoipa::path(post, path = "/{component}/run/tag/{tag}", tag = "runner", params(("component" = String, Path), ("tag" = String, Path)),
    request_body(content = Object, description = "`{config | configData, row?, variableValuesData?}`"),
    responses((status = 202, description = "`{id, url, status}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn run_with_tag(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((component, tag)): Path<(String, String)>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    queue_legacy(state, caller, component, Some(tag), JobMode::Run, body).await
}

/// `POST /{component}/debug`: a run in debug mode (§9.3): the data folder is kept as
/// `stage_<n>.zip` Storage files tagged `debug`, and nothing is loaded into Storage.
#[utoipa::path(post, path = "/{component}/debug", tag = "runner", params(("component" = String, Path)),
    request_body(content = Object, description = "`{config | configData, row?}`"),
    responses((status = 202, description = "`{id, url, status}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn debug(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(component): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    queue_legacy(state, caller, component, None, JobMode::Debug, body).await
}

/// `POST /run`: the reference's hint.
#[utoipa::path(post, path = "/run", tag = "runner",
    responses((status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn run_without_component(_caller: Caller) -> ApiError {
    ApiError::bad_request(
        "This api call without component name is not supported, perhaps you wanted to call \
         /{component}/run",
    )
}

/// Runs action `action` of `component` with the configuration in `body`.
async fn action_response(
    state: Arc<AppState>,
    caller: Caller,
    component: String,
    action: String,
    body: Value,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_write()?;
    caller.require_component(&component)?;
    if action == "run" {
        return Err(ApiError::bad_request(
            "The action \"run\" cannot be run synchronously; queue a job instead.",
        ));
    }
    let config = match (body.get("config"), body.get("configData")) {
        (_, Some(data)) if !data.is_null() => ConfigSource::Data(data.clone()),
        (Some(Value::String(id)), _) => ConfigSource::Stored(id.clone()),
        _ => ConfigSource::Data(json!({})),
    };
    let request = ActionRequest {
        component_id: component,
        action,
        config,
        timeout: None,
    };
    let home = state.home.clone();
    let started = Instant::now();
    let result = blocking(move || Ok(run_action(&home, &request))).await?;
    state.metrics.action_finished(started.elapsed());
    let result = result.map_err(|error| {
        if error.is_user_error() {
            ApiError::bad_request(error.to_string())
        } else {
            ApiError::internal(anyhow::anyhow!("{error}"))
        }
    })?;
    match (result.answer, result.outcome.class()) {
        (Some(answer), ExitClass::Success) => Ok((StatusCode::OK, Json(answer))),
        // Reference §1.4: exit 1 (and a missing or non-JSON answer) → 400 with the message;
        // exit ≥ 2 → 500.
        (_, ExitClass::UserError) | (None, ExitClass::Success) => {
            Err(ApiError::bad_request(result.outcome.message()))
        }
        (_, ExitClass::ApplicationError) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            result.outcome.message(),
        )),
    }
}

/// `POST /{component}/action/{action}` with `{configData}` or `{config}`.
#[utoipa::path(post, path = "/{component}/action/{action}", tag = "runner", params(("component" = String, Path), ("action" = String, Path)),
    request_body(content = Object, description = "`{configData}` or `{config}`"),
    responses((status = 200, description = "The component's JSON answer", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn action(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((component, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("The request body is not JSON: {e}")))?
    };
    action_response(state, caller, component, action, body).await
}

/// `POST /actions` (the sync-actions API): `{componentId, action, configData}`.
#[utoipa::path(post, path = "/actions", tag = "runner",
    request_body(content = Object, description = "`{componentId, action, configData}`"),
    responses((status = 200, description = "The component's JSON answer", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn actions_api(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let field = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad_request(format!("Specify '{key}'.")))
    };
    let component = field("componentId")?;
    let action = field("action")?;
    action_response(state, caller, component, action, body).await
}
