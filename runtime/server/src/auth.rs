//! Every route but `/health` needs a token (seeds 001/002: "It is not possible to run an
//! extension anonymously"): the `X-StorageApi-Token` header, or for the jobs page the
//! `berth_token` cookie it sets. [`Caller`] is the checked token; handlers ask it for what they
//! need (admin, write access, a component).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use berth_storage::{TokenCheck, TokenInfo};

use crate::error::{ApiError, blocking};
use crate::state::AppState;

/// The header carrying the token (Keboola's name).
pub const TOKEN_HEADER: &str = "x-storageapi-token";
/// The cookie the jobs page keeps the token in.
pub(crate) const TOKEN_COOKIE: &str = "berth_token";

/// The caller's valid token.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) TokenInfo);

impl Caller {
    /// Refuses non-admin tokens.
    pub(crate) fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("This call needs an admin token."))
        }
    }

    /// Refuses read-only tokens (no jobs, no actions, no changes).
    pub(crate) fn require_write(&self) -> Result<(), ApiError> {
        if self.0.read_only {
            Err(ApiError::forbidden(
                "The token is read-only: it cannot run jobs or actions or change anything.",
            ))
        } else {
            Ok(())
        }
    }

    /// Refuses tokens limited to other components.
    pub(crate) fn require_component(&self, component_id: &str) -> Result<(), ApiError> {
        if self.0.can_use_component(component_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "The token has no access to component \"{component_id}\"."
            )))
        }
    }
}

/// The token a request carries: the header, else the page's cookie.
pub(crate) fn token_of(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(TOKEN_HEADER) {
        return value.to_str().ok().map(str::to_owned);
    }
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == TOKEN_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(secret) = token_of(parts).filter(|t| !t.is_empty()) else {
            return Err(ApiError::unauthorized(
                "Access token must be set (the X-StorageApi-Token header).",
            ));
        };
        check(state, &secret).await
    }
}

/// Checks the token `secret`: the caller it names, or why it is refused.
pub(crate) async fn check(state: &Arc<AppState>, secret: &str) -> Result<Caller, ApiError> {
    if secret.is_empty() {
        return Err(ApiError::unauthorized(
            "Access token must be set (the X-StorageApi-Token header).",
        ));
    }
    let home = state.home.clone();
    let secret = secret.to_owned();
    let check = blocking(move || Ok(home.open_storage()?.check_token(&secret)?)).await?;
    match check {
        TokenCheck::Valid(token) => Ok(Caller(token)),
        TokenCheck::Unknown => Err(ApiError::unauthorized("Invalid access token.")),
        TokenCheck::Revoked(_) => Err(ApiError::unauthorized("The access token was revoked.")),
        TokenCheck::Expired(_) => Err(ApiError::unauthorized("The access token expired.")),
    }
}
