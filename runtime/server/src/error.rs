//! One error type for every route, turned into one JSON shape in one place (reference §9):
//! `{"error": "<message>", "code": <HTTP status>, "status": "error"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_job::secrets::StoreError;
use berth_storage::StorageError;

/// A failed request: the HTTP status and the message the caller sees.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// berth's own failure: logged in full, reported with its message.
    pub(crate) fn internal(error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        tracing::error!("request failed: {error:#}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}"))
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match &error {
            StorageError::JobNotFound { .. }
            | StorageError::TokenNotFound { .. }
            | StorageError::TableNotFound { .. }
            | StorageError::FileNotFound { .. }
            | StorageError::ComponentNotFound { .. }
            | StorageError::ConfigNotFound { .. }
            | StorageError::ConfigRowNotFound { .. } => Self::not_found(error.to_string()),
            StorageError::ConfigExists { .. }
            | StorageError::ConfigRowExists { .. }
            | StorageError::ComponentInUse { .. } => {
                Self::new(StatusCode::CONFLICT, error.to_string())
            }
            _ if error.is_user_error() => Self::bad_request(error.to_string()),
            _ => Self::internal(error),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Storage(storage) => storage.into(),
            other if other.is_user_error() => Self::bad_request(other.to_string()),
            other => Self::internal(other),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<StorageError>() {
            Ok(storage) => storage.into(),
            Err(other) => Self::internal(other),
        }
    }
}

/// The body of every error answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, for a person.
    error: String,
    /// The HTTP status.
    code: u16,
    /// Always `error`.
    status: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            code: self.status.as_u16(),
            status: "error",
        };
        (self.status, Json(body)).into_response()
    }
}

/// Runs blocking work (Storage, jobs) off the async threads.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("a request task failed: {e}")))?
}
