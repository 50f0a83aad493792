//! Serving a stored binary: ETag / If-None-Match, single and (capped) multi Range,
//! RFC 6266 Content-Disposition, and headers that keep private files private.
//!
//! Split in two so that `delivery` can decide between them: `plan` reads the request's
//! conditional and Range headers against the blob (no I/O), `send` builds the response.
use std::ops::Range;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use super::disposition::content_disposition;
use super::range::{self, RangeRequest};
use crate::error::AppError;
use crate::storage::Storage;

/// What is needed to serve one stored object (an original, a rendition, a watermarked copy).
#[derive(Clone, Debug)]
pub struct Blob {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub media_type: String,
    pub filename: String,
    /// Shown in the browser (renditions we made ourselves) rather than saved.
    pub inline: bool,
}

impl Blob {
    fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }
}

/// What a request asks of a blob, read from its headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// If-None-Match matched: 304, no bytes.
    NotModified,
    /// The whole body, 200.
    Full,
    /// These ranges (sorted, coalesced, end exclusive), 206.
    Partial(Vec<Range<u64>>),
    /// Nothing satisfiable: 416.
    Unsatisfiable,
}

impl Plan {
    /// The lowest byte offset this plan sends, if it sends any.
    pub fn first_byte(&self) -> Option<u64> {
        match self {
            Plan::Full => Some(0),
            Plan::Partial(r) => r.first().map(|r| r.start),
            Plan::NotModified | Plan::Unsatisfiable => None,
        }
    }

    /// Whether the answer carries every byte of a blob of `size` bytes.
    pub fn covers_all(&self, size: u64) -> bool {
        match self {
            Plan::Full => true,
            Plan::Partial(r) => r.len() == 1 && r[0].start == 0 && r[0].end >= size,
            Plan::NotModified | Plan::Unsatisfiable => false,
        }
    }
}

/// Reads If-None-Match, If-Range and Range against `blob`.
pub fn plan(headers: &HeaderMap, blob: &Blob) -> Plan {
    let etag = blob.etag();
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if inm.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            return Plan::NotModified;
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
    match range::parse(range_header, blob.size) {
        RangeRequest::Full => Plan::Full,
        RangeRequest::Partial(r) => Plan::Partial(r),
        RangeRequest::Unsatisfiable => Plan::Unsatisfiable,
    }
}

/// Where each part of the object sits in a response body: `(offset in the body, range of the
/// object)`, in body order. One part for a whole or single-range answer; one per range, after
/// its multipart header, for a multi-range one. What a body cut after n bytes carried of the
/// object follows from it (`receipts::spans::carried`).
pub type Layout = Vec<(u64, Range<u64>)>;

/// The response for `plan`, and where the object's bytes sit in its body. With `head`, the
/// same status and headers and no body, without opening the stored object.
pub async fn send(
    storage: &Storage,
    plan: Plan,
    blob: &Blob,
    head: bool,
) -> Result<(Response, Layout), AppError> {
    let etag = blob.etag();
    let layout: Layout = match &plan {
        Plan::Full => vec![(0, 0..blob.size)],
        Plan::Partial(r) if r.len() == 1 => vec![(0, r[0].clone())],
        _ => Vec::new(),
    };
    let (mut response, layout) = match plan {
        Plan::NotModified => {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert(header::ETAG, hv(&etag));
            crate::web::headers::mark_private(r.headers_mut());
            return Ok((r, layout));
        }
        Plan::Unsatisfiable => return Err(AppError::RangeNotSatisfiable { size: blob.size }),
        Plan::Full => {
            let body = if head {
                Body::empty()
            } else {
                let stream = storage
                    .get(&blob.key, None)
                    .await
                    .map_err(AppError::Internal)?;
                Body::from_stream(stream)
            };
            let mut r = Response::new(body);
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, hv(&blob.media_type));
            (r, layout)
        }
        Plan::Partial(ranges) if ranges.len() == 1 => {
            let r0 = ranges[0].clone();
            let body = if head {
                Body::empty()
            } else {
                let stream = storage
                    .get(&blob.key, Some(r0.clone()))
                    .await
                    .map_err(AppError::Internal)?;
                Body::from_stream(stream)
            };
            let mut r = Response::new(body);
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = r.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(r0.end - r0.start));
            h.insert(header::CONTENT_TYPE, hv(&blob.media_type));
            h.insert(
                header::CONTENT_RANGE,
                hv(&format!("bytes {}-{}/{}", r0.start, r0.end - 1, blob.size)),
            );
            (r, layout)
        }
        Plan::Partial(ranges) => multipart(storage, ranges, blob, head),
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, hv(&etag));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_DISPOSITION,
        hv(&content_disposition(blob.inline, &blob.filename)),
    );
    // Even if a browser were tricked into rendering a download, it runs in a sandbox.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    crate::web::headers::mark_private(h);
    Ok((response, layout))
}

/// Header values built from our own data; anything unrepresentable degrades to a safe value.
fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// Several ranges as one `multipart/byteranges` body; each part is opened only when the
/// previous one is fully sent.
fn multipart(
    storage: &Storage,
    ranges: Vec<Range<u64>>,
    blob: &Blob,
    head: bool,
) -> (Response, Layout) {
    let boundary = crate::token::random_hex(12);
    let mut length = 0u64;
    let mut parts = Vec::with_capacity(ranges.len());
    let mut layout = Vec::with_capacity(ranges.len());
    for r in &ranges {
        let head = format!(
            "\r\n--{boundary}\r\nContent-Type: {}\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
            blob.media_type,
            r.start,
            r.end - 1,
            blob.size
        );
        layout.push((length + head.len() as u64, r.clone()));
        length += head.len() as u64 + (r.end - r.start);
        parts.push((head, r.clone()));
    }
    let tail = format!("\r\n--{boundary}--\r\n");
    length += tail.len() as u64;
    let body = if head {
        Body::empty()
    } else {
        let storage = storage.clone();
        let key = blob.key.clone();
        let stream = futures_util::stream::iter(parts)
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
        Body::from_stream(stream)
    };
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::PARTIAL_CONTENT;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        hv(&format!("multipart/byteranges; boundary={boundary}")),
    );
    (r, layout)
}
