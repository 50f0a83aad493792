//! The HTML page for a `PageError`: the same status and message as the JSON answer, inside
//! the portal's layout.
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::{AppError, PageError};
use crate::web::layout::{ErrorPage, Layout};

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        // "Wait" offers no way on; everything else offers the library.
        let home = self.0.status() != StatusCode::TOO_MANY_REQUESTS;
        page(self.0, home)
    }
}

/// The page for a share- or upload-link visitor, who has no library to go back to.
pub fn for_visitor(err: AppError) -> Response {
    page(err, false)
}

/// A share or upload link's address that names no link: said in the visitor's words (they
/// most likely mistyped it or got a cut-off copy), with no way into a library they do not have.
pub fn unknown_link() -> Response {
    let heading = "Link not found".to_string();
    let message = "This link does not exist or has been mistyped. Check the address, or ask the \
                   person who shared it with you for a new one."
        .to_string();
    render(StatusCode::NOT_FOUND, heading, message, false)
}

fn render(status: StatusCode, heading: String, message: String, home: bool) -> Response {
    let page = ErrorPage {
        layout: Layout::anonymous(&heading),
        heading,
        message,
        home,
    };
    let html = askama::Template::render(&page).unwrap_or_else(|_| "Error".into());
    let mut response = (status, Html(html)).into_response();
    // No request is at hand here, so the page comes out anonymous; `accounts::nav::with_nav`
    // renders it again with the navigation when a signed-in person asked.
    response.extensions_mut().insert(page);
    response
}

fn page(err: AppError, home: bool) -> Response {
    let status = err.status();
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found".to_string(),
        StatusCode::GONE => "No longer available".to_string(),
        StatusCode::TOO_MANY_REQUESTS => "Slow down".to_string(),
        s => s.canonical_reason().unwrap_or("Error").to_string(),
    };
    let message = match &err {
        AppError::NotFound => "There is nothing here, or you do not have access to it.".to_string(),
        other => other.public_message(),
    };
    let mut response = render(status, heading, message, home);
    err.extra_headers(&mut response);
    response
}
