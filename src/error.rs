//! One error type at the edge. Feature code returns `AppError`; the API renders it as
//! `{"error", "message"}` JSON and pages render it through `PageError` as an HTML page. A hidden
//! thing and a missing thing are the same `NotFound`, so neither leaks existence.
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("this link is no longer available")]
    Gone,
    #[error("{0}")]
    GoneWith(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Unprocessable(String),
    /// A protocol precondition the client did not meet (tus: an unsupported version).
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("too many attempts; try again later")]
    TooManyRequests { retry_after: u64 },
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("storage is full")]
    StorageFull,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A mistake the person can correct in the form they sent (a bad or conflicting value, an
    /// unsupported or oversized file): pages show it beside the form, not as an error page.
    pub fn is_correctable(&self) -> bool {
        matches!(
            self,
            AppError::BadRequest(_)
                | AppError::Unprocessable(_)
                | AppError::Conflict(_)
                | AppError::Unsupported(_)
                | AppError::TooLarge(_)
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone | AppError::GoneWith(_) => StatusCode::GONE,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "invalid_input",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Gone | AppError::GoneWith(_) => "gone",
            AppError::TooLarge(_) => "too_large",
            AppError::Unsupported(_) => "unsupported_media_type",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::PreconditionFailed(_) => "precondition_failed",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            AppError::StorageFull => "storage_full",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message shown to the caller. Internal errors are logged with a reference and only
    /// the reference is shown: causes can carry paths or SQL.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(cause) => {
                let reference = crate::token::random_hex(6);
                tracing::error!(error.reference = %reference, error = ?cause, "internal error");
                format!("Something went wrong on our side (reference {reference}).")
            }
            other => other.to_string(),
        }
    }

    pub(crate) fn extra_headers(&self, response: &mut Response) {
        match self {
            AppError::TooManyRequests { retry_after } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            AppError::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            AppError::Unauthorized => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // The request body was not read to its end: the connection cannot carry another
            // request, and saying so keeps clients from reusing it (and failing on it).
            AppError::TooLarge(_) | AppError::StorageFull => {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::Conflict("that already exists".into())
            }
            _ => AppError::Internal(e.into()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code(), "message": self.public_message() });
        let mut response = (self.status(), axum::Json(body)).into_response();
        self.extra_headers(&mut response);
        response
    }
}

/// The `error` code of SPEC §3 for a status that did not come from an `AppError`.
fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_input",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        410 => "gone",
        411 => "length_required",
        413 => "too_large",
        415 => "unsupported_media_type",
        416 => "range_not_satisfiable",
        422 => "unprocessable",
        429 => "too_many_requests",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

/// Middleware of the JSON API: every error answer is SPEC §3's `{"error", "message"}`, also
/// those no handler wrote (axum's extractor rejections: a JSON body that does not decode, a
/// multipart body without boundary, a wrong content type; a method the route lacks). Their
/// status stays; a plain-text reason becomes the message. One place, so no handler or extractor
/// can answer an API client in another shape.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Rejection texts are short; anything else (or a server error's text) is not echoed.
    let text = if content_type.starts_with("text/plain") && status.is_client_error() {
        axum::body::to_bytes(body, 4096)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    } else {
        None
    };
    let message = text.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string()
    });
    let body = json!({ "error": code_for(status), "message": message }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// An `AppError` rendered as an HTML page, for the server-rendered side.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

// `PageError`'s page is rendered in `web/error_page.rs`: plumbing does not know the layout.

/// Result alias for API handlers.
pub type ApiResult<T> = Result<T, AppError>;
/// Result alias for page handlers.
pub type PageResult<T> = Result<T, PageError>;
