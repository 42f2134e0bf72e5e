//! `GET /health` (no token: load balancers and supervisors ask it; it names the Storage kind and,
//! on shared Storage, the node) and `GET /metrics` (Prometheus text: jobs by status and queue
//! depth in Storage — the whole shared queue on PostgreSQL — and this server's running jobs, job
//! and action durations).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use berth_storage::JobStatus;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// `GET /health`.
#[utoipa::path(get, path = "/health", tag = "meta", security(()),
    responses((status = 200, description = "`{status, uptimeSeconds, runningJobs, storage, node}`: `storage` is `embedded` or `postgres`, `node` this server's name on shared Storage (else null); no token needed", body = Object)))]
pub(crate) async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    let shared = state.home.shared_storage();
    Json(json!({
        "status": "ok",
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "runningJobs": state.workers.running(),
        "storage": if shared.is_some() { "postgres" } else { "embedded" },
        "node": shared.map(|s| s.node.as_str()),
    }))
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain"), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let home = state.home.clone();
    let counts = blocking(move || Ok(home.open_queue()?.job_counts()?)).await?;
    let mut out = String::new();
    out.push_str("# HELP berth_jobs Jobs in Storage by status.\n# TYPE berth_jobs gauge\n");
    for status in JobStatus::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        out.push_str(&format!("berth_jobs{{status=\"{status}\"}} {n}\n"));
    }
    let waiting = counts
        .iter()
        .find(|(s, _)| *s == JobStatus::Waiting)
        .map_or(0, |(_, n)| *n);
    out.push_str("# HELP berth_queue_depth Jobs waiting to run.\n# TYPE berth_queue_depth gauge\n");
    out.push_str(&format!("berth_queue_depth {waiting}\n"));
    out.push_str(
        "# HELP berth_jobs_running Jobs this server runs now.\n# TYPE berth_jobs_running gauge\n",
    );
    out.push_str(&format!("berth_jobs_running {}\n", state.workers.running()));
    state.metrics.render(&mut out);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
