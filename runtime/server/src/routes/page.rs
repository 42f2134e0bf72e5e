//! The jobs page (`GET /`): jobs newest first with their status, component, configuration and
//! duration, kept live by polling `GET /jobs`; a job's page (`GET /ui/jobs/{id}`) with its
//! summary, input and output tables, usage and events (following `GET /jobs/{id}/events?since=N`)
//! and a button that kills it (`POST /jobs/{id}/kill`).
//!
//! The HTML is fixed text (the files beside this module, no build step, nothing loaded from
//! elsewhere): the page's script fetches the JSON API and sets every value a job holds with
//! `textContent` or as an attribute, so component output is never parsed as HTML, and the
//! server renders no value of a job into the page at all. A browser authenticates with the
//! `berth_token` cookie ([`crate::auth`]): the login form posts the token to `POST /ui/login`
//! (or a link carries `/?token=`), which checks it and sets the cookie HttpOnly and
//! SameSite=Strict, then redirects to `/` — the token is never written into a page.

use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{self, Caller, TOKEN_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;

const STYLE: &str = include_str!("page/style.css");
const JOBS: &str = include_str!("page/jobs.html");
const JOB: &str = include_str!("page/job.html");
const LOGIN: &str = include_str!("page/login.html");

/// Scripts and styles only from the page itself, requests only to this server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// An HTML answer with the page's security headers.
fn html(status: StatusCode, page: &str) -> Response {
    let body = page.replace("/*STYLE*/", STYLE);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The token form, with one of the fixed messages below (never a value from the request).
fn login(status: StatusCode, message: &'static str) -> Response {
    html(status, &LOGIN.replace("/*MESSAGE*/", message))
}

/// What the form says when there is no usable token.
fn login_message(error: &ApiError) -> &'static str {
    match error.message.as_str() {
        "Invalid access token." => "That token is not known.",
        "The access token was revoked." => "That token was revoked.",
        "The access token expired." => "That token expired.",
        _ => "Enter a token to see the jobs.",
    }
}

/// A redirect to `to` (a path of this server) setting (or, with `None`, clearing) the token
/// cookie.
fn redirect_with_cookie(to: &str, token: Option<&str>) -> Response {
    let cookie = match token {
        Some(token) => {
            format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict")
        }
        None => format!("{TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    match (HeaderValue::from_str(to), HeaderValue::from_str(&cookie)) {
        (Ok(location), Ok(cookie)) => {
            let headers = response.headers_mut();
            headers.insert(header::LOCATION, location);
            headers.insert(header::SET_COOKIE, cookie);
            response
        }
        // A valid token is digits, letters and `-`; anything else never gets here.
        _ => login(StatusCode::BAD_REQUEST, "That token is not known."),
    }
}

/// Checks `token` and answers with the cookie and a redirect to `back_to` (this server's path
/// the browser asked for, without the query), or the form again.
async fn sign_in(state: &Arc<AppState>, token: &str, back_to: &str) -> Response {
    match auth::check(state, token.trim()).await {
        Ok(_) => redirect_with_cookie(back_to, Some(token.trim())),
        Err(e) => login(StatusCode::UNAUTHORIZED, login_message(&e)),
    }
}

/// The query of the pages: `?token=T` signs in with `T` and comes back without it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    token: Option<String>,
}

/// `GET /`: the jobs, or the token form; `/?token=T` signs in with `T` first.
#[utoipa::path(get, path = "/", tag = "page", params(PageQuery),
    responses((status = 200, description = "The jobs page", body = String, content_type = "text/html"), (status = 401, description = "The token form", body = String, content_type = "text/html")))]
pub(crate) async fn index(
    State(state): State<Arc<AppState>>,
    caller: Result<Caller, ApiError>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    page(&state, caller, query, "/", JOBS).await
}

/// `GET /ui/jobs/{id}`: a job's page (its script reads the id from the address).
#[utoipa::path(get, path = "/ui/jobs/{id}", tag = "page", params(("id" = String, Path), PageQuery),
    responses((status = 200, description = "A job's page", body = String, content_type = "text/html"), (status = 401, description = "The token form", body = String, content_type = "text/html")))]
pub(crate) async fn job(
    State(state): State<Arc<AppState>>,
    caller: Result<Caller, ApiError>,
    query: Result<Query<PageQuery>, QueryRejection>,
    uri: Uri,
) -> Response {
    page(&state, caller, query, uri.path(), JOB).await
}

async fn page(
    state: &Arc<AppState>,
    caller: Result<Caller, ApiError>,
    query: Result<Query<PageQuery>, QueryRejection>,
    path: &str,
    content: &str,
) -> Response {
    if let Ok(Query(PageQuery { token: Some(token) })) = query {
        return sign_in(state, &token, path).await;
    }
    match caller {
        Ok(_) => html(StatusCode::OK, content),
        Err(e) => login(StatusCode::UNAUTHORIZED, login_message(&e)),
    }
}

/// The body of `POST /ui/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginForm {
    token: String,
}

/// `POST /ui/login`: the token form.
#[utoipa::path(post, path = "/ui/login", tag = "page", security(()),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in: the cookie is set"), (status = 401, description = "The token form again", body = String, content_type = "text/html")))]
pub(crate) async fn sign_in_form(
    State(state): State<Arc<AppState>>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    match form {
        Ok(Form(form)) => sign_in(&state, &form.token, "/").await,
        Err(_) => login(StatusCode::BAD_REQUEST, "Enter a token to see the jobs."),
    }
}

/// `POST /ui/logout`: forgets the cookie.
#[utoipa::path(post, path = "/ui/logout", tag = "page", security(()),
    responses((status = 303, description = "The cookie is cleared")))]
pub(crate) async fn sign_out() -> Response {
    redirect_with_cookie("/", None)
}
