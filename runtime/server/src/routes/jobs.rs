//! Queue v2 (reference §9.2): `POST /jobs` queues a job (201 with the job), `GET /jobs/{id}`,
//! `GET /jobs?component=&config=&status=&limit=&offset=` (newest first), `POST /jobs/{id}/kill`
//! (`cancelled` for a job that had not started, `terminating` → `terminated` for a running one),
//! and `GET /jobs/{id}/events?since=N` (the job's log after event N, for following it).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use berth_job::queue::{self, QueuedJob};
use berth_job::record::{JobRecord, ProcessorPosition};
use berth_storage::{JobFilter, JobQueue, JobStatus, StoredJob};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// The most events one `GET /jobs/{id}/events` returns.
const MAX_EVENTS: usize = 10_000;

/// A job as the API shows it: Queue v2's fields, plus berth's own record.
pub(crate) fn job_json(url: &str, job: &StoredJob) -> Value {
    let record: Option<JobRecord> = serde_json::from_value(job.record.clone()).ok();
    let request: QueuedJob = serde_json::from_value(job.request.clone()).unwrap_or_default();
    let time = |t: &Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    let duration = match (job.started, job.finished) {
        (Some(start), Some(end)) => Some((end - start).as_seconds_f64()),
        _ => None,
    };
    let mut result = json!({});
    if let Some(record) = &record {
        result = json!({
            "message": record.result.message,
            "input": record.input,
            "output": record.output,
        });
        if !record.variables.is_empty() {
            result["variables"] = json!(record.variables);
        }
        if let Some(kind) = &record.result.error_type {
            result["error"] = json!({"type": kind});
        }
        if let Some(code) = record.result.exit_code {
            result["exitCode"] = json!(code);
        }
        let images = result_images(record);
        if !images.is_empty() {
            result["images"] = json!([images]);
        }
    }
    json!({
        "id": job.id,
        "runId": record.as_ref().map(|r| r.run_id.clone()).unwrap_or_else(|| job.id.clone()),
        "component": job.component_id,
        "config": job.config_id,
        "configRowIds": request.config_row_ids,
        "mode": request.mode,
        "tag": request.tag,
        "status": job.status,
        "isFinished": job.status.is_terminal(),
        "createdTime": time(&Some(job.created)),
        "startTime": time(&job.started),
        "endTime": time(&job.finished),
        "durationSeconds": duration,
        "url": format!("{url}/jobs/{}", job.id),
        "token": {"id": job.token_id},
        "result": result,
        "usageData": record.as_ref().map(|r| json!(r.usage)).unwrap_or(json!([])),
        "stage": record.as_ref().and_then(|r| r.stage),
        "executor": record.as_ref().and_then(|r| r.executor),
        "warnings": record.as_ref().map(|r| json!(r.warnings)).unwrap_or(json!([])),
        "state": record.as_ref().and_then(|r| r.state),
    })
}

/// `result.images` of a job (reference §9.2): every image that ran, in order — the processors
/// before, the main component, the processors after — as `{id, digests}`.
fn result_images(record: &JobRecord) -> Vec<Value> {
    let entry = |image: &str, digest: &Option<String>| json!({"id": image, "digests": digest.iter().collect::<Vec<_>>()});
    let processors = |position: ProcessorPosition| {
        record
            .processors
            .iter()
            .filter(move |p| p.position == position)
            .map(|p| entry(&p.image, &p.image_digest))
    };
    processors(ProcessorPosition::Before)
        .chain(record.image.iter().map(|i| entry(i, &record.image_digest)))
        .chain(processors(ProcessorPosition::After))
        .collect()
}

/// Loads job `id`, refusing tokens that may not see its component.
fn visible_job(storage: &dyn JobQueue, caller: &Caller, id: &str) -> Result<StoredJob, ApiError> {
    let job = storage.job(id)?;
    caller.require_component(&job.component_id)?;
    Ok(job)
}

/// Queues `job` for `caller` and answers with the stored job.
pub(crate) async fn queue(
    state: Arc<AppState>,
    caller: Caller,
    job: QueuedJob,
) -> Result<Value, ApiError> {
    caller.require_write()?;
    caller.require_component(&job.component)?;
    let home = state.home.clone();
    let token = caller.0.id.clone();
    let stored = blocking(move || {
        queue::submit(&home, &job, Some(&token)).map_err(|e| match e {
            queue::SubmitError::Invalid(m) => ApiError::bad_request(m),
            queue::SubmitError::NotFound(m) => ApiError::not_found(m),
            queue::SubmitError::Internal(e) => ApiError::from(e),
        })
    })
    .await?;
    state.workers.notify();
    Ok(job_json(&state.url, &stored))
}

/// `POST /jobs`.
#[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = berth_job::queue::QueuedJob,
    responses((status = 201, description = "The queued job", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Json<QueuedJob>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(job) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let job = queue(state, caller, job).await?;
    Ok((StatusCode::CREATED, Json(job)))
}

/// `GET /jobs/{id}`.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, description = "The job", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let home = state.home.clone();
    let job = blocking(move || visible_job(home.open_queue()?.as_ref(), &caller, &id)).await?;
    Ok(Json(job_json(&state.url, &job)))
}

/// The query of `GET /jobs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ListQuery {
    component: Option<String>,
    config: Option<String>,
    /// One status, or several separated by commas.
    status: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    offset: usize,
}

/// `GET /jobs`.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(ListQuery),
    responses((status = 200, description = "Jobs, newest first", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let statuses = match &query.status {
        None => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|s| s.trim().parse::<JobStatus>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    if query.limit == Some(0) || query.limit.is_some_and(|l| l > 500) {
        return Err(ApiError::bad_request("limit must be between 1 and 500."));
    }
    let filter = JobFilter {
        component_id: query.component,
        config_id: query.config,
        statuses,
        limit: query.limit,
        offset: query.offset,
    };
    let home = state.home.clone();
    let jobs = blocking(move || Ok(home.open_queue()?.jobs(&filter)?)).await?;
    let visible: Vec<Value> = jobs
        .iter()
        .filter(|j| caller.0.can_use_component(&j.component_id))
        .map(|j| job_json(&state.url, j))
        .collect();
    Ok(Json(Value::Array(visible)))
}

/// `POST /jobs/{id}/kill`: 202 with the job (`cancelled` or `terminating`); a job already over
/// is a 400 saying its status.
#[utoipa::path(post, path = "/jobs/{id}/kill", tag = "jobs", params(("id" = String, Path)),
    responses((status = 202, description = "The job, cancelled or terminating", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn kill(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_write()?;
    let home = state.home.clone();
    let workers = state.workers.clone();
    let job = blocking(move || {
        visible_job(home.open_queue()?.as_ref(), &caller, &id)?;
        match workers.kill(&id)? {
            queue::Killed::Unchanged(status) if status.is_terminal() => {
                return Err(ApiError::bad_request(format!(
                    "Job \"{id}\" cannot be killed: it is already {status}."
                )));
            }
            _ => {}
        }
        Ok(home.open_queue()?.job(&id)?)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job_json(&state.url, &job))))
}

/// The query of `GET /jobs/{id}/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct EventsQuery {
    #[serde(default)]
    since: u64,
    limit: Option<usize>,
}

/// `GET /jobs/{id}/events`.
#[utoipa::path(get, path = "/jobs/{id}/events", tag = "jobs", params(("id" = String, Path), EventsQuery),
    responses((status = 200, description = "The job's events after `since`", body = [Object]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = query.limit.unwrap_or(MAX_EVENTS).min(MAX_EVENTS);
    let home = state.home.clone();
    let events = blocking(move || {
        let storage = home.open_queue()?;
        visible_job(storage.as_ref(), &caller, &id)?;
        Ok(storage.job_events(&id, query.since, limit)?)
    })
    .await?;
    Ok(Json(json!(events)))
}
