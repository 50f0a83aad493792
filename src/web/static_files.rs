//! Static assets compiled into the binary, so `assetport` runs from any directory. They are
//! immutable per build, so they are cached for a day and validated by ETag.
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/upload.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
    (
        // tus-js-client 4.3.1 (MIT, see tus.LICENSE.txt), from npm: resumable browser uploads.
        "tus.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/tus.min.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
];

/// The build's version doubles as the ETag: files change only with the binary.
const ETAG: &str = concat!("\"", env!("CARGO_PKG_VERSION"), "\"");

pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, mime, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(ETAG)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            (header::ETAG, HeaderValue::from_static(ETAG)),
        ],
        *body,
    )
        .into_response()
}
