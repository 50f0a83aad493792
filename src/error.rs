//! One error type at the edge. Feature code returns `AppError`; the API renders it as
//! `{"error", "message"}` JSON and pages render it through `PageError` as an HTML page. A hidden
//! thing and a missing thing are the same `NotFound`, so neither leaks existence.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
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
                let reference = crate::accounts::tokens::random_hex(6);
                tracing::error!(error.reference = %reference, error = ?cause, "internal error");
                format!("Something went wrong on our side (reference {reference}).")
            }
            other => other.to_string(),
        }
    }

    fn extra_headers(&self, response: &mut Response) {
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

/// An `AppError` rendered as an HTML page, for the server-rendered side.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let err = self.0;
        let status = err.status();
        let heading = match status {
            StatusCode::NOT_FOUND => "Not found".to_string(),
            StatusCode::GONE => "No longer available".to_string(),
            StatusCode::TOO_MANY_REQUESTS => "Slow down".to_string(),
            s => s.canonical_reason().unwrap_or("Error").to_string(),
        };
        let message = match &err {
            AppError::NotFound => {
                "There is nothing here, or you do not have access to it.".to_string()
            }
            other => other.public_message(),
        };
        let page = crate::web::layout::ErrorPage {
            layout: crate::web::layout::Layout::anonymous(&heading),
            heading,
            message,
            home: status != StatusCode::TOO_MANY_REQUESTS,
        };
        let html = askama::Template::render(&page).unwrap_or_else(|_| "Error".into());
        let mut response = (status, Html(html)).into_response();
        err.extra_headers(&mut response);
        // No request is at hand here, so the page comes out anonymous; `web::layout::with_nav`
        // renders it again with the navigation when a signed-in person asked.
        response.extensions_mut().insert(page);
        response
    }
}

/// Result alias for API handlers.
pub type ApiResult<T> = Result<T, AppError>;
/// Result alias for page handlers.
pub type PageResult<T> = Result<T, PageError>;
