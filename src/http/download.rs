//! Serving a stored binary: ETag / If-None-Match, single and (capped) multi Range,
//! RFC 6266 Content-Disposition, and headers that keep private files private.
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use super::disposition::content_disposition;
use super::range::{self, RangeRequest};
use crate::error::AppError;
use crate::storage::Storage;

/// What is needed to serve one stored version.
pub struct Blob<'a> {
    pub key: &'a str,
    pub size: u64,
    pub sha256: &'a str,
    pub media_type: &'a str,
    pub filename: &'a str,
    /// Shown in the browser (renditions we made ourselves) rather than saved.
    pub inline: bool,
}

impl<'a> Blob<'a> {
    /// What serving one stored version needs.
    pub fn of(v: &'a crate::library::assets::Version) -> Blob<'a> {
        Blob {
            key: &v.blob_key,
            size: v.size as u64,
            sha256: &v.sha256,
            media_type: &v.media_type,
            filename: &v.filename,
            inline: false,
        }
    }

    fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }
}

/// Whether the response carries the bytes (a partial range still "counts" only from byte 0).
pub struct Served {
    pub response: Response,
    /// True when the body starts at byte 0: the request is a download, not a resume or seek.
    pub from_start: bool,
}

pub async fn serve(
    storage: &Storage,
    headers: &HeaderMap,
    blob: Blob<'_>,
) -> Result<Served, AppError> {
    let etag = blob.etag();
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if inm.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert(header::ETAG, hv(&etag));
            private_headers(r.headers_mut());
            return Ok(Served {
                response: r,
                from_start: false,
            });
        }
    }
    // If-Range: a resume against a changed file gets the whole new file.
    let range_ok = match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        Some(tag) => tag.trim() == etag,
        None => true,
    };
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| range_ok);
    let mut response = match range::parse(range_header, blob.size) {
        RangeRequest::Unsatisfiable => {
            return Err(AppError::RangeNotSatisfiable { size: blob.size })
        }
        RangeRequest::Full => {
            let stream = storage
                .get(blob.key, None)
                .await
                .map_err(AppError::Internal)?;
            let mut r = Response::new(Body::from_stream(stream));
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, hv(blob.media_type));
            Served {
                response: r,
                from_start: true,
            }
        }
        RangeRequest::Partial(ranges) if ranges.len() == 1 => {
            let r0 = ranges[0].clone();
            let stream = storage
                .get(blob.key, Some(r0.clone()))
                .await
                .map_err(AppError::Internal)?;
            let mut r = Response::new(Body::from_stream(stream));
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = r.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(r0.end - r0.start));
            h.insert(header::CONTENT_TYPE, hv(blob.media_type));
            h.insert(
                header::CONTENT_RANGE,
                hv(&format!("bytes {}-{}/{}", r0.start, r0.end - 1, blob.size)),
            );
            Served {
                response: r,
                from_start: r0.start == 0,
            }
        }
        RangeRequest::Partial(ranges) => {
            let boundary = crate::accounts::tokens::random_hex(12);
            let mut length = 0u64;
            let mut parts = Vec::with_capacity(ranges.len());
            for r in &ranges {
                let head = format!(
                    "\r\n--{boundary}\r\nContent-Type: {}\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
                    blob.media_type,
                    r.start,
                    r.end - 1,
                    blob.size
                );
                length += head.len() as u64 + (r.end - r.start);
                parts.push((head, r.clone()));
            }
            let tail = format!("\r\n--{boundary}--\r\n");
            length += tail.len() as u64;
            let storage = storage.clone();
            let key = blob.key.to_string();
            // Each part is opened only when the previous one is fully sent.
            let body = futures_util::stream::iter(parts)
                .then(move |(head, r)| {
                    let storage = storage.clone();
                    let key = key.clone();
                    async move {
                        let head = futures_util::stream::once(async move { Ok(Bytes::from(head)) });
                        match storage.get(&key, Some(r)).await {
                            Ok(data) => head.chain(data).boxed(),
                            Err(e) => futures_util::stream::once(async move {
                                Err(std::io::Error::other(e.to_string()))
                            })
                            .boxed(),
                        }
                    }
                })
                .flatten()
                .chain(futures_util::stream::once(
                    async move { Ok(Bytes::from(tail)) },
                ));
            let mut r = Response::new(Body::from_stream(body));
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                hv(&format!("multipart/byteranges; boundary={boundary}")),
            );
            Served {
                response: r,
                from_start: ranges[0].start == 0,
            }
        }
    };
    let h = response.response.headers_mut();
    h.insert(header::ETAG, hv(&etag));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_DISPOSITION,
        hv(&content_disposition(blob.inline, blob.filename)),
    );
    // Even if a browser were tricked into rendering a download, it runs in a sandbox.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    private_headers(h);
    Ok(response)
}

fn private_headers(h: &mut HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Header values built from our own data; anything unrepresentable degrades to a safe value.
fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}
