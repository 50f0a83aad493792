//! A request whose address carries a NUL byte (`%00` in its path or query) is refused at the
//! door with 400. PostgreSQL's text cannot hold NUL, so such an id or search word would
//! otherwise reach a query and come back as a 500 (found by the SSO attack pass on
//! `/api/v1/users/x%00`); SQLite would store what no other instance could read. Bodies are
//! checked field by field (names and texts refuse control characters).
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

pub async fn refuse(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let has_nul = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    };
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return AppError::BadRequest("the address contains a NUL character".into()).into_response();
    }
    next.run(req).await
}
