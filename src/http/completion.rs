//! How a response body ended: sent to its last byte, or cut short (the client went away, the
//! stream failed) after some bytes. An access log tells a completed download from one that was
//! started and abandoned.
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::Stream;

/// Told once how the body ended: the bytes handed to the connection, and whether that was all.
pub type End = Box<dyn FnOnce(u64, bool) + Send>;

/// Calls `end` exactly once: `(bytes, true)` when the body of `response` has been handed over
/// completely, `(bytes so far, false)` when the stream fails or is dropped first (the client
/// went away, the server shut down).
pub fn on_end(response: Response, end: End) -> Response {
    let (parts, body) = response.into_parts();
    // With a Content-Length, the server stops polling once that many bytes went out, so the
    // end is "all bytes seen", not the stream's end.
    let expected = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let stream = Completion {
        inner: body.into_data_stream(),
        end: Some(end),
        sent: 0,
        expected,
    };
    Response::from_parts(parts, Body::from_stream(stream))
}

struct Completion<S> {
    inner: S,
    end: Option<End>,
    sent: u64,
    expected: Option<u64>,
}

impl<S> Completion<S> {
    fn finish(&mut self, complete: bool) {
        if let Some(end) = self.end.take() {
            end(self.sent, complete);
        }
    }
}

impl<S> Stream for Completion<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(chunk))) => {
                self.sent += chunk.len() as u64;
                if self.expected.is_some_and(|n| self.sent >= n) {
                    self.finish(true);
                }
            }
            Poll::Ready(None) => self.finish(true),
            Poll::Ready(Some(Err(_))) => self.finish(false),
            Poll::Pending => {}
        }
        item
    }
}

impl<S> Drop for Completion<S> {
    fn drop(&mut self) {
        self.finish(false);
    }
}
